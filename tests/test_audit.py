"""The audit log: every change has its entry in the same transaction, the chain is linear under
concurrent writers, tampering of every kind is caught, and no entry holds personal data."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update

from conftest import TenantFixture, data
from hovor.activities.audio import synth_wav
from hovor.api.refusals import Bound
from hovor.api.resource import REGISTRY
from hovor.audit import log as audit
from hovor.audit.actions import ACTIONS
from hovor.audit.chain import Checkpoint, entry_content, export_checkpoints, sign_checkpoints, verify_tenant
from hovor.audit.log import GENESIS, chain_hash, content_of
from hovor.audit.models import AuditCheckpoint, AuditEntry
from hovor.auth.service import system_caller
from hovor.core.db import unit_of_work
from hovor.crm import schemas as crm
from hovor.crm import service as crm_service
from hovor.crm.models import Contact
from test_cli import app_for
from test_cli import env as env  # the fixture
from test_cli import hovor_here as hovor

SYSTEM = audit.Actor.system("test")


def entries(session_factory: Any, tenant: str = "acme") -> list[AuditEntry]:
    with session_factory() as s:
        stmt = select(AuditEntry).where(AuditEntry.tenant_id == tenant).order_by(AuditEntry.name)
        return list(s.scalars(stmt))


def verify(app: Any, tenant: str = "acme", exported: list[Checkpoint] | None = None) -> Any:
    with app.state.session_factory() as s:
        return verify_tenant(s, tenant, [app.state.audit_signer.public_key()], exported or [])


def export(app: Any, tenant: str = "acme") -> list[Checkpoint]:
    with unit_of_work(app.state.session_factory) as s:
        sign_checkpoints(s, app.state.audit_signer, tenant)
        return [Checkpoint(**cp) for cp in export_checkpoints(s, app.state.audit_signer.public_key(), tenant)]


def test_every_change_of_a_contact_is_recorded_with_field_names(
    client: Any, tenant: TenantFixture, session_factory: Any
) -> None:
    before = len(entries(session_factory))
    r = client.post(
        "/api/v6/contacts.json", json={"lastname": "Nováková", "database": "main"}, headers=tenant.h()
    )
    name = data(r)["name"]
    r = client.put(f"/api/v6/contacts/{name}.json", json={"firstname": "Jana"}, headers=tenant.h())
    assert r.status_code == 200, r.text
    client.delete(f"/api/v6/contacts/{name}.json", headers=tenant.h())
    new = entries(session_factory)[before:]
    assert [e.action for e in new] == ["crm.contact.create", "crm.contact.update", "crm.contact.delete"]
    assert all(e.object_type == "contacts" and e.object_key == name for e in new)
    assert all(e.actor == "acme-admin" and e.actor_type == "token" for e in new)
    assert new[0].details == {"fields": ["database", "lastname"]}
    assert new[1].details == {"fields": ["firstname", "title"]}  # the title is the display name
    assert all(e.ip and e.request_id for e in new)
    assert verify(client.app).ok


def test_a_refused_change_leaves_no_entry(client: Any, tenant: TenantFixture, session_factory: Any) -> None:
    before = len(entries(session_factory))
    r = client.post("/api/v6/contacts.json", json={"lastname": "X", "database": "nope"}, headers=tenant.h())
    assert r.status_code == 400
    assert client.put("/api/v6/contacts/none.json", json={}, headers=tenant.h()).status_code == 404
    assert len(entries(session_factory)) == before


def test_a_change_without_its_entry_cannot_commit(
    client: Any, tenant: TenantFixture, session_factory: Any
) -> None:
    with session_factory() as s:
        audit.require(s)
        caller = system_caller(s, "acme")
        crm_service.create_contact(s, caller, crm.ContactCreate(lastname="Tichý", database="main"))
        with pytest.raises(audit.AuditMissing):
            s.commit()
        s.rollback()
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Contact).where(Contact.lastname == "Tichý")) == 0


def test_role_change_login_and_token_events(client: Any, tenant: TenantFixture, session_factory: Any) -> None:
    client.put("/api/v6/users/acme-operator.json", json={"role": "supervisor"}, headers=tenant.h())
    ok = client.post("/api/v6/login.json", json={"username": "acme-dpo", "password": "correct horse 1"})
    token = data(ok)["accessToken"]
    client.post("/api/v6/logout.json", headers={"X-AUTH-TOKEN": token})
    bad = client.post("/api/v6/login.json", json={"username": "acme-dpo", "password": "wrong horse"})
    assert bad.status_code == 401
    by_action = {e.action: e for e in entries(session_factory)}
    assert by_action["auth.role.change"].details == {"from": "operator", "to": "supervisor"}
    assert by_action["auth.user.update"].details == {"fields": ["role"]}
    assert by_action["auth.login.success"].actor == "acme-dpo"
    assert by_action["auth.logout"].object_key == "acme-dpo"
    assert by_action["auth.login.fail"].details == {"reason": "password"}


def test_unknown_login_lands_on_the_platform_chain_as_a_pseudonym(
    client: Any, tenant: TenantFixture, session_factory: Any
) -> None:
    attempted = "jana.novakova@example.cz"
    assert (
        client.post("/api/v6/login.json", json={"username": attempted, "password": "x" * 12}).status_code
        == 401
    )
    client.post("/api/v6/login.json", json={"username": attempted.upper(), "password": "y" * 12})
    fails = [e for e in entries(session_factory, audit.PLATFORM) if e.action == "auth.login.fail"]
    assert len(fails) == 2
    # The same name gives the same pseudonym (attempts can be linked), never the name itself.
    assert fails[0].details == fails[1].details
    assert fails[0].details["login"].startswith("ps_")
    assert attempted not in json.dumps(fails[0].details)


def test_no_personal_data_in_any_entry(client: Any, tenant: TenantFixture, session_factory: Any) -> None:
    name, phone, email = ("Květoslava", "Zelinková"), "+420 777 123 456", "kvetoslava.zelinkova@example.cz"
    client.post(
        "/api/v6/formFields.json",
        json={"name": "phone", "title": "Phone", "object_type": "contacts", "type": "phone"},
        headers=tenant.h(),
    )
    client.post(
        "/api/v6/formFields.json",
        json={"name": "email", "title": "E-mail", "object_type": "contacts", "type": "email"},
        headers=tenant.h(),
    )
    r = client.post(
        "/api/v6/contacts.json",
        json={
            "firstname": name[0],
            "lastname": name[1],
            "database": "main",
            "customFields": {"phone": [phone], "email": [email]},
        },
        headers=tenant.h(),
    )
    assert r.status_code == 201, r.text
    key = data(r)["name"]
    r = client.put(
        f"/api/v6/contacts/{key}.json",
        json={"lastname": name[1] + "ová", "customFields": {"phone": ["+420777123457"], "email": [email]}},
        headers=tenant.h(),
    )
    assert r.status_code == 200, r.text
    client.post("/api/v6/login.json", json={"username": email, "password": "whatever-it-is"})
    assert client.delete(f"/api/v6/contacts/{key}.json", headers=tenant.h()).status_code == 204

    forbidden = [name[0], name[1], "777123456", "777 123 456", "777123457", email, email.split("@")[0]]
    with session_factory() as s:
        rows = s.scalars(select(AuditEntry)).all()
    assert len(rows) >= 5
    for row in rows:
        text = json.dumps([getattr(row, c.key) for c in AuditEntry.__mapper__.column_attrs], default=str)
        for value in forbidden:
            assert value.casefold() not in text.casefold(), (row.action, value)
    changed = [r for r in rows if r.action == "crm.contact.update"]
    assert changed[0].details == {"fields": ["customFields.phone", "lastname", "title"]}


def test_reading_a_recording_is_recorded_once_per_playback(
    client: Any, tenant: TenantFixture, session_factory: Any
) -> None:
    client.post("/api/v6/queues.json", json={"name": "100", "title": "L", "type": "in"}, headers=tenant.h())
    call = data(
        client.post(
            "/api/v6/activitiesCall.json", json={"queue": "100", "direction": "in"}, headers=tenant.h()
        )
    )["name"]
    wav = synth_wav(1.0)
    h = {**tenant.h(), "content-type": "audio/wav"}
    assert (
        client.post(f"/api/v6/activitiesCall/{call}/recording.json", content=wav, headers=h).status_code
        == 201
    )
    client.get(f"/file/recording/{call}", headers=tenant.h())
    client.get(f"/file/recording/{call}", headers={**tenant.h(), "Range": "bytes=100-"})  # the player seeks
    client.get(f"/file/recording/{call}", params={"download": "1"}, headers=tenant.h("supervisor"))
    # A read that never starts at the first byte is still a read: recorded once for its actor.
    client.get(f"/file/recording/{call}", headers={**tenant.h("dpo"), "Range": "bytes=1-"})
    client.get(f"/file/recording/{call}", headers={**tenant.h("dpo"), "Range": "bytes=2-"})
    reads = [
        (e.action, e.actor) for e in entries(session_factory) if e.action.startswith("activities.recording")
    ]
    assert reads == [
        ("activities.recording.create", "acme-admin"),
        ("activities.recording.play", "acme-admin"),
        ("activities.recording.download", "acme-supervisor"),
        ("activities.recording.play", "acme-dpo"),
    ]


def test_a_request_id_that_could_be_personal_data_is_replaced(
    client: Any, tenant: TenantFixture, session_factory: Any
) -> None:
    for given in ("jana.novakova@example.cz", "420601234567", "a b c d e f g h"):
        r = client.post(
            "/api/v6/contacts.json",
            json={"lastname": "R", "database": "main"},
            headers={**tenant.h(), "X-Request-Id": given},
        )
        assert r.headers["x-request-id"] != given
    r = client.get("/api/v6/whoim.json", headers={**tenant.h(), "X-Request-Id": "trace-4f2a9c"})
    assert r.headers["x-request-id"] == "trace-4f2a9c"
    ids = [e.request_id for e in entries(session_factory) if e.action == "crm.contact.create"]
    assert len(ids) == 3 and all(i and "@" not in i and not i.isdigit() for i in ids)


# --- tampering ---------------------------------------------------------------------------------
def _fill(app: Any, n: int = 30) -> None:
    with unit_of_work(app.state.session_factory) as s:
        for i in range(n):
            audit.record(s, "acme", "crm.contact.update", SYSTEM, "contacts", f"c{i}", {"fields": ["title"]})


def test_an_altered_entry_is_found(client: Any, tenant: TenantFixture, app: Any) -> None:
    _fill(app)
    assert verify(app).ok
    with unit_of_work(app.state.session_factory) as s:
        s.execute(
            update(AuditEntry)
            .where(AuditEntry.tenant_id == "acme", AuditEntry.name == 12)
            .values(details={"fields": ["lastname"]})
        )
    report = verify(app)
    assert not report.ok
    assert report.first_broken.seq == 12
    assert "altered" in report.first_broken.reason


def test_a_deleted_entry_is_found(client: Any, tenant: TenantFixture, app: Any) -> None:
    _fill(app)
    with unit_of_work(app.state.session_factory) as s:
        s.execute(delete(AuditEntry).where(AuditEntry.tenant_id == "acme", AuditEntry.name == 9))
    report = verify(app)
    assert report.first_broken.seq == 9
    assert "missing" in report.first_broken.reason


def test_a_truncated_tail_is_found_with_exported_checkpoints(
    client: Any, tenant: TenantFixture, app: Any
) -> None:
    _fill(app)
    exported = export(app)
    head = exported[-1].seq
    with unit_of_work(app.state.session_factory) as s:
        s.execute(delete(AuditEntry).where(AuditEntry.tenant_id == "acme", AuditEntry.name > head - 5))
        s.execute(delete(AuditCheckpoint).where(AuditCheckpoint.tenant_id == "acme"))
    # What is left is a valid chain on its own: only a checkpoint kept elsewhere can tell.
    assert verify(app).ok
    report = verify(app, exported=exported)
    assert not report.ok
    assert report.first_broken.seq == head - 4
    assert "removed" in report.first_broken.reason


def test_a_stored_checkpoint_alone_finds_a_truncated_tail(
    client: Any, tenant: TenantFixture, app: Any
) -> None:
    _fill(app)
    head = export(app)[-1].seq
    with unit_of_work(app.state.session_factory) as s:
        s.execute(delete(AuditEntry).where(AuditEntry.tenant_id == "acme", AuditEntry.name == head))
    assert verify(app).first_broken.seq == head


def test_a_chain_rewritten_with_fresh_hashes_is_found_with_exported_checkpoints(
    client: Any, tenant: TenantFixture, app: Any
) -> None:
    _fill(app)
    exported = export(app)
    rows = entries(app.state.session_factory)
    prev = GENESIS
    with unit_of_work(app.state.session_factory) as s:
        s.execute(delete(AuditCheckpoint).where(AuditCheckpoint.tenant_id == "acme"))
        for e in rows:
            details = {"fields": ["nothing happened"]} if e.name == 5 else e.details
            content = content_of(
                e.tenant_id,
                e.name,
                e.at,
                e.actor_type,
                e.actor,
                e.ip,
                e.action,
                e.object_type,
                e.object_key,
                e.request_id,
                details,
            )
            digest = chain_hash(prev, content)
            s.execute(
                update(AuditEntry)
                .where(AuditEntry.tenant_id == "acme", AuditEntry.name == e.name)
                .values(details=details, prev_hash=prev, hash=digest)
            )
            prev = digest
    assert verify(app).ok  # internally consistent...
    report = verify(app, exported=exported)  # ...but not what was signed
    assert not report.ok
    assert "rewritten" in report.first_broken.reason


def test_a_forged_checkpoint_is_refused(client: Any, tenant: TenantFixture, app: Any) -> None:
    _fill(app, 3)
    cp = export(app)[-1]
    forged = Checkpoint(cp.tenant, cp.seq, "f" * 64, cp.at, cp.key_id, cp.signature, cp.public_key)
    report = verify(app, exported=[forged])
    assert "signature" in report.first_broken.reason


def test_entries_are_hashed_as_verification_recomputes_them(
    client: Any, tenant: TenantFixture, app: Any
) -> None:
    # The writer hashes pieces of the canonical JSON built before the chain's lock; verification
    # rebuilds it whole. Values that JSON escapes or sorts must give the same bytes both ways.
    actors = [
        audit.Actor("user", 'ž"o\\\\é', None, None),
        audit.Actor("token", "api", "2001:db8::1", "req-ŘŠ_1"),
        audit.Actor.system("test"),
    ]
    details: list[dict[str, Any] | None] = [
        None,
        {"fields": ["příjmení", 'a"b', "\\"], "n": 3, "ok": True, "none": None},
        {"z": {"b": [1, {"y": "x", "a": ""}], "a": "ň"}, "A": 0, "\u00e9": "\u2028"},
    ]
    with unit_of_work(app.state.session_factory) as s:
        for i, (actor, detail) in enumerate(zip(actors * 2, details * 2, strict=True)):
            key = 'k"\\ž' if i % 2 else None
            audit.record(s, "acme", "crm.contact.update", actor, "contacts" if key else None, key, detail)
            audit.record(s, audit.PLATFORM, "auth.login.fail", actor, None, None, detail)
    for chain in ("acme", audit.PLATFORM):
        rows = entries(app.state.session_factory, chain)
        assert len(rows) >= 6
        for before, entry in zip([None, *rows], rows, strict=False):
            prev = before.hash if before else GENESIS
            assert entry.prev_hash == prev
            assert entry.hash == chain_hash(prev, entry_content(entry))
        assert verify(app, chain).ok


# --- concurrency -------------------------------------------------------------------------------
def test_eight_concurrent_writers_keep_one_linear_chain(client: Any, tenant: TenantFixture, app: Any) -> None:
    factory = app.state.session_factory
    start = len(entries(factory))
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(200):
                with unit_of_work(factory) as s:
                    audit.require(s)
                    caller = system_caller(s, "acme")
                    contact = crm_service.create_contact(
                        s, caller, crm.ContactCreate(lastname=f"W{n}-{i}", database="main")
                    )
                    audit.record(s, "acme", "crm.contact.create", SYSTEM, "contacts", contact.name)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    rows = entries(factory)
    assert len(rows) - start == 1600
    assert [e.name for e in rows] == list(range(1, len(rows) + 1))
    report = verify(app)
    assert report.ok, report.as_dict()


# --- the API and the command line -------------------------------------------------------------
def test_audit_log_api_lists_filters_and_verifies(client: Any, tenant: TenantFixture) -> None:
    client.post("/api/v6/contacts.json", json={"lastname": "A", "database": "main"}, headers=tenant.h())
    for role in ("admin", "dpo", "auditor"):
        r = client.get(
            "/api/v6/auditLog.json",
            params={
                "filter[field]": "action",
                "filter[operator]": "eq",
                "filter[value]": "crm.contact.create",
            },
            headers=tenant.h(role),
        )
        assert r.status_code == 200, r.text
        assert data(r)["total"] == 1
        assert data(r)["data"][0]["object_type"] == "contacts"
    for role in ("operator", "supervisor", "integration"):
        assert client.get("/api/v6/auditLog.json", headers=tenant.h(role)).status_code == 403
    newest = data(client.get("/api/v6/auditLog.json", params={"take": 1}, headers=tenant.h("auditor")))
    assert newest["data"][0]["name"] == newest["total"]
    r = client.get("/api/v6/auditLog/verify.json", headers=tenant.h("auditor"))
    assert r.status_code == 200
    assert data(r)["ok"] is True and data(r)["entries"] == newest["total"]


def test_the_vocabulary_covers_every_resource() -> None:
    for resource in REGISTRY.values():
        for verb, fn in (
            ("create", resource.create),
            ("update", resource.update),
            ("delete", resource.delete),
        ):
            if fn is not None:
                assert f"{resource.audit}.{verb}" in ACTIONS, resource.endpoint


def test_cli_checkpoint_export_verify(env: dict[str, str], tmp_path: Path) -> None:
    assert hovor(env, "tenant", "create", "kc-ostrava", "--title", "KC").returncode == 0
    r = hovor(
        env,
        "user",
        "create",
        "--tenant",
        "kc-ostrava",
        "--name",
        "kc-admin",
        "--title",
        "A",
        "--role",
        "admin",
    )
    assert r.returncode == 0, r.stderr
    r = hovor(env, "audit", "checkpoint")
    assert r.returncode == 0 and "1 checkpoint(s) signed" in r.stdout, r.stdout + r.stderr
    kept = tmp_path / "checkpoints.jsonl"
    assert hovor(env, "audit", "checkpoints", "export", "--out", str(kept)).returncode == 0
    [cp] = [json.loads(line) for line in kept.read_text().splitlines()]
    assert cp["tenant"] == "kc-ostrava" and cp["seq"] == 2 and cp["public_key"]

    log = tmp_path / "log.jsonl"
    r = hovor(env, "audit", "export", "--out", str(log))
    assert r.returncode == 0, r.stderr
    actions = [json.loads(line)["action"] for line in log.read_text().splitlines()]
    assert actions == ["tenancy.tenant.create", "auth.user.create"]
    assert hovor(env, "audit", "export", "--out", "-").stdout.count("\n") == 3  # the export is on record

    r = hovor(env, "audit", "verify", "--checkpoints", str(kept), "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads(r.stdout)[0]["ok"] is True

    # Someone removes the newest entries and the stored checkpoint: the kept checkpoint tells.
    app = app_for(env)
    with unit_of_work(app.state.session_factory) as s:
        s.execute(delete(AuditEntry).where(AuditEntry.name >= 2))  # the tail: user creation, export
        s.execute(delete(AuditCheckpoint))
    assert hovor(env, "audit", "verify").returncode == 0
    r = hovor(env, "audit", "verify", "--checkpoints", str(kept))
    assert r.returncode == 1
    assert "broken at 2" in r.stdout


def test_a_batch_of_calls_is_all_or_nothing_with_an_entry_per_call(
    client: Any, tenant: TenantFixture, session_factory: Any
) -> None:
    client.post("/api/v6/queues.json", json={"name": "100", "title": "L", "type": "in"}, headers=tenant.h())
    calls = [
        {"queue": "100", "direction": "in", "clid": f"+420 601 000 00{i}", "duration": i} for i in range(3)
    ]
    before = len(entries(session_factory))
    r = client.post(
        "/api/v6/activitiesCall/batch.json", json={"data": calls}, headers=tenant.h("integration")
    )
    assert r.status_code == 201, r.text
    keys = [row["name"] for row in data(r)["data"]]
    assert len(keys) == 3
    r = client.get(f"/api/v6/activitiesCall/{keys[2]}.json", headers=tenant.h())
    assert data(r)["clid"] == "+420601000002"
    new = entries(session_factory)[before:]
    assert [(e.action, e.object_key) for e in new] == [("activities.activity.create", k) for k in keys]

    bad = [*calls, {"queue": "100", "direction": "in", "clid": "not a number"}, calls[0]]
    r = client.post("/api/v6/activitiesCall/batch.json", json={"data": bad}, headers=tenant.h("integration"))
    assert r.status_code == 400
    assert list(r.json()["error"]["form"]) == ["data.3.clid"]
    wrong_queue = [{**calls[0], "queue": "nope"}]
    r = client.post(
        "/api/v6/activitiesCall/batch.json", json={"data": wrong_queue}, headers=tenant.h("integration")
    )
    assert r.status_code == 400 and "data.0.queue" in r.json()["error"]["form"]
    r = client.post(
        "/api/v6/activitiesCall/batch.json", json={"data": calls * 334}, headers=tenant.h("integration")
    )
    assert r.status_code == 400
    total = data(client.get("/api/v6/activitiesCall.json", headers=tenant.h()))["total"]
    assert total == 3
    assert len(entries(session_factory)) == before + 3


def test_refused_attempts_at_privileged_routes_are_recorded(
    client: Any, tenant: TenantFixture, session_factory: Any, app: Any
) -> None:
    """An operator trying the audit log, an erasure or a user change, and a tenant user trying a
    platform route, each leave an ``access.denied`` entry: actor, route, permission, nothing sent.
    An operator's refused click on an ordinary right leaves none."""
    app.state.refusal_bound = Bound()
    before = len(entries(session_factory))
    op = tenant.h("operator")
    attempts = [
        ("GET", "/api/v6/auditLog.json", None, "audit:log:read"),
        ("POST", "/api/v6/contacts/nobody/erasure.json", {}, "dpo:subjects:erase"),
        ("POST", "/api/v6/users.json", {"name": "x", "title": "Jana Nováková"}, "admin:users:create"),
        ("GET", "/api/v6/firewall/bans.json", None, "platform"),
    ]
    for method, path, body, _ in attempts:
        assert client.request(method, path, json=body, headers=op).status_code == 403, path
    assert client.delete("/api/v6/queues/100.json", headers=op).status_code == 403  # ordinary: not recorded
    new = entries(session_factory)[before:]
    assert [(e.action, e.actor, e.details["permission"]) for e in new] == [
        ("access.denied", "acme-operator", permission) for *_, permission in attempts
    ]
    assert [e.details["route"] for e in new][:2] == [
        "/api/v6/auditLog.json",
        "/api/v6/contacts/{name}/erasure.json",
    ]
    assert "Nováková" not in str([e.details for e in new])


def test_refusals_are_bounded_per_actor(
    client: Any, tenant: TenantFixture, session_factory: Any, app: Any
) -> None:
    app.state.refusal_bound = Bound()  # this test's own minute
    before = len(entries(session_factory))
    for _ in range(40):
        assert client.get("/api/v6/auditLog.json", headers=tenant.h("operator")).status_code == 403
    assert len(entries(session_factory)) - before == 20


def test_a_change_a_legal_hold_keeps_is_recorded(
    client: Any, tenant: TenantFixture, session_factory: Any
) -> None:
    h = tenant.h()
    contact = data(
        client.post("/api/v6/contacts.json", json={"lastname": "Vrba", "database": "main"}, headers=h)
    )["name"]
    hold = data(
        client.post(
            "/api/v6/legalHolds.json",
            json={"object_type": "contacts", "object_key": contact, "reason": "court case 12"},
            headers=tenant.h("dpo"),
        )
    )["name"]
    before = len(entries(session_factory))
    assert client.delete(f"/api/v6/contacts/{contact}.json", headers=h).status_code == 409
    new = entries(session_factory)[before:]
    assert [(e.action, e.details["hold"], e.details["route"]) for e in new] == [
        ("privacy.hold.blocked", hold, "/api/v6/contacts/{name}.json")
    ]
