"""the consent ledger; the suppression list (keyed hashes only); a campaign type's purpose and
channel and a record's reason for not being dialled; a contact's restriction (Art. 18); existing
tenants' built-in roles get the new rights as a new tenant's do

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-04 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hovor.core.db
from hovor.migrations.grants import grant
from hovor.migrations.sqlite import rebuilding

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONSENTS = {"crm:consents:create", "crm:consents:read"}
BLACKLISTS = {f"campaigns:blacklists:{a}" for a in ("create", "read")}
GRANTS = {
    "admin": CONSENTS | BLACKLISTS | {"campaigns:blacklists:delete"},
    "supervisor": CONSENTS | BLACKLISTS,
    "operator": CONSENTS | BLACKLISTS,
    "integration": CONSENTS | BLACKLISTS,
    "dpo": CONSENTS
    | BLACKLISTS
    | {"campaigns:blacklists:delete", "dpo:subjects:restrict", "crm:contacts:update"},
}


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, hovor.core.db.UTCDateTime(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "consent_events",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("contact", sa.String(length=64), nullable=True),
        sa.Column("object_type", sa.String(length=16), nullable=True),
        sa.Column("object_name", sa.String(length=64), nullable=True),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("activity", sa.String(length=64), nullable=True),
        sa.Column("evidence", sa.String(length=500), nullable=True),
        _when("time", nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=True),
        _when("created", nullable=False),
        sa.Column("anonymized", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_consent_events_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "name", name=op.f("pk_consent_events")),
    )
    op.create_index(
        "ix_consent_events_tenant_contact_time", "consent_events", ["tenant_id", "contact", "time"]
    )
    op.create_index(
        "ix_consent_events_tenant_object", "consent_events", ["tenant_id", "object_type", "object_name"]
    )
    op.create_index("ix_consent_events_tenant_time", "consent_events", ["tenant_id", "time"])
    op.create_table(
        "blacklist_numbers",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        _when("created", nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_blacklist_numbers_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "name", name=op.f("pk_blacklist_numbers")),
    )
    op.create_index(
        "ux_blacklist_numbers_tenant_digest", "blacklist_numbers", ["tenant_id", "digest"], unique=True
    )
    if op.get_bind().dialect.name == "postgresql":
        # The free-text evidence of a consent: no sample of it in pg_statistic (see 0008).
        op.execute('ALTER TABLE "consent_events" ALTER COLUMN "evidence" SET STATISTICS 0')
    # Plain ADD COLUMNs: SQLite's batch mode would rebuild tables every other table references.
    op.add_column("campaign_records", sa.Column("blocked", sa.String(length=32), nullable=True))
    op.add_column(
        "crm_contacts", sa.Column("restricted", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.add_column("record_types", sa.Column("purpose", sa.String(length=64), nullable=True))
    op.add_column("form_fields", sa.Column("purpose", sa.String(length=64), nullable=True))
    op.add_column("form_fields", sa.Column("channel", sa.String(length=8), nullable=True))
    op.add_column(
        "record_types", sa.Column("channel", sa.String(length=8), server_default="call", nullable=False)
    )
    grant(GRANTS)


def downgrade() -> None:
    with rebuilding("record_types", "crm_contacts", "campaign_records", "form_fields"):
        with op.batch_alter_table("form_fields") as batch:
            batch.drop_column("channel")
            batch.drop_column("purpose")
        with op.batch_alter_table("record_types") as batch:
            batch.drop_column("channel")
            batch.drop_column("purpose")
        with op.batch_alter_table("crm_contacts") as batch:
            batch.drop_column("restricted")
        with op.batch_alter_table("campaign_records") as batch:
            batch.drop_column("blocked")
    op.drop_table("blacklist_numbers")
    op.drop_table("consent_events")
