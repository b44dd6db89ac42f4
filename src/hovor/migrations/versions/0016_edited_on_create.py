"""a record is edited when it is created: existing records without an edit get their creation

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 10:30:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    for table in inspector.get_table_names():
        columns = {c["name"] for c in inspector.get_columns(table)}
        if not {"edited", "created"} <= columns:
            continue
        t = sa.table(table, *(sa.column(c) for c in columns))
        values: dict[str, Any] = {"edited": t.c.created}
        if {"edited_by", "created_by"} <= columns:
            values["edited_by"] = sa.case((t.c.edited_by.is_(None), t.c.created_by), else_=t.c.edited_by)
        op.execute(t.update().where(t.c.edited.is_(None)).values(**values))


def downgrade() -> None:
    pass  # the stamps stay true: each of these records was last changed when it was created
