"""one password check in flight per slowed account: the sign-in being checked holds the account

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hovor.core.db

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("users", "platform_operators"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("login_check_until", hovor.core.db.UTCDateTime(), nullable=True))


def downgrade() -> None:
    for table in ("users", "platform_operators"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("login_check_until")
