"""Builds the v6 routes of every registered resource: list, get, create, update, delete, relations.

Every route states its permission in ``openapi_extra["x-permission"]``; the authorization matrix
test reads it from there, so a route cannot be added without saying who may call it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, create_model
from sqlalchemy.orm import Session
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
from hovor.api.resource import (
    REGISTRY,
    Creator,
    DeleteHooks,
    Resource,
    relations_of,
)
from hovor.api.visible import (
    list_result,
    load_visible,
    make_ctx,
    reload,
    reload_many,
    serialize_one,
    with_ignored,
)
from hovor.audit import log as audit
from hovor.core.caller import Caller
from hovor.core.db import memoizing
from hovor.core.errors import ApiError, ValidationFailed


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
            return ok(request, serialize_one(session, resource, caller, name))

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
            create = creator
            if resource.draft is not None:  # its first step now, outside the group's transaction
                drafter, store = resource.draft
                draft = drafter(caller, body)

                def create(session: Session, caller: Caller, _body: Any) -> Any:
                    return store(session, caller, draft)

            make, answer = _creation(request, caller, resource, create, body)
            group = request.app.state.group_commit

            def answer_many(session: Session, objs: list[Any]) -> Callable[[], list[dict[str, Any]]]:
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
