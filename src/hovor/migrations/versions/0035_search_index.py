"""the search index: what q searches in contacts, accounts, tickets and activities, folded (lower
case, no diacritics), indexed by trigrams (FTS5 on SQLite, pg_trgm on PostgreSQL)

The entries of the records already there are made here, with the same folding the application
uses (hovor.index.fold). On SQLite the FTS5 index is built in one pass after them ('rebuild') and
then kept in step by triggers; a later migration that rebuilds ``search_entries`` in batch mode
must create the triggers again. On PostgreSQL the folded columns keep no statistics (0008).

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-04 17:30:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from hovor.index.fold import fold_all

revision: str = "0035"
down_revision: str | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, object type, searched columns, custom-field column, key is a number)
SOURCES = [
    ("crm_contacts", "contacts", ("title", "description"), "custom_fields", False),
    ("crm_accounts", "accounts", ("title", "description"), "custom_fields", False),
    ("tickets", "tickets", ("title", "description", "email"), None, True),
    ("activities", "activities", ("title", "description"), None, False),
]
BATCH = 5000

TRIGGERS = [
    """CREATE TRIGGER search_entries_ai AFTER INSERT ON search_entries BEGIN
        INSERT INTO search_fts(rowid, body, custom) VALUES (new.id, new.body, new.custom);
    END""",
    """CREATE TRIGGER search_entries_ad AFTER DELETE ON search_entries BEGIN
        INSERT INTO search_fts(search_fts, rowid, body, custom)
            VALUES ('delete', old.id, old.body, old.custom);
    END""",
    """CREATE TRIGGER search_entries_au AFTER UPDATE ON search_entries BEGIN
        INSERT INTO search_fts(search_fts, rowid, body, custom)
            VALUES ('delete', old.id, old.body, old.custom);
        INSERT INTO search_fts(rowid, body, custom) VALUES (new.id, new.body, new.custom);
    END""",
]


def _source(name: str, columns: Sequence[str], custom: str | None, numeric: bool) -> sa.TableClause:
    key: sa.types.TypeEngine[Any] = sa.Integer() if numeric else sa.String()
    cols: list[sa.ColumnClause[Any]] = [sa.column("tenant_id", sa.String()), sa.column("name", key)]
    cols += [sa.column(c, sa.Text()) for c in columns]
    if custom:
        cols.append(sa.column(custom, sa.JSON()))
    return sa.table(name, *cols)


def _backfill(entries: sa.Table) -> None:
    bind = op.get_bind()
    for name, object_type, columns, custom, numeric in SOURCES:
        source = _source(name, columns, custom, numeric)
        last: tuple[Any, Any] | None = None
        while True:
            stmt = sa.select(*source.c).order_by(source.c.tenant_id, source.c.name).limit(BATCH)
            if last is not None:
                stmt = stmt.where(sa.tuple_(source.c.tenant_id, source.c.name) > sa.tuple_(*last))
            rows = bind.execute(stmt).all()
            if not rows:
                break
            last = (rows[-1].tenant_id, rows[-1].name)
            out = []
            for row in rows:
                body = fold_all(getattr(row, c) for c in columns)
                values = fold_all([getattr(row, custom)]) if custom else ""
                if body or values:
                    out.append(
                        {
                            "tenant_id": row.tenant_id,
                            "object_type": object_type,
                            "object_name": str(row.name),
                            "body": body,
                            "custom": values,
                        }
                    )
            if out:
                bind.execute(sa.insert(entries), out)


def upgrade() -> None:
    entries = op.create_table(
        "search_entries",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=32), nullable=False),
        sa.Column("object_name", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("custom", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_search_entries_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_entries")),
        sa.UniqueConstraint(
            "tenant_id",
            "object_type",
            "object_name",
            name=op.f("uq_search_entries_tenant_id_object_type_object_name"),
        ),
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for column in ("body", "custom"):
            op.execute(f'ALTER TABLE search_entries ALTER COLUMN "{column}" SET STATISTICS 0')
    _backfill(entries)
    if bind.dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE search_fts USING fts5(body, custom, content='search_entries',"
            " content_rowid='id', tokenize='trigram')"
        )
        op.execute("INSERT INTO search_fts(search_fts) VALUES ('rebuild')")
        for trigger in TRIGGERS:
            op.execute(trigger)
    elif bind.dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for column in ("body", "custom"):
            op.execute(
                f"CREATE INDEX ix_search_entries_{column}_trgm ON search_entries"
                f" USING gin ({column} gin_trgm_ops)"
            )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in ("search_entries_ai", "search_entries_ad", "search_entries_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS search_fts")
    elif bind.dialect.name == "postgresql":
        for column in ("body", "custom"):
            op.execute(f"DROP INDEX IF EXISTS ix_search_entries_{column}_trgm")
    op.drop_table("search_entries")
