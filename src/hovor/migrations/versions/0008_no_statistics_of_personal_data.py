"""PostgreSQL keeps no statistics of columns that hold what a data subject wrote or is called

ANALYZE copies sample values of every column (most common values, histogram bounds) into
pg_statistic. For a column that holds names or message text, that is a copy of personal data that
erasure cannot reach (rewriting pg_statistic needs superuser rights). A statistics target of 0
keeps ANALYZE from collecting them. Identifier columns keep theirs: the planner needs them to
look numbers up by index (docs/privacy.md). The list is the registry's (hovor.core.personal_data
.without_statistics) at this revision; a test checks every later column is covered.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = [
    ("crm_accounts", "title"),
    ("crm_accounts", "description"),
    ("crm_accounts", "custom_fields"),
    ("crm_accounts", "consents"),
    ("crm_contacts", "title"),
    ("crm_contacts", "firstname"),
    ("crm_contacts", "lastname"),
    ("crm_contacts", "description"),
    ("crm_contacts", "custom_fields"),
    ("crm_contacts", "consents"),
    ("campaign_records", "custom_fields"),
    ("campaign_records", "consents"),
    ("tickets", "title"),
    ("tickets", "description"),
    ("tickets", "custom_fields"),
    ("tickets", "consents"),
    ("activities", "title"),
    ("activities", "description"),
    ("activities", "custom_fields"),
    ("activities", "consents"),
    ("activity_emails", "title"),
    ("activity_emails", "text"),
    ("activity_emails", "html"),
    ("activity_emails", "headers"),
    ("activity_emails", "message_id"),
    ("activity_fbm", "title"),
    ("activity_webs", "title"),
    ("activity_webs", "browser"),
    ("attachments", "title"),
    ("call_transcripts", "text"),
    ("messages", "text"),
]


def _set(target: int) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for table, column in COLUMNS:
        op.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" SET STATISTICS {target}')
        if target == 0:
            # Statistics gathered before this revision: changing a column to its own type drops them
            # (the table's owner may do that; deleting from pg_statistic needs a superuser).
            kind = bind.exec_driver_sql(
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
                " WHERE attrelid = %(table)s::regclass AND attname = %(column)s",
                {"table": f'"{table}"', "column": column},
            ).scalar_one()
            op.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE {kind}')


def upgrade() -> None:
    _set(0)


def downgrade() -> None:
    _set(-1)
