"""Reads for serialization without ORM identity: one joined query, plain attribute objects.

A list page or a single read needs a record and the few related records its serializer shows (a
call's queue, operator, contact and recording). Loading them as ORM objects costs far more than
the query itself: every object is tracked, keyed in the identity map and instrumented, which is
what a unit of work needs and a read does not. Here the same joins select plain columns, and each
row becomes small attribute objects shaped like the ORM objects (``activity.call.recording.name``),
so the resource's one serializer serves both paths. Writes keep using the ORM.

The plan (the joins and column labels) is built once per resource from its ``eager`` paths.

A one-to-one record that only some rows have, told by a column of the row (an activity's channel
item: a call has a call item, an e-mail an e-mail item), is a *follower*: read after the rows by
their keys, one query per kind present among them, instead of an outer join per kind on every
row. A page of calls then reads the calls' items and nothing of the twelve other channels (the
joined form read 111 columns a row and probed every channel's table for every row; on SQLite the
split reads of a page take about 70 % of its CPU time on the medium tenant).
"""

from __future__ import annotations

import keyword
import sqlite3
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from operator import attrgetter
from typing import Any

from sqlalchemy import Connection, Select, bindparam, inspect, select
from sqlalchemy.exc import DBAPIError, InvalidRequestError
from sqlalchemy.orm import aliased

from hovor.core.db import UTCDateTime

# A relationship named ``*_obj`` is a reference (a contact's account, an activity's queue): its
# serializers show ``{"name", "title"}`` (and a contact's database decides whether its name shows),
# so only those columns are read; never, say, a user's password hash.
REFERENCE_SUFFIX = "_obj"
REFERENCE_COLUMNS = frozenset({"tenant_id", "name", "title", "database"})


@dataclass(frozen=True)
class Follower:
    """``relation`` (a to-one relationship of the root, e.g. ``Activity.call``) is loaded for the
    rows whose ``discriminator`` column (``Activity.type``) holds ``value`` (``"CALL"``), with the
    to-one ``paths`` below it (``(CallItem.recording,)``) joined; ``None`` on every other row."""

    relation: Any
    discriminator: Any
    value: Any
    paths: tuple[tuple[Any, ...], ...] = ()


class _Follow:
    """A follower's plan and its query by the rows' keys (every column pair of the relationship's
    join, each as an IN list; a row's item is matched back by the whole pair)."""

    def __init__(self, follower: Follower) -> None:
        prop = follower.relation.property
        self.key: str = follower.relation.key
        self.test: str = follower.discriminator.key
        self.value = follower.value
        self.plan = FlatPlan(prop.mapper.class_, follower.paths)
        pairs = list(prop.local_remote_pairs)
        root = inspect(prop.parent)
        self.local = tuple(root.get_property_by_column(local).key for local, _ in pairs)
        target = inspect(prop.mapper)
        self.remote = tuple(target.get_property_by_column(remote).key for _, remote in pairs)
        self.stmt = self.plan.base.where(
            *(remote.in_(bindparam(f"k{i}", expanding=True)) for i, (_, remote) in enumerate(pairs))
        )
        # A row's key and its item's, alike (a tuple for a pair of columns).
        self.local_key = attrgetter(*self.local)
        self.remote_key = attrgetter(*self.remote)

    def attach(self, conn: Connection, mine: list[Any]) -> None:
        """Sets the item of each of ``mine``, the rows whose discriminator holds this value."""
        # Each column's distinct values (a row without one has no item to find).
        params = {
            f"k{i}": list({v for r in mine if (v := getattr(r, attr)) is not None})
            for i, attr in enumerate(self.local)
        }
        local_key, remote_key, key = self.local_key, self.remote_key, self.key
        by_key = {remote_key(o): o for o in self.plan.fetch(conn, self.stmt, params)}
        for row in mine:
            setattr(row, key, by_key.get(local_key(row)))


@dataclass(frozen=True)
class _Node:
    parent: int  # index of the parent node; -1 for the root
    key: str  # the relationship's attribute name on the parent
    entity: Any
    columns: tuple[str, ...]  # attribute names of the mapped columns
    first: int  # index of this node's first column in a row
    present: int  # index of a primary-key column: None means the related record is absent


class FlatPlan:
    def __init__(
        self,
        model: Any,
        paths: tuple[tuple[Any, ...], ...],
        followers: tuple[Follower, ...] = (),
        not_shown: frozenset[str] = frozenset(),
    ) -> None:
        self.model = model
        self.follows = tuple(_Follow(f) for f in followers)
        nodes: list[_Node] = []
        by_path: dict[tuple[str, ...], int] = {}
        selected: list[Any] = []
        joins: list[Any] = []

        def add(parent: int, key: str, entity: Any, mapper: Any) -> int:
            columns = tuple(attr.key for attr in mapper.column_attrs)
            if parent < 0:
                columns = tuple(c for c in columns if c not in not_shown)
            if key.endswith(REFERENCE_SUFFIX):
                columns = tuple(c for c in columns if c in REFERENCE_COLUMNS)
            pk = mapper.primary_key[-1]
            pk_key = next(attr.key for attr in mapper.column_attrs if pk in attr.columns)
            first = len(selected)
            selected.extend(getattr(entity, c) for c in columns)
            nodes.append(_Node(parent, key, entity, columns, first, first + columns.index(pk_key)))
            return len(nodes) - 1

        add(-1, "", model, inspect(model))
        by_path[()] = 0
        for path in paths:
            for depth in range(1, len(path) + 1):
                prefix = tuple(attr.key for attr in path[:depth])
                if prefix in by_path:
                    continue
                parent = by_path[prefix[:-1]]
                rel = path[depth - 1]
                target_mapper = rel.property.mapper
                alias = aliased(target_mapper.class_)
                joins.append(getattr(nodes[parent].entity, rel.key).of_type(alias))
                by_path[prefix] = add(parent, rel.key, alias, target_mapper)
        for node in nodes:
            for attr in (node.key, *node.columns, *(f.key for f in self.follows)):
                if attr and (not attr.isidentifier() or keyword.iskeyword(attr)):
                    raise ValueError(f"{model.__name__}: {attr!r} cannot be an attribute name")
        self.nodes = tuple(nodes)
        self.columns = tuple(selected)
        # Per dialect object: its result processors belong to its engine's settings.
        self._builders: weakref.WeakKeyDictionary[Any, Callable[[Sequence[Any]], list[Any]]] = (
            weakref.WeakKeyDictionary()
        )
        stmt = select(*selected).select_from(model)
        for join in joins:
            stmt = stmt.outerjoin(join)
        self.base: Select[Any] = stmt

    def fetch(self, conn: Connection, stmt: Any, params: dict[str, Any]) -> list[Any]:
        """Run ``stmt`` (built on :attr:`base`) and return its rows as objects.

        The rows come straight from the driver's cursor and go through a function generated for
        this plan and dialect (:meth:`_builder`): each column's own result processor where its type
        has one (timestamps, JSON, booleans on SQLite), none where it has not, and no row objects
        in between. On a list page this is most of the time hovor spends between the database and
        the serializer."""
        build = self._builders.get(conn.dialect)
        driven = _driven(conn, stmt)
        if driven is not None:
            rows, cursor = driven.run(conn, params)
            if build is None:
                build = self._builders[conn.dialect] = self._builder(conn.dialect, cursor.description)
        else:
            result = conn.execute(stmt, params)
            try:
                cursor = result.cursor
                if build is None:
                    # The description only here: psycopg makes it anew, a column at a time, each
                    # time it is asked for (about 0.7 µs a column: 50 µs for a record and its joins).
                    build = self._builders[conn.dialect] = self._builder(conn.dialect, cursor.description)
                # Through SQLAlchemy's fetch strategy (a buffered one may hold rows read ahead), which
                # also turns driver errors into SQLAlchemy's; the rows it returns are the driver's.
                rows = result.cursor_strategy.fetchall(result, cursor)
            finally:
                result.close()
        found = build(rows)
        if self.follows:
            # The rows by their discriminators' values, once: a page has followers for every kind.
            groups: dict[str, dict[Any, list[Any]]] = {}
            for follow in self.follows:
                by_value = groups.get(follow.test)
                if by_value is None:
                    by_value = groups[follow.test] = {}
                    get = attrgetter(follow.test)
                    for row in found:
                        by_value.setdefault(get(row), []).append(row)
                mine = by_value.get(follow.value)
                if mine:
                    follow.attach(conn, mine)
        return found

    def _builder(self, dialect: Any, description: Any) -> Callable[[Sequence[Any]], list[Any]]:
        if len(description) != len(self.columns):
            raise RuntimeError(f"{self.model.__name__}: the statement's columns are not the plan's")
        names: dict[str, Any] = {}
        values = []
        memoized: set[int] = set()
        for i, (column, described) in enumerate(zip(self.columns, description, strict=True)):
            processor = column.type.dialect_impl(dialect).result_processor(dialect, described[1])
            if processor is None:
                values.append(f"v[{i}]")
                continue
            names[f"p{i}"] = processor
            if isinstance(column.type, UTCDateTime):
                # A page repeats its timestamps (an activity's time, opening and creation are one
                # instant): each distinct stored value is converted once per call, into the same
                # immutable datetime.
                memoized.add(i)
                values.append(f"t{i}")
            else:
                values.append(f"p{i}(v[{i}])")

        def converted(node: _Node, indent: str) -> list[str]:
            out = []
            for i in range(node.first, node.first + len(node.columns)):
                if i in memoized:
                    # An empty column is None without a call (the memo cannot tell it from a miss).
                    out.append(f"{indent}t{i} = None if v[{i}] is None else m.get(v[{i}])")
                    out.append(f"{indent}if t{i} is None and v[{i}] is not None:")
                    out.append(f"{indent}    t{i} = m[v[{i}]] = p{i}(v[{i}])")
            return out

        # A class per node, its attributes in slots: making one takes half the time a
        # SimpleNamespace of keywords does (a page makes hundreds). Its relations and followers
        # are None until set.
        lines = []
        for n, node in enumerate(self.nodes):
            children = [c.key for c in self.nodes if c.parent == n]
            later = [*children, *(f.key for f in self.follows if n == 0)]
            lines.append(f"class R{n}:")
            lines.append(f"    __slots__ = {(*node.columns, *later)!r}")
            arguments = "".join(f", a{j}" for j in range(len(node.columns)))
            lines.append(f"    def __init__(self{arguments}):")
            lines += [f"        self.{attr} = a{j}" for j, attr in enumerate(node.columns)]
            lines += [f"        self.{attr} = None" for attr in later]
            # Compared and shown by their values, as a SimpleNamespace is.
            every = ", ".join(f"self.{attr}" for attr in (*node.columns, *later))
            others = ", ".join(f"other.{attr}" for attr in (*node.columns, *later))
            shown = ", ".join(f"{attr}={{self.{attr}!r}}" for attr in (*node.columns, *later))
            lines.append("    def __eq__(self, other):")
            lines.append(f"        return type(other) is type(self) and ({every},) == ({others},)")
            lines.append("    __hash__ = None")
            lines.append("    def __repr__(self):")
            lines.append(f"        return f'{inspect(node.entity).mapper.class_.__name__}({shown})'")
        lines += ["def build(rows):", "    out = []", "    m = {}", "    for v in rows:"]
        for n, node in enumerate(self.nodes):
            fields = ", ".join(values[node.first + j] for j in range(len(node.columns)))
            if node.parent < 0:
                lines += converted(node, " " * 8)
                lines.append(f"        o{n} = R{n}({fields})")
                continue
            lines.append(f"        if o{node.parent} is not None and v[{node.present}] is not None:")
            lines += converted(node, " " * 12)
            lines.append(f"            o{n} = R{n}({fields})")
            lines.append("        else:")
            lines.append(f"            o{n} = None")
            lines.append(f"        if o{node.parent} is not None:")
            lines.append(f"            o{node.parent}.{node.key} = o{n}")
        lines += ["        out.append(o0)", "    return out"]
        # Generated code, as dataclasses and SQLAlchemy generate theirs: built only from mapped
        # attribute names (checked to be identifiers in __init__) and column positions.
        source = "\n".join(lines)
        exec(compile(source, f"<hovor.api.flat {self.model.__name__}>", "exec"), names)  # noqa: S102
        build: Callable[[Sequence[Any]], list[Any]] = names["build"]
        return build


class _Form:
    """One statement's SQL for one length of each list it is given, and where each of its
    parameters comes from: ``(name, index, value)`` is the given ``name``'s value (its element
    ``index`` for a list), or, where ``name`` is None, the fixed ``value``."""

    def __init__(
        self,
        compiled: Any,
        given: tuple[str, ...],
        lists: dict[str, int],
        processors: dict[str, Callable[[Any], Any]],
    ) -> None:
        sample: dict[str, Any] = dict.fromkeys(given)
        sample.update((name, [None] * n) for name, n in lists.items())
        state = compiled.construct_expanded_state(sample)
        self.sql: str = state.statement
        source: dict[str, tuple[str, int | None]] = {n: (n, None) for n in given if n not in lists}
        for name in lists:
            source.update((each, (name, i)) for i, each in enumerate(state.parameter_expansion[name]))
        # The fixed values as the driver takes them (the given ones are processed as they come).
        fixed = {n: v for n, v in state.parameters.items() if n not in source}
        # A fixed list's values by their expanded names (state.processors), the others by theirs.
        processing = {**processors, **state.processors}
        self.fixed = {n: v if n not in processing else processing[n](v) for n, v in fixed.items()}
        # Positional (SQLite's ?): each parameter in its place. Named (psycopg's %(name)s): the
        # fixed ones as they are, and where each given one comes from.
        self.order = tuple(
            (*source[n], None) if n in source else (None, None, self.fixed[n])
            for n in state.positiontup or ()
        )
        self.named = () if compiled.positional else tuple((n, *source[n]) for n in source)


class _Driven:
    """A statement compiled once, run by the driver itself inside the connection's transaction.
    SQLAlchemy's execution path (the compiled cache's lookup, an execution context, a result
    object and its metadata) cost more than the statement: a single record's read through it took
    five times the driver's time on SQLite, and on PostgreSQL psycopg builds the result's
    description a column at a time for that metadata (about a tenth of a contact's read). Only for
    parameters the driver takes as they are, unless the caller asks for their types' processing
    (``processed``: a list page's times; the keys of other reads stay on the path they were
    measured on). A list given for ``IN`` (a page's keys) has its statement's text made once per
    size of list (:meth:`_form`), as SQLAlchemy's own expansion makes it."""

    def __init__(self, stmt: Any, dialect: Any) -> None:
        compiled = stmt.compile(dialect=dialect)
        binds = compiled.binds.values()
        # Each parameter's processing by its type (a time into the stored text), by its name.
        self.processors: dict[str, Callable[[Any], Any]] = {}
        for bind, name in compiled.bind_names.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self.processors[name] = processor
        self.usable = not self.processors
        # The selected columns' types, for raw_results (the types only: the statement is this
        # object's key in a weak mapping and must not be held).
        self._dialect = dialect
        self._types = tuple(c.type for c in stmt.selected_columns)
        self.compiled = compiled
        self.given = tuple(sorted(b.key for b in binds if b.required))
        self.lists = tuple(sorted(b.key for b in binds if b.required and b.expanding))
        self.positional: bool = compiled.positional
        self._forms: dict[tuple[int, ...], _Form] = {}
        self._plain = None if self.lists else _Form(compiled, self.given, {}, self.processors)

    @cached_property
    def raw_results(self) -> bool:
        """Whether the driver's values are the results as they are: no selected column's type
        processes them, whatever the column the database describes (what rows_of needs; a
        FlatPlan applies the processors itself). A type that cannot say without the described
        column (psycopg's floats) counts as processing."""
        dialect = self._dialect
        try:
            return all(t.dialect_impl(dialect).result_processor(dialect, None) is None for t in self._types)
        except (TypeError, ValueError, LookupError, InvalidRequestError):
            return False

    def _form(self, params: dict[str, Any]) -> tuple[_Form, dict[str, Any]]:
        """The form for these parameters, and the parameters as it takes them. A list is padded
        with its last value up to the next power of two (a value twice in ``IN`` finds nothing
        more): a statement has a form for a handful of lengths, not one for every length a page,
        a last page or a group of creates can have."""
        if self.processors or self._plain is None:
            params = dict(params)  # the caller's stay as given
        for name, processor in self.processors.items():
            if name in params:
                value = params[name]
                params[name] = [processor(v) for v in value] if name in self.lists else processor(value)
        if self._plain is not None:
            return self._plain, params
        lengths = []
        for name in self.lists:
            values = list(params[name])
            size = 1 << (len(values) - 1).bit_length() if values else 0
            params[name] = values + values[-1:] * (size - len(values))
            lengths.append(size)
        key = tuple(lengths)
        form = self._forms.get(key)
        if form is None:
            form = self._forms[key] = _Form(
                self.compiled, self.given, dict(zip(self.lists, key, strict=True)), self.processors
            )
        return form, params

    def run(self, conn: Connection, params: dict[str, Any]) -> tuple[list[Any], Any]:
        """The rows, and the cursor (its description is read only where it is needed)."""
        dbapi = conn.connection.dbapi_connection
        form, params = self._form(params)
        if not self.positional:
            named = dict(form.fixed)
            for each, name, i in form.named:
                named[each] = params[name] if i is None else params[name][i]
            try:
                cursor = dbapi.execute(form.sql, named)  # type: ignore[union-attr]
                return cursor.fetchall(), cursor
            except BaseException as exc:
                # SQLAlchemy's own handling, as on its own path: its exception for a driver's
                # error, a connection lost with a server restart invalidated (the pool emptied),
                # and one interrupted mid-statement (a cancelled request) invalidated too.
                conn._handle_dbapi_exception(exc, form.sql, named, None, None)
        args = tuple(
            fixed if name is None else params[name] if i is None else params[name][i]
            for name, i, fixed in form.order
        )
        try:
            cursor = dbapi.execute(form.sql, args)  # type: ignore[union-attr]
            return cursor.fetchall(), cursor
        except sqlite3.Error as exc:
            raise DBAPIError.instance(form.sql, None, exc, sqlite3.Error) from exc


# Per statement, per dialect object (one process may hold engines of both databases).
_DRIVEN: weakref.WeakKeyDictionary[Any, weakref.WeakKeyDictionary[Any, _Driven]] = weakref.WeakKeyDictionary()
_WATCHED = ("before_execute", "after_execute", "before_cursor_execute", "after_cursor_execute")
# The drivers whose connections run a statement themselves (sqlite3's and psycopg's execute).
_DRIVERS = frozenset({("sqlite", "pysqlite"), ("postgresql", "psycopg")})


def _driven(conn: Connection, stmt: Any, processed: bool = False) -> _Driven | None:
    """How ``stmt`` runs by the driver on this connection, or None where SQLAlchemy's path is
    needed: another driver, no transaction begun (the read would not be one snapshot), SQL echoed
    or execution events listened to (they must see every statement), or parameters to process
    and ``processed`` not asked for."""
    dialect = conn.dialect
    if (dialect.name, dialect.driver) not in _DRIVERS or not conn.in_transaction() or conn.engine.echo:
        return None
    if any(getattr(conn.dispatch, name) for name in _WATCHED) or dialect.dispatch.handle_error:
        return None
    by_dialect = _DRIVEN.get(stmt)
    if by_dialect is None:
        by_dialect = _DRIVEN[stmt] = weakref.WeakKeyDictionary()
    driven = by_dialect.get(dialect)
    if driven is None:
        driven = by_dialect[dialect] = _Driven(stmt, dialect)
    return driven if driven.usable or processed else None


def rows_of(conn: Connection, stmt: Any, params: dict[str, Any], processed: bool = False) -> list[Any]:
    """The rows of a statement built once (``stmt`` is kept and run again): run by the driver
    where it can be (:class:`_Driven`) and no column it selects needs its type's result
    processing (its values are the driver's as they are), else through SQLAlchemy.
    ``processed``: by the driver also where parameters need their types' processing."""
    driven = _driven(conn, stmt, processed)
    if driven is not None and driven.raw_results:
        return driven.run(conn, params)[0]
    return list(conn.execute(stmt, params).all())


_PLANS: dict[str, FlatPlan] = {}


def plan_for(resource: Any) -> FlatPlan:
    plan = _PLANS.get(resource.endpoint)
    if plan is None:
        plan = _PLANS[resource.endpoint] = FlatPlan(
            resource.model, tuple(resource.eager), tuple(resource.followers), frozenset(resource.not_shown)
        )
    return plan
