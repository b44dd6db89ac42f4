"""The record of processing activities (Art. 30): generated from the registry, the policies, the
declared locations and the users, as JSON and as a printable document in Czech and English."""

from __future__ import annotations

import io
from dataclasses import replace
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import Column, MetaData, String, Table

from conftest import TenantFixture, data
from hovor.api.resource import REGISTRY
from hovor.audit import log as audit
from hovor.auth.schemas import UserCreate
from hovor.auth.service import system_caller
from hovor.auth.users import create_user
from hovor.core.db import unit_of_work
from hovor.core.personal_data import Category, Owner, classification, not_personal, personal
from hovor.privacy.models import RetentionPolicy
from hovor.tenancy import locations
from hovor.tenancy.models import Tenant

URL = "/api/v6/processingRecord.json"


def _prepare(app: Any, tenant: str) -> None:
    """A tenant with a contract, one policy, an integration and a backup outside the EEA."""
    with unit_of_work(app.state.session_factory) as s:
        t = s.get(Tenant, tenant)
        assert t is not None
        t.retention_days, t.recordings_retention_days = 1000, 90
        s.add(RetentionPolicy(tenant_id=tenant, name="tickets", days=400, action="anonymize"))
        create_user(
            s, system_caller(s, tenant), UserCreate(name="pbx", title="Ústředna PBX", role="integration")
        )
        actor = audit.Actor.system("test")
        locations.set_location(s, actor, "database", provider="Master Internet", country="CZ", region="Praha")
        locations.set_location(
            s, actor, "backup", name="dr", provider="AWS", country="US", region="us-east-1"
        )


def _registry(endpoint: str) -> dict[str, set[str]]:
    """What the registry says of a record type's columns, read here independently."""
    out: dict[str, set[str]] = {}
    for column in REGISTRY[endpoint].model.__table__.columns:
        cls = classification(column)
        assert cls is not None
        if cls.owner is not Owner.NONE and cls.category is not Category.OPERATIONAL:
            out.setdefault(cls.category.value, set()).add(cls.owner.value)
    return out


def test_the_record_follows_the_registry_policies_locations_and_users(
    client: Any, app: Any, tenant: TenantFixture
) -> None:
    _prepare(app, tenant.id)
    r = client.get(URL, headers=tenant.h("dpo"))
    assert r.status_code == 200, r.text
    rec = data(r)
    assert rec["controller"]["title"] == "Tenant acme"
    assert rec["dpo"]["email"] == "dpo@acme.example"
    assert rec["processor"]["name"] == app.state.settings.processor_name
    by_type = {a["record_type"]: a for a in rec["activities"]}
    for endpoint in ("contacts", "tickets", "activitiesCall", "activitiesCallRecordings", "users"):
        held = {c["category"]: set(c["subjects"]) for c in by_type[endpoint]["categories"]}
        assert held == _registry(endpoint), endpoint
    assert {s["subject"] for s in by_type["contacts"]["subjects"]} >= {"subject"}
    assert [s["subject"] for s in by_type["users"]["subjects"]] == ["operator"]
    assert by_type["tickets"]["purpose"]["en"] == "Handling your requests and complaints"
    # Retention: the tenant's policy, the contract's days elsewhere, the recordings' ceiling.
    assert by_type["tickets"]["retention"]["days"] == 400
    assert by_type["contacts"]["retention"]["days"] == 1000
    assert by_type["activitiesCallRecordings"]["retention"]["days"] == 90
    kinds = {k["kind"]: k for k in rec["retention"]["kinds"]}
    assert (kinds["tickets"]["days"], kinds["tickets"]["action"], kinds["tickets"]["source"]) == (
        400,
        "anonymize",
        "policy",
    )
    assert kinds["contacts"]["source"] == "contract"
    # Recipients: the staff, the processor, the integration by name.
    kinds_of = [x["kind"] for x in rec["recipients"]]
    assert kinds_of[:2] == ["staff", "processor"]
    assert [x["integration"] for x in rec["recipients"] if x["kind"] == "integration"] == [
        "integration of acme",
        "Ústředna PBX",
    ]
    assert rec["recipients"][0]["roles"]["dpo"] == 1
    # Transfers: only the backup in the US.
    assert [(t["kind"], t["country"]) for t in rec["transfers"]] == [("backup", "US")]
    assert len(rec["locations"]) == 2
    assert any("AES-GCM" in m["en"] for m in rec["security"])

    for role in ("operator", "supervisor", "integration", "auditor"):
        assert client.get(URL, headers=tenant.h(role)).status_code == 403
    assert client.get(URL, headers=tenant.h("admin")).status_code == 200


def test_a_new_personal_column_appears_in_the_record(
    client: Any, tenant: TenantFixture, monkeypatch: Any
) -> None:
    base = REGISTRY["accounts"]
    before = {
        c["category"]
        for c in {
            a["record_type"]: a for a in data(client.get(URL, headers=tenant.h("admin")))["activities"]
        }["accounts"]["categories"]
    }
    assert Category.SOCIAL.value not in before
    table = Table(
        "accounts",
        MetaData(),
        *(Column(c.name, c.type, info=c.info) for c in base.model.__table__.columns),
        Column("whatsapp", String(64), info=personal(Category.SOCIAL)),
        Column("flag", String(8), info=not_personal()),
    )
    model = type("Accounts", (), {"__table__": table})
    monkeypatch.setitem(REGISTRY, "accounts", replace(base, model=model))
    rec = data(client.get(URL, headers=tenant.h("admin")))
    held = {
        c["category"]: c for c in {a["record_type"]: a for a in rec["activities"]}["accounts"]["categories"]
    }
    assert held[Category.SOCIAL.value]["subjects"] == ["subject"]
    assert held[Category.SOCIAL.value]["title"]["cs"] == "identifikátor na sociální síti"


@pytest.mark.parametrize("lang", ["cs", "en"])
def test_the_printable_record_in_html_and_pdf(
    client: Any, app: Any, tenant: TenantFixture, lang: str
) -> None:
    _prepare(app, tenant.id)
    r = client.get("/file/processingRecord", params={"lang": lang}, headers=tenant.h("dpo"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    page = r.text
    title, transfer = (
        ("Záznamy o činnostech zpracování", "Uloženo mimo EU/EHP")
        if lang == "cs"
        else ("Record of processing activities", "Stored outside the EU/EEA")
    )
    assert title in page and transfer in page and "Ústředna PBX" in page and "dpo@acme.example" in page

    r = client.get(
        "/file/processingRecord", params={"lang": lang, "format": "pdf"}, headers=tenant.h("admin")
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-")
    text = " ".join((p.extract_text() or "") for p in PdfReader(io.BytesIO(r.content)).pages)
    flat = " ".join(text.split())
    assert title in flat, flat[:500]
    assert "AWS" in flat and "Tenant acme" in flat
    if lang == "cs":
        assert "Vyřizování vašich požadavků a reklamací" in flat


def test_bad_document_parameters_are_refused(client: Any, tenant: TenantFixture) -> None:
    for params, field in (({"lang": "de"}, "lang"), ({"format": "docx"}, "format")):
        r = client.get("/file/processingRecord", params=params, headers=tenant.h("admin"))
        assert r.status_code == 400 and field in r.json()["error"]["form"], r.text
    assert client.get("/file/processingRecord", headers=tenant.h("operator")).status_code == 403
