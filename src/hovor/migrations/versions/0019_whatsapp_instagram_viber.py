"""WhatsApp, Instagram and Viber conversations, each a channel like Messenger

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 10:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Table and the length of its sender: a phone number (WhatsApp) or the network's id of the person.
TABLES = {"activity_wap": 32, "activity_igdm": 128, "activity_vbr": 128}


def upgrade() -> None:
    for table, sender in TABLES.items():
        op.create_table(
            table,
            sa.Column("sender", sa.String(length=sender), nullable=True),
            sa.Column("tenant_id", sa.String(length=64), nullable=False),
            sa.Column("name", sa.String(length=64), nullable=False),
            sa.Column("title", sa.String(length=255), nullable=True),
            sa.Column("direction", sa.String(length=8), nullable=False),
            sa.ForeignKeyConstraint(
                ["tenant_id", "name"],
                ["activities.tenant_id", "activities.name"],
                name=op.f(f"fk_{table}_tenant_id_name_activities"),
                ondelete="CASCADE",
            ),
            sa.ForeignKeyConstraint(
                ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants")
            ),
            sa.PrimaryKeyConstraint("tenant_id", "name", name=op.f(f"pk_{table}")),
        )
        op.create_index(f"ix_{table}_tenant_sender", table, ["tenant_id", "sender"])
        op.create_index(f"ix_{table}_tenant_title", table, ["tenant_id", "title"])
        if op.get_bind().dialect.name == "postgresql":
            # The name a profile shows: no sample of it in pg_statistic (see 0008).
            op.execute(f'ALTER TABLE "{table}" ALTER COLUMN "title" SET STATISTICS 0')


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
