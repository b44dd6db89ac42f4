"""The ``hovor`` command as an operator uses it: migrate, create tenants and users, issue tokens,
seed the demo twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from hovor.app import create_app
from hovor.core.config import Settings, get_settings


def hovor(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hovor", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def hovor_here(env: dict[str, str], *args: str) -> Ran:
    """The command line in this process, as ``hovor`` would run with ``env``: its differences from
    this process's environment applied for the call, the settings read afresh, the consoles as
    wide as the subprocess's (COLUMNS=200). A process per command costs a test seconds each; the
    tests of the installed command itself (a fresh process) use :func:`hovor`."""
    from hovor.cli import app as cli
    from hovor.cli import common

    changes: dict[str, str | None] = {k: v for k, v in env.items() if os.environ.get(k) != v}
    changes |= {k: None for k in os.environ if k.startswith("HOVOR_") and k not in env}
    widths = common.console.width, common.err.width
    common.console.width = common.err.width = 200
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, list(args), env=changes)
    finally:
        get_settings.cache_clear()
        common.console.width, common.err.width = widths
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Ran(result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def env(tmp_path: Path, backend: str) -> dict[str, str]:
    from conftest import PG_BASE, _fresh_pg_database, _worker

    e = {**os.environ, "HOVOR_DATA_DIR": str(tmp_path / "var"), "HOVOR_ENVIRONMENT": "test", "COLUMNS": "200"}
    if backend == "postgres":
        assert PG_BASE is not None
        e["HOVOR_DATABASE_URL"] = _fresh_pg_database(f"hovor_cli_{_worker()}")
    else:
        e.pop("HOVOR_DATABASE_URL", None)
    r = hovor(e, "db", "upgrade")
    assert r.returncode == 0, r.stderr
    return e


def app_for(env: dict[str, str]) -> Any:
    get_settings.cache_clear()
    return create_app(
        Settings(
            data_dir=Path(env["HOVOR_DATA_DIR"]),
            database_url=env.get("HOVOR_DATABASE_URL"),
            environment="test",
        )
    )


def test_tenant_user_token(env: dict[str, str]) -> None:
    r = hovor_here(env, "tenant", "create", "kc-brno", "--title", "KC Brno", "--dpo-email", "dpo@kc.example")
    assert r.returncode == 0, r.stderr
    assert hovor_here(env, "tenant", "create", "kc-brno", "--title", "Again").returncode == 2
    assert hovor_here(env, "tenant", "create", "Bad Id!", "--title", "X").returncode == 2
    r = hovor_here(
        env,
        "user",
        "create",
        "--tenant",
        "kc-brno",
        "--name",
        "pbx",
        "--title",
        "PBX",
        "--role",
        "integration",
    )
    assert r.returncode == 0, r.stderr
    assert "password:" in r.stdout
    r = hovor_here(env, "user", "token", "--name", "pbx", "--title", "call push", "--days", "30")
    assert r.returncode == 0, r.stderr
    token = r.stdout.strip().splitlines()[-1]
    r = hovor_here(
        env, "user", "create", "--tenant", "nope", "--name", "x", "--title", "X", "--role", "admin"
    )
    assert r.returncode == 2

    with TestClient(app_for(env)) as client:
        who = client.get("/api/v6/whoim.json", headers={"X-AUTH-TOKEN": token}).json()["result"]
        assert who["user"]["name"] == "pbx" and who["tenant"] == "kc-brno"
        assert "crm:contacts:create" in who["permissions"]


def test_demo_seeds_once_and_reuses(env: dict[str, str]) -> None:
    first = hovor_here(env, "demo", "--contacts", "40")
    assert first.returncode == 0, first.stderr
    second = hovor_here(env, "demo", "--contacts", "40")
    assert second.returncode == 0, second.stderr
    creds = json.loads((Path(env["HOVOR_DATA_DIR"]) / "demo-credentials.json").read_text())
    assert oct((Path(env["HOVOR_DATA_DIR"]) / "demo-credentials.json").stat().st_mode & 0o777) == "0o600"
    roles = {u["role"] for u in creds["users"]}
    assert roles == {"admin", "supervisor", "operator", "dpo", "integration"}
    for user in creds["users"]:
        assert user["token"] in first.stdout and user["token"] in second.stdout
    # The search index made again from the demo's records (its contacts at least).
    r = hovor_here(env, "db", "rebuild-search")
    assert r.returncode == 0, r.stderr
    assert int(r.stdout.split()[0]) >= 40

    with TestClient(app_for(env)) as client:
        admin = next(u for u in creds["users"] if u["role"] == "admin")
        h = {"X-AUTH-TOKEN": admin["token"]}
        contacts = client.get("/api/v6/contacts.json", params={"take": 1000}, headers=h).json()["result"]
        assert contacts["total"] == 40  # the second run added nothing
        sample = contacts["data"][0]
        assert sample["customFields"]["number"][0].startswith("+420")
        fields = client.get("/api/v6/formFields.json", headers=h).json()["result"]["data"]
        assert {f["type"] for f in fields} >= {"phone", "email", "address", "consent"}
        # Every kind of record is there to look at.
        for endpoint in (
            "activitiesCall",
            "activitiesEmail",
            "activitiesWeb",
            "activitiesSms",
            "activitiesFbm",
            "activitiesMessages",
            "activitiesCallTranscripts",
            "activitiesCallRecordings",
            "attachments",
            "tickets",
            "campaignsRecords",
            "crmRecords",
        ):
            total = client.get(f"/api/v6/{endpoint}.json", headers=h).json()["result"]["total"]
            assert total > 0, endpoint
        r = client.post(
            "/api/v6/login.json", json={"username": admin["login"], "password": admin["password"]}
        )
        assert r.status_code == 200


def test_serve_starts_in_a_fresh_process_and_answers(env: dict[str, str]) -> None:
    """What `make run` does: a new process imports only what `hovor serve` imports."""
    import socket
    import time

    import httpx

    assert hovor(env, "demo", "--contacts", "10").returncode == 0
    creds = json.loads((Path(env["HOVOR_DATA_DIR"]) / "demo-credentials.json").read_text())
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "hovor", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            proc.kill()
            pytest.fail((proc.stdout.read() if proc.stdout else b"").decode()[-3000:])
        token = creds["users"][0]["token"]
        r = httpx.get(f"{base}/api/v6/activities.json", headers={"X-AUTH-TOKEN": token}, params={"take": 1})
        assert r.status_code == 200 and r.json()["result"]["total"] > 0
        assert httpx.get(f"{base}/openapi.json").status_code == 200
        rec = httpx.get(
            f"{base}/api/v6/activitiesCallRecordings.json", headers={"X-AUTH-TOKEN": token}
        ).json()
        audio = httpx.get(
            base + rec["result"]["data"][0]["url"], headers={"X-AUTH-TOKEN": token, "Range": "bytes=0-11"}
        )
        assert audio.status_code == 206 and audio.content[:4] == b"RIFF"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_serve_refuses_plain_http_on_a_public_address(env: dict[str, str]) -> None:
    r = hovor(env, "serve", "--host", "0.0.0.0", "--port", "8999")
    assert r.returncode == 2
    assert "refusing" in r.stderr


def test_reset_totp_ends_sign_ins_and_sets_up_again(env: dict[str, str]) -> None:
    from hovor.auth import totp
    from hovor.auth.models import User
    from hovor.core.db import unit_of_work

    assert hovor_here(env, "tenant", "create", "kc-brno", "--title", "KC Brno").returncode == 0
    made = hovor_here(
        env,
        "user",
        "create",
        "--tenant",
        "kc-brno",
        "--name",
        "boss",
        "--title",
        "B",
        "--role",
        "admin",
        "--password",
        "quite a long secret 9",
    )
    assert made.returncode == 0, made.stderr
    with TestClient(app_for(env)) as client:
        login = {"username": "boss", "password": "quite a long secret 9"}
        setup = client.post("/api/v6/login.json", json=login).json()["result"]
        h = {"X-AUTH-TOKEN": setup["accessToken"]}
        secret = client.post("/api/v6/whoim/totp.json", headers=h, json={}).json()["result"]["secret"]
        full = client.put("/api/v6/whoim/totp.json", headers=h, json={"totp": totp.code_now(secret)})
        signed = {"X-AUTH-TOKEN": full.json()["result"]["accessToken"]}
        assert client.get("/api/v6/whoim.json", headers=signed).status_code == 200
        assert hovor_here(env, "user", "reset-totp", "nobody").returncode == 2
        reset = hovor_here(env, "user", "reset-totp", "boss")
        assert reset.returncode == 0, reset.stderr
        client.app.state.caller_cache.clear()
        assert client.get("/api/v6/whoim.json", headers=signed).status_code == 401
        assert client.post("/api/v6/login.json", json=login).json()["result"]["secondFactor"] == "setup"
        with unit_of_work(client.app.state.session_factory) as s:
            user = s.get(User, ("kc-brno", "boss"))
            assert user is not None and user.totp_secret is None
