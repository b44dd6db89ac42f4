"""Queues, activities and channel resources; recording upload and playback; attachments; e-mail import."""

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

from hovor.activities import schemas, service
from hovor.activities.audio import inspect
from hovor.activities.mail import parse
from hovor.activities.models import (
    Activity,
    Attachment,
    CallItem,
    EmailItem,
    FbmItem,
    Message,
    Queue,
    Recording,
    SmsItem,
    TranscriptSegment,
    WebItem,
)
from hovor.api.deps import CurrentCaller, DbSession, check
from hovor.api.envelope import ok
from hovor.api.resource import REGISTRY, Ctx, Relation, Resource, qf, register, relate, stamp_fields
from hovor.api.router import after_shredding, load_visible, reload
from hovor.api.serialize import contact_ref, ref, stamps, visible_custom_fields
from hovor.audit import log as audit
from hovor.core.caller import Caller
from hovor.core.errors import BadRequest, NotFound, PayloadTooLarge, ValidationFailed
from hovor.core.identifiers import normalize_email
from hovor.core.scope import Via, scope_of
from hovor.core.validation import form_from_pydantic
from hovor.core.wire import to_wire
from hovor.files.models import Blob
from hovor.files.service import Files, Unreadable, parse_range
from hovor.forms.service import hidden_fields_preparer

router = APIRouter()
ACTIVITY_SCOPE = {"queue": Activity.queue}
SPOOL_CHUNK = 256 * 1024


def via_activity(link: Any) -> dict[str, Any]:
    return {"via": Via(Activity, link, ACTIVITY_SCOPE)}


# --- serialization -----------------------------------------------------------------------------
def serialize_queue(queue: Queue, ctx: Ctx) -> dict[str, Any]:
    return {
        "name": queue.name,
        "title": queue.title,
        "type": queue.type,
        "options": dict(queue.options or {}),
        "deactivated": queue.deactivated,
        **stamps(queue, ctx),
    }


def _recording(rec: Recording | None, ctx: Ctx) -> dict[str, Any] | None:
    if rec is None:
        return None
    return {
        "name": rec.name,
        "mime": rec.mime,
        "duration": rec.duration,
        "size": rec.size,
        "status": rec.status,
        "created": to_wire(rec.created, ctx.tz),
        "url": f"/file/recording/{rec.name}",
    }


def _item(activity: Activity, ctx: Ctx) -> dict[str, Any] | None:
    if activity.type == "CALL" and activity.call is not None:
        c = activity.call
        return {
            "clid": c.clid,
            "did": c.did,
            "direction": c.direction,
            "answered": c.answered,
            "waiting_time": c.waiting_time,
            "ringing_time": c.ringing_time,
            "hold_time": c.hold_time,
            "duration": c.duration,
            "disposition": c.disposition,
            "recording": _recording(c.recording, ctx),
        }
    if activity.type == "EMAIL" and activity.email is not None:
        e = activity.email
        return {
            "address": e.address,
            "title": e.title,
            "text": e.text,
            "html": e.html,
            "headers": dict(e.headers or {}),
            "direction": e.direction,
            "state": e.state,
        }
    if activity.type == "CHAT" and activity.web is not None:
        w = activity.web
        return {
            "title": w.title,
            "email": w.email,
            "phone": w.phone,
            "ipaddress": w.ipaddress,
            "browser": w.browser,
            "gdpr": w.gdpr,
        }
    if activity.type == "SMS" and activity.sms is not None:
        return {"sender": activity.sms.sender, "direction": activity.sms.direction}
    if activity.type == "FBM" and activity.fbm is not None:
        f = activity.fbm
        return {"sender": f.sender, "title": f.title, "direction": f.direction}
    return None


def _wrapper(a: Activity, ctx: Ctx) -> dict[str, Any]:
    return {
        "name": a.name,
        "type": a.type,
        "queue": ref(a.queue_obj),
        "user": ref(a.user_obj),
        "contact": contact_ref(a.contact_obj, ctx),
        "ticket": a.ticket,
        "record": a.record,
        "title": a.title,
        "description": a.description,
        "action": a.action,
        "important": a.important,
        "time": to_wire(a.time, ctx.tz),
        "time_open": to_wire(a.time_open, ctx.tz),
        "time_close": to_wire(a.time_close, ctx.tz),
        "duration": a.duration,
        "anonymized": a.anonymized,
        "customFields": visible_custom_fields(a.custom_fields, ctx),
        **stamps(a, ctx),
    }


def serialize_activity(a: Activity, ctx: Ctx) -> dict[str, Any]:
    return {**_wrapper(a, ctx), "item": _item(a, ctx)}


def serialize_channel(item: Any, ctx: Ctx) -> dict[str, Any]:
    """A channel resource shows its own fields with the activity wrapper's beside them."""
    activity: Activity = item.activity
    own = _item(activity, ctx) or {}
    return {**_wrapper(activity, ctx), **own, "name": item.name, "activity": activity.name}


def serialize_message(m: Message, ctx: Ctx) -> dict[str, Any]:
    return {
        "name": m.name,
        "activity": m.activity,
        "direction": m.direction,
        "text": m.text,
        "time": to_wire(m.time, ctx.tz),
        "user": m.user,
    }


def serialize_transcript(t: TranscriptSegment, ctx: Ctx) -> dict[str, Any]:
    return {
        "name": t.name,
        "activity": t.activity,
        "start": t.start,
        "end": t.end,
        "speaker": t.speaker,
        "text": t.text,
        "confidence": t.confidence,
    }


def serialize_recording(r: Recording, ctx: Ctx) -> dict[str, Any]:
    return {**(_recording(r, ctx) or {}), "activity": r.name}


def serialize_attachment(a: Attachment, ctx: Ctx) -> dict[str, Any]:
    return {
        "name": a.name,
        "title": a.title,
        "type": a.mime,
        "size": a.size,
        "inline": a.inline,
        "cid": a.cid,
        "ticket": a.ticket,
        "activity": a.activity,
        "time": to_wire(a.created, ctx.tz),
        "created_by": a.created_by,
        "url": f"/file/attachments/{a.name}",
    }


# --- declarations ------------------------------------------------------------------------------
WRAPPER_PATHS = (
    (Activity.queue_obj,),
    (Activity.user_obj,),
    (Activity.contact_obj,),
)
ACTIVITY_PATHS = (
    *WRAPPER_PATHS,
    (Activity.call, CallItem.recording),
    (Activity.email,),
    (Activity.web,),
    (Activity.sms,),
    (Activity.fbm,),
)

register(
    Resource(
        endpoint="queues",
        audit="activities.queue",
        title="Queues",
        model=Queue,
        permission="admin:queues",
        fields=[
            qf("name", Queue.name),
            qf("title", Queue.title),
            qf("type", Queue.type),
            qf("deactivated", Queue.deactivated, "bool"),
            qf("options", Queue.options, filter=False, sort=False),
            *stamp_fields(Queue),
        ],
        serialize=serialize_queue,
        create_schema=schemas.QueueCreate,
        update_schema=schemas.QueueUpdate,
        create=service.create_queue,
        update=service.update_queue,
        delete=service.delete_queue,
        scope={"queue": Queue.name},
        q_columns=[Queue.name, Queue.title],
        relations=[Relation("activities", "activities", "queue")],
        default_order=[Queue.name.asc()],
    )
)

ACTIVITY_FIELDS = [
    qf("name", Activity.name),
    qf("type", Activity.type),
    qf("queue", Activity.queue),
    qf("user", Activity.user),
    qf("contact", Activity.contact),
    qf("ticket", Activity.ticket, "int"),
    qf("record", Activity.record),
    qf("title", Activity.title),
    qf("description", Activity.description),
    qf("action", Activity.action),
    qf("important", Activity.important, "bool"),
    qf("time", Activity.time, "datetime"),
    qf("time_open", Activity.time_open, "datetime"),
    qf("time_close", Activity.time_close, "datetime"),
    qf("duration", Activity.duration, "int"),
    qf("anonymized", Activity.anonymized, "bool"),
    qf("customFields", Activity.custom_fields, filter=False, sort=False),
    qf("item", Activity.name, filter=False, sort=False),
    *stamp_fields(Activity),
]

register(
    Resource(
        endpoint="activities",
        audit="activities.activity",
        title="Activities",
        model=Activity,
        permission="activities:activities",
        fields=ACTIVITY_FIELDS,
        serialize=serialize_activity,
        create_schema=schemas.CommentCreate,
        update_schema=schemas.ActivityUpdate,
        create=service.create_comment,
        update=service.update_activity,
        delete=service.delete_activity,
        scope=ACTIVITY_SCOPE,
        q_columns=[Activity.title, Activity.description],
        relations=[
            Relation("messages", "activitiesMessages", "activity"),
            Relation("transcripts", "activitiesCallTranscripts", "activity"),
            Relation("attachments", "attachments", "activity"),
        ],
        eager=ACTIVITY_PATHS,
        default_order=[Activity.time.desc()],
        prepare=hidden_fields_preparer("activities"),
        uses_files=True,
    )
)


def _channel(
    endpoint: str,
    activity_type: str,
    model: Any,
    title: str,
    own_fields: list[Any],
    create_schema: Any,
    update_schema: Any,
    relations: list[Relation],
    q_columns: tuple[Any, ...] = (),
) -> None:
    create, update, delete = service.channel_functions(activity_type)
    loads: list[tuple[Any, ...]] = [
        (model.activity, opt) for opt in (Activity.queue_obj, Activity.user_obj, Activity.contact_obj)
    ]
    item_rel = {
        "CALL": Activity.call,
        "EMAIL": Activity.email,
        "CHAT": Activity.web,
        "SMS": Activity.sms,
        "FBM": Activity.fbm,
    }[activity_type]
    loads.append((model.activity, item_rel))
    if activity_type == "CALL":
        loads.append((model.activity, Activity.call, CallItem.recording))
    register(
        Resource(
            endpoint=endpoint,
            audit="activities.activity",
            title=title,
            model=model,
            permission="activities:activities",
            fields=[qf("name", model.name), *own_fields],
            serialize=serialize_channel,
            create_schema=create_schema,
            update_schema=update_schema,
            create=create,
            update=update,
            delete=delete,
            scope=via_activity(model.name),
            q_columns=q_columns,
            relations=relations,
            eager=loads,
            default_order=[model.name.desc()],
            prepare=hidden_fields_preparer("activities"),
            uses_files=True,
            batch=True,
        )
    )


_channel(
    "activitiesCall",
    "CALL",
    CallItem,
    "Calls",
    [
        qf("clid", CallItem.clid),
        qf("did", CallItem.did),
        qf("direction", CallItem.direction),
        qf("answered", CallItem.answered, "bool"),
        qf("waiting_time", CallItem.waiting_time, "int"),
        qf("ringing_time", CallItem.ringing_time, "int"),
        qf("hold_time", CallItem.hold_time, "int"),
        qf("duration", CallItem.duration, "int"),
        qf("disposition", CallItem.disposition),
    ],
    schemas.CallCreate,
    schemas.CallUpdate,
    [Relation("transcripts", "activitiesCallTranscripts", "activity")],
    q_columns=(CallItem.clid,),
)
_channel(
    "activitiesEmail",
    "EMAIL",
    EmailItem,
    "E-mails",
    [
        qf("address", EmailItem.address),
        qf("title", EmailItem.title),
        qf("direction", EmailItem.direction),
        qf("state", EmailItem.state),
    ],
    schemas.EmailCreate,
    schemas.EmailUpdate,
    [Relation("attachments", "attachments", "activity")],
    q_columns=(EmailItem.address, EmailItem.title),
)
_channel(
    "activitiesWeb",
    "CHAT",
    WebItem,
    "Web chats",
    [
        qf("title", WebItem.title),
        qf("email", WebItem.email),
        qf("phone", WebItem.phone),
        qf("ipaddress", WebItem.ipaddress),
        qf("gdpr", WebItem.gdpr, "bool"),
    ],
    schemas.WebCreate,
    schemas.WebUpdate,
    [Relation("messages", "activitiesMessages", "activity")],
    q_columns=(WebItem.title, WebItem.email, WebItem.phone),
)
_channel(
    "activitiesSms",
    "SMS",
    SmsItem,
    "SMS",
    [qf("sender", SmsItem.sender), qf("direction", SmsItem.direction)],
    schemas.SmsCreate,
    schemas.ThreadUpdate,
    [Relation("messages", "activitiesMessages", "activity")],
    q_columns=(SmsItem.sender,),
)
_channel(
    "activitiesFbm",
    "FBM",
    FbmItem,
    "Messenger",
    [qf("sender", FbmItem.sender), qf("title", FbmItem.title), qf("direction", FbmItem.direction)],
    schemas.FbmCreate,
    schemas.ThreadUpdate,
    [Relation("messages", "activitiesMessages", "activity")],
    q_columns=(FbmItem.sender, FbmItem.title),
)

register(
    Resource(
        endpoint="activitiesMessages",
        audit="activities.message",
        title="Messages (chat, SMS, Messenger)",
        model=Message,
        permission="activities:messages",
        fields=[
            qf("name", Message.name),
            qf("activity", Message.activity),
            qf("direction", Message.direction),
            qf("text", Message.text),
            qf("time", Message.time, "datetime"),
            qf("user", Message.user),
        ],
        serialize=serialize_message,
        create_schema=schemas.MessageCreate,
        create=service.create_message,
        scope=via_activity(Message.activity),
        q_columns=[Message.text],
        default_order=[Message.time.asc()],
    )
)

register(
    Resource(
        endpoint="activitiesCallTranscripts",
        audit="activities.transcript",
        title="Call transcripts",
        model=TranscriptSegment,
        permission="activities:transcripts",
        fields=[
            qf("name", TranscriptSegment.name),
            qf("activity", TranscriptSegment.activity),
            qf("start", TranscriptSegment.start, "float"),
            qf("end", TranscriptSegment.end, "float"),
            qf("speaker", TranscriptSegment.speaker),
            qf("text", TranscriptSegment.text),
            qf("confidence", TranscriptSegment.confidence, "float"),
        ],
        serialize=serialize_transcript,
        create_schema=schemas.TranscriptCreate,
        create=service.create_transcript,
        scope=via_activity(TranscriptSegment.activity),
        q_columns=[TranscriptSegment.text],
        default_order=[TranscriptSegment.start.asc()],
    )
)

register(
    Resource(
        endpoint="activitiesCallRecordings",
        audit="activities.recording",
        title="Call recordings",
        model=Recording,
        permission="activities:recordings",
        fields=[
            qf("name", Recording.name),
            qf("mime", Recording.mime),
            qf("duration", Recording.duration, "float"),
            qf("size", Recording.size, "int"),
            qf("status", Recording.status),
            qf("created", Recording.created, "datetime"),
        ],
        serialize=serialize_recording,
        scope=via_activity(Recording.name),
        default_order=[Recording.created.desc()],
    )
)

ATTACHMENT_SCOPE = scope_of(Attachment)


def _delete_attachment(session: Session, caller: Caller, attachment: Attachment, files: Files) -> None:
    service.delete_attachment(session, caller, attachment, files)


register(
    Resource(
        endpoint="attachments",
        audit="activities.attachment",
        title="Attachments",
        model=Attachment,
        permission="activities:attachments",
        fields=[
            qf("name", Attachment.name),
            qf("title", Attachment.title),
            qf("type", Attachment.mime),
            qf("size", Attachment.size, "int"),
            qf("inline", Attachment.inline, "bool"),
            qf("ticket", Attachment.ticket, "int"),
            qf("activity", Attachment.activity),
            qf("time", Attachment.created, "datetime"),
        ],
        serialize=serialize_attachment,
        delete=_delete_attachment,
        scope=ATTACHMENT_SCOPE,
        q_columns=[Attachment.title],
        default_order=[Attachment.created.asc()],
        uses_files=True,
    )
)

relate("contacts", Relation("activities", "activities", "contact"))


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
    openapi_extra={"x-permission": "activities:recordings:create"},
)
async def upload_recording(request: Request, session: DbSession, caller: CurrentCaller, name: str) -> Any:
    check(caller, "activities:recordings:create")
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
        recording = service.attach_recording(session, activity, blob, duration, files)
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
    async def upload(request: Request, session: DbSession, caller: CurrentCaller, name: str) -> Any:
        check(caller, "activities:attachments:create")
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
            attachment = service.add_attachment(
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
        openapi_extra={"x-permission": "activities:attachments:create"},
    )


@router.post(
    "/api/v6/activitiesEmail/import.json",
    tags=["E-mails"],
    status_code=201,
    summary="File a raw RFC 822 message (body: the message) as an e-mail activity with its attachments",
    openapi_extra={"x-permission": "activities:activities:create"},
)
async def import_email(
    request: Request,
    session: DbSession,
    caller: CurrentCaller,
    queue: str | None = None,
    direction: str = "in",
    contact: str | None = None,
    ticket: int | None = None,
) -> Any:
    check(caller, "activities:activities:create")
    settings = request.app.state.settings
    fh, _, _ = await _spool(request, settings.max_email_bytes)
    with fh:
        raw = fh.read()
    mail = await run_in_threadpool(parse, raw)  # MIME parsing is CPU work: off the event loop
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

    def store() -> dict[str, Any]:
        item = service.create_channel_item(session, caller, "EMAIL", body)
        files: Files = request.app.state.files
        for part in mail.parts:
            blob = files.put(session, caller.tenant_id, [part.data], part.mime, settings.max_upload_bytes)
            service.add_attachment(
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
    openapi_extra={"x-permission": "activities:recordings:read"},
)
def download_recording(request: Request, session: DbSession, caller: CurrentCaller, name: str) -> Response:
    check(caller, "activities:recordings:read")
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
    openapi_extra={"x-permission": "activities:attachments:read"},
)
def download_attachment(request: Request, session: DbSession, caller: CurrentCaller, name: str) -> Response:
    check(caller, "activities:attachments:read")
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
    openapi_extra={"x-permission": "activities:attachments:read"},
)
def download_php(request: Request, session: DbSession, caller: CurrentCaller, name: str) -> Response:
    if not name:
        raise BadRequest("name is required.")
    return download_attachment(request, session, caller, name)
