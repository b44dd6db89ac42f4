"""web chats have a direction; chats, SMS and messaging conversations a wait time

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04 12:55:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("activity_webs", "activity_sms", "activity_fbm", "activity_wap", "activity_igdm", "activity_vbr")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("wait_time", sa.Integer(), nullable=True))
            if table == "activity_webs":
                # Chats so far were opened by customers.
                batch.add_column(
                    sa.Column("direction", sa.String(length=8), server_default="in", nullable=False)
                )


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("wait_time")
            if table == "activity_webs":
                batch.drop_column("direction")
