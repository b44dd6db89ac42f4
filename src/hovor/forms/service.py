"""Custom fields: the form of each object type, and validation of ``customFields`` against it.

On the wire ``customFields`` maps a field name to a list of strings, for every field type.
Values are normalized on the way in (phones to E.164, e-mails case-folded, dates ISO) so the
subject resolver can look them up exactly. A consent field records yes/no with who set it and when.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, or_, select
from sqlalchemy.orm import Session

from hovor.core.caller import Caller
from hovor.core.db import memo, utcnow
from hovor.core.errors import ValidationFailed
from hovor.core.identifiers import normalize_email, normalize_phone
from hovor.core.permissions import Permission
from hovor.core.personal_data import Category
from hovor.forms import consent
from hovor.forms.models import FormField
from hovor.index.service import reindex

FIELD_TYPES = (
    "text",
    "textarea",
    "number",
    "date",
    "select",
    "multiselect",
    "checkbox",
    "phone",
    "email",
    "address",
    "consent",
)
# Which column of a form field says which form it belongs to, per object type.
OBJECT_TYPES = {
    "contacts": "database",
    "accounts": "database",
    "crmRecords": "database",
    "records": "record_type",
    "tickets": None,
    "activities": None,
}

# What personal data each custom-field type holds: custom fields declare it as columns do
# (hovor.core.personal_data).
FIELD_CATEGORY = {
    "text": Category.TEXT,
    "textarea": Category.TEXT,
    "number": Category.FORM,
    "date": Category.FORM,
    "select": Category.FORM,
    "multiselect": Category.FORM,
    "checkbox": Category.FORM,
    "phone": Category.PHONE,
    "email": Category.EMAIL,
    "address": Category.ADDRESS,
    "consent": Category.CONSENT,
}

MAX_VALUE_LENGTH = {"text": 1000, "textarea": 65535, "address": 2000}
CONSENT_VALUES = ("yes", "no")
CHECKBOX_TRUE = ("1", "true", "yes")
CHECKBOX_FALSE = ("0", "false", "no", "")


# Custom-field types whose values identify a person, and the kind they are indexed under.
IDENTIFIER_KINDS = {"phone": "phone", "email": "email"}


@dataclass(frozen=True)
class CleanValues:
    values: dict[str, list[str]]
    consents: dict[str, Any]
    # (kind, value, field) of every phone and e-mail value, for the identifier index.
    identifiers: tuple[tuple[str, str, str], ...] = ()
    # Each consent field's (purpose, channel) in the consent ledger.
    consent_targets: dict[str, tuple[str, str]] | None = None


def form_for(session: Session, tenant_id: str, object_type: str, form: str | None) -> list[FormField]:
    """The fields of one form: the tenant-wide ones of the object type plus those of ``form``
    (the record's CRM database, or the campaign record's type)."""
    stmt = _form_statement(object_type, form is not None)
    return list(session.scalars(stmt, {"tenant_id": tenant_id, "object_type": object_type, "form": form}))


@cache
def _form_statement(object_type: str, of_a_form: bool) -> Select[Any]:
    """:func:`form_for`'s statement, its values parameters: made once (building it and working out
    its cache key took twice as long as running it)."""
    stmt = select(FormField).where(
        FormField.tenant_id == bindparam("tenant_id"), FormField.object_type == bindparam("object_type")
    )
    scope_attr = OBJECT_TYPES[object_type]
    if scope_attr is not None:
        column = getattr(FormField, scope_attr)
        tenant_wide = column.is_(None)
        stmt = stmt.where(or_(tenant_wide, column == bindparam("form")) if of_a_form else tenant_wide)
    return stmt.order_by(FormField.position, FormField.name)


def _clean_one(field: FormField, raw: str, country: str) -> str:
    """Validates and normalizes one value. Messages state the rule, never the value."""
    kind = field.type
    if kind in ("text", "textarea", "address"):
        if len(raw) > MAX_VALUE_LENGTH[kind]:
            raise ValueError(f"At most {MAX_VALUE_LENGTH[kind]} characters.")
        value = raw
    elif kind == "number":
        try:
            number = Decimal(raw.strip())
        except InvalidOperation:
            raise ValueError("Must be a number.") from None
        if not number.is_finite():
            raise ValueError("Must be a number.")
        value = format(number.normalize(), "f")
    elif kind == "date":
        try:
            value = dt.date.fromisoformat(raw.strip()).isoformat()
        except ValueError:
            raise ValueError("Must be a date as YYYY-MM-DD.") from None
    elif kind in ("select", "multiselect"):
        if raw not in (field.options or []):
            raise ValueError("Not one of the field's options.")
        value = raw
    elif kind == "checkbox":
        lowered = raw.strip().lower()
        if lowered in CHECKBOX_TRUE:
            value = "1"
        elif lowered in CHECKBOX_FALSE:
            value = "0"
        else:
            raise ValueError("Must be 1 or 0.")
    elif kind == "phone":
        value = normalize_phone(raw, country)
    elif kind == "email":
        value = normalize_email(raw)
    elif kind == "consent":
        lowered = raw.strip().lower()
        if lowered not in CONSENT_VALUES:
            raise ValueError("Must be yes or no.")
        value = lowered
    else:  # pragma: no cover - types are checked when the field is defined
        raise ValueError("Unknown field type.")
    if field.regex and kind not in ("consent", "checkbox") and not re.fullmatch(field.regex, value):
        raise ValueError("Does not match the field's pattern.")
    return value


def validate_custom_fields(
    session: Session,
    caller: Caller,
    object_type: str,
    form_name: str | None,
    incoming: dict[str, Any] | None,
    current_values: dict[str, list[str]] | None,
    current_consents: dict[str, Any] | None,
    *,
    creating: bool,
    may_edit_readonly: bool,
) -> CleanValues:
    """Merges ``incoming`` into the current values, checks every rule, and stamps consent changes."""
    memo_key = ("form", caller.tenant_id, object_type, form_name)
    form_fields = memo(session, memo_key, lambda: form_for(session, caller.tenant_id, object_type, form_name))
    fields = {f.name: f for f in form_fields}
    values = {k: list(v) for k, v in (current_values or {}).items() if k in fields}
    consents = dict(current_consents or {})
    form: dict[str, list[str]] = {}
    incoming = incoming or {}
    if not isinstance(incoming, dict):
        raise ValidationFailed({"customFields": ["Must be an object of field name to list of values."]})
    for name, raw in incoming.items():
        key = f"customFields.{name}"
        field = fields.get(name)
        if field is None:
            form[key] = ["Unknown custom field for this form."]
            continue
        if isinstance(raw, str):
            raw = [raw]
        if raw is None:
            raw = []
        if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
            form[key] = ["Must be a list of strings."]
            continue
        raw = [v for v in raw if v != ""]
        if field.readonly and not may_edit_readonly and raw != values.get(name, []):
            form[key] = ["This field is read-only."]
            continue
        if len(raw) > 1 and not (field.multiple or field.type == "multiselect"):
            form[key] = ["This field takes one value."]
            continue
        if len(raw) > 100:
            form[key] = ["At most 100 values."]
            continue
        cleaned: list[str] = []
        for item in raw:
            try:
                cleaned.append(_clean_one(field, item, caller.country))
            except ValueError as exc:
                form.setdefault(key, []).append(str(exc))
        if key in form:
            continue
        if field.type == "consent" and cleaned != values.get(name, []):
            consents[name] = {
                "value": cleaned[0] if cleaned else None,
                "set_by": caller.user,
                "set_at": utcnow().isoformat(),
            }
        if cleaned:
            values[name] = cleaned
        else:
            values.pop(name, None)
    for name, field in fields.items():
        if field.required and not values.get(name) and (creating or name in incoming):
            form.setdefault(f"customFields.{name}", []).append("This field is required.")
    if form:
        raise ValidationFailed(form)
    identifiers = tuple(
        (IDENTIFIER_KINDS[fields[name].type], value, name)
        for name, vals in values.items()
        if fields[name].type in IDENTIFIER_KINDS
        for value in vals
    )
    targets = {
        name: (f.purpose or name, f.channel or consent.ALL_CHANNELS)
        for name, f in fields.items()
        if f.type == "consent"
    }
    return CleanValues(values, {k: v for k, v in consents.items() if k in fields}, identifiers, targets)


def store_custom_fields(
    session: Session, record: Any, object_type: str, clean: CleanValues, *, creating: bool = False
) -> None:
    """Puts validated values on a record (which has its key) and indexes its phones and e-mails.
    A consent field that changed appends an event to the consent ledger (hovor.forms.consent)."""
    before = {} if creating else dict(record.consents or {})
    numbers_before = {v for vals in (record.custom_fields or {}).values() for v in vals}
    record.custom_fields, record.consents = clean.values, clean.consents
    consent.from_fields(session, record, object_type, before, clean.consents, clean.consent_targets or {})
    if creating and not clean.identifiers:
        return  # a new record has no index rows to replace
    reindex(session, record.tenant_id, object_type, str(record.name), clean.identifiers, creating=creating)
    if object_type == "contacts" and not creating and {v for _, v, _ in clean.identifiers} - numbers_before:
        # A new number or address of hers may be on the suppression list: her records are checked.
        consent.changed(session, record.tenant_id, str(record.name), None, None)


def hidden_field_names(session: Session, tenant_id: str, object_type: str) -> frozenset[str]:
    return frozenset(
        session.scalars(
            select(FormField.name).where(
                FormField.tenant_id == tenant_id,
                FormField.object_type == object_type,
                FormField.hidden.is_(True),
            )
        )
    )


def hidden_fields_preparer(object_type: str) -> Any:
    """A resource ``prepare`` hook: notes, once per request, which fields the caller may not see."""

    def prepare(session: Session, ctx: Any) -> None:
        if not ctx.caller.can(Permission.CRM_FORMS_UPDATE):
            tenant_id = ctx.caller.tenant_id
            key = ("hidden", tenant_id, object_type)  # once for a whole group of creates
            ctx.cache["hidden"] = memo(
                session, key, lambda: hidden_field_names(session, tenant_id, object_type)
            )

    return prepare


def update_custom_fields(
    session: Session, caller: Caller, record: Any, object_type: str, form_name: str | None, body: Any
) -> None:
    """Merges the ``customFields`` a PUT sent (if any) into a record, checks and stores them."""
    sent = body.customFields if "customFields" in body.model_fields_set else None
    clean = validate_custom_fields(
        session,
        caller,
        object_type,
        form_name,
        sent,
        record.custom_fields,
        record.consents,
        creating=False,
        may_edit_readonly=caller.can(Permission.CRM_FORMS_UPDATE),
    )
    store_custom_fields(session, record, object_type, clean)
