"""Turns input-validation failures into the v6 form-error shape, without echoing input values."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from hovor.core.errors import ValidationFailed

_TYPE_TAG = re.compile(r"[\[\]]|^(constrained-)?(str|int|float|bool|list|dict|none)$|-")

MESSAGES = {
    "extra_forbidden": "Unknown field.",
    "missing": "This field is required.",
    "json_invalid": "Malformed JSON.",
    "model_attributes_type": "The body must be a JSON object.",
    "dict_type": "Must be an object.",
    "list_type": "Must be a list.",
    "string_type": "Must be text.",
    "int_type": "Must be a whole number.",
    "int_parsing": "Must be a whole number.",
    "bool_type": "Must be true or false.",
    "bool_parsing": "Must be true or false.",
    "string_too_long": "Too long.",
    "string_too_short": "Too short.",
    "too_long": "Too many items.",
    "string_pattern_mismatch": "Contains characters that are not allowed here.",
    "value_error": "Not a valid value.",
}


# Fields a record shows but nobody writes; sending one says so instead of "unknown".
READ_ONLY = frozenset(
    {"title", "created", "edited", "created_by", "edited_by", "last_login", "builtin", "consents"}
)


def form_from_pydantic(errors: Sequence[Any]) -> dict[str, list[str]]:
    form: dict[str, list[str]] = {}
    for err in errors:
        # Union members show up in the location as type tags ("list[str]", "constrained-str"); a
        # caller only needs the field path.
        loc = [str(p) for p in err.get("loc", ()) if p != "body" and not _TYPE_TAG.search(str(p))]
        key = ".".join(loc) or "body"
        kind = err.get("type", "")
        if kind == "json_invalid":
            key = "body"
        message = MESSAGES.get(kind)
        if message is None:
            # Pydantic's own messages state the rule (lengths, formats), never the input value.
            message = str(err.get("msg", "Not valid."))
        if kind == "value_error" and "email" in str(err.get("msg", "")):
            message = "Not a valid e-mail address."
        if kind == "extra_forbidden" and key in READ_ONLY:
            message = "This field is read-only."
        if kind == "missing" and key == "body":
            message = "A JSON object body is required."
        form.setdefault(key, []).append(message)
    return form


def parse_as(model: Any, body: dict[str, Any] | None) -> Any:
    """A route's JSON body (none: empty) as ``model``; what does not fit is a 400 naming its fields."""
    try:
        return model.model_validate(body or {})
    except ValidationError as exc:
        raise ValidationFailed(form_from_pydantic(exc.errors())) from None


INT64 = 2**63


def _unstorable(value: Any) -> str | None:
    """What in a request body no database here may receive as given, in one walk: text with a
    NUL character (PostgreSQL cannot store it), or a number JSON does not have (NaN, the
    infinities, integers beyond 64 bits: Python's parser takes them, and free-form fields such as
    a queue's extra options would keep them as given)."""
    if isinstance(value, str):
        return "nul" if "\x00" in value else None
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else "number"
    if isinstance(value, int):
        return None if -INT64 <= value < INT64 else "number"
    if isinstance(value, dict):
        for k, v in value.items():
            found = _unstorable(k) or _unstorable(v)
            if found:
                return found
    elif isinstance(value, (list, tuple)):
        for v in value:
            found = _unstorable(v)
            if found:
                return found
    return None


class NoNulModel(BaseModel):
    """A request body whose text may not hold NUL characters and whose numbers are plain JSON
    numbers: PostgreSQL cannot store NUL, and both databases must answer the same input the same
    way."""

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        found = _unstorable(data)
        if found == "nul":
            raise PydanticCustomError("nul_character", "Text may not contain NUL characters.")
        if found == "number":
            raise PydanticCustomError(
                "unportable_number", "Numbers must be finite and fit in 64 bits (no NaN or Infinity)."
            )
        return data


class StrictModel(NoNulModel):
    """The body of a create or an update: unknown fields are refused (a misspelt field must not be
    dropped silently) and text is stripped of surrounding whitespace."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
