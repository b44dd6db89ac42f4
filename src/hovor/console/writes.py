"""What the console's forms share when they change records: the API's own create and update in a
unit of work of their own, and the API's validation messages by field (for the form to show each
beside its field), or the one message of a refusal."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import Request
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from hovor.api.deps import write_session
from hovor.api.resource import REGISTRY
from hovor.api.router import create_record, update_record
from hovor.core.caller import Caller
from hovor.core.errors import ApiError, ValidationFailed
from hovor.core.validation import form_from_pydantic


def digits(value: str) -> bool:
    """Only the digits 0-9: ``str.isdigit`` also takes "²" and other digits ``int`` refuses."""
    return value.isascii() and value.isdigit()


@contextmanager
def unit(request: Request) -> Iterator[Session]:
    """A unit of work set up as a request's (``write_session``: the audit log required): what it
    did and did not commit is rolled back on any failure, and it is closed."""
    session = write_session(request.app.state)
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def create(request: Request, caller: Caller, endpoint: str, body: BaseModel) -> str:
    """``POST {endpoint}.json``'s work; the new record's key."""
    with unit(request) as session:
        return str(create_record(request, session, caller, REGISTRY[endpoint], body)["name"])


def update(request: Request, caller: Caller, endpoint: str, name: str, body: BaseModel) -> None:
    """``PUT {endpoint}/{name}.json``'s work."""
    with unit(request) as session:
        update_record(request, session, caller, REGISTRY[endpoint], name, body)


def field_messages(failed: ValidationFailed | ValidationError) -> dict[str, list[str]]:
    """The API's messages by field: its schema's (as the API words them) or its service's."""
    if isinstance(failed, ValidationError):
        return form_from_pydantic(failed.errors())
    return {str(k): [str(m) for m in v] for k, v in (failed.form or {}).items()}


def reason(refused: ApiError) -> str:
    """A refusal's message as the API gives it; for a form error, its fields' messages."""
    if isinstance(refused, ValidationFailed) and refused.form:
        return " ".join(str(m) for messages in refused.form.values() for m in messages)
    return refused.messages[0] if refused.messages else ""
