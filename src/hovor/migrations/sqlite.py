"""SQLite's way to rebuild a table that other tables reference.

Adding a foreign key (or anything ALTER TABLE cannot do) makes Alembic's batch mode copy the table,
drop the old one and rename the copy. With foreign keys enforced, dropping a table that other
rows reference fails; and SQLite ignores ``PRAGMA foreign_keys`` inside a transaction. So, as
SQLite's documentation prescribes for such changes: end the transaction, switch enforcement off,
rebuild in a new transaction, check every foreign key (``PRAGMA foreign_key_check``) before it
commits, and switch enforcement back on. On PostgreSQL this does nothing: ALTER TABLE does it all.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from alembic import op


@contextmanager
def rebuilding(*tables: str) -> Iterator[None]:
    """Rebuild ``tables`` (and create what they reference) inside; their rows' references and the
    references to them are checked before the rebuild commits. Everything the revision does to the
    schema belongs inside: what ran before is committed by the first step, so a failed rebuild
    leaves the database at the previous revision, not half-way."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        yield
        return
    bind.exec_driver_sql("COMMIT")
    bind.exec_driver_sql("PRAGMA foreign_keys=OFF")
    bind.exec_driver_sql("BEGIN IMMEDIATE")
    try:
        yield
        broken = [row for table in _checked(bind, tables) for row in _broken(bind, table)]
        if broken:
            raise RuntimeError(f"references broken by rebuilding {', '.join(tables)}: {broken[:5]}")
        bind.exec_driver_sql("COMMIT")
    except BaseException:
        bind.exec_driver_sql("ROLLBACK")
        bind.exec_driver_sql("PRAGMA foreign_keys=ON")
        bind.exec_driver_sql("BEGIN IMMEDIATE")  # what Alembic's transaction ends
        raise
    bind.exec_driver_sql("PRAGMA foreign_keys=ON")
    bind.exec_driver_sql("BEGIN IMMEDIATE")  # Alembic records the revision in it and commits it


def _checked(bind: Any, tables: tuple[str, ...]) -> list[str]:
    """The rebuilt tables and every table whose foreign keys point at one of them."""
    names = [r[0] for r in bind.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'")]
    referencing = [
        name
        for name in names
        if any(fk[2] in tables for fk in bind.exec_driver_sql(f'PRAGMA foreign_key_list("{name}")'))
    ]
    return sorted({*tables, *referencing})


def _broken(bind: Any, table: str) -> list[Any]:
    return list(bind.exec_driver_sql(f'PRAGMA foreign_key_check("{table}")'))
