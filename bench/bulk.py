"""Bulk writing for the benchmark generator: rows the fastest way each database takes them, and
batches of work split evenly."""

from __future__ import annotations

import datetime as dt
import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection

from hovor.files import stores


def fast_writes(conn: Connection) -> None:
    """On PostgreSQL, this transaction's rows skip the foreign-key triggers and its commit does not
    wait for the WAL flush (the generator's rows are consistent by construction: a contact's
    account, an activity's contact, queue and ticket exist before it). Each foreign-key check
    is a query per row in a trigger; at the large size they were most of the server's time.
    Needs a superuser (the bench's own cluster, or the machine's with trust); without one the
    rows are simply checked."""
    if conn.dialect.name != "postgresql":
        return
    conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
    if conn.exec_driver_sql("SELECT current_setting('is_superuser')").scalar() == "on":
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")


def write_rows(conn: Connection, model: Any, rows: list[dict[str, Any]]) -> None:
    """Rows into the model's table the fastest way its database takes them: ``COPY`` on
    PostgreSQL, the driver's ``executemany`` on SQLite. Each value goes through its column's own
    bind processing (time stamps to UTC, JSON to text), as an ORM insert would."""
    if not rows:
        return
    table = model.__table__
    dialect = conn.dialect
    keys = list(rows[0])
    if any(len(r) != len(keys) or r.keys() != rows[0].keys() for r in rows):
        raise ValueError(f"{table.name}: every row of a batch must name the same columns")
    columns = [table.c[k] for k in keys]
    steps = [(k, c.type._cached_bind_processor(dialect)) for k, c in zip(keys, columns, strict=True)]
    values = [tuple(p(r[k]) if p is not None else r[k] for k, p in steps) for r in rows]
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(c.name) for c in columns)
    if dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY {quote(table.name)} ({names}) FROM STDIN") as copy:
            for value in values:
                copy.write_row(value)
    else:
        marks = ", ".join("?" for _ in columns)
        conn.exec_driver_sql(f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})", values)


@contextmanager
def unsynced() -> Iterator[None]:
    """Blobs written without a flush to disk each (two ``fsync`` per recording made the large
    size's 100,000 recordings take a quarter of an hour); one ``sync`` of everything at the end.
    For generating benchmark data only: the blob store's durability is the product's."""
    real = stores.os.fsync
    stores.os.fsync = lambda fd: None  # type: ignore[assignment]
    try:
        yield
    finally:
        stores.os.fsync = real
        os.sync()


def split(total: int, size: int) -> list[int]:
    """``total`` in batches of ``size`` (the last one shorter)."""
    return [min(size, total - start) for start in range(0, total, size)]


def share(total: int, parts: int) -> list[int]:
    """``total`` shared out over ``parts`` as evenly as whole numbers allow."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def in_time_order(
    now: dt.datetime, span: int, sizes: list[int], index: int, rnd: random.Random
) -> list[dt.datetime]:
    """The times of batch ``index`` of activities, oldest first, within the last ``span`` seconds
    before ``now``: batch *i* of *n* covers the *i*-th *n*-th of the span, so the activities are
    written in about the order of their times, as a contact centre writes them (a page of a
    queue's newest then reads rows near each other, as it would in production; random times put
    each on its own page)."""
    lo, hi = span * index // len(sizes), span * (index + 1) // len(sizes)
    seconds = sorted(rnd.randrange(lo, hi) for _ in range(sizes[index]))
    return [now - dt.timedelta(seconds=span - s) for s in seconds]
