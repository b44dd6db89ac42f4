"""Timestamps on the wire: tenant-local, second precision, whatever zone the value carries."""

from __future__ import annotations

import datetime as dt

import pytest

from hovor.core import wire
from hovor.core.wire import now_wire, to_wire, zone


def test_utc_values_convert_to_the_zone_asked_for_each_time() -> None:
    value = dt.datetime(2025, 7, 1, 10, 0, 0, 123456, tzinfo=dt.UTC)
    assert to_wire(value, "Europe/Prague") == "2025-07-01 12:00:00"
    assert to_wire(value, "UTC") == "2025-07-01 10:00:00"
    assert to_wire(value, "Europe/Prague") == "2025-07-01 12:00:00"  # cached, same answer
    assert to_wire(None, "Europe/Prague") is None


def test_local_times_in_a_fold_stay_an_hour_apart() -> None:
    # 02:30 happens twice in Prague on 2025-10-26; the two compare and hash equal as local times.
    prague = zone("Europe/Prague")
    first = dt.datetime(2025, 10, 26, 2, 30, tzinfo=prague)
    second = first.replace(fold=1)
    assert first == second
    assert to_wire(first, "UTC") == "2025-10-26 00:30:00"
    assert to_wire(second, "UTC") == "2025-10-26 01:30:00"
    # The same instants given in UTC convert back to both wall-clock readings.
    assert to_wire(first.astimezone(dt.UTC), "Europe/Prague") == "2025-10-26 02:30:00"
    assert to_wire(second.astimezone(dt.UTC), "Europe/Prague") == "2025-10-26 02:30:00"


def test_the_envelope_time_is_the_current_second_in_the_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    # Made once per zone and second: each new second, and each zone, is converted anew, in a fold too.
    clock = [dt.datetime(2025, 10, 26, 0, 30, 0, 900000, tzinfo=dt.UTC).timestamp()]
    monkeypatch.setattr(wire.time, "time", lambda: clock[0])
    assert now_wire("Europe/Prague") == "2025-10-26 02:30:00"
    assert now_wire("UTC") == "2025-10-26 00:30:00"
    clock[0] += 0.05  # the same second
    assert now_wire("Europe/Prague") == "2025-10-26 02:30:00"
    clock[0] += 0.1
    assert now_wire("Europe/Prague") == "2025-10-26 02:30:01"
    clock[0] += 3600  # an hour later: the second 02:30 of the night
    assert now_wire("Europe/Prague") == "2025-10-26 02:30:01"
    assert now_wire("UTC") == "2025-10-26 01:30:01"
    clock[0] += 1
    assert now_wire("America/New_York") == "2025-10-25 21:30:02"


ZONES = [
    "UTC",
    "Europe/Prague",
    "Europe/Dublin",  # its summer time is its standard one
    "America/New_York",
    "America/St_Johns",  # -03:30
    "Asia/Kolkata",  # +05:30
    "Asia/Kathmandu",  # +05:45
    "Australia/Lord_Howe",  # a change of half an hour, at half past a UTC hour
    "Pacific/Apia",  # skipped a whole day in 2011
]


@pytest.mark.parametrize("tz", ZONES)
def test_instants_read_by_the_hour_table_are_those_the_zone_gives(tz: str) -> None:
    # Every quarter of an hour over a year of changes, the seconds before and after each, and
    # instants from a century and a half: each as the zone's own conversion writes it.
    place = zone(tz)
    instants = []
    start = dt.datetime(2011, 1, 1, tzinfo=dt.UTC)
    for quarter in range(365 * 24 * 4):
        at = start + dt.timedelta(minutes=15 * quarter)
        instants += [at, at - dt.timedelta(microseconds=1), at + dt.timedelta(seconds=59, microseconds=7)]
    instants += [dt.datetime(1850 + year, 1 + year % 12, 1 + year % 28, tzinfo=dt.UTC) for year in range(250)]
    wrong = [
        (at, to_wire(at, tz))
        for at in instants
        if to_wire(at, tz) != at.astimezone(place).strftime("%Y-%m-%d %H:%M:%S")
    ]
    assert wrong == []


def test_hours_whose_minutes_differ_from_utc_are_converted_one_instant_at_a_time() -> None:
    at = dt.datetime(2025, 7, 1, 10, 20, 30, tzinfo=dt.UTC)
    assert to_wire(at, "Europe/Prague") == "2025-07-01 12:20:30"
    assert to_wire(at, "Asia/Kolkata") == "2025-07-01 15:50:30"
    hour = at.toordinal() * 24 + 10
    assert wire._HOURS["Europe/Prague"][hour] == "2025-07-01 12"
    assert wire._HOURS["Asia/Kolkata"][hour] is None
