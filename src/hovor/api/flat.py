"""Reads for serialization without ORM identity: one joined query, plain attribute objects.

A list page or a single read needs a record and the few related records its serializer shows (a
call's queue, operator, contact and recording). Loading them as ORM objects costs far more than
the query itself: every object is tracked, keyed in the identity map and instrumented, which is
what a unit of work needs and a read does not. Here the same joins select plain columns, and each
row becomes small attribute objects shaped like the ORM objects (``activity.call.recording.name``),
so the resource's one serializer serves both paths. Writes keep using the ORM.

The plan (the joins and column labels) is built once per resource from its ``eager`` paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Select, inspect, select
from sqlalchemy.orm import aliased

# A relationship named ``*_obj`` is a reference (a contact's account, an activity's queue): its
# serializers show ``{"name", "title"}`` (and a contact's database decides whether its name shows),
# so only those columns are read; never, say, a user's password hash.
REFERENCE_SUFFIX = "_obj"
REFERENCE_COLUMNS = frozenset({"tenant_id", "name", "title", "database"})


@dataclass(frozen=True)
class _Node:
    parent: int  # index of the parent node; -1 for the root
    key: str  # the relationship's attribute name on the parent
    entity: Any
    columns: tuple[str, ...]  # attribute names of the mapped columns
    first: int  # index of this node's first column in a row
    present: int  # index of a primary-key column: None means the related record is absent


class FlatPlan:
    def __init__(self, model: Any, paths: tuple[tuple[Any, ...], ...]) -> None:
        self.model = model
        nodes: list[_Node] = []
        by_path: dict[tuple[str, ...], int] = {}
        selected: list[Any] = []
        joins: list[Any] = []

        def add(parent: int, key: str, entity: Any, mapper: Any) -> int:
            columns = tuple(attr.key for attr in mapper.column_attrs)
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
        self.nodes = tuple(nodes)
        stmt = select(*selected).select_from(model)
        for join in joins:
            stmt = stmt.outerjoin(join)
        self.base: Select[Any] = stmt

    def objects(self, rows: Any) -> list[Any]:
        out = []
        shapes = [
            (n.parent, n.key, n.columns, n.first, n.first + len(n.columns), n.present) for n in self.nodes
        ]
        for row in rows:
            values = tuple(row)
            made: list[Any] = []
            for parent_at, key, columns, first, last, present in shapes:
                parent = made[parent_at] if parent_at >= 0 else None
                if parent_at >= 0 and (parent is None or values[present] is None):
                    obj = None
                else:
                    obj = SimpleNamespace()
                    obj.__dict__.update(zip(columns, values[first:last], strict=True))
                if parent is not None:
                    setattr(parent, key, obj)
                made.append(obj)
            out.append(made[0])
        return out


_PLANS: dict[str, FlatPlan] = {}


def plan_for(resource: Any) -> FlatPlan:
    plan = _PLANS.get(resource.endpoint)
    if plan is None:
        plan = _PLANS[resource.endpoint] = FlatPlan(resource.model, tuple(resource.eager))
    return plan
