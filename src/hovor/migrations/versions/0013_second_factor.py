"""second factor for users and platform staff, web sessions' last use, platform staff's tokens,
and the admin's right to the tenant's firewall allow-list

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 08:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hovor.core.db

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIREWALL = {f"admin:firewall:{a}" for a in ("create", "read", "delete")}


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("totp_secret", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("totp_pending", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("totp_failures", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("totp_failed_at", hovor.core.db.UTCDateTime(), nullable=True))
    with op.batch_alter_table("platform_operators") as batch:
        batch.add_column(sa.Column("totp_secret", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("totp_failures", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("totp_failed_at", hovor.core.db.UTCDateTime(), nullable=True))
    with op.batch_alter_table("tokens") as batch:
        batch.add_column(sa.Column("last_used", hovor.core.db.UTCDateTime(), nullable=True))
    op.create_table(
        "platform_tokens",
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("operator", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=True),
        sa.Column("purpose", sa.String(length=32), nullable=True),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("created", hovor.core.db.UTCDateTime(), nullable=False),
        sa.Column("expires", hovor.core.db.UTCDateTime(), nullable=False),
        sa.Column("revoked", hovor.core.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["operator"],
            ["platform_operators.name"],
            name=op.f("fk_platform_tokens_operator_platform_operators"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_platform_tokens_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("hash", name=op.f("pk_platform_tokens")),
    )
    op.create_index("ix_platform_tokens_operator", "platform_tokens", ["operator"], unique=False)

    # The built-in admin role of existing tenants gets the new rights (new tenants get them at creation).
    roles = sa.table(
        "roles",
        sa.column("tenant_id", sa.String),
        sa.column("name", sa.String),
        sa.column("builtin", sa.Boolean),
        sa.column("permissions", hovor.core.db.JSONType),
    )
    bind = op.get_bind()
    for tenant_id, permissions in bind.execute(
        sa.select(roles.c.tenant_id, roles.c.permissions).where(
            roles.c.name == "admin", roles.c.builtin.is_(True)
        )
    ):
        bind.execute(
            roles.update()
            .where(roles.c.tenant_id == tenant_id, roles.c.name == "admin")
            .values(permissions=sorted(set(permissions or []) | FIREWALL))
        )


def downgrade() -> None:
    op.drop_index("ix_platform_tokens_operator", table_name="platform_tokens")
    op.drop_table("platform_tokens")
    with op.batch_alter_table("tokens") as batch:
        batch.drop_column("last_used")
    with op.batch_alter_table("platform_operators") as batch:
        batch.drop_column("totp_failed_at")
        batch.drop_column("totp_failures")
        batch.drop_column("totp_last_step")
        batch.drop_column("totp_secret")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("totp_failed_at")
        batch.drop_column("totp_failures")
        batch.drop_column("totp_last_step")
        batch.drop_column("totp_pending")
        batch.drop_column("totp_secret")
