"""What the data protection officer's routes accept: subject searches, erasure requests, retention
policies and legal holds. Unknown fields are refused: a typo must not pass as a narrower request."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from hovor.core.validation import NoNulModel, StrictModel
from hovor.privacy.kinds import NAMES


class SubjectQuery(StrictModel):
    contact: str | None = Field(None, max_length=64)
    phone: str | None = Field(None, max_length=64)
    email: str | None = Field(None, max_length=320)
    social: str | None = Field(None, max_length=128)
    ip: str | None = Field(None, max_length=64)
    name: str | None = Field(None, max_length=511, description="given name and surname")


class ErasureRequest(NoNulModel):
    model_config = ConfigDict(extra="forbid")
    include: dict[str, list[str]] | str | None = Field(
        None,
        description='Unlinked records to erase as well, by kind as subjects.json names them, or "all" '
        "for every unlinked match the preview lists.",
    )
    suppress: bool = Field(
        False,
        description="Put the person's phone numbers and e-mail addresses on the suppression list (as "
        "keyed hashes) before they are erased, so she is never called again.",
    )


class PolicyCreate(StrictModel):
    name: str = Field(description="The kind of record: " + ", ".join(NAMES))
    days: int = Field(description="Records older than this many days are swept")
    action: str | None = Field(None, description="delete | anonymize (default: the kind's own)")


class PolicyUpdate(StrictModel):
    name: str | None = None
    days: int | None = None
    action: str | None = None


class HoldCreate(StrictModel):
    name: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    object_type: str = Field(description="contacts | tickets | activities | queues | campaignsTypes")
    object_key: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=1000)
    until: str | None = None


class HoldUpdate(StrictModel):
    name: str | None = None
    reason: str | None = Field(None, min_length=1, max_length=1000)
    until: str | None = None


RequestKind = Literal[
    "access", "portability", "erasure", "rectification", "restriction", "objection", "consent_withdrawal"
]
Via = Literal["email", "letter", "phone", "in_person", "web", "data_box", "other"]


class RequestCreate(StrictModel):
    """A subject request as it came in: what is asked, when and how, who it is (as given)."""

    kind: RequestKind
    received: str | None = Field(None, max_length=40, description="when it came (default: now)")
    received_via: Via
    contact: str | None = Field(None, max_length=64)
    phone: str | None = Field(None, max_length=64)
    email: str | None = Field(None, max_length=320)
    name: str | None = Field(None, max_length=511, description="given name and surname")
    answer_via: Via | None = None
    answer_to: str | None = Field(None, max_length=320, description="where the answer goes")


class RequestUpdate(StrictModel):
    contact: str | None = Field(None, max_length=64)
    answer_via: Via | None = None
    answer_to: str | None = Field(None, max_length=320)
    records: dict[str, list[str]] | None = Field(
        None, description="what was done for it (a rectified contact, …): record kinds to keys"
    )


class RequestVerify(StrictModel):
    method: Literal["known_contact", "id_document", "signed_letter", "data_box", "callback", "other"]


class RequestExtend(StrictModel):
    months: int = Field(ge=1, le=2, description="one or two further months (Art. 12(3))")
    reason: str = Field(min_length=1, max_length=1000)
    told: str = Field(max_length=40, description="when the person was told, within the first month")


class RequestClose(StrictModel):
    outcome: str = Field(min_length=1, max_length=1000, description="what was done, or why it was refused")


class ExportCreate(StrictModel):
    """An access or portability export of one person (GDPR Art. 15, 20)."""

    contact: str | None = Field(None, max_length=64, description="the person (default: the request's)")
    request: str | None = Field(None, max_length=64, description="the subject request it answers")
    include: Any = Field(None, description='unlinked records to include: "all" or kinds to keys')
    days: int = Field(7, ge=1, le=30, description="days the package may be downloaded")


ConsentChannel = Literal["call", "sms", "email", "chat", "all"]
ConsentSource = Literal["call", "web", "import", "email", "letter", "in_person", "other"]
ConsentPurpose = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")


class ConsentEventCreate(StrictModel):
    """One consent given or withdrawn, appended to the ledger. The person is a contact, or a
    campaign record (a number without a contact)."""

    contact: str | None = Field(None, max_length=64)
    record: str | None = Field(None, max_length=64, description="a campaign record without a contact")
    purpose: str = ConsentPurpose
    channel: ConsentChannel = "all"
    state: Literal["given", "withdrawn"]
    source: ConsentSource = "other"
    activity: str | None = Field(None, max_length=64, description="the call or chat that is the proof")
    evidence: str | None = Field(None, max_length=500, description="a reference to the proof")
    time: str | None = Field(None, max_length=40, description="when it was given or withdrawn; default now")


class WithdrawAll(StrictModel):
    """Every consent of a contact withdrawn at once (or one purpose's, or one channel's)."""

    purpose: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    channel: ConsentChannel = "all"
    source: ConsentSource = "other"
    activity: str | None = Field(None, max_length=64)
    evidence: str | None = Field(None, max_length=500)


class RequestErase(StrictModel):
    """Carrying out an erasure request: optionally with the person's identifiers on the
    suppression list first."""

    suppress: bool = False
