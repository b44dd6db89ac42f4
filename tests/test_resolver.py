"""The identifier index and the resolver built on it: every record carrying a phone or e-mail."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, select, text

from conftest import TenantFixture, data
from hovor.auth.service import system_caller
from hovor.core.db import make_session_factory, unit_of_work
from hovor.index.models import Identifier
from hovor.privacy.resolver import _statement, resolve, rights_of

PHONE = "+420604123456"


def resolved(session_factory: Any, tenant: str, **kw: str) -> dict[str, list[str]]:
    with unit_of_work(session_factory) as s:
        return resolve(s, system_caller(s, tenant), **kw)


def test_resolve_phone_and_email_everywhere(client: Any, tenant: TenantFixture, session_factory: Any) -> None:
    h = tenant.h()
    client.post(
        "/api/v6/formFields.json",
        json={"name": "number", "title": "T", "object_type": "contacts", "type": "phone", "multiple": True},
        headers=h,
    )
    client.post(
        "/api/v6/formFields.json",
        json={"name": "email", "title": "E", "object_type": "contacts", "type": "email"},
        headers=h,
    )
    for name, kind in (("100", "in"), ("101", "out"), ("400", "chat"), ("500", "sms"), ("300", "email")):
        client.post("/api/v6/queues.json", json={"name": name, "title": name, "type": kind}, headers=h)
    jana = data(
        client.post(
            "/api/v6/contacts.json",
            json={
                "lastname": "Nováková",
                "database": "main",
                "customFields": {"number": ["604 123 456", "777 000 111"], "email": ["Jana@Example.cz"]},
            },
            headers=h,
        )
    )
    dup = data(
        client.post(
            "/api/v6/contacts.json",
            json={
                "lastname": "Nováková J.",
                "database": "main",
                "customFields": {"number": ["+420604123456"]},
            },
            headers=h,
        )
    )
    other = data(
        client.post(
            "/api/v6/contacts.json",
            json={"lastname": "Jiná", "database": "main", "customFields": {"number": ["605 000 000"]}},
            headers=h,
        )
    )
    call = data(
        client.post(
            "/api/v6/activitiesCall.json",
            json={"queue": "100", "direction": "in", "clid": "604123456"},
            headers=h,
        )
    )
    sms = data(
        client.post(
            "/api/v6/activitiesSms.json",
            json={"queue": "500", "sender": "00420604123456", "direction": "in"},
            headers=h,
        )
    )
    chat = data(
        client.post(
            "/api/v6/activitiesWeb.json",
            json={"queue": "400", "phone": "604 123 456", "email": "jana@example.cz"},
            headers=h,
        )
    )
    mail = data(
        client.post(
            "/api/v6/activitiesEmail.json",
            json={"queue": "300", "direction": "in", "address": "JANA@example.cz"},
            headers=h,
        )
    )
    client.post("/api/v6/campaignsTypes.json", json={"name": "k", "title": "K", "queue": "101"}, headers=h)
    rec = data(
        client.post(
            "/api/v6/campaignsRecords.json", json={"record_type": "k", "number": "604123456"}, headers=h
        )
    )

    assert resolved(session_factory, "acme", phone=PHONE) == {
        "activitiesCall": [call["name"]],
        "activitiesSms": [sms["name"]],
        "activitiesWeb": [chat["name"]],
        "campaignsRecords": [rec["name"]],
        "contacts": sorted([jana["name"], dup["name"]]),
    }
    assert resolved(session_factory, "acme", email="jana@example.cz") == {
        "activitiesEmail": [mail["name"]],
        "activitiesWeb": [chat["name"]],
        "contacts": [jana["name"]],
    }
    assert other["name"] not in str(resolved(session_factory, "acme", phone=PHONE))

    # The index follows changes: an edited number, a deleted contact, a deleted field.
    client.put(
        f"/api/v6/contacts/{dup['name']}.json", json={"customFields": {"number": ["606 111 222"]}}, headers=h
    )
    assert resolved(session_factory, "acme", phone=PHONE)["contacts"] == [jana["name"]]
    client.delete(f"/api/v6/contacts/{jana['name']}.json", headers=h)
    assert "contacts" not in resolved(session_factory, "acme", phone=PHONE)
    client.delete("/api/v6/formFields/number.json", headers=h)
    with unit_of_work(session_factory) as s:
        assert s.scalars(select(Identifier).where(Identifier.field == "number")).all() == []


def test_resolver_respects_tenant_and_rights(
    client: Any, tenant: TenantFixture, other_tenant: TenantFixture, session_factory: Any
) -> None:
    for t in (tenant, other_tenant):
        client.post("/api/v6/queues.json", json={"name": "100", "title": "L", "type": "in"}, headers=t.h())
        client.post(
            "/api/v6/activitiesCall.json",
            json={"queue": "100", "direction": "in", "clid": PHONE},
            headers=t.h(),
        )
    own = resolved(session_factory, "acme", phone=PHONE)
    theirs = resolved(session_factory, "globex", phone=PHONE)
    assert len(own["activitiesCall"]) == 1 and own != theirs


def test_a_name_is_looked_up_by_surname_and_given_name_together(
    tenant: TenantFixture, session_factory: Any
) -> None:
    """The contacts of one name are read through an index on both names: a common surname (five
    thousand Novákovás among a million contacts) is not read whole to keep the few Janas."""
    with unit_of_work(session_factory) as s:
        caller = rights_of(system_caller(s, tenant.id))
        conn = s.connection()
        sqlite = conn.dialect.name == "sqlite"
        stmt = _statement(caller, ("name",), sqlite)
        params = {"firstname": "Jana", "lastname": "Nováková", "fullname": "Jana Nováková"}
        compiled = stmt.compile(dialect=conn.dialect)
        values = {**compiled.params, **params}
        raw = conn.connection.driver_connection
        if sqlite:
            ordered = [values[k] for k in compiled.positiontup or ()]
            rows = raw.execute(f"EXPLAIN QUERY PLAN {compiled}", ordered).fetchall()
            plan = "\n".join(str(r[-1]) for r in rows)
            assert "crm_contacts USING INDEX ix_crm_contacts_tenant_lastname_firstname" in plan, plan
            assert "firstname=?" in plan, plan
        else:
            with raw.cursor() as cur:
                cur.execute("SET LOCAL enable_seqscan = off")
                cur.execute(f"EXPLAIN {compiled}", values)
                plan = "\n".join(r[0] for r in cur.fetchall())
            lines = plan.splitlines()
            at = next(i for i, line in enumerate(lines) if " on crm_contacts" in line)
            node = "\n".join([lines[at], *[x for x in lines[at + 1 : at + 3] if "->" not in x]])
            assert "ix_crm_contacts_tenant_lastname_firstname" in node, plan
            assert "firstname" in node and "Filter" not in node, plan


@pytest.mark.parametrize("writes", [True, False])
def test_the_lookups_run_without_parallel_workers(tenant: TenantFixture, engine: Any, writes: bool) -> None:
    """Where the planner would start parallel workers for the resolver's union (here forced; at
    the large size, the probes' estimates without statistics do it), the lookups run without
    them, in a unit of work and in a read (which on PostgreSQL runs without a transaction), and
    the connection's own setting is back afterwards."""
    seen: list[str] = []
    factory = make_session_factory(engine, writes=writes)
    with factory() as s:
        conn = s.connection()
        postgres = conn.dialect.name == "postgresql"
        raw = conn.connection.driver_connection
        if postgres:
            version = conn.execute(text("SHOW server_version_num")).scalar()
            force = "debug_parallel_query" if int(version or 0) >= 160000 else "force_parallel_mode"
            conn.execute(text(f"SET {force} = on"))
            conn.execute(text("SET max_parallel_workers_per_gather = 3"))
            compiled = _statement(rights_of(system_caller(s, tenant.id)), ("name",)).compile(
                dialect=conn.dialect
            )
            values = {
                **compiled.params,
                "firstname": "Jana",
                "lastname": "Nováková",
                "fullname": "Jana Nováková",
            }
            with raw.cursor() as cur:
                cur.execute(f"EXPLAIN {compiled}", values)
                assert "Gather" in "\n".join(r[0] for r in cur.fetchall())  # what it would do

        def spy(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if "UNION ALL" in statement:
                shown = raw.execute("SHOW max_parallel_workers_per_gather").fetchone() if postgres else ("",)
                seen.append(shown[0])

        event.listen(engine, "before_cursor_execute", spy)
        try:
            resolve(s, system_caller(s, tenant.id), name=("Jana", "Nováková"), phone=PHONE)
        finally:
            event.remove(engine, "before_cursor_execute", spy)
        assert len(seen) == 1
        if postgres:
            assert seen == ["0"]
            assert conn.execute(text("SHOW max_parallel_workers_per_gather")).scalar() == "3"
            conn.execute(text(f"RESET {force}"))
            conn.execute(text("RESET max_parallel_workers_per_gather"))
        s.rollback()
