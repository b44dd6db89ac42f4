"""PostgreSQL: trigram indexes of the free text where an erasure looks for a person's mentions
(messages, contacts' descriptions and forms, e-mails, tickets, call transcripts), so that it reads
the rows that may mention the person instead of every row (at the large size those five scans took
three of the erasure's five seconds)

Each index is of one expression per table: the lower-cased text of the table's free-text columns,
joined by spaces, as ``hovor.privacy.erasure.mentions.mention_text`` writes it (the planner uses an
index only for the same expression). Like the columns, the expressions keep no statistics (0008):
ANALYZE would copy sample values of them into pg_statistic. SQLite has none of these: its search
for mentions reads the tables (its LIKE cannot use an index for a substring). The indexes are
built in the migration's transaction: writes to these tables wait until it commits (minutes at the
large size).

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-05 06:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0038"
down_revision: str | None = "0037"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As hovor.privacy.erasure.mentions.MENTION_INDEXES and mention_text at this revision: per table,
# its free-text columns in the table's order, those of JSON as text.
TABLES = {
    "crm_contacts": ["description", "custom_fields::text"],
    "tickets": ["title", "description", "custom_fields::text"],
    "activity_emails": ["title", "text", "html", "headers::text", "message_id"],
    "call_transcripts": ["text"],
    "messages": ["text"],
}


def expression(columns: list[str]) -> str:
    return "lower(" + " || ' ' || ".join(f"coalesce({c}, '')" for c in columns) + ")"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("SET LOCAL maintenance_work_mem = '256MB'")
    for table, columns in TABLES.items():
        name = f"ix_{table}_mentions_trgm"
        op.execute(f"CREATE INDEX {name} ON {table} USING gin ({expression(columns)} gin_trgm_ops)")
        op.execute(f"ALTER INDEX {name} ALTER COLUMN 1 SET STATISTICS 0")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP INDEX IF EXISTS ix_{table}_mentions_trgm")
