"""Data locations against the configuration: the backup destinations of HOVOR_BACKUP_DESTINATIONS
are the tenant's ``backup`` locations by themselves, each store shows the medium its configured URL
names, and a declaration of a store that is not configured stops ``hovor serve`` and fails
``hovor locations check`` with a message saying what to do."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from conftest import TenantFixture, data
from hovor.core.config import get_settings
from test_cli import Ran, app_for, hovor_here
from test_cli import env as env  # the fixture: a migrated database for the command line
from test_platform import signed_in


def _destinations(tmp_path: Path) -> str:
    return json.dumps(
        [
            {"name": "prague", "url": f"file://{tmp_path}/prague", "location": "Prague, CZ"},
            {
                "name": "virginia",
                "url": "s3://hovor-backups/us",
                "location": "Ashburn",
                "provider": "AWS",
                "country": "us",
                "region": "us-east-1",
            },
            {"name": "cellar", "url": f"file://{tmp_path}/cellar", "location": "the cellar"},
        ]
    )


def test_backup_destinations_are_the_backup_locations(
    client: Any, app: Any, tenant: TenantFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = app.state.settings
    monkeypatch.setattr(settings, "backup_destinations", _destinations(tmp_path))
    staff = signed_in(client, app)
    body = {"kind": "database", "provider": "Master Internet", "country": "CZ"}
    assert client.post("/api/v6/platform/dataLocations.json", json=body, headers=staff).status_code == 200

    found = data(client.get("/api/v6/dataLocations.json", headers=tenant.h("dpo")))["data"]
    shown = [(x["kind"], x["name"], x["provider"], x["country"], x["region"], x["source"]) for x in found]
    assert shown == [
        ("database", "main", "Master Internet", "CZ", None, "default"),
        ("backup", "prague", "mounted volume", "CZ", "Prague, CZ", "configured"),
        ("backup", "virginia", "AWS", "US", "us-east-1", "configured"),
    ]  # "the cellar" names no country: it is reported, not guessed
    database = "sqlite" if settings.resolved_database_url.startswith("sqlite") else "postgresql"
    assert [x["medium"] for x in found] == [database, "file", "s3"]
    assert [x["transfer"] for x in found] == [False, False, True]

    # A declaration of the same store adds what the configuration does not say.
    body = {"kind": "backup", "name": "prague", "provider": "CESNET", "country": "CZ", "region": "Praha 6"}
    assert client.post("/api/v6/platform/dataLocations.json", json=body, headers=staff).status_code == 200
    found = data(client.get("/api/v6/dataLocations.json", headers=tenant.h("admin")))["data"]
    prague = next(x for x in found if x["name"] == "prague")
    assert (prague["provider"], prague["region"], prague["source"], prague["medium"]) == (
        "CESNET",
        "Praha 6",
        "default",
        "file",
    )

    # The record of processing names the configured destination outside the EU/EEA a transfer.
    record = data(client.get("/api/v6/processingRecord.json", headers=tenant.h("dpo")))
    assert [(t["kind"], t["name"], t["country"]) for t in record["transfers"]] == [
        ("backup", "virginia", "US")
    ]


def hovor(env: dict[str, str], *args: str) -> Ran:
    r = hovor_here(env, *args)
    return Ran(r.returncode, r.stdout, " ".join(r.stderr.split()))  # line breaks folded


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    yield
    get_settings.cache_clear()


def _check(env: dict[str, str], **extra: str) -> Ran:
    return hovor({**env, **extra}, "locations", "check")


def test_a_declared_store_that_is_not_configured_is_an_error(env: dict[str, str], tmp_path: Path) -> None:
    # Nothing declared: hovor runs; the configured stores without a location are warnings.
    r = _check(env)
    assert r.returncode == 0, r.stderr
    assert "database 'main' (sqlite" in r.stderr or "database 'main' (postgresql" in r.stderr
    assert "blobs 'main' (file) is configured but no location is declared" in r.stderr

    # A cache without Redis: the check fails, and the server does not start.
    assert (
        hovor(env, "locations", "set", "cache", "--provider", "Redis Labs", "--country", "CZ").returncode == 0
    )
    r = _check(env)
    assert r.returncode == 1 and "HOVOR_FIREWALL_REDIS_URL is not set" in r.stderr
    with pytest.raises(RuntimeError, match="HOVOR_FIREWALL_REDIS_URL"), TestClient(app_for(env)):
        pass
    assert _check(env, HOVOR_FIREWALL_REDIS_URL="redis://127.0.0.1:6379/0").returncode == 0
    assert hovor(env, "locations", "unset", "cache").returncode == 0

    # A backup destination that is not configured (an override of one tenant's included).
    assert hovor(env, "tenant", "create", "kc-brno", "--title", "KC Brno").returncode == 0
    r = hovor(
        env, "locations", "set", "backup", "--name", "offsite", "--provider", "Hetzner", "--country", "DE",
        "--tenant", "kc-brno",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    r = _check(env)
    assert r.returncode == 1 and "backup 'offsite' is declared (a tenant's override)" in r.stderr
    configured = json.dumps(
        [{"name": "offsite", "url": f"file://{tmp_path}/o", "location": "Falkenstein, DE"}]
    )
    r = _check(env, HOVOR_BACKUP_DESTINATIONS=configured)
    assert r.returncode == 0, r.stderr

    # Configured in Germany, declared in the Czech Republic: two answers to one question.
    r = hovor(
        env, "locations", "set", "backup", "--name", "offsite", "--provider", "Hetzner", "--country", "CZ"
    )
    assert r.returncode == 0, r.stderr
    r = _check(env, HOVOR_BACKUP_DESTINATIONS=configured)
    assert r.returncode == 1 and "declared in CZ but HOVOR_BACKUP_DESTINATIONS says DE" in r.stderr

    # There is one database and one blob store.
    assert hovor(env, "locations", "unset", "backup", "--name", "offsite").returncode == 0
    r = hovor(env, "locations", "set", "blobs", "--name", "archive", "--provider", "AWS", "--country", "IE")
    assert r.returncode == 0, r.stderr
    r = _check(env, HOVOR_BACKUP_DESTINATIONS=configured)
    assert (
        r.returncode == 1 and "blobs 'archive' is declared (default) but there is one blobs store" in r.stderr
    )
