"""The tenant's own settings, including its DPO's published contact (readable by every user)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import ConfigDict, EmailStr, Field

from hovor.api.deps import CurrentCaller, DbSession, permitted
from hovor.api.envelope import ok
from hovor.audit import log as audit
from hovor.core.errors import Forbidden, ValidationFailed
from hovor.core.identifiers import normalize_email, normalize_phone
from hovor.core.permissions import Permission
from hovor.core.validation import NoNulModel
from hovor.core.wire import to_wire
from hovor.tenancy import configured, locations
from hovor.tenancy.models import Tenant
from hovor.tenancy.service import check_settings

router = APIRouter(tags=["Tenant"])


class TenantUpdate(NoNulModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str | None = Field(None, min_length=1, max_length=255)
    timezone: str | None = Field(None, max_length=64)
    country: str | None = Field(None, min_length=2, max_length=2)
    dpo_name: str | None = Field(None, max_length=255)
    dpo_email: EmailStr | None = None
    dpo_phone: str | None = Field(None, max_length=32)
    dpo_address: str | None = Field(None, max_length=2000)
    # An erasure a subject asked for needs a second person's approval (subjectRequests).
    four_eyes_erasure: bool | None = None
    # Accepted only to refuse it clearly: the ceiling is the platform operator's (hovor tenant retention).
    recordings_retention_days: int | None = None
    retention_days: int | None = None


def serialize_tenant(tenant: Tenant) -> dict[str, Any]:
    tz = tenant.timezone
    return {
        "name": tenant.id,
        "title": tenant.title,
        "timezone": tenant.timezone,
        "country": tenant.country,
        "dpo": {
            "name": tenant.dpo_name,
            "email": tenant.dpo_email,
            "phone": tenant.dpo_phone,
            "address": tenant.dpo_address,
        },
        # Set by the platform operator with the contract; shown, never changed here.
        "recordings_retention_days": tenant.recordings_retention_days,
        "retention_days": tenant.retention_days,
        "four_eyes_erasure": tenant.four_eyes_erasure,
        "created": to_wire(tenant.created, tz),
        "edited": to_wire(tenant.edited, tz),
    }


@router.get(
    "/api/v6/tenant.json",
    openapi_extra={"x-permission": "authenticated"},
    summary="This tenant and its DPO contact",
)
def get_tenant(request: Request, session: DbSession, caller: CurrentCaller) -> Any:
    tenant = session.get(Tenant, caller.tenant_id)
    assert tenant is not None
    return ok(request, serialize_tenant(tenant))


@router.put(
    "/api/v6/tenant.json",
    summary="Change this tenant's settings and DPO contact",
)
@permitted(Permission.TENANT_SETTINGS_UPDATE)
def update_tenant(request: Request, session: DbSession, caller: CurrentCaller, body: TenantUpdate) -> Any:
    tenant = session.get(Tenant, caller.tenant_id)
    assert tenant is not None
    sent = body.model_dump(exclude_unset=True)
    if (
        "recordings_retention_days" in sent
        and sent["recordings_retention_days"] != tenant.recordings_retention_days
    ):
        raise Forbidden(
            "The recording-retention ceiling is set by the platform operator under the contract; "
            "queues may keep recordings for less (options.recordings_retention)."
        )
    if "retention_days" in sent and sent["retention_days"] != tenant.retention_days:
        raise Forbidden(
            "The contract's retention is set by the platform operator; "
            "retention policies may keep records for less (retentionPolicies.json)."
        )
    sent.pop("recordings_retention_days", None)
    sent.pop("retention_days", None)
    check_settings(sent.get("timezone"), sent.get("country"))
    for key in ("title", "timezone", "country", "four_eyes_erasure"):
        if key in sent and sent[key] is None:
            raise ValidationFailed({key: ["This field cannot be empty."]})
    if sent.get("dpo_email"):
        sent["dpo_email"] = normalize_email(sent["dpo_email"])
    if sent.get("dpo_phone"):
        try:
            sent["dpo_phone"] = normalize_phone(sent["dpo_phone"], sent.get("country") or tenant.country)
        except ValueError:
            raise ValidationFailed({"dpo_phone": ["Not a valid phone number."]}) from None
    if "country" in sent:
        sent["country"] = sent["country"].upper()
    changed = sorted(k for k, v in sent.items() if getattr(tenant, k) != v)
    for key, value in sent.items():
        setattr(tenant, key, value)
    session.flush()
    audit.record(
        session,
        caller.tenant_id,
        "tenancy.tenant.update",
        audit.actor_of(request),
        "tenant",
        caller.tenant_id,
        {"fields": changed},
    )
    session.commit()
    return ok(request, serialize_tenant(tenant))


@router.get(
    "/api/v6/dataLocations.json",
    summary="Where this tenant's data lives: each store's provider, country and region",
)
@permitted(Permission.TENANT_LOCATIONS_READ)
def get_locations(request: Request, session: DbSession, caller: CurrentCaller) -> Any:
    shown = configured.derive(request.app.state.settings).apply(locations.merged(session, caller.tenant_id))
    found = [loc.wire() for loc in shown]
    return ok(request, {"data": found, "total": len(found)})
