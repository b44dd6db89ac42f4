"""Recording upload and playback, attachments, e-mail import: the routes that move files."""

from __future__ import annotations

import mimetypes
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from hovor.activities import content, schemas, service
from hovor.activities.api.serialize import serialize_attachment, serialize_recording
from hovor.activities.audio import inspect
from hovor.activities.mail import Unparseable, parse
from hovor.activities.models import (
    Activity,
    Recording,
)
from hovor.api.deps import CurrentCaller, DbSession, permitted
from hovor.api.envelope import ok
from hovor.api.resource import REGISTRY, Ctx
from hovor.api.router import after_shredding
from hovor.api.visible import load_visible, reload
from hovor.audit import log as audit
from hovor.core.errors import BadRequest, NotFound, PayloadTooLarge, ValidationFailed
from hovor.core.identifiers import normalize_email
from hovor.core.permissions import Permission
from hovor.core.validation import form_from_pydantic
from hovor.files.models import Blob
from hovor.files.service import Files, Unreadable, parse_range

router = APIRouter()
SPOOL_CHUNK = 256 * 1024


# --- uploads -----------------------------------------------------------------------------------
def _spool_dir(request: Request) -> Path:
    path = Path(request.app.state.settings.data_dir) / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


async def _spool(request: Request, limit: int) -> tuple[IO[bytes], str | None, str | None]:
    """The upload in an unlinked temporary file (gone with the process if it dies), its file
    name and declared type. Accepts a multipart form with ``file`` or the raw bytes as the body."""
    fh = tempfile.TemporaryFile(dir=_spool_dir(request))  # noqa: SIM115 - closed by the caller
    filename = content_type = None
    size = 0
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=10)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            fh.close()
            raise ValidationFailed({"file": ["Send the file in a form field named file."]})
        filename, content_type = upload.filename, upload.content_type
        while piece := await upload.read(SPOOL_CHUNK):
            size += len(piece)
            if size > limit:
                fh.close()
                raise PayloadTooLarge(f"The file is larger than {limit} bytes.")
            fh.write(piece)
        await upload.close()
    else:
        content_type = request.headers.get("content-type")
        async for piece in request.stream():
            size += len(piece)
            if size > limit:
                fh.close()
                raise PayloadTooLarge(f"The file is larger than {limit} bytes.")
            fh.write(piece)
    if size == 0:
        fh.close()
        raise ValidationFailed({"file": ["The file is empty."]})
    fh.seek(0)
    return fh, filename, content_type


def _chunks(fh: IO[bytes]) -> Iterator[bytes]:
    fh.seek(0)
    while piece := fh.read(SPOOL_CHUNK):
        yield piece


@router.post(
    "/api/v6/activitiesCall/{name}/recording.json",
    tags=["Calls"],
    status_code=201,
    summary="Upload the call's recording (WAV, MP3 or OGG; raw body or multipart field file)",
)
@permitted(Permission.ACTIVITIES_RECORDINGS_CREATE)
async def upload_recording(request: Request, session: DbSession, caller: CurrentCaller, name: str) -> Any:
    settings = request.app.state.settings
    # The upload is received on the event loop; everything after it (queries, encryption of what
    # may be a gigabyte) runs in the thread pool, in one go, so no write transaction spans an await.
    fh, _, _ = await _spool(request, settings.max_upload_bytes)

    def store() -> dict[str, Any]:
        files: Files = request.app.state.files
        state = request.app.state
        # Rights, content checks and encryption come first, with no write transaction open; the
        # write transaction below only files the rows.
        with state.read_session_factory() as reader:
            load_visible(reader, REGISTRY["activitiesCall"], caller, name)
        with fh:
            mime, duration = inspect(fh)
            version, key = files.writing_key(state.session_factory, caller.tenant_id)
            blob = files.seal(caller.tenant_id, version, key, _chunks(fh), mime, settings.max_upload_bytes)
        item = load_visible(session, REGISTRY["activitiesCall"], caller, name)
        files.adopt(session, blob)
        activity = session.get(Activity, (caller.tenant_id, item.name))
        assert activity is not None
        if session.get(Recording, (caller.tenant_id, item.name)) is not None:
            # Replacing a recording shreds the old one: not while a legal hold keeps it. Holds are
            # the privacy domain's, above this one: the app factory hands them over.
            holds = state.legal_holds
            holds.check(session, caller.tenant_id, holds.of_activity(activity), "recording")
        recording = content.attach_recording(session, activity, blob, duration, files)
        result = serialize_recording(recording, Ctx(caller))
        audit.record(
            session,
            caller.tenant_id,
            "activities.recording.create",
            audit.actor_of(request),
            "activitiesCallRecordings",
            recording.name,
            {"call": item.name, "bytes": blob.size},
        )
        session.commit()
        return result

    result = await run_in_threadpool(store)
    return after_shredding(request, ok(request, result, status=201))


def _upload_target(kind: str) -> Any:
    @permitted(Permission.ACTIVITIES_ATTACHMENTS_CREATE)
    async def upload(request: Request, session: DbSession, caller: CurrentCaller, name: str) -> Any:
        settings = request.app.state.settings
        fh, filename, content_type = await _spool(request, settings.max_upload_bytes)

        def store() -> dict[str, Any]:
            state = request.app.state
            with state.read_session_factory() as reader:  # rights first, without the write lock
                load_visible(reader, REGISTRY[kind], caller, name)
            title = Path(filename or "attachment").name[:255]
            mime = (content_type or "").split(";")[0].strip() or mimetypes.guess_type(title)[0]
            with fh:
                version, key = state.files.writing_key(state.session_factory, caller.tenant_id)
                blob = state.files.seal(
                    caller.tenant_id,
                    version,
                    key,
                    _chunks(fh),
                    mime or "application/octet-stream",
                    settings.max_upload_bytes,
                )
            parent = load_visible(session, REGISTRY[kind], caller, name)
            state.files.adopt(session, blob)
            attachment = content.add_attachment(
                session,
                caller,
                blob,
                title,
                ticket=parent.name if kind == "tickets" else None,
                activity=parent.name if kind == "activities" else None,
            )
            result = serialize_attachment(attachment, Ctx(caller))
            audit.record(
                session,
                caller.tenant_id,
                "activities.attachment.create",
                audit.actor_of(request),
                "attachments",
                attachment.name,
                {kind: parent.name, "bytes": blob.size},
            )
            session.commit()
            return result

        return ok(request, await run_in_threadpool(store), status=201)

    return upload


for _kind, _tag in (("tickets", "Tickets"), ("activities", "Activities")):
    router.add_api_route(
        f"/api/v6/{_kind}/{{name}}/attachments.json",
        _upload_target(_kind),
        methods=["POST"],
        tags=[_tag],
        status_code=201,
        summary="Attach a file (multipart field file, or the raw body)",
    )


@router.post(
    "/api/v6/activitiesEmail/import.json",
    tags=["E-mails"],
    status_code=201,
    summary="File a raw RFC 822 message (body: the message) as an e-mail activity with its attachments",
)
@permitted(Permission.ACTIVITIES_ACTIVITIES_CREATE)
async def import_email(
    request: Request,
    session: DbSession,
    caller: CurrentCaller,
    queue: str | None = None,
    direction: str = "in",
    contact: str | None = None,
    ticket: int | None = None,
) -> Any:
    settings = request.app.state.settings
    fh, _, _ = await _spool(request, settings.max_email_bytes)
    with fh:
        raw = fh.read()
    try:
        mail = await run_in_threadpool(parse, raw)  # MIME parsing is CPU work: off the event loop
    except Unparseable as exc:
        raise ValidationFailed({"body": [str(exc)]}) from None
    if mail.sender is None and not mail.headers:
        raise ValidationFailed({"body": ["Not an RFC 822 message."]})
    address = mail.sender if direction == "in" else (mail.recipients[0] if mail.recipients else None)
    try:
        address = normalize_email(address) if address else None
    except ValueError:
        address = None  # a sender address nobody could write back to is not kept
    payload: dict[str, Any] = {
        "queue": queue,
        "contact": contact,
        "ticket": ticket,
        "address": address,
        "title": (mail.subject or "")[:1000] or None,
        "text": mail.text,
        "html": mail.html,
        "headers": mail.headers,
        "direction": direction,
        "time": mail.date.isoformat() if mail.date else None,
    }
    try:
        body = schemas.EmailCreate.model_validate(payload)
    except ValidationError as exc:
        raise ValidationFailed(form_from_pydantic(exc.errors())) from None

    def stored_before() -> dict[str, Any] | None:
        item = service.imported_before(session, caller, mail.headers.get("Message-ID"))
        if item is None:
            return None
        result = reload(session, REGISTRY["activitiesEmail"], caller, item)
        result["attachments"] = content.attachment_count(session, caller.tenant_id, item.name)
        return result

    # The same message imported again (a mail fetcher retrying) is the one stored the first time.
    existing = await run_in_threadpool(stored_before)
    if existing is not None:
        return ok(request, existing)

    def store() -> dict[str, Any]:
        item = service.create_channel_item(session, caller, "EMAIL", body)
        files: Files = request.app.state.files
        for part in mail.parts:
            blob = files.put(session, caller.tenant_id, [part.data], part.mime, settings.max_upload_bytes)
            content.add_attachment(
                session, caller, blob, part.filename, activity=item.name, inline=part.inline, cid=part.cid
            )
        result = reload(session, REGISTRY["activitiesEmail"], caller, item)
        result["attachments"] = len(mail.parts)
        audit.record(
            session,
            caller.tenant_id,
            "activities.email.import",
            audit.actor_of(request),
            "activitiesEmail",
            item.name,
            {"attachments": len(mail.parts), "bytes": len(raw)},
        )
        session.commit()
        return result

    return ok(request, await run_in_threadpool(store), status=201)


# --- downloads ---------------------------------------------------------------------------------
class RecentReads:
    """Which reads of a file were audited lately, so a player's follow-up range requests (seeking
    in a recording) do not each add an entry, while no read goes unrecorded: a request from the
    first byte is always recorded; a range further in is recorded unless the same actor's read of
    the same file was recorded within ``window`` seconds in this process."""

    def __init__(self, window: float = 600.0) -> None:
        self.window = window
        self._seen: dict[tuple[Any, ...], float] = {}
        self._lock = threading.Lock()

    def first(self, from_start: bool, key: tuple[Any, ...]) -> bool:
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen = {k: t for k, t in self._seen.items() if now - t < self.window}
            recent = key in self._seen and now - self._seen[key] < self.window
            if from_start or not recent:
                self._seen[key] = now
                return True
            return False


_READS = RecentReads()


def _stream_blob(
    request: Request,
    session: Session,
    blob: Blob,
    filename: str,
    disposition: str,
    audited: tuple[str, str, str],
) -> Response:
    """Stream a blob; ``audited`` is (action, object type, key) of the read's audit entry."""
    files: Files = request.app.state.files
    try:
        wanted = parse_range(request.headers.get("range"), blob.size)
    except ValueError:
        return Response(status_code=416, headers={"Content-Range": f"bytes */{blob.size}"})
    try:
        body = files.read(session, blob, wanted)  # keys are unwrapped here, before streaming
    except Unreadable:
        raise NotFound("The file is no longer available.") from None
    action, object_type, key = audited
    actor = audit.actor_of(request)
    if _READS.first(wanted is None or wanted.start == 0, (blob.tenant_id, actor.kind, actor.id, action, key)):
        audit.record_now(
            request.app.state.session_factory,
            blob.tenant_id,
            action,
            actor,
            object_type=object_type,
            object_key=key,
            details={"range": wanted is not None},
        )
    # The stream needs no database: give the connection back now, not after the last byte of a
    # long download (and end the read transaction, so the WAL can be checkpointed meanwhile).
    session.close()
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Disposition": (
            f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
        ),
        "Cache-Control": "no-store",
    }
    if wanted is None:
        headers["Content-Length"] = str(blob.size)
        return StreamingResponse(body, media_type=blob.mime, headers=headers)
    headers["Content-Range"] = f"bytes {wanted.start}-{wanted.end - 1}/{blob.size}"
    headers["Content-Length"] = str(wanted.end - wanted.start)
    return StreamingResponse(body, status_code=206, media_type=blob.mime, headers=headers)


EXTENSIONS = {"audio/wav": "wav", "audio/mpeg": "mp3", "audio/ogg": "ogg"}


@router.get(
    "/file/recording/{name}",
    tags=["Calls"],
    summary="Play or download a call recording (HTTP range requests supported)",
)
@permitted(Permission.ACTIVITIES_RECORDINGS_READ)
def download_recording(request: Request, session: DbSession, caller: CurrentCaller, name: str) -> Response:
    name = name.rsplit(".", 1)[0] if name.endswith((".wav", ".mp3", ".ogg")) else name
    recording = load_visible(session, REGISTRY["activitiesCallRecordings"], caller, name)
    blob = session.get(Blob, (recording.tenant_id, recording.blob))
    if blob is None:
        raise NotFound("The file is no longer available.")
    disposition = "attachment" if "download" in request.query_params else "inline"
    action = "activities.recording.download" if disposition == "attachment" else "activities.recording.play"
    # The file name is the record key, never the caller's number or name.
    filename = f"{name}.{EXTENSIONS.get(blob.mime, 'bin')}"
    return _stream_blob(
        request, session, blob, filename, disposition, (action, "activitiesCallRecordings", recording.name)
    )


@router.get(
    "/file/attachments/{name}",
    tags=["Attachments"],
    summary="Download an attachment",
)
@permitted(Permission.ACTIVITIES_ATTACHMENTS_READ)
def download_attachment(request: Request, session: DbSession, caller: CurrentCaller, name: str) -> Response:
    attachment = load_visible(session, REGISTRY["attachments"], caller, name)
    blob = session.get(Blob, (attachment.tenant_id, attachment.blob))
    if blob is None:
        raise NotFound("The file is no longer available.")
    disposition = "attachment" if "download" in request.query_params or not attachment.inline else "inline"
    audited = ("activities.attachment.download", "attachments", attachment.name)
    return _stream_blob(request, session, blob, attachment.title, disposition, audited)


@router.get(
    "/file/download.php",
    tags=["Attachments"],
    summary="v6-compatible attachment download (?name=...)",
)
@permitted(Permission.ACTIVITIES_ATTACHMENTS_READ)
def download_php(request: Request, session: DbSession, caller: CurrentCaller, name: str) -> Response:
    if not name:
        raise BadRequest("name is required.")
    return download_attachment(request, session, caller, name)
