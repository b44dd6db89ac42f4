"""What the personal-data registry says erasure does to one row, column by column.

Only columns that hold the subject's data and are not kept for a stated reason are touched:
``null`` empties a column, ``placeholder`` writes :data:`PLACEHOLDER`, ``redact_text`` keeps the
text with every identifier and the person's name taken out, ``delete_row`` and ``delete_blob``
remove the row (and shred its file). An operator's login, a queue, times and durations are not the
subject's, so they stay and statistics survive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlalchemy import Column, inspect

from hovor.core.personal_data import Erasure, Owner, classification
from hovor.privacy.redact import Redactor

PLACEHOLDER = "[erased]"


class Blank:
    """A redactor for records nobody in particular is erased from (retention): free text that
    erasure would redact is replaced whole, since whose names it holds is not known."""

    def own(self, text: str | None) -> str | None:
        return PLACEHOLDER if text else text


@dataclass
class RowChange:
    values: dict[str, Any] = field(default_factory=dict)
    fields: list[str] = field(default_factory=list)
    delete_row: bool = False
    blobs: list[str] = field(default_factory=list)


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == {} or value == []


def cleared(value: Any) -> Any:
    if isinstance(value, dict):
        return {}
    if isinstance(value, list):
        return []
    return None


def _property_key(model: Any, column: Column[Any]) -> str:
    return inspect(model).get_property_by_column(column).key


@cache
def subject_columns(model: Any) -> tuple[tuple[str, str, Erasure], ...]:
    """(attribute, ``table.column``, strategy) of every column of ``model`` that holds the subject's
    data and is not kept by a stated reason: what erasure acts on, read from the registry once."""
    out = []
    for column in model.__table__.columns:
        cls = classification(column)
        if cls is None or cls.owner is not Owner.SUBJECT or cls.erasure is Erasure.KEEP:
            continue
        out.append((_property_key(model, column), f"{model.__tablename__}.{column.name}", cls.erasure))
    return tuple(out)


def _column(model: Any, attr: str) -> Any:
    return inspect(model).attrs[attr].columns[0]


def subject_fields(obj: Any) -> list[str]:
    """``table.column`` of every column of the row that holds the subject's data (a row deleted whole)."""
    return [name for attr, name, _ in subject_columns(obj.__class__) if not is_empty(getattr(obj, attr))]


def row_change(obj: Any, redactor: Redactor | Blank) -> RowChange:
    """What erasure does to one row of the person's own records, column by column, as declared."""
    change = RowChange()
    for attr, name, erasure in subject_columns(obj.__class__):
        value = getattr(obj, attr)
        if is_empty(value):
            continue
        if erasure is Erasure.NULL:
            new = cleared(value)
        elif erasure is Erasure.PLACEHOLDER:
            new = PLACEHOLDER
        elif erasure is Erasure.REDACT_TEXT:
            new = fit(_column(obj.__class__, attr), map_text(value, redactor.own))
        else:  # DELETE_ROW, DELETE_BLOB: the row goes whole (and its blob is shredded)
            if erasure is Erasure.DELETE_BLOB:
                change.blobs.append(value)
            change.delete_row = True
            change.fields.append(name)
            continue
        if new != value:
            change.values[attr] = new
            change.fields.append(name)
    return change


def clear_row(obj: Any) -> list[str]:
    """Empties every column of the row that holds the subject's data and is not kept by a stated
    reason, whatever its erasure strategy: the DPO's delete of a conversation's content. Returns
    the names of the columns that changed."""
    changed = []
    for attr, name, _ in subject_columns(obj.__class__):
        value = getattr(obj, attr)
        if not is_empty(value):
            setattr(obj, attr, cleared(value))
            changed.append(name)
    return changed


def map_text(value: Any, fn: Any) -> Any:
    """``fn`` applied to every string in ``value``, however deep in a form's lists and maps."""
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, list):
        return [map_text(v, fn) for v in value]
    if isinstance(value, dict):
        return {k: map_text(v, fn) for k, v in value.items()}
    return value


def fit(column: Any, value: Any) -> Any:
    """A redacted text can be longer than the original (``Malá`` → ``[name]``): cut to the column."""
    length = getattr(column.type, "length", None)
    if isinstance(value, str) and length and len(value) > length:
        return value[:length]
    return value
