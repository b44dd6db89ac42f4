"""The platform operator's declaration of where the data lives, over HTTP (as ``hovor locations``
does from the command line): list, set and remove, with a platform operator's token."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ConfigDict, Field

from hovor.api.deps import DbSession
from hovor.api.envelope import ok
from hovor.auth.api import parsed
from hovor.auth.platform_api import PLATFORM, Operator, _staff_actor
from hovor.core.validation import NoNulModel
from hovor.tenancy import locations
from hovor.tenancy.models import DataLocation

router = APIRouter(tags=["Platform"])


class LocationIn(NoNulModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    kind: str = Field(max_length=16, description=f"One of {', '.join(locations.KINDS)}.")
    name: str = Field(locations.MAIN, max_length=64, description="Which store of the kind.")
    provider: str = Field(max_length=255)
    country: str = Field(max_length=8, description="ISO 3166-1 alpha-2.")
    region: str | None = Field(None, max_length=255)
    description: str | None = Field(None, max_length=2000)
    tenant: str | None = Field(None, max_length=64, description="One tenant's override; none: the default.")


class LocationOut(NoNulModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    kind: str = Field(max_length=16)
    name: str = Field(locations.MAIN, max_length=64)
    tenant: str | None = Field(None, max_length=64)


def _row(r: DataLocation) -> dict[str, Any]:
    return {
        "tenant": None if r.scope == locations.DEFAULT else r.scope,
        "kind": r.kind,
        "name": r.name,
        "provider": r.provider,
        "country": r.country,
        "region": r.region,
        "description": r.description,
        "transfer": r.country not in locations.EEA,
    }


@router.get("/api/v6/platform/dataLocations.json", openapi_extra=PLATFORM, summary="Every declared location")
def list_locations(request: Request, session: DbSession, token: Operator) -> Any:
    rows = [_row(r) for r in locations.declared(session)]
    return ok(request, {"data": rows, "total": len(rows)})


@router.post(
    "/api/v6/platform/dataLocations.json",
    openapi_extra=PLATFORM,
    summary="Declare where a store lives (every tenant, or one tenant's override); tenants are told",
)
async def set_location(request: Request, session: DbSession, token: Operator) -> Any:
    body: LocationIn = await parsed(request, LocationIn)
    actor = _staff_actor(request, token.operator)

    def change() -> dict[str, Any]:
        row, told = locations.set_location(
            session,
            actor,
            body.kind,
            provider=body.provider,
            country=body.country,
            region=body.region,
            description=body.description,
            name=body.name,
            tenant_id=body.tenant,
        )
        session.commit()
        return {**_row(row), "notified": told}

    return ok(request, await run_in_threadpool(change))


@router.post(
    "/api/v6/platform/dataLocations/remove.json",
    openapi_extra=PLATFORM,
    summary="Remove a declaration (a tenant's override: the default applies again)",
)
async def remove_location(request: Request, session: DbSession, token: Operator) -> Any:
    body: LocationOut = await parsed(request, LocationOut)
    actor = _staff_actor(request, token.operator)

    def change() -> dict[str, Any]:
        told = locations.unset_location(session, actor, body.kind, name=body.name, tenant_id=body.tenant)
        session.commit()
        return {"notified": told}

    return ok(request, await run_in_threadpool(change))
