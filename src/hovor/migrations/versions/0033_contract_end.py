"""contract end: a tenant's export to the controller, its receipt, the purge and its certificate,
kept outside the tenant (no foreign key: the row outlives the tenant it ends)

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-04 15:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import hovor.core.db

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, hovor.core.db.UTCDateTime(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "contract_ends",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=128), nullable=False),
        sa.Column("destination", sa.String(length=1024), nullable=False),
        sa.Column("export_job", sa.String(length=64), nullable=True),
        sa.Column("started_by", sa.String(length=64), nullable=False),
        _time("started", False),
        _time("exported"),
        sa.Column("package_sha256", sa.String(length=64), nullable=True),
        sa.Column("package_size", sa.Integer(), nullable=True),
        _time("received"),
        sa.Column("received_by", sa.String(length=64), nullable=True),
        sa.Column("approved_by", sa.String(length=64), nullable=True),
        sa.Column("purge_job", sa.String(length=64), nullable=True),
        _time("purged"),
        sa.Column(
            "certificate",
            sa.JSON(none_as_null=True).with_variant(
                postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
            ),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_contract_ends")),
    )


def downgrade() -> None:
    op.drop_table("contract_ends")
