"""Input shapes of the helpdesk."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import EmailStr, Field

from hovor.core.validation import StrictModel
from hovor.core.wire import Key, LongText, RefIn, Text255

Stage = Literal["OPEN", "WAIT", "CLOSE", "ARCHIVE"]
Priority = Literal["LOW", "MEDIUM", "HIGH"]


class CategoryCreate(StrictModel):
    name: Key | None = None
    title: Text255 = Field(min_length=1)
    sla_response: int | None = Field(None, ge=0, le=10**6)
    sla_solution: int | None = Field(None, ge=0, le=10**6)
    auto_archive_days: int | None = Field(None, ge=0, le=36500)
    sla: RefIn | None = None


class CategoryUpdate(StrictModel):
    name: Key | None = None
    title: Text255 | None = Field(None, min_length=1)
    sla_response: int | None = Field(None, ge=0, le=10**6)
    sla_solution: int | None = Field(None, ge=0, le=10**6)
    auto_archive_days: int | None = Field(None, ge=0, le=36500)
    sla: RefIn | None = None


class TicketCreate(StrictModel):
    title: str = Field(min_length=1, max_length=1000)
    category: RefIn
    user: RefIn | None = None
    contact: RefIn | None = None
    email: EmailStr | None = None
    stage: Stage = "OPEN"
    priority: Priority = "MEDIUM"
    description: LongText | None = None
    followers: list[RefIn] = Field(default_factory=list, max_length=100)
    statuses: list[RefIn] = Field(default_factory=list, max_length=50)
    customFields: dict[str, Any] | None = None


class TicketUpdate(StrictModel):
    name: int | None = None
    title: str | None = Field(None, min_length=1, max_length=1000)
    category: RefIn | None = None
    user: RefIn | None = None
    contact: RefIn | None = None
    email: EmailStr | None = None
    stage: Stage | None = None
    priority: Priority | None = None
    description: LongText | None = None
    followers: list[RefIn] | None = Field(None, max_length=100)
    statuses: list[RefIn] | None = Field(None, max_length=50)
    customFields: dict[str, Any] | None = None
    id_merge: int | None = Field(None, ge=1)
