"""Asking for an export, and ending one: services flush, never commit."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hovor.audit import log as audit
from hovor.core.caller import Caller
from hovor.core.db import new_name, utcnow
from hovor.core.errors import Conflict, NotFound, ValidationFailed
from hovor.core.records import contact_ref
from hovor.files.models import Blob
from hovor.files.service import Files
from hovor.jobs import service as jobs
from hovor.privacy import schemas
from hovor.privacy.exports.package import KIND
from hovor.privacy.models import SubjectExport, SubjectRequest
from hovor.privacy.requests import OPEN
from hovor.privacy.service import included

# What an export answers.
EXPORTED_KINDS = ("access", "portability")


def _request(session: Session, caller: Caller, name: str) -> SubjectRequest:
    request = session.get(SubjectRequest, (caller.tenant_id, name), with_for_update=True)
    if request is None:
        raise ValidationFailed({"request": ["No such subject request."]})
    if request.kind not in EXPORTED_KINDS:
        raise ValidationFailed(
            {"request": ["Only an access or portability request is answered by an export."]}
        )
    if request.state not in OPEN:
        raise Conflict(f"The request is {request.state} already.")
    if request.verified_at is None:
        raise Conflict("Verify the person's identity before anything is done.")
    return request


def request_export(session: Session, caller: Caller, body: schemas.ExportCreate) -> SubjectExport:
    """The export's row and its job, in the request's transaction: both exist once it commits."""
    request = _request(session, caller, body.request) if body.request else None
    contact_key = body.contact or (request.contact if request else None)
    if not contact_key:
        raise ValidationFailed({"contact": ["Name the contact to export (the subject search finds it)."]})
    contact = contact_ref(session, caller, contact_key)
    assert contact is not None
    include = included(session, caller, contact, body.include)
    export = SubjectExport(
        tenant_id=caller.tenant_id,
        name=new_name("exports"),
        contact=contact,
        request=request.name if request else None,
        include=include,
        state="building",
        expires=utcnow() + dt.timedelta(days=body.days),
        downloads=0,
        created_by=caller.user,
        edited=utcnow(),
    )
    session.add(export)
    params = {"export": export.name, "contact": contact, "include": include}
    job = jobs.enqueue(session, caller.tenant_id, KIND, params, created_by=caller.user, target=export.name)
    export.job = job.name
    if request is not None:
        request.state, request.job, request.export = "in_progress", job.name, export.name
        request.edited, request.edited_by = utcnow(), caller.user
    session.flush()
    return export


def readable(export: SubjectExport) -> None:
    """Refuses a download of a package that is not (or no longer) there."""
    if export.state == "building":
        raise Conflict("The package is still being built; the job shows how far it got.")
    if export.state != "ready" or export.expires <= utcnow() or export.blob is None:
        raise NotFound("The package has expired and its key is destroyed; make a new export.")


def shred(session: Session, files: Files, export: SubjectExport) -> None:
    """The package made unreadable now (its key destroyed); the reaper removes the object."""
    if export.blob is not None:
        blob = session.get(Blob, (export.tenant_id, export.blob))
        if blob is not None:
            files.destroy_key(session, blob)
    if export.partial is not None:
        # What a build that died left (one still running files its blob destroyed when it ends).
        files.store.delete(export.partial)
        export.partial = None
    export.state, export.edited = "expired", utcnow()


def delete_export(session: Session, caller: Caller, export: SubjectExport, files: Files) -> None:
    """The DPO ends an export early: the package is shredded; the audit log keeps its story."""
    shred(session, files, export)
    session.execute(
        update(SubjectRequest)
        .where(SubjectRequest.tenant_id == export.tenant_id, SubjectRequest.export == export.name)
        .values(export=None)
    )
    session.delete(export)
    session.flush()


def expire(session: Session, files: Files, now: dt.datetime | None = None) -> list[tuple[str, str]]:
    """Every package past its end is crypto-shredded (the scheduler's round); each gets an audit
    entry. Returns (tenant, export) of those."""
    now = now or utcnow()
    found = list(
        session.scalars(
            select(SubjectExport).where(
                SubjectExport.state.in_(("ready", "building")), SubjectExport.expires < now
            )
        )
    )
    for export in found:
        shred(session, files, export)
        audit.record(
            session,
            export.tenant_id,
            "privacy.export.expire",
            audit.Actor.system("scheduler"),
            "subjectExports",
            export.name,
            {},
        )
    session.flush()
    return [(e.tenant_id, e.name) for e in found]


def counted_download(session: Session, export: SubjectExport) -> None:
    """One more download, counted in the database (two at once both count)."""
    session.execute(
        update(SubjectExport)
        .where(SubjectExport.tenant_id == export.tenant_id, SubjectExport.name == export.name)
        .values(downloads=SubjectExport.downloads + 1)
        .execution_options(synchronize_session=False)
    )
