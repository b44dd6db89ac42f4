"""the activities that carry free text of their own, indexed apart: the erasure's search for a
person's mentions reads those, not every activity (at the large size none of ten million calls
had a title or description, and the search read them all)

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-05 00:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0037"
down_revision: str | None = "0036"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As hovor.activities.models.HAS_FREE_TEXT at this revision.
HAS_FREE_TEXT = "title IS NOT NULL OR description IS NOT NULL OR custom_fields <> '{}'"


def upgrade() -> None:
    op.create_index(
        "ix_activities_tenant_free_text",
        "activities",
        ["tenant_id"],
        sqlite_where=sa.text(HAS_FREE_TEXT),
        postgresql_where=sa.text(HAS_FREE_TEXT),
    )


def downgrade() -> None:
    op.drop_index("ix_activities_tenant_free_text", table_name="activities")
