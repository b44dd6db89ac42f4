"""Input shapes of campaigns."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from hovor.core.validation import StrictModel
from hovor.core.wire import Key, LongText, RefIn, Text255

Channel = Literal["call", "sms", "email", "chat"]
Purpose = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


class RecordTypeCreate(StrictModel):
    name: Key | None = None
    title: Text255 = Field(min_length=1)
    queue: RefIn | None = None
    description: LongText | None = None
    # The consent the campaign needs (hovor.campaigns.dialling); none: no consent is asked.
    purpose: Purpose | None = None
    channel: Channel = "call"


class RecordTypeUpdate(StrictModel):
    name: Key | None = None
    title: Text255 | None = Field(None, min_length=1)
    queue: RefIn | None = None
    description: LongText | None = None
    purpose: Purpose | None = None
    channel: Channel | None = None


class RecordCreate(StrictModel):
    name: Key | None = None
    record_type: RefIn
    contact: RefIn | None = None
    user: RefIn | None = None
    number: str | None = Field(None, max_length=32)
    action: int = Field(
        1,
        ge=0,
        le=6,
        description="0 not assigned, 1 ready, 2 rescheduled by dialer, "
        "3 call in progress, 4 hangup, 5 done, 6 rescheduled",
    )
    nextcall: str | None = Field(None, max_length=40)
    customFields: dict[str, Any] | None = None


class RecordUpdate(StrictModel):
    name: Key | None = None
    contact: RefIn | None = None
    user: RefIn | None = None
    number: str | None = Field(None, max_length=32)
    action: int | None = Field(None, ge=0, le=6)
    nextcall: str | None = Field(None, max_length=40)
    customFields: dict[str, Any] | None = None


class BlacklistCreate(StrictModel):
    """A number or an e-mail address for the suppression list: read from the body (never a URL),
    normalised, and kept only as a keyed hash."""

    number: str | None = Field(None, max_length=32)
    email: str | None = Field(None, max_length=320)
