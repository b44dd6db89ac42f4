"""Group commit: single-record creates that arrive together share one transaction.

A PBX that posts every call as a request of its own pays a transaction per call: the BEGIN, the
tenant's audit-chain lock and head, the inserts one statement at a time, the commit and its
flush to disk. Those costs are per transaction, not per record, and a feed's requests arrive
many at once. So a create of a feed-like resource (one that also offers ``batch.json``) does not
open its own transaction. Its request joins a queue on the event loop and waits there; while no
group is running, a task takes every create waiting (up to :data:`MAX_GROUP`), runs them one after
another in one session in the thread pool, commits once and hands each request its own answer.
Requests that arrive meanwhile wait for the next group, as they would have waited for the
database's write lock anyway, but without holding a thread each: a group costs one trip to the
thread pool, not one per record.

- A lone request runs at once: there is no timer and no added wait.
- Each member's answer is what it would have been alone. Members run in arrival order, each
  sees the ones before it as if they had committed, and each records its own audit entry (its own
  actor, address and request id). If anything in a group fails, a member's refusal or the commit
  itself, the whole group rolls back and every member runs again in a transaction of its own: one
  bad record never sinks its neighbours, and a refusal answers exactly as it would have.
- No answer is sent before the group has committed.

The same idea as a database's own group commit, one level up: it spends one transaction's fixed
costs on many records (docs/architecture.md, "Group commit of creates").
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from hovor.db import memoizing

# Larger groups spend the fixed costs on more records, but the members at the end of a group wait
# for all before them; 64 is past the point where the fixed costs still matter.
MAX_GROUP = 64

Create = Callable[[Session], Any]
Answer = Callable[[Session, Any], Any]


@dataclass(eq=False)
class _Member:
    create: Create
    answer: Answer
    future: asyncio.Future[Any]
    settled: bool = False
    result: Any = None
    error: BaseException | None = field(default=None)

    def settle(self, result: Any = None, error: BaseException | None = None) -> None:
        self.result, self.error, self.settled = result, error, True


class GroupCommit:
    """Runs creates, grouping those that wait at the same time into one transaction.

    ``new_session`` makes a write session set up as a request's would be (the audit requirement,
    the settings). ``create(session)`` makes the record and returns it; ``answer(session, record)``
    runs after every member's records are flushed and returns what the member's request answers.
    Both may run twice (the second time in a transaction of their own), so they must not act
    outside the session. Both run in the thread pool.
    """

    def __init__(self, new_session: Callable[[], Session], max_size: int = MAX_GROUP) -> None:
        self._new_session = new_session
        self._max = max_size
        self._waiting: list[_Member] = []
        self._drainer: asyncio.Task[None] | None = None
        # Figures for the curious (and the tests): groups run and members they held.
        self.groups = 0
        self.members = 0

    async def run(self, create: Create, answer: Answer) -> Any:
        loop = asyncio.get_running_loop()
        member = _Member(create, answer, loop.create_future())
        self._waiting.append(member)
        drainer = self._drainer
        # A drainer left behind by an event loop that stopped (a test client's) never runs again.
        if drainer is None or drainer.done() or drainer.get_loop() is not loop:
            self._waiting = [m for m in self._waiting if m.future.get_loop() is loop]
            self._drainer = asyncio.create_task(self._drain())
        return await member.future

    async def _drain(self) -> None:
        group: list[_Member] = []
        try:
            while self._waiting:
                group = self._waiting[: self._max]
                del self._waiting[: self._max]
                await run_in_threadpool(self._run_group, group)
                self.groups += 1
                self.members += len(group)
                for member in group:
                    _deliver(member)
                group = []
        except BaseException as exc:  # cancelled at shutdown: nobody may wait for nothing
            for member in [*group, *self._waiting]:
                if member.future.done():
                    continue
                if isinstance(exc, Exception):
                    member.future.set_exception(exc)
                else:
                    member.future.cancel()
            self._waiting.clear()
            raise
        finally:
            if self._drainer is asyncio.current_task():
                self._drainer = None

    def _run_group(self, group: list[_Member]) -> None:
        if len(group) == 1:
            self._alone(group[0])
        elif not self._together(group):
            for member in group:
                self._alone(member)

    def _together(self, group: list[_Member]) -> bool:
        session = self._new_session()
        try:
            with memoizing(session):
                records = [member.create(session) for member in group]
            session.flush()  # every member's rows in as few statements as the ORM can
            results = [member.answer(session, record) for member, record in zip(group, records, strict=True)]
            session.commit()
        except Exception:
            session.rollback()
            return False
        finally:
            session.close()
        for member, result in zip(group, results, strict=True):
            member.settle(result)
        return True

    def _alone(self, member: _Member) -> None:
        session = self._new_session()
        try:
            record = member.create(session)
            result = member.answer(session, record)
            session.commit()
        except Exception as exc:
            session.rollback()
            member.settle(error=exc)
        else:
            member.settle(result)
        finally:
            session.close()


def _deliver(member: _Member) -> None:
    if member.future.done():  # the request went away (its client hung up); the record stands
        return
    if member.error is not None:
        member.future.set_exception(member.error)
    else:
        member.future.set_result(member.result)
