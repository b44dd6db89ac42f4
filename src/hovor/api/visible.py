"""Reading what a caller may see, for the v6 routes and the console: one record (as ORM objects
for a change, or as plain objects for an answer), records by their keys, a page of a list, and the
record a write reads back for its answer. Every read here goes through the caller's rights
(:func:`hovor.core.scope.visible`); the routes that use them are built in :mod:`hovor.api.router`.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import Integer, String, Table, any_, bindparam, column, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, joinedload

from hovor.api.flat import plan_for, rows_of
from hovor.api.query import ListQuery, QueryCompiler, parse_brackets
from hovor.api.resource import REGISTRY, Ctx, Resource
from hovor.core.caller import Caller
from hovor.core.db import planner_settings
from hovor.core.errors import NotFound
from hovor.core.scope import Rights, rights_of, visible, with_rights
from hovor.index.lookup import searcher


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


def _visible_to(resource: Resource, rights: Rights) -> list[Any]:
    return visible(resource.model, with_rights(rights), resource.scope)


@lru_cache(maxsize=4096)
def _visible_where(endpoint: str, rights: Rights) -> tuple[Any, ...]:
    """:func:`hovor.core.scope.visible`'s conditions for one set of rights, built once (they are
    immutable expressions; building them cost more than a page's other conditions together)."""
    return tuple(_visible_to(REGISTRY[endpoint], rights))


@cache
def _rowid(endpoint: str) -> Any | None:
    """SQLite's own key of the resource's rows, where they have one (None otherwise): a lookup by
    it reads the table alone, where one by a record's name reads the primary key's index first (a
    page of a hundred records spread over that index touches a hundred of its pages)."""
    resource = REGISTRY[endpoint]
    if not _has_rowid(resource):
        return None
    return column("rowid", Integer, _selectable=resource.model.__table__)


def _has_rowid(resource: Resource) -> bool:
    """Whether the resource's rows have SQLite rowids to be read by: a plain table, not one made
    WITHOUT ROWID (nor a view or a join)."""
    table = resource.model.__table__
    return isinstance(table, Table) and table.dialect_options["sqlite"].get("with_rowid", True) is not False


@lru_cache(maxsize=4096)
def _by_keys(endpoint: str, rights: Rights, by_rowid: bool = False, array: bool = False) -> Any:
    """The visible records with the given keys (their names, or on SQLite their rowids), with their
    joins (see :func:`list_result`). The rights are checked again here: on PostgreSQL the keys
    were read by another statement.

    ``array`` (PostgreSQL): the keys as one array parameter (``= ANY(%s)``) rather than a parameter
    each, so that it is one statement for any number of keys, which the driver prepares and the
    server plans once (:func:`read_keys`)."""
    resource = REGISTRY[endpoint]
    key = _rowid(endpoint) if by_rowid else resource.key_column
    assert key is not None, f"{endpoint}: its rows have no rowid"
    if array:
        # Text keys as text[], not the column's varchar(64)[]: a cast to varchar(n) cuts longer
        # values short instead of refusing them.
        item = String() if isinstance(key.type, String) else key.type
        keys = key == any_(bindparam("keys", type_=ARRAY(item)))
    else:
        keys = key.in_(bindparam("keys", expanding=True))
    return plan_for(resource).base.where(*_visible_to(resource, rights)).where(keys)


@lru_cache(maxsize=4096)
def _read_statement(endpoint: str, rights: Rights) -> Any:
    """A single read for one set of rights, built once: building it (and SQLAlchemy's cache key
    for it, which is memoized on the statement object) costs more than running it."""
    resource = REGISTRY[endpoint]
    key = resource.key_column == bindparam("key")
    return plan_for(resource).base.where(*_visible_to(resource, rights)).where(key)


def read_visible(session: Session, resource: Resource, caller: Caller, raw_key: str) -> Any:
    """Like :func:`load_visible`, for serializing only: plain objects, no ORM identity (see
    hovor.api.flat)."""
    key = _key(resource, raw_key)
    stmt = _read_statement(resource.endpoint, rights_of(caller))
    found = plan_for(resource).fetch(session.connection(), stmt, {"key": key})
    if not found:
        raise NotFound("Record not found.")
    return found[0]


def read_keys(
    session: Session,
    resource: Resource,
    caller: Caller,
    keys: list[Any],
    ctx: Ctx | None = None,
    rowids: list[int] | None = None,
) -> ReadRecords:
    """The visible records among ``keys``, read as a page of a list is (one statement for the rows
    with their joins, one for what ``attach`` adds), now, in the session's transaction. Calling what
    it returns serializes them, in the keys' order, which asks the database nothing (a group of
    creates serializes its answers after it has committed: hovor.api.group). ``ctx``: the
    request's, where it was made already. ``rowids``: on SQLite, the rows' own keys, read in the
    same transaction as ``keys`` (one snapshot), to read the rows by."""
    if not keys:
        return ReadRecords(resource, [], {}, Ctx(caller))
    conn = session.connection()
    postgres = conn.dialect.name == "postgresql"
    stmt = _by_keys(resource.endpoint, rights_of(caller), rowids is not None, postgres)
    given = keys if rowids is None else rowids
    # PostgreSQL: planning this statement (its joins, and the rights' EXISTS) took 5-8 ms against
    # 0.5 ms to run it, for a page or the eight answers of a group of creates, and the server
    # planned it anew for every run: for an array parameter it never chose its generic plan. Once
    # the driver has prepared the statement (after its fifth run on a connection), the generic plan
    # is made once and kept: the keys are always found through the primary key. (SQLite: no-op.)
    with planner_settings(session, plan_cache_mode="force_generic_plan"):
        found = {obj.name: obj for obj in plan_for(resource).fetch(conn, stmt, {"keys": given})}
    made = make_ctx(session, resource, caller) if ctx is None else ctx
    if resource.attach is not None and found:
        resource.attach(session, made, list(found))
    return ReadRecords(resource, keys, found, made)


@dataclass(frozen=True)
class ReadRecords:
    """Records read by their keys (:func:`read_keys`), serialized when called."""

    resource: Resource
    keys: list[Any]
    found: dict[Any, Any]
    ctx: Ctx

    def missing(self) -> bool:
        """Whether a key was not found (or not visible to the caller)."""
        return any(k not in self.found for k in self.keys)

    def __call__(self) -> list[dict[str, Any]]:
        """Their wire shapes, in the keys' order, leaving out those not found."""
        serialize, found, ctx = self.resource.serialize, self.found, self.ctx
        return [serialize(found[k], ctx) for k in self.keys if k in found]


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
    # On the connection: nothing to flush, and Session's path cost more.
    conn = session.connection()
    sqlite = conn.dialect.name == "sqlite"
    rights = rights_of(caller)
    key = None if extra or not _reusable(query) else query.key
    if key is None:
        stmt, count = _page_statements(resource, rights, sqlite, query, extra or [])
        binds: dict[str, Any] = {}
    else:
        # A page of the same shape as an earlier one (the same fields filtered with the same
        # operators, the same order) runs the statements built for it with its own values:
        # building them took as long as running them.
        shape = (resource.endpoint, rights, sqlite, key)
        found_statements = _PAGES.get(shape)
        if found_statements is None:
            found_statements = _page_statements(resource, rights, sqlite, query, None)
            with _PAGES_LOCK:  # requests read in several threads
                while len(_PAGES) >= _PAGES_KEPT:
                    del _PAGES[next(iter(_PAGES))]  # the oldest shape first
                _PAGES[shape] = found_statements
        stmt, count = found_statements
        binds = query.parameters
    binds["skip"], binds["take"] = query.skip, query.take

    def run(statement: Any) -> list[Any]:
        if key is None:  # a statement made for this page alone: SQLAlchemy's cache compiles it
            return list(conn.execute(statement, binds).all())
        return rows_of(conn, statement, binds, processed=True)

    found = run(stmt)
    keys = [row[0] for row in found]
    rowids = [row[1] for row in found] if sqlite and _rowid(resource.endpoint) is not None else None
    total: int | None
    if found:
        total = found[0][-1]
    elif not query.skip:
        total = 0  # the first page is empty: nothing matched
    else:
        total = None
    if total is None:  # a page past the end has no row to carry the count
        total = run(count)[0][0] or 0
    rows = read_keys(session, resource, caller, keys, ctx, rowids)()
    if query.fields is not None:
        wanted = query.fields
        rows = [{k: row.get(k) for k in wanted} for row in rows]
    return {"data": rows, "total": total}


def _reusable(query: ListQuery) -> bool:
    """Whether a page's statements may be kept for its shape: not where a value is a list (``in``:
    the driver keeps a form of the statement per length of each list) nor where there are many
    values (an ``in`` of times is two per time), so that what is kept stays small."""
    values = query.values
    return len(values) <= _PAGE_VALUES and not any(isinstance(v, list) for v in values)


_PAGE_VALUES = 32
_PAGES: dict[tuple[Any, ...], tuple[Any, Any]] = {}
_PAGES_KEPT = 512  # shapes kept (per tenant and rights; about 22 KB each); the oldest go first
_PAGES_LOCK = threading.Lock()


def _page_statements(
    resource: Resource, rights: Rights, sqlite: bool, query: ListQuery, extra: list[Any] | None
) -> tuple[Any, Any]:
    """A page's statements: its keys (on SQLite with the rows' rowids) with the count of every
    match, and the count alone (for a page past the end). With ``extra`` None, every value is a
    bind parameter (:meth:`ListQuery.bound`), ``skip`` and ``take`` too, so that pages of one shape
    share them; else the values are in the statements."""
    if extra is None:
        conditions, order = query.bound()
    else:
        conditions, order = [*extra, *query.where], query.order
    where = [*_visible_where(resource.endpoint, rights), *conditions]
    # The page's keys first (a small query, index-driven), then the joins for those rows only, by a
    # statement built once per resource: joining before the limit would look up the related
    # records of every matching row, and building a hundred-column join per request costs more
    # than running it. On SQLite the keys come with the rows' rowids, which the second statement
    # reads the rows by; both run in the read's one transaction, so they see the same rows.
    rowid = _rowid(resource.endpoint) if sqlite else None
    columns = [resource.key_column, *([] if rowid is None else [rowid])]
    count = select(func.count()).select_from(resource.model).where(*where)
    if query.searched:
        # No index gives a search's order, so every match is read to order them anyway: they are
        # counted in the same pass (one statement; two read the matches twice, 19 against 11 ms
        # for 921 contacts on PostgreSQL).
        counted: Any = func.count().over()
    else:
        # The count of every match, in the same statement as the page's keys: one statement to
        # run instead of two (the databases compute an uncorrelated subquery once).
        counted = count.correlate(None).scalar_subquery()
    stmt = select(*columns, counted).where(*where).order_by(*order)
    return stmt.offset(bindparam("skip")).limit(bindparam("take")), count


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


def make_ctx(session: Session, resource: Resource, caller: Caller, key: Any = None) -> Ctx:
    """What serializing needs for this request, and for the record ``key`` when one is read."""
    ctx = Ctx(caller)
    if resource.prepare is not None:
        resource.prepare(session, ctx)
    if resource.attach is not None and key is not None:
        resource.attach(session, ctx, [key])
    return ctx


def serialize_one(session: Session, resource: Resource, caller: Caller, raw_key: str) -> dict[str, Any]:
    """The wire shape of the one record the caller may see under this key, as the read route
    answers it (404 otherwise)."""
    obj = read_visible(session, resource, caller, raw_key)
    return resource.serialize(obj, make_ctx(session, resource, caller, obj.name))


def reload(session: Session, resource: Resource, caller: Caller, obj: Any) -> dict[str, Any]:
    session.flush()
    # Re-read after the change, as a read would (references such as a contact's account show their
    # new targets), inside the same transaction: the answer is what the commit will hold.
    return serialize_one(session, resource, caller, str(obj.name))


def reload_many(session: Session, resource: Resource, caller: Caller, objs: list[Any]) -> ReadRecords:
    """:func:`reload` of several records at once, in their order: one read of them all, now, in the
    transaction; calling what it returns serializes them (:func:`read_keys`). A record the caller
    may not see is not found, as in :func:`reload`."""
    session.flush()
    read = read_keys(session, resource, caller, [_key(resource, str(obj.name)) for obj in objs])
    if read.missing():
        raise NotFound("Record not found.")
    return read
