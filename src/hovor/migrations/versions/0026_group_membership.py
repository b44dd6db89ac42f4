"""users' membership of groups (several each)

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-04 13:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "user_group_links",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("user", sa.String(length=64), nullable=False),
        sa.Column("group", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "group"],
            ["user_groups.tenant_id", "user_groups.name"],
            name=op.f("fk_user_group_links_tenant_id_group_user_groups"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user"],
            ["users.tenant_id", "users.name"],
            name=op.f("fk_user_group_links_tenant_id_user_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_user_group_links_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "user", "group", name=op.f("pk_user_group_links")),
    )
    op.create_index("ix_user_group_links_tenant_group", "user_group_links", ["tenant_id", "group"])


def downgrade() -> None:
    op.drop_table("user_group_links")
