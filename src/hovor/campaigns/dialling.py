"""Which campaign records are offered for dialling, and why a record is not.

A dialer takes records whose ``action`` is ready or rescheduled (1, 2, 6). A record whose person
(its contact; without one, its number) is restricted (Art. 18), has objected to direct marketing,
has a number or address on the suppression list, or has no valid consent to the campaign type's
purpose on its channel is not offered: its ``blocked`` names the rule and its ``action`` becomes
0 (not assigned). Creating such a record ready to dial, or rescheduling it, is refused (409) with
the rule's name — never the number. When the reason goes (consent given again), ``blocked`` is
cleared and the record waits to be rescheduled.

The suppression list keeps keyed hashes only: the audit log's keyed pseudonyms (HMAC-SHA256 under
a key derived from the server secret and the tenant), of the normalised identifier (E.164,
case-folded address), so a check hashes the candidate the same way and compares.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hovor.audit.keys import Pseudonyms
from hovor.campaigns.models import CampaignRecord, RecordType, SuppressedIdentifier
from hovor.core.config import get_settings
from hovor.core.db import new_name
from hovor.core.errors import Conflict
from hovor.core.references import model_of
from hovor.forms import consent
from hovor.index.models import Identifier

# The dialer's states that offer a record: ready, rescheduled by the dialer, rescheduled.
DIALLABLE = frozenset({1, 2, 6})
NOT_ASSIGNED = 0
RESTRICTED, OBJECTION, SUPPRESSED, NO_CONSENT = "restricted", "objection", "suppressed", "no_consent"
REASONS = {
    RESTRICTED: "the person's data is restricted (Art. 18)",
    OBJECTION: "the person objected to direct marketing",
    SUPPRESSED: "the number or address is on the suppression list",
    NO_CONSENT: "the person has no valid consent to the campaign's purpose on its channel",
}


@lru_cache(maxsize=4)
def _pseudonyms(secret: str) -> Pseudonyms:
    return Pseudonyms(secret)


def digest(session: Session, tenant_id: str, value: str) -> str:
    """The keyed hash of a normalised identifier, as the suppression list keeps it (the same
    keyed pseudonym the audit log writes for it)."""
    settings = session.info.get("settings") or get_settings()
    return _pseudonyms(settings.secret_key)(tenant_id, value)


def is_suppressed(session: Session, tenant_id: str, values: Iterable[str]) -> bool:
    digests = sorted({digest(session, tenant_id, v) for v in values if v})
    if not digests:
        return False
    found = session.scalar(
        select(SuppressedIdentifier.name)
        .where(SuppressedIdentifier.tenant_id == tenant_id, SuppressedIdentifier.digest.in_(digests))
        .limit(1)
    )
    return found is not None


def suppress(
    session: Session, tenant_id: str, kind: str, value: str, reason: str, by: str | None
) -> SuppressedIdentifier:
    """Puts a normalised identifier on the list (once: adding it again returns the entry there)."""
    hashed = digest(session, tenant_id, value)
    there = session.scalar(
        select(SuppressedIdentifier).where(
            SuppressedIdentifier.tenant_id == tenant_id, SuppressedIdentifier.digest == hashed
        )
    )
    if there is not None:
        return there
    entry = SuppressedIdentifier(
        tenant_id=tenant_id,
        name=new_name("blacklist"),
        kind=kind,
        digest=hashed,
        reason=reason,
        created_by=by,
    )
    session.add(entry)
    session.flush()
    return entry


def identifiers_of(session: Session, tenant_id: str, contact: str) -> list[tuple[str, str]]:
    """(kind, value) of the phone numbers and e-mail addresses in a contact's fields and in its
    campaign records."""
    found = {
        (kind, value)
        for kind, value in session.execute(
            select(Identifier.kind, Identifier.value).where(
                Identifier.tenant_id == tenant_id,
                Identifier.object_type == "contacts",
                Identifier.object_name == contact,
            )
        )
    }
    numbers = session.scalars(
        select(CampaignRecord.number).where(
            CampaignRecord.tenant_id == tenant_id,
            CampaignRecord.contact == contact,
            CampaignRecord.number.is_not(None),
        )
    )
    found |= {("phone", n) for n in numbers if n}
    return sorted(found)


def contacts_with(session: Session, tenant_id: str, number: str | None) -> list[str]:
    """The contacts whose phone fields hold ``number``: who a record without a contact calls."""
    if not number:
        return []
    return sorted(
        set(
            session.scalars(
                select(Identifier.object_name).where(
                    Identifier.tenant_id == tenant_id,
                    Identifier.object_type == "contacts",
                    Identifier.value == number,
                )
            )
        )
    )


def reason_for(session: Session, record: CampaignRecord, record_type: RecordType) -> str | None:
    """The first rule that keeps ``record`` from being dialled, or None. The person is the record's
    contact; without one, the contacts that carry its number (and the record's own consent fields)."""
    tenant_id = record.tenant_id
    people = (
        [record.contact] if record.contact is not None else contacts_with(session, tenant_id, record.number)
    )
    for key in people:
        person = session.get(model_of("crm_contacts"), (tenant_id, key))
        if person is not None and person.restricted:
            return RESTRICTED
    events = consent.events_of(session, tenant_id, people, ("records", str(record.name)))
    deciding = (
        consent.decide(events, record_type.purpose, record_type.channel) if record_type.purpose else None
    )
    # An objection stops direct marketing for good (Art. 21(3)): only a consent the person gives
    # to the campaign's purpose after it counts; a campaign that asks no consent stays closed.
    objection = next((e for e in reversed(events) if e.source == consent.OBJECTION), None)
    if objection is not None and not (
        deciding is not None
        and deciding.state == consent.GIVEN
        and (deciding.time, deciding.created) > (objection.time, objection.created)
    ):
        return OBJECTION
    candidates = [record.number] if record.number else []
    for key in people:
        candidates += [value for _, value in identifiers_of(session, tenant_id, key)]
    if is_suppressed(session, tenant_id, candidates):
        return SUPPRESSED
    if record_type.purpose and (deciding is None or deciding.state != consent.GIVEN):
        return NO_CONSENT
    return None


def refusal(reason: str) -> Conflict:
    return Conflict(f"The record is not offered for dialling ({reason}): {REASONS[reason]}.")


def check(session: Session, record: CampaignRecord, *, dialling_asked: bool) -> None:
    """Sets the record's ``blocked``; refuses (409) when the caller asked for it to be dialled and
    a rule forbids it; otherwise a blocked record is taken out of dialling."""
    record_type = session.get(RecordType, (record.tenant_id, record.record_type))
    assert record_type is not None
    reason = reason_for(session, record, record_type)
    record.blocked = reason
    if reason is None:
        return
    if dialling_asked:
        raise refusal(reason)
    if record.action in DIALLABLE:
        record.action = NOT_ASSIGNED


def reevaluate(
    session: Session,
    tenant_id: str,
    *,
    contact: str | None = None,
    record: str | None = None,
    numbers: Iterable[str] = (),
    record_type: str | None = None,
) -> int:
    """Checks again every record of the person (by contact, by record key, by number) or of a
    campaign type, after what decides them changed. Returns how many are blocked now."""
    conditions: list[Any] = []
    if contact is not None:
        conditions.append(CampaignRecord.contact == contact)
    if record is not None:
        conditions.append(CampaignRecord.name == record)
    numbers = sorted(set(numbers))
    if numbers:
        conditions.append(CampaignRecord.number.in_(numbers))
    if record_type is not None:
        conditions.append(CampaignRecord.record_type == record_type)
    if not conditions:
        return 0
    blocked = 0
    stmt = select(CampaignRecord).where(CampaignRecord.tenant_id == tenant_id, or_(*conditions))
    for found in session.scalars(stmt):
        check(session, found, dialling_asked=False)
        blocked += found.blocked is not None
    session.flush()
    return blocked


@consent.on_change
def _consent_changed(
    session: Session, tenant_id: str, contact: str | None, object_type: str | None, object_name: str | None
) -> None:
    recheck_person(session, tenant_id, contact, record=object_name if object_type == "records" else None)


def recheck_person(session: Session, tenant_id: str, contact: str | None, record: str | None = None) -> int:
    """Checks again her records, and the records without a contact that call one of her numbers."""
    numbers = [v for k, v in identifiers_of(session, tenant_id, contact) if k == "phone"] if contact else []
    return reevaluate(session, tenant_id, contact=contact, record=record, numbers=numbers)


def recheck_identifiers(session: Session, tenant_id: str, identifiers: Iterable[tuple[str, str]]) -> int:
    """Checks again the records that dial one of ``identifiers`` (kind, normalised value) or whose
    contact carries one, after the suppression list changed. Returns how many are blocked now."""
    pairs = sorted(set(identifiers))
    if not pairs:
        return 0
    values = [v for _, v in pairs]
    contacts = set(
        session.scalars(
            select(Identifier.object_name).where(
                Identifier.tenant_id == tenant_id,
                Identifier.object_type == "contacts",
                Identifier.value.in_(values),
            )
        )
    )
    blocked = reevaluate(session, tenant_id, numbers=[v for k, v in pairs if k == "phone"])
    for contact in sorted(contacts):
        blocked += reevaluate(session, tenant_id, contact=contact)
    return blocked


def recheck_suppressed(session: Session, tenant_id: str) -> None:
    """After an entry left the list: the records it blocked are checked again (which entry blocked
    which record is not known — the list holds no numbers)."""
    stmt = select(CampaignRecord).where(
        CampaignRecord.tenant_id == tenant_id, CampaignRecord.blocked == SUPPRESSED
    )
    for found in session.scalars(stmt):
        check(session, found, dialling_asked=False)
    session.flush()
