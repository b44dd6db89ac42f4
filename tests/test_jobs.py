"""Jobs: enqueued with the request's transaction, retried with backoff, failed for good after their
last attempt, taken over when their worker dies, and claimed once each by concurrent workers."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine

from conftest import _truncate, make_tenant
from hovor.core.db import unit_of_work, utcnow
from hovor.jobs import service as jobs
from hovor.jobs.models import DONE, FAILED, QUEUED, RUNNING, Job

RAN: Counter[str] = Counter()
FAILURES: dict[str, int] = {}
GIVEN_UP: list[str] = []
LOCK = threading.Lock()


def _flaky(run: jobs.Run) -> None:
    with LOCK:
        RAN[run.name] += 1
        left = FAILURES.get(run.name, 0)
        if left:
            FAILURES[run.name] = left - 1
            raise RuntimeError("the store is down (this text must not reach the job row)")


def _count(run: jobs.Run) -> None:
    with LOCK:
        RAN[run.name] += 1
    with unit_of_work(run.env.factory) as session:
        run.beat(session, work={"units": 1})


jobs.register("test.flaky", [("only", _flaky)], on_failure=lambda run: GIVEN_UP.append(run.name))
jobs.register("test.count", [("first", _count), ("second", _count)])


@pytest.fixture
def env(app: Any, engine: Engine) -> Iterator[jobs.Env]:
    # No client fixture: its lifespan would start the in-process worker, which would take these jobs.
    _truncate(engine)
    make_tenant(app, "acme")
    RAN.clear()
    FAILURES.clear()
    GIVEN_UP.clear()
    yield jobs.env_of(app.state)


def _enqueue(env: jobs.Env, kind: str, max_attempts: int = 8) -> str:
    with unit_of_work(env.factory) as s:
        return jobs.enqueue(s, "acme", kind, {}, max_attempts=max_attempts).name


def _job(env: jobs.Env, name: str) -> Job:
    with env.factory() as s:
        job = s.get(Job, ("acme", name))
        assert job is not None
        return job


def _make_due(env: jobs.Env, name: str) -> None:
    with unit_of_work(env.factory) as s:
        s.execute(update(Job).where(Job.name == name).values(run_after=utcnow() - dt.timedelta(seconds=1)))


def test_enqueued_job_exists_only_with_its_transaction(env: jobs.Env) -> None:
    with pytest.raises(RuntimeError), unit_of_work(env.factory) as s:
        jobs.enqueue(s, "acme", "test.count", {})
        raise RuntimeError("the request failed after enqueueing")
    assert jobs.run_pending(env) == 0
    with pytest.raises(ValueError), unit_of_work(env.factory) as s:
        jobs.enqueue(s, "acme", "no.such.kind", {})


def test_a_failing_job_is_retried_with_backoff_then_succeeds(env: jobs.Env) -> None:
    name = _enqueue(env, "test.flaky")
    FAILURES[name] = 2
    assert jobs.run_pending(env) == 1
    job = _job(env, name)
    assert job.state == QUEUED and job.attempts == 1 and job.error == "RuntimeError"
    assert job.run_after > utcnow()  # backing off: not due yet
    assert jobs.run_pending(env) == 0
    _make_due(env, name)
    jobs.run_pending(env)
    later = _job(env, name)
    assert later.attempts == 2 and later.run_after - utcnow() > dt.timedelta(seconds=1)  # 2 s, then 4 s ...
    _make_due(env, name)
    jobs.run_pending(env)
    done = _job(env, name)
    assert done.state == DONE and done.error is None and RAN[name] == 3 and done.finished is not None


def test_a_job_fails_for_good_after_its_last_attempt(env: jobs.Env) -> None:
    name = _enqueue(env, "test.flaky", max_attempts=2)
    FAILURES[name] = 99
    jobs.run_pending(env)
    _make_due(env, name)
    jobs.run_pending(env)
    job = _job(env, name)
    assert job.state == FAILED and job.attempts == 2 and [name] == GIVEN_UP
    _make_due(env, name)
    assert jobs.run_pending(env) == 0


def test_a_stuck_job_is_taken_over(env: jobs.Env, app: Any) -> None:
    name = _enqueue(env, "test.count")
    dead = jobs.claim(env, "host:1:dead")  # a worker that claimed the job and died
    assert dead is not None and _job(env, name).state == RUNNING
    assert jobs.run_pending(env) == 0  # its lease still runs
    with unit_of_work(env.factory) as s:
        stale = utcnow() - dt.timedelta(seconds=env.settings.job_lease_seconds + 1)
        s.execute(update(Job).where(Job.name == name).values(heartbeat=stale))
    assert jobs.run_pending(env) == 1
    job = _job(env, name)
    assert job.state == DONE and job.attempts == 2 and job.progress["work"] == {"units": 2}
    # The dead worker, come back, finds its job taken and does nothing more.
    assert jobs.run(dead) is False
    assert _job(env, name).progress["work"] == {"units": 2}


def test_concurrent_workers_claim_each_job_once(env: jobs.Env) -> None:
    names = [_enqueue(env, "test.count") for _ in range(30)]
    errors: list[BaseException] = []

    def work() -> None:
        try:
            jobs.run_pending(env)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert all(RAN[n] == 2 for n in names), RAN  # two steps each, each run once
    assert {_job(env, n).state for n in names} == {DONE}
