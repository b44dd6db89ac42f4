"""A resource is declared once; the machinery turns it into v6 routes.

A declaration names the model, the wire fields (and which can be filtered and sorted), the rights
dimension that scopes it, its relations, its permission prefix, its input schemas and the three
service functions that change it. Listing, filtering, sorting, paging, field selection, single
reads, relation reads and the envelope are written once, in :mod:`hovor.api.router`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel
from sqlalchemy import exists
from sqlalchemy.orm import Session
from starlette.requests import Request

from hovor.api.query import QueryField
from hovor.core.caller import Caller
from hovor.core.permissions import Permission
from hovor.core.scope import DECLARED, Scope


@dataclass(frozen=True)
class Ctx:
    """What serialization needs to know about the request."""

    caller: Caller
    # Per-request facts a serializer needs (filled once by the resource's ``prepare``).
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def tz(self) -> str:
        return self.caller.timezone


@dataclass(frozen=True)
class Relation:
    """``{endpoint}/{name}/{relation}.json``: rows of ``target`` whose ``column`` holds this name."""

    name: str
    target: str
    column: str


Serializer = Callable[[Any, Ctx], dict[str, Any]]
Creator = Callable[[Session, Caller, Any], Any]
# ``create`` in two steps: what needs no database, then the rest in the record's transaction.
Drafter = Callable[[Caller, Any], Any]
Storer = Callable[[Session, Caller, Any], Any]
Updater = Callable[[Session, Caller, Any, Any], Any]
Deleter = Callable[..., None]  # (session, caller, record[, files=])
# Another meaning of DELETE chosen by the query (``contacts/{name}.json?anonymize=1`` is a GDPR
# erasure), called with (request, session, caller, key): answers the request, or returns None to let
# the plain delete go on.
DeleteVariant = Callable[[Request, Session, Caller, str], Any]
# Called before a plain delete with (request, session, caller, endpoint, record): raises to refuse
# it (a legal hold), or records it (a tombstone).
DeleteGuard = Callable[[Request, Session, Caller, str, Any], None]


@dataclass
class Resource:
    endpoint: str
    model: Any
    permission: str  # "crm:contacts" → crm:contacts:read etc.
    fields: Sequence[QueryField]
    serialize: Serializer
    title: str = ""
    create_schema: type[BaseModel] | None = None
    update_schema: type[BaseModel] | None = None
    create: Creator | None = None
    # ``create`` in two steps, for a grouped create (``batch``): ``draft(caller, body)`` does what
    # needs no database (parsing the input, building the records) on the event loop before the
    # create joins its group, so that the group's transaction (on SQLite: the one write lock) holds
    # only ``store(session, caller, draft)``, the lookups and the inserts (hovor.api.group).
    draft: tuple[Drafter, Storer] | None = None
    update: Updater | None = None
    delete: Deleter | None = None
    key_type: type = str
    # Who may see which rows: by default what the model declares (``__scope__``, hovor.core.scope).
    scope: Scope = DECLARED
    q_columns: Sequence[Any] = ()
    # The record type in the search index (hovor.index.search): ``q`` asks the index, which finds
    # substrings whatever their case and diacritics, instead of LIKE on ``q_columns``.
    search: str = ""
    relations: Sequence[Relation] = ()
    # To-one relationship paths serialization follows, e.g. (Activity.call, CallItem.recording),
    # loaded with joins in the same query: the page is read in index order and each row gets
    # primary-key lookups. ("selectin" would send composite keys as a row-value IN list, which
    # SQLite answers with a full scan.)
    eager: Sequence[tuple[Any, ...]] = ()
    # To-one records only some rows have, told by a column (an activity's channel item): read
    # after the rows, one query per kind present (hovor.api.flat.Follower).
    followers: Sequence[Any] = ()
    # Columns the serializer never shows (an activity's consents): not read for serializing, so a
    # page does not decode them.
    not_shown: Sequence[str] = ()
    default_order: Sequence[Any] = ()
    prepare: Callable[[Session, Ctx], None] | None = None
    # What the serializer shows of many related rows (a ticket's statuses), loaded for the keys of
    # a page or of one record in one query, into ``ctx.cache``.
    attach: Callable[[Session, Ctx, list[Any]], None] | None = None
    # The delete function takes the blob store as ``files=``: deleting shreds the record's blobs.
    uses_files: bool = False
    # Called with (app state, record) once an update or delete has committed.
    after_change: Callable[[Any, Any], None] | None = None
    # The object's name in the audit log (``crm.contact``): its changes are recorded as
    # ``crm.contact.create`` etc. (hovor.audit.actions lists them all).
    audit: str = ""
    # Also offer ``POST {endpoint}/batch.json`` (many records in one transaction).
    batch: bool = False
    # Further audit entries an update implies, from the record before and after (a user's new role).
    audit_also: Callable[[dict[str, Any], dict[str, Any]], list[tuple[str, dict[str, Any]]]] | None = None
    # What DELETE does besides the plain delete (see DeleteHooks): usually implemented by a layer
    # above the resource's own domain, so the app factory sets them, not the declaration.
    delete_variant: DeleteVariant | None = None
    delete_guard: DeleteGuard | None = None

    def perm(self, action: str) -> Permission:
        """The permission an action on this resource needs (a declared prefix with no such
        permission fails here, when the routes are built)."""
        return Permission(f"{self.permission}:{action}")

    @property
    def key_column(self) -> Any:
        return self.model.name


@dataclass(frozen=True)
class DeleteHooks:
    """What deletes do beyond the resource's own delete function, by endpoint, where that lives in a
    layer the resource's domain must not import (the privacy domain: legal holds, tombstones, the
    GDPR erasure of a contact). The app factory builds it and hands it to the route builder, which
    sets it on the declarations it builds routes from: who imported what first decides nothing."""

    variants: Mapping[str, DeleteVariant] = field(default_factory=dict)
    guards: Mapping[str, DeleteGuard] = field(default_factory=dict)

    def bind(self, resource: Resource) -> Resource:
        """The declaration with its delete hooks; the registered one is left as it is."""
        variant = self.variants.get(resource.endpoint, resource.delete_variant)
        guard = self.guards.get(resource.endpoint, resource.delete_guard)
        if variant is resource.delete_variant and guard is resource.delete_guard:
            return resource
        return replace(resource, delete_variant=variant, delete_guard=guard)


REGISTRY: dict[str, Resource] = {}
# Relations a domain adds to another domain's resource (contacts/{name}/tickets is declared by the
# helpdesk, which knows tickets); applied when the routes are built, whatever the import order.
EXTRA_RELATIONS: list[tuple[str, Relation]] = []


def relate(parent: str, relation: Relation) -> None:
    EXTRA_RELATIONS.append((parent, relation))


def relations_of(resource: Resource) -> list[Relation]:
    return [*resource.relations, *(r for parent, r in EXTRA_RELATIONS if parent == resource.endpoint)]


def register(resource: Resource) -> Resource:
    if resource.endpoint in REGISTRY:
        raise ValueError(f"resource {resource.endpoint} declared twice")
    names = [f.name for f in resource.fields]
    if len(names) != len(set(names)):
        raise ValueError(f"resource {resource.endpoint} declares a field twice")
    REGISTRY[resource.endpoint] = resource
    return resource


def qf(name: str, column: Any, type_: str = "str", *, filter: bool = True, sort: bool = True) -> QueryField:
    """A queryable wire field (short form for declarations)."""
    return QueryField(name, column, type_, filter, sort)


def tags_field(name: str, link: Any, owner: Any, column: str, value: str) -> QueryField:
    """A field of many values kept in the rows of ``link`` (a ticket's statuses): ``link.column``
    holds the owner's key and ``link.value`` one value. Filtered as "the record has such a value"
    (``neq`` and the other negations: "has no such value"); not sortable."""
    link_key, link_value = getattr(link, column), getattr(link, value)

    def has(condition: Any) -> Any:
        return exists().where(link.tenant_id == owner.tenant_id, link_key == owner.name, condition)

    return QueryField(name, link_value, "str", True, False, many=has)


def stamp_fields(model: Any) -> list[QueryField]:
    """The created/edited stamps every v6 record carries, as queryable fields."""
    return [
        qf("created", model.created, "datetime"),
        qf("edited", model.edited, "datetime"),
        qf("created_by", model.created_by),
        qf("edited_by", model.edited_by),
    ]
