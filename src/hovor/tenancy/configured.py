"""The stores the configuration names, beside the locations the operator declares for them.

The configuration knows which stores exist and what they are: the database (SQLite or
PostgreSQL), the blob store (a folder or an S3-compatible bucket), the cache (Redis, when
``HOVOR_FIREWALL_REDIS_URL`` is set) and each backup destination of ``HOVOR_BACKUP_DESTINATIONS``
with its own stated location. The declaration says what the configuration cannot: provider,
country, region. So:

- each backup destination whose entry states its country (``"country": "CZ"``, or a location that
  ends in a country code, ``"Prague, CZ"``) is a ``backup`` location by itself (source
  ``configured``); a declaration of the same name adds to it and may not contradict its country;
- every location shown carries the store's ``medium`` from the configuration (``sqlite``,
  ``postgresql``, ``file``, ``s3``, ``redis``), never from the declaration;
- :func:`findings` checks the declaration against the configuration: a declaration of a store that
  is not configured is an error (``hovor serve`` does not start, ``hovor locations check`` exits
  1), a configured store without a location is a warning (docs/operations.md, *Data locations*).

Messages name kinds, stores and countries, never anything of a tenant's data.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlparse

from sqlalchemy import select
from sqlalchemy.orm import Session

from hovor.core.config import Settings
from hovor.core.errors import ValidationFailed
from hovor.tenancy.locations import DEFAULT, MAIN, Location, check
from hovor.tenancy.models import DataLocation

MEDIA = {
    "sqlite": "sqlite",
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "file": "file",
    "s3": "s3",
    "redis": "redis",
    "rediss": "redis",
}
PROVIDERS = {"file": "mounted volume", "s3": "S3-compatible object storage"}


@dataclass(frozen=True)
class BackupEntry:
    """One entry of ``HOVOR_BACKUP_DESTINATIONS``, read but not opened."""

    name: str
    url: str
    location: str
    provider: str | None = None
    country: str | None = None
    region: str | None = None


def medium(url: str) -> str:
    scheme = urlparse(url).scheme.split("+", 1)[0].lower()
    return MEDIA.get(scheme, scheme or "unknown")


def backup_entries(settings: Settings) -> list[BackupEntry]:
    """The destinations the operator configured; a mistake in them is a ``ValueError`` here."""
    if not settings.backup_destinations.strip():
        return []
    raw = json.loads(settings.backup_destinations)
    if not isinstance(raw, list):
        raise ValueError("HOVOR_BACKUP_DESTINATIONS is a JSON list of {name, url, location}")
    out = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise ValueError("each backup destination is an object {name, url, location}")
        name, url, location = entry.get("name"), entry.get("url"), entry.get("location")
        if not (isinstance(name, str) and name and isinstance(url, str) and isinstance(location, str)):
            raise ValueError("each backup destination needs a name, a url and a location")
        extra = {k: entry.get(k) for k in ("provider", "country", "region")}
        if any(v is not None and not isinstance(v, str) for v in extra.values()):
            raise ValueError(f"backup destination {name!r}: provider, country and region are text")
        out.append(BackupEntry(name, url, location, **extra))
    if len({e.name for e in out}) != len(out):
        raise ValueError("backup destination names must differ")
    return out


def _derived(entry: BackupEntry) -> Location | None:
    """The entry as a location, when it says its country (checked as a declaration is)."""
    provider = entry.provider or PROVIDERS.get(medium(entry.url), medium(entry.url))
    tail = entry.location.rsplit(",", 1)[-1].strip() if "," in entry.location else ""
    try:
        if entry.country is None:
            # Free text ("Prague, CZ"): a location that does not end in a country code says none.
            code = check("backup", entry.name, provider, tail, entry.region) if len(tail) == 2 else None
        else:
            code = check("backup", entry.name, provider, entry.country, entry.region)
    except ValidationFailed as exc:
        if entry.country is None and set(exc.form or {}) == {"country"}:
            return None
        raise ValueError(f"backup destination {entry.name!r}: {sorted(exc.form or {})} invalid") from None
    if code is None:
        return None
    region = entry.region or entry.location
    return Location("backup", entry.name, provider, code, region, None, "configured", medium(entry.url))


def stores(settings: Settings) -> dict[tuple[str, str], str]:
    """Every configured store, (kind, name) → medium."""
    out = {
        ("database", MAIN): medium(settings.resolved_database_url),
        ("blobs", MAIN): medium(settings.resolved_blob_store_url),
    }
    if settings.firewall_redis_url:
        out["cache", MAIN] = medium(settings.firewall_redis_url)
    for entry in backup_entries(settings):
        out["backup", entry.name] = medium(entry.url)
    return out


@dataclass(frozen=True)
class Configured:
    """What the configuration says of the stores: their media, and the backup destinations that
    state their own location. Built once per process (``derive``); an unreadable configuration
    leaves both empty and :func:`findings` reports it."""

    media: dict[tuple[str, str], str]
    backups: tuple[Location, ...] = ()

    def apply(self, merged: Sequence[Location]) -> list[Location]:
        """A tenant's merged view with the configured backups it does not declare and every
        store's medium."""
        declared = {(loc.kind, loc.name) for loc in merged}
        extra = [loc for loc in self.backups if (loc.kind, loc.name) not in declared]
        kinds = ("database", "blobs", "backup", "cache")
        shown = sorted([*merged, *extra], key=lambda loc: (kinds.index(loc.kind), loc.name))
        return [replace(loc, medium=self.media.get((loc.kind, loc.name))) for loc in shown]


def derive(settings: Settings) -> Configured:
    try:
        media = stores(settings)
        backups = tuple(loc for e in backup_entries(settings) if (loc := _derived(e)) is not None)
    except ValueError:
        return Configured({})
    return Configured(media, backups)


def findings(session: Session, settings: Settings) -> tuple[list[str], list[str]]:
    """(errors, warnings) of the declaration against the configuration."""
    try:
        media = stores(settings)
        entries = backup_entries(settings)
        derived = {e.name: _derived(e) for e in entries}
    except ValueError as exc:
        return [f"HOVOR_BACKUP_DESTINATIONS: {exc}"], []
    errors: list[str] = []
    rows = list(session.scalars(select(DataLocation).order_by(DataLocation.scope, DataLocation.kind)))
    for row in rows:
        where = "default" if row.scope == DEFAULT else "a tenant's override"
        if (row.kind, row.name) in media:
            config = derived.get(row.name) if row.kind == "backup" else None
            if config is not None and row.scope == DEFAULT and config.country != row.country:
                errors.append(
                    f"backup {row.name!r} is declared in {row.country} but HOVOR_BACKUP_DESTINATIONS "
                    f"says {config.country}: correct one of them"
                )
            continue
        errors.append(_unconfigured(row.kind, row.name, where))
    declared = {(r.kind, r.name) for r in rows if r.scope == DEFAULT}
    warnings = [
        f"{kind} {name!r} ({medium_}) is configured but no location is declared for it: "
        f"hovor locations set {kind}" + (f" --name {name}" if name != MAIN else "") + " …"
        for (kind, name), medium_ in sorted(media.items())
        if (kind, name) not in declared and not (kind == "backup" and derived.get(name) is not None)
    ]
    return sorted(set(errors)), warnings


def _unconfigured(kind: str, name: str, where: str) -> str:
    unset = f"hovor locations unset {kind}" + (f" --name {name}" if name != MAIN else "")
    if kind == "cache":
        return (
            f"a cache location is declared ({where}) but HOVOR_FIREWALL_REDIS_URL is not set: the "
            f"firewall keeps its state in the database; set the URL or {unset}"
        )
    if kind == "backup":
        return (
            f"backup {name!r} is declared ({where}) but HOVOR_BACKUP_DESTINATIONS has no destination "
            f"of that name: hovor neither writes nor prunes it; configure it, or empty it and {unset}"
        )
    return f"{kind} {name!r} is declared ({where}) but there is one {kind} store, {MAIN!r}: {unset}"
