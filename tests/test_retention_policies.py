"""Retention policies for every kind of record besides recordings, with a fake clock: what each
policy deletes or anonymizes, what it keeps (newer records, held ones, contacts still active), the
contract's retention over the policies, the audit log's floor and its pruning, and the API."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine

from conftest import _truncate, make_tenant
from erasure_data import EMAIL, LAST, build, data
from hovor.audit import prune
from hovor.audit.chain import sign_checkpoints, verify_tenant
from hovor.core.db import unit_of_work, utcnow
from hovor.jobs import service as jobs
from hovor.privacy import policies, retention
from hovor.tenancy.service import set_contract_retention

# Everything built by the test is this old when the sweep runs.
AGE = dt.timedelta(days=100)


@pytest.fixture
def quiet(app: Any, engine: Engine) -> Iterator[tuple[TestClient, Any, jobs.Env]]:
    _truncate(engine)
    client = TestClient(app)  # no lifespan: no worker, no scheduler; the test sweeps
    yield client, make_tenant(app, "acme"), jobs.env_of(app.state)


def _policy(client: TestClient, tenant: Any, name: str, days: int, action: str | None = None) -> Any:
    body: dict[str, Any] = {"name": name, "days": days}
    if action:
        body["action"] = action
    return client.post("/api/v6/retentionPolicies.json", json=body, headers=tenant.h("dpo"))


def _sweep(env: jobs.Env, now: dt.datetime) -> dict[str, int]:
    with env.factory() as s:
        todo = [p for p in policies.effective(s, "acme", env.settings, now) if p.name != policies.AUDIT_LOG]
    return {p.name: policies.sweep_kind(env.factory, env.files, "acme", p, now=now, chunk=2) for p in todo}


def _her_entries(env: jobs.Env, keys: set[str]) -> list[str]:
    """Her records' search entries that still hold her folded name."""
    with env.factory() as s:
        rows = s.execute(text("SELECT object_name, body, custom FROM search_entries")).all()
    return [name for name, body, custom in rows if name in keys and "zlatohlav" in body + custom]


def test_every_kind_is_swept_by_its_policy(quiet: Any) -> None:
    client, tenant, env = quiet
    h = tenant.h()
    subject = build(client, h)
    now = utcnow() + AGE
    acts = subject.activities
    # A newer SMS (ten days old at the sweep), and a Messenger conversation under a legal hold.
    fresh = data(
        client.post(
            "/api/v6/activitiesSms.json",
            json={
                "queue": "500",
                "sender": "+420777000111",
                "direction": "in",
                "time": (now - dt.timedelta(days=10)).isoformat(),
            },
            headers=h,
        )
    )["name"]
    hold = client.post(
        "/api/v6/legalHolds.json",
        json={"object_type": "activities", "object_key": acts["FBM"], "reason": "Spor 7"},
        headers=tenant.h("dpo"),
    )
    assert hold.status_code == 201
    # Her ticket is closed; the neighbour's stays open (and keeps the neighbour active).
    assert (
        client.put(
            f"/api/v6/tickets/{subject.tickets[0]}.json", json={"stage": "CLOSE"}, headers=h
        ).status_code
        == 200
    )
    # So is her deal; the neighbour's stays open.
    assert (
        client.put(
            f"/api/v6/crmRecords/{subject.crm_records[0]}.json", json={"stage": "CLOSE"}, headers=h
        ).status_code
        == 200
    )
    # A finished job, and an erasure job whose certificate stays.
    with unit_of_work(env.factory) as s:
        for kind in ("compact", "erasure"):
            s.execute(
                text(
                    "INSERT INTO jobs (tenant_id, name, kind, params, state, progress, attempts,"
                    " max_attempts, run_after, created, finished)"
                    " VALUES ('acme', :n, :k, '{}', 'done', '{}', 1, 8, :t, :t, :t)"
                ),
                {"n": f"job-{kind}", "k": kind, "t": utcnow().replace(tzinfo=None)},
            )

    for name, action in (
        ("activitiesCall", "anonymize"),
        ("activitiesEmail", "delete"),
        ("activitiesWeb", "anonymize"),
        ("activitiesSms", "delete"),
        ("activitiesFbm", "anonymize"),
        ("tickets", "delete"),
        ("campaignsRecords", "anonymize"),
        ("crmRecords", "anonymize"),
        ("contacts", "delete"),
        ("jobs", "delete"),
        ("attachments", "delete"),
    ):
        r = _policy(client, tenant, name, 60, action)
        assert r.status_code == 201, r.text

    with env.factory() as s:
        planned = {p["policy"]: p["count"] for p in policies.preview(s, "acme", env.settings, now)}
    # Her records the policies below delete or anonymize.
    swept_kinds = ("CALL", "EMAIL", "CHAT", "SMS", "FBM")
    hers = {subject.contact, *(acts[k] for k in swept_kinds), *map(str, subject.tickets)}
    assert _her_entries(env, hers)  # what the check at the end looks for is there now
    swept = _sweep(env, now)
    env.files.reap(env.factory)
    assert swept == {
        "activitiesCall": 2,  # hers and the unlinked one
        "activitiesEmail": 1,
        "activitiesWeb": 1,
        "activitiesSms": 1,  # not the fresh one
        "activitiesFbm": 0,  # held
        "attachments": 1,  # the ticket's (the e-mail's went with the e-mail, swept before)
        "tickets": 1,  # hers (closed), not the neighbour's (open)
        "campaignsRecords": 1,
        "crmRecords": 1,  # her deal (closed), not the neighbour's (open)
        "jobs": 1,  # not the erasure
        # Not hers: the held conversation is linked to her. The neighbour has an open ticket.
        "contacts": 0,
    }
    # The preview said so beforehand (the held conversation is excluded there too).
    assert {k: planned[k] for k in swept if k not in ("attachments", "contacts")} == {
        k: v for k, v in swept.items() if k not in ("attachments", "contacts")
    }

    get = lambda path: client.get(f"/api/v6/{path}.json", headers=h)  # noqa: E731
    call = get(f"activitiesCall/{acts['CALL']}").json()["result"]
    assert call["anonymized"] is True and call["clid"] in (None, "") and call["recording"] is None
    assert LAST not in (call["title"] or "")
    assert get(f"activitiesEmail/{acts['EMAIL']}").status_code == 404
    chat = get(f"activitiesWeb/{acts['CHAT']}").json()["result"]
    assert chat["anonymized"] is True and chat["email"] is None and chat["ipaddress"] is None
    assert get(f"activitiesWeb/{acts['CHAT']}/messages").json()["result"]["total"] == 0
    assert get(f"activitiesSms/{acts['SMS']}").status_code == 404
    assert get(f"activitiesSms/{fresh}").status_code == 200
    fbm = get(f"activitiesFbm/{acts['FBM']}").json()["result"]
    assert fbm["anonymized"] is False and fbm["sender"]
    assert get(f"tickets/{subject.tickets[0]}").status_code == 404
    assert get(f"tickets/{subject.neighbour_ticket}").status_code == 200
    record = get(f"campaignsRecords/{subject.records[0]}").json()["result"]
    assert record["anonymized"] is True and record["number"] is None
    deal = get(f"crmRecords/{subject.crm_records[0]}").json()["result"]
    assert deal["anonymized"] is True and deal["title"] == "[erased]" and deal["customFields"] == {}
    assert get(f"crmRecords/{subject.neighbour_crm_record}").json()["result"]["anonymized"] is False
    assert get(f"contacts/{subject.contact}").status_code == 200
    assert get(f"contacts/{subject.neighbour}").status_code == 200

    # What is left expired is held, or linked to a held record: no sweep is due for it (the hourly
    # scheduler must not queue one for nothing).
    with env.factory() as s:
        assert not policies.any_due(s, "acme", env.settings, now)

    # The hold is released: the conversation is anonymized, and she goes.
    hold_name = hold.json()["result"]["name"]
    assert client.delete(f"/api/v6/legalHolds/{hold_name}.json", headers=tenant.h("dpo")).status_code == 204
    with env.factory() as s:
        assert policies.any_due(s, "acme", env.settings, now)
    again = _sweep(env, now)
    assert again["activitiesFbm"] == 1 and again["contacts"] == 1 and sum(again.values()) == 2
    swept = {k: v + again[k] for k, v in swept.items()}
    assert get(f"activitiesFbm/{acts['FBM']}").json()["result"]["anonymized"] is True
    assert get(f"contacts/{subject.contact}").status_code == 404
    with env.factory() as s:
        assert s.execute(text("SELECT name FROM jobs ORDER BY name")).scalars().all() == ["job-erasure"]
        stones = dict(
            s.execute(text("SELECT record_key, action FROM tombstones WHERE record_type = 'contacts'")).all()
        )
        chunks = (
            s.execute(text("SELECT details FROM audit_entries WHERE action = 'privacy.retention.chunk'"))
            .scalars()
            .all()
        )
        blob_text = s.execute(text("SELECT count(*) FROM attachments")).scalar_one()
    assert stones == {subject.contact: "retention"}
    assert blob_text == 0
    # One entry per chunk (two records a chunk here), with counts and keys, never values.
    assert sum((c if isinstance(c, dict) else json.loads(c))["records"] for c in chunks) == sum(
        swept.values()
    )
    assert not any(EMAIL in str(c) or LAST in str(c) for c in chunks)

    # A second sweep finds nothing: every record was re-checked and is gone or anonymized.
    assert sum(_sweep(env, now).values()) == 0
    # The search index went with her records, or was rewritten as they were anonymized.
    assert _her_entries(env, hers) == []
    # q finds exactly the activities that still name her (kinds this test gave no policy).
    found = client.get("/api/v6/activities.json", params={"q": "zlatohlavkova"}, headers=h).json()["result"]
    with env.factory() as s:
        rows = s.execute(text("SELECT name, title, description FROM activities")).all()
    still = {n for n, t, d in rows if LAST in (t or "") + (d or "")}
    assert still and {a["name"] for a in found["data"]} == still


def test_the_contract_bounds_every_policy_and_keeps_kinds_without_one(quiet: Any) -> None:
    client, tenant, env = quiet
    h = tenant.h()
    for name, kind in (("500", "sms"), ("300", "email")):
        client.post("/api/v6/queues.json", json={"name": name, "title": name, "type": kind}, headers=h)
    now = utcnow()

    def sms(days: int) -> str:
        body = {
            "queue": "500",
            "sender": "+420603000111",
            "direction": "in",
            "time": (now - dt.timedelta(days=days)).isoformat(),
        }
        return str(data(client.post("/api/v6/activitiesSms.json", json=body, headers=h))["name"])

    def email(days: int) -> str:
        body = {
            "queue": "300",
            "direction": "in",
            "address": "a@example.cz",
            "title": "Dotaz",
            "time": (now - dt.timedelta(days=days)).isoformat(),
        }
        return str(data(client.post("/api/v6/activitiesEmail.json", json=body, headers=h))["name"])

    sms_old, sms_new, email_old, email_mid = sms(95), sms(85), email(95), email(85)
    assert _policy(client, tenant, "activitiesEmail", 200, "delete").status_code == 201
    # No contract yet: the SMS have no policy and are kept; the e-mails are 200 days' worth.
    assert _sweep(env, now) == {"activitiesEmail": 0}

    with unit_of_work(env.factory) as s:
        set_contract_retention(s, "acme", 90, retention.ACTOR)
    # A policy above the contract is refused now, naming it; the one set before is bounded by it.
    r = _policy(client, tenant, "activitiesSms", 120, "delete")
    assert r.status_code == 400 and "90" in r.json()["error"]["form"]["days"][0]
    r = client.put(
        "/api/v6/retentionPolicies/activitiesEmail.json", json={"days": 150}, headers=tenant.h("dpo")
    )
    assert r.status_code == 400
    with env.factory() as s:
        by = {p.name: p for p in policies.effective(s, "acme", env.settings, now)}
    assert (by["activitiesEmail"].days, by["activitiesEmail"].source) == (90, "contract")
    assert (by["activitiesSms"].days, by["activitiesSms"].action) == (90, "anonymize")  # its default
    assert by[policies.AUDIT_LOG].days == env.settings.audit_retention_floor_days
    swept = _sweep(env, now)
    assert swept["activitiesEmail"] == 1 and swept["activitiesSms"] == 1
    get = lambda path: client.get(f"/api/v6/{path}.json", headers=h)  # noqa: E731
    assert get(f"activitiesEmail/{email_old}").status_code == 404
    assert get(f"activitiesEmail/{email_mid}").status_code == 200
    assert get(f"activitiesSms/{sms_old}").json()["result"]["anonymized"] is True
    assert get(f"activitiesSms/{sms_new}").json()["result"]["anonymized"] is False
    # Tenant users cannot move the contract.
    for role in ("admin", "dpo"):
        r = client.put("/api/v6/tenant.json", json={"retention_days": 3650}, headers=tenant.h(role))
        assert r.status_code == 403
    assert get("tenant").json()["result"]["retention_days"] == 90


def test_policies_in_the_v6_conventions(quiet: Any) -> None:
    client, tenant, env = quiet
    dpo = tenant.h("dpo")
    r = _policy(client, tenant, "activitiesEmail", 30)
    assert r.status_code == 201 and r.json()["result"]["action"] == "anonymize"  # the kind's default
    assert _policy(client, tenant, "activitiesEmail", 40).status_code == 409
    for name, days, action, field in (
        ("recordingz", 30, None, "name"),
        ("transcripts", 30, "anonymize", "action"),
        ("tickets", 0, None, "days"),
        ("auditLog", 30, None, "days"),  # below the floor
    ):
        r = _policy(client, tenant, name, days, action)
        assert r.status_code == 400 and field in r.json()["error"]["form"], (name, r.text)
    assert _policy(client, tenant, "auditLog", env.settings.audit_retention_floor_days + 1).status_code == 201
    listed = client.get("/api/v6/retentionPolicies.json", headers=dpo).json()["result"]
    assert listed["total"] == 2 and {p["name"] for p in listed["data"]} == {"activitiesEmail", "auditLog"}
    r = client.put(
        "/api/v6/retentionPolicies/activitiesEmail.json", json={"days": 20, "action": "delete"}, headers=dpo
    )
    assert r.status_code == 200 and r.json()["result"]["days"] == 20
    # The administrator neither reads nor sets them; the preview is a tenant setting's read.
    assert client.get("/api/v6/retentionPolicies.json", headers=tenant.h()).status_code == 403
    r = client.post("/api/v6/retentionPolicies.json", json={"name": "jobs", "days": 30}, headers=tenant.h())
    assert r.status_code == 403
    preview = client.get("/api/v6/retentionPolicies/preview.json", headers=tenant.h()).json()["result"][
        "data"
    ]
    assert [p["policy"] for p in preview] == ["recordings", "activitiesEmail", "auditLog"]
    assert preview[1]["days"] == 20 and preview[1]["action"] == "delete" and preview[1]["count"] == 0
    assert client.delete("/api/v6/retentionPolicies/activitiesEmail.json", headers=dpo).status_code == 204
    entries = client.get("/api/v6/auditLog.json", headers=dpo).json()["result"]["data"]
    assert {
        "privacy.retention_policy.create",
        "privacy.retention_policy.update",
        "privacy.retention_policy.delete",
    } <= {e["action"] for e in entries}


def test_the_audit_log_is_pruned_to_a_checkpoint_and_still_verifies(quiet: Any, app: Any) -> None:
    client, tenant, env = quiet
    h = tenant.h()
    key = app.state.audit_signer

    def verify() -> Any:
        with env.factory() as s:
            return verify_tenant(s, "acme", [key.public_key()])

    for i in range(6):
        r = client.post("/api/v6/contacts.json", json={"lastname": f"K {i}", "database": "main"}, headers=h)
        assert r.status_code == 201, r.text
    with unit_of_work(env.factory) as s:
        (cp,) = sign_checkpoints(s, key, "acme")
    for i in range(3):
        r = client.post("/api/v6/contacts.json", json={"lastname": f"L {i}", "database": "main"}, headers=h)
        assert r.status_code == 201, r.text
    head_before = verify().head_seq
    later = utcnow() + dt.timedelta(days=1)
    with env.factory() as s:
        count, _, _ = prune.preview(s, "acme", later)
    assert count == cp.seq

    # Killed in its second chunk: the marker is in the chain, the first chunk is gone, and the
    # half-pruned log verifies.
    class Killed(Exception):
        pass

    calls = []

    def die(_s: Any, _n: int) -> None:
        calls.append(_n)
        if len(calls) == 2:
            raise Killed

    with pytest.raises(Killed):
        prune.prune(env.factory, "acme", later, retention.ACTOR, key, chunk=3, after_chunk=die)
    with env.factory() as s:
        assert prune.first_seq(s, "acme") == 4 and cp.seq > 4
    report = verify()
    assert report.ok, report.as_dict()
    # Resumed: everything through the checkpoint is gone, nothing after it, and the chain verifies.
    assert prune.prune(env.factory, "acme", later, retention.ACTOR, key, chunk=3) == cp.seq - 3
    report = verify()
    assert report.ok and report.pruned_through == cp.seq, report.as_dict()
    assert report.entries == head_before - cp.seq + 1  # plus the prune's own entry
    assert prune.prune(env.factory, "acme", later, retention.ACTOR, key) == 0  # nothing more to prune

    # Removing one more entry from the start is not a prune: it is found.
    with unit_of_work(env.factory) as s:
        s.execute(text("DELETE FROM audit_entries WHERE tenant_id = 'acme' AND seq = :s"), {"s": cp.seq + 1})
    report = verify()
    assert not report.ok and report.first_broken.seq == cp.seq + 1


def test_a_forged_prune_does_not_hide_removed_entries(quiet: Any, app: Any) -> None:
    """Whoever can write the database can delete the oldest entries and append a well-hashed prune
    entry; without the signing key it does not verify."""
    from hovor.audit import log as audit

    client, tenant, env = quiet
    key = app.state.audit_signer
    for i in range(5):
        r = client.post(
            "/api/v6/contacts.json", json={"lastname": f"K {i}", "database": "main"}, headers=tenant.h()
        )
        assert r.status_code == 201
    with unit_of_work(env.factory) as s:
        sign_checkpoints(s, key, "acme")
        anchor = s.execute(
            text("SELECT hash FROM audit_entries WHERE tenant_id = 'acme' AND seq = 3")
        ).scalar_one()
        s.execute(text("DELETE FROM audit_entries WHERE tenant_id = 'acme' AND seq <= 3"))
    with unit_of_work(env.factory) as s:
        forged = {"first": 1, "through": 3, "anchor": anchor, "key_id": "x", "signature": "AAAA"}
        audit.record(s, "acme", prune.ACTION, retention.ACTOR, "auditLog", None, forged)
    with env.factory() as s:
        report = verify_tenant(s, "acme", [key.public_key()])
    assert not report.ok and report.first_broken.seq == 1 and report.pruned_through == 0


def test_records_still_in_use_are_kept(quiet: Any) -> None:
    """A ticket idle for long but closed lately, a campaign record the dialler will call again, a
    contact whose campaign record is alive: kept. A contact with nothing alive is anonymized as
    erasure does: its records without its name, then the contact gone."""
    client, tenant, env = quiet
    h = tenant.h()
    post = lambda path, body: data(client.post(f"/api/v6/{path}.json", json=body, headers=h))  # noqa: E731
    post("ticketsCategories", {"name": "rekl", "title": "Reklamace"})
    post("queues", {"name": "100", "title": "In", "type": "in"})
    campaign = post("campaignsTypes", {"title": "Nabídka"})["name"]
    now = utcnow()
    later = now + dt.timedelta(days=10)
    ticket = post("tickets", {"title": "Stará věc", "category": "rekl"})["name"]
    with unit_of_work(env.factory) as s:  # its last activity was 200 days ago
        s.execute(
            text("UPDATE tickets SET last_activity = :t, created = :t WHERE name = :n"),
            {"t": (now - dt.timedelta(days=200)).replace(tzinfo=None), "n": ticket},
        )
    assert client.put(f"/api/v6/tickets/{ticket}.json", json={"stage": "CLOSE"}, headers=h).status_code == 200
    alive = post("contacts", {"firstname": "Radomír", "lastname": "Šimůnek", "database": "main"})["name"]
    callback = post(
        "campaignsRecords",
        {
            "record_type": campaign,
            "contact": alive,
            "number": "603111222",
            "nextcall": (later + dt.timedelta(days=30)).isoformat(),
        },
    )["name"]
    gone = post("contacts", {"firstname": "Vlasta", "lastname": "Burianová", "database": "main"})["name"]
    call = post(
        "activitiesCall",
        {
            "queue": "100",
            "direction": "in",
            "clid": "+420 777 123 123",
            "contact": gone,
            "title": "Hovor Burianová",
            "time": (now - dt.timedelta(days=100)).isoformat(),
        },
    )["name"]
    for name, days, action in (
        ("tickets", 30, "delete"),  # closed 10 days before the sweep, last active 210 days before
        ("campaignsRecords", 5, "anonymize"),
        ("contacts", 5, "anonymize"),
    ):
        assert _policy(client, tenant, name, days, action).status_code == 201
    # Everything but the call was made or changed today: the sweep runs 10 days on.
    swept = _sweep(env, later)
    assert swept == {"tickets": 0, "campaignsRecords": 0, "contacts": 1}
    get = lambda path: client.get(f"/api/v6/{path}.json", headers=h)  # noqa: E731
    assert get(f"tickets/{ticket}").status_code == 200
    assert get(f"campaignsRecords/{callback}").json()["result"]["anonymized"] is False
    assert get(f"contacts/{alive}").status_code == 200
    assert get(f"contacts/{gone}").status_code == 404
    anonymized = get(f"activitiesCall/{call}").json()["result"]
    assert anonymized["anonymized"] is True and not anonymized["clid"]
    assert anonymized["title"] == "Hovor [name]"


def test_the_pauses_operators_took_are_kept_no_longer_than_their_policy(quiet: Any) -> None:
    """Operators are data subjects: how long each of their pauses lasted goes after its days."""
    client, tenant, env = quiet
    admin, pbx = tenant.h(), tenant.h("integration")
    client.post("/api/v6/pauses.json", json={"name": "lunch", "title": "Oběd"}, headers=admin)
    url = "/api/v6/realtimeSessions/acme-operator.json"
    client.post("/api/v6/realtimeSessions.json", json={"id_agent": "acme-operator"}, headers=pbx)
    for _ in range(3):
        assert client.put(url, json={"state": "Paused", "id_pause": "lunch"}, headers=pbx).status_code == 200
        assert client.put(url, json={"state": "Idle"}, headers=pbx).status_code == 200
    assert _policy(client, tenant, "pausesTaken", 30).status_code == 201
    assert _sweep(env, utcnow() + dt.timedelta(days=10))["pausesTaken"] == 0  # not yet 30 days old
    swept = _sweep(env, utcnow() + dt.timedelta(days=31))
    assert swept["pausesTaken"] == 3
    assert data(client.get("/api/v6/pausesTaken.json", headers=admin))["total"] == 0
    with env.factory() as s:
        stones = s.execute(text("SELECT count(*) FROM tombstones WHERE record_type = 'pausesTaken'")).scalar()
    assert stones == 3
    # The operator still signed in is not history: the session stays.
    assert client.get(url, headers=admin).status_code == 200


def test_the_dpos_register_keeps_the_proof_and_loses_the_person(quiet: Any, app: Any) -> None:
    """A closed subject request past its policy keeps what was done and loses who asked (their
    identifiers become the audit log's pseudonyms); an export past its policy goes with its key."""
    client, tenant, env = quiet
    dpo = tenant.h("dpo")
    contact = data(
        client.post("/api/v6/contacts.json", json={"lastname": LAST, "database": "main"}, headers=tenant.h())
    )
    body = {"kind": "access", "received_via": "email", "contact": contact["name"], "email": EMAIL}
    request = data(
        client.post("/api/v6/subjectRequests.json", json={**body, "answer_to": EMAIL}, headers=dpo)
    )
    url = f"/api/v6/subjectRequests/{request['name']}"
    data(client.post(f"{url}/verify.json", json={"method": "id_document"}, headers=dpo))
    data(client.post(f"{url}/answer.json", json={"outcome": f"Poslán export paní {LAST}"}, headers=dpo))
    still_open = data(client.post("/api/v6/subjectRequests.json", json=body, headers=dpo))
    export = data(client.post("/api/v6/subjectExports.json", json={"contact": contact["name"]}, headers=dpo))
    for kind in ("subjectRequests", "subjectExports"):
        assert _policy(client, tenant, kind, 30).status_code == 201
    now = utcnow() + AGE
    with env.factory() as s:
        todo = {p.name: p for p in policies.effective(s, "acme", env.settings, now)}
    for kind in ("subjectRequests", "subjectExports"):
        assert (
            policies.sweep_kind(
                env.factory, env.files, "acme", todo[kind], now=now, pseudonyms=app.state.pseudonyms
            )
            == 1
        )

    kept = data(client.get(f"{url}.json", headers=dpo))
    assert kept["identifiers"] == {"email": app.state.pseudonyms("acme", EMAIL)}
    assert kept["contact"] is None and kept["answer_to"] is None and LAST not in json.dumps(kept)
    assert (kept["kind"], kept["state"], kept["verification"], kept["verified_by"]) == (
        "access",
        "answered",
        "id_document",
        "acme-dpo",
    )
    untouched = data(client.get(f"/api/v6/subjectRequests/{still_open['name']}.json", headers=dpo))
    assert untouched["identifiers"] == {"email": EMAIL}  # an open request keeps who to answer
    assert client.get(f"/api/v6/subjectExports/{export['name']}.json", headers=dpo).status_code == 404
    # A second sweep finds nothing more to take.
    assert (
        policies.sweep_kind(
            env.factory, env.files, "acme", todo["subjectRequests"], now=now, pseudonyms=app.state.pseudonyms
        )
        == 0
    )
