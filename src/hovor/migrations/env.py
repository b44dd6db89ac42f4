from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, text

import hovor.models  # noqa: F401 - fills the metadata
from hovor.core.db import Base, make_engine
from hovor.migrations import include_name

config = context.config
target_metadata = Base.metadata


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Nodes starting together each run `hovor db upgrade`: one migrates, the others wait
            # here and then find the database at head (the lock ends with the transaction).
            connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('hovor-migrations'))"))
        context.run_migrations()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        run(connectable)
    else:
        engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
        with engine.connect() as conn:
            run(conn)
        engine.dispose()
