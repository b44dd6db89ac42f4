"""The controller reads its contract-end package back with the official ``daktela`` SDK: the demo
tenant is exported, the package decrypted with the controller's key and served read-only under the
v6 routes, and for every resource the package holds the SDK lists every record with every field as
the live API gave it (and a record, a field or a resource missing from the package fails)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pyrage
import pytest
from daktela import (
    DaktelaClient,
    DaktelaException,
    DaktelaFilter,
    DaktelaForbiddenException,
    DaktelaNotFoundException,
    DaktelaQuery,
    DaktelaSort,
    DaktelaUnauthorizedException,
    DaktelaValidationException,
)
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from hovor.cli import app as cli
from hovor.core.config import Settings
from hovor.demo import seed_demo
from hovor.privacy.contract import contents
from hovor.privacy.contract.reading import Package, PackageRefused, load
from hovor.privacy.contract.serving import make_app
from test_contract_end import _staff, _until
from test_erasure import fresh  # noqa: F401
from test_sdk import sdk

TOKEN = "controller-reads-its-package"


def _export(client: TestClient, app: Any, tmp_path: Path) -> tuple[Path, Any]:
    eva = _staff(client, app, "eva")
    identity = pyrage.x25519.Identity.generate()
    target = tmp_path / "handover" / "demo.zip.age"
    body = {"tenant": "demo", "recipient": str(identity.to_public()), "destination": str(target)}
    assert client.post("/api/v6/platform/contractEnds.json", json=body, headers=eva).status_code == 202
    shown = _until(client, eva, "demo", "exported")
    assert shown["exportJob"]["state"] == "done", shown
    return target, identity


class _Live:
    """The live API as the tenant's staff read it: the admin, or the DPO for what only the DPO may
    read (legal holds, subject requests)."""

    def __init__(self, client: TestClient, tokens: dict[str, str]) -> None:
        self.admin, self.dpo = sdk(client, tokens["admin"]), sdk(client, tokens["dpo"])

    def for_(self, endpoint: str) -> DaktelaClient:
        try:
            self.admin.get(endpoint, DaktelaQuery().pagination(take=1))
        except DaktelaForbiddenException:
            return self.dpo
        return self.admin


def _all(api: DaktelaClient, endpoint: str) -> dict[str, Any]:
    """Every record of ``endpoint`` by name, page by page as the SDK iterates."""
    rows = api.get_all(endpoint, page_size=40)
    by_name = {str(row["name"]): row for row in rows}
    assert len(by_name) == len(rows), endpoint  # no record twice across pages
    return by_name


def _re_encrypted(target: Path, identity: Any, tmp_path: Path, change: Any) -> Path:
    """The package with one file changed by ``change`` and encrypted again to the same key."""
    plain = io.BytesIO()
    with target.open("rb") as fh:
        pyrage.decrypt_io(fh, plain, [identity])
    source, out = zipfile.ZipFile(io.BytesIO(plain.getvalue())), io.BytesIO()
    with zipfile.ZipFile(out, "w") as copy:
        for name in source.namelist():
            copy.writestr(name, change(name, source.read(name)))
    path = tmp_path / "changed.zip.age"
    path.write_bytes(pyrage.encrypt(out.getvalue(), [identity.to_public()]))
    return path


@pytest.fixture
def exported(
    fresh: tuple[Any, TestClient, Settings],  # noqa: F811
    tmp_path: Path,
) -> tuple[_Live, Package, Path, Any]:
    app, client, settings = fresh
    creds = seed_demo(app.state.session_factory, settings, contacts=12)
    tokens = {u["role"]: u["token"] for u in creds["users"]}
    target, identity = _export(client, app, tmp_path)
    return _Live(client, tokens), load(target, identity), target, identity


def test_the_sdk_reads_every_record_of_the_package(
    exported: tuple[_Live, Package, Path, Any],
) -> None:
    live, package, _, _ = exported
    with TestClient(make_app(package, TOKEN)) as http:
        served = sdk(http, TOKEN)
        assert served.ping() is True
        # Every resource the API holds of a tenant is in the package, and nothing else.
        assert set(package.shapes) == {endpoint for endpoint, _ in contents.resources()}
        held = []
        for endpoint in sorted(package.shapes):
            expected = _all(live.for_(endpoint), endpoint)
            assert _all(served, endpoint) == expected, endpoint
            if expected:
                held.append(endpoint)
                name = next(iter(expected))
                assert served.get_one(endpoint, name).data == expected[name], endpoint
        # The demo tenant has records across the resources: the comparison is not of empty lists.
        assert {
            "contacts",
            "accounts",
            "tickets",
            "activities",
            "activitiesCall",
            "activitiesEmail",
            "activitiesWeb",
            "activitiesSms",
            "activitiesCallTranscripts",
            "campaignsRecords",
            "crmRecords",
            "users",
            "queues",
        } <= set(held), held


def test_the_package_answers_queries_as_the_api(exported: tuple[_Live, Package, Path, Any]) -> None:
    live, package, _, _ = exported
    times = sorted(r["time"] for r in live.admin.get_all("activities"))
    middle = times[len(times) // 2]  # a timestamp filter that keeps some and leaves some
    queries = [
        (
            "contacts",
            DaktelaQuery().filter(DaktelaFilter.begins("lastname", "N")).sort(DaktelaSort.desc("lastname")),
        ),
        ("contacts", DaktelaQuery().sort(DaktelaSort.asc("firstname")).pagination(take=3, skip=2)),
        ("contacts", DaktelaQuery().fields("name", "title").param("q", "a").sort(DaktelaSort.asc("name"))),
        (
            "tickets",
            DaktelaQuery()
            .filter(DaktelaFilter.in_("stage", ["OPEN", "WAIT"]))
            .sort(DaktelaSort.desc("name")),
        ),
        (
            "activities",
            DaktelaQuery()
            .filter(DaktelaFilter.eq("type", "CALL"))
            .sort(DaktelaSort.asc("name"))
            .pagination(take=5, skip=1),
        ),
        (
            "activities",
            DaktelaQuery().filter(DaktelaFilter.gte("time", middle)).sort(DaktelaSort.desc("name")),
        ),
        ("activitiesCall", DaktelaQuery().filter(DaktelaFilter.eq("answered", True))),
    ]
    with TestClient(make_app(package, TOKEN)) as http:
        served = sdk(http, TOKEN)
        for endpoint, query in queries:
            want, got = live.admin.get(endpoint, query), served.get(endpoint, query)
            assert (got.total, got.data) == (want.total, want.data), endpoint
            assert (want.total or 0) > 0, endpoint  # the query finds something to compare
        # The default order (activities: newest first). Records of one second keep the database's
        # order of their fractions there, which the wire (and so the package) does not hold.
        want, got = live.admin.get("activities"), served.get("activities")
        assert [r["time"] for r in got.data] == [r["time"] for r in want.data]
        assert got.total == want.total
        ticket = live.admin.get("tickets", DaktelaQuery().pagination(take=1)).data[0]["name"]
        want = live.admin.get_relation("tickets", str(ticket), "activities")
        assert served.get_relation("tickets", str(ticket), "activities").data == want.data
        # The API's refusals: an unknown field is a 400 naming it, an unknown record a 404.
        with pytest.raises(DaktelaValidationException):
            served.get("contacts", DaktelaQuery().filter(DaktelaFilter.eq("nosuch", "x")))
        with pytest.raises(DaktelaNotFoundException):
            served.get_one("contacts", "contacts_nosuch")
        # Read-only, and only for the token it was started with.
        with pytest.raises(DaktelaException) as refused:
            served.post("contacts", {"firstname": "X", "lastname": "Y", "database": "main"})
        assert refused.value.status_code == 405
        with pytest.raises(DaktelaUnauthorizedException):
            sdk(http, "another-token").get("contacts")


def test_a_package_missing_a_record_is_refused(
    exported: tuple[_Live, Package, Path, Any], tmp_path: Path
) -> None:
    _, _, target, identity = exported

    def drop_last_contact(name: str, content: bytes) -> bytes:
        return b"\n".join(content.splitlines()[:-1]) + b"\n" if name == "data/contacts.jsonl" else content

    changed = _re_encrypted(target, identity, tmp_path, drop_last_contact)
    with pytest.raises(PackageRefused) as refused:
        load(changed, identity)
    assert refused.value.problems == ["digest differs: data/contacts.jsonl"]
    with pytest.raises(PackageRefused):
        load(target, pyrage.x25519.Identity.generate())  # not for anyone else

    # The command refuses it the same way, before serving anything.
    key = tmp_path / "key.txt"
    key.write_text(f"# the controller's\n{identity}\n")
    result = CliRunner().invoke(cli, ["tenant", "package", "serve", str(changed), "--identity", str(key)])
    assert result.exit_code == 1 and "digest differs: data/contacts.jsonl" in result.output
    result = CliRunner().invoke(
        cli, ["tenant", "package", "serve", str(target), "--identity", str(key), "--host", "0.0.0.0"]
    )
    assert result.exit_code != 0 and "loopback" in result.output
