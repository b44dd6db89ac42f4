"""One activity opened from a contact's timeline or a ticket: a call with its recording, an e-mail
with its text and attachments, a chat, an SMS or a messaging conversation with its messages. Read
through the API's own list queries and serializers (``activities``, ``activitiesMessages``,
``attachments``) under the row-scoping choke point; the DPO's Delete buttons are offered here."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from hovor.activities import channels
from hovor.console.operator import TIMELINE_LIMIT
from hovor.console.reads import equal, not_found, read_list, read_one
from hovor.console.web import render, require
from hovor.core.caller import Caller
from hovor.core.errors import NotFound
from hovor.core.permissions import Permission

router = APIRouter(include_in_schema=False)
READ = Permission.ACTIVITIES_ACTIVITIES_READ
# The kinds whose content the DPO may delete on its own (a call's is its recording).
CONVERSATIONS = {k.code: k.endpoint for k in channels.KINDS if k.conversation}
THREADED = frozenset(channels.THREADED)


def thread(request: Request, caller: Caller, name: str) -> dict[str, Any]:
    activity = read_one(request, caller, "activities", name)
    of_it = equal("activity", activity["name"])
    messages: dict[str, Any] = {"data": [], "total": 0}
    if activity["type"] in THREADED:
        params = {"filter": of_it, "sort": "time", "dir": "asc", "take": TIMELINE_LIMIT}
        messages = read_list(request, caller, "activitiesMessages", params)
    attachments = read_list(request, caller, "attachments", {"filter": of_it, "take": TIMELINE_LIMIT})
    item = activity.get("item") or {}
    return {
        "activity": activity,
        "item": item,
        "messages": messages,
        "attachments": attachments,
        "threaded": activity["type"] in THREADED,
        # What the DPO's Delete buttons may take (the API answers again when pressed).
        "may_delete_recording": activity["type"] == "CALL"
        and bool(item.get("recording"))
        and caller.can(Permission.DPO_RECORDINGS_DELETE),
        "may_delete_content": activity["type"] in CONVERSATIONS
        and not activity.get("anonymized")
        and caller.can(Permission.DPO_COMMUNICATIONS_DELETE),
    }


@router.get("/activities/{name}", openapi_extra={"x-permission": str(READ)})
async def activity_page(request: Request, name: str) -> Response:
    caller = await require(request, READ)
    try:
        found = await run_in_threadpool(thread, request, caller, name)
    except NotFound:
        return not_found(request)
    return render(request, "activity.html", found)
