"""operators' presence: who is signed in (realtimeSessions) and the pauses they took; the
built-in roles of existing tenants get its rights as new tenants do

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-04 13:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hovor.core.db
from hovor.migrations.grants import grant

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ALL = {f"activities:sessions:{a}" for a in ("create", "read", "update", "delete")}
GRANTS = {
    "admin": ALL,
    "integration": ALL,
    "supervisor": ALL - {"activities:sessions:create"},
    "dpo": {"activities:sessions:read"},
}


def _fk(table: str, column: str, target: str, ondelete: str | None = None) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", column],
        [f"{target}.tenant_id", f"{target}.name"],
        name=op.f(f"fk_{table}_tenant_id_{column}_{target}"),
        ondelete=ondelete,
    )


def upgrade() -> None:
    op.create_table(
        "operator_sessions",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("exten", sa.String(length=32), nullable=True),
        sa.Column("exten_status", sa.String(length=32), nullable=True),
        sa.Column("logintime", hovor.core.db.UTCDateTime(), nullable=False),
        sa.Column("statetime", hovor.core.db.UTCDateTime(), nullable=False),
        sa.Column("lastcalltime", hovor.core.db.UTCDateTime(), nullable=True),
        sa.Column("id_pause", sa.String(length=64), nullable=True),
        sa.Column("onpause", hovor.core.db.UTCDateTime(), nullable=True),
        _fk("operator_sessions", "id_pause", "pause_types"),
        _fk("operator_sessions", "name", "users", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_operator_sessions_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "name", name=op.f("pk_operator_sessions")),
    )
    op.create_table(
        "pauses_taken",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("user", sa.String(length=64), nullable=True),
        sa.Column("pause", sa.String(length=64), nullable=True),
        sa.Column("start", hovor.core.db.UTCDateTime(), nullable=False),
        sa.Column("end", hovor.core.db.UTCDateTime(), nullable=False),
        sa.Column("duration", sa.Integer(), nullable=False),
        _fk("pauses_taken", "pause", "pause_types"),
        _fk("pauses_taken", "user", "users"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_pauses_taken_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "name", name=op.f("pk_pauses_taken")),
    )
    op.create_index("ix_pauses_taken_tenant_end", "pauses_taken", ["tenant_id", "end"])
    op.create_index("ix_pauses_taken_tenant_user_start", "pauses_taken", ["tenant_id", "user", "start"])
    grant(GRANTS)


def downgrade() -> None:
    op.drop_table("pauses_taken")
    op.drop_table("operator_sessions")
