"""a record is edited when it is created: existing records without an edit get their creation

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 10:30:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# hovor's tables with both stamps at this revision (not whatever else shares the schema).
TABLES = (
    "activities",
    "campaign_records",
    "crm_accounts",
    "crm_contacts",
    "crm_databases",
    "form_fields",
    "profiles",
    "queues",
    "record_types",
    "retention_policies",
    "roles",
    "tenants",
    "ticket_categories",
    "tickets",
    "users",
)


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    for table in TABLES:
        columns = {c["name"] for c in inspector.get_columns(table)}
        t = sa.table(table, *(sa.column(c) for c in columns))
        values: dict[str, Any] = {"edited": t.c.created}
        if {"edited_by", "created_by"} <= columns:
            values["edited_by"] = sa.case((t.c.edited_by.is_(None), t.c.created_by), else_=t.c.edited_by)
        op.execute(t.update().where(t.c.edited.is_(None)).values(**values))


def downgrade() -> None:
    pass  # the stamps stay true: each of these records was last changed when it was created
