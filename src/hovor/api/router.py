"""Builds the v6 routes of every registered resource: list, get, create, update, delete, relations.

Every route states its permission in ``openapi_extra["x-permission"]``; the authorization matrix
test reads it from there, so a route cannot be added without saying who may call it.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from enum import Enum
from functools import lru_cache
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, create_model
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, joinedload
from starlette.background import BackgroundTask

from hovor.api.changes import changed_fields, round_trip
from hovor.api.deps import (
    ADMITTED,
    AdmittedRoute,
    CurrentCaller,
    DbSession,
    ReadRoute,
    admission,
    caller_of,
    check,
    reading,
)
from hovor.api.envelope import no_content, ok
from hovor.api.flat import plan_for
from hovor.api.query import QueryCompiler, parse_brackets
from hovor.api.resource import (
    REGISTRY,
    Creator,
    Ctx,
    DeleteHooks,
    Resource,
    relations_of,
)
from hovor.audit import log as audit
from hovor.core.caller import Caller
from hovor.core.db import memoizing
from hovor.core.errors import ApiError, NotFound, ValidationFailed
from hovor.core.scope import visible
from hovor.index.lookup import searcher


def _signature(func_: Callable[..., Any], params: list[tuple[str, Any, Any]]) -> None:
    func_.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)
            for name, annotation, default in params
        ]
    )


def _admitted(resource: Resource, action: str) -> tuple[str, Any, Any]:
    """A route's permission as a dependency, decided before FastAPI validates the body (a caller
    without the right is told 403 whatever they sent)."""
    return (ADMITTED, Caller, admission(resource.perm(action)))


_BASE = [
    ("request", Request, inspect.Parameter.empty),
    ("session", DbSession, inspect.Parameter.empty),
    ("caller", CurrentCaller, inspect.Parameter.empty),
]


def _eager(resource: Resource, strategy: Any) -> list[Any]:
    options = []
    for path in resource.eager:
        option = strategy(path[0])
        for attr in path[1:]:
            option = getattr(option, strategy.__name__)(attr)
        options.append(option)
    return options


def _key(resource: Resource, raw: str) -> Any:
    if resource.key_type is int:
        try:
            key = int(raw)
        except ValueError:
            raise NotFound("Record not found.") from None
        if not 0 <= key < 2**63:  # beyond a 64-bit integer no record can have it
            raise NotFound("Record not found.")
        return key
    return raw


def load_visible(session: Session, resource: Resource, caller: Caller, raw_key: str) -> Any:
    """The one record a caller may see under this key, or 404 (also for other tenants' records)."""
    stmt = (
        select(resource.model)
        .where(*visible(resource.model, caller, resource.scope))
        .where(resource.key_column == _key(resource, raw_key))
        .options(*_eager(resource, joinedload))
    )
    obj = session.scalars(stmt).one_or_none()
    if obj is None:
        raise NotFound("Record not found.")
    return obj


def _rights(caller: Caller) -> tuple[Any, ...]:
    """What :func:`hovor.core.scope.visible` reads of a caller: the key of statements built once."""
    return (caller.tenant_id, caller.databases, caller.queues, caller.categories)


def _visible_to(resource: Resource, rights: tuple[Any, ...]) -> list[Any]:
    tenant_id, databases, queues, categories = rights
    caller = Caller(tenant_id, "", "", frozenset(), databases, "UTC", "", queues, categories)
    return visible(resource.model, caller, resource.scope)


@lru_cache(maxsize=4096)
def _by_keys(endpoint: str, rights: tuple[Any, ...]) -> Any:
    """The visible records with the given keys, with their joins (see :func:`list_result`). The
    rights are checked again here: on PostgreSQL the keys were read by another statement."""
    resource = REGISTRY[endpoint]
    keys = resource.key_column.in_(bindparam("keys", expanding=True))
    return plan_for(resource).base.where(*_visible_to(resource, rights)).where(keys)


@lru_cache(maxsize=4096)
def _read_statement(endpoint: str, rights: tuple[Any, ...]) -> Any:
    """A single read for one set of rights, built once: building it (and SQLAlchemy's cache key
    for it, which is memoized on the statement object) costs more than running it."""
    resource = REGISTRY[endpoint]
    key = resource.key_column == bindparam("key")
    return plan_for(resource).base.where(*_visible_to(resource, rights)).where(key)


def read_visible(session: Session, resource: Resource, caller: Caller, raw_key: str) -> Any:
    """Like :func:`load_visible`, for serializing only: plain objects, no ORM identity (see
    hovor.api.flat)."""
    key = _key(resource, raw_key)
    stmt = _read_statement(resource.endpoint, _rights(caller))
    found = plan_for(resource).fetch(session.connection(), stmt, {"key": key})
    if not found:
        raise NotFound("Record not found.")
    return found[0]


def serialize_keys(
    session: Session, resource: Resource, caller: Caller, keys: list[Any]
) -> list[dict[str, Any]]:
    """The wire shape of the visible records among ``keys``, in their order, read as a page of a
    list is (one statement for the rows with their joins, one for what ``attach`` adds)."""
    if not keys:
        return []
    conn = session.connection()
    stmt = _by_keys(resource.endpoint, _rights(caller))
    found = {obj.name: obj for obj in plan_for(resource).fetch(conn, stmt, {"keys": keys})}
    ctx = make_ctx(session, resource, caller)
    if resource.attach is not None and found:
        resource.attach(session, ctx, list(found))
    return [resource.serialize(found[k], ctx) for k in keys if k in found]


def list_result(
    request: Request,
    session: Session,
    caller: Caller,
    resource: Resource,
    extra: list[Any] | None = None,
    params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A page of the resource as its list route answers it. ``params``: the query (``q``, ``filter``,
    ``sort``, ``take`` …) when it does not come in the URL (the console POSTs searches: the words
    searched are personal data)."""
    settings = request.app.state.settings
    ctx = make_ctx(session, resource, caller)
    q_columns = list(resource.q_columns)
    # A caller who may not see some custom fields must not find records by their values either:
    # q then leaves the custom-field values out of its search.
    hidden = bool(ctx.cache.get("hidden"))
    if hidden:
        custom = getattr(resource.model, "custom_fields", None)
        q_columns = [c for c in q_columns if c is not custom]
    compiler = QueryCompiler(
        resource.endpoint,
        resource.fields,
        q_columns,
        caller.timezone,
        settings.default_page_size,
        settings.max_page_size,
        resource.default_order,
        [resource.key_column],
        hidden=frozenset(ctx.cache.get("hidden") or ()),
        search=searcher(resource.key_column, session, caller.tenant_id, resource.search, custom=not hidden)
        if resource.search
        else None,
    )
    strict = request.headers.get(STRICT_FIELDS, "").lower() in ("1", "true", "yes")
    given = parse_brackets(request.query_params.multi_items()) if params is None else params
    query = compiler.compile(given, strict_fields=strict)
    if query.ignored:
        request.state.ignored_fields = query.ignored
    where = [*visible(resource.model, caller, resource.scope), *(extra or []), *query.where]
    # On the connection, as the page below: nothing to flush, and Session's path cost more.
    conn = session.connection()
    total = conn.execute(select(func.count()).select_from(resource.model).where(*where)).scalar() or 0
    # The page's keys first (a small query, index-driven), then the joins for those rows only, by a
    # statement built once per resource: joining before the limit would look up the related
    # records of every matching row, and building a hundred-column join per request costs more
    # than running it.
    page = (
        select(resource.key_column).where(*where).order_by(*query.order).offset(query.skip).limit(query.take)
    )
    keys = list(conn.execute(page).scalars())
    found = {}
    if keys:
        stmt = _by_keys(resource.endpoint, _rights(caller))
        found = {obj.name: obj for obj in plan_for(resource).fetch(conn, stmt, {"keys": keys})}
    if resource.attach is not None and found:
        resource.attach(session, ctx, list(found))
    rows = [resource.serialize(found[k], ctx) for k in keys if k in found]
    if query.fields is not None:
        wanted = query.fields
        rows = [{k: row.get(k) for k in wanted} for row in rows]
    return {"data": rows, "total": total}


STRICT_FIELDS = "x-strict-fields"  # a request header: an unknown name in fields is a 400
IGNORED_FIELDS = "X-Ignored-Fields"  # a response header: the names in fields that were left out
_HEADER_SAFE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


def with_ignored(request: Request, response: Response) -> Response:
    """Says in a header which names of ``fields`` were ignored (at most 20, as sent when they are
    plain names; anything else as ``?``)."""
    ignored = getattr(request.state, "ignored_fields", None)
    if ignored:
        names = [n if _HEADER_SAFE.match(n) else "?" for n in ignored[:20]]
        response.headers[IGNORED_FIELDS] = ",".join(names)
    return response


def _extras(request: Request, resource: Resource) -> dict[str, Any]:
    return {"files": request.app.state.files} if resource.uses_files else {}


def after_shredding(request: Request, response: Response) -> Response:
    """Once the response is out, remove the objects and rows of blobs whose keys this request
    destroyed. If the process dies first, the reaper at the next start finishes the work."""
    app = request.app
    response.background = BackgroundTask(app.state.files.reap, app.state.session_factory, 1000)
    return response


def record_change(
    request: Request,
    session: Session,
    caller: Caller,
    resource: Resource,
    verb: str,
    key: Any,
    details: dict[str, Any] | None,
) -> None:
    audit.record(
        session,
        caller.tenant_id,
        f"{resource.audit}.{verb}",
        audit.actor_of(request),
        resource.endpoint,
        key,
        details,
    )


def make_ctx(session: Session, resource: Resource, caller: Caller, key: Any = None) -> Ctx:
    """What serializing needs for this request, and for the record ``key`` when one is read."""
    ctx = Ctx(caller)
    if resource.prepare is not None:
        resource.prepare(session, ctx)
    if resource.attach is not None and key is not None:
        resource.attach(session, ctx, [key])
    return ctx


def reload(session: Session, resource: Resource, caller: Caller, obj: Any) -> dict[str, Any]:
    session.flush()
    # Re-read after the change, as a read would (references such as a contact's account show their
    # new targets), inside the same transaction: the answer is what the commit will hold.
    fresh = read_visible(session, resource, caller, str(obj.name))
    return resource.serialize(fresh, make_ctx(session, resource, caller, fresh.name))


def _add_reads(router: APIRouter, resource: Resource, tag: list[str | Enum]) -> None:
    ep = resource.endpoint

    # Reads run on the event loop: a thread-pool hop costs more (about 0.4 ms here) than the few
    # indexed queries of a page or a record. Writes, uploads and exports stay in the pool.
    async def list_(request: Request) -> Any:
        def page(session: Session, caller: Caller) -> Any:
            return with_ignored(request, ok(request, list_result(request, session, caller, resource)))

        return await reading(request, resource.perm("read"), page)

    _signature(list_, _BASE[:1])
    router.add_api_route(
        f"/api/v6/{ep}.json",
        list_,
        methods=["GET"],
        tags=tag,
        name=f"{ep}.list",
        summary=f"List {ep}",
        openapi_extra={"x-permission": resource.perm("read")},
        route_class_override=ReadRoute,
    )

    async def get_(request: Request, name: str) -> Any:
        def one(session: Session, caller: Caller) -> Any:
            obj = read_visible(session, resource, caller, name)
            return ok(request, resource.serialize(obj, make_ctx(session, resource, caller, obj.name)))

        return await reading(request, resource.perm("read"), one)

    _signature(get_, [_BASE[0], ("name", str, inspect.Parameter.empty)])
    router.add_api_route(
        f"/api/v6/{ep}/{{name}}.json",
        get_,
        methods=["GET"],
        tags=tag,
        name=f"{ep}.get",
        summary=f"Read one of {ep}",
        openapi_extra={"x-permission": resource.perm("read")},
        route_class_override=ReadRoute,
    )


def reload_many(
    session: Session, resource: Resource, caller: Caller, objs: list[Any]
) -> list[dict[str, Any]]:
    """:func:`reload` of several records at once, in their order: one read of them all (see
    :func:`serialize_keys`). A record the caller may not see is not found, as in :func:`reload`."""
    session.flush()
    keys = [_key(resource, str(obj.name)) for obj in objs]
    conn = session.connection()
    stmt = _by_keys(resource.endpoint, _rights(caller))
    found = {obj.name: obj for obj in plan_for(resource).fetch(conn, stmt, {"keys": keys})}
    if len(found) != len(set(keys)):
        raise NotFound("Record not found.")
    ctx = make_ctx(session, resource, caller)
    if resource.attach is not None:
        resource.attach(session, ctx, list(found))
    return [resource.serialize(found[k], ctx) for k in keys]


def _creation(
    request: Request, caller: Caller, resource: Resource, creator: Creator, body: Any
) -> tuple[Callable[[Session], Any], Callable[[Session, Any], dict[str, Any]]]:
    """The two halves of a create: making the record (and its audit entry), and the answer read
    back inside the same transaction. (The permission was decided before the input was read.)"""
    fields = sorted(body.model_fields_set)

    def make(session: Session) -> Any:
        obj = creator(session, caller, body)
        record_change(request, session, caller, resource, "create", obj.name, {"fields": fields})
        return obj

    def answer(session: Session, obj: Any) -> dict[str, Any]:
        return reload(session, resource, caller, obj)

    return make, answer


def create_record(request: Request, session: Session, caller: Caller, resource: Resource, body: Any) -> Any:
    """``POST {endpoint}.json``'s work (the console's forms create through it too): made, audited,
    committed; its wire shape."""
    assert resource.create is not None
    make, answer = _creation(request, caller, resource, resource.create, body)
    result = answer(session, make(session))
    session.commit()
    return result


def _add_create(router: APIRouter, resource: Resource, creator: Creator, schema: type[BaseModel]) -> None:
    ep = resource.endpoint
    if resource.batch:
        # Feed-like records: creates that arrive together share a transaction (hovor.api.group).
        # The request waits on the event loop without a session of its own; only the group goes to
        # the thread pool.
        async def grouped_create(request: Request, body: Any) -> Any:
            caller = caller_of(request)
            make, answer = _creation(request, caller, resource, creator, body)
            group = request.app.state.group_commit

            def answer_many(session: Session, objs: list[Any]) -> list[dict[str, Any]]:
                return reload_many(session, resource, caller, objs)

            # Members of one caller creating the same kind of record are read back together.
            result = await group.run(caller.tenant_id, make, answer, ((ep, caller), answer_many))
            return ok(request, result, status=201)

        # The caller and the permission are the route's (AdmittedRoute), decided before the body.
        _signature(grouped_create, [_BASE[0], ("body", schema, Body())])
        create_: Callable[..., Any] = grouped_create
        route_class: type[AdmittedRoute] | None = AdmittedRoute

    else:

        def create_(request: Request, session: Session, caller: Caller, body: Any, admitted: Caller) -> Any:
            return ok(request, create_record(request, session, caller, resource, body), status=201)

        _signature(create_, [*_BASE, ("body", schema, Body()), _admitted(resource, "create")])
        route_class = None
    router.add_api_route(
        f"/api/v6/{ep}.json",
        create_,
        methods=["POST"],
        tags=[resource.title or ep],
        name=f"{ep}.create",
        status_code=201,
        summary=f"Create one of {ep}",
        openapi_extra={"x-permission": resource.perm("create")},
        route_class_override=route_class,
    )


def update_record(
    request: Request, session: Session, caller: Caller, resource: Resource, name: str, body: Any
) -> dict[str, Any]:
    """``PUT {endpoint}/{name}.json``'s work (the console's forms save through it too): the
    visible record updated, audited and committed; its new wire shape."""
    assert resource.update is not None and resource.update_schema is not None
    obj = load_visible(session, resource, caller, name)
    before = resource.serialize(obj, make_ctx(session, resource, caller, obj.name))
    if not isinstance(body, BaseModel):
        body = round_trip(resource.update_schema, body, before)
    obj = resource.update(session, caller, obj, body)
    result = reload(session, resource, caller, obj)
    # Write-only fields (a password) do not show in the record: sent means changed.
    write_only = [f for f in body.model_fields_set if f not in result and f not in before]
    changed = sorted([*changed_fields(before, result), *write_only])
    record_change(request, session, caller, resource, "update", obj.name, {"fields": changed})
    if resource.audit_also is not None:
        for action, details in resource.audit_also(before, result):
            actor = audit.actor_of(request)
            audit.record(session, caller.tenant_id, action, actor, resource.endpoint, obj.name, details)
    session.commit()
    if resource.after_change is not None:
        resource.after_change(request.app.state, obj)
    return result


def _add_update(router: APIRouter, resource: Resource, schema: type[BaseModel]) -> None:
    ep = resource.endpoint

    def update_(
        request: Request, session: Session, caller: Caller, name: str, body: Any, admitted: Caller
    ) -> Any:
        return ok(request, update_record(request, session, caller, resource, name, body))

    _signature(
        update_,
        [
            *_BASE,
            ("name", str, inspect.Parameter.empty),
            # The update's fields; failing those, any object, read back as a round trip.
            ("body", Annotated[schema | dict[str, Any], Field(union_mode="left_to_right")], Body()),
            _admitted(resource, "update"),
        ],
    )
    router.add_api_route(
        f"/api/v6/{ep}/{{name}}.json",
        update_,
        methods=["PUT"],
        tags=[resource.title or ep],
        name=f"{ep}.update",
        summary=f"Update one of {ep}",
        openapi_extra={"x-permission": resource.perm("update")},
    )


def delete_record(request: Request, session: Session, caller: Caller, resource: Resource, name: str) -> None:
    """The plain ``DELETE {endpoint}/{name}.json`` (the console's Delete buttons too), with the
    resource's guard (a legal hold refuses it); blobs are shredded: answer with :func:`after_shredding`."""
    assert resource.delete is not None
    check(caller, resource.perm("delete"))
    obj = load_visible(session, resource, caller, name)
    if resource.delete_guard is not None:
        resource.delete_guard(request, session, caller, resource.endpoint, obj)
    resource.delete(session, caller, obj, **_extras(request, resource))
    record_change(request, session, caller, resource, "delete", obj.name, None)
    session.commit()
    if resource.after_change is not None:
        resource.after_change(request.app.state, obj)


def _add_delete(router: APIRouter, resource: Resource) -> None:
    ep = resource.endpoint
    variant = resource.delete_variant

    def delete_(request: Request, session: Session, caller: Caller, name: str) -> Any:
        if variant is not None:
            answer = variant(request, session, caller, name)
            if answer is not None:
                return answer
        delete_record(request, session, caller, resource, name)
        return after_shredding(request, no_content()) if resource.uses_files else no_content()

    _signature(delete_, [*_BASE, ("name", str, inspect.Parameter.empty)])
    router.add_api_route(
        f"/api/v6/{ep}/{{name}}.json",
        delete_,
        methods=["DELETE"],
        tags=[resource.title or ep],
        name=f"{ep}.delete",
        status_code=204,
        summary=f"Delete one of {ep}",
        openapi_extra={"x-permission": resource.perm("delete")},
    )


def _add_resource_routes(router: APIRouter, resource: Resource) -> None:
    _add_reads(router, resource, [resource.title or resource.endpoint])
    if resource.create is not None and resource.create_schema is not None:
        _add_create(router, resource, resource.create, resource.create_schema)
        if resource.batch:
            _add_batch_route(router, resource, resource.create, resource.create_schema)
    if resource.update is not None and resource.update_schema is not None:
        _add_update(router, resource, resource.update_schema)
    if resource.delete is not None:
        _add_delete(router, resource)
    for relation in relations_of(resource):
        _add_relation_route(router, resource, relation.name, relation.target, relation.column)


MAX_BATCH = 1000


def _create_all(
    request: Request, session: Session, caller: Caller, resource: Resource, creator: Any, items: list[Any]
) -> list[Any]:
    created = []
    for i, item in enumerate(items):
        try:
            obj = creator(session, caller, item)
        except ApiError as exc:
            # Say which record failed; nothing of the batch is kept. A refusal that is not about
            # the record's content (403, 404, 409) keeps its status.
            if exc.status != 400:
                raise
            if exc.form is None:
                raise ValidationFailed({f"data.{i}": exc.messages}) from None
            raise ValidationFailed({f"data.{i}.{k}": v for k, v in exc.form.items()}) from None
        created.append(obj)
        fields = sorted(item.model_fields_set)
        record_change(request, session, caller, resource, "create", obj.name, {"fields": fields})
    return created


def _add_batch_route(router: APIRouter, resource: Resource, creator: Any, schema: type[BaseModel]) -> None:
    """``POST {endpoint}/batch.json`` with ``{"data": [record, ...]}``: many records in one
    transaction, all or none, each with its own audit entry. For feeds (a PBX pushing calls, a
    chat system pushing messages) that would otherwise pay a request and a commit per record."""
    ep = resource.endpoint
    batch_schema = create_model(
        f"{schema.__name__}Batch",
        __config__=ConfigDict(extra="forbid"),
        data=(list[schema], Field(min_length=1, max_length=MAX_BATCH)),  # type: ignore[valid-type]
    )

    def batch_(request: Request, session: Session, caller: Caller, body: Any, admitted: Caller) -> Any:
        with memoizing(session):
            created = _create_all(request, session, caller, resource, creator, body.data)
        keys = [obj.name for obj in created]
        session.commit()
        return ok(request, {"data": [{"name": k} for k in keys], "total": len(keys)}, status=201)

    _signature(batch_, [*_BASE, ("body", batch_schema, Body()), _admitted(resource, "create")])
    router.add_api_route(
        f"/api/v6/{ep}/batch.json",
        batch_,
        methods=["POST"],
        tags=[resource.title or ep],
        name=f"{ep}.batch",
        status_code=201,
        summary=f"Create up to {MAX_BATCH} of {ep} at once (all or none)",
        openapi_extra={"x-permission": resource.perm("create")},
    )


def _add_relation_route(router: APIRouter, parent: Resource, rel: str, target_ep: str, column: str) -> None:
    async def relation_(request: Request, session: Session, caller: Caller, name: str) -> Any:
        target = REGISTRY[target_ep]
        check(caller, parent.perm("read"))
        check(caller, target.perm("read"))
        obj = load_visible(session, parent, caller, name)
        link = getattr(target.model, column) == obj.name
        return with_ignored(request, ok(request, list_result(request, session, caller, target, [link])))

    _signature(relation_, [*_BASE, ("name", str, inspect.Parameter.empty)])
    target = REGISTRY[target_ep]
    router.add_api_route(
        f"/api/v6/{parent.endpoint}/{{name}}/{rel}.json",
        relation_,
        methods=["GET"],
        tags=list[str | Enum]([parent.title or parent.endpoint]),
        name=f"{parent.endpoint}.{rel}",
        summary=f"List the {rel} of one of {parent.endpoint}",
        openapi_extra={"x-permission": f"{parent.perm('read')} {target.perm('read')}"},
    )


def build_router(hooks: DeleteHooks | None = None) -> APIRouter:
    """The routes of every registered resource, with the delete hooks the app supplies."""
    hooks = hooks or DeleteHooks()
    router = APIRouter()
    for resource in REGISTRY.values():
        _add_resource_routes(router, hooks.bind(resource))
    return router
