"""``hovor db``: the database schema."""

from __future__ import annotations

import typer

from hovor.cli.common import console
from hovor.core import datadir
from hovor.core.config import get_settings

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    # deferred: Alembic costs about 50 ms at start-up and only the db commands need it
    from alembic import command

    from hovor.migrations import alembic_config  # deferred: imports Alembic, as above

    settings = get_settings()
    datadir.protect(settings.data_dir)
    command.upgrade(alembic_config(settings.resolved_database_url), revision)
    console.print(f"database at revision {revision}")


@db_app.command("current")
def db_current() -> None:
    """Show the applied migration revision."""
    # deferred: Alembic costs about 50 ms at start-up and only the db commands need it
    from alembic import command

    from hovor.migrations import alembic_config  # deferred: imports Alembic, as above

    command.current(alembic_config(get_settings().resolved_database_url))


@db_app.command("rebuild-search")
def db_rebuild_search(
    tenant: str = typer.Option("", help="Only this tenant's records (default: every tenant's)."),
) -> None:
    """Make the search index behind q again from the records it covers (after rows were written
    without hovor, or to repair it)."""
    import hovor.models  # noqa: F401 - the searchable models declare themselves on import
    from hovor.core.db import make_engine
    from hovor.index.rebuild import rebuild

    engine = make_engine(get_settings().resolved_database_url)
    with engine.begin() as conn:
        made = rebuild(conn, tenant or None)
    engine.dispose()
    console.print(f"{made} search entries made")
