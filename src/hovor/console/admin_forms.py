"""The forms of the tenant: the custom fields of contacts and accounts (per CRM database or
tenant-wide), of campaign records (per record type), tickets and activities, read as
``formFields.json`` lists them, and a field's form saved through the API's own update (a field's
type and the form it belongs to do not change, as in the API).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from hovor.console import writes
from hovor.console.admin_write import Refusal, save, text
from hovor.console.reads import not_found, read_list, read_one
from hovor.console.web import needs, redirect, render, require
from hovor.core.caller import Caller
from hovor.core.errors import ApiError, NotFound
from hovor.core.permissions import Permission

router = APIRouter(include_in_schema=False)
READ = Permission.CRM_FORMS_READ
UPDATE = Permission.CRM_FORMS_UPDATE
LIMIT = 1000
FLAGS = ("required", "readonly", "hidden", "multiple")


def _grouped(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The fields by the form they belong to, in the API's order (kind of record, position)."""
    forms: dict[tuple[str, str | None, str | None], dict[str, Any]] = {}
    for row in rows:
        key = (row["object_type"], row.get("database"), row.get("record_type"))
        form = forms.setdefault(
            key, {"object_type": key[0], "database": key[1], "record_type": key[2], "fields": []}
        )
        form["fields"].append(row)
    return list(forms.values())


@router.get("/admin/forms", openapi_extra=needs(READ))
async def forms(request: Request) -> Response:
    caller = await require(request, READ)
    params = {"take": LIMIT}
    try:
        found = await run_in_threadpool(read_list, request, caller, "formFields", params)
    except ApiError:
        found = {"data": [], "total": 0, "failed": True}
    context = {"forms": _grouped(list(found["data"])), "total": found["total"], "failed": found.get("failed")}
    return render(request, "admin_forms.html", context)


async def _field_page(
    request: Request,
    caller: Caller,
    record: dict[str, Any],
    refusal: Refusal | None = None,
    typed: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    values = {**record, **(typed or {})}
    context = {"record": record, "v": values, "editable": caller.can(UPDATE), "refusal": refusal}
    return render(request, "admin_form_field.html", context, status=status)


@router.get("/admin/forms/{name}", openapi_extra=needs(READ))
async def field(request: Request, name: str) -> Response:
    caller = await require(request, READ)
    try:
        record = await run_in_threadpool(read_one, request, caller, "formFields", name)
    except NotFound:
        return not_found(request)
    return await _field_page(request, caller, record)


def _body(form: Any, record: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"title": text(form, "title")}
    for flag in FLAGS:
        body[flag] = form.get(flag) == "yes"
    position = text(form, "position", 12)
    body["position"] = int(position) if writes.digits(position) else position or None
    if record.get("options") is not None or text(form, "options", 20000):
        raw = form.get("options")
        lines = raw.splitlines() if isinstance(raw, str) else []
        body["options"] = [line.strip() for line in lines if line.strip()][:500]
    return body


@router.post("/admin/forms/{name}", openapi_extra=needs(UPDATE))
async def field_save(request: Request, name: str) -> Response:
    caller = await require(request, UPDATE)
    try:
        record = await run_in_threadpool(read_one, request, caller, "formFields", name)
        form = await request.form()
        body = _body(form, record)
        saved, refusal = await save(request, caller, "formFields", name, body)
    except NotFound:
        return not_found(request)
    if saved is None:
        status = refusal.status if refusal and refusal.status in (400, 409) else 400
        return await _field_page(request, caller, record, refusal, body, status)
    return redirect(request, f"/admin/forms/{name}?saved=1")
