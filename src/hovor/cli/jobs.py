"""``hovor jobs``: erasures and other long work."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from hovor.audit import log as audit
from hovor.cli.common import console, factory, job_env
from hovor.jobs.models import Job
from hovor.jobs.service import run_pending

jobs_app = typer.Typer(help="Jobs: erasures and other long work.", no_args_is_help=True)


@jobs_app.command("list")
def jobs_list(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's jobs.")] = None,
    state: Annotated[str | None, typer.Option(help="queued | running | done | failed")] = None,
    limit: int = 50,
) -> None:
    """The newest jobs with their state and step."""
    with factory()() as session:
        stmt = select(Job).order_by(Job.created.desc()).limit(limit)
        if tenant:
            stmt = stmt.where(Job.tenant_id == tenant)
        if state:
            stmt = stmt.where(Job.state == state)
        table = Table("tenant", "job", "kind", "state", "step", "attempts", "created", "finished", "error")
        for job in session.scalars(stmt):
            table.add_row(
                job.tenant_id,
                job.name,
                job.kind,
                job.state,
                job.step or "",
                str(job.attempts),
                audit.stamp(job.created),
                audit.stamp(job.finished) if job.finished else "",
                job.error or "",
            )
    console.print(table)


@jobs_app.command("run")
def jobs_run() -> None:
    """Run every due job now, in this process, and stop."""
    done = run_pending(job_env())
    console.print(f"{done} job(s) run")
