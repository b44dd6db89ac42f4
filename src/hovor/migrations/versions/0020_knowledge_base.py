"""the knowledge base: folders and articles; the built-in roles of existing tenants get its rights

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 10:40:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import hovor.core.db

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ALL = {f"helpdesk:articles:{a}" for a in ("create", "read", "update", "delete")}
READS = {"helpdesk:articles:read"}
GRANTS = {"admin": ALL, "supervisor": READS, "operator": READS, "integration": READS, "dpo": READS}


def _entry(table: str, *own: Any) -> None:
    op.create_table(
        table,
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=4000), nullable=True),
        sa.Column("deactivated", sa.Boolean(), nullable=False),
        *own,
        sa.Column("created", hovor.core.db.UTCDateTime(), nullable=False),
        sa.Column("edited", hovor.core.db.UTCDateTime(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("edited_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("tenant_id", "name", name=op.f(f"pk_{table}")),
    )


def upgrade() -> None:
    _entry("article_folders")
    _entry(
        "articles",
        sa.Column("folder", sa.String(length=64), nullable=True),
        sa.Column("content", sa.Text(), nullable=True),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "folder"],
            ["article_folders.tenant_id", "article_folders.name"],
            name=op.f("fk_articles_tenant_id_folder_article_folders"),
        ),
    )
    op.create_index("ix_articles_tenant_folder", "articles", ["tenant_id", "folder"])
    roles = sa.table(
        "roles",
        sa.column("tenant_id", sa.String),
        sa.column("name", sa.String),
        sa.column("builtin", sa.Boolean),
        sa.column("permissions", hovor.core.db.JSONType),
    )
    bind = op.get_bind()
    for tenant_id, name, permissions in bind.execute(
        sa.select(roles.c.tenant_id, roles.c.name, roles.c.permissions).where(
            roles.c.name.in_(sorted(GRANTS)), roles.c.builtin.is_(True)
        )
    ):
        bind.execute(
            roles.update()
            .where(roles.c.tenant_id == tenant_id, roles.c.name == name)
            .values(permissions=sorted(set(permissions or []) | GRANTS[name]))
        )


def downgrade() -> None:
    op.drop_table("articles")
    op.drop_table("article_folders")
