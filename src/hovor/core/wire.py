"""How values travel: v6 timestamps in the tenant's zone outside, aware UTC inside."""

from __future__ import annotations

import datetime as dt
import time
from functools import lru_cache
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, StringConstraints

WIRE_FORMAT = "%Y-%m-%d %H:%M:%S"


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def valid_zone(name: str) -> bool:
    try:
        zone(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def to_wire(value: dt.datetime | None, tz: str) -> str | None:
    if value is None:
        return None
    if value.tzinfo is dt.UTC:
        return _utc_to_wire(value, tz)
    return _convert(value, tz)


def _convert(value: dt.datetime, tz: str) -> str:
    # WIRE_FORMAT, by the faster route: ISO 8601 with a space and whole seconds, cut before the
    # offset.
    return value.astimezone(zone(tz)).isoformat(" ", "seconds")[:19]


# A page shows hundreds of instants, most of them distinct, and converting each into the zone
# (astimezone, then the text) was the costlier part of serializing a row. Within one hour of UTC a
# zone's offset rarely changes: each (zone, UTC hour) is converted once into the local date and
# hour, and an instant in that hour adds its own minutes and seconds, which the zone keeps where its
# offset is a whole number of hours. Hours whose offset is not (India's +05:30, an hour
# with a change inside it, the seconds of a zone's old local mean time) are converted one instant
# at a time.
_HOURS: dict[str, dict[int, str | None]] = {}
_HOURS_KEPT = 50_000  # hours per zone (about 6 years, 7 MB) before the table starts anew
_MINUTES_SECONDS = tuple(f":{m:02d}:{s:02d}" for m in range(60) for s in range(60))


def _utc_to_wire(value: dt.datetime, tz: str) -> str:
    hour = value.toordinal() * 24 + value.hour
    hours = _HOURS.get(tz)
    local = "" if hours is None else hours.get(hour, "")
    if local == "":
        local = _local_hour(value.replace(minute=0, second=0, microsecond=0), tz)
        if hours is None:
            hours = _HOURS[tz] = {}
        elif len(hours) >= _HOURS_KEPT:
            hours.clear()
        hours[hour] = local
    if local is None:
        return _convert(value, tz)
    return local + _MINUTES_SECONDS[value.minute * 60 + value.second]


def _local_hour(start: dt.datetime, tz: str) -> str | None:
    """The local date and hour (``2025-01-11 16``) of the UTC hour beginning at ``start``, if every
    instant of it is that local hour with the UTC minutes and seconds; None otherwise."""
    place = zone(tz)
    try:
        first = start.astimezone(place).utcoffset()
        end = start + dt.timedelta(hours=1, microseconds=-1)
        last = end.astimezone(place).utcoffset()
    except OverflowError:  # the first or last hour a datetime can hold
        return None
    if first is None or first != last or first % dt.timedelta(hours=1):
        return None
    return _convert(start, tz)[:13]


def from_wire(text: str, tz: str) -> dt.datetime:
    """Parse a v6 timestamp (tenant-local, no offset), a date, or ISO 8601 with an offset."""
    text = text.strip()
    try:
        value = dt.datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text)
    except ValueError as exc:
        raise ValueError("not a timestamp: expected YYYY-MM-DD HH:MM:SS or ISO 8601") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone(tz))
    return value.astimezone(dt.UTC)


# The wire shows whole seconds: every answer within one second carries the same ``_time``, made
# once per zone and second (the conversion and formatting cost more than the rest of the envelope).
_NOW: dict[str, tuple[int, str]] = {}


def now_wire(tz: str) -> str:
    second = int(time.time())
    made = _NOW.get(tz)
    if made is None or made[0] != second:
        made = _NOW[tz] = (second, _convert(dt.datetime.fromtimestamp(second, dt.UTC), tz))
    return made[1]


def _ref_in(value: Any) -> Any:
    # Clients that read a record and send it back pass the nested object; accept its name.
    if isinstance(value, dict) and "name" in value:
        return value["name"]
    return value


# A reference on input: a record's name, or the nested object a read returned.
RefIn = Annotated[
    str, BeforeValidator(_ref_in), StringConstraints(min_length=1, max_length=64, strip_whitespace=True)
]
Key = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")]
Text255 = Annotated[str, StringConstraints(max_length=255, strip_whitespace=True)]
LongText = Annotated[str, StringConstraints(max_length=65535)]
