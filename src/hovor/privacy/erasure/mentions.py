"""The ``mentions`` step: the person's name forms, phone numbers and e-mail addresses redacted in
other people's records.

The database pre-filters rows with ``LIKE`` on substrings every mention must contain
(:func:`hovor.privacy.redact.probes`), so only those rows are read and redacted here. A row of a
record under a legal hold keeps the mention; the preview says which hold keeps it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    String,
    Text,
    any_,
    cast,
    delete,
    func,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import array as pg_array
from sqlalchemy.orm import Session

from hovor.audit.keys import Pseudonyms
from hovor.core.db import Base, new_name, planner_settings, unit_of_work
from hovor.core.personal_data import FREE_TEXT_ROWS, Category, Erasure, Owner, classification
from hovor.index import search
from hovor.index.models import Identifier, SearchEntry
from hovor.jobs import service as jobs
from hovor.privacy import holds
from hovor.privacy.erasure.columns import fit, is_empty, map_text
from hovor.privacy.erasure.context import CHUNK
from hovor.privacy.erasure.identity import redactor_of
from hovor.privacy.erasure.plan import CHILDREN, INDEX_TYPE, MODELS, Plan, plan_of
from hovor.privacy.models import MentionRedaction
from hovor.privacy.redact import Redactor, hashed_forms, probes

FREE_TEXT = (Category.TEXT, Category.HTML, Category.FORM)


@dataclass
class Mention:
    """A row of another person's record that mentions the person, and what it becomes."""

    table: Any
    key: dict[str, Any]
    values: dict[str, Any]
    fields: list[str]
    record: tuple[str, str] | None  # (record type, key) of the record the row belongs to
    held_by: str | None = None  # the legal hold that keeps it as it is


def owners() -> dict[str, list[tuple[str, str]]]:
    """Which planned record a row belongs to: its table → (plan type, column with the record's key)."""
    out: dict[str, list[tuple[str, str]]] = {}
    for kind, model in MODELS.items():
        out.setdefault(model.__tablename__, []).append((kind, "name"))
    for kind, children in CHILDREN.items():
        for child, column in children:
            out.setdefault(child.__tablename__, []).append((kind, column))
    return out


def free_text_columns() -> dict[Any, list[Column[Any]]]:
    """Per table: the columns of free text, forms and HTML that may mention a person. (The search
    index is left out: its entries are rewritten from the rows redacted here.)"""
    out: dict[Any, list[Column[Any]]] = {}
    for table in Base.metadata.sorted_tables:
        if table is SearchEntry.__table__:
            continue
        for column in table.columns:
            cls = classification(column)
            if (
                cls is not None
                and cls.category in FREE_TEXT
                and cls.owner is Owner.SUBJECT
                and cls.erasure is not Erasure.KEEP
                and "tenant_id" in table.c
            ):
                out.setdefault(table, []).append(column)
    return out


def _record_of(table: Any, row: Any) -> tuple[str, str] | None:
    for kind, column in owners().get(table.name, []):
        if row[column] is not None:
            return kind, str(row[column])
    return None


def _record_holds(session: Session, tenant_id: str, record: tuple[str, str] | None) -> list[holds.Pair]:
    if record is None:
        return []
    kind, key = record
    if kind == "contacts":
        return [("contacts", key)]
    if kind == "accounts":
        return []
    model = MODELS[kind]
    obj = session.get(model, (tenant_id, int(key) if kind == "tickets" else key))
    if obj is None:
        return []
    of = {
        "activities": holds.of_activity,
        "tickets": holds.of_ticket,
        "campaignsRecords": holds.of_record,
        "crmRecords": holds.of_crm_record,
    }
    return of[kind](obj)


def _redacted(
    table: Any, row: Any, columns: list[Column[Any]], redactor: Redactor
) -> tuple[dict[str, Any], list[str]]:
    new: dict[str, Any] = {}
    changed: list[str] = []
    for column in columns:
        value = row[column.name]
        if is_empty(value):
            continue
        redacted = fit(column, map_text(value, redactor.mentions))
        if redacted != value:
            new[column.name] = redacted
            changed.append(f"{table.name}.{column.name}")
    return new, changed


def _ascii_lower(value: str) -> str:
    return "".join(c.lower() if c.isascii() else c for c in value)


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# PostgreSQL: the tables whose free text a trigram index holds (migration 0038), as the expression
# of :func:`mention_text`. The largest ones where people write: at the large size the scans of
# these took three of an erasure's five seconds. A free-text column added to one of them changes
# the expression: its migration must make the index anew (test_erasure_rules fails until then).
MENTION_INDEXES = ("crm_contacts", "tickets", "activity_emails", "call_transcripts", "messages")


def _as_text(column: Column[Any]) -> Any:
    return column if isinstance(column.type, String | Text) else cast(column, Text)


def mention_text(columns: list[Column[Any]]) -> Any:
    """PostgreSQL: a row's free text in one lower-cased value, its columns joined by spaces (as
    the table's trigram index has it, word for word). A needle found in a column is found in it;
    one that spans two columns is a false alarm the redactor drops."""
    joined: Any = None
    for column in columns:
        part = func.coalesce(_as_text(column), literal_column("''"))
        joined = part if joined is None else joined.op("||")(literal_column("' '")).op("||")(part)
    return func.lower(joined)


def _patterns(needles: list[str]) -> list[str]:
    """Each needle as a ``LIKE`` pattern in both lowerings (the database's lower() may fold ASCII
    only)."""
    lowered = {x.lower() for x in needles} | {_ascii_lower(x) for x in needles}
    return sorted(f"%{_escape_like(n)}%" for n in lowered)


def may_mention(columns: list[Column[Any]], needles: list[str], postgres: bool) -> Any:
    """The condition under which one of ``columns`` holds one of the needles (a pre-filter: the
    redactor decides)."""
    if not postgres:
        # SQLite's LIKE ignores ASCII case; the needles come in the cases that matter beyond.
        return or_(
            *(
                _as_text(column).like(f"%{_escape_like(needle)}%", escape="\\")
                for column in columns
                for needle in needles
            )
        )
    # One lower() per row matched against every needle at once (ILIKE per needle costs six times
    # as much); backslash escapes by default.
    return mention_text(columns).like(any_(pg_array(_patterns(needles), type_=Text)))


def prefilter(
    table: Any, columns: list[Column[Any]], needles: list[str], tenant_id: str, postgres: bool
) -> list[Any]:
    """The conditions of a table's rows of the tenant that may mention one of the needles."""
    where = [table.c.tenant_id == tenant_id, may_mention(columns, needles, postgres)]
    if FREE_TEXT_ROWS in table.info:
        # Word for word the partial index's condition (see the model), so that the planner may
        # read the rows that have any text through it instead of the whole table.
        where.insert(1, text(f"({table.info[FREE_TEXT_ROWS]})"))
    return where


def prefilter_settings(table: Any) -> dict[str, str]:
    """PostgreSQL planner settings for a table's pre-filter: where an index holds the rows that
    have any text (a partial index) or their text (a trigram index), read through it. Both are on
    columns without statistics, so the planner takes a partial index for nearly the whole table,
    and a trigram match for thousands of rows, and would read the table instead (10M activities,
    6M messages at the large size)."""
    indexed = FREE_TEXT_ROWS in table.info or table.name in MENTION_INDEXES
    return {"enable_seqscan": "off"} if indexed else {}


def find_mentions(session: Session, tenant_id: str, redactor: Redactor, plan: Plan) -> Iterator[Mention]:
    """Every row of other people's records that mentions the person, with its redaction and the
    legal hold (if any) that keeps it unchanged."""
    needles = probes(redactor)
    if not needles:
        return
    owned = owners()
    planned = {t: set(v) for t, v in plan.keys.items()}
    postgres = session.get_bind().dialect.name == "postgresql"
    for table, columns in free_text_columns().items():
        pk = list(table.primary_key.columns)
        owned_by = owned.get(table.name, [])
        extra = [table.c[c] for _, c in owned_by if table.c[c] not in pk]
        stmt = select(*pk, *extra, *columns).where(*prefilter(table, columns, needles, tenant_id, postgres))
        # Planned under the settings (PostgreSQL's driver has the whole result once it is executed;
        # SQLite, where the settings change nothing, still streams it).
        with planner_settings(session, **prefilter_settings(table)):
            rows = session.execute(stmt).mappings()
        for row in rows:
            if any(str(row[c]) in planned.get(kind, set()) for kind, c in owned_by if row[c] is not None):
                continue  # the person's own record: anonymized, not redacted
            new, changed = _redacted(table, row, columns, redactor)
            if new:
                record = _record_of(table, row)
                hold = holds.active(session, tenant_id, _record_holds(session, tenant_id, record))
                key = {c.name: row[c.name] for c in pk}
                yield Mention(table, key, new, changed, record, hold.name if hold is not None else None)


def _unindex_values(
    session: Session, tenant_id: str, redactor: Redactor, records: list[tuple[str, str]]
) -> None:
    """The identifier index rows of the person's phones and addresses in the custom fields just
    redacted."""
    values = sorted(redactor.phones | redactor.emails)
    if not values or not records:
        return
    for kind, key in records:
        session.execute(
            delete(Identifier).where(
                Identifier.tenant_id == tenant_id,
                Identifier.object_type == INDEX_TYPE[kind],
                Identifier.object_name == key,
                Identifier.value.in_(values),
            )
        )


def _redact_chunk(
    session: Session, run: jobs.Run, chunk: list[Mention], redactor: Redactor, columns: dict[Any, Any]
) -> dict[str, int]:
    """One transaction: each mention of the chunk redacted as its row reads now. Returns the count
    of fields redacted per ``table.column``."""
    counts: dict[str, int] = {}
    redone: list[tuple[Mention, list[str]]] = []
    for mention in chunk:
        table = mention.table
        where = [table.c[name] == value for name, value in mention.key.items()]
        # Read again in this transaction: an edit made since the scan is redacted, not lost.
        row = session.execute(select(*table.c).where(*where)).mappings().first()
        if row is None:
            continue
        if holds.active(session, run.tenant_id, _record_holds(session, run.tenant_id, mention.record)):
            continue  # a hold placed since the scan
        values, changed = _redacted(table, row, columns[table], redactor)
        if values:
            session.execute(update(table).where(*where).values(**values))
            search.refresh_row(session, table.name, {"tenant_id": run.tenant_id, **mention.key})
            redone.append((mention, changed))
        for name in changed:
            counts[name] = counts.get(name, 0) + 1
    _unindex_values(session, run.tenant_id, redactor, [m.record for m, _ in redone if m.record])
    if redone:
        # For a restore of a backup from before: which rows to redact again, and keyed hashes of
        # what to take out of them (hovor.backup.replay).
        session.add(
            MentionRedaction(
                tenant_id=run.tenant_id,
                name=new_name("mentions"),
                job=run.name,
                # The columns redacted now (read again in this transaction), not the scan's.
                rows=[[m.table.name, _plain(m.key), sorted(changed)] for m, changed in redone],
                hashes=hashed_forms(redactor, run.tenant_id, Pseudonyms(run.env.settings.secret_key)),
            )
        )
    return counts


def _plain(key: dict[str, Any]) -> dict[str, Any]:
    return {k: v if isinstance(v, int | str) or v is None else str(v) for k, v in key.items()}


def step_mentions(run: jobs.Run) -> None:
    with run.env.reader() as reader:
        redactor = redactor_of(reader, run)
        found = [m for m in find_mentions(reader, run.tenant_id, redactor, plan_of(run)) if m.held_by is None]
    columns = free_text_columns()
    for i in range(0, len(found), CHUNK):
        with unit_of_work(run.env.factory) as session:
            counts = _redact_chunk(session, run, found[i : i + CHUNK], redactor, columns)
            run.beat(session, mentions=counts)
        run.fault("mentions.chunk")
