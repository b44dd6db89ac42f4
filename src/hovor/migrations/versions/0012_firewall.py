"""the firewall's scores, bans and allow/deny lists

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 05:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hovor.core.db

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "firewall_events",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("at", hovor.core.db.UTCDateTime(), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_firewall_events")),
    )
    op.create_index("ix_firewall_events_key_at", "firewall_events", ["key", "at"], unique=False)
    op.create_table(
        "firewall_bans",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("offences", sa.Integer(), nullable=False),
        sa.Column("created", hovor.core.db.UTCDateTime(), nullable=False),
        sa.Column("until", hovor.core.db.UTCDateTime(), nullable=False),
        sa.Column("lifted", hovor.core.db.UTCDateTime(), nullable=True),
        sa.Column("lifted_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_firewall_bans")),
    )
    op.create_index("ix_firewall_bans_key_created", "firewall_bans", ["key", "created"], unique=False)
    op.create_index("ix_firewall_bans_until", "firewall_bans", ["until"], unique=False)
    op.create_table(
        "firewall_rules",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("network", sa.String(length=64), nullable=False),
        sa.Column("note", sa.String(length=255), nullable=True),
        sa.Column("created", hovor.core.db.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_firewall_rules_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_firewall_rules")),
    )


def downgrade() -> None:
    op.drop_table("firewall_rules")
    op.drop_index("ix_firewall_bans_until", table_name="firewall_bans")
    op.drop_index("ix_firewall_bans_key_created", table_name="firewall_bans")
    op.drop_table("firewall_bans")
    op.drop_index("ix_firewall_events_key_at", table_name="firewall_events")
    op.drop_table("firewall_events")
