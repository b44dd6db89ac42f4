"""tickets: the ticket one was merged into, and its SLA deadlines by its category

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 10:50:00.000000
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hovor.core.db

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("id_merge", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("sla_deadtime", hovor.core.db.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("sla_close_deadline", hovor.core.db.UTCDateTime(), nullable=True))
    # Existing tickets get their deadlines from their category, as new ones do.
    tickets = sa.table(
        "tickets",
        sa.column("tenant_id", sa.String),
        sa.column("name", sa.Integer),
        sa.column("category", sa.String),
        sa.column("created", hovor.core.db.UTCDateTime()),
        sa.column("sla_deadtime", hovor.core.db.UTCDateTime()),
        sa.column("sla_close_deadline", hovor.core.db.UTCDateTime()),
    )
    categories = sa.table(
        "ticket_categories",
        sa.column("tenant_id", sa.String),
        sa.column("name", sa.String),
        sa.column("sla_response", sa.Integer),
        sa.column("sla_solution", sa.Integer),
    )
    bind = op.get_bind()
    found = bind.execute(
        sa.select(
            tickets.c.tenant_id,
            tickets.c.name,
            tickets.c.created,
            categories.c.sla_response,
            categories.c.sla_solution,
        )
        .join(
            categories,
            (categories.c.tenant_id == tickets.c.tenant_id) & (categories.c.name == tickets.c.category),
        )
        .where(categories.c.sla_response.is_not(None) | categories.c.sla_solution.is_not(None))
    ).all()
    values = [
        {
            "t": tenant_id,
            "n": name,
            "response": created + dt.timedelta(minutes=response) if response else None,
            "solution": created + dt.timedelta(minutes=solution) if solution else None,
        }
        for tenant_id, name, created, response, solution in found
    ]
    if values:
        bind.execute(
            tickets.update()
            .where(tickets.c.tenant_id == sa.bindparam("t"), tickets.c.name == sa.bindparam("n"))
            .values(sla_deadtime=sa.bindparam("response"), sla_close_deadline=sa.bindparam("solution")),
            values,
        )


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("sla_close_deadline")
        batch.drop_column("sla_deadtime")
        batch.drop_column("id_merge")
