"""Timestamps in the database: stored as naive UTC, handed back as aware UTC, naive input refused.
On SQLite the stored text is exactly what SQLAlchemy's DATETIME writes, so rows written before
and after any change of code compare and sort alike."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.sqlite import DATETIME

from hovor.core.db import UTCDateTime, make_engine

PRAGUE = dt.timezone(dt.timedelta(hours=2))
VALUES = [
    dt.datetime(2026, 12, 5, 10, 0, 0, tzinfo=dt.UTC),  # no microseconds: still six digits
    dt.datetime(2026, 12, 5, 10, 0, 0, 7, tzinfo=dt.UTC),
    dt.datetime(2026, 7, 1, 0, 30, 0, 250000, tzinfo=PRAGUE),  # the day before, in UTC
    dt.datetime(999, 1, 1, tzinfo=dt.UTC),  # four digits of year
]


def test_sqlite_stores_the_text_sqlalchemys_datetime_writes(tmp_path: Path) -> None:
    reference = DATETIME().bind_processor(sqlite.dialect())
    assert reference is not None
    table = Table("t", MetaData(), Column("n", Integer, primary_key=True), Column("at", UTCDateTime()))
    engine = make_engine(f"sqlite:///{tmp_path / 'times.db'}")
    try:
        table.metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(insert(table), [{"n": i, "at": v} for i, v in enumerate(VALUES)])
        with engine.connect() as conn:
            stored = [row[0] for row in conn.execute(text("SELECT at FROM t ORDER BY n"))]
            back = list(conn.scalars(select(table.c.at).order_by(table.c.n)))
    finally:
        engine.dispose()
    assert stored == [reference(v.astimezone(dt.UTC).replace(tzinfo=None)) for v in VALUES]
    assert stored[0] == "2026-12-05 10:00:00.000000"
    assert stored[2] == "2026-06-30 22:30:00.250000"
    assert back == VALUES
    assert all(v.tzinfo is dt.UTC for v in back)


def test_a_naive_timestamp_is_refused() -> None:
    bind = UTCDateTime().bind_processor(sqlite.dialect())
    assert bind is not None
    with pytest.raises(ValueError, match="naive"):
        bind(dt.datetime(2026, 12, 5, 10, 0))


def test_stored_text_of_any_iso_form_reads_back_as_aware_utc(tmp_path: Path) -> None:
    # Rows written by hand or by another tool: a date alone must not read its appended offset as
    # a time of day and come back naive.
    engine = make_engine(f"sqlite:///{tmp_path / 'times.db'}")
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (n INTEGER PRIMARY KEY, at DATETIME)"))
            for n, stored in enumerate(["2026-12-05", "2026-12-05T10:20", "2026-12-05 10:20:30.5"]):
                conn.execute(text("INSERT INTO t VALUES (:n, :at)"), {"n": n, "at": stored})
        table = Table("t", MetaData(), Column("n", Integer, primary_key=True), Column("at", UTCDateTime()))
        with engine.connect() as conn:
            back = list(conn.scalars(select(table.c.at).order_by(table.c.n)))
    finally:
        engine.dispose()
    assert back == [
        dt.datetime(2026, 12, 5, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 5, 10, 20, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 5, 10, 20, 30, 500000, tzinfo=dt.UTC),
    ]
    assert all(v.tzinfo is dt.UTC for v in back)
