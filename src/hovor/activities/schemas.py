"""Input shapes of queues, activities and their channel items."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import ConfigDict, EmailStr, Field, IPvAnyAddress, model_validator

from hovor.core.validation import NoNulModel, StrictModel
from hovor.core.wire import Key, LongText, RefIn, Text255

QueueType = Literal["in", "out", "progressive", "dialer", "email", "sms", "chat", "fbm", "wap", "igdm", "vbr"]
Action = Literal["OPEN", "WAIT", "POSTPONE", "CLOSE"]
Seconds = int


class QueueOptions(NoNulModel):
    """Known options are checked; other v6 options are kept as given."""

    model_config = ConfigDict(extra="allow")

    record_calls: bool = True
    # Days; 0 or empty means the tenant's ceiling (enforced by the retention sweep).
    recordings_retention: int | None = Field(None, ge=0, le=36500)


class QueueCreate(StrictModel):
    name: Key
    title: Text255 = Field(min_length=1)
    type: QueueType
    options: QueueOptions = Field(default_factory=QueueOptions)
    deactivated: bool = False


class QueueUpdate(StrictModel):
    name: Key | None = None
    title: Text255 | None = Field(None, min_length=1)
    options: QueueOptions | None = None
    deactivated: bool | None = None


class ActivityFields(StrictModel):
    """The channel-neutral part every activity shares."""

    queue: RefIn | None = None
    user: RefIn | None = None
    contact: RefIn | None = None
    ticket: int | None = None
    record: RefIn | None = None
    title: str | None = Field(None, max_length=1000)
    description: LongText | None = None
    action: Action | None = None
    important: bool | None = None
    time: str | None = Field(None, max_length=40, description="YYYY-MM-DD HH:MM:SS (tenant zone) or ISO 8601")
    time_close: str | None = Field(None, max_length=40)
    duration: Seconds | None = Field(None, ge=0, le=10**7)
    customFields: dict[str, Any] | None = None


class CommentCreate(ActivityFields):
    """``POST activities.json`` makes comments (``type`` COMMENT or empty).

    Calls, e-mails, chats, SMS and Messenger conversations have their own endpoints."""

    type: Literal["COMMENT", ""] = "COMMENT"
    description: LongText = Field(min_length=1)
    statuses: list[RefIn] = Field(default_factory=list, max_length=50)


class ActivityUpdate(ActivityFields):
    name: Key | None = None
    statuses: list[RefIn] | None = Field(None, max_length=50)


# The reference's names of a call's wrapper fields, read as hovor's (the wrapper's wins).
CALL_ALIASES = {"call_time": "time", "id_queue": "queue", "id_agent": "user"}


def _call_aliases(data: Any) -> Any:
    if isinstance(data, dict) and any(k in data for k in CALL_ALIASES):
        data = dict(data)
        for alias, name in CALL_ALIASES.items():
            if alias in data:
                value = data.pop(alias)
                if isinstance(value, dict):  # a reference read back: {"name": …, "title": …}
                    value = value.get("name")
                data.setdefault(name, value)
    return data


class CallFields(ActivityFields):
    """What a call takes besides the wrapper, in both creates and updates."""

    ALIASES: ClassVar[frozenset[str]] = frozenset(CALL_ALIASES)  # taken on input, not fields

    prefix_clid_name: str | None = Field(None, max_length=255)
    disposition_cause: str | None = Field(None, max_length=64)
    disconnection_cause: str | None = Field(None, max_length=64)
    pressed_key: str | None = Field(None, max_length=32)
    missed_call_time: str | None = Field(None, max_length=40)
    missed_callback: str | None = Field(None, max_length=40)
    attempts: int | None = Field(None, ge=0, le=10**6)

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data: Any) -> Any:
        return _call_aliases(data)


class CallCreate(CallFields):
    missed_call: bool = False
    clid: str | None = Field(None, max_length=32)
    did: str | None = Field(None, max_length=32)
    direction: Literal["in", "out", "internal"]
    answered: bool = False
    waiting_time: Seconds | None = Field(None, ge=0, le=10**7)
    ringing_time: Seconds | None = Field(None, ge=0, le=10**7)
    hold_time: Seconds | None = Field(None, ge=0, le=10**7)
    disposition: str | None = Field(None, max_length=64)


class CallUpdate(CallFields):
    name: Key | None = None
    missed_call: bool | None = None
    answered: bool | None = None
    waiting_time: Seconds | None = Field(None, ge=0, le=10**7)
    ringing_time: Seconds | None = Field(None, ge=0, le=10**7)
    hold_time: Seconds | None = Field(None, ge=0, le=10**7)
    disposition: str | None = Field(None, max_length=64)


class EmailCreate(ActivityFields):
    address: EmailStr | None = None
    text: LongText | None = None
    html: str | None = Field(None, max_length=5_000_000)
    headers: dict[str, str] = Field(default_factory=dict, max_length=200)
    direction: Literal["in", "out"]
    state: Literal["SENT", "FAILED", "WAIT", "POSTPROCESSING", "DRAFT"] = "SENT"
    wait_time: Seconds | None = Field(None, ge=0, le=10**7)
    answered: bool = False


class EmailUpdate(ActivityFields):
    name: Key | None = None
    state: Literal["SENT", "FAILED", "WAIT", "POSTPROCESSING", "DRAFT"] | None = None
    wait_time: Seconds | None = Field(None, ge=0, le=10**7)
    answered: bool | None = None


class WebCreate(ActivityFields):
    email: EmailStr | None = None
    phone: str | None = Field(None, max_length=32)
    ipaddress: IPvAnyAddress | None = None
    browser: str | None = Field(None, max_length=1000)
    gdpr: bool = False
    direction: Literal["in", "out"] = "in"
    wait_time: Seconds | None = Field(None, ge=0, le=10**7)


class WebUpdate(ActivityFields):
    name: Key | None = None
    gdpr: bool | None = None
    wait_time: Seconds | None = Field(None, ge=0, le=10**7)


class SmsCreate(ActivityFields):
    sender: str = Field(max_length=32)
    direction: Literal["in", "out"]
    wait_time: Seconds | None = Field(None, ge=0, le=10**7)


class FbmCreate(ActivityFields):
    sender: str = Field(min_length=1, max_length=128)
    direction: Literal["in", "out"]
    wait_time: Seconds | None = Field(None, ge=0, le=10**7)


class WapCreate(ActivityFields):
    """A WhatsApp conversation: the sender is a phone number (normalised to E.164)."""

    sender: str = Field(min_length=1, max_length=32)
    direction: Literal["in", "out"]
    wait_time: Seconds | None = Field(None, ge=0, le=10**7)


class MessagingCreate(FbmCreate):
    """An Instagram or Viber conversation: the sender is the network's id of the person."""


class ThreadUpdate(ActivityFields):
    name: Key | None = None
    wait_time: Seconds | None = Field(None, ge=0, le=10**7)


class MessageCreate(StrictModel):
    activity: RefIn
    direction: Literal["IN", "OUT", "in", "out"]
    text: LongText = Field(min_length=1)
    time: str | None = Field(None, max_length=40)


class TranscriptCreate(StrictModel):
    activity: RefIn
    start: float = Field(ge=0, le=10**6)
    end: float = Field(ge=0, le=10**6)
    speaker: Literal["agent", "customer"]
    text: LongText = Field(min_length=1)
    confidence: float | None = Field(None, ge=0, le=1)


SessionState = Literal["Idle", "Busy", "Paused"]


class SessionCreate(StrictModel):
    """An operator signs in: ``id_agent`` is their login (the reference's name; ``name`` too)."""

    id_agent: RefIn | None = None
    name: Key | None = None
    state: SessionState = "Idle"
    id_pause: RefIn | None = None
    exten: str | None = Field(None, max_length=32)
    exten_status: str | None = Field(None, max_length=32)
    lastcalltime: str | None = Field(None, max_length=40)


class SessionUpdate(StrictModel):
    name: Key | None = None
    id_agent: RefIn | None = None
    state: SessionState | None = None
    id_pause: RefIn | None = None
    exten: str | None = Field(None, max_length=32)
    exten_status: str | None = Field(None, max_length=32)
    lastcalltime: str | None = Field(None, max_length=40)
