"""the reference's call and e-mail fields that v6 clients read: the call's causes, pressed key,
missed call and callback, attempts and the caller's name prefix; the e-mail's wait time and answer

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 09:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hovor.core.db

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("activity_calls") as batch:
        batch.add_column(sa.Column("prefix_clid_name", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("disposition_cause", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("disconnection_cause", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("pressed_key", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("missed_call", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("missed_call_time", hovor.core.db.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("missed_callback", hovor.core.db.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=True))
    op.create_index(
        "ix_activity_calls_tenant_prefix_clid_name", "activity_calls", ["tenant_id", "prefix_clid_name"]
    )
    with op.batch_alter_table("activity_emails") as batch:
        batch.add_column(sa.Column("wait_time", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("answered", sa.Boolean(), server_default=sa.false(), nullable=False))
    if op.get_bind().dialect.name == "postgresql":
        # A caller's name: no sample of it in pg_statistic, out of erasure's reach (see 0008).
        op.execute('ALTER TABLE "activity_calls" ALTER COLUMN "prefix_clid_name" SET STATISTICS 0')


def downgrade() -> None:
    op.drop_index("ix_activity_calls_tenant_prefix_clid_name", table_name="activity_calls")
    with op.batch_alter_table("activity_emails") as batch:
        batch.drop_column("answered")
        batch.drop_column("wait_time")
    with op.batch_alter_table("activity_calls") as batch:
        for column in (
            "attempts",
            "missed_callback",
            "missed_call_time",
            "missed_call",
            "pressed_key",
            "disconnection_cause",
            "disposition_cause",
            "prefix_clid_name",
        ):
            batch.drop_column(column)
