"""retention policies per kind of record, and the contract's retention per tenant

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 05:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hovor.core.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "retention_policies",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("created", hovor.core.db.UTCDateTime(), nullable=False),
        sa.Column("edited", hovor.core.db.UTCDateTime(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("edited_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_retention_policies_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "name", name=op.f("pk_retention_policies")),
    )
    # Existing tenants get no contract retention (NULL): nothing starts being deleted on upgrade.
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retention_days", sa.Integer(), nullable=True))
    # The built-in DPO role of existing tenants gets the new rights (new tenants get them at creation).
    roles = sa.table(
        "roles",
        sa.column("tenant_id", sa.String),
        sa.column("name", sa.String),
        sa.column("builtin", sa.Boolean),
        sa.column("permissions", hovor.core.db.JSONType),
    )
    bind = op.get_bind()
    new = {f"dpo:retention:{a}" for a in ("create", "read", "update", "delete")}
    for tenant_id, permissions in bind.execute(
        sa.select(roles.c.tenant_id, roles.c.permissions).where(
            roles.c.name == "dpo", roles.c.builtin.is_(True)
        )
    ):
        bind.execute(
            roles.update()
            .where(roles.c.tenant_id == tenant_id, roles.c.name == "dpo")
            .values(permissions=sorted(set(permissions or []) | new))
        )


def downgrade() -> None:
    op.drop_column("tenants", "retention_days")
    op.drop_table("retention_policies")
