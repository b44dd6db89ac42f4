"""Who the person is: the name forms, phone numbers, e-mail addresses, social ids and IP addresses
found in the records of the plan. Held in memory only, never stored in the job: the steps that
need them read them again after a restart."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hovor.activities import channels
from hovor.campaigns.models import CampaignRecord
from hovor.core.caller import Caller
from hovor.crm.models import Contact
from hovor.helpdesk.models import Ticket
from hovor.index.models import Identifier
from hovor.jobs import service as jobs
from hovor.privacy.erasure.context import caller_of
from hovor.privacy.erasure.plan import GROUP_TYPE, Plan, in_chunks, plan_of
from hovor.privacy.redact import Redactor, name_forms
from hovor.privacy.resolver import resolve


@dataclass
class Identity:
    """The person's identifiers as found in the records of the plan. Held in memory only."""

    names: list[tuple[str | None, str | None]] = field(default_factory=list)
    phones: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    socials: set[str] = field(default_factory=set)
    ips: set[str] = field(default_factory=set)

    def redactor(self, country: str) -> Redactor:
        given: set[str] = set()
        surname: set[str] = set()
        for first, last in self.names:
            g, s = name_forms(first, last)
            given |= g
            surname |= s
        return Redactor(country, given, surname, set(self.phones), {e.casefold() for e in self.emails})


def _of_contacts(session: Session, tenant_id: str, keys: list[str], ident: Identity) -> None:
    for chunk in in_chunks(keys):
        for first, last in session.execute(
            select(Contact.firstname, Contact.lastname).where(
                Contact.tenant_id == tenant_id, Contact.name.in_(chunk)
            )
        ):
            ident.names.append((first, last))
        for kind, value in session.execute(
            select(Identifier.kind, Identifier.value).where(
                Identifier.tenant_id == tenant_id,
                Identifier.object_type == "contacts",
                Identifier.object_name.in_(chunk),
            )
        ):
            (ident.phones if kind == "phone" else ident.emails).add(value)


def _values(session: Session, stmt: Any) -> set[str]:
    return {v for v in session.scalars(stmt) if v}


def _of_activities(session: Session, tenant_id: str, keys: list[str], ident: Identity) -> None:
    columns: list[tuple[Any, Any, set[str]]] = [
        (kind.model, column, into)
        for kind in channels.KINDS
        for found, into in (
            (kind.phones, ident.phones),
            (kind.emails, ident.emails),
            (kind.ips, ident.ips),
            (kind.socials, ident.socials),
        )
        for column in found
    ]
    for chunk in in_chunks(keys):
        for model, column, into in columns:
            into |= _values(
                session, select(column).where(model.tenant_id == tenant_id, model.name.in_(chunk))
            )


def identity(session: Session, tenant_id: str, plan: Plan) -> Identity:
    ident = Identity()
    _of_contacts(session, tenant_id, plan.keys["contacts"], ident)
    _of_activities(session, tenant_id, plan.keys["activities"], ident)
    for chunk in in_chunks(plan.keys["tickets"]):
        ident.emails |= _values(
            session,
            select(Ticket.email).where(
                Ticket.tenant_id == tenant_id, Ticket.name.in_([int(k) for k in chunk])
            ),
        )
    for chunk in in_chunks(plan.keys["campaignsRecords"]):
        ident.phones |= _values(
            session,
            select(CampaignRecord.number).where(
                CampaignRecord.tenant_id == tenant_id, CampaignRecord.name.in_(chunk)
            ),
        )
    return ident


def unlinked(session: Session, caller: Caller, plan: Plan, ident: Identity) -> dict[str, list[str]]:
    """Records the resolver finds for the person's identifiers that the plan does not hold yet."""
    found: dict[str, set[str]] = {}
    lookups: list[dict[str, Any]] = [
        *({"phone": p} for p in ident.phones),
        *({"email": e} for e in ident.emails),
        *({"social": s} for s in ident.socials),
        *({"ip": i} for i in ident.ips),
        *({"name": (f or "", last)} for f, last in ident.names if last),
    ]
    for lookup in lookups:
        for group, keys in resolve(session, caller, **lookup).items():
            found.setdefault(group, set()).update(keys)
    planned = {t: set(v) for t, v in plan.keys.items()}
    out: dict[str, list[str]] = {}
    for group, group_keys in found.items():
        kind = GROUP_TYPE.get(group)
        rest = sorted(k for k in group_keys if kind is None or k not in planned.get(kind, set()))
        if rest:
            out[group] = rest
    return out


def redactor_of(session: Session, run: jobs.Run) -> Redactor:
    """Who the person is, read once per run of the job (a resumed job reads it again)."""
    if "redactor" not in run.memo:
        country = caller_of(session, run).country
        run.memo["redactor"] = identity(session, run.tenant_id, plan_of(run)).redactor(country)
    redactor: Redactor = run.memo["redactor"]
    return redactor
