"""The CRM resources: databases, accounts, contacts and form fields."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hovor.api.resource import Ctx, Relation, Resource, qf, register, relate, stamp_fields
from hovor.api.serialize import contact_ref, ref, stamps, visible_custom_fields
from hovor.core.wire import to_wire
from hovor.crm import schemas, service
from hovor.crm.models import Account, Contact, CrmRecord, CrmRecordType, Database
from hovor.forms.models import FormField
from hovor.forms.service import hidden_fields_preparer


def _consents(consents: dict[str, Any] | None, ctx: Ctx) -> dict[str, Any]:
    hidden = ctx.cache.get("hidden", frozenset())
    out = {}
    for key, record in (consents or {}).items():
        if key in hidden:
            continue
        out[key] = {
            "value": record.get("value"),
            "set_by": record.get("set_by"),
            "set_at": _iso_to_wire(record.get("set_at"), ctx.tz),
        }
    return out


def _iso_to_wire(value: str | None, tz: str) -> str | None:
    if not value:
        return None

    return to_wire(dt.datetime.fromisoformat(value), tz)


def serialize_database(db: Database, ctx: Ctx) -> dict[str, Any]:
    return {"name": db.name, "title": db.title, "description": db.description, **stamps(db, ctx)}


def serialize_account(account: Account, ctx: Ctx) -> dict[str, Any]:
    return {
        "name": account.name,
        "title": account.title,
        "database": ref(account.database_obj),
        "user": ref(account.user_obj),
        "sla": ref(account.sla_obj),
        "description": account.description,
        "customFields": visible_custom_fields(account.custom_fields, ctx),
        "customFieldsConsent": _consents(account.consents, ctx),
        **stamps(account, ctx),
    }


def serialize_contact(contact: Contact, ctx: Ctx) -> dict[str, Any]:
    return {
        "name": contact.name,
        "title": contact.title,
        "firstname": contact.firstname,
        "lastname": contact.lastname,
        "database": ref(contact.database_obj),
        "account": ref(contact.account_obj),
        "user": ref(contact.user_obj),
        "description": contact.description,
        "customFields": visible_custom_fields(contact.custom_fields, ctx),
        "customFieldsConsent": _consents(contact.consents, ctx),
        # Read only: set and lifted by the DPO (contacts/{name}/restrict.json, Art. 18).
        "restricted": contact.restricted,
        **stamps(contact, ctx),
    }


def serialize_record_type(t: CrmRecordType, ctx: Ctx) -> dict[str, Any]:
    return {
        "name": t.name,
        "title": t.title,
        "database": ref(t.database_obj),
        "description": t.description,
        **stamps(t, ctx),
    }


def serialize_record(r: CrmRecord, ctx: Ctx) -> dict[str, Any]:
    return {
        "name": r.name,
        "type": ref(r.type_obj),
        "title": r.title,
        "description": r.description,
        "contact": contact_ref(r.contact_obj, ctx),
        "account": ref(r.account_obj),
        # The number, as activities give it: a ticket's title is for those who may see the ticket.
        "ticket": r.ticket,
        "user": ref(r.user_obj),
        "status": ref(r.status_obj),
        "stage": r.stage,
        "anonymized": r.anonymized,
        "customFields": visible_custom_fields(r.custom_fields, ctx),
        "customFieldsConsent": _consents(r.consents, ctx),
        **stamps(r, ctx),
    }


def serialize_form_field(field: FormField, ctx: Ctx) -> dict[str, Any]:
    return {
        "name": field.name,
        "title": field.title,
        "object_type": field.object_type,
        "database": field.database,
        "record_type": field.record_type,
        "type": field.type,
        "required": field.required,
        "readonly": field.readonly,
        "hidden": field.hidden,
        "multiple": field.multiple,
        "regex": field.regex,
        "options": field.options,
        "position": field.position,
        "purpose": field.purpose,
        "channel": field.channel,
        "created": to_wire(field.created, ctx.tz),
        "edited": to_wire(field.edited, ctx.tz),
    }


register(
    Resource(
        endpoint="databases",
        audit="crm.database",
        title="CRM databases",
        model=Database,
        permission="crm:databases",
        fields=[
            qf("name", Database.name),
            qf("title", Database.title),
            qf("description", Database.description),
            *stamp_fields(Database),
        ],
        serialize=serialize_database,
        create_schema=schemas.DatabaseCreate,
        update_schema=schemas.DatabaseUpdate,
        create=service.create_database,
        update=service.update_database,
        delete=service.delete_database,
        q_columns=[Database.title, Database.description],
        relations=[
            Relation("contacts", "contacts", "database"),
            Relation("accounts", "accounts", "database"),
        ],
        default_order=[Database.title.asc()],
    )
)

register(
    Resource(
        endpoint="accounts",
        audit="crm.account",
        title="CRM accounts",
        model=Account,
        permission="crm:accounts",
        fields=[
            qf("name", Account.name),
            qf("title", Account.title),
            qf("database", Account.database),
            qf("user", Account.user),
            qf("sla", Account.sla),
            qf("description", Account.description),
            qf("customFields", Account.custom_fields, filter=False, sort=False),
            qf("customFieldsConsent", Account.consents, filter=False, sort=False),
            *stamp_fields(Account),
        ],
        serialize=serialize_account,
        create_schema=schemas.AccountCreate,
        update_schema=schemas.AccountUpdate,
        create=service.create_account,
        update=service.update_account,
        delete=service.delete_account,
        q_columns=[Account.title, Account.description, Account.custom_fields],
        search="accounts",
        relations=[Relation("contacts", "contacts", "account")],
        eager=[(Account.database_obj,), (Account.user_obj,), (Account.sla_obj,)],
        default_order=[Account.title.asc()],
        prepare=hidden_fields_preparer("accounts"),
    )
)

register(
    Resource(
        endpoint="contacts",
        audit="crm.contact",
        title="CRM contacts",
        model=Contact,
        permission="crm:contacts",
        fields=[
            qf("name", Contact.name),
            qf("title", Contact.title),
            qf("firstname", Contact.firstname),
            qf("lastname", Contact.lastname),
            qf("database", Contact.database),
            qf("account", Contact.account),
            qf("user", Contact.user),
            qf("description", Contact.description),
            qf("customFields", Contact.custom_fields, filter=False, sort=False),
            qf("customFieldsConsent", Contact.consents, filter=False, sort=False),
            qf("restricted", Contact.restricted, "bool"),
            *stamp_fields(Contact),
        ],
        serialize=serialize_contact,
        create_schema=schemas.ContactCreate,
        update_schema=schemas.ContactUpdate,
        create=service.create_contact,
        update=service.update_contact,
        delete=service.delete_contact,
        q_columns=[Contact.title, Contact.description, Contact.custom_fields],
        search="contacts",
        eager=[
            (Contact.database_obj,),
            (Contact.account_obj,),
            (Contact.user_obj,),
        ],
        default_order=[Contact.lastname.asc(), Contact.firstname.asc().nulls_last()],
        prepare=hidden_fields_preparer("contacts"),
    )
)

register(
    Resource(
        endpoint="crmRecordTypes",
        audit="crm.record_type",
        title="Kinds of CRM record",
        model=CrmRecordType,
        permission="crm:recordTypes",
        fields=[
            qf("name", CrmRecordType.name),
            qf("title", CrmRecordType.title),
            qf("database", CrmRecordType.database),
            qf("description", CrmRecordType.description),
            *stamp_fields(CrmRecordType),
        ],
        serialize=serialize_record_type,
        create_schema=schemas.CrmRecordTypeCreate,
        update_schema=schemas.CrmRecordTypeUpdate,
        create=service.create_record_type,
        update=service.update_record_type,
        delete=service.delete_record_type,
        q_columns=[CrmRecordType.title],
        relations=[Relation("records", "crmRecords", "type")],
        eager=[(CrmRecordType.database_obj,)],
        default_order=[CrmRecordType.title.asc()],
    )
)

register(
    Resource(
        endpoint="crmRecords",
        audit="crm.record",
        title="CRM records (deals and other records)",
        model=CrmRecord,
        permission="crm:records",
        fields=[
            qf("name", CrmRecord.name),
            qf("type", CrmRecord.type),
            qf("database", CrmRecord.database),
            qf("title", CrmRecord.title),
            qf("description", CrmRecord.description),
            qf("contact", CrmRecord.contact),
            qf("account", CrmRecord.account),
            qf("ticket", CrmRecord.ticket, "int"),
            qf("user", CrmRecord.user),
            qf("status", CrmRecord.status),
            qf("stage", CrmRecord.stage),
            qf("anonymized", CrmRecord.anonymized, "bool"),
            qf("customFields", CrmRecord.custom_fields, filter=False, sort=False),
            qf("customFieldsConsent", CrmRecord.consents, filter=False, sort=False),
            *stamp_fields(CrmRecord),
        ],
        serialize=serialize_record,
        create_schema=schemas.CrmRecordCreate,
        update_schema=schemas.CrmRecordUpdate,
        create=service.create_record,
        update=service.update_record,
        delete=service.delete_record,
        q_columns=[CrmRecord.title, CrmRecord.description, CrmRecord.custom_fields],
        eager=[
            (CrmRecord.type_obj,),
            (CrmRecord.contact_obj,),
            (CrmRecord.account_obj,),
            (CrmRecord.status_obj,),
            (CrmRecord.user_obj,),
        ],
        default_order=[CrmRecord.created.desc()],
        prepare=hidden_fields_preparer("crmRecords"),
    )
)

relate("contacts", Relation("crmRecords", "crmRecords", "contact"))
relate("accounts", Relation("crmRecords", "crmRecords", "account"))

register(
    Resource(
        endpoint="formFields",
        audit="crm.form_field",
        title="Form fields (custom fields)",
        model=FormField,
        permission="crm:forms",
        fields=[
            qf("name", FormField.name),
            qf("title", FormField.title),
            qf("object_type", FormField.object_type),
            qf("database", FormField.database),
            qf("record_type", FormField.record_type),
            qf("type", FormField.type),
            qf("required", FormField.required, "bool"),
            qf("readonly", FormField.readonly, "bool"),
            qf("hidden", FormField.hidden, "bool"),
            qf("multiple", FormField.multiple, "bool"),
            qf("position", FormField.position, "int"),
            qf("regex", FormField.regex, filter=False, sort=False),
            qf("options", FormField.options, filter=False, sort=False),
            qf("created", FormField.created, "datetime"),
            qf("edited", FormField.edited, "datetime"),
        ],
        serialize=serialize_form_field,
        create_schema=schemas.FormFieldCreate,
        update_schema=schemas.FormFieldUpdate,
        create=service.create_form_field,
        update=service.update_form_field,
        delete=service.delete_form_field,
        q_columns=[FormField.name, FormField.title],
        default_order=[FormField.object_type.asc(), FormField.position.asc()],
    )
)
