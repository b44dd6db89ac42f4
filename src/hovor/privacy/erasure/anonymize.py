"""The ``anonymize`` step: the person's own records, a chunk per transaction.

Per chunk: the blobs' keys destroyed, rows deleted or cleared as the registry says, the identifier
index dropped, the search entries rewritten, a tombstone per changed record and one audit entry.
The retention sweep anonymizes its expired records with the same :func:`anonymize_records`, with a
:class:`Blank` redactor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from hovor.audit import log as audit
from hovor.core.db import unit_of_work
from hovor.files.service import Files
from hovor.index import search
from hovor.index.models import Identifier
from hovor.jobs import service as jobs
from hovor.privacy.deletes import tombstone
from hovor.privacy.erasure.columns import PLACEHOLDER, Blank, row_change
from hovor.privacy.erasure.context import CHUNK, actor_of
from hovor.privacy.erasure.identity import redactor_of
from hovor.privacy.erasure.plan import (
    CHILDREN,
    INDEX_TYPE,
    MODELS,
    TYPES,
    check_holds_now,
    in_chunks,
    only,
    plan_of,
)
from hovor.privacy.redact import Redactor


@dataclass
class _Changes:
    """What a chunk's rows become, gathered before anything is written.

    Rows whose changes are the same constants (emptied, a placeholder, the anonymized flag) are
    updated together, one statement per table and set of changes; redacted text row by row."""

    redactor: Redactor | Blank
    per_record: dict[str, set[str]]  # record key → ``table.column`` changed
    fields: dict[str, int] = field(default_factory=dict)  # ``table.column`` → rows changed
    blobs: list[str] = field(default_factory=list)
    doomed: dict[Any, list[Any]] = field(default_factory=dict)  # model → keys of rows that go whole
    together: dict[tuple[Any, str], tuple[dict[str, Any], list[Any]]] = field(default_factory=dict)
    alone: list[tuple[Any, Any, dict[str, Any]]] = field(default_factory=list)

    def add(self, obj: Any, record_key: str, extra: dict[str, Any] | None = None) -> None:
        change = row_change(obj, self.redactor)
        for name in change.fields:
            self.fields[name] = self.fields.get(name, 0) + 1
            self.per_record[record_key].add(name)
        self.blobs.extend(change.blobs)
        model = type(obj)
        if change.delete_row:
            self.doomed.setdefault(model, []).append(obj.name)
            return
        constant = {k: v for k, v in change.values.items() if not isinstance(v, str) or v == PLACEHOLDER}
        constant.update(extra or {})
        varying = {k: v for k, v in change.values.items() if k not in constant}
        if constant:
            group = (model, repr(sorted(constant.items())))
            self.together.setdefault(group, (constant, []))[1].append(obj.name)
        if varying:
            self.alone.append((model, obj.name, varying))


def _gather(session: Session, tenant_id: str, kind: str, key_values: list[Any], changes: _Changes) -> None:
    """Every row of the records and of their child rows, as the registry changes it."""
    for child, column in CHILDREN.get(kind, []):
        col = getattr(child, column)
        for obj in session.scalars(select(child).where(child.tenant_id == tenant_id, col.in_(key_values))):
            changes.add(obj, str(getattr(obj, column)))
    if kind == "contacts":
        return  # contacts are deleted in their own step, last
    model = MODELS[kind]
    for obj in session.scalars(select(model).where(model.tenant_id == tenant_id, model.name.in_(key_values))):
        key = str(obj.name)
        flag = {}
        if hasattr(obj, "anonymized") and not obj.anonymized:
            flag = {"anonymized": True}
            changes.per_record[key].add(f"{model.__tablename__}.anonymized")
        changes.add(obj, key, flag)


def _delete_rows(session: Session, tenant_id: str, doomed: dict[Any, list[Any]]) -> dict[str, int]:
    """Rows that go whole, one statement per table. Returns the rows deleted per table."""
    deleted: dict[str, int] = {}
    for model, names in doomed.items():
        deleted[model.__tablename__] = len(names)
        for part in in_chunks(names):
            session.execute(
                delete(model)
                .where(model.tenant_id == tenant_id, model.name.in_(part))
                .execution_options(synchronize_session=False)
            )
    return deleted


def _update_rows(session: Session, tenant_id: str, changes: _Changes) -> None:
    for (model, _), (values, names) in changes.together.items():
        for part in in_chunks(names):
            session.execute(
                update(model)
                .where(model.tenant_id == tenant_id, model.name.in_(part))
                .values(**values)
                .execution_options(synchronize_session=False)
            )
    # Redacted text: the ORM's bulk update by primary key, one executemany per table and columns.
    by_shape: dict[tuple[Any, tuple[str, ...]], list[dict[str, Any]]] = {}
    for model, name, values in changes.alone:
        by_shape.setdefault((model, tuple(sorted(values))), []).append(
            {"tenant_id": tenant_id, "name": name, **values}
        )
    for (model, _), rows in by_shape.items():
        session.execute(update(model), rows)


def anonymize_records(
    session: Session,
    files: Files,
    tenant_id: str,
    kind: str,
    keys: list[str],
    redactor: Redactor | Blank,
    *,
    action: str,
    job: str | None,
    request_id: str | None = None,
) -> tuple[dict[str, dict[str, int]], dict[str, list[str]]]:
    """Every record of ``keys`` and its child rows as the registry says, in the caller's
    transaction: blobs' keys destroyed, rows deleted or cleared, the identifier index dropped, a
    tombstone per changed record. Returns the counts and, per changed record, the fields changed."""
    key_values: list[Any] = [int(k) for k in keys] if kind == "tickets" else keys
    changes = _Changes(redactor, {k: set() for k in keys})
    _gather(session, tenant_id, kind, key_values, changes)
    session.expunge_all()  # what changes is written below, statement by statement, not by the ORM
    # The blobs' keys go first, in this transaction: from its commit on, no copy can be read.
    shredded = sum(files.destroy_keys(session, tenant_id, part) for part in in_chunks(changes.blobs))
    deleted = _delete_rows(session, tenant_id, changes.doomed)
    _update_rows(session, tenant_id, changes)
    session.execute(
        delete(Identifier).where(
            Identifier.tenant_id == tenant_id,
            Identifier.object_type == INDEX_TYPE[kind],
            Identifier.object_name.in_(keys),
        )
    )
    # Their search entries as they read now: the redacted text stays findable, her name does not.
    search.refresh(session, MODELS[kind], tenant_id, keys)
    changed = {k: sorted(v) for k, v in changes.per_record.items() if v}
    for key, fields in changed.items():
        tombstone(session, tenant_id, kind, key, action, fields=fields, job=job, request_id=request_id)
    session.flush()
    counts = {
        "anonymized": changes.fields,
        "deleted": deleted,
        "records": {kind: len(changed)},
        "blobs": {"shredded": shredded},
    }
    return counts, changed


def anonymize_chunk(
    session: Session, run: jobs.Run, kind: str, keys: list[str], redactor: Redactor
) -> dict[str, dict[str, int]]:
    """One transaction of the erasure: every record of ``keys`` and its child rows, as the registry
    says, unless a legal hold placed since the plan covers one of them."""
    check_holds_now(session, run, only(kind, keys))
    counts, changed = anonymize_records(
        session,
        run.env.files,
        run.tenant_id,
        kind,
        keys,
        redactor,
        action="anonymize",
        job=run.name,
        request_id=run.params.get("request_id"),
    )
    if changed:
        audit.record(
            session,
            run.tenant_id,
            "privacy.erasure.chunk",
            actor_of(run),
            kind,
            None,
            {"job": run.name, "records": len(changed), "first": min(changed), "last": max(changed)},
        )
    return counts


def anonymize_all(
    run: jobs.Run, planned: dict[str, list[str]], redactor: Redactor, fault: str | None
) -> None:
    """The records of ``planned`` (contacts aside), a chunk per transaction, in the plan's order."""
    for kind in TYPES:
        if kind == "contacts":
            continue
        for chunk in in_chunks(planned.get(kind, []), CHUNK):
            with unit_of_work(run.env.factory) as session:
                counts = anonymize_chunk(session, run, kind, chunk, redactor)
                run.beat(session, **counts)
            if fault is not None:
                run.fault(fault)


def step_anonymize(run: jobs.Run) -> None:
    with run.env.reader() as reader:
        redactor = redactor_of(reader, run)
    anonymize_all(run, plan_of(run).keys, redactor, "anonymize.chunk")
