"""Input shapes of campaigns."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from hovor.core.validation import StrictModel
from hovor.core.wire import Key, LongText, RefIn, Text255


class RecordTypeCreate(StrictModel):
    name: Key | None = None
    title: Text255 = Field(min_length=1)
    queue: RefIn | None = None
    description: LongText | None = None


class RecordTypeUpdate(StrictModel):
    name: Key | None = None
    title: Text255 | None = Field(None, min_length=1)
    queue: RefIn | None = None
    description: LongText | None = None


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
