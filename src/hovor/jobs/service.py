"""Enqueueing, claiming and running jobs.

A job is a list of named steps. Each step is idempotent and commits its own work (in chunks when it
is large); the worker marks a step done in its own transaction after the step returns, so a worker
that dies anywhere leaves a job that another worker takes over once its lease runs out, and that
resumes at the first step not marked done. The job's kind names its steps in :data:`KINDS`.

On PostgreSQL several workers claim with ``FOR UPDATE SKIP LOCKED``; on SQLite the claim runs in a
write transaction, which serializes it.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from hovor.core import faults
from hovor.core.config import Settings
from hovor.core.db import make_session_factory, new_name, unit_of_work, utcnow
from hovor.jobs.models import DONE, FAILED, QUEUED, RUNNING, Job

log = logging.getLogger("hovor.jobs")

MAX_BACKOFF_SECONDS = 600


@dataclass
class Env:
    """What a job's steps may use: the settings, sessions, the blob store, the signing key."""

    settings: Settings
    factory: sessionmaker[Session]
    files: Any
    signer: Any
    engine: Any

    @property
    def reader(self) -> sessionmaker[Session]:
        """Sessions that only read: long scans must not hold SQLite's writer lock."""
        return make_session_factory(self.engine, writes=False)


@dataclass
class Run:
    """One job being run: its identity and a way to report progress and stay claimed."""

    env: Env
    tenant_id: str
    name: str
    kind: str
    params: dict[str, Any]
    worker: str
    progress: dict[str, Any] = field(default_factory=dict)
    # What steps may share within one run of the job (in memory only, gone with the process).
    memo: dict[str, Any] = field(default_factory=dict)

    def beat(self, session: Session, settle: dict[str, Any] | None = None, **counts: dict[str, int]) -> None:
        """In the step's own transaction: check the claim is still this worker's (else
        :class:`TakenOver`, and the chunk rolls back), renew it, add ``counts`` (per group, per
        name) to the job's progress and set the ``settle`` entries.

        Counts written here commit with the chunk they count, so they stay exact across crashes."""
        job = _mine(session, self)
        merged = dict(job.progress or {})
        for group, values in counts.items():
            inner = dict(merged.get(group) or {})
            for key, value in values.items():
                inner[key] = inner.get(key, 0) + value
            merged[group] = inner
        merged.update(settle or {})
        job.progress = merged
        job.heartbeat = utcnow()
        self.progress = merged

    def fault(self, point: str) -> None:
        faults.point(f"{self.kind}.{point}")


Step = tuple[str, Callable[[Run], None]]


@dataclass(frozen=True)
class Kind:
    steps: Sequence[Step]
    # Called when the job fails for good (after its last attempt): e.g. to say so in the audit log.
    on_failure: Callable[[Run], None] | None = None


KINDS: dict[str, Kind] = {}


def register(kind: str, steps: Sequence[Step], on_failure: Callable[[Run], None] | None = None) -> None:
    KINDS[kind] = Kind(tuple(steps), on_failure)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def enqueue(
    session: Session,
    tenant_id: str,
    kind: str,
    params: dict[str, Any],
    created_by: str | None = None,
    max_attempts: int = 8,
    target: str | None = None,
) -> Job:
    """Adds a job in the caller's transaction: it exists if and only if the request's change does."""
    if kind not in KINDS:
        raise ValueError(f"unknown job kind {kind!r}")
    job = Job(
        tenant_id=tenant_id,
        name=new_name("jobs"),
        kind=kind,
        target=target,
        params=params,
        state=QUEUED,
        step=KINDS[kind].steps[0][0],
        progress={"done": []},
        attempts=0,
        max_attempts=max_attempts,
        run_after=utcnow(),
        created_by=created_by,
    )
    session.add(job)
    session.flush()
    return job


class TakenOver(Exception):
    """This worker's claim on the job ended (its lease ran out and another worker took the job)."""


class Finished(Exception):
    """A step removed the job's own row with what it belonged to (a tenant's purge deletes its
    tenant, jobs included): the job is over, and there is no row left to mark."""


class Abort(Exception):
    """A step found the job cannot succeed by retrying (a legal hold now covers a record): the
    job fails at once. ``reason`` is a short code kept on the job; never personal data."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _mine(session: Session, run_: Run) -> Job:
    """The job row, locked for this transaction, if this worker still holds it."""
    job = session.get(Job, (run_.tenant_id, run_.name), with_for_update=True)
    if job is None or job.claimed_by != run_.worker or job.state != RUNNING:
        raise TakenOver(run_.name)
    return job


def claim(env: Env, worker: str, *, kinds: Sequence[str] | None = None) -> Run | None:
    """Takes the oldest runnable job: queued and due, or running under a lease that ran out."""
    now = utcnow()
    stale = now - dt.timedelta(seconds=env.settings.job_lease_seconds)
    runnable = or_(
        and_(Job.state == QUEUED, Job.run_after <= now),
        and_(Job.state == RUNNING, Job.heartbeat < stale),
    )
    if kinds:
        runnable = and_(runnable, Job.kind.in_(kinds))
    # An idle worker asks every second; asking without a write transaction keeps it from taking
    # SQLite's writer lock (or a PostgreSQL row lock) when there is nothing to do.
    with env.engine.connect() as conn:
        if conn.execute(select(Job.name).where(runnable).limit(1)).first() is None:
            return None
    given_up: Run | None = None
    with unit_of_work(env.factory) as session:
        stmt = select(Job).where(runnable).order_by(Job.run_after).limit(1).with_for_update(skip_locked=True)
        job = session.scalars(stmt).first()
        if job is None:
            return None
        run_ = Run(env, job.tenant_id, job.name, job.kind, dict(job.params), worker, dict(job.progress or {}))
        if job.kind not in KINDS or job.attempts >= job.max_attempts:
            # Its worker died on the last attempt: the job has failed for good.
            job.state, job.finished = FAILED, now
            job.error = job.error or ("UnknownKind" if job.kind not in KINDS else "TooManyAttempts")
            given_up = run_ if job.kind in KINDS else None
        else:
            job.state = RUNNING
            job.claimed_by = worker
            job.heartbeat = now
            job.attempts += 1
            job.started = job.started or now
    if given_up is not None:
        _give_up(given_up)
        return claim(env, worker, kinds=kinds)
    return run_


class _Heartbeat:
    """Renews the claim while a step works for longer than the lease allows (a long scan, a
    VACUUM FULL), so no other worker takes over a job that is still running."""

    def __init__(self, run_: Run) -> None:
        self.run = run_
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=self._beat, name=f"hovor-job-heartbeat-{run_.name}", daemon=True
        )

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(5)

    def _beat(self) -> None:
        interval = max(0.05, self.run.env.settings.job_lease_seconds / 4)
        while not self.stop.wait(interval):
            try:
                with unit_of_work(self.run.env.factory) as session:
                    session.execute(
                        update(Job)
                        .where(
                            Job.tenant_id == self.run.tenant_id,
                            Job.name == self.run.name,
                            Job.claimed_by == self.run.worker,
                            Job.state == RUNNING,
                        )
                        .values(heartbeat=utcnow())
                    )
            except Exception:
                log.warning("could not renew the claim on job %s; will retry", self.run.name)


def run(run_: Run) -> bool:
    """Runs the job's remaining steps. True when the job is done.

    Every write to the job row checks that this worker still holds it; a worker whose lease ran
    out (it was stopped in a debugger, its host was suspended) stops at its next write."""
    kind = KINDS[run_.kind]
    done = set(run_.progress.get("done") or [])
    try:
        with _Heartbeat(run_):
            for step_name, step in kind.steps:
                if step_name in done:
                    continue
                with unit_of_work(run_.env.factory) as session:
                    job = _mine(session, run_)
                    job.step = step_name
                    job.heartbeat = utcnow()
                step(run_)
                run_.fault(step_name)
                with unit_of_work(run_.env.factory) as session:
                    job = _mine(session, run_)
                    progress = dict(job.progress or {})
                    progress["done"] = [*(progress.get("done") or []), step_name]
                    job.progress = progress
                    job.heartbeat = utcnow()
                done.add(step_name)
            with unit_of_work(run_.env.factory) as session:
                job = _mine(session, run_)
                job.state, job.step, job.finished, job.error = DONE, None, utcnow(), None
        return True
    except Finished:
        return True
    except TakenOver:
        log.warning("job %s was taken over by another worker; stopping", run_.name)
        return False
    except Abort as exc:
        log.warning("job %s (%s) cannot succeed: %s", run_.name, run_.kind, exc.reason)
        _failed(run_, exc.reason, final=True)
        return False
    except Exception as exc:
        # The message may quote data; the job keeps the error's type only, the log has the trace.
        log.exception("job %s (%s) failed at a step", run_.name, run_.kind)
        _failed(run_, type(exc).__name__)
        return False


def _failed(run_: Run, error: str, *, final: bool = False) -> None:
    try:
        with unit_of_work(run_.env.factory) as session:
            job = _mine(session, run_)
            job.error = error[:255]
            if final or job.attempts >= job.max_attempts:
                job.state, job.finished = FAILED, utcnow()
                final = True
            else:
                backoff = min(MAX_BACKOFF_SECONDS, 2**job.attempts) * (0.5 + random.random() / 2)
                job.state, job.run_after = QUEUED, utcnow() + dt.timedelta(seconds=backoff)
    except TakenOver:
        return  # another worker holds the job now; its outcome is that worker's to record
    if final:
        _give_up(run_)


def _give_up(run_: Run) -> None:
    on_failure = KINDS[run_.kind].on_failure
    if on_failure is not None:
        try:
            on_failure(run_)
        except Exception:
            log.exception("recording the failure of job %s failed", run_.name)


def run_pending(env: Env, *, limit: int | None = None, kinds: Sequence[str] | None = None) -> int:
    """Runs due jobs until none is left (or ``limit`` were run). Returns how many were run."""
    count = 0
    worker = worker_id()
    while limit is None or count < limit:
        run_ = claim(env, worker, kinds=kinds)
        if run_ is None:
            return count
        run(run_)
        count += 1
    return count


class Worker:
    """A background thread that runs jobs: in `hovor serve` (one per process) or `hovor worker`."""

    def __init__(self, env: Env) -> None:
        self.env = env
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="hovor-jobs", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 10) -> None:
        self.stopping.set()
        self.wake.set()
        self.thread.join(timeout)

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                run_pending(self.env)
            except Exception:
                log.exception("job worker loop failed; will retry")
            self.wake.wait(self.env.settings.job_poll_seconds)
            self.wake.clear()


def env_of(state: Any) -> Env:
    """The job environment of a FastAPI app's state."""
    return Env(state.settings, state.session_factory, state.files, state.audit_signer, state.engine)
