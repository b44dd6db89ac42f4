"""``hovor retention``: what is kept how long, and the sweep run by hand."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.progress import Progress, TaskID
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from hovor.audit import log as audit
from hovor.audit import prune
from hovor.audit.keys import Pseudonyms
from hovor.cli.common import CLI, console, err, factory, fail, job_env, progress
from hovor.core.config import get_settings
from hovor.core.db import utcnow
from hovor.jobs.service import Env
from hovor.privacy import compaction, policies, retention
from hovor.tenancy.models import Tenant

retention_app = typer.Typer(help="Retention: what is kept how long, and the sweep.", no_args_is_help=True)


def _tenants(session: Session, tenant: str | None) -> list[str]:
    if tenant:
        if session.get(Tenant, tenant) is None:
            fail(f"no tenant {tenant}")
        return [tenant]
    return list(session.scalars(select(Tenant.id).order_by(Tenant.id)))


def _when(value: Any) -> str:
    return audit.stamp(value) if value else ""


@retention_app.command("preview")
def retention_preview(tenant: Annotated[str | None, typer.Option(help="Only this tenant.")] = None) -> None:
    """Per tenant and policy (recordings per queue): how many records the next sweep would remove,
    the oldest and newest."""
    with factory()() as session:
        table = Table("tenant", "policy", "days", "action", "records", "oldest", "newest")
        for tenant_id in _tenants(session, tenant):
            recordings, *others = retention.preview_all(session, tenant_id, get_settings())
            for q in recordings["queues"]:
                table.add_row(
                    tenant_id,
                    f"recordings: {q['queue'] or '(no queue)'}",
                    str(q["days"]) + (" (held)" if q["held"] else ""),
                    "delete",
                    str(q["count"]),
                    _when(q["oldest"]),
                    _when(q["newest"]),
                )
            for p in others:
                table.add_row(
                    tenant_id,
                    p["policy"],
                    f"{p['days']}" + ("" if p["source"] == "policy" else f" ({p['source']})"),
                    p["action"],
                    str(p["count"]),
                    _when(p["oldest"]),
                    _when(p["newest"]),
                )
    console.print(table)


@retention_app.command("run")
def retention_run(tenant: Annotated[str | None, typer.Option(help="Only this tenant.")] = None) -> None:
    """Sweep now, in this process, with a progress bar per policy: expired recordings and records
    go, files are shredded, the audit log is pruned; on PostgreSQL the tables are compacted after."""
    env = job_env()
    with env.factory() as session:
        tenants = _tenants(session, tenant)
        due = {t: retention.preview_all(session, t, env.settings) for t in tenants}
    removed: dict[str, int] = {}
    with progress(counted=True) as bars:
        for tenant_id in tenants:
            _sweep_tenant(env, bars, tenant_id, due[tenant_id], removed)
    env.files.reap(env.factory, limit=10**9)
    tables = retention.touched_tables({"policies": removed})
    if tables and env.engine.dialect.name == "postgresql":
        compaction.vacuum(env.engine, tables)
    elif tables:
        compaction.compact_sqlite(env.engine)
    for name, n in removed.items():
        if n:
            console.print(f"{name}: {n} removed")
    console.print(f"{sum(removed.values())} record(s) removed in all")


def _sweep_tenant(
    env: Env, bars: Progress, tenant_id: str, due: list[dict[str, Any]], removed: dict[str, int]
) -> None:
    """One tenant's recordings, then each of its policies, adding what went to ``removed``."""
    recordings, *others = due
    task = bars.add_task(f"{tenant_id}: recordings", total=recordings["count"] or None)

    def advance(_session: Session, n: int, task: TaskID = task) -> None:
        bars.advance(task, n)

    n = retention.sweep(env.factory, env.files, tenant_id, actor=CLI, after_chunk=advance)
    removed["call_recordings"] = removed.get("call_recordings", 0) + n
    with env.factory() as session:
        todo = policies.effective(session, tenant_id, env.settings, utcnow())
    counts = {p["policy"]: p["count"] for p in others}
    for policy in todo:
        task = bars.add_task(f"{tenant_id}: {policy.name}", total=counts.get(policy.name) or None)

        def step(_session: Session, n: int, task: TaskID = task) -> None:
            bars.advance(task, n)

        if policy.name == policies.AUDIT_LOG:
            try:
                n = prune.prune(env.factory, tenant_id, policy.cutoff, CLI, env.signer, after_chunk=step)
            except prune.PruneRefused as exc:
                err.print(f"audit log not pruned: {exc}; run hovor audit verify")
                n = 0
        else:
            n = policies.sweep_kind(
                env.factory,
                env.files,
                tenant_id,
                policy,
                actor=CLI,
                chunk=env.settings.retention_chunk,
                after_chunk=step,
                pseudonyms=Pseudonyms(env.settings.secret_key),
            )
        removed[policy.name] = removed.get(policy.name, 0) + n
