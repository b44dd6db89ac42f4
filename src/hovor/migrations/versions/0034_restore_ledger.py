"""what a restore must do again: the blobs whose keys were destroyed, and the rows an erasure
redacted the person from (with keyed hashes of what it took out)

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-04 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import hovor.core.db

revision: str = "0034"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON(none_as_null=True).with_variant(
        postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
    )


def upgrade() -> None:
    op.create_table(
        "shredded_keys",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("at", hovor.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_shredded_keys_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "name", name=op.f("pk_shredded_keys")),
    )
    op.create_index("ix_shredded_keys_at", "shredded_keys", ["at"])
    op.create_table(
        "mention_redactions",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("job", sa.String(length=64), nullable=True),
        sa.Column("rows", _json(), nullable=False),
        sa.Column("hashes", _json(), nullable=False),
        sa.Column("at", hovor.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_mention_redactions_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "name", name=op.f("pk_mention_redactions")),
    )
    op.create_index("ix_mention_redactions_at", "mention_redactions", ["at"])


def downgrade() -> None:
    op.drop_index("ix_mention_redactions_at", table_name="mention_redactions")
    op.drop_table("mention_redactions")
    op.drop_index("ix_shredded_keys_at", table_name="shredded_keys")
    op.drop_table("shredded_keys")
