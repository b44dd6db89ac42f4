"""What the contract-end package holds of the records: every resource of the REGISTRY that holds
the tenant's data, in the wire shape the API gives (``hovor.privacy.exports.records.wire``).

Left out, each for a reason: ``auditLog`` (it goes in ``audit/`` as its hash chain, which the
controller can verify) and ``jobs`` (hovor's own work queue: keys and counts, no record of theirs).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

# Importing them registers the resources (a worker started from the command line has no app).
from hovor.activities.api import presence as _presence  # noqa: F401
from hovor.activities.api import resources as _activities  # noqa: F401
from hovor.api.resource import REGISTRY, Resource
from hovor.auth import resources as _auth  # noqa: F401
from hovor.campaigns import api as _campaigns  # noqa: F401
from hovor.core.db import Base
from hovor.crm import api as _crm  # noqa: F401
from hovor.helpdesk import api as _helpdesk  # noqa: F401
from hovor.privacy import api as _privacy  # noqa: F401
from hovor.privacy import consent_api as _consent  # noqa: F401
from hovor.privacy import exports_api as _exports  # noqa: F401
from hovor.privacy import requests_api as _requests  # noqa: F401
from hovor.tenancy.models import Tenant

LEFT_OUT = {"auditLog", "jobs"}


def resources() -> list[tuple[str, Resource]]:
    return sorted(
        (endpoint, resource)
        for endpoint, resource in REGISTRY.items()
        if endpoint not in LEFT_OUT and hasattr(resource.model, "tenant_id")
    )


def resource(endpoint: str) -> Resource:
    return REGISTRY[endpoint]


def keys_of(session: Session, resource: Resource, tenant_id: str) -> list[Any]:
    column = resource.key_column
    return list(session.scalars(select(column).where(resource.model.tenant_id == tenant_id).order_by(column)))


def tenant_settings(tenant: Tenant) -> dict[str, Any]:
    """The tenant's row as it is stored: its settings and the contract's terms."""
    out: dict[str, Any] = {}
    for column in Base.metadata.tables["tenants"].columns:
        value = getattr(tenant, column.key)
        out[column.key] = value.isoformat() if isinstance(value, dt.datetime | dt.date) else value
    return out
