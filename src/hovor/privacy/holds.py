"""Legal holds: while one lasts, the records it covers cannot be deleted, erased or expired.

A hold names one record: a contact (and every record linked to it), a ticket (with its comments and
files), an activity, a queue (every activity and campaign record in it) or a campaign (its record
type: every record of it). :func:`check` refuses with a 409 that names the hold.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from hovor.core.db import utcnow
from hovor.core.errors import HoldBlocked
from hovor.privacy.models import LegalHold

HOLD_TYPES = ("contacts", "tickets", "activities", "queues", "campaignsTypes")

Pair = tuple[str, str]


def active(session: Session, tenant_id: str, pairs: Iterable[Pair]) -> LegalHold | None:
    """The first hold in force over any of the (object type, key) pairs, or None."""
    by_type: dict[str, set[str]] = {}
    for kind, key in pairs:
        if key is not None and key != "":
            by_type.setdefault(kind, set()).add(str(key))
    if not by_type:
        return None
    now = utcnow()
    # Few holds exist; the pairs may be thousands (an erasure). Chunks keep the IN lists bounded.
    for kind, keys in by_type.items():
        ordered = sorted(keys)
        for i in range(0, len(ordered), 500):
            hold = session.scalars(
                select(LegalHold)
                .where(
                    LegalHold.tenant_id == tenant_id,
                    and_(LegalHold.object_type == kind, LegalHold.object_key.in_(ordered[i : i + 500])),
                    or_(LegalHold.until.is_(None), LegalHold.until > now),
                )
                .order_by(LegalHold.created)
                .limit(1)
            ).first()
            if hold is not None:
                return hold
    return None


def check(session: Session, tenant_id: str, pairs: Iterable[Pair], what: str = "record") -> None:
    hold = active(session, tenant_id, pairs)
    if hold is not None:
        raise HoldBlocked(
            f"Legal hold {hold.name} on {hold.object_type} {hold.object_key} covers this {what}; "
            "nothing was changed. Release the hold first.",
            hold.name,
        )


def of_activity(activity: Any) -> list[Pair]:
    return [
        ("activities", activity.name),
        ("queues", activity.queue),
        ("contacts", activity.contact),
        ("tickets", None if activity.ticket is None else str(activity.ticket)),
    ]


def of_ticket(ticket: Any) -> list[Pair]:
    return [("tickets", str(ticket.name)), ("contacts", ticket.contact)]


def of_record(record: Any) -> list[Pair]:
    return [("campaignsTypes", record.record_type), ("queues", record.queue), ("contacts", record.contact)]


def of_crm_record(record: Any) -> list[Pair]:
    return [
        ("contacts", record.contact),
        ("tickets", None if record.ticket is None else str(record.ticket)),
    ]


def of_contact(contact: Any) -> list[Pair]:
    return [("contacts", contact.name)]


@dataclass(frozen=True)
class Held:
    """What legal holds in force keep (few rows: read once per chunk of a sweep)."""

    by_type: dict[str, frozenset[str]]

    def of(self, kind: str) -> frozenset[str]:
        return self.by_type.get(kind, frozenset())

    def covers(self, pairs: Iterable[Pair]) -> bool:
        return any(key is not None and str(key) in self.of(kind) for kind, key in pairs)


def held(session: Session, tenant_id: str, now: dt.datetime) -> Held:
    by: dict[str, set[str]] = {}
    for kind, key in session.execute(
        select(LegalHold.object_type, LegalHold.object_key).where(
            LegalHold.tenant_id == tenant_id, or_(LegalHold.until.is_(None), LegalHold.until > now)
        )
    ):
        by.setdefault(kind, set()).add(key)
    return Held({k: frozenset(v) for k, v in by.items()})
