"""contacts indexed by surname and given name together: finding a person by name (the subject
resolver, the erasure's preview) reads the few contacts of that name, not every contact of a
common surname

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-04 23:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0036"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The new index serves what the old one did (its first two columns are the old one's).
    op.create_index(
        "ix_crm_contacts_tenant_lastname_firstname", "crm_contacts", ["tenant_id", "lastname", "firstname"]
    )
    op.drop_index("ix_crm_contacts_tenant_lastname", table_name="crm_contacts")


def downgrade() -> None:
    op.create_index("ix_crm_contacts_tenant_lastname", "crm_contacts", ["tenant_id", "lastname"])
    op.drop_index("ix_crm_contacts_tenant_lastname_firstname", table_name="crm_contacts")
