"""Every route x every built-in role x own and foreign tenant, against the permission each route
declares. A foreign tenant's record is a 404 for a role that could otherwise act on it, and a 403
(which says nothing about the record) for a role that could not."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import delete

from conftest import ROLES, TenantFixture, make_tenant
from hovor.activities.audio import synth_wav
from hovor.activities.models import PauseTaken
from hovor.api.resource import REGISTRY
from hovor.audit import log as audit
from hovor.auth.service import system_caller
from hovor.core.db import unit_of_work, utcnow
from hovor.core.permissions import BUILTIN_ROLES
from hovor.edge.models import FirewallRule
from hovor.jobs import service as jobs
from hovor.privacy import policies
from hovor.privacy.models import LegalHold, RetentionPolicy, SubjectExport

counter = itertools.count()
WAV = synth_wav(0.5)
EML = (
    b"From: Jana <jana@example.cz>\r\nTo: podpora@demo.example\r\nSubject: Dotaz\r\n"
    b"Message-ID: <m1@example.cz>\r\nDate: Mon, 02 Nov 2026 10:00:00 +0100\r\n\r\nDobry den\r\n"
)


def _fresh(app: Any, tenant: str, kind: str) -> str:
    """Creates a new record of ``kind`` in ``tenant`` through the services; returns its key."""
    from hovor.activities import content as held
    from hovor.activities import presence
    from hovor.activities import schemas as act
    from hovor.activities import service as acts
    from hovor.auth import schemas as auth
    from hovor.auth import users
    from hovor.campaigns import dialling
    from hovor.campaigns import schemas as camp
    from hovor.campaigns import service as camps
    from hovor.crm import schemas as crm
    from hovor.crm import service
    from hovor.forms import consent
    from hovor.helpdesk import schemas as desk
    from hovor.helpdesk import service as desks
    from hovor.privacy import requests as privacy_requests
    from hovor.privacy import schemas as privacy_schemas

    if kind == "auditLog":
        return _fresh_entry(app, tenant)
    n = next(counter)
    files = app.state.files
    with unit_of_work(app.state.session_factory) as s:
        c = system_caller(s, tenant)

        def call() -> Any:
            return acts.create_channel_item(s, c, "CALL", act.CallCreate(direction="in", clid="601000000"))

        def contact() -> Any:
            return service.create_contact(s, c, crm.ContactCreate(lastname="K", database="main"))

        def transcribed() -> Any:
            item = call()
            held.create_transcript(
                s,
                c,
                act.TranscriptCreate(activity=item.name, start=0, end=1, speaker="agent", text="dobrý den"),
            )
            return item

        def chat() -> Any:
            return acts.create_channel_item(s, c, "CHAT", act.WebCreate(title="Zákazník"))

        def recording() -> Any:
            item = call()
            blob = files.put(s, tenant, [WAV], "audio/wav")
            activity = s.get(acts.Activity, (tenant, item.name))
            return held.attach_recording(s, activity, blob, 0.5, files)

        def ticket() -> Any:
            return desks.create_ticket(s, c, desk.TicketCreate(title="Reklamace", category="general"))

        def attachment() -> Any:
            blob = files.put(s, tenant, [b"hello"], "text/plain")
            return held.add_attachment(s, c, blob, "a.txt", ticket=ticket().name)

        def record_type() -> Any:
            return camps.create_type(s, c, camp.RecordTypeCreate(title="Kampaň"))

        def subject_request(verified: bool = False, approved: bool = False, kind: Any = "erasure") -> Any:
            made = privacy_requests.register(
                s,
                c,
                privacy_schemas.RequestCreate(kind=kind, received_via="email", contact=contact().name),
            )
            if verified:
                made.verified_at, made.verification, made.state = utcnow(), "id_document", "verified"
            if approved:
                made.approved_at, made.approved_by = utcnow(), "someone-else"
            return made

        def subject_export() -> Any:
            # A package ready for download: a blob of its own, which a delete shreds.
            blob = files.put(s, tenant, [b"PK\x05\x06" + bytes(18)], "application/zip")
            made = SubjectExport(
                tenant_id=tenant,
                name=f"exports{n}",
                contact=contact().name,
                state="ready",
                blob=blob.name,
                size=blob.size,
                expires=utcnow() + dt.timedelta(days=1),
                downloads=0,
            )
            s.add(made)
            return made

        def operator() -> Any:
            return users.create_user(
                s, c, auth.UserCreate(name=f"{tenant}-op{n}", title="O", role="operator")
            )

        def signed_in() -> Any:
            return presence.sign_in(s, c, act.SessionCreate(id_agent=operator().name, exten="201"))

        def pause_taken() -> Any:
            return PauseTaken(
                tenant_id=tenant,
                name=f"pause{n}",
                user=operator().name,
                start=utcnow(),
                end=utcnow(),
                duration=0,
            )

        def crm_type() -> Any:
            return service.create_record_type(s, c, crm.CrmRecordTypeCreate(title="Obchod", database="main"))

        def catalogued(kind: str) -> Callable[[], Any]:
            resource = REGISTRY[kind]
            assert resource.create is not None and resource.create_schema is not None
            create, schema = resource.create, resource.create_schema
            return lambda: create(s, c, schema(**CATALOGUES[kind]))

        makers: dict[str, Callable[[], Any]] = {
            "users": lambda: users.create_user(
                s, c, auth.UserCreate(name=f"{tenant}-u{n}", title="U", role="operator")
            ),
            "roles": lambda: users.create_role(s, c, auth.RoleCreate(name=f"r{n}", title="R")),
            "profiles": lambda: users.create_profile(s, c, auth.ProfileCreate(name=f"p{n}", title="P")),
            "databases": lambda: service.create_database(s, c, crm.DatabaseCreate(name=f"d{n}", title="D")),
            "accounts": lambda: service.create_account(s, c, crm.AccountCreate(title="A", database="main")),
            "contacts": lambda: service.create_contact(
                s, c, crm.ContactCreate(lastname="K", database="main")
            ),
            "formFields": lambda: service.create_form_field(
                s, c, crm.FormFieldCreate(name=f"f{n}", title="F", object_type="contacts", type="text")
            ),
            "queues": lambda: acts.create_queue(s, c, act.QueueCreate(name=f"{n}", title="Q", type="in")),
            "activities": lambda: acts.create_comment(s, c, act.CommentCreate(description="poznámka")),
            "activitiesCall": call,
            "activitiesEmail": lambda: acts.create_channel_item(
                s, c, "EMAIL", act.EmailCreate(direction="in", address="a@example.cz")
            ),
            "activitiesWeb": chat,
            "activitiesSms": lambda: acts.create_channel_item(
                s, c, "SMS", act.SmsCreate(sender="601000000", direction="in")
            ),
            "activitiesFbm": lambda: acts.create_channel_item(
                s, c, "FBM", act.FbmCreate(sender="psid-1", direction="in")
            ),
            "activitiesWap": lambda: acts.create_channel_item(
                s, c, "WAP", act.WapCreate(sender="601000000", direction="in")
            ),
            "activitiesIgdm": lambda: acts.create_channel_item(
                s, c, "IGDM", act.MessagingCreate(sender="ig-1", direction="in")
            ),
            "activitiesVbr": lambda: acts.create_channel_item(
                s, c, "VBR", act.MessagingCreate(sender="vb-1", direction="in")
            ),
            "activitiesMessages": lambda: held.create_message(
                s, c, act.MessageCreate(activity=chat().name, direction="IN", text="ahoj")
            ),
            "activitiesCallTranscripts": lambda: held.create_transcript(
                s,
                c,
                act.TranscriptCreate(activity=call().name, start=0, end=1, speaker="agent", text="dobrý den"),
            ),
            "activitiesCallRecordings": recording,
            "attachments": attachment,
            "ticketsCategories": lambda: desks.create_category(s, c, desk.CategoryCreate(title="Cat")),
            **{kind: catalogued(kind) for kind in CATALOGUES},
            "tickets": ticket,
            "campaignsTypes": record_type,
            "campaignsRecords": lambda: camps.create_record(
                s, c, camp.RecordCreate(record_type=record_type().name, number="601000000")
            ),
            "realtimeSessions": signed_in,
            "subjectRequests": subject_request,
            "subjectRequestsVerified": lambda: subject_request(verified=True),
            "subjectRequestsApproved": lambda: subject_request(verified=True, approved=True),
            # An access request ready for its export (the console's button).
            "subjectRequestsAccess": lambda: subject_request(verified=True, kind="access"),
            "subjectExports": subject_export,
            "pausesTaken": pause_taken,
            "crmRecordTypes": crm_type,
            "crmRecords": lambda: service.create_record(
                s, c, crm.CrmRecordCreate(type=crm_type().name, title="Hypotéka", contact=contact().name)
            ),
            "callTranscribed": transcribed,
            "legalHolds": lambda: LegalHold(
                tenant_id=tenant,
                name=f"hold{n}",
                object_type="contacts",
                object_key=str(contact().name),
                reason="Spor",
                created_by="system",
            ),
            "jobs": lambda: jobs.enqueue(s, tenant, "erasure", {"contact": "x"}, "system", target="x"),
            "retentionPolicies": lambda: RetentionPolicy(
                tenant_id=tenant, name=_free_policy(s, tenant, n), days=30, action="delete"
            ),
        }
        makers["consentEvents"] = lambda: consent.append(
            s,
            tenant,
            purpose="marketing",
            channel="all",
            state="given",
            source="call",
            actor="system",
            contact=contact().name,
        )
        makers["blacklistNumbers"] = lambda: dialling.suppress(
            s, tenant, "phone", f"+42060{n:07d}", "manual", "system"
        )
        makers["apiTokens"] = lambda: _api_token(s, tenant, app.state.settings)
        makers["allowedNetworks"] = lambda: FirewallRule(
            name=f"rule{n}", tenant_id=tenant, kind="allow", network=f"185.{n % 250}.{n // 250 % 250}.0/24"
        )
        made = makers[kind]()
        if kind in ("legalHolds", "retentionPolicies", "allowedNetworks", "pausesTaken"):
            s.add(made)
        return str(made.name)


def _api_token(s: Any, tenant: str, settings: Any) -> Any:
    """An API token of the tenant's integration user, named as apiTokens.json names it."""
    from types import SimpleNamespace

    from hovor.auth.service import issue_api_token
    from hovor.auth.tokens_api import key_of

    _, token = issue_api_token(s, settings, tenant, f"{tenant}-integration", None, 1)
    return SimpleNamespace(name=key_of(token))


def _free_policy(s: Any, tenant: str, n: int) -> str:
    """A kind of record with no policy in the tenant (one policy per kind): the n-th, freed."""
    name = list(policies.KINDS)[n % len(policies.KINDS)]
    s.execute(
        delete(RetentionPolicy).where(RetentionPolicy.tenant_id == tenant, RetentionPolicy.name == name)
    )
    return name


def _fresh_entry(app: Any, tenant: str) -> str:
    """A new audit entry's sequence number. Sequences are per tenant, so the foreign tenant's chain
    is first made longer than the own one: "foreign entry 7" must not be the caller's own entry 7."""
    actor = audit.Actor.system("test")
    with unit_of_work(app.state.session_factory) as s:
        own_head = audit.head(s, "own")[0]
        head = audit.head(s, tenant)[0]
        extra = max(0, own_head + 500 - head) if tenant == "foreign" else 0
        for _ in range(extra + 1):
            audit.record(s, tenant, "crm.contact.update", actor, "contacts", "x", {"fields": []})
    with unit_of_work(app.state.session_factory) as s:
        return str(audit.head(s, tenant)[0])


def _create_body(app: Any, kind: str) -> dict[str, Any]:
    n = next(counter)
    if kind == "activitiesMessages":
        return {"activity": _fresh(app, "own", "activitiesWeb"), "direction": "IN", "text": "ahoj"}
    if kind == "activitiesCallTranscripts":
        call = _fresh(app, "own", "activitiesCall")
        return {"activity": call, "start": 0, "end": 1.5, "speaker": "customer", "text": "dobrý den"}
    if kind == "campaignsRecords":
        return {"record_type": _fresh(app, "own", "campaignsTypes"), "number": "601 000 000"}
    if kind == "crmRecords":
        return {"type": _fresh(app, "own", "crmRecordTypes"), "title": "Hypotéka"}
    if kind == "mergeTickets":
        return {"tickets": [int(_fresh(app, "own", "tickets")), int(_fresh(app, "own", "tickets"))]}
    if kind == "subjectRequests":
        return {"kind": "access", "received_via": "email", "phone": "601 000 000"}
    if kind == "subjectExports":
        return {"contact": _fresh(app, "own", "contacts")}
    if kind == "realtimeSessions":
        return {"id_agent": _fresh(app, "own", "users"), "state": "Idle"}
    if kind == "legalHolds":
        return {"object_type": "contacts", "object_key": _fresh(app, "own", "contacts"), "reason": "Spor"}
    if kind == "retentionPolicies":
        with unit_of_work(app.state.session_factory) as s:
            return {"name": _free_policy(s, "own", n), "days": 30}
    if kind == "consentEvents":
        return {"contact": _fresh(app, "own", "contacts"), "purpose": "marketing", "state": "given"}
    if kind == "blacklistNumbers":
        return {"number": f"601 {n % 1000:03d} 999"}
    if kind == "apiTokens":
        return {"user": "own-integration", "title": "PBX"}
    if kind == "allowedNetworks":
        return {"network": f"185.200.{n % 250}.0/24", "note": "Pobočka Brno"}
    return {
        "users": {"name": f"new-user-{n}", "title": "New", "role": "operator"},
        "roles": {"name": f"role{n}", "title": "Role"},
        "profiles": {"name": f"prof{n}", "title": "Profile"},
        "databases": {"title": "DB"},
        "accounts": {"title": "Acc", "database": "main"},
        "contacts": {"lastname": "New", "database": "main"},
        "formFields": {"name": f"field{n}", "title": "F", "object_type": "contacts", "type": "text"},
        "queues": {"name": f"9{n}", "title": "Q", "type": "in"},
        "activities": {"description": "poznámka"},
        "activitiesCall": {"direction": "in", "clid": "601 000 000"},
        "activitiesEmail": {"direction": "in", "address": "a@example.cz", "title": "Dotaz"},
        "activitiesWeb": {"title": "Zákazník", "ipaddress": "192.0.2.1"},
        "activitiesSms": {"sender": "601000000", "direction": "in"},
        "activitiesFbm": {"sender": "psid-2", "direction": "in"},
        "activitiesWap": {"sender": "601 000 002", "direction": "in"},
        "activitiesIgdm": {"sender": "ig-2", "direction": "in"},
        "activitiesVbr": {"sender": "vb-2", "direction": "in"},
        "ticketsCategories": {"title": "Cat"},
        **CATALOGUES,
        "tickets": {"title": "T", "category": "general"},
        "campaignsTypes": {"title": "Kampaň"},
        "crmRecordTypes": {"title": "Obchod", "database": "main"},
    }[kind]


# Catalogue entries: what one needs to be created (hovor.api.catalogue).
CATALOGUES: dict[str, dict[str, Any]] = {
    "statuses": {"title": "Prodej"},
    "ticketsSla": {"title": "Gold", "response_high": 30},
    "groups": {"title": "Směna"},
    "pauses": {"title": "Oběd"},
    "templates": {"title": "Poděkování", "type": "sms", "content": "Děkujeme"},
    "articlesFolders": {"title": "Telefonie"},
    "articles": {"title": "Přesměrování hovorů", "content": "<p>Nastavení → Linky</p>"},
}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    permission: str | None


def _routes(app: Any) -> list[Route]:
    """Every operation of the API, as the OpenAPI document (built from the routes) lists it."""
    routes = [
        Route(method.upper(), path, op.get("x-permission"))
        for path, ops in app.openapi()["paths"].items()
        for method, op in ops.items()
        if path.startswith(("/api/v6/", "/file/"))
    ]
    assert len(routes) > 100  # the walk itself must find the routes, or the checks below prove nothing
    return routes


def test_every_route_declares_its_permission(app: Any) -> None:
    undeclared = [f"{r.method} {r.path}" for r in _routes(app) if r.permission is None]
    assert undeclared == []


def _allowed(role: str, declared: str) -> bool:
    if declared == "platform":
        return False  # the platform operator's routes refuse every tenant token (test_platform.py)
    if declared in ("public", "authenticated"):
        return True
    perms = BUILTIN_ROLES[role][1]
    return all(p in perms for p in declared.split())


# Which record a route's {name} (or ?name=) stands for, where the path does not say it directly.
PATH_KINDS = {
    "/file/recording/{name}": "activitiesCallRecordings",
    "/file/attachments/{name}": "attachments",
    "/file/download.php": "attachments",
    # A call that has what the route deletes (uploading to it replaces the recording).
    "/api/v6/activitiesCall/{name}/recording.json": "activitiesCallRecordings",
    "/api/v6/activitiesCall/{name}/transcript.json": "callTranscribed",
    # A subject request ready for the step: answered once verified, erased once approved too.
    "/api/v6/subjectRequests/{name}/answer.json": "subjectRequestsVerified",
    "/api/v6/subjectRequests/{name}/erase.json": "subjectRequestsApproved",
    "/file/exports/{name}": "subjectExports",
}


def _request_step(step: str) -> dict[str, Any]:
    """The body each step of a subject request takes."""
    return {
        "verify.json": {"method": "id_document"},
        "extend.json": {"months": 1, "reason": "Mnoho záznamů", "told": utcnow().isoformat()},
        "approve.json": {},
        "erase.json": {},
        "answer.json": {"outcome": "Odesláno"},
        "refuse.json": {"outcome": "Nelze ověřit"},
    }[step]


# A contact's consent, objection and restriction steps: an empty body does each.
CONTACT_STEPS = {
    f"/api/v6/contacts/{{name}}/{step}.json"
    for step in ("withdrawConsent", "object", "restrict", "unrestrict")
}


def _kind_of(route: Route) -> str:
    if route.path in PATH_KINDS:
        return PATH_KINDS[route.path]
    return route.path.removeprefix("/api/v6/").split("/")[0].removesuffix(".json")


# Routes the kind of token decides: the matrix calls with API tokens, which cannot set up, confirm
# or remove a sign-in factor (403 for every role).
STATEFUL = {
    ("POST", "/api/v6/whoim/totp.json"): 403,
    ("PUT", "/api/v6/whoim/totp.json"): 403,
    ("DELETE", "/api/v6/whoim/totp.json"): 403,
}


def _request(app: Any, route: Route, target: str) -> tuple[str, dict[str, Any]]:
    """The URL and request arguments that exercise ``route`` on a fresh record of ``target``."""
    kind = _kind_of(route)
    path = route.path
    if route.permission == "platform":
        return path.replace("{name}", "x"), {"json": {}} if route.method == "POST" else {}
    keyed = "{name}" in path or path == "/file/download.php"
    key = _fresh(app, target, kind) if keyed else ""
    kwargs: dict[str, Any] = {}
    if path == "/file/download.php":
        kwargs["params"] = {"name": key}
    path = path.replace("{name}", key)
    if path.endswith("/recording.json"):
        kwargs["content"] = WAV
        kwargs["headers"] = {"content-type": "audio/wav"}
    elif path.endswith("/attachments.json") and route.method == "POST":
        kwargs["files"] = {"file": ("poznamka.txt", b"obsah", "text/plain")}
    elif path.endswith("/import.json"):
        kwargs["content"] = EML
        kwargs["headers"] = {"content-type": "message/rfc822"}
    elif (path.endswith("/erasure.json") and route.method == "POST") or path.endswith("/totp.json"):
        kwargs["json"] = {}
    elif path.endswith("/subjects.json"):
        kwargs["json"] = {"phone": "601 000 000"}
    elif route.path in CONTACT_STEPS:
        kwargs["json"] = {}
    elif route.path.startswith("/api/v6/subjectRequests/{name}/"):
        kwargs["json"] = _request_step(route.path.rsplit("/", 1)[-1])
    elif path.endswith("/batch.json"):
        kwargs["json"] = {"data": [_create_body(app, kind)]}
    elif route.method == "POST" and not path.endswith("logout.json"):
        kwargs["json"] = _create_body(app, kind)
    elif route.method == "PUT":
        kwargs["json"] = {}
    return path, kwargs


def _prepare(app: Any, tenant_id: str) -> TenantFixture:
    from hovor.core.records import Counter
    from hovor.helpdesk import schemas as desk
    from hovor.helpdesk import service as desks

    fixture = make_tenant(app, tenant_id)
    with unit_of_work(app.state.session_factory) as s:
        desks.create_category(
            s, system_caller(s, tenant_id), desk.CategoryCreate(name="general", title="General")
        )
        if tenant_id == "foreign":
            # Ticket numbers are per tenant; the foreign tenant's must not exist in the own tenant,
            # or "foreign ticket 7" would simply be the caller's own ticket 7.
            s.add(Counter(tenant_id=tenant_id, kind="tickets", value=1_000_000))
    return fixture


@pytest.mark.parametrize("role", ROLES)
def test_authorization_matrix(client: Any, app: Any, role: str) -> None:
    own = _prepare(app, "own")
    _prepare(app, "foreign")
    checked = 0
    for route in _routes(app):
        declared = route.permission
        assert declared is not None
        if declared == "public":
            continue
        allowed = _allowed(role, declared)
        keyed = declared != "platform" and ("{name}" in route.path or route.path == "/file/download.php")

        # No token: every non-public route refuses.
        path, kwargs = _request(app, route, "own")
        assert client.request(route.method, path, **kwargs).status_code == 401, path

        for target in ("own", "foreign") if keyed else ("own",):
            path, kwargs = _request(app, route, target)
            token = own.h(role) if not route.path.endswith("logout.json") else _fresh_token(client, own, role)
            kwargs["headers"] = {**kwargs.get("headers", {}), **token}
            r = client.request(route.method, path, **kwargs)
            where = f"{role} {route.method} {route.path} ({target}): {r.status_code} {r.text[:300]}"
            if not allowed:
                assert r.status_code == 403, where
                assert r.json()["result"] is None, where
                if "json" in kwargs:
                    # The permission is decided before the input is read: an invalid body is a
                    # 403 too, not a validation message.
                    invalid = {**kwargs, "json": [1]}
                    r = client.request(route.method, path, **invalid)
                    assert r.status_code == 403, f"{where} (invalid body): {r.status_code} {r.text[:300]}"
            elif target == "foreign":
                assert r.status_code == 404, where
                assert r.json()["result"] is None, where
            elif (route.method, route.path) in STATEFUL:
                assert r.status_code == STATEFUL[route.method, route.path], where
            else:
                assert r.status_code in (200, 201, 202, 204, 206), where
            checked += 1
    assert checked > 120


def _fresh_token(client: Any, tenant: TenantFixture, role: str) -> dict[str, str]:
    r = client.post(
        "/api/v6/login.json", json={"username": f"{tenant.id}-{role}", "password": "correct horse 1"}
    )
    return {"X-AUTH-TOKEN": r.json()["result"]["accessToken"]}
