"""Group commit (hovor.api.group): creates that arrive together share a transaction, and each
still gets exactly the answer it would have had alone."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from conftest import TenantFixture, data
from hovor.activities.models import Activity, CallItem, Queue
from hovor.activities.schemas import QueueCreate
from hovor.activities.service import create_queue
from hovor.api.deps import write_session
from hovor.api.errors import ValidationFailed
from hovor.api.group import GroupCommit
from hovor.audit import log as audit
from hovor.audit.chain import verify_tenant
from hovor.audit.models import AuditEntry
from hovor.demo import system_caller


def _count(app: Any, stmt: Any) -> int:
    with app.state.read_session_factory() as s:
        return int(s.scalar(stmt) or 0)


def test_concurrent_calls_each_get_their_own_answer_and_one_bad_call_sinks_no_other(
    client: Any, tenant: TenantFixture, app: Any
) -> None:
    client.post("/api/v6/queues.json", json={"name": "100", "title": "L", "type": "in"}, headers=tenant.h())
    good = [
        {"queue": "100", "direction": "in", "clid": f"+420 601 000 0{i:02d}", "duration": i}
        for i in range(12)
    ]
    bad = {"queue": "nope", "direction": "in", "clid": "+420 601 999 999"}
    # What the bad call answers on its own, one request at a time.
    alone = client.post("/api/v6/activitiesCall.json", json=bad, headers=tenant.h("integration"))
    assert alone.status_code == 400
    before_entries = _count(app, select(func.count()).select_from(AuditEntry))

    async def send_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 4000))
        async with httpx.AsyncClient(transport=transport, base_url="http://hovor") as c:
            sends = [
                c.post("/api/v6/activitiesCall.json", json=body, headers=tenant.h("integration"))
                for body in [*good[:6], bad, *good[6:]]
            ]
            return list(await asyncio.gather(*sends))

    grouping = app.state.group_commit
    groups, members = grouping.groups, grouping.members
    responses = asyncio.run(send_all())
    # The thirteen requests waited together: fewer groups than requests (then, for the bad one's
    # group, each member ran alone).
    assert grouping.members - members == 13
    assert grouping.groups - groups < 13
    refused = responses.pop(6)
    assert refused.status_code == 400
    assert refused.json()["error"] == alone.json()["error"]
    assert [r.status_code for r in responses] == [201] * 12
    answers = [data(r) for r in responses]
    assert len({a["name"] for a in answers}) == 12
    # Each answer is its own request's record, read back as a single read shows it.
    for body, answer in zip(good, answers, strict=True):
        assert answer["clid"] == str(body["clid"]).replace(" ", "")
        assert answer["duration"] == body["duration"]
        assert answer["queue"] == {"name": "100", "title": "L"}
        assert data(client.get(f"/api/v6/activitiesCall/{answer['name']}.json", headers=tenant.h())) == answer
    assert _count(app, select(func.count()).select_from(CallItem)) == 12
    assert _count(app, select(func.count()).select_from(Activity)) == 12
    # One entry per created call, naming it, and the chain still verifies.
    with app.state.session_factory() as s:
        new = list(s.scalars(select(AuditEntry).where(AuditEntry.name > before_entries)))
        report = verify_tenant(s, "acme", [app.state.audit_signer.public_key()])
    assert sorted(e.object_key for e in new if e.action == "activities.activity.create") == sorted(
        a["name"] for a in answers
    )
    assert report.ok, report.as_dict()


def _queue_member(app: Any, tenant_id: str, name: str, fail: bool = False) -> tuple[Any, Any]:
    def create(session: Any) -> Any:
        caller = system_caller(session, tenant_id)
        queue = create_queue(session, caller, QueueCreate(name=name, title=f"Queue {name}", type="in"))
        session.flush()
        audit.record(
            session, tenant_id, "activities.queue.create", audit.Actor.system("test"), "queues", name
        )
        if fail:
            raise ValidationFailed({"name": ["refused on purpose"]})
        return queue

    def answer(session: Any, queue: Any) -> str:
        return str(queue.name)

    return create, answer


def _queues(app: Any) -> list[str]:
    with app.state.read_session_factory() as s:
        return sorted(s.scalars(select(Queue.name).where(Queue.tenant_id == "acme")))


def test_waiting_creates_share_one_transaction(client: Any, tenant: TenantFixture, app: Any) -> None:
    group = GroupCommit(lambda: write_session(app.state))

    async def run() -> list[Any]:
        # Every run() joins the queue before the group starts: one group of five.
        members = [_queue_member(app, "acme", f"q{i}") for i in range(5)]
        return list(await asyncio.gather(*(group.run(c, a) for c, a in members)))

    assert asyncio.run(run()) == ["q0", "q1", "q2", "q3", "q4"]
    assert (group.groups, group.members) == (1, 5)
    assert _queues(app) == ["q0", "q1", "q2", "q3", "q4"]


def test_a_refused_member_runs_alone_and_the_others_commit(
    client: Any, tenant: TenantFixture, app: Any
) -> None:
    group = GroupCommit(lambda: write_session(app.state))

    async def run() -> list[Any]:
        members = [_queue_member(app, "acme", f"r{i}", fail=(i == 2)) for i in range(4)]
        return list(await asyncio.gather(*(group.run(c, a) for c, a in members), return_exceptions=True))

    results = asyncio.run(run())
    assert results[:2] == ["r0", "r1"] and results[3] == "r3"
    assert isinstance(results[2], ValidationFailed)
    assert _queues(app) == ["r0", "r1", "r3"]  # nothing of the refused member stays
    with app.state.read_session_factory() as s:
        keys = sorted(
            s.scalars(select(AuditEntry.object_key).where(AuditEntry.action == "activities.queue.create"))
        )
    assert keys == ["r0", "r1", "r3"]


def test_a_failed_commit_gives_each_member_its_own_outcome(
    client: Any, tenant: TenantFixture, app: Any
) -> None:
    """Two members insert the same key: the group's flush fails; alone, the first wins and the
    second gets the database's refusal, as two separate requests would."""
    group = GroupCommit(lambda: write_session(app.state))

    def twin(session: Any) -> Any:  # skips create_queue's own check, so the database refuses
        queue = Queue(tenant_id="acme", name="dup", title="Dup", type="in", options={})
        session.add(queue)
        audit.record(session, "acme", "activities.queue.create", audit.Actor.system("test"), "queues", "dup")
        return queue

    async def run() -> list[Any]:
        other = _queue_member(app, "acme", "solo")
        return list(
            await asyncio.gather(
                group.run(twin, lambda s, q: q.name),
                group.run(*other),
                group.run(twin, lambda s, q: q.name),
                return_exceptions=True,
            )
        )

    first, solo, second = asyncio.run(run())
    assert (first, solo) == ("dup", "solo")
    assert isinstance(second, Exception) and "IntegrityError" in type(second).__name__
    assert _queues(app) == ["dup", "solo"]


@pytest.mark.parametrize("size", [1, 3])
def test_a_lone_create_runs_at_once(client: Any, tenant: TenantFixture, app: Any, size: int) -> None:
    group = GroupCommit(lambda: write_session(app.state), max_size=size)

    async def run() -> list[Any]:
        members = [_queue_member(app, "acme", f"s{i}") for i in range(5)]
        return list(await asyncio.gather(*(group.run(c, a) for c, a in members)))

    assert asyncio.run(run()) == [f"s{i}" for i in range(5)]
    # Groups never exceed their size: five members take five groups of one or two of three.
    assert (group.groups, group.members) == ((5, 5) if size == 1 else (2, 5))
