"""The DPO's pages over HTTP: the Delete buttons on one recording and one conversation (a
confirmation naming what goes, the API's own delete, a legal hold's refusal with its reason and
audit entry), legal holds, and the operator's 403 page for all of them."""

from __future__ import annotations

import re
from typing import Any

import pyotp
from sqlalchemy import update

from conftest import TenantFixture, data
from hovor.activities.audio import synth_wav
from hovor.audit.models import AuditEntry
from hovor.privacy.models import SubjectExport
from test_console_admin import _csrf


def _signed_in(client: Any, app: Any, user: str) -> str:
    """Signed in with password and, for a role that requires one, the second factor's code."""
    from hovor.auth import totp
    from hovor.auth.models import User
    from hovor.core.db import unit_of_work

    secret = pyotp.random_base32()
    with unit_of_work(app.state.session_factory) as s:
        account = s.get(User, ("acme", user))
        account.totp_secret = totp.Sealer(app.state.settings.secret_key).seal(
            secret, totp.owner_of("acme", user)
        )
    client.headers["Accept-Language"] = "en"
    form = {"username": user, "password": "correct horse 1", "totp": pyotp.TOTP(secret).now()}
    r = client.post("/login", data={**form, "csrf": _csrf(client.get("/login").text)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/", r.text[:300]
    return _csrf(client.get("/activities/none").text)


def _post(client: Any, h: dict[str, str], path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = client.post(f"/api/v6/{path}.json", json=body, headers=h)
    assert r.status_code == 201, r.text
    return dict(data(r))


def _call_with_recording(client: Any, h: dict[str, str]) -> str:
    _post(client, h, "queues", {"name": "100", "title": "Linka", "type": "in"})
    contact = _post(client, h, "contacts", {"lastname": "Malá", "database": "main"})["name"]
    call = _post(client, h, "activitiesCall", {"queue": "100", "direction": "in", "contact": contact})["name"]
    r = client.post(
        f"/api/v6/activitiesCall/{call}/recording.json",
        content=synth_wav(0.2),
        headers={**h, "content-type": "audio/wav"},
    )
    assert r.status_code == 201, r.text
    segment = {"activity": call, "start": 0, "end": 1, "speaker": "customer", "text": "Dobrý den"}
    _post(client, h, "activitiesCallTranscripts", segment)
    return str(call)


def _actions(app: Any, action: str) -> list[AuditEntry]:
    with app.state.session_factory() as s:
        return list(s.query(AuditEntry).filter_by(action=action))


def test_the_dpo_deletes_a_recording_refused_under_a_hold_then_gone(
    client: Any, tenant: TenantFixture, app: Any
) -> None:
    h = tenant.h("admin")
    call = _call_with_recording(client, h)
    hold = _post(
        client,
        tenant.h("dpo"),
        "legalHolds",
        {"object_type": "queues", "object_key": "100", "reason": "Spor"},
    )["name"]
    csrf = _signed_in(client, app, "acme-dpo")
    page = client.get(f"/activities/{call}")
    assert f'href="/dpo/recordings/{call}/delete"' in page.text
    assert "/dpo/conversations/" not in page.text  # a call's content is its recording
    confirm = client.get(f"/dpo/recordings/{call}/delete")
    assert confirm.status_code == 200 and "1 segment of its transcript" in confirm.text
    assert client.get(f"/dpo/conversations/{call}/delete").status_code == 404

    r = client.post(f"/dpo/recordings/{call}/delete", data={"csrf": csrf})
    assert r.status_code == 400
    r = client.post(f"/dpo/recordings/{call}/delete", data={"csrf": csrf, "confirm": "yes"})
    assert r.status_code == 409 and 'id="refusal"' in r.text
    assert hold in r.text and "Release the hold first" in r.text
    assert data(client.get(f"/api/v6/activitiesCall/{call}.json", headers=h))["recording"] is not None
    assert [e.details for e in _actions(app, "privacy.hold.blocked")][-1]["hold"] == hold

    assert client.delete(f"/api/v6/legalHolds/{hold}.json", headers=tenant.h("dpo")).status_code == 204
    r = client.post(
        f"/dpo/recordings/{call}/delete", data={"csrf": csrf, "confirm": "yes"}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == f"/activities/{call}?deleted=1"
    assert data(client.get(f"/api/v6/activitiesCall/{call}.json", headers=h))["recording"] is None
    entry = _actions(app, "privacy.recording.delete")[-1]
    assert entry.actor == "acme-dpo" and entry.object_key == call
    # Nothing left to delete: the API's message.
    r = client.post(f"/dpo/recordings/{call}/delete", data={"csrf": csrf, "confirm": "yes"})
    assert r.status_code == 409 and "has no recording or transcript" in r.text


def test_the_dpo_deletes_an_emails_content_and_its_attachments(
    client: Any, tenant: TenantFixture, app: Any
) -> None:
    h = tenant.h("admin")
    _post(client, h, "queues", {"name": "300", "title": "Pošta", "type": "email"})
    body = {
        "queue": "300",
        "direction": "in",
        "address": "eva@example.cz",
        "title": "Reklamace",
        "text": "Ahoj",
    }
    email = _post(client, h, "activitiesEmail", body)["name"]
    r = client.post(
        f"/api/v6/activities/{email}/attachments.json",
        files={"file": ("smlouva.txt", b"Smlouva", "text/plain")},
        headers=h,
    )
    assert r.status_code == 201, r.text
    csrf = _signed_in(client, app, "acme-dpo")
    page = client.get(f"/activities/{email}")
    assert "smlouva.txt" in page.text and f'href="/dpo/conversations/{email}/delete"' in page.text
    confirm = client.get(f"/dpo/conversations/{email}/delete")
    assert confirm.status_code == 200 and "1 attachment" in confirm.text and "smlouva.txt" in confirm.text
    assert client.get(f"/dpo/recordings/{email}/delete").status_code == 404
    r = client.post(
        f"/dpo/conversations/{email}/delete", data={"csrf": csrf, "confirm": "yes"}, follow_redirects=False
    )
    assert r.status_code == 303
    after = data(client.get(f"/api/v6/activitiesEmail/{email}.json", headers=h))
    assert after["anonymized"] is True and not after["text"] and not after["address"]
    params = {"filter[0][field]": "activity", "filter[0][operator]": "eq", "filter[0][value]": email}
    assert data(client.get("/api/v6/attachments.json", params=params, headers=h))["total"] == 0
    assert _actions(app, "privacy.communication.delete")[-1].object_key == email
    page = client.get(f"/activities/{email}")
    assert "Its content was deleted" in page.text and "/dpo/conversations/" not in page.text


def test_an_operator_gets_the_403_page_for_the_dpos_pages(
    client: Any, tenant: TenantFixture, app: Any
) -> None:
    call = _call_with_recording(client, tenant.h("admin"))
    csrf = _signed_in(client, app, "acme-operator")
    assert "/dpo/recordings/" not in client.get(f"/activities/{call}").text
    for path in (f"/dpo/recordings/{call}/delete", f"/dpo/conversations/{call}/delete"):
        assert client.get(path).status_code == 403
        r = client.post(path, data={"csrf": csrf, "confirm": "yes"})
        assert r.status_code == 403 and "What goes" not in r.text
    assert data(client.get(f"/api/v6/activitiesCall/{call}.json", headers=tenant.h("admin")))["recording"]
    assert client.get("/dpo/holds").status_code == 403
    r = client.post(
        "/dpo/holds", data={"csrf": csrf, "object_type": "queues", "object_key": "100", "reason": "x"}
    )
    assert r.status_code == 403
    assert data(client.get("/api/v6/legalHolds.json", headers=tenant.h("dpo")))["total"] == 0
    assert client.get("/dpo/requests").status_code == 403
    r = client.post(
        "/dpo/requests", data={"csrf": csrf, "kind": "access", "received_via": "email", "name": "X"}
    )
    assert r.status_code == 403 and "Register a request" not in r.text
    assert data(client.get("/api/v6/subjectRequests.json", headers=tenant.h("dpo")))["total"] == 0


def test_the_dpo_places_a_legal_hold_from_a_contacts_card_and_releases_it(
    client: Any, tenant: TenantFixture, app: Any
) -> None:
    dpo = tenant.h("dpo")
    contact = _post(client, tenant.h("admin"), "contacts", {"lastname": "Malá", "database": "main"})["name"]
    csrf = _signed_in(client, app, "acme-dpo")
    assert "No legal hold." in client.get("/dpo/holds").text
    card = client.get(f"/contacts/{contact}")
    link = f"/dpo/holds?object_type=contacts&amp;object_key={contact}"
    assert link in card.text
    page = client.get(link.replace("&amp;", "&"))
    assert f'value="{contact}"' in page.text and 'value="contacts" selected' in page.text

    form = {"csrf": csrf, "object_type": "contacts", "object_key": contact, "reason": ""}
    r = client.post("/dpo/holds", data=form)
    assert r.status_code == 400 and 'id="err-reason"' in r.text
    r = client.post("/dpo/holds", data={**form, "object_key": "nobody", "reason": "Spor"})
    assert r.status_code == 400 and "No such record, or your rights do not cover it." in r.text
    assert data(client.get("/api/v6/legalHolds.json", headers=dpo))["total"] == 0
    r = client.post(
        "/dpo/holds", data={**form, "reason": "Soudní spor", "until": "2030-06-30"}, follow_redirects=False
    )
    assert r.status_code == 303
    hold = data(client.get("/api/v6/legalHolds.json", headers=dpo))["data"][0]
    assert hold["object_key"] == contact and hold["created_by"] == "acme-dpo"
    assert hold["until"].startswith("2030-06-30")
    listed = client.get("/dpo/holds")
    assert "Soudní spor" in listed.text and f'href="/dpo/holds/{hold["name"]}/release"' in listed.text

    # The hold is in the way of the contact's Delete button, with the API's reason.
    r = client.post(f"/contacts/{contact}/delete", data={"csrf": csrf, "confirm": "yes"})
    assert r.status_code == 409 and hold["name"] in r.text

    assert client.get(f"/dpo/holds/{hold['name']}/release").status_code == 200
    r = client.post(f"/dpo/holds/{hold['name']}/release", data={"csrf": csrf})
    assert r.status_code == 400
    r = client.post(
        f"/dpo/holds/{hold['name']}/release", data={"csrf": csrf, "confirm": "yes"}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/dpo/holds?released=1"
    assert client.get(f"/api/v6/legalHolds/{hold['name']}.json", headers=dpo).status_code == 404
    assert _actions(app, "privacy.hold.delete")[-1].actor == "acme-dpo"
    assert client.get(f"/dpo/holds/{hold['name']}/release").status_code == 404


def test_unlinked_records_are_offered_on_the_preview_and_erased_with_the_contact(
    client: Any, tenant: TenantFixture, app: Any
) -> None:
    from hovor.jobs.models import Job

    h = tenant.h("admin")
    _post(
        client,
        h,
        "formFields",
        {"name": "phone", "title": "Telefon", "object_type": "contacts", "type": "phone"},
    )
    _post(client, h, "queues", {"name": "500", "title": "SMS", "type": "sms"})
    body = {"lastname": "Malá", "database": "main", "customFields": {"phone": ["603 111 222"]}}
    contact = _post(client, h, "contacts", body)["name"]
    # The same number wrote an SMS nobody linked to her.
    sms = _post(client, h, "activitiesSms", {"queue": "500", "sender": "603111222", "direction": "in"})[
        "name"
    ]
    csrf = _signed_in(client, app, "acme-dpo")
    found = client.post("/dpo/search", data={"csrf": csrf, "phone": "603 111 222"})
    assert f'href="/dpo/contacts/{contact}"' in found.text and "offered on its erasure preview" in found.text
    page = client.get(f"/dpo/contacts/{contact}")
    assert f'value="activitiesSms:{sms}"' in page.text and f'href="/activities/{sms}"' in page.text
    everything = client.get(f"/dpo/contacts/{contact}?include=all")
    assert 'id="include-all"' in everything.text and 'name="include_all" value="yes"' in everything.text
    assert f'value="activitiesSms:{sms}"' not in everything.text  # already in the plan

    # A record that is not hers to see (another key) is refused with the API's message.
    r = client.post(
        f"/dpo/contacts/{contact}/erase",
        data={"csrf": csrf, "confirm": "yes", "include": "activitiesSms:nothing"},
    )
    assert r.status_code == 400 and "No such record, or your rights do not cover it." in r.text
    r = client.post(
        f"/dpo/contacts/{contact}/erase",
        data={"csrf": csrf, "confirm": "yes", "include": f"activitiesSms:{sms}"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/dpo/jobs/")
    with app.state.session_factory() as s:
        job = s.get(Job, ("acme", r.headers["location"].rsplit("/", 1)[1]))
        assert job is not None and job.params["include"] == {"activities": [sms]}


def _job_done(client: Any, h: dict[str, str], job: str) -> str:
    import time

    deadline = time.monotonic() + 30
    while True:
        state = str(data(client.get(f"/api/v6/jobs/{job}.json", headers=h))["state"])
        if state in ("done", "failed") or time.monotonic() > deadline:
            return state
        time.sleep(0.05)


def test_the_register_of_subject_requests_with_an_export_and_the_consent_history(
    client: Any, tenant: TenantFixture, app: Any
) -> None:
    h, dpo = tenant.h("admin"), tenant.h("dpo")
    contact = _post(client, h, "contacts", {"lastname": "Malá", "database": "main"})["name"]
    given = {"contact": contact, "purpose": "marketing", "channel": "sms", "state": "given"}
    _post(client, h, "consentEvents", given)
    csrf = _signed_in(client, app, "acme-dpo")
    assert "No request." in client.get("/dpo/requests").text

    form = {"csrf": csrf, "kind": "access", "received_via": "email"}
    r = client.post("/dpo/requests", data=form)
    assert r.status_code == 400 and 'id="err-contact"' in r.text and "Say who asks" in r.text
    r = client.post("/dpo/requests", data={**form, "contact": contact}, follow_redirects=False)
    assert r.status_code == 303, r.text
    name = r.headers["location"].split("/")[3].split("?")[0]
    made = data(client.get(f"/api/v6/subjectRequests/{name}.json", headers=dpo))
    assert made["contact"] == contact and made["created_by"] == "acme-dpo"
    register = client.get("/dpo/requests")
    assert f'href="/dpo/requests/{name}"' in register.text and "Access (Art. 15)" in register.text
    assert "No request." in client.get("/dpo/requests?shown=closed").text

    page = client.get(f"/dpo/requests/{name}")
    assert page.status_code == 200 and 'id="due"' in page.text and "No export for this request." in page.text
    # The API's order of things: the identity is verified before anything is done.
    r = client.post(f"/dpo/requests/{name}/export", data={"csrf": csrf})
    assert r.status_code == 409 and "identity before anything is done" in r.text
    # The steps are the API's: an extension needs its reason; the identity is verified.
    r = client.post(f"/dpo/requests/{name}/extend", data={"csrf": csrf, "months": "1", "reason": ""})
    assert r.status_code == 400 and 'id="refusal"' in r.text
    told = re.search(r'name="told" step="1" value="([^"]+)"', page.text)
    assert told is not None  # now, in the tenant's zone, as the form offers it
    extend = {"csrf": csrf, "months": "2", "reason": "Rozsah", "told": told.group(1)}
    r = client.post(f"/dpo/requests/{name}/extend", data=extend)
    assert r.status_code == 200 and "Rozsah" in r.text, re.findall(r"id=\"refusal\">[^<]*", r.text)
    r = client.post(f"/dpo/requests/{name}/verify", data={"csrf": csrf, "method": "id_document"})
    assert r.status_code == 200
    after = data(client.get(f"/api/v6/subjectRequests/{name}.json", headers=dpo))
    assert after["state"] == "verified" and after["verification"] == "id_document"
    assert after["due"] > after["first_due"]
    r = client.post(f"/dpo/requests/{name}/export", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    export = data(client.get("/api/v6/subjectExports.json", headers=dpo))["data"][0]
    assert export["request"] == name
    assert _job_done(client, dpo, export["job"]) == "done"
    page = client.get(f"/dpo/requests/{name}")
    assert f'href="/file/exports/{export["name"]}"' in page.text
    assert 'id="exports-section"' in page.text and f"/dpo/requests/{name}/exports" not in page.text
    # While an export is being built, its section asks for itself again by itself.
    with app.state.session_factory() as s, s.begin():
        s.execute(update(SubjectExport).where(SubjectExport.name == export["name"]).values(state="building"))
    part = client.get(f"/dpo/requests/{name}/exports")
    assert part.status_code == 200 and "<html" not in part.text
    assert f'hx-get="/dpo/requests/{name}/exports"' in part.text and "being built" in part.text
    with app.state.session_factory() as s, s.begin():
        s.execute(update(SubjectExport).where(SubjectExport.name == export["name"]).values(state="ready"))
    part = client.get(f"/dpo/requests/{name}/exports")
    assert "hx-get" not in part.text and f'href="/file/exports/{export["name"]}"' in part.text
    package = client.get(f"/file/exports/{export['name']}")
    assert package.status_code == 200 and package.content[:2] == b"PK"
    assert _actions(app, "privacy.export.download")[-1].actor == "acme-dpo"

    r = client.post(f"/dpo/requests/{name}/answer", data={"csrf": csrf, "outcome": "Odesláno"})
    assert r.status_code == 200
    assert data(client.get(f"/api/v6/subjectRequests/{name}.json", headers=dpo))["state"] == "answered"
    r = client.post(f"/dpo/requests/{name}/refuse", data={"csrf": csrf, "outcome": "Pozdě"})
    assert r.status_code == 409 and 'id="refusal"' in r.text  # closed already: the API's message

    history = client.get(f"/contacts/{contact}/consents")
    assert history.status_code == 200 and "marketing" in history.text and "given" in history.text
    assert f'href="/contacts/{contact}/consents"' in page.text
    assert client.get("/contacts/nobody/consents").status_code == 404
