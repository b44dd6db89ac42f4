"""What a migration that adds permissions does to the built-in roles of existing tenants: they get
the new rights as a new tenant's roles do. Written against the ``roles`` table as it is stored,
not the models, so a later change of the models does not change what an old migration did."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hovor.core.db


def grant(grants: dict[str, set[str]]) -> None:
    """Adds ``grants`` (built-in role name → permissions) to those roles of every tenant."""
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
            roles.c.name.in_(sorted(grants)), roles.c.builtin.is_(True)
        )
    ):
        bind.execute(
            roles.update()
            .where(roles.c.tenant_id == tenant_id, roles.c.name == name)
            .values(permissions=sorted(set(permissions or []) | grants[name]))
        )
