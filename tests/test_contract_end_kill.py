"""Contract end from the command line, killed (``os._exit``) at every step of both jobs: a restart
finishes each, the package is whole and verifies, and the certificate counts exactly the rows the
tenant had, no row counted twice or lost."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pyrage
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select

from conftest import make_tenant
from erasure_data import build
from hovor.audit.log import Actor
from hovor.core.db import Base, make_session_factory, unit_of_work
from hovor.privacy.contract import service
from hovor.privacy.contract.verify import check_package
from test_cli import app_for, env, hovor  # noqa: F401
from test_platform import make_staff

PURGE_POINTS = [
    "tenant-purge.keys",
    "tenant-purge.rows",
    "blob.after_key",
    "blob.after_object",
    "tenant-purge.reap",
    "tenant-purge.compact",
]


def _url(e: dict[str, str]) -> str:
    return e.get("HOVOR_DATABASE_URL") or f"sqlite:///{Path(e['HOVOR_DATA_DIR']) / 'hovor.db'}"


def _rows(url: str, tenant: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            counts = {
                t.name: int(
                    conn.execute(select(func.count()).select_from(t).where(t.c.tenant_id == tenant)).scalar()
                    or 0
                )
                for t in Base.metadata.sorted_tables
                if "tenant_id" in t.c and t.name != "contract_ends"
            }
    finally:
        engine.dispose()
    return {k: v for k, v in counts.items() if v}


def _jobs(e: dict[str, str], fault: str | None = None) -> int:
    run_env = {**e, "HOVOR_JOB_LEASE_SECONDS": "0.5"}
    if fault:
        run_env["HOVOR_FAULT_POINT"] = fault
    r = hovor(run_env, "jobs", "run")
    assert r.returncode in (0, 137), r.stderr[-3000:]
    time.sleep(0.7)  # the killed run's lease runs out
    return r.returncode


def test_contract_end_killed_at_every_step_finishes(env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    app: Any = app_for(env)
    with TestClient(app) as client:
        acme = make_tenant(app, "acme")
        build(client, acme.h())
        make_tenant(app, "other")
        make_staff(app, "eva"), make_staff(app, "adam")
    app.state.engine.dispose()
    url = _url(env)
    identity = pyrage.x25519.Identity.generate()
    target = tmp_path / "acme.age"

    # Killed once the package is written, before it is renamed into place and filed.
    killed = {**env, "HOVOR_FAULT_POINT": "tenant-export.written"}
    args = ["tenant", "export", "acme", "--recipient", str(identity.to_public()), "--to", str(target)]
    r = hovor(killed, *args, "--operator", "eva")
    assert r.returncode == 137, r.stderr[-2000:]
    assert not target.exists() and target.with_name("acme.age.partial").exists()
    time.sleep(0.7)
    assert _jobs(env) == 0
    assert target.exists() and not target.with_name("acme.age.partial").exists()
    assert check_package(target, identity) == []

    assert hovor(env, "tenant", "received", "acme", "--operator", "eva").returncode == 0
    engine = create_engine(url)
    with unit_of_work(make_session_factory(engine)) as session:
        service.approve_purge(session, app.state.settings, "acme", "adam", Actor("staff", "adam"))
    engine.dispose()
    before = _rows(url, "acme")  # with the approval's audit entry and the purge's job
    assert before["crm_contacts"] >= 1 and before["blobs"] >= 2
    for point in PURGE_POINTS:
        assert _jobs(env, point) == 137, point
    assert _jobs(env) == 0
    assert _rows(url, "acme") == {}
    assert _rows(url, "other")  # untouched

    cert = tmp_path / "certificate.json"
    r = hovor(env, "tenant", "certificate", "show", "acme", "--out", str(cert))
    assert r.returncode == 0, r.stderr
    assert hovor(env, "tenant", "certificate", "verify", str(cert)).returncode == 0
    body = json.loads(cert.read_text())["certificate"]
    assert before["jobs"] == 2  # the export's and the purge's own
    expected = {**before, "tenants": 1}
    assert body["rowsDeleted"] == expected
