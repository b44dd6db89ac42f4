"""The channels an activity comes through, declared once: what each is called on the wire, its
item table, the queues it goes to, and which of its columns identify the person. The activities
domain builds its routes and services from this list, and the privacy domain its resolver,
erasure, retention and the DPO's deletes, so a new channel is added here and nowhere else."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hovor.activities.models import (
    CallItem,
    EmailItem,
    FbmItem,
    IgdmItem,
    SmsItem,
    VbrItem,
    WapItem,
    WebItem,
)


@dataclass(frozen=True)
class ChannelKind:
    endpoint: str  # activitiesCall
    code: str  # Activity.type: CALL
    model: Any  # the item table
    title: str  # as retention policies and the DPO see it: "Calls"
    relation: str  # Activity's relationship to the item
    queue_types: tuple[str, ...]  # the queues it may go to
    # A thread of messages (Message rows) rather than one item.
    threaded: bool = False
    # A conversation whose content the DPO may delete on its own (a call's is its recording).
    conversation: bool = True
    # A conversation on a messaging network: its item is the sender, their profile's name (title)
    # and the direction.
    messaging: bool = False
    # The item's columns that identify the person, by kind.
    phones: tuple[Any, ...] = ()
    emails: tuple[Any, ...] = ()
    socials: tuple[Any, ...] = ()
    ips: tuple[Any, ...] = ()
    # The person's name as they typed it or their profile shows it.
    fullnames: tuple[Any, ...] = ()


def _messaging(endpoint: str, code: str, model: Any, title: str, relation: str, queue: str) -> ChannelKind:
    by_phone = model.SENDER_KIND == "phone"
    return ChannelKind(
        endpoint,
        code,
        model,
        title,
        relation,
        (queue,),
        threaded=True,
        messaging=True,
        phones=(model.sender,) if by_phone else (),
        socials=() if by_phone else (model.sender,),
        fullnames=(model.title,),
    )


KINDS: tuple[ChannelKind, ...] = (
    ChannelKind(
        "activitiesCall",
        "CALL",
        CallItem,
        "Calls",
        "call",
        ("in", "out", "progressive", "dialer"),
        conversation=False,
        phones=(CallItem.clid,),
        fullnames=(CallItem.prefix_clid_name,),
    ),
    ChannelKind(
        "activitiesEmail", "EMAIL", EmailItem, "E-mails", "email", ("email",), emails=(EmailItem.address,)
    ),
    ChannelKind(
        "activitiesWeb",
        "CHAT",
        WebItem,
        "Web chats",
        "web",
        ("chat",),
        threaded=True,
        phones=(WebItem.phone,),
        emails=(WebItem.email,),
        ips=(WebItem.ipaddress,),
        fullnames=(WebItem.title,),
    ),
    ChannelKind(
        "activitiesSms", "SMS", SmsItem, "SMS", "sms", ("sms",), threaded=True, phones=(SmsItem.sender,)
    ),
    ChannelKind(
        "activitiesFbm",
        "FBM",
        FbmItem,
        "Messenger conversations",
        "fbm",
        ("fbm",),
        threaded=True,
        messaging=True,
        socials=(FbmItem.sender,),
        fullnames=(FbmItem.title,),
    ),
    _messaging("activitiesWap", "WAP", WapItem, "WhatsApp conversations", "wap", "wap"),
    _messaging("activitiesIgdm", "IGDM", IgdmItem, "Instagram conversations", "igdm", "igdm"),
    _messaging("activitiesVbr", "VBR", VbrItem, "Viber conversations", "vbr", "vbr"),
)
BY_ENDPOINT = {k.endpoint: k for k in KINDS}
BY_CODE = {k.code: k for k in KINDS}
ENDPOINTS = tuple(k.endpoint for k in KINDS)
THREADED = tuple(k.code for k in KINDS if k.threaded)
MESSAGING = tuple(k.code for k in KINDS if k.messaging)
