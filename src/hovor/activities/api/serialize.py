"""The wire shape of queues, activities, their channel items, messages, transcripts, recordings
and attachments."""

from __future__ import annotations

from typing import Any

from hovor.activities import channels
from hovor.activities.models import (
    Activity,
    Attachment,
    Message,
    Queue,
    Recording,
    TranscriptSegment,
)
from hovor.api.resource import Ctx
from hovor.api.serialize import contact_ref, linked, ref, stamps, visible_custom_fields
from hovor.core.wire import to_wire


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
            "prefix_clid_name": c.prefix_clid_name,
            "disposition_cause": c.disposition_cause,
            "disconnection_cause": c.disconnection_cause,
            "pressed_key": c.pressed_key,
            "missed_call": c.missed_call,
            "missed_call_time": to_wire(c.missed_call_time, ctx.tz),
            "missed_callback": to_wire(c.missed_callback, ctx.tz),
            "attempts": c.attempts,
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
            "wait_time": e.wait_time,
            "answered": e.answered,
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
            "direction": w.direction,
            "wait_time": w.wait_time,
        }
    if activity.type == "SMS" and activity.sms is not None:
        s = activity.sms
        return {"sender": s.sender, "direction": s.direction, "wait_time": s.wait_time}
    kind = channels.BY_CODE.get(activity.type)
    item = getattr(activity, kind.relation) if kind is not None and kind.messaging else None
    if item is not None:  # Messenger, WhatsApp, Instagram, Viber
        return {
            "sender": item.sender,
            "title": item.title,
            "direction": item.direction,
            "wait_time": item.wait_time,
        }
    return None


def _wrapper(a: Activity, ctx: Ctx) -> dict[str, Any]:
    # The stamps written out rather than merged from stamps(): a list page builds a hundred.
    tz = ctx.tz
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
        "time": to_wire(a.time, tz),
        "time_open": to_wire(a.time_open, tz),
        "time_close": to_wire(a.time_close, tz),
        "duration": a.duration,
        "anonymized": a.anonymized,
        "customFields": visible_custom_fields(a.custom_fields, ctx),
        "created": to_wire(a.created, tz),
        "edited": to_wire(a.edited, tz),
        "created_by": a.created_by,
        "edited_by": a.edited_by,
    }


def serialize_activity(a: Activity, ctx: Ctx) -> dict[str, Any]:
    # Added to the wrapper's own new dict rather than copied into another: a list page builds
    # a hundred of these.
    out = _wrapper(a, ctx)
    out["statuses"] = linked(ctx, "statuses", a.name)
    out["item"] = _item(a, ctx)
    return out


def serialize_channel(item: Any, ctx: Ctx) -> dict[str, Any]:
    """A channel resource shows its own fields with the activity wrapper's beside them."""
    activity: Activity = item.activity
    own = _item(activity, ctx) or {}
    out = {**_wrapper(activity, ctx), **own, "name": item.name, "activity": activity.name}
    # The reference's list of the item's activities (here always its one), as objects.
    out["activities"] = [
        {"name": activity.name, "type": activity.type, "ticket": activity.ticket, "time": out["time"]}
    ]
    if activity.type == "CALL":
        # The reference's names of a call's key and wrapper fields, beside hovor's.
        out.update(id_call=item.name, call_time=out["time"], id_queue=out["queue"], id_agent=out["user"])
    return out


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
        "type": t.speaker,  # the reference's name: customer, or the operator's side
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
