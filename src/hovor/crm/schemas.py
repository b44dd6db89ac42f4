"""Input shapes of the CRM. Unknown fields are refused; read-only fields say so."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from hovor.core.validation import StrictModel
from hovor.core.wire import Key, LongText, RefIn, Text255

# Shapes are checked against the form in hovor.forms.service, with messages per field.
CustomFieldsIn = dict[str, Any]
ConsentPurpose = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
ConsentChannel = Literal["call", "sms", "email", "chat"]


class DatabaseCreate(StrictModel):
    name: Key | None = None
    title: Text255 = Field(min_length=1)
    description: LongText | None = None


class DatabaseUpdate(StrictModel):
    name: Key | None = None
    title: Text255 | None = Field(None, min_length=1)
    description: LongText | None = None


class AccountCreate(StrictModel):
    name: Key | None = None
    title: Text255 = Field(min_length=1)
    database: RefIn
    user: RefIn | None = None
    sla: RefIn | None = None
    description: LongText | None = None
    customFields: CustomFieldsIn | None = None


class AccountUpdate(StrictModel):
    name: Key | None = None
    title: Text255 | None = Field(None, min_length=1)
    database: RefIn | None = None
    user: RefIn | None = None
    sla: RefIn | None = None
    description: LongText | None = None
    customFields: CustomFieldsIn | None = None


class ContactCreate(StrictModel):
    name: Key | None = None
    firstname: Text255 | None = None
    lastname: Text255 = Field(min_length=1)
    database: RefIn
    account: RefIn | None = None
    user: RefIn | None = None
    description: LongText | None = None
    customFields: CustomFieldsIn | None = None


class ContactUpdate(StrictModel):
    name: Key | None = None
    firstname: Text255 | None = None
    lastname: Text255 | None = Field(None, min_length=1)
    database: RefIn | None = None
    account: RefIn | None = None
    user: RefIn | None = None
    description: LongText | None = None
    customFields: CustomFieldsIn | None = None


class FormFieldCreate(StrictModel):
    name: Key
    title: Text255 = Field(min_length=1)
    object_type: str = Field(pattern=r"^(contacts|accounts|crmRecords|tickets|records|activities)$")
    database: RefIn | None = None
    record_type: RefIn | None = None
    type: str
    required: bool = False
    readonly: bool = False
    hidden: bool = False
    multiple: bool = False
    regex: str | None = Field(None, max_length=500)
    options: list[Text255] | None = Field(None, max_length=500)
    position: int = Field(0, ge=0, le=100000)
    # A consent field's purpose (default: its name) and channel (default: every channel).
    purpose: ConsentPurpose | None = None
    channel: ConsentChannel | None = None


class FormFieldUpdate(StrictModel):
    name: Key | None = None
    title: Text255 | None = Field(None, min_length=1)
    required: bool | None = None
    readonly: bool | None = None
    hidden: bool | None = None
    multiple: bool | None = None
    regex: str | None = Field(None, max_length=500)
    options: list[Text255] | None = Field(None, max_length=500)
    position: int | None = Field(None, ge=0, le=100000)
    purpose: ConsentPurpose | None = None
    channel: ConsentChannel | None = None


class CrmRecordTypeCreate(StrictModel):
    name: Key | None = None
    title: Text255 = Field(min_length=1)
    database: RefIn
    description: LongText | None = None


class CrmRecordTypeUpdate(StrictModel):
    name: Key | None = None
    title: Text255 | None = Field(None, min_length=1)
    description: LongText | None = None


Stage = Literal["OPEN", "CLOSE"]


class CrmRecordCreate(StrictModel):
    name: Key | None = None
    type: RefIn
    title: Text255 | None = None
    description: LongText | None = None
    contact: RefIn | None = None
    account: RefIn | None = None
    ticket: int | None = Field(None, ge=1)
    user: RefIn | None = None
    status: RefIn | None = None
    stage: Stage = "OPEN"
    customFields: CustomFieldsIn | None = None


class CrmRecordUpdate(StrictModel):
    name: Key | None = None
    title: Text255 | None = None
    description: LongText | None = None
    contact: RefIn | None = None
    account: RefIn | None = None
    ticket: int | None = Field(None, ge=1)
    user: RefIn | None = None
    status: RefIn | None = None
    stage: Stage | None = None
    customFields: CustomFieldsIn | None = None
