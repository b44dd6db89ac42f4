"""Tenants: creation with their built-in roles and rights, and their settings."""

from __future__ import annotations

import re

import phonenumbers
from sqlalchemy.orm import Session

from hovor.audit import log as audit
from hovor.audit.log import Actor
from hovor.core.errors import Conflict, NotFound, ValidationFailed
from hovor.core.wire import valid_zone
from hovor.tenancy.models import Tenant

TENANT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
SUPPORTED_REGIONS = phonenumbers.SUPPORTED_REGIONS


def check_settings(timezone: str | None, country: str | None) -> None:
    form: dict[str, list[str]] = {}
    if timezone is not None and not valid_zone(timezone):
        form["timezone"] = ["Unknown time zone; use an IANA name such as Europe/Prague."]
    if country is not None and country.upper() not in SUPPORTED_REGIONS:
        form["country"] = ["Unknown country; use an ISO 3166 code such as CZ."]
    if form:
        raise ValidationFailed(form)


MAX_RETENTION_DAYS = 36500


def check_ceiling(days: int, field: str = "recordings_retention_days") -> None:
    if not 1 <= days <= MAX_RETENTION_DAYS:
        raise ValidationFailed({field: [f"Use 1 to {MAX_RETENTION_DAYS} days."]})


def set_recordings_ceiling(session: Session, tenant_id: str, days: int, actor: Actor) -> Tenant:
    """The platform operator's change of a tenant's recording-retention ceiling (never a tenant
    user's: the tenant's API has no way to it). Queues that kept recordings longer now keep them
    for the ceiling: the sweep takes the shorter of the two."""
    return _set_days(session, tenant_id, "recordings_retention_days", days, actor)


def set_contract_retention(session: Session, tenant_id: str, days: int, actor: Actor) -> Tenant:
    """The platform operator's change of the contract's retention: every retention policy of the
    tenant is bounded by it (a policy longer than a lowered contract is swept at the contract's
    days), and a kind of record without a policy is kept this long."""
    return _set_days(session, tenant_id, "retention_days", days, actor)


def _set_days(session: Session, tenant_id: str, field: str, days: int, actor: Actor) -> Tenant:
    check_ceiling(days, field)
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound("No such tenant.")
    before = getattr(tenant, field)
    setattr(tenant, field, days)
    session.flush()
    audit.record(
        session,
        tenant_id,
        "tenancy.tenant.update",
        actor,
        "tenant",
        tenant_id,
        {"fields": [field], "from": before, "to": days},
    )
    return tenant


def create_tenant(
    session: Session,
    tenant_id: str,
    title: str,
    timezone: str = "Europe/Prague",
    country: str = "CZ",
    dpo_name: str | None = None,
    dpo_email: str | None = None,
    dpo_phone: str | None = None,
    actor: Actor | None = None,
    recordings_retention_days: int = 365,
    retention_days: int | None = None,
) -> Tenant:
    if not TENANT_ID.match(tenant_id):
        raise ValidationFailed({"id": ["Use 2-63 lower-case letters, digits and dashes."]})
    check_settings(timezone, country)
    check_ceiling(recordings_retention_days)
    if retention_days is not None:
        check_ceiling(retention_days, "retention_days")
    if session.get(Tenant, tenant_id) is not None:
        raise Conflict("A tenant with this id already exists.")
    tenant = Tenant(
        id=tenant_id,
        title=title,
        timezone=timezone,
        country=country.upper(),
        dpo_name=dpo_name,
        dpo_email=dpo_email,
        dpo_phone=dpo_phone,
        recordings_retention_days=recordings_retention_days,
        retention_days=retention_days,
    )
    session.add(tenant)
    session.flush()
    # The first entry of the tenant's audit chain.
    audit.record(
        session, tenant_id, "tenancy.tenant.create", actor or Actor.system("hovor"), "tenant", tenant_id
    )
    return tenant
