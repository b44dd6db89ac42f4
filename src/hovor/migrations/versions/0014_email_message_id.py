"""an index of imported e-mails by Message-ID, so importing one message twice stores it once

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 06:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_activity_emails_tenant_message_id", "activity_emails", ["tenant_id", "message_id"])


def downgrade() -> None:
    op.drop_index("ix_activity_emails_tenant_message_id", table_name="activity_emails")
