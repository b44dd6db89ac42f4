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

from alembic import op


@contextmanager
def rebuilding() -> Iterator[None]:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        yield
        return
    bind.exec_driver_sql("COMMIT")
    bind.exec_driver_sql("PRAGMA foreign_keys=OFF")
    bind.exec_driver_sql("BEGIN IMMEDIATE")
    try:
        yield
        broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"foreign keys broken by the rebuild: {broken[:5]}")
        bind.exec_driver_sql("COMMIT")
    except BaseException:
        bind.exec_driver_sql("ROLLBACK")
        bind.exec_driver_sql("PRAGMA foreign_keys=ON")
        bind.exec_driver_sql("BEGIN IMMEDIATE")  # what Alembic's transaction ends
        raise
    bind.exec_driver_sql("PRAGMA foreign_keys=ON")
    bind.exec_driver_sql("BEGIN IMMEDIATE")  # Alembic records the revision in it and commits it
