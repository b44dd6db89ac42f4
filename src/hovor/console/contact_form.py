"""Creating and editing a contact with its database's form: the standard fields, the custom fields
and the consent fields the form defines (``formFields``), saved through the API's own create and
update (:func:`hovor.api.router.create_record`, :func:`~hovor.api.router.update_record`), so the
same validation answers: its messages are shown next to the fields they concern."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import ValidationError

from hovor.console import writes
from hovor.console.reads import equal, not_found, read_list, read_one
from hovor.console.web import needs, redirect, render, require
from hovor.core.caller import Caller
from hovor.core.errors import ApiError, NotFound, ValidationFailed
from hovor.core.permissions import Permission
from hovor.crm import schemas

router = APIRouter(include_in_schema=False)
CREATE = Permission.CRM_CONTACTS_CREATE
UPDATE = Permission.CRM_CONTACTS_UPDATE
STANDARD = ("firstname", "lastname", "description")
PREFIX = "cf."  # a custom field's input is named cf.<field>
LIMIT = 70000  # no single input longer than the longest field the API takes (a textarea's)


def _form_of(request: Request, caller: Caller, database: str) -> list[dict[str, Any]]:
    """The contact form of ``database`` as the API lists it: the tenant-wide fields and the
    database's own, without the hidden ones (a contact's reader does not see those either)."""
    params = {"filter": equal("object_type", "contacts"), "take": 500, "sort": "position", "dir": "asc"}
    found = read_list(request, caller, "formFields", params)
    return [f for f in found["data"] if not f["hidden"] and f["database"] in (None, database)]


def _databases(request: Request, caller: Caller) -> list[dict[str, Any]]:
    return list(read_list(request, caller, "databases", {"take": 200, "sort": "title", "dir": "asc"})["data"])


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value[:LIMIT] if isinstance(value, str) else ""


def _submitted(form: Any, fields: list[dict[str, Any]], current: dict[str, list[str]], caller: Caller) -> Any:
    """The custom fields as the API takes them (a list of strings each), from the form's inputs.
    A read-only field is not sent unless the caller may change it (the API would refuse it)."""
    may_edit_readonly = caller.can(Permission.CRM_FORMS_UPDATE)
    values: dict[str, list[str]] = {}
    for field in fields:
        if field["readonly"] and not may_edit_readonly:
            continue
        key, name = PREFIX + field["name"], field["name"]
        if field["type"] == "multiselect":
            values[name] = [v for v in form.getlist(key) if isinstance(v, str) and v]
        elif field["type"] == "checkbox":
            # Unticked means "no" only where there was a value; else the field stays empty.
            values[name] = ["1"] if form.get(key) == "1" else (["0"] if current.get(name) else [])
        elif field["multiple"]:
            values[name] = [line.strip() for line in _text(form, key).splitlines() if line.strip()]
        else:
            text = _text(form, key).strip()
            values[name] = [text] if text else []
    return values


def _context(
    request: Request, caller: Caller, database: str, values: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    fields = _form_of(request, caller, database)
    readonly = not caller.can(Permission.CRM_FORMS_UPDATE)
    return {"fields": fields, "values": values, "database": database, "lock_readonly": readonly, **extra}


def _failed(context: dict[str, Any], failed: ValidationFailed | ValidationError) -> None:
    """The API's messages by field; those of no field shown on the form are listed apart."""
    errors = writes.field_messages(failed)
    shown = {*STANDARD, *(f"customFields.{f['name']}" for f in context.get("fields", []))}
    context["errors"] = errors
    context["other_errors"] = {k: v for k, v in errors.items() if k not in shown}


# --- create ------------------------------------------------------------------------------------
def _new_context(request: Request, caller: Caller, chosen: str) -> dict[str, Any]:
    databases = _databases(request, caller)
    names = [d["name"] for d in databases]
    if chosen not in names:
        chosen = names[0] if len(names) == 1 else ""
    context: dict[str, Any] = {"databases": databases, "creating": True}
    if chosen:
        context.update(_context(request, caller, chosen, {"cf": {}}))
    return context


@router.get("/new/contact", openapi_extra=needs(CREATE))
async def new_contact(request: Request) -> Response:
    # The database is a choice among the tenant's (no personal data): a GET parameter.
    caller = await require(request, CREATE)
    chosen = request.query_params.get("database", "")[:64]
    context = await run_in_threadpool(_new_context, request, caller, chosen)
    return render(request, "contact_form.html", context)


@router.post("/new/contact", openapi_extra=needs(CREATE))
async def create_contact(request: Request) -> Response:
    caller = await require(request, CREATE)
    form = await request.form()
    database = _text(form, "database")[:64]
    context = await run_in_threadpool(_new_context, request, caller, database)
    if "fields" not in context:
        missing = {"database": ["This field is required."]}
        return render(request, "contact_form.html", {**context, "errors": missing}, status=400)
    fields = context["fields"]
    custom = _submitted(form, fields, {}, caller)
    standard = {k: _text(form, k) for k in STANDARD}
    shown = {**standard, "cf": custom}
    wire: dict[str, Any] = {k: v for k, v in standard.items() if v}
    wire.update({"database": context["database"], "customFields": {k: v for k, v in custom.items() if v}})
    try:
        body = schemas.ContactCreate.model_validate(wire)
        name = await run_in_threadpool(writes.create, request, caller, "contacts", body)
    except (ValidationFailed, ValidationError) as failed:
        context["values"] = shown
        _failed(context, failed)
        return render(request, "contact_form.html", context, status=400)
    except ApiError as refused:
        context["values"], context["refusal"] = shown, writes.reason(refused)
        return render(request, "contact_form.html", context, status=refused.status)
    return redirect(request, f"/contacts/{name}?saved=1")


# --- edit --------------------------------------------------------------------------------------
def _edit_context(request: Request, caller: Caller, name: str) -> dict[str, Any]:
    contact = read_one(request, caller, "contacts", name)
    database = (contact.get("database") or {}).get("name") or ""
    values = {k: contact.get(k) or "" for k in STANDARD}
    values["cf"] = dict(contact.get("customFields") or {})
    return {
        **_context(request, caller, database, values),
        "contact": contact,
        "consents": contact.get("customFieldsConsent") or {},
    }


@router.get("/contacts/{name}/edit", openapi_extra=needs(UPDATE))
async def edit_contact(request: Request, name: str) -> Response:
    caller = await require(request, UPDATE)
    try:
        context = await run_in_threadpool(_edit_context, request, caller, name)
    except NotFound:
        return not_found(request)
    return render(request, "contact_form.html", context)


@router.post("/contacts/{name}/edit", openapi_extra=needs(UPDATE))
async def save_contact(request: Request, name: str) -> Response:
    caller = await require(request, UPDATE)
    form = await request.form()
    try:
        context = await run_in_threadpool(_edit_context, request, caller, name)
    except NotFound:
        return not_found(request)
    custom = _submitted(form, context["fields"], context["values"]["cf"], caller)
    standard = {k: _text(form, k) for k in STANDARD}
    # An emptied first name or note is cleared; the last name is required by the API's rule.
    wire: dict[str, Any] = {k: (v or None) for k, v in standard.items()}
    wire["lastname"] = standard["lastname"]
    wire["customFields"] = custom
    shown = {**standard, "cf": {**context["values"]["cf"], **custom}}
    try:
        body = schemas.ContactUpdate.model_validate(wire)
        await run_in_threadpool(writes.update, request, caller, "contacts", name, body)
    except NotFound:
        return not_found(request)
    except (ValidationFailed, ValidationError) as failed:
        context["values"] = shown
        _failed(context, failed)
        return render(request, "contact_form.html", context, status=400)
    except ApiError as refused:
        # A restricted contact (Art. 18) and the like: the API's reason.
        context["values"], context["refusal"] = shown, writes.reason(refused)
        return render(request, "contact_form.html", context, status=refused.status)
    return redirect(request, f"/contacts/{name}?saved=1")
