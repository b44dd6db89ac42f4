"""A tenant's contract end: its export, the controller's receipt, the purge and its certificate.

The row is keyed by the tenant's id but holds no foreign key to it: it outlives the tenant it ends,
with the signed deletion certificate (counts only), as the processor's proof. It holds no personal
data: operators' names (processor staff, who act on the record), a path or URL the operator chose,
the controller's age public key, digests and counts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from hovor.core.db import Base, JSONType, UTCDateTime, utcnow
from hovor.core.personal_data import not_personal

EXPORTING, EXPORTED, RECEIVED, PURGING, PURGED = "exporting", "exported", "received", "purging", "purged"


class ContractEnd(Base):
    __tablename__ = "contract_ends"
    # Platform-level bookkeeping: no tenant may read it, and the purge must not delete it.
    __audit_exempt__ = True

    tenant_id: Mapped[str] = mapped_column(
        String(64), primary_key=True, info=not_personal("the ended tenant's id; no foreign key")
    )
    state: Mapped[str] = mapped_column(String(16), default=EXPORTING, info=not_personal())
    recipient: Mapped[str] = mapped_column(String(128), info=not_personal("the controller's age public key"))
    destination: Mapped[str] = mapped_column(
        String(1024), info=not_personal("where the package was written: a path or an s3:// URL")
    )
    export_job: Mapped[str | None] = mapped_column(String(64), info=not_personal())
    started_by: Mapped[str] = mapped_column(String(64), info=not_personal("a platform operator (staff)"))
    started: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, info=not_personal())
    exported: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=not_personal())
    package_sha256: Mapped[str | None] = mapped_column(String(64), info=not_personal("of the encrypted file"))
    package_size: Mapped[int | None] = mapped_column(info=not_personal())
    received: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=not_personal())
    received_by: Mapped[str | None] = mapped_column(String(64), info=not_personal("a platform operator"))
    approved_by: Mapped[str | None] = mapped_column(String(64), info=not_personal("a platform operator"))
    purge_job: Mapped[str | None] = mapped_column(String(64), info=not_personal())
    purged: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, info=not_personal())
    certificate: Mapped[dict[str, Any] | None] = mapped_column(
        JSONType, info=not_personal("the signed deletion certificate: counts per table")
    )
