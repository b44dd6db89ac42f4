"""Catalogues: the small named lists a contact centre configures (ticket statuses, user groups,
pause types, reply templates). Each is a table of ``name``, ``title``, its own plain fields and the
stamps; it is declared once here, from its model and the fields it takes, and gets the same routes,
query language, audit and round trips as every other resource.

A field is ``Plain(type, constraints…)``: the input type (with pydantic's ``Field`` constraints),
and how the query language sees it (``str``, ``int``, ``bool``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field, create_model

from hovor.api.resource import Ctx, Resource, qf, register, stamp_fields
from hovor.api.serialize import ref, stamps
from hovor.core.records import plain_functions
from hovor.core.validation import StrictModel
from hovor.core.wire import Key, RefIn, Text255


@dataclass(frozen=True)
class Plain:
    type: Any
    query: str = "str"  # how filters compare it: str, int, bool
    default: Any = None
    constraints: dict[str, Any] = field(default_factory=dict)
    # The table of the record this field names (the model has a ``<field>_obj`` relationship to
    # it): checked on input, shown as ``{"name", "title"}`` on read like every reference.
    ref: str | None = None


def catalogue(
    endpoint: str,
    model: Any,
    *,
    title: str,
    permission: str,
    audit: str,
    fields: dict[str, Plain],
    key_prefix: str,
    q_columns: Sequence[Any] = (),
) -> Resource:
    """Declares the resource of a catalogue ``model`` whose columns are named as ``fields``."""
    create_fields: dict[str, Any] = {
        "name": (Key | None, None),
        "title": (Text255, Field(min_length=1)),
    }
    update_fields: dict[str, Any] = {
        "name": (Key | None, None),
        "title": (Text255 | None, Field(None, min_length=1)),
    }
    for name, plain in fields.items():
        kind = RefIn | None if plain.ref else plain.type  # a reference read back is taken by its name
        create_fields[name] = (kind, Field(plain.default, **plain.constraints))
        update_fields[name] = (kind | None, Field(None, **plain.constraints))
    model_name = endpoint[0].upper() + endpoint[1:]
    create_schema = create_model(f"{model_name}Create", __base__=StrictModel, **create_fields)
    update_schema = create_model(f"{model_name}Update", __base__=StrictModel, **update_fields)
    required = ("title", *(n for n, p in fields.items() if p.default is not None))

    refs = {name: p.ref for name, p in fields.items() if p.ref}

    def serialize(obj: Any, ctx: Ctx) -> dict[str, Any]:
        return {
            "name": obj.name,
            "title": obj.title,
            **{
                name: ref(getattr(obj, f"{name}_obj")) if name in refs else getattr(obj, name)
                for name in fields
            },
            **stamps(obj, ctx),
        }

    create, update, delete = plain_functions(model, key_prefix, required, refs)
    return register(
        Resource(
            endpoint=endpoint,
            audit=audit,
            title=title,
            model=model,
            permission=permission,
            fields=[
                qf("name", model.name),
                qf("title", model.title),
                *(qf(n, getattr(model, n), p.query) for n, p in fields.items()),
                *stamp_fields(model),
            ],
            serialize=serialize,
            create_schema=create_schema,
            update_schema=update_schema,
            create=create,
            update=update,
            delete=delete,
            q_columns=q_columns or [model.name, model.title],
            default_order=[model.title.asc()],
            eager=[(getattr(model, f"{name}_obj"),) for name in refs],
        )
    )
