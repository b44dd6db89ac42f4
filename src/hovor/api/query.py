"""The v6 list query: ``fields``, ``filter``, ``sort``, ``skip``/``take`` and ``q``.

Parameters arrive PHP-style (``filter[filters][0][field]=stage``). They are parsed into a tree
once, validated against the resource's declared fields, and compiled to SQLAlchemy. Unlike the
reference, an unknown field anywhere is a 400 that names it, never a silently empty list.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy import ColumnElement, String, and_, bindparam, cast, false, func, or_, true
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import True_

from hovor.core.errors import BadRequest
from hovor.core.wire import from_wire

CUSTOM = "customFields."  # customFields.<field> in a filter or a sort
CUSTOM_KEY = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")
MAX_PARAMS = 500
MAX_DEPTH = 8
MAX_CONDITIONS = 100
MAX_Q_LENGTH = 200
MAX_IN_VALUES = 1000
MAX_SKIP = 10_000_000

OPERATORS = {
    "eq",
    "neq",
    "gt",
    "gte",
    "lt",
    "lte",
    "like",
    "notlike",
    "begins",
    "notbegins",
    "ends",
    "notends",
    "in",
    "notin",
    "isnull",
    "isnotnull",
}
# Spellings seen in other v6 clients, mapped to the canonical operator.
ALIASES = {
    "contains": "contains",
    "doesnotcontain": "notcontains",
    "notcontains": "notcontains",
    "startswith": "begins",
    "endswith": "ends",
}


def parse_brackets(items: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Turn ``a[b][0]=x`` pairs into nested dicts and lists."""
    root: dict[str, Any] = {}
    for count, (key, value) in enumerate(items, start=1):
        if count > MAX_PARAMS:
            raise BadRequest(f"Too many query parameters (at most {MAX_PARAMS}).")
        match = _KEY.match(key)
        if not match:
            raise BadRequest(f"Malformed query parameter name {key[:60]!r}.")
        parts = [match.group(1), *_PART.findall(match.group(2))]
        if len(parts) > MAX_DEPTH:
            raise BadRequest(f"Query parameter {key[:60]!r} is nested too deeply.")
        node: Any = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if part == "":
                part = str(sum(1 for k in node if k.isdigit())) if isinstance(node, dict) else "0"
            if not isinstance(node, dict):
                raise BadRequest(f"Query parameter {key[:60]!r} conflicts with another parameter.")
            if last:
                if part in node:
                    raise BadRequest(f"Query parameter {key[:60]!r} is given twice.")
                node[part] = value
            else:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    raise BadRequest(f"Query parameter {key[:60]!r} conflicts with another parameter.")
                node = child
    return _listify(root)


def _listify(node: Any) -> Any:
    if isinstance(node, dict):
        converted = {k: _listify(v) for k, v in node.items()}
        if converted and all(k.isdigit() for k in converted):
            return [converted[k] for k in sorted(converted, key=int)]
        return converted
    return node


@dataclass(frozen=True)
class QueryField:
    """A field as the query language sees it."""

    name: str
    column: Any
    type: str  # str | int | float | bool | datetime
    filter: bool = True
    sort: bool = True
    # A field of many values (a ticket's statuses): ``column`` is the value's column in the rows
    # that hold them, and ``many`` turns a condition on it into "the record has such a value".
    many: Callable[[ColumnElement[bool]], ColumnElement[bool]] | None = None


# The operator that says the same of one value, for the negated operators: on a field of many
# values "not X" means "has no value X", not "has a value other than X".
_POSITIVE = {
    "neq": "eq",
    "notin": "in",
    "notlike": "like",
    "notbegins": "begins",
    "notends": "ends",
    "notcontains": "contains",
    "isnull": "isnotnull",
}


# Where a condition is built, it takes its values from here, in order: the values themselves
# (ListQuery.where), or the bind parameters that stand for them (ListQuery.bound).
Take = Iterator[Any]


@dataclass(frozen=True)
class Part:
    """A condition, or the order, of a list query before it is built. ``key`` holds everything it
    is built from but its values, so parts with equal keys build alike, and a statement built for
    one serves the other with the other's values (hovor.api.visible keeps a list's statements so).
    ``values`` are those values, in the order ``make`` takes them. A part that cannot serve another
    query (``q``, whose search reads the index as it is built) has no key."""

    key: Any
    values: tuple[Any, ...]
    make: Callable[[Take], Any]


@dataclass
class ListQuery:
    fields: list[str] | None = None
    parts: list[Part] = field(default_factory=list)
    sorting: Part = field(default_factory=lambda: Part((), (), lambda take: []))
    skip: int = 0
    take: int = 100
    # Names in ``fields`` that are no field of the resource, left out as the reference does.
    ignored: list[str] = field(default_factory=list)
    # ``q`` went through the search index: every match is read to be ordered (no index gives a
    # search's order), so the page can count them in the same pass (hovor.api.visible).
    searched: bool = False

    @cached_property
    def where(self) -> list[ColumnElement[bool]]:
        """The conditions, built with their values."""
        return [part.make(iter(part.values)) for part in self.parts]

    @cached_property
    def order(self) -> list[Any]:
        """The ORDER BY clauses (the key breaking ties last)."""
        return list(self.sorting.make(iter(())))

    @property
    def key(self) -> tuple[Any, ...] | None:
        """What the query's statement is built from but its values (None: it cannot be reused)."""
        keys = tuple(part.key for part in self.parts)
        if any(k is None for k in keys):
            return None
        return (keys, self.sorting.key)

    @property
    def values(self) -> list[Any]:
        """Every part's values, in the order the parts take them."""
        return [v for part in self.parts for v in part.values]

    @property
    def parameters(self) -> dict[str, Any]:
        """The values, by the names :meth:`bound` gives their parameters."""
        return {f"p{i}": v for i, v in enumerate(self.values)}

    def bound(self) -> tuple[list[ColumnElement[bool]], list[Any]]:
        """The conditions and order built with a bind parameter for each value (a list's values:
        one parameter for them all), named as :attr:`parameters` names them."""
        values = self.values
        binds: Take = iter([bindparam(f"p{i}", expanding=isinstance(v, list)) for i, v in enumerate(values)])
        return [part.make(binds) for part in self.parts], self.order


def _joined(logic: str, parts: list[Part]) -> Part:
    """Parts joined: ``and`` / ``or`` of a filter group, or ``all`` of a list of filters."""
    values = tuple(v for part in parts for v in part.values)

    def joined(take: Take) -> ColumnElement[bool]:
        built = [part.make(take) for part in parts]  # in order: each takes its own values
        if logic == "or":
            return or_(*built)
        return and_(*built) if logic == "and" else and_(true(), *built)

    return Part((logic, tuple(part.key for part in parts)), values, joined)


def _is_desc(clause: Any) -> bool:

    element = clause
    while element is not None:
        if getattr(element, "modifier", None) is operators.desc_op:
            return True
        element = getattr(element, "element", None)
    return False


def _as_list(value: Any, what: str) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        return [v for v in (s.strip() for s in value.split(",")) if v]
    raise BadRequest(f"{what} must be a list.")


def _int(value: Any, what: str, minimum: int = 0) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise BadRequest(f"{what} must be a whole number.") from None
    if number < minimum:
        raise BadRequest(f"{what} must be at least {minimum}.")
    return number


class QueryCompiler:
    def __init__(
        self,
        endpoint: str,
        fields: Sequence[QueryField],
        q_columns: Sequence[Any],
        tz: str,
        default_take: int,
        max_take: int,
        default_order: Sequence[Any],
        tiebreak: Sequence[Any],
        hidden: frozenset[str] = frozenset(),
        search: Callable[[list[str]], ColumnElement[bool]] | None = None,
    ) -> None:
        self.endpoint = endpoint
        # q through the search index (hovor.index.lookup), given the terms; else LIKE on q_columns.
        self.search = search
        self.fields = {f.name: f for f in fields}
        self.hidden = hidden  # custom fields the caller may not see: not filtered or sorted on
        self.q_columns = q_columns
        self.tz = tz
        self.default_take = default_take
        self.max_take = max_take
        self.default_order = list(default_order)
        self.tiebreak = list(tiebreak)
        self._conditions = 0

    def _field(self, name: Any, purpose: str) -> QueryField:
        if not isinstance(name, str) or not name:
            raise BadRequest(f"A {purpose} needs a field name.")
        found = self.fields.get(name)
        if found is None and name.startswith(CUSTOM) and purpose != "fields":
            found = self._custom(name[len(CUSTOM) :])
        if found is None:
            raise BadRequest(
                f"Unknown field {name[:60]!r} in {purpose} for {self.endpoint}. "
                f"Known fields: {', '.join(sorted(self.fields))}."
            )
        if purpose == "filter" and not found.filter:
            raise BadRequest(f"Field {name!r} of {self.endpoint} cannot be filtered on.")
        if purpose == "sort" and not found.sort:
            raise BadRequest(f"Field {name!r} of {self.endpoint} cannot be sorted on.")
        return found

    def _custom(self, key: str) -> QueryField | None:
        """``customFields.<key>``: the field's first value, as text (every custom field holds a list
        of strings). A field the caller may not see is unknown to them."""
        base = self.fields.get("customFields")
        if base is None or not CUSTOM_KEY.match(key) or key in self.hidden:
            return None
        if getattr(base.column, "property", None) is None:
            return None  # not the record's own column (a channel reads its activity's)
        return QueryField(CUSTOM + key, base.column[(key, 0)].as_string(), "str")

    def compile(self, params: dict[str, Any], *, strict_fields: bool = False) -> ListQuery:
        """The list query of ``params``. An unknown name in ``fields`` is ignored and listed in
        ``ignored`` (the reference ignores it, and clients send names from saved states), or with
        ``strict_fields`` refused; unknown names anywhere else are always refused."""
        known = {"fields", "filter", "sort", "dir", "skip", "take", "q", "accessToken"}
        extra = sorted(k for k in params if k not in known and not k.startswith("_"))
        if extra:
            raise BadRequest(f"Unknown query parameter {extra[0][:60]!r}.")
        result = ListQuery(take=self.default_take)
        if "fields" in params:
            names = [str(n) for n in _as_list(params["fields"], "fields")]
            if strict_fields:
                for name in names:
                    self._field(name, "fields")
            result.ignored = [n for n in names if n not in self.fields]
            result.fields = [n for n in names if n in self.fields]
        if "filter" in params:
            result.parts.append(self._filter(params["filter"], 0))
        if params.get("q"):
            condition, result.searched = self._q(params["q"])
            result.parts.append(Part(None, (), lambda take: condition))
        result.sorting = self._sort(params.get("sort"), params.get("dir"))
        if "skip" in params:
            result.skip = _int(params["skip"], "skip")
            if result.skip > MAX_SKIP:
                raise BadRequest(f"skip must be at most {MAX_SKIP}; narrow the filter instead.")
        if "take" in params:
            result.take = _int(params["take"], "take", minimum=1)
            if result.take > self.max_take:
                raise BadRequest(f"take must be at most {self.max_take}.")
        return result

    # --- filters -------------------------------------------------------------------------
    # Each is checked and its values made here; building its SQL waits for its Part's make, which
    # uses nothing but what its key holds and the values it takes.
    def _filter(self, node: Any, depth: int) -> Part:
        if depth > 6:
            raise BadRequest("filter is nested too deeply.")
        if isinstance(node, list):
            return _joined("all", [self._filter(n, depth + 1) for n in node])
        if not isinstance(node, dict):
            raise BadRequest("filter must be an object or a list of conditions.")
        if "filters" in node or "logic" in node:
            unknown = set(node) - {"filters", "logic"}
            if unknown:
                raise BadRequest(f"Unknown key {sorted(unknown)[0][:40]!r} in a filter group.")
            logic = str(node.get("logic", "and")).lower()
            if logic not in ("and", "or"):
                raise BadRequest("filter logic must be 'and' or 'or'.")
            children = node.get("filters", [])
            if isinstance(children, dict):
                children = [children]
            if not isinstance(children, list) or not children:
                raise BadRequest("A filter group needs at least one filter.")
            return _joined(logic, [self._filter(child, depth + 1) for child in children])
        if "field" in node:
            return self._condition(node)
        raise BadRequest("A filter needs field and operator, or logic and filters.")

    def _condition(self, node: dict[str, Any]) -> Part:
        self._conditions += 1
        if self._conditions > MAX_CONDITIONS:
            raise BadRequest(f"At most {MAX_CONDITIONS} filter conditions are allowed.")
        unknown = set(node) - {"field", "operator", "value", "ignoreCase"}
        if unknown:
            raise BadRequest(f"Unknown key {sorted(unknown)[0][:40]!r} in a filter condition.")
        f = self._field(node.get("field"), "filter")
        op = str(node.get("operator", "eq")).lower()
        op = ALIASES.get(op, op)
        if op not in OPERATORS and op not in ("contains", "notcontains"):
            raise BadRequest(f"Unknown filter operator {op[:30]!r}.")
        many = f.many
        if many is not None:
            positive = _POSITIVE.get(op, op)
            inner = self._compare(f, positive, node)

            def has(take: Take) -> ColumnElement[bool]:
                found = many(inner.make(take))
                return found if positive == op else ~found

            return Part(("many", f.name, op, inner.key), inner.values, has)
        return self._compare(f, op, node)

    def _compare(self, f: QueryField, op: str, node: dict[str, Any]) -> Part:
        """The condition ``op`` of a filter node on the field's column."""
        ignore_case = str(node.get("ignoreCase", "")).lower() in ("1", "true", "yes")
        col = f.column
        if op == "isnull":
            return Part(("isnull", f.name), (), lambda take: col.is_(None))
        if op == "isnotnull":
            return Part(("isnotnull", f.name), (), lambda take: col.is_not(None))
        if "value" not in node:
            raise BadRequest(f"Filter on {f.name!r} with {op!r} needs a value.")
        raw = node["value"]
        text_ops = {"like", "notlike", "begins", "notbegins", "ends", "notends", "contains", "notcontains"}
        if op in text_ops:
            if f.type != "str":
                raise BadRequest(f"Operator {op!r} works on text fields; {f.name!r} is {f.type}.")
            if not isinstance(raw, str):
                raise BadRequest(f"Filter value for {f.name!r} must be text.")
            return self._text(f, op, raw, ignore_case)
        if op in ("in", "notin"):
            return self._listed(f, op, _as_list(raw, f"value of {f.name!r}"), ignore_case)
        if isinstance(raw, (list, dict)):
            raise BadRequest(f"Filter value for {f.name!r} must be a single value.")
        value = self._coerce(f, raw)
        if f.type == "datetime":
            start, end = self._bounds(value)
            return Part(("second", f.name, op), (start, end), lambda take: self._second(col, op, take))
        if f.type == "bool" and op not in ("eq", "neq"):
            raise BadRequest(f"Operator {op!r} does not apply to {f.name!r}, a yes or no field.")
        lowered = ignore_case and f.type == "str"
        if lowered:
            value = str(value).lower()

        def compared(take: Take) -> ColumnElement[bool]:
            left, given = (func.lower(col) if lowered else col), next(take)
            # Only the comparison asked for is built: each is an expression object.
            if op == "eq":
                return left == given
            if op == "neq":
                # NULL is "not equal" to anything for a caller, whatever SQL's three-valued logic says.
                return or_(left != given, col.is_(None))
            if op == "gt":
                return left > given
            if op == "gte":
                return left >= given
            if op == "lt":
                return left < given
            return left <= given

        return Part(("compare", f.name, op, lowered), (value,), compared)

    def _listed(self, f: QueryField, op: str, listed: list[Any], ignore_case: bool) -> Part:
        """``in`` / ``notin``: a list's values, as one parameter (a time's: a second each)."""
        if len(listed) > MAX_IN_VALUES:
            raise BadRequest(f"At most {MAX_IN_VALUES} values for {op!r}.")
        col = f.column
        if f.type == "datetime":
            # Like the other operators: a wire timestamp names a whole second.
            bounds = tuple(b for v in listed for b in self._bounds(self._coerce(f, v)))
            count = len(listed)

            def seconds(take: Take) -> ColumnElement[bool]:
                matches = or_(*[self._second(col, "eq", take) for _ in range(count)]) if count else false()
                return matches if op == "in" else or_(~matches, col.is_(None))

            return Part(("seconds", f.name, op, count), bounds, seconds)
        values = [self._coerce(f, v) for v in listed]
        if not values:
            return Part(("none", f.name, op), (), lambda take: false() if op == "in" else true())
        lowered = ignore_case and f.type == "str"
        if lowered:
            values = [str(v).lower() for v in values]

        def among(take: Take) -> ColumnElement[bool]:
            cond = (func.lower(col) if lowered else col).in_(next(take))
            return cond if op == "in" else or_(~cond, col.is_(None))

        return Part(("in", f.name, op, lowered), (values,), among)

    def _bounds(self, value: dt.datetime) -> tuple[Any, Any]:
        """A timestamp on the wire names a whole second: where it begins, and where the next does."""
        start = value.replace(microsecond=0)
        return start, start + dt.timedelta(seconds=1)

    @staticmethod
    def _second(col: Any, op: str, take: Take) -> ColumnElement[bool]:
        """``op`` against the second from ``start`` to ``end`` (the next two values taken)."""
        start, end = next(take), next(take)
        if op == "eq":
            return and_(col >= start, col < end)
        if op == "neq":
            return or_(~and_(col >= start, col < end), col.is_(None))
        if op == "gt":
            return col >= end
        if op == "gte":
            return col >= start
        if op == "lt":
            return col < start
        return col < end  # lte

    def _text(self, f: QueryField, op: str, raw: str, ignore_case: bool) -> Part:
        escaped = raw.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        if op in ("like", "notlike"):
            pattern, escape = raw, None  # SQL LIKE as the reference defines it: caller places %
        elif op in ("begins", "notbegins"):
            pattern, escape = escaped + "%", "\\"
        elif op in ("ends", "notends"):
            pattern, escape = "%" + escaped, "\\"
        else:
            pattern, escape = "%" + escaped + "%", "\\"
        if ignore_case:
            pattern = pattern.lower()
        col = f.column

        def like(take: Take) -> ColumnElement[bool]:
            left = func.lower(col) if ignore_case else col
            cond = left.like(next(take), escape=escape) if escape else left.like(next(take))
            return or_(~cond, col.is_(None)) if op.startswith("not") else cond

        return Part(("text", f.name, op, ignore_case), (pattern,), like)

    def _coerce(self, f: QueryField, value: Any) -> Any:
        if isinstance(value, (list, dict)):
            raise BadRequest(f"Filter value for {f.name!r} must be a single value.")
        text = str(value)
        try:
            if f.type == "int":
                return int(text)
            if f.type == "float":
                return float(text)
            if f.type == "bool":
                lowered = text.lower()
                if lowered in ("1", "true", "yes"):
                    return True
                if lowered in ("0", "false", "no"):
                    return False
                raise ValueError
            if f.type == "datetime":
                return from_wire(text, self.tz)
        except ValueError:
            raise BadRequest(f"Filter value for {f.name!r} is not a valid {f.type}.") from None
        return text

    def _q(self, raw: Any) -> tuple[ColumnElement[bool], bool]:
        """``q``'s condition, and whether it asks the search index."""
        if not isinstance(raw, str):
            raise BadRequest("q must be text.")
        if len(raw) > MAX_Q_LENGTH:
            raise BadRequest(f"q must be at most {MAX_Q_LENGTH} characters.")
        if "\x00" in raw:  # as in bodies: PostgreSQL cannot hold it, FTS5 reads it as the end
            raise BadRequest("q may not contain NUL characters.")
        if not self.q_columns and self.search is None:
            raise BadRequest(f"{self.endpoint} does not support q search.")
        terms = raw.split()[:10]
        if self.search is not None:
            condition = self.search(terms) if terms else true()
            # Terms that fold to nothing (a lone combining mark) search for nothing: all records.
            return condition, not isinstance(condition, True_)
        parts = []
        for term in terms:
            escaped = term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            pattern = f"%{escaped}%"
            parts.append(
                or_(*[func.lower(cast(c, String)).like(pattern, escape="\\") for c in self.q_columns])
            )
        return and_(true(), *parts), False

    def _tiebreak(self, order: list[Any]) -> list[Any]:
        """The key breaks ties so pages are stable. It runs in the direction of the last sort, so
        an index on (…, sorted column, key) serves the whole ORDER BY without a sort step."""
        descending = bool(order) and _is_desc(order[-1])
        return [key.desc() if descending else key.asc() for key in self.tiebreak]

    # --- sort ----------------------------------------------------------------------------
    def _sort(self, raw: Any, direction: Any) -> Part:
        """The order asked for, then the key (:meth:`_tiebreak`)."""
        if raw is None or raw == "":
            return Part(("default",), (), lambda take: self._ordered(list(self.default_order)))
        items: list[tuple[Any, Any]]
        if isinstance(raw, str):
            items = [(raw, direction or "asc")]
        elif isinstance(raw, dict):
            items = [(raw.get("field"), raw.get("dir", "asc"))]
        elif isinstance(raw, list):
            items = []
            for entry in raw:
                if isinstance(entry, str):
                    items.append((entry, "asc"))
                elif isinstance(entry, dict):
                    unknown = set(entry) - {"field", "dir"}
                    if unknown:
                        raise BadRequest(f"Unknown key {sorted(unknown)[0][:40]!r} in sort.")
                    items.append((entry.get("field"), entry.get("dir", "asc")))
                else:
                    raise BadRequest("sort entries need field and dir.")
        else:
            raise BadRequest("sort must be a field name or a list of {field, dir}.")
        fields = []
        for name, dir_ in items:
            f = self._field(name, "sort")
            dir_text = str(dir_).lower()
            if dir_text not in ("asc", "desc"):
                raise BadRequest("sort dir must be 'asc' or 'desc'.")
            fields.append((f, dir_text))

        def order(take: Take) -> list[Any]:
            clauses = []
            for f, dir_text in fields:
                clause = f.column.desc() if dir_text == "desc" else f.column.asc()
                # NULLs last in both directions, so SQLite and PostgreSQL page identically. Only
                # where a column can be NULL: on a NOT NULL column the clause would keep PostgreSQL
                # from walking an index backwards.
                nullable = getattr(getattr(f.column, "expression", f.column), "nullable", True)
                clauses.append(clause.nulls_last() if nullable else clause)
            return self._ordered(clauses)

        return Part(("sort", tuple((f.name, d) for f, d in fields)), (), order)

    def _ordered(self, order: list[Any]) -> list[Any]:
        return order + self._tiebreak(order)
