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
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from faker import Faker
from rich.console import Console
from rich.progress import track
from sqlalchemy.orm import Session, sessionmaker

from hovor.activities import content as held
from hovor.activities import schemas as act
from hovor.activities import service as acts
from hovor.activities.audio import synth_wav
from hovor.activities.models import Activity
from hovor.audit import log as audit
from hovor.auth.schemas import UserCreate
from hovor.auth.service import issue_api_token, system_caller
from hovor.auth.users import create_tenant, create_user
from hovor.campaigns import schemas as camp
from hovor.campaigns import service as camps
from hovor.core.caller import Caller
from hovor.core.config import Settings
from hovor.core.db import unit_of_work
from hovor.crm import schemas as crm
from hovor.crm import service as crm_service
from hovor.files.service import Files
from hovor.helpdesk import schemas as desk
from hovor.helpdesk import service as desks
from hovor.tenancy.models import Tenant

DEMO_TENANT = "demo"
DEMO_USERS = [
    ("admin", "Správce Demo", "admin"),
    ("supervisor", "Vedoucí Směny", "supervisor"),
    ("operator1", "Operátor Jedna", "operator"),
    ("operator2", "Operátorka Dvě", "operator"),
    ("dpo", "Pověřenec Demo", "dpo"),
    ("integration", "PBX Integrace", "integration"),
]
DEMO_ACTOR = audit.Actor.system("demo")
OPERATORS = ["operator1", "operator2"]

CONTACT_FORM: list[dict[str, Any]] = [
    {"name": "number", "title": "Telefon", "type": "phone", "multiple": True},
    {"name": "email", "title": "E-mail", "type": "email", "multiple": True},
    {"name": "address", "title": "Adresa", "type": "address"},
    {"name": "consent_marketing", "title": "Souhlas s marketingem", "type": "consent"},
    {"name": "segment", "title": "Segment", "type": "select", "options": ["B2C", "B2B", "VIP"]},
]
QUEUES = [
    ("100", "Zákaznická linka", "in"),
    ("101", "Obchod", "out"),
    ("300", "Podpora e-mail", "email"),
    ("400", "Web chat", "chat"),
    ("500", "SMS", "sms"),
    ("600", "Messenger", "fbm"),
]
TICKET_CATEGORIES = [("reklamace", "Reklamace"), ("dotazy", "Dotazy"), ("fakturace", "Fakturace")]
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
# Message threads per channel: activity type, queue, how many.
THREADS = [("CHAT", "400", 10), ("SMS", "500", 10), ("FBM", "600", 6)]


class Person(NamedTuple):
    """A seeded contact, as the activities that follow refer to it."""

    contact: str
    name: str
    phone: str
    email: str


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
    existing = _existing_credentials(factory, path)
    if existing is not None:
        return existing
    faker = Faker("cs_CZ")
    Faker.seed(seed)
    rnd = random.Random(seed)
    with unit_of_work(factory) as session:
        _create_tenant(session, settings, contacts)
        caller = system_caller(session, DEMO_TENANT, user="admin")
        creds: dict[str, Any] = {"tenant": DEMO_TENANT, "users": _seed_users(session, settings, caller)}
        people = _seed_crm(session, caller, faker, rnd, contacts, console)
        _seed_records(session, caller, Files(settings), people, rnd, console)
    _write_credentials(path, creds)
    return creds


def _existing_credentials(factory: sessionmaker[Session], path: Path) -> dict[str, Any] | None:
    """The first run's credentials when the tenant is there already (seeding happens once)."""
    with unit_of_work(factory) as session:
        if session.get(Tenant, DEMO_TENANT) is None:
            return None
    if path.exists():
        return dict(json.loads(path.read_text()))
    raise RuntimeError(
        f"The demo tenant exists but {path} is gone; reset passwords with `hovor user create`."
    )


def _write_credentials(path: Path, creds: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created with mode 0600, never readable by others even for a moment: it holds passwords.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(creds, fh, indent=2)


def _create_tenant(session: Session, settings: Settings, contacts: int) -> None:
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
        session, DEMO_TENANT, "tenancy.demo.seed", DEMO_ACTOR, "tenant", DEMO_TENANT, {"contacts": contacts}
    )


def _seed_users(session: Session, settings: Settings, caller: Caller) -> list[dict[str, str]]:
    """A user of every built-in role, each with a password and an API token."""
    users = []
    for login, title, role in DEMO_USERS:
        password = secrets.token_urlsafe(12)
        create_user(
            session,
            caller,
            UserCreate(name=login, title=title, role=role, password=password, email=f"{login}@demo.example"),
        )
        token, _ = issue_api_token(session, settings, DEMO_TENANT, login, "demo", None)
        users.append({"login": login, "role": role, "password": password, "token": token})
    return users


def _seed_crm(
    session: Session, caller: Caller, faker: Faker, rnd: random.Random, contacts: int, console: Console | None
) -> list[Person]:
    """A customer database with its custom fields, companies, and the contacts."""
    db = crm_service.create_database(session, caller, crm.DatabaseCreate(name="customers", title="Zákazníci"))
    for position, spec in enumerate(CONTACT_FORM):
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
    accounts = [
        crm_service.create_account(
            session,
            caller,
            crm.AccountCreate(
                title=faker.company(),
                database=db.name,
                customFields={"ico": [f"{rnd.randrange(10**7, 10**8)}"]},
            ),
        ).name
        for _ in range(max(1, contacts // 5))
    ]
    return [
        _seed_contact(session, caller, faker, rnd, db.name, accounts)
        for _ in track(range(contacts), description="demo contacts", console=console, transient=True)
    ]


def _seed_contact(
    session: Session, caller: Caller, faker: Faker, rnd: random.Random, database: str, accounts: list[str]
) -> Person:
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
            database=database,
            account=rnd.choice(accounts) if rnd.random() < 0.6 else None,
            user=rnd.choice([*OPERATORS, None]),
            customFields=fields,
        ),
    )
    # The stored values, normalised as the API returns them (the phone in E.164).
    return Person(
        contact.name, f"{first} {last}", contact.custom_fields["number"][0], contact.custom_fields["email"][0]
    )


def _seed_records(
    session: Session,
    caller: Caller,
    files: Files,
    people: list[Person],
    rnd: random.Random,
    console: Console | None,
) -> None:
    """Queues, calls with recordings and transcripts, e-mails with attachments, chats, SMS and
    Messenger threads, tickets with comments and attachments, a campaign and deals."""
    for name, title, kind in QUEUES:
        acts.create_queue(session, caller, act.QueueCreate(name=name, title=title, type=kind))
    for name, title in TICKET_CATEGORIES:
        desks.create_category(session, caller, desk.CategoryCreate(name=name, title=title, sla_response=240))
    when = _random_times(rnd)
    tickets = _seed_tickets(session, caller, files, people, rnd)
    _seed_calls(session, caller, files, people, tickets, rnd, when, console)
    _seed_emails(session, caller, files, people, rnd, when)
    _seed_threads(session, caller, people, rnd, when)
    _seed_campaign(session, caller, people, rnd)
    _seed_deals(session, caller, people, rnd)


def _random_times(rnd: random.Random) -> Callable[[], str]:
    """A source of moments spread over the last 90 days, so the demo has some history."""
    now = dt.datetime.now(dt.UTC)

    def when() -> str:
        return (now - dt.timedelta(minutes=rnd.randrange(60, 60 * 24 * 90))).isoformat()

    return when


def _seed_tickets(
    session: Session, caller: Caller, files: Files, people: list[Person], rnd: random.Random
) -> list[int]:
    tickets = []
    for i in range(20):
        contact, _, _, email = rnd.choice(people)
        ticket = desks.create_ticket(
            session,
            caller,
            desk.TicketCreate(
                title=rnd.choice(TICKET_TITLES),
                category=rnd.choice([name for name, _ in TICKET_CATEGORIES]),
                contact=contact,
                email=email,
                user=rnd.choice(OPERATORS),
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
            held.add_attachment(session, caller, blob, f"protokol-{ticket.name}.txt", ticket=ticket.name)
    return tickets


def _seed_calls(
    session: Session,
    caller: Caller,
    files: Files,
    people: list[Person],
    tickets: list[int],
    rnd: random.Random,
    when: Callable[[], str],
    console: Console | None,
) -> None:
    """Answered calls, each with a (synthesised) recording and a transcript; some about a ticket."""
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
                user=rnd.choice(OPERATORS),
                time=when(),
                ticket=rnd.choice(tickets) if i % 4 == 0 else None,
            ),
        )
        blob = files.put(session, caller.tenant_id, [synth_wav(seconds, seed=i)], "audio/wav")
        activity = session.get(Activity, (caller.tenant_id, item.name))
        assert activity is not None
        held.attach_recording(session, activity, blob, round(seconds, 3), files)
        _seed_transcript(session, caller, item.name, rnd)


def _seed_transcript(session: Session, caller: Caller, activity: str, rnd: random.Random) -> None:
    start = 0.0
    for speaker, text in CALL_LINES[: rnd.randrange(3, len(CALL_LINES) + 1)]:
        end = start + rnd.uniform(1.5, 4.0)
        held.create_transcript(
            session,
            caller,
            act.TranscriptCreate(
                activity=activity, start=round(start, 2), end=round(end, 2), speaker=speaker, text=text
            ),
        )
        start = end + 0.2


def _seed_emails(
    session: Session,
    caller: Caller,
    files: Files,
    people: list[Person],
    rnd: random.Random,
    when: Callable[[], str],
) -> None:
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
            held.add_attachment(session, caller, blob, "objednavka.pdf", activity=item.name)


def _seed_threads(
    session: Session, caller: Caller, people: list[Person], rnd: random.Random, when: Callable[[], str]
) -> None:
    """Web chats, SMS and Messenger conversations of a few messages each."""
    for kind, queue, count in THREADS:
        for i in range(count):
            body = _thread_body(kind, queue, rnd.choice(people), rnd, when)
            item = acts.create_channel_item(session, caller, kind, body)
            for direction, text in CHAT_LINES[: 2 + i % 3]:
                held.create_message(
                    session, caller, act.MessageCreate(activity=item.name, direction=direction, text=text)
                )


def _thread_body(kind: str, queue: str, person: Person, rnd: random.Random, when: Callable[[], str]) -> Any:
    contact, name, phone, email = person
    if kind == "CHAT":
        return act.WebCreate(
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
    if kind == "SMS":
        return act.SmsCreate(queue=queue, sender=phone, direction="in", contact=contact, time=when())
    return act.FbmCreate(
        queue=queue,
        sender=str(10**15 + rnd.randrange(10**15)),
        title=name,
        direction="in",
        contact=contact,
        time=when(),
    )


def _seed_campaign(session: Session, caller: Caller, people: list[Person], rnd: random.Random) -> None:
    """An outbound campaign with a custom field of its own and up to 30 records to call."""
    camps.create_type(
        session, caller, camp.RecordTypeCreate(name="podzim", title="Podzimní nabídka", queue="101")
    )
    crm_service.create_form_field(
        session,
        caller,
        crm.FormFieldCreate(
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


def _seed_deals(session: Session, caller: Caller, people: list[Person], rnd: random.Random) -> None:
    """Mortgage deals in the CRM for up to 20 contacts, with the amount in their form."""
    crm_service.create_record_type(
        session, caller, crm.CrmRecordTypeCreate(name="hypoteky", title="Hypotéky", database="customers")
    )
    crm_service.create_form_field(
        session,
        caller,
        crm.FormFieldCreate(
            name="castka", title="Částka", object_type="crmRecords", database="customers", type="number"
        ),
    )
    for contact, name, _, _ in rnd.sample(people, min(20, len(people))):
        crm_service.create_record(
            session,
            caller,
            crm.CrmRecordCreate(
                type="hypoteky",
                title=f"Hypotéka {name}",
                contact=contact,
                stage=rnd.choice(["OPEN", "OPEN", "CLOSE"]),
                customFields={"castka": str(rnd.randrange(1, 80) * 100_000)},
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
