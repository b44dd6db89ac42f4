"""The platform operator's contract-end routes: start the export, record the controller's receipt,
approve the purge (a second operator), read the state and the signed certificate."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ConfigDict, Field

from hovor.api.deps import DbSession, wake_jobs
from hovor.api.envelope import ok
from hovor.audit import log as audit
from hovor.auth.api import parsed
from hovor.auth.platform_api import PLATFORM, Operator
from hovor.core.errors import NotFound
from hovor.core.validation import NoNulModel
from hovor.core.wire import to_wire
from hovor.jobs.models import Job
from hovor.privacy.contract import service
from hovor.privacy.contract.models import ContractEnd

router = APIRouter(tags=["Platform"])


class ContractEndIn(NoNulModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    tenant: str = Field(min_length=1, max_length=64)
    recipient: str = Field(min_length=1, max_length=128, description="The controller's age public key.")
    destination: str = Field(
        min_length=1, max_length=1024, description="An absolute path or an s3://bucket/key URL."
    )


def _actor(request: Request, operator: str) -> audit.Actor:
    actor = audit.actor_of(request)
    return audit.Actor("staff", operator, actor.ip, actor.request_id)


def _shown(request: Request, session: Any, end: ContractEnd) -> dict[str, Any]:
    tz = request.app.state.settings.timezone
    out: dict[str, Any] = {
        "tenant": end.tenant_id,
        "state": end.state,
        "destination": end.destination,
        "startedBy": end.started_by,
        "started": to_wire(end.started, tz),
        "exported": to_wire(end.exported, tz),
        "packageSha256": end.package_sha256,
        "packageSize": end.package_size,
        "received": to_wire(end.received, tz),
        "receivedBy": end.received_by,
        "approvedBy": end.approved_by,
        "purged": to_wire(end.purged, tz),
        "certificate": end.certificate,
    }
    for field, name in (("exportJob", end.export_job), ("purgeJob", end.purge_job)):
        job = session.get(Job, (end.tenant_id, name)) if name else None
        out[field] = {
            "name": name,
            "state": job.state if job else None,
            "progress": job.progress if job else None,
        }
    return out


@router.post(
    "/api/v6/platform/contractEnds.json",
    openapi_extra=PLATFORM,
    summary="Contract end: export a tenant's data, encrypted to the controller's age key",
)
async def contract_end_start(request: Request, session: DbSession, token: Operator) -> Any:
    body: ContractEndIn = await parsed(request, ContractEndIn)

    def start() -> dict[str, Any]:
        actor = _actor(request, token.operator)
        end = service.start_export(
            session, body.tenant, body.recipient, body.destination, token.operator, actor
        )
        session.commit()
        wake_jobs(request)
        return _shown(request, session, end)

    return ok(request, await run_in_threadpool(start), 202)


@router.get(
    "/api/v6/platform/contractEnds/{name}.json",
    openapi_extra=PLATFORM,
    summary="Contract end: its state, the jobs' progress and the signed deletion certificate",
)
def contract_end_get(request: Request, session: DbSession, token: Operator, name: str) -> Any:
    end = session.get(ContractEnd, name)
    if end is None:
        raise NotFound("No contract end was started for this tenant.")
    return ok(request, _shown(request, session, end))


@router.post(
    "/api/v6/platform/contractEnds/{name}/received.json",
    openapi_extra=PLATFORM,
    summary="Contract end: the controller confirmed it received the package",
)
def contract_end_received(request: Request, session: DbSession, token: Operator, name: str) -> Any:
    end = service.confirm_receipt(session, name, token.operator, _actor(request, token.operator))
    session.commit()
    return ok(request, _shown(request, session, end))


@router.post(
    "/api/v6/platform/contractEnds/{name}/purge.json",
    openapi_extra=PLATFORM,
    summary="Contract end: approve the purge (a second operator, not the one who started the export)",
)
def contract_end_purge(request: Request, session: DbSession, token: Operator, name: str) -> Any:
    settings = request.app.state.settings
    end = service.approve_purge(session, settings, name, token.operator, _actor(request, token.operator))
    session.commit()
    wake_jobs(request)
    return ok(request, _shown(request, session, end), 202)
