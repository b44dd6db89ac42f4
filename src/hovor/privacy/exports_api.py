"""Access and portability exports on the wire: ``subjectExports`` (list, read, create — a job —,
delete — the package shredded now) and the package's download, audited, until it expires."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from hovor.api.deps import CurrentCaller, DbSession, permitted
from hovor.api.resource import Ctx, Resource, qf, register
from hovor.api.visible import load_visible
from hovor.audit import log as audit
from hovor.core.errors import NotFound
from hovor.core.permissions import Permission
from hovor.core.wire import to_wire
from hovor.files.models import Blob
from hovor.files.service import Unreadable
from hovor.privacy import schemas
from hovor.privacy.exports import service
from hovor.privacy.models import SubjectExport

TAG = "Subject exports"
router = APIRouter()


def serialize_export(e: SubjectExport, ctx: Ctx) -> dict[str, Any]:
    tz = ctx.tz
    return {
        "name": e.name,
        "contact": e.contact,
        "request": e.request,
        "include": e.include or {},
        "job": e.job,
        "state": e.state,
        "size": e.size,
        "sha256": e.sha256,
        "counts": e.counts or {},
        "expires": to_wire(e.expires, tz),
        "downloads": e.downloads,
        "download": f"/file/exports/{e.name}" if e.state == "ready" else None,
        "created": to_wire(e.created, tz),
        "created_by": e.created_by,
        "edited": to_wire(e.edited, tz),
    }


def _delete(session: Any, caller: Any, export: SubjectExport, files: Any) -> None:
    service.delete_export(session, caller, export, files)


RESOURCE = register(
    Resource(
        endpoint="subjectExports",
        audit="privacy.export",
        title=TAG,
        model=SubjectExport,
        permission="dpo:exports",
        fields=[
            qf("name", SubjectExport.name),
            qf("contact", SubjectExport.contact),
            qf("request", SubjectExport.request),
            qf("state", SubjectExport.state),
            qf("job", SubjectExport.job),
            qf("expires", SubjectExport.expires, "datetime"),
            qf("downloads", SubjectExport.downloads, "int"),
            qf("created", SubjectExport.created, "datetime"),
            qf("edited", SubjectExport.edited, "datetime"),
        ],
        serialize=serialize_export,
        create_schema=schemas.ExportCreate,
        create=service.request_export,
        delete=_delete,
        uses_files=True,
        default_order=[SubjectExport.created.desc()],
    )
)


@router.get(
    "/file/exports/{name}",
    tags=[TAG],
    summary="Download the package (until it expires); every download is audited",
)
@permitted(Permission.DPO_EXPORTS_READ)
def download(request: Request, session: DbSession, caller: CurrentCaller, name: str) -> Response:
    export = load_visible(session, RESOURCE, caller, name)
    service.readable(export)
    blob = session.get(Blob, (export.tenant_id, export.blob))
    if blob is None:
        raise NotFound("The package has expired and its key is destroyed; make a new export.")
    try:
        body = request.app.state.files.read(session, blob)  # the key is unwrapped here
    except Unreadable:
        raise NotFound("The package has expired and its key is destroyed; make a new export.") from None
    service.counted_download(session, export)
    audit.record(
        session,
        caller.tenant_id,
        "privacy.export.download",
        audit.actor_of(request),
        "subjectExports",
        export.name,
        {"size": blob.size},
    )
    session.commit()
    size = blob.size
    session.close()
    headers = {
        "Content-Disposition": f'attachment; filename="export-{export.name}.zip"',
        "Content-Length": str(size),
        "Cache-Control": "no-store",
    }
    return StreamingResponse(body, media_type="application/zip", headers=headers)
