"""service levels (ticketsSla) for categories and accounts; the built-in roles of existing
tenants get their rights as new tenants do

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-04 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hovor.core.db
from hovor.migrations.grants import grant
from hovor.migrations.sqlite import rebuilding

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ALL = {f"helpdesk:sla:{a}" for a in ("create", "read", "update", "delete")}
READS = {"helpdesk:sla:read"}
GRANTS = {"admin": ALL, "supervisor": READS, "operator": READS, "integration": READS, "dpo": READS}
TERMS = [f"{kind}_{level}" for kind in ("response", "solution") for level in ("low", "normal", "high")]


def upgrade() -> None:
    # Other tables reference both (tickets their category, contacts their account): SQLite rebuilds
    # them with foreign keys off (hovor.migrations.sqlite), this revision's schema work inside.
    with rebuilding("ticket_categories", "crm_accounts"):
        _create_levels()
        _add_sla_columns()
    grant(GRANTS)


def _create_levels() -> None:
    op.create_table(
        "ticket_slas",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=4000), nullable=True),
        sa.Column("deactivated", sa.Boolean(), nullable=False),
        *(sa.Column(term, sa.Integer(), nullable=True) for term in TERMS),
        sa.Column("unit", sa.String(length=8), nullable=False),
        sa.Column("created", hovor.core.db.UTCDateTime(), nullable=False),
        sa.Column("edited", hovor.core.db.UTCDateTime(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("edited_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_ticket_slas_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("tenant_id", "name", name=op.f("pk_ticket_slas")),
    )


def _add_sla_columns() -> None:
    for table in ("ticket_categories", "crm_accounts"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("sla", sa.String(length=64), nullable=True))
            batch.create_foreign_key(
                op.f(f"fk_{table}_tenant_id_sla_ticket_slas"),
                "ticket_slas",
                ["tenant_id", "sla"],
                ["tenant_id", "name"],
            )


def downgrade() -> None:
    with rebuilding("ticket_categories", "crm_accounts"):
        for table in ("crm_accounts", "ticket_categories"):
            with op.batch_alter_table(table) as batch:
                batch.drop_constraint(op.f(f"fk_{table}_tenant_id_sla_ticket_slas"), type_="foreignkey")
                batch.drop_column("sla")
    op.drop_table("ticket_slas")
