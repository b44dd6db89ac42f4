"""The Delete buttons on a contact, a ticket (with its comments and attachments) and a campaign
record: a confirmation page that names what goes, then the API's own plain delete
(:func:`hovor.api.router.delete_record`) with the privacy domain's guard, so a legal hold or a
restriction refuses it with the API's reason, a tombstone is left and the change is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from hovor.api import refusals
from hovor.api.resource import REGISTRY, Resource
from hovor.api.router import after_shredding, delete_record
from hovor.console import writes
from hovor.console.reads import equal, not_found, read_list, read_one
from hovor.console.web import needs, redirect, render, require
from hovor.core.caller import Caller
from hovor.core.errors import ApiError, NotFound
from hovor.core.permissions import Permission
from hovor.privacy.api import delete_hooks

router = APIRouter(include_in_schema=False)
HOOKS = delete_hooks()


@dataclass(frozen=True)
class Kind:
    endpoint: str  # the API resource whose delete this is
    path: str  # the console's address of such records
    back: str  # where the console goes once the record is gone
    permission: Permission  # the API's DELETE route's (checked again by the delete itself)

    @property
    def resource(self) -> Resource:
        # With the hooks the API's routes are built with: the legal-hold guard, the tombstone.
        return HOOKS.bind(REGISTRY[self.endpoint])


KINDS = {
    "contacts": Kind("contacts", "/contacts", "/contacts", Permission.CRM_CONTACTS_DELETE),
    "tickets": Kind("tickets", "/tickets", "/tickets", Permission.HELPDESK_TICKETS_DELETE),
    "records": Kind("campaignsRecords", "/records", "/contacts", Permission.CAMPAIGNS_RECORDS_DELETE),
}


def _what(request: Request, caller: Caller, kind: Kind, name: str) -> dict[str, Any]:
    """The record as its reader sees it, and what its delete takes with it (counts, no content)."""
    record = read_one(request, caller, kind.endpoint, name)
    found: dict[str, Any] = {"record": record, "kind": kind.endpoint, "path": kind.path}
    if kind.endpoint == "tickets":
        # What the ticket's delete takes along (hovor.activities.service): comments, attachments.
        of_ticket = equal("ticket", record["name"])
        comments = {"filter": [of_ticket, equal("type", "COMMENT")], "take": 1}
        found["comments"] = read_list(request, caller, "activities", comments)
        found["attachments"] = read_list(request, caller, "attachments", {"filter": of_ticket, "take": 50})
    return found


def _delete(request: Request, caller: Caller, kind: Kind, name: str) -> str | None:
    """Deletes the record; the contact it belonged to (where a campaign record's page goes back to)."""
    with writes.unit(request) as session:
        contact = None
        if kind.endpoint == "campaignsRecords":
            contact = (read_one(request, caller, kind.endpoint, name).get("contact") or {}).get("name")
        delete_record(request, session, caller, kind.resource, name)
    return contact


def _confirm_route(key: str, kind: Kind) -> None:
    async def confirm(request: Request, name: str) -> Response:
        caller = await require(request, kind.permission)
        try:
            found = await run_in_threadpool(_what, request, caller, kind, name)
        except NotFound:
            return not_found(request)
        return render(request, "delete.html", found)

    async def delete(request: Request, name: str) -> Response:
        caller = await require(request, kind.permission)
        form = await request.form()
        try:
            found = await run_in_threadpool(_what, request, caller, kind, name)
        except NotFound:
            return not_found(request)
        if form.get("confirm") != "yes":
            return render(request, "delete.html", {**found, "unconfirmed": True}, status=400)
        try:
            contact = await run_in_threadpool(_delete, request, caller, kind, name)
        except NotFound:
            return not_found(request)
        except ApiError as refused:
            if refused.status not in (403, 409):
                raise
            # A legal hold, a restriction: the API's reason (a hold's key, no personal data),
            # recorded in the audit log as the API records it.
            await run_in_threadpool(refusals.record, request, refused, request.app.state.refusal_bound)
            reason = refused.messages[0] if refused.messages else ""
            return render(request, "delete.html", {**found, "refusal": reason}, status=409)
        back = f"/contacts/{contact}" if contact else kind.back
        answer = redirect(request, back + "?deleted=1")
        # The blobs whose keys the delete destroyed go once the answer is out, as after the API's.
        return after_shredding(request, answer) if kind.resource.uses_files else answer

    for handler, method in ((confirm, "GET"), (delete, "POST")):
        router.add_api_route(
            f"{kind.path}/{{name}}/delete",
            handler,
            methods=[method],
            name=f"console.{key}.delete.{method.lower()}",
            openapi_extra=needs(kind.permission),
        )


for _key, _kind in KINDS.items():
    _confirm_route(_key, _kind)
