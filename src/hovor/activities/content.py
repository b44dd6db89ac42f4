"""What an activity holds beside its own fields: the messages of a conversation, a call's
transcript and recording, and files attached to activities and tickets.

Services flush, never commit. A blob's key is destroyed in the caller's transaction (the object and
its row go once it has committed): from that commit on, no copy can be read.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hovor.activities import channels, schemas
from hovor.activities.models import Activity, Attachment, Message, Recording, TranscriptSegment
from hovor.core.caller import Caller
from hovor.core.db import new_name, utcnow
from hovor.core.errors import Conflict, ValidationFailed
from hovor.core.records import time_field
from hovor.core.scope import get_visible
from hovor.files.models import Blob
from hovor.files.service import Files


# --- messages and transcripts ------------------------------------------------------------------
def _activity_of(session: Session, caller: Caller, name: str, types: Iterable[str]) -> Activity:
    activity = get_visible(session, Activity, caller, name)
    if activity is None:
        raise ValidationFailed({"activity": ["No such activity, or your rights do not cover it."]})
    if activity.type not in types:
        raise ValidationFailed({"activity": [f"A {activity.type} activity does not take this."]})
    return activity


def create_message(session: Session, caller: Caller, body: schemas.MessageCreate) -> Message:
    activity = _activity_of(session, caller, body.activity, channels.THREADED)
    if activity.anonymized:
        raise Conflict("The conversation is anonymized.")
    message = Message(
        tenant_id=caller.tenant_id,
        name=new_name("messages"),
        activity=activity.name,
        direction=body.direction.upper(),
        text=body.text,
        time=time_field(body.time, caller, "time") or utcnow(),
        user=caller.user if body.direction.upper() == "OUT" else None,
    )
    session.add(message)
    session.flush()
    return message


def create_transcript(session: Session, caller: Caller, body: schemas.TranscriptCreate) -> TranscriptSegment:
    activity = _activity_of(session, caller, body.activity, ("CALL",))
    if body.end < body.start:
        raise ValidationFailed({"end": ["A segment cannot end before it starts."]})
    segment = TranscriptSegment(
        tenant_id=caller.tenant_id,
        name=new_name("transcripts"),
        activity=activity.name,
        start=body.start,
        end=body.end,
        speaker=body.speaker,
        text=body.text,
        confidence=body.confidence,
    )
    session.add(segment)
    session.flush()
    return segment


# --- recordings and attachments ----------------------------------------------------------------
def _shred(session: Session, row: Recording | Attachment, files: Files) -> None:
    """Deletes a row that holds a blob, and destroys the blob's key."""
    blob = session.get(Blob, (row.tenant_id, row.blob))
    session.delete(row)
    session.flush()
    if blob is not None:
        files.destroy_key(session, blob)


def drop_recording(session: Session, recording: Recording, files: Files) -> None:
    _shred(session, recording, files)


def attach_recording(
    session: Session, activity: Activity, blob: Blob, duration: float | None, files: Files
) -> Recording:
    """Files an uploaded recording on a call; a recording already there is replaced and shredded."""
    previous = session.get(Recording, (activity.tenant_id, activity.name))
    if previous is not None:
        drop_recording(session, previous, files)
    recording = Recording(
        tenant_id=activity.tenant_id,
        name=activity.name,
        blob=blob.name,
        mime=blob.mime,
        duration=duration,
        size=blob.size,
        status="Converted",
    )
    session.add(recording)
    session.flush()
    return recording


def add_attachment(
    session: Session,
    caller: Caller,
    blob: Blob,
    title: str,
    *,
    ticket: int | None = None,
    activity: str | None = None,
    inline: bool = False,
    cid: str | None = None,
) -> Attachment:
    attachment = Attachment(
        tenant_id=caller.tenant_id,
        name=new_name("attachments"),
        ticket=ticket,
        activity=activity,
        blob=blob.name,
        title=_safe_name(title),
        mime=blob.mime,
        size=blob.size,
        inline=inline,
        cid=cid,
        created_by=caller.user,
    )
    session.add(attachment)
    session.flush()
    return attachment


def _safe_name(title: str) -> str:
    """A file name fit for a header: no control characters or path separators."""
    cleaned = "".join(c for c in title if c.isprintable() and c not in "/\\").strip()
    return cleaned[:255] or "attachment"


def delete_attachment(session: Session, caller: Caller, attachment: Attachment, files: Files) -> None:
    _shred(session, attachment, files)


def attachment_count(session: Session, tenant_id: str, activity: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Attachment)
            .where(Attachment.tenant_id == tenant_id, Attachment.activity == activity)
        )
        or 0
    )
