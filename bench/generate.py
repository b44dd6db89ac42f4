"""Fills a benchmark tenant with realistic data through bulk inserts (not through the API).

    python -m bench.generate --size small|medium|large --db URL [--data-dir DIR] [--seed N]

Czech names, addresses, phone numbers and e-mails come from Faker's cs_CZ locale; activities on
every channel in realistic proportions (calls most common) spread over three years; recordings are
real WAV audio, encrypted like any blob. The same seed gives the same data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import random
import time
from argparse import RawDescriptionHelpFormatter
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

from alembic import command
from faker import Faker
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine, insert, text

import hovor.models  # noqa: F401
from bench.bulk import fast_writes, in_time_order, share, split, unsynced, write_rows
from bench.common import META, SIZES, TENANT, Size, data_dir_for, settings_for
from hovor.activities.audio import synth_wav
from hovor.activities.models import (
    Activity,
    CallItem,
    EmailItem,
    FbmItem,
    Message,
    Queue,
    Recording,
    SmsItem,
    TranscriptSegment,
    WebItem,
)
from hovor.auth.schemas import UserCreate
from hovor.auth.service import issue_api_token, system_caller
from hovor.auth.users import create_tenant, create_user
from hovor.campaigns.models import CampaignRecord, RecordType
from hovor.core.db import BEGIN_OPTION, make_engine, make_session_factory, unit_of_work
from hovor.core.identifiers import normalize_phone
from hovor.core.records import Counter
from hovor.crm import schemas as crm
from hovor.crm import service as crm_service
from hovor.crm.models import Account, Contact
from hovor.files.service import Files
from hovor.helpdesk.models import Ticket, TicketCategory
from hovor.index.models import Identifier
from hovor.index.rebuild import rebuild
from hovor.migrations import alembic_config

BATCH = 10_000
RECORDING_BATCH = 500


CHANNEL_MIX = [("CALL", 0.60), ("EMAIL", 0.15), ("CHAT", 0.10), ("SMS", 0.10), ("FBM", 0.05)]
CALL_QUEUES = [(f"10{i}", "in" if i < 6 else "out") for i in range(10)]
OTHER_QUEUES = [("300", "email"), ("301", "email"), ("400", "chat"), ("500", "sms"), ("600", "fbm")]
QUEUE_OF = {"EMAIL": ["300", "301"], "CHAT": ["400"], "SMS": ["500"], "FBM": ["600"]}
ITEM = {"CALL": CallItem, "EMAIL": EmailItem, "CHAT": WebItem, "SMS": SmsItem, "FBM": FbmItem}
YEARS = 3


_GEN: Generator | None = None  # the generator whose batches this worker process runs (set before fork)


def _start_worker() -> None:
    """A forked worker opens its own connections (the parent's pool was emptied before the fork)."""
    assert _GEN is not None
    _GEN.engine = make_engine(_GEN.db_url)
    _GEN.factory = make_session_factory(_GEN.engine)


def _run_batch(method: str, index: int) -> Any:
    assert _GEN is not None
    return getattr(_GEN, method)(index)


class Generator:
    """Makes one size's data. Contacts, activities and recordings are made in batches, each with
    its own random stream (seeded by the seed, the phase and the batch's number), spread over
    ``jobs`` worker processes: the same seed gives the same data whatever the number of jobs."""

    def __init__(
        self, size: Size, db_url: str, data_dir: Path, seed: int, console: Console, jobs: int = 1
    ) -> None:
        self.size = size
        self.db_url = db_url
        self.data_dir = data_dir
        self.seed = seed
        self.jobs = max(1, jobs)
        self.rnd = random.Random(seed)
        self.faker = Faker("cs_CZ")
        self.faker.seed_instance(seed)
        self.console = console
        self.now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        self.settings = settings_for(db_url, data_dir)
        self.engine: Engine = make_engine(db_url)
        self.factory = make_session_factory(self.engine)
        self.accounts: list[str] = []
        self.contacts: list[str] = []
        self.phones: list[str] = []
        self.operators: list[str] = []
        self.tickets_made: list[int] = []
        self.chosen: list[str] = []  # the calls that get a recording
        self.audio: list[bytes] = []
        self.plan: dict[str, list[int]] = {
            "contacts": split(size.contacts, BATCH),
            "activities": split(size.activities, BATCH),
        }

    def writing(self) -> Any:
        """A transaction that writes: on SQLite it takes the write lock at BEGIN (IMMEDIATE), queued
        behind the other worker processes' (hovor's writer lock); a deferred one would fail as
        soon as another process committed between its first read and its first write."""
        return self.engine.execution_options(**{BEGIN_OPTION: "IMMEDIATE"}).begin()

    def batch_random(self, phase: str, index: int) -> random.Random:
        return random.Random(f"{self.seed}/{phase}/{index}")

    def fan_out(self, progress: Progress, label: str, method: str, sizes: list[int]) -> list[Any]:
        """``method(i)`` for every batch ``i``, in worker processes when there are several jobs;
        the results in the batches' order."""
        global _GEN
        task = progress.add_task(label, total=sum(sizes))
        results: list[Any] = []
        if self.jobs == 1 or len(sizes) == 1:
            for index, count in enumerate(sizes):
                results.append(getattr(self, method)(index))
                progress.advance(task, count)
            return results
        self.engine.dispose()  # no connection of this process crosses the fork
        _GEN = self
        try:
            with multiprocessing.get_context("fork").Pool(self.jobs, _start_worker) as pool:
                for index, result in enumerate(pool.imap(partial(_run_batch, method), range(len(sizes)))):
                    results.append(result)
                    progress.advance(task, sizes[index])
        finally:
            _GEN = None
        return results

    def key(self, prefix: str, rnd: random.Random | None = None) -> str:
        return f"{prefix}_{(rnd or self.rnd).getrandbits(80):020x}"

    def when(self, rnd: random.Random | None = None) -> dt.datetime:
        return self.now - dt.timedelta(seconds=(rnd or self.rnd).randrange(YEARS * 365 * 86400))

    def bulk(
        self, progress: Progress, label: str, model: Any, total: int, rows: Iterator[dict[str, Any]]
    ) -> None:
        task = progress.add_task(label, total=total)
        batch: list[dict[str, Any]] = []

        def flush() -> None:
            with self.writing() as conn:
                fast_writes(conn)
                write_rows(conn, model, batch)
            progress.advance(task, len(batch))
            batch.clear()

        for row in rows:
            batch.append(row)
            if len(batch) >= BATCH:
                flush()
        if batch:
            flush()

    def stamps(self, when: dt.datetime) -> dict[str, Any]:
        return {"created": when, "edited": None, "created_by": "admin", "edited_by": None}

    # --- phases ------------------------------------------------------------------------------
    def schema(self) -> None:
        command.upgrade(alembic_config(self.db_url), "head")

    def tenant(self) -> str:
        with unit_of_work(self.factory) as s:
            create_tenant(
                s, TENANT, "Benchmark Contact Centre", "Europe/Prague", "CZ", "DPO", "dpo@bench.example"
            )
            caller = system_caller(s, TENANT)
            create_user(s, caller, UserCreate(name="bench-admin", title="Admin", role="admin"))
            self.operators = [f"bench-op{i:02d}" for i in range(1, 21)]
            for login in self.operators:
                create_user(s, caller, UserCreate(name=login, title=self.faker.name(), role="operator"))
            token, _ = issue_api_token(s, self.settings, TENANT, "bench-admin", "bench", 30)
            crm_service.create_database(s, caller, crm.DatabaseCreate(name="main", title="Zákazníci"))
            for position, (name, kind) in enumerate(
                [("number", "phone"), ("email", "email"), ("address", "address"), ("consent", "consent")]
            ):
                crm_service.create_form_field(
                    s,
                    caller,
                    crm.FormFieldCreate(
                        name=name,
                        title=name,
                        object_type="contacts",
                        type=kind,
                        position=position,
                        multiple=kind in ("phone", "email"),
                    ),
                )
            for name, kind in CALL_QUEUES + OTHER_QUEUES:
                s.add(
                    Queue(
                        tenant_id=TENANT,
                        name=name,
                        title=f"Fronta {name}",
                        type=kind,
                        options={},
                        **self.stamps(self.now),
                    )
                )
            for name in ("reklamace", "dotazy", "fakturace", "technika", "obchod"):
                s.add(
                    TicketCategory(tenant_id=TENANT, name=name, title=name.title(), **self.stamps(self.now))
                )
            s.add(
                RecordType(
                    tenant_id=TENANT, name="kampan", title="Kampaň", queue="106", **self.stamps(self.now)
                )
            )
        return token

    def crm(self, progress: Progress) -> None:
        self.accounts = [self.key("accounts") for _ in range(max(1, self.size.contacts // 10))]

        def account_rows() -> Iterator[dict[str, Any]]:
            for name in self.accounts:
                yield {
                    "tenant_id": TENANT,
                    "name": name,
                    "title": self.faker.company(),
                    "database": "main",
                    "user": None,
                    "description": None,
                    "custom_fields": {},
                    "consents": {},
                    **self.stamps(self.when()),
                }

        self.bulk(progress, "accounts", Account, len(self.accounts), account_rows())
        made = self.fan_out(progress, "contacts, identifiers", "contact_batch", self.plan["contacts"])
        for names, phones in made:
            self.contacts += names
            self.phones += phones

    def contact_batch(self, index: int) -> tuple[list[str], list[str]]:
        """One batch of contacts with their identifiers' index rows; their keys and phones."""
        rnd = self.batch_random("contacts", index)
        faker = self.faker
        faker.seed_instance(f"{self.seed}/contacts/{index}")
        names: list[str] = []
        phones: list[str] = []
        contacts: list[dict[str, Any]] = []
        identifiers: list[dict[str, Any]] = []
        for _ in range(self.plan["contacts"][index]):
            female = rnd.random() < 0.5
            first = faker.first_name_female() if female else faker.first_name_male()
            last = faker.last_name_female() if female else faker.last_name_male()
            name = self.key("contacts", rnd)
            phone = normalize_phone(faker.phone_number(), "CZ")
            email = faker.email().lower()
            names.append(name)
            phones.append(phone)
            for field, value, kind in (("number", phone, "phone"), ("email", email, "email")):
                identifiers.append(
                    {
                        "tenant_id": TENANT,
                        "object_type": "contacts",
                        "object_name": name,
                        "field": field,
                        "value": value,
                        "kind": kind,
                    }
                )
            contacts.append(
                {
                    "tenant_id": TENANT,
                    "name": name,
                    "title": f"{first} {last}",
                    "firstname": first,
                    "lastname": last,
                    "database": "main",
                    "account": rnd.choice(self.accounts) if rnd.random() < 0.5 else None,
                    "user": rnd.choice(self.operators) if rnd.random() < 0.3 else None,
                    "description": None,
                    "custom_fields": {
                        "number": [phone],
                        "email": [email],
                        "address": [faker.address().replace("\n", ", ")],
                    },
                    "consents": {},
                    **self.stamps(self.when(rnd)),
                }
            )
        with self.writing() as conn:
            fast_writes(conn)
            write_rows(conn, Contact, contacts)
            write_rows(conn, Identifier, identifiers)
        return names, phones

    def tickets(self, progress: Progress) -> list[int]:
        count = max(1, self.size.contacts // 10)
        numbers = list(range(1, count + 1))

        def rows() -> Iterator[dict[str, Any]]:
            for number in numbers:
                when = self.when()
                stage = self.rnd.choice(["OPEN", "WAIT", "CLOSE", "CLOSE", "ARCHIVE"])
                yield {
                    "tenant_id": TENANT,
                    "name": number,
                    "title": self.rnd.choice(
                        ["Reklamace zboží", "Dotaz na fakturu", "Změna adresy", "Nefunkční přihlášení"]
                    ),
                    "category": self.rnd.choice(["reklamace", "dotazy", "fakturace", "technika", "obchod"]),
                    "user": self.rnd.choice(self.operators),
                    "contact": self.rnd.choice(self.contacts),
                    "email": None,
                    "stage": stage,
                    "priority": self.rnd.choice(["LOW", "MEDIUM", "HIGH"]),
                    "description": "Zákazník popsal problém telefonicky.",
                    "followers": [],
                    "custom_fields": {},
                    "consents": {},
                    "closed": when if stage in ("CLOSE", "ARCHIVE") else None,
                    "last_activity": when,
                    "anonymized": False,
                    **self.stamps(when),
                }

        self.bulk(progress, "tickets", Ticket, count, rows())
        with self.writing() as conn:
            conn.execute(insert(Counter), [{"tenant_id": TENANT, "kind": "tickets", "value": count}])
        return numbers

    def activities(self, progress: Progress, tickets: list[int]) -> None:
        self.tickets_made = tickets
        sampled = self.fan_out(
            progress, "activities, items, messages", "activity_batch", self.plan["activities"]
        )
        self.chosen = [call for calls in sampled for call in calls]

    def activity_batch(self, index: int) -> list[str]:
        """One batch of activities with their channel items and messages, in one transaction;
        returns this batch's share of the calls that get a recording."""
        rnd = self.batch_random("activities", index)
        tickets = self.tickets_made
        kinds = [k for k, _ in CHANNEL_MIX]
        weights = [w for _, w in CHANNEL_MIX]
        items: dict[str, list[dict[str, Any]]] = {k: [] for k in kinds}
        messages: list[dict[str, Any]] = []
        calls: list[str] = []
        words = ["Dobrý den", "Děkuji", "Kdy dorazí zásilka?", "Posílám číslo objednávky", "Na shledanou"]
        batch: list[dict[str, Any]] = []
        for when in in_time_order(self.now, YEARS * 365 * 86400, self.plan["activities"], index, rnd):
            kind = rnd.choices(kinds, weights)[0]
            name = self.key("activities", rnd)
            duration = rnd.randrange(20, 900)
            known = rnd.random() < 0.7
            who = rnd.randrange(len(self.contacts))
            contact = self.contacts[who] if known else None
            phone = self.phones[who] if known else normalize_phone(f"60{rnd.randrange(10**7):07d}", "CZ")
            queue = rnd.choice(CALL_QUEUES)[0] if kind == "CALL" else rnd.choice(QUEUE_OF[kind])
            item: dict[str, Any] = {"tenant_id": TENANT, "name": name}
            if kind == "CALL":
                calls.append(name)
                item |= {
                    "clid": phone,
                    "did": "+420222333444",
                    "direction": "in" if queue < "106" else "out",
                    "answered": rnd.random() < 0.85,
                    "waiting_time": rnd.randrange(0, 120),
                    "ringing_time": rnd.randrange(0, 30),
                    "hold_time": 0,
                    "duration": duration,
                    "disposition": None,
                }
            elif kind == "EMAIL":
                item |= {
                    "address": f"zakaznik{rnd.randrange(10**6)}@example.cz",
                    "title": "Dotaz",
                    "text": "Dobrý den, prosím o informaci o stavu objednávky.",
                    "html": None,
                    "headers": {},
                    "direction": "in",
                    "state": "SENT",
                    "message_id": None,
                }
            elif kind == "CHAT":
                item |= {
                    "title": "Zákazník",
                    "email": None,
                    "phone": phone,
                    "gdpr": True,
                    "ipaddress": f"198.51.100.{rnd.randrange(1, 254)}",
                    "browser": "Firefox",
                }
            elif kind == "SMS":
                item |= {"sender": phone, "direction": "in"}
            else:
                item |= {
                    "sender": str(10**15 + rnd.randrange(10**15)),
                    "title": "Zákazník",
                    "direction": "in",
                }
            items[kind].append(item)
            if kind in ("CHAT", "SMS", "FBM"):
                for i in range(2):
                    messages.append(
                        {
                            "tenant_id": TENANT,
                            "name": self.key("messages", rnd),
                            "activity": name,
                            "direction": "IN" if i == 0 else "OUT",
                            "text": rnd.choice(words),
                            "time": when + dt.timedelta(seconds=30 * i),
                            "user": None,
                        }
                    )
            batch.append(
                {
                    "tenant_id": TENANT,
                    "name": name,
                    "type": kind,
                    "queue": queue,
                    "user": rnd.choice(self.operators),
                    "contact": contact,
                    "ticket": rnd.choice(tickets) if rnd.random() < 0.1 else None,
                    "record": None,
                    "title": None,
                    "description": None,
                    "action": "CLOSE",
                    "important": False,
                    "time": when,
                    "time_open": when,
                    "time_close": when + dt.timedelta(seconds=duration),
                    "duration": duration,
                    "anonymized": False,
                    "custom_fields": {},
                    "consents": {},
                    **self.stamps(when),
                }
            )
        with self.writing() as conn:
            fast_writes(conn)
            write_rows(conn, Activity, batch)
            for kind, model in ITEM.items():
                write_rows(conn, model, items[kind])
            write_rows(conn, Message, messages)
        quota = share(self.size.recordings, len(self.plan["activities"]))[index]
        return rnd.sample(calls, min(quota, len(calls)))

    def recordings(self, progress: Progress) -> None:
        self.audio = [synth_wav(self.rnd.uniform(1.0, 2.5), seed=i) for i in range(16)]
        self.plan["recordings"] = split(len(self.chosen), RECORDING_BATCH)
        self.fan_out(progress, "recordings (encrypted)", "recording_batch", self.plan["recordings"])

    def recording_batch(self, index: int) -> None:
        """One batch of recordings, each an encrypted blob with its transcript, in one transaction."""
        rnd = self.batch_random("recordings", index)
        files = Files(self.settings)
        lines = ["Dobrý den, zákaznická linka.", "Volám kvůli objednávce.", "Zásilka dorazí zítra."]
        start = index * RECORDING_BATCH
        with unit_of_work(self.factory) as s:
            fast_writes(s.connection())
            for call in self.chosen[start : start + RECORDING_BATCH]:
                audio = rnd.choice(self.audio)
                blob = files.put(s, TENANT, [audio], "audio/wav")
                s.add(
                    Recording(
                        tenant_id=TENANT,
                        name=call,
                        blob=blob.name,
                        mime="audio/wav",
                        duration=round((len(audio) - 44) / 16000, 3),
                        size=len(audio),
                        status="Converted",
                    )
                )
                for i, line in enumerate(lines):
                    s.add(
                        TranscriptSegment(
                            tenant_id=TENANT,
                            name=self.key("transcripts", rnd),
                            activity=call,
                            start=i * 2.0,
                            end=i * 2.0 + 1.8,
                            speaker="agent" if i % 2 == 0 else "customer",
                            text=line,
                        )
                    )

    def campaign(self, progress: Progress) -> None:
        count = max(1, self.size.contacts // 5)

        def rows() -> Iterator[dict[str, Any]]:
            for _ in range(count):
                index = self.rnd.randrange(len(self.contacts))
                yield {
                    "tenant_id": TENANT,
                    "name": self.key("records"),
                    "record_type": "kampan",
                    "queue": "106",
                    "contact": self.contacts[index],
                    "user": None,
                    "number": self.phones[index],
                    "action": self.rnd.choice([1, 1, 5, 6]),
                    "nextcall": None,
                    "custom_fields": {},
                    "consents": {},
                    "anonymized": False,
                    **self.stamps(self.when()),
                }

        self.bulk(progress, "campaign records", CampaignRecord, count, rows())

    def search(self) -> None:
        """The search index of the records inserted above without the ORM (hovor.index.rebuild)."""
        with self.writing() as conn:
            rebuild(conn, TENANT)

    def analyze(self) -> None:
        """Statistics, and on PostgreSQL the visibility map a database in use has from autovacuum:
        without it a count by index (a list page's total) visits the table for every row."""
        if self.engine.dialect.name != "postgresql":
            with self.writing() as conn:
                conn.execute(text("ANALYZE"))
            return
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE)"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--db", required=True, help="SQLAlchemy URL of an empty database")
    parser.add_argument("--data-dir", help="blob store and keys (default var/bench/<db name>)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes (one per core)")
    args = parser.parse_args(argv)
    console = Console(stderr=True)
    data_dir = data_dir_for(args.db, args.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    gen = Generator(SIZES[args.size], args.db, data_dir, args.seed, console, args.jobs)
    started = time.monotonic()
    timings: dict[str, float] = {}

    def phase(name: str, fn: Callable[[], Any]) -> Any:
        t0 = time.monotonic()
        result = fn()
        timings[name] = round(time.monotonic() - t0, 1)
        return result

    columns = (TextColumn("{task.description:<24}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        phase("schema", gen.schema)
        token = phase("tenant", gen.tenant)
        phase("crm", lambda: gen.crm(progress))
        tickets = phase("tickets", lambda: gen.tickets(progress))
        phase("activities", lambda: gen.activities(progress, tickets))
        with unsynced():
            phase("recordings", lambda: gen.recordings(progress))
        phase("campaign", lambda: gen.campaign(progress))
        phase("search", gen.search)
        phase("analyze", gen.analyze)
    sample = gen.rnd.sample(range(len(gen.contacts)), min(2000, len(gen.contacts)))
    meta = {
        "size": args.size,
        "seed": args.seed,
        "db": args.db,
        "tenant": TENANT,
        "token": token,
        "contacts": [gen.contacts[i] for i in sample],
        "phones": [gen.phones[i] for i in sample],
        "queues": [q for q, _ in CALL_QUEUES],
        "now": gen.now.isoformat(),
        "generated_seconds": round(time.monotonic() - started, 1),
        "jobs": gen.jobs,
        "phases": timings,
    }
    (data_dir / META).write_text(json.dumps(meta, indent=1))
    print(json.dumps({k: meta[k] for k in ("size", "db", "jobs", "generated_seconds", "phases")}))


if __name__ == "__main__":
    main()
