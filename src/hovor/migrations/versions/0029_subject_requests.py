"""the register of subject requests; the tenant's four-eyes setting for erasures; the DPO role of
existing tenants gets its rights as a new tenant's does

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-04 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import hovor.core.db
from hovor.migrations.grants import grant
from hovor.migrations.sqlite import rebuilding

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GRANTS = {"dpo": {f"dpo:requests:{a}" for a in ("create", "read", "update")}}


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, hovor.core.db.UTCDateTime(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "subject_requests",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        _when("received", nullable=False),
        sa.Column("received_via", sa.String(length=16), nullable=False),
        sa.Column(
            "identifiers",
            sa.JSON(none_as_null=True).with_variant(
                postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
            ),
            nullable=True,
        ),
        sa.Column("contact", sa.String(length=64), nullable=True),
        sa.Column("answer_via", sa.String(length=16), nullable=True),
        sa.Column("answer_to", sa.String(length=320), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("verification", sa.String(length=32), nullable=True),
        sa.Column("verified_by", sa.String(length=64), nullable=True),
        _when("verified_at"),
        _when("due", nullable=False),
        _when("first_due", nullable=False),
        sa.Column("extension_reason", sa.String(length=1000), nullable=True),
        _when("extension_told"),
        sa.Column("approved_by", sa.String(length=64), nullable=True),
        _when("approved_at"),
        sa.Column("job", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=1000), nullable=True),
        _when("closed"),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        _when("created", nullable=False),
        _when("edited"),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("edited_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_subject_requests_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "name", name=op.f("pk_subject_requests")),
    )
    op.create_index("ix_subject_requests_tenant_received", "subject_requests", ["tenant_id", "received"])
    op.create_index("ix_subject_requests_tenant_state_due", "subject_requests", ["tenant_id", "state", "due"])
    if op.get_bind().dialect.name == "postgresql":
        # Who asked and their free-text reasons: no sample of them in pg_statistic (see 0008).
        for column in ("identifiers", "answer_to", "extension_reason", "outcome"):
            op.execute(f'ALTER TABLE "subject_requests" ALTER COLUMN "{column}" SET STATISTICS 0')
    # A plain ADD COLUMN: SQLite's batch mode would rebuild the table every other table references.
    op.add_column(
        "tenants", sa.Column("four_eyes_erasure", sa.Boolean(), server_default=sa.true(), nullable=False)
    )
    grant(GRANTS)


def downgrade() -> None:
    with rebuilding("tenants"), op.batch_alter_table("tenants") as batch:
        batch.drop_column("four_eyes_erasure")
    op.drop_table("subject_requests")
