"""A session for one read that runs on the event loop: the v6 list and get routes.

A plain :class:`~sqlalchemy.orm.Session` asked for its connection first makes a transaction object
of its own (with its events and state checks) and, when closed, an empty identity map anew. For a
read that runs one or two statements built by :mod:`hovor.api.flat` on the connection, that was
about a sixth of the CPU a single record's read costs in hovor's own process (SQLite, medium
tenant: 227-239 µs per read with it, 195-198 µs with this; docs/benchmarks.md).

:class:`ReadSession` is bound to one connection of the read engine, taken when it is made and
given back when it is closed. Until the ORM is used, ``connection()`` is that connection itself.
When a read does use the ORM (a form's hidden fields, a resource's ``attach``), the session joins
the transaction the connection is in, so everything one request reads comes from one connection,
and on SQLite from one snapshot. It never commits: nothing a read does may be written.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session, sessionmaker


class ReadSession(Session):
    def __init__(self, conn: Connection) -> None:
        super().__init__(bind=conn, autoflush=False, expire_on_commit=False)
        self._conn = conn

    def connection(self, bind_arguments: Any = None, execution_options: Any = None) -> Connection:
        if not self.in_transaction() and bind_arguments is None and execution_options is None:
            if not self._conn.in_transaction():
                # Begun as the session would begin it: on SQLite a deferred transaction, one
                # snapshot for everything this read runs (hovor.core.db); on PostgreSQL nothing.
                self._conn.begin()
            return self._conn
        return super().connection(bind_arguments=bind_arguments, execution_options=execution_options)

    def commit(self) -> None:
        raise RuntimeError("a read session does not write")

    def close(self) -> None:
        try:
            if self.in_transaction() or self.identity_map:
                super().close()
        finally:
            # Ends the connection's transaction (a rollback: nothing was written) and returns it.
            self._conn.close()


def read_session(factory: sessionmaker[Session]) -> ReadSession:
    """A :class:`ReadSession` on a connection of ``factory``'s engine and options (the app's
    ``read_session_factory``: AUTOCOMMIT on PostgreSQL, a deferred transaction on SQLite)."""
    return ReadSession(factory.kw["bind"].connect())
