"""tickets: when an operator first answered, and the last activity of each side

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-04 14:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hovor.core.db

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("last_activity_client", "last_activity_operator", "first_answer")
# The channel tables whose items have a direction.
ITEMS = (
    "activity_calls",
    "activity_emails",
    "activity_webs",
    "activity_sms",
    "activity_fbm",
    "activity_wap",
    "activity_igdm",
    "activity_vbr",
)


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        for column in COLUMNS:
            batch.add_column(sa.Column(column, hovor.core.db.UTCDateTime(), nullable=True))
    # Existing tickets get them from the activities already filed under them, as new ones do.
    bind = op.get_bind()
    activities = sa.table(
        "activities",
        sa.column("tenant_id", sa.String),
        sa.column("name", sa.String),
        sa.column("ticket", sa.Integer),
        sa.column("time", hovor.core.db.UTCDateTime()),
    )
    found: dict[tuple[str, int], dict[str, object]] = {}
    for table in ITEMS:
        item = sa.table(
            table,
            sa.column("tenant_id", sa.String),
            sa.column("name", sa.String),
            sa.column("direction", sa.String),
        )
        rows = bind.execute(
            sa.select(activities.c.tenant_id, activities.c.ticket, activities.c.time, item.c.direction)
            .join(item, (item.c.tenant_id == activities.c.tenant_id) & (item.c.name == activities.c.name))
            .where(activities.c.ticket.is_not(None), item.c.direction.in_(("in", "out")))
        )
        for tenant_id, ticket, when, direction in rows:
            seen = found.setdefault((tenant_id, ticket), {})
            if direction == "in":
                seen["last_activity_client"] = max(when, seen.get("last_activity_client") or when)
            else:
                seen["last_activity_operator"] = max(when, seen.get("last_activity_operator") or when)
                seen["first_answer"] = min(when, seen.get("first_answer") or when)
    tickets = sa.table(
        "tickets",
        sa.column("tenant_id", sa.String),
        sa.column("name", sa.Integer),
        *(sa.column(c, hovor.core.db.UTCDateTime()) for c in COLUMNS),
    )
    for (tenant_id, ticket), values in found.items():
        bind.execute(
            tickets.update()
            .where(tickets.c.tenant_id == tenant_id, tickets.c.name == ticket)
            .values(**values)
        )


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        for column in reversed(COLUMNS):
            batch.drop_column(column)
