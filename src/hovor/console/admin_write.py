"""What the administrator's forms share: a form's fields validated by the API route's own schema,
the record created or updated through the API's own create and update (:mod:`hovor.console.writes`:
the same service, audit entry and row scoping), and the API's refusal as the page shows it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from hovor.api.resource import REGISTRY
from hovor.console import writes
from hovor.core.caller import Caller
from hovor.core.errors import ApiError, NotFound, ValidationFailed


def text(form: Any, name: str, limit: int = 255) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def optional(form: Any, name: str, limit: int = 255) -> str | None:
    return text(form, name, limit) or None


@dataclass
class Refusal:
    """The API's answer to a refused change: its messages, field by field where it names fields."""

    messages: list[str] = field(default_factory=list)
    fields: dict[str, list[str]] = field(default_factory=dict)
    status: int = 400

    @property
    def message(self) -> str:
        flat = [m for ms in self.fields.values() for m in ms]
        return "; ".join(flat) if flat else "; ".join(self.messages)


def refusal_of(error: ApiError) -> Refusal:
    fields = {k: [str(m) for m in v] for k, v in (error.form or {}).items()}
    return Refusal(list(error.messages), fields, error.status)


def _validated(endpoint: str, action: str, body: dict[str, Any]) -> Any:
    """The body as the API route's schema reads it (FastAPI validates the JSON body the same way)."""
    resource = REGISTRY[endpoint]
    schema = resource.create_schema if action == "create" else resource.update_schema
    assert schema is not None
    try:
        return schema.model_validate(body)
    except ValidationError as exc:
        raise ValidationFailed(writes.field_messages(exc)) from None


def _write(request: Request, caller: Caller, endpoint: str, name: str | None, body: dict[str, Any]) -> Any:
    if name is None:
        return {"name": writes.create(request, caller, endpoint, _validated(endpoint, "create", body))}
    writes.update(request, caller, endpoint, name, _validated(endpoint, "update", body))
    return {"name": name}


async def save(
    request: Request, caller: Caller, endpoint: str, name: str | None, body: dict[str, Any]
) -> tuple[dict[str, Any] | None, Refusal | None]:
    """Creates (``name`` None) or updates a record as the API's POST or PUT does; the record's key,
    or the API's refusal. A record the caller does not see raises NotFound, as the API's 404."""
    try:
        return await run_in_threadpool(_write, request, caller, endpoint, name, body), None
    except NotFound:
        raise
    except ApiError as refused:
        return None, refusal_of(refused)
