"""A contract-end package read back as the API served it: the controller's way to check, with the
``daktela`` SDK or any v6 client, that every record it had is in the package.

The package is decrypted with the controller's identity and checked first (the manifest's
signature, every file's SHA-256 and size: ``verify.check_archive``); a package that fails any
check is refused whole. Its JSON Lines are then loaded into an in-memory SQLite database, one row
a record holding the record's JSON as the API answered it, and queried with the API's own query
compiler (``hovor.api.query``): the same ``fields``, ``filter``, ``sort``, ``skip``/``take`` and
``q``, the same operators and limits, the same 400 for an unknown field. Each field is the value
in the record's JSON (a reference's ``name`` where the API nests the referenced object), typed as
the resource declares it. What differs, and why:

- timestamps compare as the wire text in the tenant's zone (the package holds no other form);
  a filter value in ISO 8601 with an offset is converted to that zone first;
- the default order and ``q`` follow the declaration where the declared column is a wire field,
  and the package's order (the records' keys) otherwise;
- nothing is written, and nothing leaves the process: memory holds the records (a package of a
  large tenant needs as much memory as its JSON Lines).
"""

from __future__ import annotations

import re
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pyrage
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    case,
    cast,
    create_engine,
    func,
    insert,
    select,
)
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression

from hovor.api.query import CUSTOM, CUSTOM_KEY, QueryCompiler, QueryField, Take, parse_brackets
from hovor.api.resource import REGISTRY, Resource, relations_of
from hovor.core.errors import NotFound
from hovor.core.wire import to_wire
from hovor.privacy.contract.verify import check_archive, open_package

DATA = re.compile(r"^data/([A-Za-z0-9_]+)\.jsonl$")
PAGE, MAX_PAGE = 100, 1000  # the API's defaults (HOVOR_DEFAULT_PAGE_SIZE, HOVOR_MAX_PAGE_SIZE)
BATCH = 1000

RECORDS = Table(
    "records",
    MetaData(),
    Column("endpoint", String, primary_key=True),
    Column("pos", Integer, primary_key=True),
    Column("name", String, index=True),
    Column("body", Text),
)
BODY = RECORDS.c.body


class PackageRefused(Exception):
    """The package did not decrypt or did not verify; ``problems`` says what (no record content)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _path(*names: str) -> str:
    return "$" + "".join(f'."{n}"' for n in names)


def _value(path: str, json: Any = BODY) -> Any:
    """The value at ``path``: a nested reference's name, a scalar as it is."""
    return case(
        (func.json_type(json, path) == "object", func.json_extract(json, path + '."name"')),
        else_=func.json_extract(json, path),
    )


def _many(name: str) -> QueryField:
    """A field of many values (a ticket's statuses): "the record has such a value", as the API."""
    each = func.json_each(BODY, _path(name)).table_valued("value", "type").alias(f"each_{name}")
    value = case((each.c.type == "object", func.json_extract(each.c.value, '$."name"')), else_=each.c.value)
    return QueryField(
        name, value, "str", True, False, many=lambda cond: select(1).select_from(each).where(cond).exists()
    )


def _column_id(clause: Any) -> tuple[tuple[str, str], bool, bool] | None:
    """((table, column), descending, NULLs last) of a declared column or an order clause on one."""
    descending, nulls_last, element = False, False, clause
    while isinstance(element, UnaryExpression):
        descending = descending or element.modifier is operators.desc_op
        nulls_last = nulls_last or element.modifier is operators.nulls_last_op
        element = element.element
    element = getattr(element, "expression", element)
    table, key = getattr(element, "table", None), getattr(element, "key", None)
    if table is None or key is None:
        return None
    return (str(getattr(table, "name", "")), str(key)), descending, nulls_last


@dataclass
class Shape:
    """How one endpoint's records are queried."""

    endpoint: str
    fields: list[QueryField]
    q: list[Any] = field(default_factory=list)
    order: list[Any] = field(default_factory=list)
    relations: dict[str, tuple[str, str]] = field(default_factory=dict)


def _declared(resource: Resource) -> Shape:
    fields: list[QueryField] = []
    by_column: dict[tuple[str, str], QueryField] = {}
    for f in resource.fields:
        if f.many is not None:
            made = _many(f.name)
        else:
            made = QueryField(f.name, _value(_path(f.name)), f.type, f.filter, f.sort)
        fields.append(made)
        found = _column_id(f.column)
        if found is not None:
            by_column[found[0]] = made
    shape = Shape(resource.endpoint, fields)
    for clause in resource.default_order:
        found = _column_id(clause)
        sorted_by = by_column.get(found[0]) if found else None
        if found is None or sorted_by is None or sorted_by.many is not None:
            break  # the rest of the order would mean something else without this part
        order = sorted_by.column.desc() if found[1] else sorted_by.column.asc()
        shape.order.append(order.nulls_last() if found[2] else order)
    for column in resource.q_columns:
        found = _column_id(column)
        searched = by_column.get(found[0]) if found else None
        if searched is not None and searched.many is None:
            shape.q.append(func.json_extract(BODY, _path(searched.name)))
    for relation in relations_of(resource):
        if relation.target in REGISTRY:
            shape.relations[relation.name] = (relation.target, relation.column)
    return shape


def _inferred(endpoint: str, first: dict[str, Any]) -> Shape:
    """An endpoint this hovor does not declare (a package from another version): its fields as
    the first record shows them."""
    kinds: list[tuple[type, str]] = [(bool, "bool"), (int, "int"), (float, "float")]
    fields = []
    for name, value in first.items():
        type_ = next((t for cls, t in kinds if isinstance(value, cls)), "str")
        fields.append(QueryField(name, _value(_path(name)), type_))
    return Shape(endpoint, fields)


class _Compiler(QueryCompiler):
    """The API's compiler over the records' JSON: ``customFields.<key>`` is the field's first value,
    and a timestamp compares as the wire text in the tenant's zone."""

    def _custom(self, key: str) -> QueryField | None:
        if "customFields" not in self.fields or not CUSTOM_KEY.match(key):
            return None
        return QueryField(CUSTOM + key, func.json_extract(BODY, _path("customFields", key) + "[0]"), "str")

    def _coerce(self, f: QueryField, value: Any) -> Any:
        coerced = super()._coerce(f, value)
        return to_wire(coerced, self.tz) if f.type == "datetime" else coerced

    def _bounds(self, value: Any) -> tuple[Any, Any]:
        return value, value  # the wire text names its second

    @staticmethod
    def _second(col: Any, op: str, take: Take) -> Any:
        value, _ = next(take), next(take)
        comparisons: dict[str, Callable[[], Any]] = {
            "eq": lambda: col == value,
            "neq": lambda: (col != value) | col.is_(None),
            "gt": lambda: col > value,
            "gte": lambda: col >= value,
            "lt": lambda: col < value,
            "lte": lambda: col <= value,
        }
        return comparisons[op]()


class Package:
    """The records of a verified package, queried as the API lists and reads them."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.tenant: dict[str, Any] = orjson.loads(archive.read("tenant.json"))
        self.tz = str(self.tenant.get("timezone") or "UTC")
        self.manifest: dict[str, Any] = orjson.loads(archive.read("manifest.json"))["manifest"]
        self.engine = create_engine(
            "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
        RECORDS.metadata.create_all(self.engine)
        self.lock = threading.Lock()  # one connection, shared by the server's threads
        self.shapes: dict[str, Shape] = {}
        self.counts: dict[str, int] = {}
        for member in sorted(archive.namelist()):
            match = DATA.match(member)
            if match:
                self._load(match.group(1), archive.read(member).splitlines())

    def _load(self, endpoint: str, lines: list[bytes]) -> None:
        rows = [orjson.loads(line) for line in lines if line.strip()]
        resource = REGISTRY.get(endpoint)
        self.shapes[endpoint] = (
            _declared(resource) if resource is not None else _inferred(endpoint, rows[0] if rows else {})
        )
        self.counts[endpoint] = len(rows)
        with self.engine.begin() as conn:
            for start in range(0, len(rows), BATCH):
                batch = rows[start : start + BATCH]
                conn.execute(
                    insert(RECORDS),
                    [
                        {
                            "endpoint": endpoint,
                            "pos": start + i,
                            "name": str(r.get("name")),
                            "body": orjson.dumps(r).decode(),
                        }
                        for i, r in enumerate(batch)
                    ],
                )

    def shape(self, endpoint: str) -> Shape:
        found = self.shapes.get(endpoint)
        if found is None:
            raise NotFound(f"The package holds no {endpoint[:64]!r}.")
        return found

    def page(self, endpoint: str, items: list[tuple[str, str]], where: Any = None) -> dict[str, Any]:
        """A page as ``GET /api/v6/{endpoint}.json`` with these query parameters answers it."""
        shape = self.shape(endpoint)
        compiler = _Compiler(
            endpoint, shape.fields, shape.q, self.tz, PAGE, MAX_PAGE, shape.order, [RECORDS.c.pos]
        )
        query = compiler.compile(parse_brackets(items))
        conditions = [RECORDS.c.endpoint == endpoint, *([] if where is None else [where]), *query.where]
        with self.lock, self.engine.connect() as conn:
            total = conn.scalar(select(func.count()).select_from(RECORDS).where(*conditions)) or 0
            page = select(BODY).where(*conditions).order_by(*query.order).offset(query.skip).limit(query.take)
            rows = [orjson.loads(body) for body in conn.scalars(page)]
        if query.fields is not None:
            rows = [{k: row.get(k) for k in query.fields} for row in rows]
        return {"data": rows, "total": total}

    def get(self, endpoint: str, name: str) -> dict[str, Any]:
        self.shape(endpoint)
        with self.lock, self.engine.connect() as conn:
            body = conn.scalar(
                select(BODY).where(RECORDS.c.endpoint == endpoint, RECORDS.c.name == name).limit(1)
            )
        if body is None:
            raise NotFound("Record not found.")
        return dict(orjson.loads(body))

    def related(
        self, endpoint: str, name: str, relation: str, items: list[tuple[str, str]]
    ) -> dict[str, Any]:
        """``{endpoint}/{name}/{relation}.json``: the target's records that name this one."""
        self.get(endpoint, name)
        target = self.shape(endpoint).relations.get(relation)
        if target is None or target[0] not in self.shapes:
            raise NotFound(f"{endpoint} has no relation {relation[:64]!r} in the package.")
        target_endpoint, column = target
        return self.page(target_endpoint, items, where=cast(_value(_path(column)), String) == name)


def load(path: Path, identity: Any, key_id: str | None = None) -> Package:
    """The package at ``path``, decrypted with the controller's identity and verified; refused whole
    when anything in it does not verify."""
    try:
        archive = open_package(path, identity)
    except (pyrage.DecryptError, zipfile.BadZipFile, OSError) as exc:
        raise PackageRefused([f"cannot decrypt or open: {type(exc).__name__}"]) from None
    problems = check_archive(archive, key_id)
    if problems:
        raise PackageRefused(problems)
    return Package(archive)
