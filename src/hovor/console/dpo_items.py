"""The DPO's Delete buttons on one conversation: a call's recording (with its transcript), and the
content of a chat, an SMS, a messaging conversation or an e-mail (text, messages, headers,
attachments). A confirmation page names what goes and what stays; the delete is the API's own
(:func:`hovor.privacy.service.delete_recording`, :func:`~hovor.privacy.service.delete_conversation`,
behind ``DELETE activitiesCall/{name}/recording.json`` and ``DELETE {channel}/{name}/content.json``),
so a legal hold refuses it with the API's reason, recorded as the API records it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from hovor.api import refusals
from hovor.api.router import after_shredding
from hovor.audit import log as audit
from hovor.console import writes
from hovor.console.reads import equal, not_found, read_list
from hovor.console.threads import CONVERSATIONS, thread
from hovor.console.web import needs, redirect, render, require
from hovor.core.caller import Caller
from hovor.core.errors import ApiError, NotFound
from hovor.core.permissions import Permission
from hovor.privacy import service

router = APIRouter(include_in_schema=False)
RECORDINGS = Permission.DPO_RECORDINGS_DELETE
COMMUNICATIONS = Permission.DPO_COMMUNICATIONS_DELETE


def _what(request: Request, caller: Caller, name: str, kind: str) -> dict[str, Any]:
    """The activity as the DPO reads it, with what the delete takes (counts, titles: no content)."""
    found = thread(request, caller, name)
    activity = found["activity"]
    if kind == "recording":
        if activity["type"] != "CALL":
            raise NotFound("Record not found.")
        params = {"filter": equal("activity", activity["name"]), "take": 1}
        found["transcript"] = read_list(request, caller, "activitiesCallTranscripts", params)
    elif activity["type"] not in CONVERSATIONS:
        raise NotFound("Record not found.")
    return {**found, "kind": kind}


def _delete(request: Request, caller: Caller, name: str, kind: str, activity_type: str) -> None:
    files, actor = request.app.state.files, audit.actor_of(request)
    with writes.unit(request) as session:
        if kind == "recording":
            service.delete_recording(session, files, caller, name, actor)
        else:
            service.delete_conversation(session, files, caller, CONVERSATIONS[activity_type], name, actor)
        session.commit()


def _routes(kind: str, path: str, permission: Permission) -> None:
    async def confirm(request: Request, name: str) -> Response:
        caller = await require(request, permission)
        try:
            found = await run_in_threadpool(_what, request, caller, name, kind)
        except NotFound:
            return not_found(request)
        return render(request, "dpo_item_delete.html", found)

    async def delete(request: Request, name: str) -> Response:
        caller = await require(request, permission)
        form = await request.form()
        try:
            found = await run_in_threadpool(_what, request, caller, name, kind)
        except NotFound:
            return not_found(request)
        if form.get("confirm") != "yes":
            return render(request, "dpo_item_delete.html", {**found, "unconfirmed": True}, status=400)
        try:
            await run_in_threadpool(_delete, request, caller, name, kind, found["activity"]["type"])
        except ApiError as refused:
            if refused.status not in (403, 404, 409):
                raise
            # A legal hold (its key, no personal data), or nothing left to delete: the API's reason.
            await run_in_threadpool(refusals.record, request, refused, request.app.state.refusal_bound)
            reason = writes.reason(refused)
            status = 409 if refused.status == 404 else refused.status
            return render(request, "dpo_item_delete.html", {**found, "refusal": reason}, status=status)
        # The blobs whose keys the delete destroyed go once the answer is out, as after the API's.
        return after_shredding(request, redirect(request, f"/activities/{name}?deleted=1"))

    for handler, method in ((confirm, "GET"), (delete, "POST")):
        router.add_api_route(
            f"/dpo/{path}/{{name}}/delete",
            handler,
            methods=[method],
            name=f"console.dpo.{kind}.delete.{method.lower()}",
            openapi_extra=needs(permission),
        )


_routes("recording", "recordings", RECORDINGS)
_routes("conversation", "conversations", COMMUNICATIONS)
