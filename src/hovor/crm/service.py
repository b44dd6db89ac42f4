"""CRM rules: databases, accounts, contacts and their forms. Services flush, never commit."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from hovor.auth.users import forget_grant
from hovor.core.caller import Caller
from hovor.core.errors import Conflict, NotFound, ValidationFailed
from hovor.core.permissions import Permission
from hovor.core.records import (
    apply,
    catalogue_ref,
    edit_stamps,
    key_unchanged,
    new_key,
    refuse_if_restricted,
    stamp_edit,
    ticket_of,
    user_ref,
)
from hovor.core.references import clear_references, model_of
from hovor.core.scope import get_visible, may_use
from hovor.crm import schemas
from hovor.crm.models import Account, Contact, CrmRecord, CrmRecordType, Database
from hovor.forms.models import FormField
from hovor.forms.service import (
    FIELD_TYPES,
    OBJECT_TYPES,
    store_custom_fields,
    update_custom_fields,
    validate_custom_fields,
)
from hovor.index.service import unindex, unindex_field


def _database(session: Session, caller: Caller, name: str) -> Database:
    db = get_visible(session, Database, caller, name)
    if db is None or not may_use(caller, "database", name):
        raise ValidationFailed({"database": ["No such database, or your rights do not cover it."]})
    return db


# --- databases ---------------------------------------------------------------------------
def create_database(session: Session, caller: Caller, body: schemas.DatabaseCreate) -> Database:
    db = Database(
        tenant_id=caller.tenant_id,
        name=new_key(session, Database, caller.tenant_id, body.name, "databases"),
        title=body.title,
        description=body.description,
        created_by=caller.user,
    )
    session.add(db)
    session.flush()
    return db


def update_database(session: Session, caller: Caller, db: Database, body: schemas.DatabaseUpdate) -> Database:
    key_unchanged(body, db.name)
    sent = body.model_dump(exclude_unset=True, exclude={"name"})
    if "title" in sent and not sent["title"]:
        raise ValidationFailed({"title": ["A database needs a title."]})
    for key, value in sent.items():
        setattr(db, key, value)
    stamp_edit(db, caller)
    session.flush()
    return db


def delete_database(session: Session, caller: Caller, db: Database) -> None:
    for model in (Contact, Account, CrmRecordType):
        used = session.scalar(
            select(func.count())
            .select_from(model)
            .where(model.tenant_id == db.tenant_id, model.database == db.name)
        )
        if used:
            raise Conflict(
                "The database still holds contacts, accounts or kinds of CRM record; "
                "move or delete them first."
            )
    session.execute(
        delete(FormField).where(FormField.tenant_id == db.tenant_id, FormField.database == db.name)
    )
    forget_grant(session, db.tenant_id, "databases", db.name)
    session.delete(db)
    session.flush()


# --- accounts ----------------------------------------------------------------------------
def create_account(session: Session, caller: Caller, body: schemas.AccountCreate) -> Account:
    db = _database(session, caller, body.database)
    clean = validate_custom_fields(
        session,
        caller,
        "accounts",
        db.name,
        body.customFields,
        None,
        None,
        creating=True,
        may_edit_readonly=caller.can(Permission.CRM_FORMS_UPDATE),
    )
    account = Account(
        tenant_id=caller.tenant_id,
        name=new_key(session, Account, caller.tenant_id, body.name, "accounts"),
        title=body.title,
        database=db.name,
        user=user_ref(session, caller, body.user),
        sla=catalogue_ref(session, caller, "ticket_slas", body.sla, "sla"),
        description=body.description,
        custom_fields=clean.values,
        consents=clean.consents,
        created_by=caller.user,
    )
    session.add(account)
    session.flush()
    store_custom_fields(session, account, "accounts", clean, creating=True)
    return account


def update_account(
    session: Session, caller: Caller, account: Account, body: schemas.AccountUpdate
) -> Account:
    key_unchanged(body, account.name)
    sent = body.model_fields_set
    if "title" in sent:
        if not body.title:
            raise ValidationFailed({"title": ["An account needs a title."]})
        account.title = body.title
    if "database" in sent and body.database != account.database:
        if body.database is None:
            raise ValidationFailed({"database": ["An account needs a database."]})
        account.database = _database(session, caller, body.database).name
    if "user" in sent:
        account.user = user_ref(session, caller, body.user)
    if "sla" in sent:
        account.sla = catalogue_ref(session, caller, "ticket_slas", body.sla, "sla")
    if "description" in sent:
        account.description = body.description
    update_custom_fields(session, caller, account, "accounts", account.database, body)
    stamp_edit(account, caller)
    session.flush()
    return account


def delete_account(session: Session, caller: Caller, account: Account) -> None:
    # Contacts outlive their company: they lose the link, not their record.
    session.execute(
        update(Contact)
        .where(Contact.tenant_id == account.tenant_id, Contact.account == account.name)
        .values(account=None, **edit_stamps(caller))
    )
    # Its CRM records too; losing the link is not an edit of theirs (retention counts from it).
    clear_references(session, "crm_accounts", account.tenant_id, account.name, keep_edited=True)
    unindex(session, account.tenant_id, "accounts", account.name)
    session.delete(account)
    session.flush()


# --- contacts ----------------------------------------------------------------------------
def full_name(firstname: str | None, lastname: str) -> str:
    return " ".join(p for p in (firstname, lastname) if p)


def _in_database(
    session: Session, caller: Caller, field: str, model: Any, name: str | None, database: str
) -> str | None:
    """A contact or an account the caller may see, in the record's database, or a form error."""
    if name is None:
        return None
    found = get_visible(session, model, caller, name)
    if found is None:
        raise ValidationFailed({field: [f"No such {field}, or your rights do not cover it."]})
    if found.database != database:
        raise ValidationFailed({field: [f"The {field} belongs to another database."]})
    return found.name


def create_contact(session: Session, caller: Caller, body: schemas.ContactCreate) -> Contact:
    db = _database(session, caller, body.database)
    clean = validate_custom_fields(
        session,
        caller,
        "contacts",
        db.name,
        body.customFields,
        None,
        None,
        creating=True,
        may_edit_readonly=caller.can(Permission.CRM_FORMS_UPDATE),
    )
    contact = Contact(
        tenant_id=caller.tenant_id,
        name=new_key(session, Contact, caller.tenant_id, body.name, "contacts"),
        firstname=body.firstname or None,
        lastname=body.lastname,
        title=full_name(body.firstname, body.lastname),
        database=db.name,
        account=_in_database(session, caller, "account", Account, body.account, db.name),
        user=user_ref(session, caller, body.user),
        description=body.description,
        custom_fields=clean.values,
        consents=clean.consents,
        created_by=caller.user,
    )
    session.add(contact)
    session.flush()
    store_custom_fields(session, contact, "contacts", clean, creating=True)
    return contact


def update_contact(
    session: Session, caller: Caller, contact: Contact, body: schemas.ContactUpdate
) -> Contact:
    key_unchanged(body, contact.name)
    refuse_if_restricted(session, caller, contact.name)
    sent = body.model_fields_set
    if "lastname" in sent:
        if not body.lastname:
            raise ValidationFailed({"lastname": ["A contact needs a last name."]})
        contact.lastname = body.lastname
    if "firstname" in sent:
        contact.firstname = body.firstname or None
    contact.title = full_name(contact.firstname, contact.lastname)
    if "database" in sent and body.database != contact.database:
        if body.database is None:
            raise ValidationFailed({"database": ["A contact needs a database."]})
        contact.database = _database(session, caller, body.database).name
        if "account" not in sent and contact.account is not None:
            contact.account = _in_database(
                session, caller, "account", Account, contact.account, contact.database
            )
    if "account" in sent:
        contact.account = _in_database(session, caller, "account", Account, body.account, contact.database)
    if "user" in sent:
        contact.user = user_ref(session, caller, body.user)
    if "description" in sent:
        contact.description = body.description
    update_custom_fields(session, caller, contact, "contacts", contact.database, body)
    stamp_edit(contact, caller)
    session.flush()
    return contact


def delete_contact(session: Session, caller: Caller, contact: Contact) -> None:
    """Deletes the contact; its calls, tickets and campaign records stay and lose the link.

    (GDPR erasure, which also anonymizes those, is a separate operation.)"""
    # Losing the link is not an edit of the record: ``edited`` stays (retention counts a campaign
    # record's age from it, and the record did not change).
    clear_references(session, "crm_contacts", contact.tenant_id, contact.name, keep_edited=True)
    unindex(session, contact.tenant_id, "contacts", contact.name)
    session.delete(contact)
    session.flush()


# --- CRM records and their kinds ----------------------------------------------------------
def create_record_type(session: Session, caller: Caller, body: schemas.CrmRecordTypeCreate) -> CrmRecordType:
    record_type = CrmRecordType(
        tenant_id=caller.tenant_id,
        name=new_key(session, CrmRecordType, caller.tenant_id, body.name, "crmtypes"),
        title=body.title,
        database=_database(session, caller, body.database).name,
        description=body.description,
        created_by=caller.user,
    )
    session.add(record_type)
    session.flush()
    return record_type


def update_record_type(
    session: Session, caller: Caller, record_type: CrmRecordType, body: schemas.CrmRecordTypeUpdate
) -> CrmRecordType:
    key_unchanged(body, record_type.name)
    apply(record_type, body.model_dump(exclude_unset=True, exclude={"name"}), required=("title",))
    stamp_edit(record_type, caller)
    session.flush()
    return record_type


def delete_record_type(session: Session, caller: Caller, record_type: CrmRecordType) -> None:
    used = session.scalar(
        select(func.count())
        .select_from(CrmRecord)
        .where(CrmRecord.tenant_id == record_type.tenant_id, CrmRecord.type == record_type.name)
    )
    if used:
        raise Conflict("The kind of record still has records; delete them first.")
    session.delete(record_type)
    session.flush()


def _ticket(session: Session, caller: Caller, number: int | None) -> int | None:
    return None if number is None else ticket_of(session, caller, number).name


def create_record(session: Session, caller: Caller, body: schemas.CrmRecordCreate) -> CrmRecord:
    record_type = get_visible(session, CrmRecordType, caller, body.type)
    if record_type is None:
        raise ValidationFailed({"type": ["No such kind of record."]})
    database = record_type.database
    clean = validate_custom_fields(
        session,
        caller,
        "crmRecords",
        database,
        body.customFields,
        None,
        None,
        creating=True,
        may_edit_readonly=caller.can(Permission.CRM_FORMS_UPDATE),
    )
    record = CrmRecord(
        tenant_id=caller.tenant_id,
        name=new_key(session, CrmRecord, caller.tenant_id, body.name, "crmrecords"),
        type=record_type.name,
        database=database,
        title=body.title or None,
        description=body.description,
        contact=_in_database(session, caller, "contact", Contact, body.contact, database),
        account=_in_database(session, caller, "account", Account, body.account, database),
        ticket=_ticket(session, caller, body.ticket),
        user=user_ref(session, caller, body.user),
        status=catalogue_ref(session, caller, "ticket_statuses", body.status, "status"),
        stage=body.stage,
        custom_fields=clean.values,
        consents=clean.consents,
        created_by=caller.user,
    )
    session.add(record)
    session.flush()
    store_custom_fields(session, record, "crmRecords", clean, creating=True)
    return record


def update_record(
    session: Session, caller: Caller, record: CrmRecord, body: schemas.CrmRecordUpdate
) -> CrmRecord:
    key_unchanged(body, record.name)
    refuse_if_restricted(session, caller, record.contact)
    sent = body.model_fields_set
    refs = {
        "contact": lambda v: _in_database(session, caller, "contact", Contact, v, record.database),
        "account": lambda v: _in_database(session, caller, "account", Account, v, record.database),
        "ticket": lambda v: _ticket(session, caller, v),
        "user": lambda v: user_ref(session, caller, v),
        "status": lambda v: catalogue_ref(session, caller, "ticket_statuses", v, "status"),
    }
    values: dict[str, Any] = {k: check(getattr(body, k)) for k, check in refs.items() if k in sent}
    for key in ("title", "description", "stage"):
        if key in sent:
            values[key] = getattr(body, key) or None
    apply(record, values, required=("stage",))
    update_custom_fields(session, caller, record, "crmRecords", record.database, body)
    stamp_edit(record, caller)
    session.flush()
    return record


def delete_record(session: Session, caller: Caller, record: CrmRecord) -> None:
    unindex(session, record.tenant_id, "crmRecords", record.name)
    session.delete(record)
    session.flush()


# --- form fields -------------------------------------------------------------------------
def _check_field_rules(kind: str, options: list[str] | None, regex: str | None) -> None:
    form: dict[str, list[str]] = {}
    if kind not in FIELD_TYPES:
        form["type"] = [f"Use one of: {', '.join(FIELD_TYPES)}."]
    if kind in ("select", "multiselect") and not options:
        form["options"] = ["A select field needs options."]
    if regex:
        try:
            re.compile(regex)
        except re.error:
            form["regex"] = ["Not a valid regular expression."]
    if form:
        raise ValidationFailed(form)


def create_form_field(session: Session, caller: Caller, body: schemas.FormFieldCreate) -> FormField:
    _check_field_rules(body.type, body.options, body.regex)
    _check_consent_target(body.type, body.purpose, body.channel)
    form_attr = OBJECT_TYPES[body.object_type]
    for attr in ("database", "record_type"):
        if getattr(body, attr) is not None and attr != form_attr:
            raise ValidationFailed({attr: [f"Fields of {body.object_type} do not belong to a {attr}."]})
    if body.database is not None:
        _database(session, caller, body.database)
    if (
        body.record_type is not None
        and get_visible(session, model_of("record_types"), caller, body.record_type) is None
    ):
        raise ValidationFailed({"record_type": ["No such record type."]})
    if session.get(FormField, (caller.tenant_id, body.name)) is not None:
        raise Conflict("A custom field with this name exists.")
    field = FormField(tenant_id=caller.tenant_id, **body.model_dump())
    session.add(field)
    session.flush()
    return field


def _check_consent_target(kind: str, purpose: str | None, channel: str | None) -> None:
    """Only a consent field has a purpose and a channel in the consent ledger."""
    if kind != "consent":
        form = {
            k: ["Only a consent field has one."] for k, v in (("purpose", purpose), ("channel", channel)) if v
        }
        if form:
            raise ValidationFailed(form)


def _form_in_reach(session: Session, caller: Caller, field: FormField) -> None:
    """A field of a database's or a campaign's form changes only for a caller whose rights cover
    that database or the campaign's queue; to anyone else it is not there."""
    if (field.database is not None and get_visible(session, Database, caller, field.database) is None) or (
        field.record_type is not None
        and get_visible(session, model_of("record_types"), caller, field.record_type) is None
    ):
        raise NotFound("Record not found.")


def update_form_field(
    session: Session, caller: Caller, field: FormField, body: schemas.FormFieldUpdate
) -> FormField:
    _form_in_reach(session, caller, field)
    key_unchanged(body, field.name)
    sent = body.model_dump(exclude_unset=True, exclude={"name"})
    _check_field_rules(field.type, sent.get("options", field.options), sent.get("regex", field.regex))
    _check_consent_target(field.type, sent.get("purpose"), sent.get("channel"))
    for key in ("title", "required", "readonly", "hidden", "multiple", "position"):
        if key in sent and sent[key] is None:
            raise ValidationFailed({key: ["This field cannot be empty."]})
    for key, value in sent.items():
        setattr(field, key, value)
    stamp_edit(field, caller)
    session.flush()
    return field


def delete_form_field(session: Session, caller: Caller, field: FormField) -> None:
    """Deleting a field deletes its values too: data without a field would be kept for no purpose."""
    _form_in_reach(session, caller, field)
    model = _form_owner(field.object_type)
    stmt = select(model).where(model.tenant_id == field.tenant_id)
    if field.database is not None:
        stmt = stmt.where(model.database == field.database)
    if field.record_type is not None:
        stmt = stmt.where(model.record_type == field.record_type)
    for record in session.scalars(stmt.execution_options(yield_per=500)):
        if field.name in (record.custom_fields or {}) or field.name in (record.consents or {}):
            record.custom_fields = {k: v for k, v in record.custom_fields.items() if k != field.name}
            record.consents = {k: v for k, v in (record.consents or {}).items() if k != field.name}
    unindex_field(session, field.tenant_id, field.object_type, field.name)
    session.delete(field)
    session.flush()


# The records each kind of form holds the values of.
FORM_OWNERS = {
    "contacts": "crm_contacts",
    "accounts": "crm_accounts",
    "crmRecords": "crm_records",
    "records": "campaign_records",
    "tickets": "tickets",
    "activities": "activities",
}


def _form_owner(object_type: str) -> Any:
    return model_of(FORM_OWNERS[object_type])
