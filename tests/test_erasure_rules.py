"""The erasure's rules at their edges: a hold placed while the job waits, a held record that keeps a
mention, records linked while the job runs, include keys as stored, one erasure at a time, and
inputs that must be refused cleanly. The jobs here are run by the test, step by step where needed:
no in-process worker runs (the app's lifespan is not entered)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from conftest import TenantFixture, _truncate, make_tenant
from erasure_data import PHONE_WRITTEN, Subject, build
from hovor.activities.models import CallItem
from hovor.jobs import service as jobs
from hovor.jobs.models import Job
from hovor.privacy import erasure


@pytest.fixture
def quiet(app: Any, engine: Engine) -> Iterator[tuple[TestClient, TenantFixture, jobs.Env]]:
    _truncate(engine)
    client = TestClient(app)  # no `with`: no lifespan, no worker taking the jobs
    yield client, make_tenant(app, "acme"), jobs.env_of(app.state)


def _erase(client: TestClient, tenant: TenantFixture, subject: Subject, body: Any = None) -> Any:
    return client.post(
        f"/api/v6/contacts/{subject.contact}/erasure.json", json=body or {}, headers=tenant.h("dpo")
    )


def _job(env: jobs.Env, name: str) -> Job:
    with env.factory() as s:
        job = s.get(Job, ("acme", name))
        assert job is not None
        return job


def test_a_hold_placed_while_the_job_waits_stops_it(quiet: Any) -> None:
    client, tenant, env = quiet
    subject = build(client, tenant.h())
    job = _erase(client, tenant, subject).json()["result"]["name"]
    r = client.post(
        "/api/v6/legalHolds.json",
        json={"object_type": "activities", "object_key": subject.activities["SMS"], "reason": "Spor 9"},
        headers=tenant.h("dpo"),
    )
    assert r.status_code == 201
    assert jobs.run_pending(env) == 1
    failed = _job(env, job)
    assert failed.state == "failed" and failed.error == "LegalHold" and failed.attempts == 1
    h = tenant.h()
    assert client.get(f"/api/v6/contacts/{subject.contact}.json", headers=h).status_code == 200
    call = client.get(f"/api/v6/activitiesCall/{subject.activities['CALL']}.json", headers=h).json()["result"]
    assert call["clid"] == "+420603123456"
    actions = [
        e["action"]
        for e in client.get("/api/v6/auditLog.json", headers=tenant.h("dpo")).json()["result"]["data"]
    ]
    assert "privacy.erasure.failed" in actions


def test_a_held_record_keeps_its_mention(quiet: Any) -> None:
    client, tenant, env = quiet
    subject = build(client, tenant.h())
    client.post(
        "/api/v6/legalHolds.json",
        json={
            "name": "n1",
            "object_type": "tickets",
            "object_key": str(subject.neighbour_ticket),
            "reason": "Spor",
        },
        headers=tenant.h("dpo"),
    )
    preview = client.get(f"/api/v6/contacts/{subject.contact}/erasure.json", headers=tenant.h("dpo")).json()
    held = {m["key"]["name"]: m["heldBy"] for m in preview["result"]["mentions"]}
    assert held == {str(subject.neighbour_ticket): "n1", subject.neighbour_crm_record: None}
    assert _erase(client, tenant, subject).status_code == 202
    jobs.run_pending(env)
    neighbour = client.get(f"/api/v6/tickets/{subject.neighbour_ticket}.json", headers=tenant.h()).json()
    assert "Zlatohlávkovou" in neighbour["result"]["description"]  # kept: the hold wins
    assert client.get(f"/api/v6/contacts/{subject.contact}.json", headers=tenant.h()).status_code == 404


def test_records_linked_while_the_job_runs_are_anonymized(
    quiet: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, tenant, env = quiet
    subject = build(client, tenant.h())
    late: list[str] = []

    def a_call_comes_in(run: jobs.Run) -> None:
        r = client.post(
            "/api/v6/activitiesCall.json",
            json={"queue": "100", "direction": "in", "clid": PHONE_WRITTEN, "contact": subject.contact},
            headers=tenant.h(),
        )
        late.append(r.json()["result"]["name"])

    steps = list(erasure.STEPS)
    steps.insert(3, ("interlude", a_call_comes_in))  # after anonymize, before the contact goes
    monkeypatch.setitem(jobs.KINDS, erasure.KIND, jobs.Kind(steps, erasure.on_failure))
    job = _erase(client, tenant, subject).json()["result"]["name"]
    jobs.run_pending(env)
    assert _job(env, job).state == "done"
    with env.factory() as s:
        item = s.get(CallItem, ("acme", late[0]))
        assert item is not None and item.clid is None


def test_include_keys_are_taken_as_stored_and_one_erasure_runs_at_a_time(quiet: Any) -> None:
    client, tenant, env = quiet
    subject = build(client, tenant.h())
    other = client.post(
        "/api/v6/tickets.json", json={"title": "Dotaz 603 123 456", "category": "rekl"}, headers=tenant.h()
    ).json()["result"]["name"]
    r = _erase(client, tenant, subject, {"include": {"tickets": [f"+{other}"]}})
    assert r.status_code == 202
    again = _erase(client, tenant, subject)
    assert again.status_code == 409 and r.json()["result"]["name"] in again.json()["error"][0]
    jobs.run_pending(env)
    ticket = client.get(f"/api/v6/tickets/{other}.json", headers=tenant.h()).json()["result"]
    assert ticket["anonymized"] is True and ticket["title"] == "Dotaz [phone]"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"include": "some"}, "include"),
        ({"include": {"nonsense": ["x"]}}, "include"),
        ({"include": {"tickets": ["99999999999999999999"]}}, "include.tickets"),
        ({"include": {"activities": "x"}}, "include.activities"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_erasure_requests_are_refused_and_change_nothing(quiet: Any, body: Any, field: str) -> None:
    client, tenant, env = quiet
    subject = build(client, tenant.h())
    r = _erase(client, tenant, subject, body)
    assert r.status_code == 400, r.text
    assert field in r.json()["error"]["form"]
    with env.factory() as s:
        assert s.scalars(select(Job)).all() == []


def test_bad_hold_input(quiet: Any) -> None:
    client, tenant, _ = quiet
    subject = build(client, tenant.h())
    for until in ("0001-01-01 00:30:00", "9999-12-31T23:59:59-05:00", "tomorrow"):
        r = client.post(
            "/api/v6/legalHolds.json",
            json={"object_type": "contacts", "object_key": subject.contact, "reason": "x", "until": until},
            headers=tenant.h("dpo"),
        )
        assert r.status_code == 400 and "until" in r.json()["error"]["form"], r.text
    r = client.post(
        "/api/v6/legalHolds.json",
        json={"object_type": "tickets", "object_key": "99999999999999999999", "reason": "x"},
        headers=tenant.h("dpo"),
    )
    assert r.status_code == 400 and "object_key" in r.json()["error"]["form"]
    assert client.get("/api/v6/tickets/99999999999999999999.json", headers=tenant.h()).status_code == 404


def test_dpo_content_delete_takes_the_identifier_index_too(quiet: Any) -> None:
    client, tenant, _ = quiet
    h, dpo = tenant.h(), tenant.h("dpo")
    client.post(
        "/api/v6/formFields.json",
        json={"name": "callback", "title": "Zpětné volání", "object_type": "activities", "type": "phone"},
        headers=h,
    )
    client.post("/api/v6/queues.json", json={"name": "300", "title": "E-mail", "type": "email"}, headers=h)
    mail = client.post(
        "/api/v6/activitiesEmail.json",
        json={"queue": "300", "direction": "in", "customFields": {"callback": ["608 111 222"]}},
        headers=h,
    ).json()["result"]["name"]
    found = client.post("/api/v6/subjects.json", json={"phone": "608111222"}, headers=dpo).json()["result"]
    assert found["data"]["activities"]["keys"] == [mail]
    assert client.delete(f"/api/v6/activitiesEmail/{mail}/content.json", headers=dpo).status_code == 204
    after = client.post("/api/v6/subjects.json", json={"phone": "608111222"}, headers=dpo).json()["result"]
    assert after["total"] == 0


def test_the_search_for_mentions_reads_only_the_activities_with_text(
    client: TestClient, tenant: TenantFixture, engine: Engine
) -> None:
    """Activities are searched through the partial index of those that carry any free text (a
    call usually carries none), on both databases; and one whose only text is its description is
    still among them."""
    from hovor.activities.models import Activity
    from hovor.core.db import make_session_factory, planner_settings
    from hovor.privacy.erasure.mentions import free_text_columns, prefilter, prefilter_settings

    h = tenant.h()
    client.post("/api/v6/queues.json", json={"name": "100", "title": "L", "type": "in"}, headers=h)
    client.post(
        "/api/v6/activitiesCall.json",
        json={"queue": "100", "direction": "in", "clid": PHONE_WRITTEN},
        headers=h,
    )
    noted = client.post("/api/v6/activities.json", json={"description": "Volala paní Nováková"}, headers=h)
    assert noted.status_code == 201, noted.text
    table = Activity.__table__
    where = prefilter(
        table, free_text_columns()[table], ["nováková"], tenant.id, engine.dialect.name == "postgresql"
    )
    stmt = select(table.c.name).where(*where)
    with make_session_factory(engine, writes=False)() as s, planner_settings(s, **prefilter_settings(table)):
        found = s.execute(stmt).scalars().all()
        compiled = stmt.compile(dialect=engine.dialect)
        params = dict(compiled.params)
        for key, process in compiled._bind_processors.items():
            if key in params:
                params[key] = process(params[key])
        raw = s.connection().connection.driver_connection
        if engine.dialect.name == "sqlite":
            rows = raw.execute(
                f"EXPLAIN QUERY PLAN {compiled}", [params[k] for k in compiled.positiontup or ()]
            )
            plan = "\n".join(str(r[-1]) for r in rows.fetchall())
        else:
            with raw.cursor() as cur:
                cur.execute(f"EXPLAIN {compiled}", params)
                plan = "\n".join(r[0] for r in cur.fetchall())
    assert found == [noted.json()["result"]["name"]]
    assert "ix_activities_tenant_free_text" in plan, plan
    assert "Seq Scan" not in plan and "SCAN activities" not in plan, plan


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_the_search_for_mentions_reads_the_trigram_indexes_on_postgresql(
    client: TestClient, tenant: TenantFixture, engine: Engine
) -> None:
    """On PostgreSQL the largest tables of free text are searched for a person's mentions through
    a trigram index of their text (migration 0038): its expression is the pre-filter's, word for
    word, or the planner could not use it; what it finds is what the table holds, in either case;
    and like the personal columns it keeps no statistics."""
    from sqlalchemy import text

    from hovor.core.db import Base, make_session_factory, planner_settings
    from hovor.privacy.erasure.mentions import (
        MENTION_INDEXES,
        free_text_columns,
        may_mention,
        prefilter,
        prefilter_settings,
    )

    h = tenant.h()
    client.post("/api/v6/queues.json", json={"name": "300", "title": "E", "type": "email"}, headers=h)
    noted = client.post(
        "/api/v6/contacts.json",
        json={"lastname": "Malý", "database": "main", "description": "Zná paní Novákovou"},
        headers=h,
    )
    mailed = client.post(
        "/api/v6/activitiesEmail.json",
        json={"queue": "300", "direction": "in", "title": "Dotaz", "text": "Píše Jana Nováková, 608 111 222"},
        headers=h,
    )
    assert noted.status_code == mailed.status_code == 201, (noted.text, mailed.text)
    tables = {t.name: t for t in Base.metadata.sorted_tables}
    columns = free_text_columns()
    needles = ["Novákov", "222"]
    with make_session_factory(engine, writes=False)() as s:
        for name in MENTION_INDEXES:
            table = tables[name]
            # No other index has the condition's expression: without the trigram index the plan
            # reads the table (or a whole index) and filters every row.
            stmt = select(*table.primary_key.columns).where(may_mention(columns[table], needles, True))
            compiled = stmt.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
            explain = text(f"EXPLAIN {compiled}".replace("%%", "%"))
            with planner_settings(s, **prefilter_settings(table)):
                plan = "\n".join(r[0] for r in s.execute(explain).all())
            assert f"Bitmap Index Scan on ix_{name}_mentions_trgm" in plan, plan
        found = {}
        for name in ("crm_contacts", "activity_emails"):
            table = tables[name]
            where = prefilter(table, columns[table], needles, tenant.id, True)
            with planner_settings(s, **prefilter_settings(table)):
                found[name] = s.execute(select(table.c.name).where(*where)).scalars().all()
        stats = s.execute(
            text(
                "SELECT c.relname, a.attstattarget FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                " JOIN pg_attribute a ON a.attrelid = i.indexrelid WHERE i.indexprs IS NOT NULL"
            )
        ).all()
    assert found == {
        "crm_contacts": [noted.json()["result"]["name"]],
        "activity_emails": [mailed.json()["result"]["name"]],
    }
    assert {n for n, _ in stats} == {f"ix_{n}_mentions_trgm" for n in MENTION_INDEXES}
    assert {t for _, t in stats} == {0}
