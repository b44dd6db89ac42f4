"""The demo tenant: users of every built-in role and a CRM of realistic Czech contacts.

Seeding goes through the same services as the API, so demo data obeys every rule real data does.
Credentials are printed on the first run and kept in ``<data_dir>/demo-credentials.json``
(readable by its owner only) so a second run can print them again.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import secrets
from pathlib import Path
from typing import Any

from faker import Faker
from rich.console import Console
from rich.progress import track
from sqlalchemy.orm import Session, sessionmaker

from hovor.audit import log as audit
from hovor.auth.models import Role
from hovor.auth.schemas import UserCreate
from hovor.auth.service import issue_api_token
from hovor.auth.users import create_user
from hovor.core.caller import Caller
from hovor.core.config import Settings
from hovor.core.db import unit_of_work
from hovor.crm import schemas as crm
from hovor.crm import service as crm_service
from hovor.files.service import Files
from hovor.tenancy.models import Tenant
from hovor.tenancy.service import create_tenant

DEMO_TENANT = "demo"
DEMO_USERS = [
    ("admin", "Správce Demo", "admin"),
    ("supervisor", "Vedoucí Směny", "supervisor"),
    ("operator1", "Operátor Jedna", "operator"),
    ("operator2", "Operátorka Dvě", "operator"),
    ("dpo", "Pověřenec Demo", "dpo"),
    ("integration", "PBX Integrace", "integration"),
]


def system_caller(session: Session, tenant_id: str, user: str = "system") -> Caller:
    """A caller with every tenant permission, for CLI and seeding work done on the tenant's behalf."""
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise LookupError("no such tenant")
    role = session.get(Role, (tenant_id, "admin"))
    assert role is not None
    return Caller(
        tenant_id=tenant_id,
        user=user,
        role="admin",
        permissions=frozenset(role.permissions),
        databases=None,
        timezone=tenant.timezone,
        country=tenant.country,
        token_kind="system",
    )


DEMO_ACTOR = audit.Actor.system("demo")


def credentials_file(settings: Settings) -> Path:
    return settings.data_dir / "demo-credentials.json"


def seed_demo(
    factory: sessionmaker[Session],
    settings: Settings,
    *,
    contacts: int = 300,
    seed: int = 42,
    console: Console | None = None,
) -> dict[str, Any]:
    path = credentials_file(settings)
    with unit_of_work(factory) as session:
        if session.get(Tenant, DEMO_TENANT) is not None:
            if path.exists():
                return dict(json.loads(path.read_text()))
            raise RuntimeError(
                f"The demo tenant exists but {path} is gone; reset passwords with `hovor user create`."
            )
    faker = Faker("cs_CZ")
    Faker.seed(seed)
    rnd = random.Random(seed)
    creds: dict[str, Any] = {"tenant": DEMO_TENANT, "users": []}
    with unit_of_work(factory) as session:
        create_tenant(
            session,
            DEMO_TENANT,
            "Demo Contact Centre s.r.o.",
            settings.timezone,
            "CZ",
            dpo_name="Pověřenec pro ochranu osobních údajů",
            dpo_email="dpo@demo.example",
            actor=DEMO_ACTOR,
        )
        audit.record(
            session,
            DEMO_TENANT,
            "tenancy.demo.seed",
            DEMO_ACTOR,
            "tenant",
            DEMO_TENANT,
            {"contacts": contacts},
        )
        caller = system_caller(session, DEMO_TENANT, user="admin")
        for login, title, role in DEMO_USERS:
            password = secrets.token_urlsafe(12)
            create_user(
                session,
                caller,
                UserCreate(
                    name=login, title=title, role=role, password=password, email=f"{login}@demo.example"
                ),
            )
            token, _ = issue_api_token(session, settings, DEMO_TENANT, login, "demo", None)
            creds["users"].append({"login": login, "role": role, "password": password, "token": token})
        db = crm_service.create_database(
            session, caller, crm.DatabaseCreate(name="customers", title="Zákazníci")
        )
        contact_form: list[dict[str, Any]] = [
            {"name": "number", "title": "Telefon", "type": "phone", "multiple": True},
            {"name": "email", "title": "E-mail", "type": "email", "multiple": True},
            {"name": "address", "title": "Adresa", "type": "address"},
            {"name": "consent_marketing", "title": "Souhlas s marketingem", "type": "consent"},
            {"name": "segment", "title": "Segment", "type": "select", "options": ["B2C", "B2B", "VIP"]},
        ]
        for position, spec in enumerate(contact_form):
            crm_service.create_form_field(
                session,
                caller,
                crm.FormFieldCreate.model_validate({**spec, "object_type": "contacts", "position": position}),
            )
        crm_service.create_form_field(
            session,
            caller,
            crm.FormFieldCreate(name="ico", title="IČO", object_type="accounts", type="text", regex=r"\d{8}"),
        )
        accounts = []
        for _ in range(max(1, contacts // 5)):
            accounts.append(
                crm_service.create_account(
                    session,
                    caller,
                    crm.AccountCreate(
                        title=faker.company(),
                        database=db.name,
                        customFields={"ico": [f"{rnd.randrange(10**7, 10**8)}"]},
                    ),
                ).name
            )
        owners = ["operator1", "operator2", None]
        people: list[tuple[str, str, str, str]] = []
        for _ in track(range(contacts), description="demo contacts", console=console, transient=True):
            female = rnd.random() < 0.5
            first = faker.first_name_female() if female else faker.first_name_male()
            last = faker.last_name_female() if female else faker.last_name_male()
            consent = rnd.choice(["yes", "no", None])
            fields: dict[str, Any] = {
                "number": [faker.phone_number()],
                "email": [faker.email()],
                "address": [faker.address().replace("\n", ", ")],
                "segment": [rnd.choice(["B2C", "B2B", "VIP"])],
            }
            if consent:
                fields["consent_marketing"] = [consent]
            contact = crm_service.create_contact(
                session,
                caller,
                crm.ContactCreate(
                    firstname=first,
                    lastname=last,
                    database=db.name,
                    account=rnd.choice(accounts) if rnd.random() < 0.6 else None,
                    user=rnd.choice(owners),
                    customFields=fields,
                ),
            )
            people.append(
                (
                    contact.name,
                    f"{first} {last}",
                    contact.custom_fields["number"][0],
                    contact.custom_fields["email"][0],
                )
            )
        _seed_records(session, caller, Files(settings), people, rnd, console)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(creds, fh, indent=2)
    return creds


CALL_LINES = [
    ("agent", "Dobrý den, zákaznická linka, jak vám mohu pomoci?"),
    ("customer", "Dobrý den, volám kvůli objednávce, ještě mi nedorazila."),
    ("agent", "Rozumím, podívám se na to. Můžete mi prosím sdělit číslo objednávky?"),
    ("customer", "Ano, je to dva nula dva šest pomlčka nula jedna sedm."),
    ("agent", "Děkuji, zásilka je na cestě a dorazí zítra dopoledne."),
]
TICKET_TITLES = [
    "Reklamace zboží",
    "Dotaz na fakturu",
    "Změna adresy",
    "Nefunkční přihlášení",
    "Vrácení peněz",
]
CHAT_LINES = [
    ("IN", "Dobrý den, mám dotaz k doručení."),
    ("OUT", "Dobrý den, rád pomohu. O jakou zásilku jde?"),
    ("IN", "Objednávka z minulého týdne."),
    ("OUT", "Zásilka je připravena k vyzvednutí."),
]


def _seed_records(
    session: Session,
    caller: Caller,
    files: Files,
    people: list[tuple[str, str, str, str]],
    rnd: random.Random,
    console: Console | None,
) -> None:
    """Queues, calls with recordings and transcripts, e-mails with attachments, chats, SMS and
    Messenger threads, tickets with comments and attachments, and a campaign."""
    from hovor.activities import schemas as act
    from hovor.activities import service as acts
    from hovor.activities.audio import synth_wav
    from hovor.activities.models import Activity
    from hovor.campaigns import schemas as camp
    from hovor.campaigns import service as camps
    from hovor.helpdesk import schemas as desk
    from hovor.helpdesk import service as desks

    for name, title, kind in [
        ("100", "Zákaznická linka", "in"),
        ("101", "Obchod", "out"),
        ("300", "Podpora e-mail", "email"),
        ("400", "Web chat", "chat"),
        ("500", "SMS", "sms"),
        ("600", "Messenger", "fbm"),
    ]:
        acts.create_queue(session, caller, act.QueueCreate(name=name, title=title, type=kind))
    for name, title in [("reklamace", "Reklamace"), ("dotazy", "Dotazy"), ("fakturace", "Fakturace")]:
        desks.create_category(session, caller, desk.CategoryCreate(name=name, title=title, sla_response=240))
    now = dt.datetime.now(dt.UTC)

    def when() -> str:
        return (now - dt.timedelta(minutes=rnd.randrange(60, 60 * 24 * 90))).isoformat()

    tickets = []
    for i in range(20):
        contact, _, _, email = rnd.choice(people)
        ticket = desks.create_ticket(
            session,
            caller,
            desk.TicketCreate(
                title=rnd.choice(TICKET_TITLES),
                category=rnd.choice(["reklamace", "dotazy", "fakturace"]),
                contact=contact,
                email=email,
                user=rnd.choice(["operator1", "operator2"]),
                priority=rnd.choice(["LOW", "MEDIUM", "HIGH"]),
                stage=rnd.choice(["OPEN", "WAIT", "CLOSE"]),
                description="Zákazník popsal problém telefonicky, viz komentáře.",
            ),
        )
        tickets.append(ticket.name)
        acts.create_comment(
            session, caller, act.CommentCreate(ticket=ticket.name, description="Kontaktovat zákazníka zítra.")
        )
        if i % 3 == 0:
            blob = files.put(
                session, caller.tenant_id, [f"Protokol k požadavku {ticket.name}\n".encode()], "text/plain"
            )
            acts.add_attachment(session, caller, blob, f"protokol-{ticket.name}.txt", ticket=ticket.name)

    for i in track(range(24), description="demo calls", console=console, transient=True):
        contact, _, phone, _ = rnd.choice(people)
        seconds = rnd.uniform(2.0, 4.0)
        item = acts.create_channel_item(
            session,
            caller,
            "CALL",
            act.CallCreate(
                queue="100",
                direction="in",
                clid=phone,
                did="+420222333444",
                answered=True,
                waiting_time=rnd.randrange(3, 60),
                duration=int(seconds),
                contact=contact,
                user=rnd.choice(["operator1", "operator2"]),
                time=when(),
                ticket=rnd.choice(tickets) if i % 4 == 0 else None,
            ),
        )
        blob = files.put(session, caller.tenant_id, [synth_wav(seconds, seed=i)], "audio/wav")
        activity = session.get(Activity, (caller.tenant_id, item.name))
        assert activity is not None
        acts.attach_recording(session, activity, blob, round(seconds, 3), files)
        start = 0.0
        for speaker, text in CALL_LINES[: rnd.randrange(3, len(CALL_LINES) + 1)]:
            end = start + rnd.uniform(1.5, 4.0)
            acts.create_transcript(
                session,
                caller,
                act.TranscriptCreate(
                    activity=item.name, start=round(start, 2), end=round(end, 2), speaker=speaker, text=text
                ),
            )
            start = end + 0.2

    for i in range(15):
        contact, name, _, email = rnd.choice(people)
        item = acts.create_channel_item(
            session,
            caller,
            "EMAIL",
            act.EmailCreate(
                queue="300",
                direction="in",
                address=email,
                title="Dotaz k objednávce",
                contact=contact,
                text=f"Dobrý den,\nprosím o informaci o stavu objednávky.\n\nS pozdravem\n{name}",
                headers={"From": email, "Subject": "Dotaz k objednávce"},
                time=when(),
            ),
        )
        if i % 2 == 0:
            blob = files.put(session, caller.tenant_id, [b"%PDF-1.4\n%%EOF\n"], "application/pdf")
            acts.add_attachment(session, caller, blob, "objednavka.pdf", activity=item.name)

    threads = [("CHAT", "400", 10), ("SMS", "500", 10), ("FBM", "600", 6)]
    for kind, queue, count in threads:
        for i in range(count):
            contact, name, phone, email = rnd.choice(people)
            if kind == "CHAT":
                body: Any = act.WebCreate(
                    queue=queue,
                    title=name,
                    email=email,
                    phone=phone,
                    contact=contact,
                    ipaddress=f"198.51.100.{rnd.randrange(1, 254)}",
                    browser="Mozilla/5.0 Firefox/133.0",
                    gdpr=True,
                    time=when(),
                )
            elif kind == "SMS":
                body = act.SmsCreate(queue=queue, sender=phone, direction="in", contact=contact, time=when())
            else:
                body = act.FbmCreate(
                    queue=queue,
                    sender=str(10**15 + rnd.randrange(10**15)),
                    title=name,
                    direction="in",
                    contact=contact,
                    time=when(),
                )
            item = acts.create_channel_item(session, caller, kind, body)
            for direction, text in CHAT_LINES[: 2 + i % 3]:
                acts.create_message(
                    session,
                    caller,
                    act.MessageCreate(
                        activity=item.name,
                        direction=direction,
                        text=text,
                    ),
                )

    camps.create_type(
        session, caller, camp.RecordTypeCreate(name="podzim", title="Podzimní nabídka", queue="101")
    )
    from hovor.crm import schemas as crm_schemas
    from hovor.crm import service as crm_svc

    crm_svc.create_form_field(
        session,
        caller,
        crm_schemas.FormFieldCreate(
            name="tarif",
            title="Tarif",
            object_type="records",
            record_type="podzim",
            type="select",
            options=["S", "M", "L"],
        ),
    )
    for contact, _, phone, _ in rnd.sample(people, min(30, len(people))):
        camps.create_record(
            session,
            caller,
            camp.RecordCreate(
                record_type="podzim",
                contact=contact,
                number=phone,
                action=rnd.choice([1, 1, 5, 6]),
                customFields={"tarif": [rnd.choice(["S", "M", "L"])]},
            ),
        )


def print_credentials(creds: dict[str, Any], console: Console) -> None:
    # Plain lines, not a table: a table would cut the tokens short on a narrow terminal.
    console.print(f"[bold]Demo tenant[/bold] {creds['tenant']}: users, passwords and API tokens")
    for user in creds["users"]:
        console.print(
            f"  {user['login']:<12} role={user['role']:<12} "
            f"password={user['password']}  token={user['token']}",
            soft_wrap=True,
            highlight=False,
        )
    console.print(
        "  The admin and the DPO sign in with a one-time code too: their first password sign-in "
        "sets up an authenticator app (docs/security.md). The API tokens need none.",
        soft_wrap=True,
        highlight=False,
    )
