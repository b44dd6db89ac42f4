"""the tenant's recording-retention ceiling

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 03:50:05.675911
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing tenants get no ceiling (NULL): the sweep removes nothing of theirs until the platform
    # operator sets the contract's value (hovor tenant retention). A default here would start
    # deleting every older recording within the hour after the upgrade.
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recordings_retention_days", sa.Integer(), nullable=True))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+): the batch form rebuilds the table, which other tables'
    # foreign keys forbid.
    op.drop_column("tenants", "recordings_retention_days")
