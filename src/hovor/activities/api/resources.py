"""The declared resources of this domain: queues, activities, every channel, messages, transcripts,
recordings and attachments (``hovor.api.router`` builds their routes)."""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from hovor.activities import channels, content, schemas, service
from hovor.activities.api.serialize import (
    serialize_activity,
    serialize_attachment,
    serialize_channel,
    serialize_message,
    serialize_queue,
    serialize_recording,
    serialize_transcript,
)
from hovor.activities.models import (
    Activity,
    ActivityStatusLink,
    Attachment,
    CallItem,
    EmailItem,
    FbmItem,
    IgdmItem,
    Message,
    Queue,
    Recording,
    ReplyTemplate,
    SmsItem,
    TranscriptSegment,
    VbrItem,
    WapItem,
    WebItem,
)
from hovor.api.catalogue import Plain, catalogue
from hovor.api.flat import Follower
from hovor.api.resource import Relation, Resource, qf, register, relate, stamp_fields, tags_field
from hovor.api.serialize import links_loader
from hovor.core.caller import Caller
from hovor.files.service import Files
from hovor.forms.service import hidden_fields_preparer

# --- declarations ------------------------------------------------------------------------------
WRAPPER_PATHS = (
    (Activity.queue_obj,),
    (Activity.user_obj,),
    (Activity.contact_obj,),
)
# An activity's channel item (and a call's recording), read after the rows for the kinds present.
CHANNEL_ITEMS = tuple(
    Follower(
        getattr(Activity, k.relation),
        Activity.type,
        k.code,
        ((CallItem.recording,),) if k.code == "CALL" else (),
    )
    for k in channels.KINDS
)

register(
    Resource(
        endpoint="queues",
        audit="activities.queue",
        title="Queues",
        model=Queue,
        permission="admin:queues",
        fields=[
            qf("name", Queue.name),
            qf("title", Queue.title),
            qf("type", Queue.type),
            qf("deactivated", Queue.deactivated, "bool"),
            qf("options", Queue.options, filter=False, sort=False),
            *stamp_fields(Queue),
        ],
        serialize=serialize_queue,
        create_schema=schemas.QueueCreate,
        update_schema=schemas.QueueUpdate,
        create=service.create_queue,
        update=service.update_queue,
        delete=service.delete_queue,
        q_columns=[Queue.name, Queue.title],
        relations=[Relation("activities", "activities", "queue")],
        default_order=[Queue.name.asc()],
    )
)

ACTIVITY_FIELDS = [
    qf("name", Activity.name),
    qf("type", Activity.type),
    qf("queue", Activity.queue),
    qf("user", Activity.user),
    qf("contact", Activity.contact),
    qf("ticket", Activity.ticket, "int"),
    qf("record", Activity.record),
    qf("title", Activity.title),
    qf("description", Activity.description),
    qf("action", Activity.action),
    qf("important", Activity.important, "bool"),
    qf("time", Activity.time, "datetime"),
    qf("time_open", Activity.time_open, "datetime"),
    qf("time_close", Activity.time_close, "datetime"),
    qf("duration", Activity.duration, "int"),
    qf("anonymized", Activity.anonymized, "bool"),
    qf("customFields", Activity.custom_fields, filter=False, sort=False),
    qf("item", Activity.name, filter=False, sort=False),
    *stamp_fields(Activity),
]

register(
    Resource(
        endpoint="activities",
        audit="activities.activity",
        title="Activities",
        model=Activity,
        permission="activities:activities",
        fields=[*ACTIVITY_FIELDS, tags_field("statuses", ActivityStatusLink, Activity, "activity", "status")],
        serialize=serialize_activity,
        create_schema=schemas.CommentCreate,
        update_schema=schemas.ActivityUpdate,
        create=service.create_comment,
        update=service.update_activity,
        delete=service.delete_activity,
        q_columns=[Activity.title, Activity.description],
        search="activities",
        relations=[
            Relation("messages", "activitiesMessages", "activity"),
            Relation("transcripts", "activitiesCallTranscripts", "activity"),
            Relation("attachments", "attachments", "activity"),
        ],
        eager=WRAPPER_PATHS,
        followers=CHANNEL_ITEMS,
        not_shown=("consents",),
        default_order=[Activity.time.desc()],
        prepare=hidden_fields_preparer("activities"),
        attach=links_loader("statuses", ActivityStatusLink, "activity", "status", "ticket_statuses"),
        uses_files=True,
    )
)


def _of_activity(model: Any, column: Any) -> Any:
    """A column of a channel item's activity, for filtering and sorting the channel on the wrapper's
    fields (time, queue, user, contact …): the item's one activity, looked up by its key."""
    return (
        select(column)
        .where(Activity.tenant_id == model.tenant_id, Activity.name == model.name)
        .correlate(model)
        .scalar_subquery()
    )


def _channel(
    endpoint: str,
    activity_type: str,
    model: Any,
    title: str,
    own_fields: list[Any],
    create_schema: Any,
    update_schema: Any,
    relations: list[Relation],
    q_columns: tuple[Any, ...] = (),
) -> None:
    create, update, delete = service.channel_functions(activity_type)

    def draft(caller: Any, body: Any) -> service.ActivityDraft:
        return service.draft_activity(caller, activity_type, body)

    loads: list[tuple[Any, ...]] = [
        (model.activity, opt) for opt in (Activity.queue_obj, Activity.user_obj, Activity.contact_obj)
    ]
    item_rel = getattr(Activity, channels.BY_CODE[activity_type].relation)
    loads.append((model.activity, item_rel))
    if activity_type == "CALL":
        loads.append((model.activity, Activity.call, CallItem.recording))
    own_names = {f.name for f in own_fields}
    wrapper = [
        qf(f.name, _of_activity(model, f.column), f.type, filter=f.filter, sort=f.sort)
        for f in ACTIVITY_FIELDS
        if f.name not in own_names and f.name not in ("name", "item")
    ]
    register(
        Resource(
            endpoint=endpoint,
            audit="activities.activity",
            title=title,
            model=model,
            permission="activities:activities",
            fields=[
                qf("name", model.name),
                *own_fields,
                *wrapper,
                qf("activities", model.name, filter=False, sort=False),
            ],
            serialize=serialize_channel,
            create_schema=create_schema,
            update_schema=update_schema,
            create=create,
            draft=(draft, service.store_channel_item),
            update=update,
            delete=delete,
            q_columns=q_columns,
            relations=relations,
            eager=loads,
            default_order=[model.name.desc()],
            prepare=hidden_fields_preparer("activities"),
            uses_files=True,
            batch=True,
        )
    )


_channel(
    "activitiesCall",
    "CALL",
    CallItem,
    "Calls",
    [
        qf("clid", CallItem.clid),
        qf("did", CallItem.did),
        qf("direction", CallItem.direction),
        qf("answered", CallItem.answered, "bool"),
        qf("waiting_time", CallItem.waiting_time, "int"),
        qf("ringing_time", CallItem.ringing_time, "int"),
        qf("hold_time", CallItem.hold_time, "int"),
        qf("duration", CallItem.duration, "int"),
        qf("disposition", CallItem.disposition),
        qf("prefix_clid_name", CallItem.prefix_clid_name),
        qf("disposition_cause", CallItem.disposition_cause),
        qf("disconnection_cause", CallItem.disconnection_cause),
        qf("pressed_key", CallItem.pressed_key),
        qf("missed_call", CallItem.missed_call, "bool"),
        qf("missed_call_time", CallItem.missed_call_time, "datetime"),
        qf("missed_callback", CallItem.missed_callback, "datetime"),
        qf("attempts", CallItem.attempts, "int"),
        # The reference's names: the key, and three wrapper fields.
        qf("id_call", CallItem.name),
        qf("call_time", _of_activity(CallItem, Activity.time), "datetime"),
        qf("id_queue", _of_activity(CallItem, Activity.queue)),
        qf("id_agent", _of_activity(CallItem, Activity.user)),
    ],
    schemas.CallCreate,
    schemas.CallUpdate,
    [Relation("transcripts", "activitiesCallTranscripts", "activity")],
    q_columns=(CallItem.clid,),
)
_channel(
    "activitiesEmail",
    "EMAIL",
    EmailItem,
    "E-mails",
    [
        qf("address", EmailItem.address),
        qf("title", EmailItem.title),
        qf("direction", EmailItem.direction),
        qf("state", EmailItem.state),
        qf("wait_time", EmailItem.wait_time, "int"),
        qf("answered", EmailItem.answered, "bool"),
    ],
    schemas.EmailCreate,
    schemas.EmailUpdate,
    [Relation("attachments", "attachments", "activity")],
    q_columns=(EmailItem.address, EmailItem.title),
)
_channel(
    "activitiesWeb",
    "CHAT",
    WebItem,
    "Web chats",
    [
        qf("title", WebItem.title),
        qf("email", WebItem.email),
        qf("phone", WebItem.phone),
        qf("ipaddress", WebItem.ipaddress),
        qf("gdpr", WebItem.gdpr, "bool"),
        qf("direction", WebItem.direction),
        qf("wait_time", WebItem.wait_time, "int"),
    ],
    schemas.WebCreate,
    schemas.WebUpdate,
    [Relation("messages", "activitiesMessages", "activity")],
    q_columns=(WebItem.title, WebItem.email, WebItem.phone),
)
_channel(
    "activitiesSms",
    "SMS",
    SmsItem,
    "SMS",
    [
        qf("sender", SmsItem.sender),
        qf("direction", SmsItem.direction),
        qf("wait_time", SmsItem.wait_time, "int"),
    ],
    schemas.SmsCreate,
    schemas.ThreadUpdate,
    [Relation("messages", "activitiesMessages", "activity")],
    q_columns=(SmsItem.sender,),
)
_channel(
    "activitiesFbm",
    "FBM",
    FbmItem,
    "Messenger",
    [
        qf("sender", FbmItem.sender),
        qf("title", FbmItem.title),
        qf("direction", FbmItem.direction),
        qf("wait_time", FbmItem.wait_time, "int"),
    ],
    schemas.FbmCreate,
    schemas.ThreadUpdate,
    [Relation("messages", "activitiesMessages", "activity")],
    q_columns=(FbmItem.sender, FbmItem.title),
)
for _code, _model, _title, _schema in (
    ("WAP", WapItem, "WhatsApp", schemas.WapCreate),
    ("IGDM", IgdmItem, "Instagram", schemas.MessagingCreate),
    ("VBR", VbrItem, "Viber", schemas.MessagingCreate),
):
    _channel(
        channels.BY_CODE[_code].endpoint,
        _code,
        _model,
        _title,
        [
            qf("sender", _model.sender),
            qf("title", _model.title),
            qf("direction", _model.direction),
            qf("wait_time", _model.wait_time, "int"),
        ],
        _schema,
        schemas.ThreadUpdate,
        [Relation("messages", "activitiesMessages", "activity")],
        q_columns=(_model.sender, _model.title),
    )

register(
    Resource(
        endpoint="activitiesMessages",
        audit="activities.message",
        title="Messages (chat, SMS, Messenger)",
        model=Message,
        permission="activities:messages",
        fields=[
            qf("name", Message.name),
            qf("activity", Message.activity),
            qf("direction", Message.direction),
            qf("text", Message.text),
            qf("time", Message.time, "datetime"),
            qf("user", Message.user),
        ],
        serialize=serialize_message,
        create_schema=schemas.MessageCreate,
        create=content.create_message,
        q_columns=[Message.text],
        default_order=[Message.time.asc()],
    )
)

register(
    Resource(
        endpoint="activitiesCallTranscripts",
        audit="activities.transcript",
        title="Call transcripts",
        model=TranscriptSegment,
        permission="activities:transcripts",
        fields=[
            qf("name", TranscriptSegment.name),
            qf("activity", TranscriptSegment.activity),
            qf("start", TranscriptSegment.start, "float"),
            qf("end", TranscriptSegment.end, "float"),
            qf("speaker", TranscriptSegment.speaker),
            qf("type", TranscriptSegment.speaker),  # the reference's name of the speaker
            qf("text", TranscriptSegment.text),
            qf("confidence", TranscriptSegment.confidence, "float"),
        ],
        serialize=serialize_transcript,
        create_schema=schemas.TranscriptCreate,
        create=content.create_transcript,
        q_columns=[TranscriptSegment.text],
        default_order=[TranscriptSegment.start.asc()],
    )
)

register(
    Resource(
        endpoint="activitiesCallRecordings",
        audit="activities.recording",
        title="Call recordings",
        model=Recording,
        permission="activities:recordings",
        fields=[
            qf("name", Recording.name),
            qf("mime", Recording.mime),
            qf("duration", Recording.duration, "float"),
            qf("size", Recording.size, "int"),
            qf("status", Recording.status),
            qf("created", Recording.created, "datetime"),
        ],
        serialize=serialize_recording,
        default_order=[Recording.created.desc()],
    )
)


def _delete_attachment(session: Session, caller: Caller, attachment: Attachment, files: Files) -> None:
    content.delete_attachment(session, caller, attachment, files)


register(
    Resource(
        endpoint="attachments",
        audit="activities.attachment",
        title="Attachments",
        model=Attachment,
        permission="activities:attachments",
        fields=[
            qf("name", Attachment.name),
            qf("title", Attachment.title),
            qf("type", Attachment.mime),
            qf("size", Attachment.size, "int"),
            qf("inline", Attachment.inline, "bool"),
            qf("ticket", Attachment.ticket, "int"),
            qf("activity", Attachment.activity),
            qf("time", Attachment.created, "datetime"),
        ],
        serialize=serialize_attachment,
        delete=_delete_attachment,
        q_columns=[Attachment.title],
        default_order=[Attachment.created.asc()],
        uses_files=True,
    )
)

relate("contacts", Relation("activities", "activities", "contact"))


catalogue(
    "templates",
    ReplyTemplate,
    title="Templates",
    permission="activities:templates",
    audit="activities.template",
    key_prefix="templates",
    fields={
        "type": Plain(Literal["email", "sms", "chat", "fbm"], default="email"),
        "subject": Plain(str | None, constraints={"max_length": 998}),
        "content": Plain(str | None, constraints={"max_length": 65535}),
        "description": Plain(str | None, constraints={"max_length": 4000}),
        "deactivated": Plain(bool, "bool", False),
    },
)
