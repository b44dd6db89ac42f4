"""statuses marked on tickets and activities (several each)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04 12:40:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Link table → (the column with the record's key, its type, the record's table).
LINKS: dict[str, tuple[str, Any, str]] = {
    "ticket_status_links": ("ticket", sa.Integer(), "tickets"),
    "activity_status_links": ("activity", sa.String(length=64), "activities"),
}


def upgrade() -> None:
    for table, (column, kind, owner) in LINKS.items():
        op.create_table(
            table,
            sa.Column("tenant_id", sa.String(length=64), nullable=False),
            sa.Column(column, kind, autoincrement=False, nullable=False),
            sa.Column("status", sa.String(length=64), nullable=False),
            sa.ForeignKeyConstraint(
                ["tenant_id", "status"],
                ["ticket_statuses.tenant_id", "ticket_statuses.name"],
                name=op.f(f"fk_{table}_tenant_id_status_ticket_statuses"),
            ),
            sa.ForeignKeyConstraint(
                ["tenant_id", column],
                [f"{owner}.tenant_id", f"{owner}.name"],
                name=op.f(f"fk_{table}_tenant_id_{column}_{owner}"),
                ondelete="CASCADE",
            ),
            sa.ForeignKeyConstraint(
                ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants")
            ),
            sa.PrimaryKeyConstraint("tenant_id", column, "status", name=op.f(f"pk_{table}")),
        )
        op.create_index(f"ix_{table}_tenant_status", table, ["tenant_id", "status"])


def downgrade() -> None:
    for table in reversed(LINKS):
        op.drop_table(table)
