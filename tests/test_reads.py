"""The session of a read on the event loop (hovor.core.reads): one connection for the statements
hovor.api.flat runs and for the ORM, one snapshot on SQLite, never a commit, and its connection
given back however the read ends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, func, select

from conftest import TenantFixture, data
from hovor.core.db import make_engine, make_session_factory
from hovor.core.reads import ReadSession, read_session
from hovor.crm.models import Contact


@pytest.fixture
def reads(db_url: str, client: Any) -> Iterator[tuple[Engine, Any]]:
    """An engine of its own: the app's pool is shared with its background work, whose checkouts
    come and go while a test counts."""
    engine = make_engine(db_url)
    try:
        yield engine, make_session_factory(engine, writes=False)
    finally:
        engine.dispose()


@contextmanager
def _reading(reads: tuple[Engine, Any]) -> Iterator[tuple[Engine, ReadSession]]:
    """A read session of its own, closed after the block; its connection is then back in the pool."""
    engine, factory = reads
    session = read_session(factory)
    try:
        yield engine, session
    finally:
        session.close()
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def _dbapi(session: Any) -> Any:
    return session.connection().connection.dbapi_connection


def _count(conn: Any) -> int:
    return int(conn.execute(select(func.count()).select_from(Contact)).scalar_one())


def test_flat_statements_and_the_orm_share_one_connection(reads: tuple[Engine, Any]) -> None:
    with _reading(reads) as (engine, session):
        plain = _dbapi(session)
        _count(session.connection())
        session.scalars(select(Contact)).all()  # the ORM joins the transaction begun for the plain read
        assert session.in_transaction()
        assert _dbapi(session) is plain
        assert engine.pool.checkedout() == 1  # type: ignore[attr-defined]


def test_the_orm_first_then_a_flat_statement_on_the_same_connection(reads: tuple[Engine, Any]) -> None:
    with _reading(reads) as (engine, session):
        session.scalars(select(Contact)).all()
        conn = session.connection()
        bound = session.get_bind()
        assert isinstance(bound, Connection)
        assert conn.connection.dbapi_connection is bound.connection.dbapi_connection
        assert engine.pool.checkedout() == 1  # type: ignore[attr-defined]


# On PostgreSQL reads run statement by statement, each with its own snapshot (hovor.core.db).
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_read_sees_one_snapshot_on_sqlite(
    reads: tuple[Engine, Any], client: Any, tenant: TenantFixture
) -> None:
    """What was committed after the read began is not in it, whichever way it reads."""
    _engine, factory = reads
    session = read_session(factory)
    try:
        before = _count(session.connection())
        r = client.post(
            "/api/v6/contacts.json",
            json={"firstname": "Jana", "lastname": "Nováková", "database": "main"},
            headers=tenant.h(),
        )
        assert data(r)["name"]
        assert _count(session.connection()) == before
        assert session.scalar(select(func.count()).select_from(Contact)) == before  # the ORM too
    finally:
        session.close()
    with factory() as fresh:
        assert fresh.scalar(select(func.count()).select_from(Contact)) == before + 1


def test_a_read_session_does_not_commit(reads: tuple[Engine, Any]) -> None:
    with _reading(reads) as (_engine, session), pytest.raises(RuntimeError, match="does not write"):
        session.commit()


@pytest.mark.parametrize("orm_first", [False, True])
def test_a_failed_read_gives_its_connection_back(reads: tuple[Engine, Any], orm_first: bool) -> None:
    """Whether the ORM had joined the read or not, a statement that fails leaves nothing behind:
    the connection is back in the pool and the next read on it works."""
    with pytest.raises(Exception, match="no_such_table"), _reading(reads) as (_engine, session):
        if orm_first:
            session.scalars(select(Contact)).all()
        session.connection().exec_driver_sql("SELECT * FROM no_such_table")
    with _reading(reads) as (_engine, later):
        assert _count(later.connection()) >= 0
        later.scalars(select(Contact)).all()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_sqlite_read_takes_the_connection_given_back_last(reads: tuple[Engine, Any]) -> None:
    """Each SQLite connection keeps a page cache of its own: reads one after another use one warm
    connection, not every connection of the pool in turn (each filling its cache)."""
    engine, _ = reads
    first, second = engine.connect(), engine.connect()
    kept = second.connection.dbapi_connection
    first.close()
    second.close()
    with engine.connect() as third:
        assert third.connection.dbapi_connection is kept
