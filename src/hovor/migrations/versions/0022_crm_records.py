"""CRM records (deals and other records) and their kinds; the built-in roles of existing tenants
get their rights as new tenants do

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 12:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import hovor.core.db
from hovor.migrations.grants import grant

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _crud(prefix: str, actions: tuple[str, ...] = ("create", "read", "update", "delete")) -> set[str]:
    return {f"{prefix}:{a}" for a in actions}


# What each built-in role gets, as hovor.core.permissions gives them to a new tenant at this revision.
WORK = {"crm:recordTypes:read", *_crud("crm:records", ("create", "read", "update"))}
GRANTS = {
    "admin": _crud("crm:recordTypes") | _crud("crm:records"),
    "supervisor": WORK | {"crm:records:delete"},
    "operator": WORK,
    "integration": WORK | {"crm:records:delete"},
    "dpo": {"crm:recordTypes:read", "crm:records:read", "crm:records:delete"},
}


def _json() -> sa.types.TypeEngine:
    return sa.JSON(none_as_null=True).with_variant(
        postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
    )


def _stamps() -> list[sa.Column]:
    return [
        sa.Column("created", hovor.core.db.UTCDateTime(), nullable=False),
        sa.Column("edited", hovor.core.db.UTCDateTime(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("edited_by", sa.String(length=64), nullable=True),
    ]


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", column],
        [f"{target}.tenant_id", f"{target}.name"],
        name=op.f(f"fk_{table}_tenant_id_{column}_{target}"),
    )


def upgrade() -> None:
    op.create_table(
        "crm_record_types",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("database", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        *_stamps(),
        _fk("crm_record_types", "database", "crm_databases"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_crm_record_types_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "name", name=op.f("pk_crm_record_types")),
    )
    op.create_table(
        "crm_records",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("database", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("contact", sa.String(length=64), nullable=True),
        sa.Column("account", sa.String(length=64), nullable=True),
        sa.Column("ticket", sa.Integer(), nullable=True),
        sa.Column("user", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=64), nullable=True),
        sa.Column("stage", sa.String(length=8), nullable=False),
        sa.Column("custom_fields", _json(), nullable=False),
        sa.Column("consents", _json(), nullable=False),
        sa.Column("anonymized", sa.Boolean(), nullable=False),
        *_stamps(),
        _fk("crm_records", "account", "crm_accounts"),
        _fk("crm_records", "contact", "crm_contacts"),
        _fk("crm_records", "database", "crm_databases"),
        _fk("crm_records", "status", "ticket_statuses"),
        _fk("crm_records", "ticket", "tickets"),
        _fk("crm_records", "type", "crm_record_types"),
        _fk("crm_records", "user", "users"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_crm_records_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("tenant_id", "name", name=op.f("pk_crm_records")),
    )
    for column in ("account", "contact", "database", "edited", "ticket", "type"):
        op.create_index(f"ix_crm_records_tenant_{column}", "crm_records", ["tenant_id", column])
    if op.get_bind().dialect.name == "postgresql":
        # Free text and form values about a person: no sample of them in pg_statistic (see 0008).
        for column in ("title", "description", "custom_fields", "consents"):
            op.execute(f'ALTER TABLE "crm_records" ALTER COLUMN "{column}" SET STATISTICS 0')
    grant(GRANTS)


def downgrade() -> None:
    op.drop_table("crm_records")
    op.drop_table("crm_record_types")
