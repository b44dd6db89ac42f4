"""Where the data lives: the platform operator declares, per store (the database, the blob store,
each backup destination, the cache), the provider, country and region — once for every tenant, and
per tenant where one tenant's data lives elsewhere. A tenant sees the defaults merged with its own
overrides.

Every change is audited in the platform's chain and in the chain of each tenant whose merged view
it changes (``platform.locations.change``): that entry is how the tenant's DPO learns of it, as the
DPO reads the tenant's audit log. A store outside the EU/EEA is a transfer (GDPR Chapter V), and
the entry says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pycountry
from sqlalchemy import select
from sqlalchemy.orm import Session

from hovor.audit import log as audit
from hovor.core.errors import NotFound, ValidationFailed
from hovor.tenancy.models import DataLocation, Tenant

DEFAULT = "*"
KINDS = ("database", "blobs", "backup", "cache")
MAIN = "main"

# The EU's 27 members and the other EEA states (Iceland, Liechtenstein, Norway): storing data in
# any of them is no transfer to a third country.
EEA = frozenset(
    {
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "HU",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
        "IS",
        "LI",
        "NO",
    }
)


@dataclass(frozen=True)
class Location:
    kind: str
    name: str
    provider: str
    country: str
    region: str | None
    description: str | None
    source: str  # "configured" | "default" | "tenant"
    medium: str | None = None  # from the configured URL (hovor.tenancy.configured), never declared

    @property
    def transfer(self) -> bool:
        return self.country not in EEA

    def wire(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "provider": self.provider,
            "country": self.country,
            "region": self.region,
            "description": self.description,
            "eea": not self.transfer,
            "transfer": self.transfer,
            "source": self.source,
            "medium": self.medium,
        }


def check(kind: str, name: str, provider: str, country: str, region: str | None) -> str:
    """A clear 400 for a declaration that cannot be; answers the country code upper-cased."""
    form: dict[str, list[str]] = {}
    if kind not in KINDS:
        form["kind"] = [f"Use one of: {', '.join(KINDS)}."]
    if not name or len(name) > 64 or not all(c.isalnum() or c in "-_." for c in name):
        form["name"] = ["Use 1 to 64 letters, digits, '-', '_' or '.'."]
    if not provider.strip() or len(provider) > 255:
        form["provider"] = ["Give the provider (at most 255 characters)."]
    code = country.strip().upper()
    if len(code) != 2 or not code.isascii() or pycountry.countries.get(alpha_2=code) is None:
        form["country"] = ["Unknown country; use an ISO 3166-1 alpha-2 code such as CZ."]
    if region is not None and len(region) > 255:
        form["region"] = ["At most 255 characters."]
    if form:
        raise ValidationFailed(form)
    return code


def _check_scope(session: Session, tenant_id: str | None) -> str:
    if tenant_id is None:
        return DEFAULT
    if session.get(Tenant, tenant_id) is None:
        raise NotFound("No such tenant.")
    return tenant_id


def _rows(session: Session, scope: str) -> dict[tuple[str, str], DataLocation]:
    return {
        (r.kind, r.name): r for r in session.scalars(select(DataLocation).where(DataLocation.scope == scope))
    }


def merged(session: Session, tenant_id: str) -> list[Location]:
    """The tenant's locations: each default unless the tenant has its own for that store."""
    out: dict[tuple[str, str], Location] = {}
    for source, scope in (("default", DEFAULT), ("tenant", tenant_id)):
        for key, r in _rows(session, scope).items():
            out[key] = Location(r.kind, r.name, r.provider, r.country, r.region, r.description, source)
    return sorted(out.values(), key=lambda loc: (KINDS.index(loc.kind), loc.name))


def _affected(session: Session, scope: str, kind: str, name: str) -> list[str]:
    """The tenants whose merged view a change in ``scope`` changes: the one tenant, or every tenant
    without an override of that store."""
    if scope != DEFAULT:
        return [scope]
    overridden = set(
        session.scalars(
            select(DataLocation.scope).where(
                DataLocation.scope != DEFAULT, DataLocation.kind == kind, DataLocation.name == name
            )
        )
    )
    return [t for t in session.scalars(select(Tenant.id).order_by(Tenant.id)) if t not in overridden]


def _audit(
    session: Session, scope: str, kind: str, name: str, actor: audit.Actor, details: dict[str, Any]
) -> int:
    base = {"scope": "default" if scope == DEFAULT else "tenant", "kind": kind, "name": name, **details}
    audit.record(session, audit.PLATFORM, "platform.locations.change", actor, "dataLocations", kind, base)
    tenants = _affected(session, scope, kind, name)
    for tenant_id in tenants:
        audit.record(session, tenant_id, "platform.locations.change", actor, "dataLocations", kind, base)
    return len(tenants)


def set_location(
    session: Session,
    actor: audit.Actor,
    kind: str,
    *,
    provider: str,
    country: str,
    region: str | None = None,
    description: str | None = None,
    name: str = MAIN,
    tenant_id: str | None = None,
) -> tuple[DataLocation, int]:
    """Declares (or changes) where a store lives; answers the row and how many tenants were told."""
    code = check(kind, name, provider, country, region)
    scope = _check_scope(session, tenant_id)
    row = session.get(DataLocation, (scope, kind, name))
    before = None if row is None else row.country
    if row is None:
        row = DataLocation(scope=scope, kind=kind, name=name)
        session.add(row)
    row.provider, row.country, row.region, row.description = provider.strip(), code, region, description
    session.flush()
    told = _audit(
        session,
        scope,
        kind,
        name,
        actor,
        {
            "change": "set",
            "country": code,
            "before": before,
            "provider": row.provider,
            "transfer": code not in EEA,
        },
    )
    return row, told


def unset_location(
    session: Session, actor: audit.Actor, kind: str, *, name: str = MAIN, tenant_id: str | None = None
) -> int:
    """Removes a declaration (a tenant's override: the default applies again)."""
    scope = _check_scope(session, tenant_id)
    row = session.get(DataLocation, (scope, kind, name))
    if row is None:
        raise NotFound("No such location is declared.")
    told = _audit(session, scope, kind, name, actor, {"change": "unset", "before": row.country})
    session.delete(row)
    session.flush()
    return told


def declared(session: Session) -> list[DataLocation]:
    """Every declaration, defaults first (for the operator's list)."""
    rows = list(session.scalars(select(DataLocation)))
    return sorted(rows, key=lambda r: (r.scope != DEFAULT, r.scope, KINDS.index(r.kind), r.name))
