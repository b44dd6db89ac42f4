"""``jobs.json`` and ``jobs/{name}.json``: the state, step, attempts and counts of long work, in the
v6 list conventions (permission ``admin:jobs:read``). Read-only: jobs are made by the requests and
schedules that need them and run by the worker.

The jobs package is infrastructure, below the HTTP machinery, so its routes live here, as the audit
log's do (``hovor.api.audit_log``); the list and read routes are the generic ones.
"""

from __future__ import annotations

from typing import Any

from hovor.api.resource import Ctx, Resource, qf, register
from hovor.core.wire import to_wire
from hovor.jobs.models import Job


def serialize_job(job: Job, ctx: Ctx) -> dict[str, Any]:
    progress = dict(job.progress or {})
    progress.pop("plan", None)  # record keys by the thousand; the counts say enough
    return {
        "name": job.name,
        "kind": job.kind,
        "target": job.target,
        "state": job.state,
        "step": job.step,
        "progress": progress,
        "attempts": job.attempts,
        "error": job.error,
        "created": to_wire(job.created, ctx.tz),
        "created_by": job.created_by,
        "started": to_wire(job.started, ctx.tz),
        "finished": to_wire(job.finished, ctx.tz),
        "result": job.result,
    }


def job_link(name: str) -> str:
    return f"/api/v6/jobs/{name}.json"


register(
    Resource(
        endpoint="jobs",
        title="Jobs",
        model=Job,
        permission="admin:jobs",
        fields=[
            qf("name", Job.name),
            qf("kind", Job.kind),
            qf("target", Job.target),
            qf("state", Job.state),
            qf("step", Job.step),
            qf("progress", Job.progress, filter=False, sort=False),
            qf("attempts", Job.attempts, "int"),
            qf("error", Job.error),
            qf("created", Job.created, "datetime"),
            qf("created_by", Job.created_by),
            qf("started", Job.started, "datetime"),
            qf("finished", Job.finished, "datetime"),
            qf("result", Job.result, filter=False, sort=False),
        ],
        serialize=serialize_job,
        default_order=[Job.created.desc()],
    )
)
