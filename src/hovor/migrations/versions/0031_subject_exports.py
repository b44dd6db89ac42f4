"""access and portability exports; a subject request links the export that answered it and the
records it changed, and is anonymized by its retention; the DPO role of existing tenants gets the
right to make exports

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-04 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import hovor.core.db
from hovor.migrations.grants import grant

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GRANTS = {"dpo": {f"dpo:exports:{a}" for a in ("create", "read", "delete")}}


def _json() -> sa.types.TypeEngine:
    return sa.JSON(none_as_null=True).with_variant(
        postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
    )


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, hovor.core.db.UTCDateTime(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "subject_exports",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("contact", sa.String(length=64), nullable=True),
        sa.Column("request", sa.String(length=64), nullable=True),
        sa.Column("include", _json(), nullable=True),
        sa.Column("job", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("blob", sa.String(length=64), nullable=True),
        sa.Column("partial", sa.String(length=128), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("counts", _json(), nullable=True),
        _when("expires", nullable=False),
        sa.Column("downloads", sa.Integer(), nullable=False),
        _when("created", nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        _when("edited"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_subject_exports_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "name", name=op.f("pk_subject_exports")),
    )
    op.create_index("ix_subject_exports_tenant_contact", "subject_exports", ["tenant_id", "contact"])
    op.create_index("ix_subject_exports_tenant_expires", "subject_exports", ["tenant_id", "state", "expires"])
    op.add_column("subject_requests", sa.Column("export", sa.String(length=64), nullable=True))
    op.add_column("subject_requests", sa.Column("records", _json(), nullable=True))
    op.add_column(
        "subject_requests", sa.Column("anonymized", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    grant(GRANTS)


def downgrade() -> None:
    with op.batch_alter_table("subject_requests") as batch:
        batch.drop_column("export")
        batch.drop_column("records")
        batch.drop_column("anonymized")
    op.drop_index("ix_subject_exports_tenant_expires", table_name="subject_exports")
    op.drop_index("ix_subject_exports_tenant_contact", table_name="subject_exports")
    op.drop_table("subject_exports")
