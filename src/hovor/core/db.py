"""Engines, sessions and the declarative base.

Both databases behave alike because ids and timestamps are made in Python, and every timestamp is
stored as naive UTC and handed back as an aware UTC ``datetime``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import secrets
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Engine,
    MetaData,
    any_,
    bindparam,
    create_engine,
    event,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator

from hovor.core.sqlite_writers import (
    Checkpointer,
    SQLiteConnection,
    WriterFileLock,
    WriterQueue,
)

_log = logging.getLogger("hovor.core.db")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> dt.datetime:
    # Full precision inside (messages a few milliseconds apart keep their order); the wire shows
    # whole seconds, and filters compare whole seconds (hovor.api.query).
    return dt.datetime.now(dt.UTC)


def new_name(prefix: str) -> str:
    """A v6-style record key such as ``contacts_6f1c2a9b8e7d4c3b2a19``: readable, unguessable."""
    return f"{prefix}_{secrets.token_hex(10)}"


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Stores naive UTC, returns aware UTC; refuses naive input so no local time slips in."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC)

    def bind_processor(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            # The text SQLAlchemy's SQLite DATETIME writes, in one step rather than through the
            # decorator's chain (the zone, then the text): a feed's call binds five of them.
            return _utc_to_text
        return super().bind_processor(dialect)

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        if dialect.name == "sqlite":
            # SQLite keeps the text SQLAlchemy wrote; read it in one step rather than through the
            # decorator's chain (the text's parser, then the zone): a list page reads hundreds.
            return _utc_from_text
        return super().result_processor(dialect, coltype)


def _utc_to_text(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _utc_from_text(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    # SQLAlchemy's text with UTC's offset appended reads straight into an aware value (datetime.UTC
    # itself): a sixth of the time of reading it naive and replacing its zone. Other text (a date
    # alone, which would read the offset as its time, or one with an offset of its own) is read as
    # it always was.
    try:
        found = dt.datetime.fromisoformat(value + "+00:00")
    except ValueError:
        found = None
    if found is not None and found.tzinfo is dt.UTC:
        return found
    return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)


# JSON on SQLite, JSONB on PostgreSQL (indexable, compact).
JSONType = JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


# Nineteen digits in a row: perhaps an integer beyond 64 bits (below -2**63 they start at 19),
# which orjson would read as a float. Any number of 18 digits fits.
_LONG_NUMBER = re.compile(r"\d{19}")
_LONG_NUMBER_BYTES = re.compile(rb"\d{19}")


def _json_loads(text: str | bytes) -> Any:
    """JSON as the standard library reads it, by orjson where that gives the same (several times
    faster: a list page decodes every row's custom fields). orjson reads an integer beyond 64 bits
    as a float and refuses NaN and infinities; the standard library reads those texts."""
    if isinstance(text, str):
        long = _LONG_NUMBER.search(text) is not None
    else:
        text = bytes(text)
        long = _LONG_NUMBER_BYTES.search(text) is not None
    if not long:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _json(value: Any) -> str:
    # Text as text, not \u escapes: "Nováková" must be findable inside custom-field values. No
    # NaN or Infinity: they are not JSON, and PostgreSQL's JSONB refuses them.
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # SQLite's own lower() folds ASCII only; searches must find "Černý" when asked for "černý".
    dbapi_connection.create_function("lower", 1, _lower, deterministic=True)
    cursor = dbapi_connection.cursor()
    # secure_delete overwrites freed pages with zeros, so erased rows do not linger in the file.
    for pragma in (
        "PRAGMA journal_mode=WAL",
        "PRAGMA foreign_keys=ON",
        "PRAGMA busy_timeout=10000",
        "PRAGMA secure_delete=ON",
        "PRAGMA synchronous=NORMAL",
    ):
        cursor.execute(pragma)
    cursor.close()


# Matches the request threadpool (anyio's default of 40 threads), so a request never waits for a
# connection that another thread could have had.
POOL_SIZE = 40


def make_engine(url: str, *, echo: bool = False) -> Engine:
    if url.startswith("sqlite"):
        # One connection per request thread, kept open: overflow connections would be closed and
        # reopened under load, paying the connect and the pragmas every time.
        engine = create_engine(
            url,
            echo=echo,
            hide_parameters=True,  # errors and logs must not carry the values (personal data)
            json_serializer=_json,
            json_deserializer=_json_loads,
            connect_args={"check_same_thread": False, "isolation_level": None, "factory": SQLiteConnection},
            pool_size=POOL_SIZE,
            max_overflow=0,
            pool_timeout=30,
            # The connection given back last is taken next: each connection keeps a page cache of
            # its own (2 MB), and taken in turn, all forty of them filled theirs. Under a read
            # load (api_get_contact, medium) a worker held 194-201 MB this way, 156-161 MB LIFO.
            pool_use_lifo=True,
        )
        # SQLite has one writer at a time. Left to itself, every waiting thread retries the lock
        # in SQLite's busy handler, which sleeps in steps of up to 100 ms: under load, writes spend
        # most of their time asleep. Instead the writers queue on locks of ours that wake the next
        # one the moment they are free (WriterQueue). Held from BEGIN IMMEDIATE until COMMIT or
        # ROLLBACK has run; code must not await between its first write statement and its commit.
        queue = WriterQueue(WriterFileLock.for_database(engine.url.database))
        checkpointer = Checkpointer(engine.url.database)

        def _disposed(_engine: Any) -> None:
            queue.close()
            checkpointer.close()

        event.listen(engine, "engine_disposed", _disposed)

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, record: Any) -> None:
            _sqlite_pragmas(dbapi_connection, record)
            dbapi_connection.writer_queue = queue
            dbapi_connection.checkpointer = checkpointer

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # Readers begin deferred and never wait for each other (WAL). A unit of work that will
            # write begins IMMEDIATE: it takes the write lock up front, so two writers queue
            # instead of deadlocking when both try to upgrade a read lock.
            mode = conn.get_execution_options().get(BEGIN_OPTION, "DEFERRED")
            dbapi_connection = conn.connection.dbapi_connection
            if mode != "IMMEDIATE":
                # Straight to the driver: a read's BEGIN takes no lock and cannot meet a busy
                # database, and SQLAlchemy's statement path for it cost a sixteenth of a single
                # record's read. A failure is still SQLAlchemy's error (a 503 from the API).
                try:
                    dbapi_connection.execute("BEGIN DEFERRED")
                except sqlite3.Error as exc:
                    raise DBAPIError.instance("BEGIN DEFERRED", None, exc, sqlite3.Error) from exc
                return
            dbapi_connection.take_writer_lock()
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                dbapi_connection.release_writer_lock()
                raise

        return engine
    # No pre-ping: it costs a round trip on every checkout, more than a primary-key read. A
    # connection that died with a server restart fails its first statement instead; SQLAlchemy then
    # recognises the disconnect and empties the pool, and the request answers 503 (retry).
    # Connections are recycled after five minutes, inside the idle timeouts of common NATs and
    # poolers, so idle connections dropped by the network are rarely met.
    engine = create_engine(
        url,
        echo=echo,
        hide_parameters=True,
        json_serializer=_json,
        json_deserializer=_json_loads,
        pool_size=POOL_SIZE,
        max_overflow=8,
        pool_recycle=300,
        # The connection given back last is taken next: psycopg prepares a statement after its
        # fifth run on a connection, and the server keeps its plan per connection. Taken in turn,
        # forty connections each planned a group's answers anew for their first runs.
        pool_use_lifo=True,
    )
    event.listen(engine, "connect", _postgres_settings)
    return engine


@contextmanager
def planner_settings(session: Session, **settings: str) -> Iterator[None]:
    """The statements run inside are planned with these PostgreSQL settings; the connection's own
    afterwards. For the few statements whose best plan the planner cannot see because the personal
    columns they test keep no statistics (migration 0008): it then expects thousands of rows from
    an index probe, or every row of a table from a partial index. A no-op on SQLite.

    Set for the session, not the transaction: reads on PostgreSQL run without one (autocommit),
    where a transaction-local setting would end with the statement that made it. Put back on the
    way out; a connection where that fails is discarded rather than pooled with them (a statement
    that failed inside a transaction is rolled back with the settings anyway)."""
    if session.get_bind().dialect.name != "postgresql" or not settings:
        yield
        return
    conn = session.connection()
    before: dict[str, str] = {}
    failed = True
    try:
        for name, value in settings.items():
            before[name] = conn.execute(
                text("SELECT current_setting(:n), set_config(:n, :v, false)"), {"n": name, "v": value}
            ).scalar_one()
        yield
        failed = False
    finally:
        # After a statement that aborted the transaction, its rollback takes the settings back.
        if not (failed and _aborted(conn)):
            try:
                for name, value in before.items():
                    conn.execute(text("SELECT set_config(:n, :v, false)"), {"n": name, "v": value})
            except Exception:
                conn.invalidate()
                if not failed:
                    raise


def _aborted(conn: Any) -> bool:
    """Whether the PostgreSQL transaction on this connection failed (only a rollback may follow)."""
    from psycopg.pq import TransactionStatus  # deferred: only PostgreSQL connections get here

    status = conn.connection.dbapi_connection.info.transaction_status
    return bool(status == TransactionStatus.INERROR)


def without_parallel_workers(session: Session) -> Any:
    """For unions of index probes on personal columns: without statistics the planner starts
    parallel workers, which cost 8-13 ms (under load, more) for a lookup that runs in 0.2 ms."""
    return planner_settings(session, max_parallel_workers_per_gather="0")


def _postgres_settings(dbapi_connection: Any, _record: Any) -> None:
    """No JIT compilation. hovor's statements are index probes and pages, and the planner's cost
    of some is high because personal columns keep no statistics (migration 0008): it then spends
    more compiling than running. At the large size JIT took 26 of the resolver's 26.4 ms and
    three quarters of a list page's. Set by a statement (not a startup option, which poolers
    refuse), committed so that the pool's rollback on return does not undo it."""
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET jit = off")
    dbapi_connection.commit()


BEGIN_OPTION = "hovor_sqlite_begin"


def make_session_factory(
    engine: Engine, *, writes: bool = True, snapshot: bool = False
) -> sessionmaker[Session]:
    """Sessions for units of work that write (the default) or only read.

    Reads on PostgreSQL run without a transaction, statement by statement; ``snapshot`` reads run
    in one REPEATABLE READ transaction instead (long reads that must see one state: verifying or
    exporting the audit log, streaming with a server-side cursor). On SQLite every read is a
    deferred transaction, which is a snapshot already (see the ``begin`` listener in
    :func:`make_engine`)."""
    options: dict[str, Any] = {BEGIN_OPTION: "IMMEDIATE" if writes else "DEFERRED"}
    if snapshot and engine.dialect.name == "postgresql":
        options["isolation_level"] = "REPEATABLE READ"
    elif not writes and engine.dialect.name == "postgresql":
        # Reads run statement by statement: under READ COMMITTED every statement has its own
        # snapshot anyway, so a transaction would only add BEGIN and ROLLBACK round trips.
        options["isolation_level"] = "AUTOCOMMIT"
    bind = engine.execution_options(**options)
    return sessionmaker(bind, expire_on_commit=False, autoflush=True)


_MEMO = "hovor_memo"


@contextmanager
def memoizing(session: Session) -> Iterator[None]:
    """Within this block, :func:`memo` answers repeated lookups (a queue, a form) from memory: for
    a batch of records that all refer to the same few. Nothing in the block may change what is
    memoized."""
    session.info[_MEMO] = {}
    try:
        yield
    finally:
        session.info.pop(_MEMO, None)


def memo(session: Session, key: tuple[Any, ...], compute: Any) -> Any:
    cache = session.info.get(_MEMO)
    if cache is None:
        return compute()
    if key not in cache:
        cache[key] = compute()
    return cache[key]


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A transaction owned by the caller (a CLI command or a job): commit on success, else roll back."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


class OneOf(ColumnElement[bool]):
    """``column IN (values)``, as one array parameter on PostgreSQL (``= ANY(%s)``).

    A thousand-key ``IN`` list is a thousand parameters: SQLAlchemy expands them into the statement
    and the driver parses it anew each time (its query cache cannot help with a new statement per
    chunk). One array parameter is the same plan for any number of keys. SQLite keeps ``IN``."""

    inherit_cache = False  # the values are part of the element, not bind parameters of a cached form
    type = Boolean()

    def __init__(self, column: Any, values: Sequence[Any]) -> None:
        self.column = column
        self.values = list(values)


@compiles(OneOf)
def _one_of(element: OneOf, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.column.in_(element.values), **kw))


@compiles(OneOf, "postgresql")
def _one_of_pg(element: OneOf, compiler: Any, **kw: Any) -> str:

    array = bindparam(None, element.values, type_=ARRAY(element.column.type))
    return str(compiler.process(element.column == any_(array), **kw))


def one_of(column: Any, values: Sequence[Any]) -> OneOf:
    return OneOf(column, values)
