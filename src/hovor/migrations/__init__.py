"""Alembic migrations; run them with ``hovor db upgrade``."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config

HERE = Path(__file__).parent


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("path_separator", "os")
    # Percent signs in a URL (encoded passwords) would be read as interpolation.
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


# Made by the migrations for one database only, and so not in the models: SQLite's FTS5 index of
# the search entries with its shadow tables, PostgreSQL's pg_trgm indexes, named ``…_trgm``: of
# the search entries (migration 0035) and of the free text an erasure searches for mentions (0038).
DIALECT_ONLY_TABLES = ("search_fts",)
DIALECT_ONLY_INDEX_SUFFIX = "_trgm"


def include_name(name: str | None, type_: str, _parents: object) -> bool:
    """What comparing the models with a database looks at (Alembic's ``include_name``)."""
    if type_ == "table" and name is not None and name.startswith(DIALECT_ONLY_TABLES):
        return False
    return not (type_ == "index" and name is not None and name.endswith(DIALECT_ONLY_INDEX_SUFFIX))
