"""Domain errors carry their HTTP status; one handler renders them in the v6 envelope."""

from __future__ import annotations

import math
from typing import Any


class ApiError(Exception):
    status = 400
    headers: dict[str, str] | None = None  # sent with the answer (Retry-After)

    def __init__(self, *messages: str, form: dict[str, Any] | None = None) -> None:
        super().__init__(messages[0] if messages else self.__class__.__name__)
        self.messages = list(messages)
        self.form = form

    def payload(self) -> list[str] | dict[str, Any]:
        if self.form is not None:
            return {"primary": self.messages or ["Validation failed"], "form": self.form}
        return self.messages


class BadRequest(ApiError):
    status = 400


class ValidationFailed(ApiError):
    """Input that fails a rule; ``form`` maps each field to its messages."""

    status = 400

    def __init__(self, form: dict[str, Any], message: str = "Validation failed") -> None:
        super().__init__(message, form=form)


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class PermissionRefused(Forbidden):
    """The caller's role lacks ``permission``."""

    def __init__(self, permission: str) -> None:
        super().__init__(f"Your role does not allow {permission}.")
        self.permission = permission


class TooManyRequests(ApiError):
    """Not now: the answer's Retry-After says when to try again."""

    status = 429

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.headers = retry_after_header(retry_after)


def retry_after_header(seconds: float) -> dict[str, str]:
    """Retry-After for a wait of ``seconds``: whole seconds, rounded up, at least one."""
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class HoldBlocked(Conflict):
    """A legal hold keeps what the request would change; ``hold`` names it (a key, no personal data)."""

    def __init__(self, message: str, hold: str) -> None:
        super().__init__(message)
        self.hold = hold


class SavedWithoutAnswer(ApiError):
    """The change was committed but its answer could not be made (a defect, never the input): the
    answer says so and names the record, so that a client reads it instead of sending it again."""

    status = 500


class PayloadTooLarge(ApiError):
    status = 413
