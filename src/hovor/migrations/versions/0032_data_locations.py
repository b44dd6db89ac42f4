"""where each store of the platform lives (the platform operator's declaration, per-tenant
overrides); the built-in admin and DPO roles of existing tenants get the rights to read it and the
record of processing activities

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-04 15:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hovor.core.db
from hovor.migrations.grants import grant

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

READS = {"tenant:locations:read", "tenant:processing:read"}
GRANTS = {"admin": READS, "dpo": READS}


def upgrade() -> None:
    op.create_table(
        "data_locations",
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=255), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("region", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created", hovor.core.db.UTCDateTime(), nullable=False),
        sa.Column("edited", hovor.core.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("scope", "kind", "name", name=op.f("pk_data_locations")),
    )
    grant(GRANTS)


def downgrade() -> None:
    op.drop_table("data_locations")
