"""Starting a contract end, recording the controller's receipt, approving the purge: services
flush, never commit. Four eyes: the operator who started the export cannot approve the purge."""

from __future__ import annotations

import datetime as dt
import re

import pyrage
from sqlalchemy.orm import Session

from hovor.audit import log as audit
from hovor.core.config import Settings
from hovor.core.db import utcnow
from hovor.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hovor.jobs import service as jobs
from hovor.privacy.contract import package, purge
from hovor.privacy.contract.models import EXPORTED, EXPORTING, PURGING, RECEIVED, ContractEnd
from hovor.tenancy.models import Tenant

# A local absolute path or an s3://bucket/key URL; nothing a shell or a URL would read otherwise.
DESTINATION = re.compile(r"^(s3://[a-z0-9][a-z0-9.\-]{1,62}/[\w./\-]+|/[\w./\-]+)$")


def start_export(
    session: Session, tenant_id: str, recipient: str, destination: str, operator: str, actor: audit.Actor
) -> ContractEnd:
    if session.get(Tenant, tenant_id) is None:
        raise NotFound("No such tenant.")
    try:
        pyrage.x25519.Recipient.from_str(recipient)
    except Exception:
        raise ValidationFailed({"recipient": ["Give the controller's age public key (age1…)."]}) from None
    if not DESTINATION.match(destination) or ".." in destination.split("/"):
        raise ValidationFailed({"destination": ["An absolute path or an s3://bucket/key URL."]})
    end = session.get(ContractEnd, tenant_id, with_for_update=True)
    if end is not None and end.state not in (EXPORTED, RECEIVED):
        raise Conflict(f"The tenant's contract end is {end.state} already.")
    if end is None:
        end = ContractEnd(tenant_id=tenant_id)
        session.add(end)
    end.recipient, end.destination, end.started_by, end.started = recipient, destination, operator, utcnow()
    end.state, end.exported, end.received, end.received_by = EXPORTING, None, None, None
    job = jobs.enqueue(session, tenant_id, package.KIND, {}, created_by=None, target=tenant_id)
    end.export_job = job.name
    details = {"job": job.name, "operator": operator}
    audit.record(session, tenant_id, "platform.contract.export", actor, "tenants", tenant_id, details)
    audit.record(session, audit.PLATFORM, "platform.contract.export", actor, "tenants", tenant_id, details)
    session.flush()
    return end


def _end(session: Session, tenant_id: str) -> ContractEnd:
    end = session.get(ContractEnd, tenant_id, with_for_update=True)
    if end is None:
        raise NotFound("No contract end was started for this tenant.")
    return end


def confirm_receipt(session: Session, tenant_id: str, operator: str, actor: audit.Actor) -> ContractEnd:
    end = _end(session, tenant_id)
    if end.state != EXPORTED:
        raise Conflict(f"The package is not written yet, or the contract end is {end.state}.")
    end.state, end.received, end.received_by = RECEIVED, utcnow(), operator
    for chain in (tenant_id, audit.PLATFORM):
        audit.record(
            session, chain, "platform.contract.received", actor, "tenants", tenant_id, {"operator": operator}
        )
    session.flush()
    return end


def approve_purge(
    session: Session, settings: Settings, tenant_id: str, operator: str, actor: audit.Actor
) -> ContractEnd:
    end = _end(session, tenant_id)
    if end.state not in (EXPORTED, RECEIVED):
        raise Conflict(f"A purge needs a written package; the contract end is {end.state}.")
    if operator == end.started_by:
        raise Forbidden("A second platform operator approves the purge, not the one who started the export.")
    grace = dt.timedelta(days=settings.contract_grace_days)
    if end.state != RECEIVED and (end.exported is None or utcnow() < end.exported + grace):
        raise Conflict("The controller has not confirmed receipt and the grace period has not passed.")
    end.state, end.approved_by = PURGING, operator
    job = jobs.enqueue(session, tenant_id, purge.KIND, {}, created_by=None, target=tenant_id)
    end.purge_job = job.name
    details = {"job": job.name, "operator": operator}
    for chain in (tenant_id, audit.PLATFORM):
        audit.record(session, chain, "platform.contract.approve", actor, "tenants", tenant_id, details)
    session.flush()
    return end
