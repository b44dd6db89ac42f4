"""The record of processing activities (Art. 30) on the wire: JSON under the API, and the printable
document (HTML or PDF, Czech or English) under ``/file/``, where a download belongs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from hovor.api.deps import CurrentCaller, DbSession, permitted
from hovor.api.envelope import ok
from hovor.core.errors import ValidationFailed
from hovor.core.permissions import Permission
from hovor.core.wire import to_wire
from hovor.privacy.processing import document, record
from hovor.tenancy.models import Tenant

TAG = "Record of processing"
router = APIRouter(tags=[TAG])


def _timezone(session: Any, tenant_id: str) -> str:
    tenant = session.get(Tenant, tenant_id)
    assert tenant is not None
    return tenant.timezone


@router.get(
    "/api/v6/processingRecord.json",
    summary="The record of processing activities (GDPR Art. 30), generated from the platform's data",
)
@permitted(Permission.TENANT_PROCESSING_READ)
def get_record(request: Request, session: DbSession, caller: CurrentCaller) -> Any:
    found = record.build(session, caller.tenant_id, request.app.state.settings)
    found["generated"] = to_wire(found["generated"], _timezone(session, caller.tenant_id))
    return ok(request, found)


@router.get(
    "/file/processingRecord",
    summary="The record of processing activities as a printable document: lang=cs|en, format=html|pdf",
)
@permitted(Permission.TENANT_PROCESSING_READ)
def get_document(
    request: Request, session: DbSession, caller: CurrentCaller, lang: str = "cs", format: str = "html"
) -> Response:
    form: dict[str, list[str]] = {}
    if lang not in document.LANGUAGES:
        form["lang"] = [f"Use one of: {', '.join(document.LANGUAGES)}."]
    if format not in document.FORMATS:
        form["format"] = [f"Use one of: {', '.join(document.FORMATS)}."]
    if form:
        raise ValidationFailed(form)

    tz = _timezone(session, caller.tenant_id)
    found = record.build(session, caller.tenant_id, request.app.state.settings)
    name = f"processing-record-{caller.tenant_id}-{lang}"
    headers = {"Cache-Control": "no-store"}
    if format == "html":
        return HTMLResponse(document.html(found, lang, tz), headers=headers)
    body = document.pdf(found, lang, tz)
    headers["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
    return Response(body, media_type="application/pdf", headers=headers)
