"""Where the data lives: the platform operator declares it (defaults and per-tenant overrides),
the tenant's admin and DPO read their merged view, every change lands in the platform's chain and
in each affected tenant's, and bad input changes nothing."""

from __future__ import annotations

from typing import Any

from conftest import TenantFixture, data, make_tenant
from hovor.audit.log import PLATFORM
from test_cli import env as env  # the fixture: a migrated database for the command line
from test_cli import hovor_here as hovor
from test_platform import entries, signed_in

CHANGE = "platform.locations.change"


def _set(client: Any, staff: dict[str, str], **body: Any) -> Any:
    return client.post("/api/v6/platform/dataLocations.json", json=body, headers=staff)


def test_defaults_merge_with_a_tenants_override_and_each_change_is_told(
    client: Any, app: Any, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    staff = signed_in(client, app)
    r = _set(client, staff, kind="database", provider="Master Internet", country="cz", region="Praha 1")
    assert r.status_code == 200, r.text
    assert data(r)["country"] == "CZ" and data(r)["notified"] == 2
    assert (
        _set(client, staff, kind="backup", name="offsite", provider="Hetzner", country="DE").status_code
        == 200
    )
    # acme's backups go elsewhere: an override only acme is told of.
    r = _set(client, staff, kind="backup", name="offsite", provider="AWS", country="US", tenant="acme")
    assert data(r)["notified"] == 1 and data(r)["transfer"] is True

    mine = data(client.get("/api/v6/dataLocations.json", headers=tenant.h("dpo")))
    assert mine["total"] == 2
    db, backup = mine["data"]
    assert (db["kind"], db["country"], db["region"], db["transfer"], db["source"]) == (
        "database",
        "CZ",
        "Praha 1",
        False,
        "default",
    )
    assert (backup["provider"], backup["country"], backup["transfer"], backup["source"]) == (
        "AWS",
        "US",
        True,
        "tenant",
    )
    theirs = data(client.get("/api/v6/dataLocations.json", headers=other_tenant.h("admin")))
    assert [(x["kind"], x["country"]) for x in theirs["data"]] == [("database", "CZ"), ("backup", "DE")]
    for role in ("operator", "supervisor", "integration", "auditor"):
        assert client.get("/api/v6/dataLocations.json", headers=tenant.h(role)).status_code == 403

    # A default change of a store acme overrides does not concern acme.
    assert (
        data(_set(client, staff, kind="backup", name="offsite", provider="Hetzner", country="FI"))["notified"]
        == 1
    )
    assert len(entries(app, "acme", CHANGE)) == 3
    assert len(entries(app, "globex", CHANGE)) == 3
    assert len(entries(app, PLATFORM, CHANGE)) == 4
    # The DPO reads the notice in the tenant's own audit log; it names the store and the transfer.
    log = data(
        client.get(
            "/api/v6/auditLog.json",
            headers=tenant.h("dpo"),
            params={"filter[0][field]": "action", "filter[0][operator]": "eq", "filter[0][value]": CHANGE},
        )
    )
    assert log["total"] == 3
    override = next(e for e in log["data"] if e["details"]["scope"] == "tenant")
    assert override["details"]["country"] == "US" and override["details"]["transfer"] is True
    assert override["actor_type"] == "staff"

    # Removing the override brings the default back, and acme is told.
    r = client.post(
        "/api/v6/platform/dataLocations/remove.json",
        json={"kind": "backup", "name": "offsite", "tenant": "acme"},
        headers=staff,
    )
    assert data(r) == {"notified": 1}
    mine = data(client.get("/api/v6/dataLocations.json", headers=tenant.h("admin")))
    assert [(x["kind"], x["country"], x["source"]) for x in mine["data"]] == [
        ("database", "CZ", "default"),
        ("backup", "FI", "default"),
    ]
    assert len(entries(app, "acme", CHANGE)) == 4


def test_bad_declarations_are_refused_and_change_nothing(
    client: Any, app: Any, tenant: TenantFixture
) -> None:
    staff = signed_in(client, app)
    for body, field in (
        ({"kind": "database", "provider": "X", "country": "XX"}, "country"),
        ({"kind": "database", "provider": "X", "country": "CZE"}, "country"),
        ({"kind": "tape", "provider": "X", "country": "CZ"}, "kind"),
        ({"kind": "backup", "name": "a b", "provider": "X", "country": "CZ"}, "name"),
        ({"kind": "cache", "provider": " ", "country": "CZ"}, "provider"),
    ):
        r = _set(client, staff, **body)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["result"] is None and field in r.json()["error"]["form"], r.text
    r = _set(client, staff, kind="cache", provider="X", country="CZ", tenant="nobody")
    assert r.status_code == 404
    r = client.post("/api/v6/platform/dataLocations/remove.json", json={"kind": "cache"}, headers=staff)
    assert r.status_code == 404
    assert data(client.get("/api/v6/platform/dataLocations.json", headers=staff))["total"] == 0
    assert data(client.get("/api/v6/dataLocations.json", headers=tenant.h("admin")))["total"] == 0
    assert entries(app, PLATFORM, CHANGE) == [] and entries(app, "acme", CHANGE) == []
    # A tenant's token cannot declare anything.
    r = _set(client, tenant.h("admin"), kind="cache", provider="X", country="CZ")
    assert r.status_code == 403


def test_new_tenants_see_the_defaults(client: Any, app: Any) -> None:
    staff = signed_in(client, app)
    _set(client, staff, kind="blobs", provider="CESNET", country="CZ", description="S3, versioned")
    late = make_tenant(app, "late")
    found = data(client.get("/api/v6/dataLocations.json", headers=late.h("admin")))["data"]
    assert [(x["kind"], x["description"]) for x in found] == [("blobs", "S3, versioned")]


def test_the_operator_declares_from_the_command_line(env: dict[str, str]) -> None:
    assert hovor(env, "tenant", "create", "kc-brno", "--title", "KC Brno").returncode == 0
    r = hovor(
        env,
        "locations",
        "set",
        "cache",
        "--provider",
        "Redis Labs",
        "--country",
        "us",
        "--region",
        "us-east-1",
    )
    assert r.returncode == 0, r.stderr
    assert "transfer" in r.stdout and "1 tenant(s) notified" in r.stdout
    r = hovor(
        env, "locations", "set", "database", "--provider", "X", "--country", "QQ", "--tenant", "kc-brno"
    )
    assert r.returncode == 2 and "ISO 3166-1" in r.stderr
    r = hovor(
        env, "locations", "set", "database", "--provider", "Y", "--country", "SK", "--tenant", "kc-brno"
    )
    assert r.returncode == 0, r.stderr
    listed = hovor(env, "locations", "list")
    assert listed.returncode == 0, listed.stderr
    lines = [line for line in listed.stdout.splitlines() if "Redis Labs" in line or " Y " in line]
    assert len(lines) == 2 and "QQ" not in listed.stdout
    assert hovor(env, "locations", "unset", "database", "--tenant", "kc-brno").returncode == 0
    assert " Y " not in hovor(env, "locations", "list").stdout


def test_the_migration_gives_existing_tenants_admins_and_dpos_the_new_reads(
    backend: str, tmp_path: Any
) -> None:
    from alembic import command
    from sqlalchemy import select

    from conftest import _fresh_pg_database, _worker
    from hovor.auth.models import Role
    from hovor.auth.users import create_tenant
    from hovor.core.db import make_engine, make_session_factory, unit_of_work
    from hovor.migrations import alembic_config

    url = (
        f"sqlite:///{tmp_path / 'grants.db'}"
        if backend == "sqlite"
        else _fresh_pg_database(f"hovor_grants_{_worker()}")
    )
    command.upgrade(alembic_config(url), "0031")
    engine = make_engine(url)
    reads = {"tenant:locations:read", "tenant:processing:read"}
    try:
        factory = make_session_factory(engine)
        with unit_of_work(factory) as s:
            create_tenant(s, "old", "Old", "Europe/Prague", "CZ", None, None)
            s.flush()
            for role in s.scalars(select(Role).where(Role.tenant_id == "old")):
                role.permissions = sorted(set(role.permissions) - reads)  # as a tenant made before 0032
        command.upgrade(alembic_config(url), "head")
        with factory() as s:
            held = {
                r.name: set(r.permissions) for r in s.scalars(select(Role).where(Role.tenant_id == "old"))
            }
        assert reads <= held["admin"] and reads <= held["dpo"]
        for role in ("operator", "supervisor", "auditor", "integration"):
            assert not reads & held[role], role
    finally:
        engine.dispose()
