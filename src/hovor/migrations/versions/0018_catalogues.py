"""catalogues v6 clients list and edit: ticket statuses, user groups, pause types, reply templates;
the built-in roles of existing tenants get their rights as new tenants do

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 10:00:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import hovor.core.db

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES: dict[str, list[Any]] = {
    "ticket_statuses": [sa.Column("color", sa.String(length=7), nullable=True)],
    "user_groups": [],
    "pause_types": [
        sa.Column("paid", sa.Boolean(), nullable=False),
        sa.Column("max_duration", sa.Integer(), nullable=True),
    ],
    "reply_templates": [
        sa.Column("type", sa.String(length=8), nullable=False),
        sa.Column("subject", sa.String(length=998), nullable=True),
        sa.Column("content", sa.Text(), nullable=True),
    ],
}
PREFIXES = ("helpdesk:statuses", "admin:groups", "admin:pauses", "activities:templates")
ALL = {f"{p}:{a}" for p in PREFIXES for a in ("create", "read", "update", "delete")}
READS = {f"{p}:read" for p in PREFIXES}
# What each built-in role gets, as hovor.core.permissions gives them to a new tenant at this revision.
GRANTS = {"admin": ALL, "supervisor": READS, "operator": READS, "integration": READS, "dpo": READS}


def upgrade() -> None:
    for table, own in TABLES.items():
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
            sa.ForeignKeyConstraint(
                ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants")
            ),
            sa.PrimaryKeyConstraint("tenant_id", "name", name=op.f(f"pk_{table}")),
        )
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
    for table in reversed(TABLES):
        op.drop_table(table)
