"""What an update compares: a record sent back as it was read (``round_trip``), and the names of
the fields a change touched (``changed_fields``, for the audit log; never the values)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from hovor.core.errors import ValidationFailed
from hovor.core.validation import form_from_pydantic

# Stamps change with every edit; they say nothing about what the edit was.
_STAMPS = frozenset({"edited", "edited_by", "created", "created_by"})


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Names of the wire fields whose values differ (custom fields one by one), never the values."""
    names: list[str] = []
    for key in sorted(set(before) | set(after)):
        if key in _STAMPS:
            continue
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict) and key == "customFields":
            names.extend(f"{key}.{k}" for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k))
        else:
            names.append(key)
    return names


def round_trip(schema: type[BaseModel], raw: dict[str, Any], current: dict[str, Any]) -> BaseModel:
    """A record read and sent back with PUT: a field the update does not take that carries the
    value the record has (created, edited, id_call, a recording …) is ignored, as the reference
    ignores it; one that carries another value is refused as read-only; the rest is validated as
    any update (an unknown name is refused, naming it)."""
    accepted = set(schema.model_fields) | set(getattr(schema, "ALIASES", ()))
    data: dict[str, Any] = {}
    form: dict[str, list[str]] = {}
    for key, value in raw.items():
        if key in accepted or key not in current:
            data[key] = value
        elif value != current[key]:
            form[key] = ["This field is read-only."]
    if form:
        raise ValidationFailed(form)
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(form_from_pydantic(exc.errors())) from None
