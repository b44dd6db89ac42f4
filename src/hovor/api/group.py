"""Group commit: single-record creates that arrive together share one transaction.

A PBX that posts every call as a request of its own pays a transaction per call: the BEGIN, the
tenant's audit-chain lock and head, the inserts one statement at a time, the commit and its
flush to disk. Those costs are per transaction, not per record, and a feed's requests arrive
many at once. So a create of a feed-like resource (one that also offers ``batch.json``) does not
open its own transaction. Its request joins its tenant's queue on the event loop and waits there;
while no group of that tenant is running, a task begins a transaction in the thread pool and, once
it has begun, takes every create waiting (up to :data:`MAX_GROUP`), runs them one after another in
that session, commits once and hands each request its own answer. Beginning first matters on
SQLite: BEGIN IMMEDIATE is where a group waits for the database's one write lock while another
worker's group holds it, and every create that arrives during that wait joins the group instead
of waiting for the next one (docs/benchmarks.md, "Single-call ingest"). Requests that arrive while
a group runs wait for the next one, as they would have waited for the database's write lock
anyway, but without holding a thread each: a group costs one trip to the thread pool, not one per
record. Tenants have queues of their own, so one tenant whose audit chain is busy (a long job
holding its lock) holds up no other feed.

- A lone request runs at once: there is no timer and no added wait.
- Each member's answer is what it would have been alone. Members run in arrival order, each
  sees the ones before it as if they had committed, and each records its own audit entry (its own
  actor, address and request id). If a member is refused (its own input: a validation error, a
  constraint the database enforces), the whole group rolls back and every member runs again in a
  transaction of its own: one bad record never sinks its neighbours, and a refusal answers exactly
  as it would have. A failure that is nobody's input (the database unreachable, the writer queue
  timing out, a commit whose outcome is unknown) is every member's answer: running them again
  could not help and, after a commit whose reply was lost, could save them twice.
- No answer is sent before the group has committed, and a member that has not started within
  :data:`WAIT_SECONDS` answers 503 without running; a member whose request went away before its
  group started does not run.

The same idea as a database's own group commit, one level up: it spends one transaction's fixed
costs on many records (docs/architecture.md, "Group commit of creates").
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from hovor.core.db import memoizing
from hovor.core.errors import ApiError, SavedWithoutAnswer
from hovor.core.sqlite_writers import WRITE_WAIT_SECONDS

log = logging.getLogger("hovor.group")

# Larger groups spend the fixed costs on more records, but the members at the end of a group wait
# for all before them; 64 is past the point where the fixed costs still matter.
MAX_GROUP = 64
# How long a create may wait for its group to start: as long as a write waits for the database.
WAIT_SECONDS = WRITE_WAIT_SECONDS
# What a member's own input can cause; anything else is not worth running the members again.
MEMBER_ERRORS = (ApiError, IntegrityError, DataError)

Create = Callable[[Session], Any]
Answer = Callable[[Session, Any], Any]
# The answers of several members at once: members whose ``together`` keys are equal (the same
# resource, the same caller) are answered by one read of all their records, in the group's
# transaction, which returns what makes their answers, in their order, once the group has committed
# (serializing the records read asks the database nothing: no need to hold its lock for it).
AnswerMany = Callable[[Session, list[Any]], Callable[[], list[Any]]]


@dataclass(eq=False)
class _Member:
    create: Create
    answer: Answer
    future: asyncio.Future[Any]
    together: tuple[Hashable, AnswerMany] | None = None
    settled: bool = False
    result: Any = None
    error: BaseException | None = None

    def settle(self, result: Any = None, error: BaseException | None = None) -> None:
        self.result, self.error, self.settled = result, error, True


@dataclass(eq=False)
class _Queue:
    """A tenant's creates waiting for their group. The event loop adds and withdraws members; the
    group's thread takes them once its transaction has begun, so both go through ``lock``."""

    waiting: list[_Member]
    drainer: asyncio.Task[None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, member: _Member) -> None:
        with self.lock:
            self.waiting.append(member)

    def withdraw(self, member: _Member) -> bool:
        """Takes a member out if its group has not taken it yet; whether it had."""
        with self.lock:
            if member in self.waiting:
                self.waiting.remove(member)
                return True
            return False

    def take(self, most: int) -> list[_Member]:
        with self.lock:
            taken = self.waiting[:most]
            del self.waiting[:most]
        return [m for m in taken if not m.future.done()]

    def first(self, most: int) -> list[_Member]:
        """The members a group would take now, left waiting."""
        with self.lock:
            return self.waiting[:most]

    def take_these(self, members: list[_Member]) -> list[_Member]:
        """Those of ``members`` still waiting, taken."""
        with self.lock:
            taken = [m for m in members if m in self.waiting]
            self.waiting = [m for m in self.waiting if m not in taken]
        return [m for m in taken if not m.future.done()]

    def empty(self) -> bool:
        with self.lock:
            return not self.waiting


class GroupCommit:
    """Runs creates, grouping those of one tenant that wait at the same time into one transaction.

    ``new_session`` makes a write session set up as a request's would be (the audit requirement,
    the settings). ``create(session)`` makes the record and returns it; ``answer(session, record)``
    runs after every member's records are flushed and returns what the member's request answers.
    Both may run twice (the second time in a transaction of their own), so they must not act
    outside the session. Both run in the thread pool.
    """

    def __init__(self, new_session: Callable[[], Session], max_size: int = MAX_GROUP) -> None:
        self._new_session = new_session
        self._max = max_size
        self._queues: dict[tuple[asyncio.AbstractEventLoop, str], _Queue] = {}
        # Figures for the curious (and the tests): groups run and members they held.
        self.groups = 0
        self.members = 0

    async def run(
        self,
        tenant_id: str,
        create: Create,
        answer: Answer,
        together: tuple[Hashable, AnswerMany] | None = None,
    ) -> Any:
        """``together``: a key and a function that answers, in one read, the members of a group
        that share the key (alone, a member is answered by ``answer``)."""
        loop = asyncio.get_running_loop()
        member = _Member(create, answer, loop.create_future(), together)
        queue = self._queues.get((loop, tenant_id))
        if queue is None:
            queue = self._queues[(loop, tenant_id)] = _Queue([])
        queue.add(member)
        if queue.drainer is None or queue.drainer.done():
            queue.drainer = asyncio.create_task(self._drain(loop, tenant_id, queue))
        try:
            return await asyncio.wait_for(asyncio.shield(member.future), WAIT_SECONDS)
        except TimeoutError:
            if queue.withdraw(member):  # its group never started: it never will
                raise OperationalError("group commit", None, TimeoutError("group queue timeout")) from None
            return await member.future  # it is running: its answer is on its way
        except asyncio.CancelledError:
            queue.withdraw(member)  # the request went away before its group started
            raise

    async def _drain(self, loop: asyncio.AbstractEventLoop, tenant_id: str, queue: _Queue) -> None:
        group: list[_Member] = []
        try:
            while not queue.empty():
                group = []
                try:
                    await run_in_threadpool(self._run_next, queue, group)
                except Exception as exc:  # the session itself failed (its BEGIN, a rollback, a close)
                    log.warning("a group of creates failed: %s", type(exc).__name__)
                    _settle_all([m for m in group if not m.settled], exc)
                if group:
                    self.groups += 1
                    self.members += len(group)
                for member in group:
                    _deliver(member)
        except BaseException:  # cancelled at shutdown: nobody may wait for nothing
            with queue.lock:
                rest = len(queue.waiting)
            for member in [*group, *queue.take(rest)]:
                if not member.future.done():
                    member.future.cancel()
            raise
        finally:
            if queue.empty() and self._queues.get((loop, tenant_id)) is queue:
                del self._queues[(loop, tenant_id)]

    def _run_next(self, queue: _Queue, group: list[_Member]) -> None:
        """Begins a transaction, then takes the waiting members (into ``group``) and runs them in
        it. Beginning is where a SQLite writer waits for the database's one write lock, which
        another worker's group may hold: whoever arrives meanwhile joins this group instead of
        waiting for the next. A failed BEGIN is the answer of those that were waiting when it
        began; a failed session, of every member it took."""
        try:
            session = self._new_session()
        except Exception:
            group.extend(queue.take(self._max))
            raise
        present = queue.first(self._max)
        try:
            session.connection()  # BEGIN (IMMEDIATE on SQLite: the write lock)
        except Exception:
            # Its answer goes to those that were waiting when it began, as it would have if they
            # had begun it themselves; those that came during the wait try in the next group.
            _quietly(session.close)
            group.extend(queue.take_these(present))
            raise
        try:
            group.extend(queue.take(self._max))
            if len(group) == 1:
                self._alone(group[0], session)
                return
            failure = self._together(group, session) if group else None
        finally:
            _quietly(session.close)
        if failure is None:
            return
        if isinstance(failure, MEMBER_ERRORS):
            for member in group:
                self._alone(member, self._new_session(), close=True)
        else:
            _settle_all(group, failure)

    def _together(self, group: list[_Member], session: Session) -> Exception | None:
        try:
            with memoizing(session):  # a queue, a form, hidden fields: looked up once per group
                records = [member.create(session) for member in group]
                session.flush()  # every member's rows in as few statements as the ORM can
                answers = _answers(session, group, records)
            session.commit()
        except Exception as exc:
            _quietly(session.rollback)
            return exc
        # Serialized after the commit (on SQLite: the write lock is free for the other writer).
        for member, result in zip(group, answers(), strict=True):
            if isinstance(result, SavedWithoutAnswer):
                member.settle(error=result)
            else:
                member.settle(result)
        return None

    @staticmethod
    def _alone(member: _Member, session: Session, close: bool = False) -> None:
        try:
            record = member.create(session)
            result = member.answer(session, record)
            session.commit()
        except Exception as exc:
            _quietly(session.rollback)
            member.settle(error=exc)
        else:
            member.settle(result)
        finally:
            if close:
                _quietly(session.close)


def _settle_all(group: list[_Member], error: Exception) -> None:
    for member in group:
        member.settle(error=error)


def _answers(session: Session, group: list[_Member], records: list[Any]) -> Callable[[], list[Any]]:
    """Each member's answer, read in the group's transaction: those that share a ``together`` key
    from one read of all their records (a statement per group rather than per member), the others
    one by one. Returns what finishes them, in the members' order, once the group has committed:
    members whose shared answers cannot be made then (their records stand) get
    :class:`SavedWithoutAnswer` instead, the others their answers."""
    results: list[Any] = [None] * len(group)
    shared: dict[Hashable, list[int]] = {}
    for i, member in enumerate(group):
        if member.together is None:
            results[i] = member.answer(session, records[i])
        else:
            shared.setdefault(member.together[0], []).append(i)
    later: list[tuple[list[int], Callable[[], list[Any]]]] = []
    for indices in shared.values():
        together = group[indices[0]].together
        assert together is not None
        later.append((indices, together[1](session, [records[i] for i in indices])))

    def finish() -> list[Any]:
        for indices, make in later:
            try:
                made = make()
            except Exception as exc:  # a defect, never input: the records stand, committed
                log.error("answering created records failed: %s", type(exc).__name__)
                for i in indices:
                    results[i] = SavedWithoutAnswer(
                        f"Saved as {getattr(records[i], 'name', '?')}, but the answer could not be made: "
                        "read the record instead of sending it again."
                    )
                continue
            for i, answer in zip(indices, made, strict=True):
                results[i] = answer
        return results

    return finish


def _quietly(step: Callable[[], None]) -> None:
    """Ending a session that failed must not hide what the members' outcome was."""
    try:
        step()
    except Exception as exc:
        log.warning("ending a group's session failed: %s", type(exc).__name__)


def _deliver(member: _Member) -> None:
    if member.future.done():  # the request went away (its client hung up); the record stands
        return
    if member.error is not None:
        member.future.set_exception(member.error)
    else:
        member.future.set_result(member.result)
