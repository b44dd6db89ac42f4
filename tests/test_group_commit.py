"""Group commit (hovor.api.group): creates that arrive together share a transaction, and each
still gets exactly the answer it would have had alone."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from conftest import TenantFixture, data
from hovor.activities.models import Activity, CallItem, Queue
from hovor.activities.schemas import CallCreate, QueueCreate
from hovor.activities.service import create_queue, draft_activity
from hovor.api.deps import write_session
from hovor.api.group import GroupCommit
from hovor.audit import log as audit
from hovor.audit.chain import verify_tenant
from hovor.audit.log import lock_key
from hovor.audit.models import AuditEntry
from hovor.auth.service import system_caller
from hovor.core.errors import SavedWithoutAnswer, ValidationFailed


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


def test_a_call_whose_input_alone_is_wrong_is_refused_before_it_joins_a_group(
    client: Any, tenant: TenantFixture, app: Any
) -> None:
    """A phone number that is none, a time that is no time: the draft of a call (parsed on the event
    loop, hovor.activities.service.draft_activity) refuses it before it waits for a group, so it
    never makes its neighbours' group roll back and run again one by one."""
    client.post("/api/v6/queues.json", json={"name": "100", "title": "L", "type": "in"}, headers=tenant.h())
    good = [{"queue": "100", "direction": "in", "clid": f"+420 602 000 0{i:02d}"} for i in range(8)]
    bad = [
        {"queue": "100", "direction": "in", "clid": "not a number"},
        {"queue": "100", "direction": "in", "clid": "+420 602 000 099", "time": "yesterday"},
    ]
    alone = [client.post("/api/v6/activitiesCall.json", json=b, headers=tenant.h("integration")) for b in bad]
    assert [r.status_code for r in alone] == [400, 400]

    async def send_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 4000))
        async with httpx.AsyncClient(transport=transport, base_url="http://hovor") as c:
            sends = [
                c.post("/api/v6/activitiesCall.json", json=body, headers=tenant.h("integration"))
                for body in [*good[:4], bad[0], *good[4:], bad[1]]
            ]
            return list(await asyncio.gather(*sends))

    grouping = app.state.group_commit
    groups, members = grouping.groups, grouping.members
    responses = asyncio.run(send_all())
    refused = [responses.pop(9), responses.pop(4)]
    assert [r.json()["error"] for r in refused] == [r.json()["error"] for r in reversed(alone)]
    assert [r.status_code for r in responses] == [201] * 8
    # Only the good calls waited for a group, and their groups never failed: no member ran twice.
    assert grouping.members - members == 8
    assert grouping.groups - groups < 8
    assert sorted(data(r)["clid"] for r in responses) == sorted(b["clid"].replace(" ", "") for b in good)
    assert _count(app, select(func.count()).select_from(CallItem)) == 8


def test_a_drafted_call_is_built_anew_when_it_is_stored_again(tenant: TenantFixture, app: Any) -> None:
    """A group that rolled back runs its members again, each alone: the second store of a draft gets
    records of its own, with the same key and values, not the ones the rolled-back session held."""
    with app.state.read_session_factory() as s:
        caller = system_caller(s, "acme")
    draft = draft_activity(caller, "CALL", CallCreate(direction="in", clid="601 000 001", duration=5))
    first, second = draft.records(), draft.records()
    assert first[0] is not second[0] and first[1] is not second[1]
    for activity, item in (first, second):
        assert (activity.name, item.name, item.clid, item.duration) == (
            draft.name,
            draft.name,
            "+420601000001",
            5,
        )
        assert activity.time_open == draft.at and activity.action == "CLOSE"


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
        return list(await asyncio.gather(*(group.run("acme", c, a) for c, a in members)))

    assert asyncio.run(run()) == ["q0", "q1", "q2", "q3", "q4"]
    assert (group.groups, group.members) == (1, 5)
    assert _queues(app) == ["q0", "q1", "q2", "q3", "q4"]


def test_a_refused_member_runs_alone_and_the_others_commit(
    client: Any, tenant: TenantFixture, app: Any
) -> None:
    group = GroupCommit(lambda: write_session(app.state))

    async def run() -> list[Any]:
        members = [_queue_member(app, "acme", f"r{i}", fail=(i == 2)) for i in range(4)]
        return list(
            await asyncio.gather(*(group.run("acme", c, a) for c, a in members), return_exceptions=True)
        )

    results = asyncio.run(run())
    assert results[:2] == ["r0", "r1"] and results[3] == "r3"
    assert isinstance(results[2], ValidationFailed)
    assert _queues(app) == ["r0", "r1", "r3"]  # nothing of the refused member stays
    with app.state.read_session_factory() as s:
        keys = sorted(
            s.scalars(select(AuditEntry.object_key).where(AuditEntry.action == "activities.queue.create"))
        )
    assert keys == ["r0", "r1", "r3"]


def test_a_refusal_by_the_database_reruns_the_members_alone(
    client: Any, tenant: TenantFixture, app: Any
) -> None:
    """A member inserts a key that exists: the group's flush fails; alone, the others commit and
    that member gets the database's refusal, as separate requests would."""
    group = GroupCommit(lambda: write_session(app.state))
    calls: list[str] = []

    async def setup() -> Any:
        return await group.run("acme", *_queue_member(app, "acme", "dup"))

    assert asyncio.run(setup()) == "dup"

    def twin(session: Any) -> Any:  # skips create_queue's own check, so the database refuses
        calls.append("twin")
        queue = Queue(tenant_id="acme", name="dup", title="Dup", type="in", options={})
        session.add(queue)
        actor = audit.Actor.system("test")
        audit.record(session, "acme", "activities.queue.create", actor, "queues", "dup")
        return queue

    async def run() -> list[Any]:
        return list(
            await asyncio.gather(
                group.run("acme", *_queue_member(app, "acme", "before")),
                group.run("acme", twin, lambda s, q: q.name),
                group.run("acme", *_queue_member(app, "acme", "after")),
                return_exceptions=True,
            )
        )

    before, refused, after = asyncio.run(run())
    assert (before, after) == ("before", "after")
    assert "IntegrityError" in type(refused).__name__
    assert calls == ["twin", "twin"]  # once in the group, once alone
    assert _queues(app) == ["after", "before", "dup"]


def test_a_failure_that_is_no_members_fault_is_every_members_answer(
    client: Any, tenant: TenantFixture, app: Any
) -> None:
    """The database going away is not a refusal of any member: nobody runs again (after a commit
    whose reply was lost, running again could save everything twice)."""
    group = GroupCommit(lambda: write_session(app.state))
    calls: list[str] = []

    def make(name: str, fail: bool) -> Any:
        create, answer = _queue_member(app, "acme", name)

        def counted(session: Any) -> Any:
            calls.append(name)
            queue = create(session)
            if fail:
                raise OperationalError("INSERT", None, ConnectionError("server closed the connection"))
            return queue

        return counted, answer

    async def run() -> list[Any]:
        return list(
            await asyncio.gather(
                *(group.run("acme", *make(f"u{i}", i == 1)) for i in range(3)), return_exceptions=True
            )
        )

    results = asyncio.run(run())
    assert all(isinstance(r, OperationalError) for r in results)
    assert calls == ["u0", "u1"]  # the group stopped at the failure; nobody ran again
    assert _queues(app) == []

    async def later() -> Any:  # the queue goes on
        return await group.run("acme", *_queue_member(app, "acme", "later"))

    assert asyncio.run(later()) == "later"


def test_a_failing_session_answers_every_member_and_the_queue_goes_on(
    client: Any, tenant: TenantFixture, app: Any
) -> None:
    sessions = {"n": 0}

    def new_session() -> Any:
        sessions["n"] += 1
        if sessions["n"] == 1:
            raise OperationalError("connect", None, ConnectionError("refused"))
        return write_session(app.state)

    group = GroupCommit(new_session)

    async def run() -> list[Any]:
        first = await asyncio.gather(
            group.run("acme", *_queue_member(app, "acme", "f")), return_exceptions=True
        )
        second = await group.run("acme", *_queue_member(app, "acme", "g"))
        return [*first, second]

    failed, ok = asyncio.run(run())
    assert isinstance(failed, OperationalError)
    assert ok == "g"
    assert _queues(app) == ["g"]


def test_a_create_whose_request_went_away_before_its_group_does_not_run(
    client: Any, tenant: TenantFixture, app: Any
) -> None:
    group = GroupCommit(lambda: write_session(app.state))
    busy = threading.Event()
    create, answer = _queue_member(app, "acme", "first")

    def slow(session: Any) -> Any:
        busy.wait(10)
        return create(session)

    async def run() -> list[Any]:
        first = asyncio.create_task(group.run("acme", slow, answer))
        await asyncio.sleep(0.1)  # the first group is running and holds the queue
        waiting = [
            asyncio.create_task(group.run("acme", *_queue_member(app, "acme", f"c{i}"))) for i in range(3)
        ]
        await asyncio.sleep(0.1)
        waiting[1].cancel()  # its client hung up while it waited
        await asyncio.sleep(0)
        busy.set()
        return list(await asyncio.gather(first, *waiting, return_exceptions=True))

    first, c0, cancelled, c2 = asyncio.run(run())
    assert (first, c0, c2) == ("first", "c0", "c2")
    assert isinstance(cancelled, asyncio.CancelledError)
    assert _queues(app) == ["c0", "c2", "first"]


def test_tenants_queue_apart(
    client: Any, tenant: TenantFixture, other_tenant: TenantFixture, app: Any
) -> None:
    """On PostgreSQL one tenant's group waiting for its audit chain does not hold up another
    tenant's creates. SQLite has one writer for every tenant: both wait for it, and both go once
    it is free."""
    group = GroupCommit(lambda: write_session(app.state))
    postgres = app.state.engine.dialect.name == "postgresql"
    holder = write_session(app.state)
    if postgres:  # acme's chain is busy
        holder.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key("acme")})
    else:  # the database's one writer is busy
        holder.execute(text("UPDATE tenants SET title = title WHERE 1 = 0"))

    async def run() -> list[Any]:
        acme = asyncio.create_task(group.run("acme", *_queue_member(app, "acme", "a1")))
        globex = asyncio.create_task(group.run("globex", *_queue_member(app, "globex", "g1")))
        await asyncio.wait([acme, globex], timeout=0.5, return_when=asyncio.FIRST_COMPLETED)
        assert not acme.done()
        assert globex.done() == postgres
        await asyncio.to_thread(holder.rollback)
        return [await globex, await acme]

    try:
        assert asyncio.run(run()) == ["g1", "a1"]
    finally:
        holder.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_creates_that_arrive_while_a_group_waits_for_the_write_lock_join_it(
    client: Any, tenant: TenantFixture, app: Any
) -> None:
    """A group begins its transaction before it takes its members: on SQLite that is where it waits
    for the one write lock (another worker's group may hold it), and whoever arrives meanwhile rides
    along instead of waiting for the group after it."""
    group = GroupCommit(lambda: write_session(app.state))
    holder = write_session(app.state)
    holder.execute(text("UPDATE tenants SET title = title WHERE 1 = 0"))  # the one writer is busy

    async def run() -> list[Any]:
        first = asyncio.create_task(group.run("acme", *_queue_member(app, "acme", "w0")))
        await asyncio.sleep(0.2)  # its group has begun and waits for the lock
        later = [
            asyncio.create_task(group.run("acme", *_queue_member(app, "acme", f"w{i}"))) for i in (1, 2, 3)
        ]
        await asyncio.sleep(0.1)
        assert not first.done()
        await asyncio.to_thread(holder.rollback)
        return list(await asyncio.gather(first, *later))

    try:
        assert asyncio.run(run()) == ["w0", "w1", "w2", "w3"]
    finally:
        holder.close()
    assert (group.groups, group.members) == (1, 4)
    assert _queues(app) == ["w0", "w1", "w2", "w3"]


def test_a_failed_begin_answers_those_it_began_for_and_the_next_group_takes_the_rest(
    client: Any, tenant: TenantFixture, app: Any
) -> None:
    """A group whose BEGIN fails (the writer queue timing out behind a long writer, the pool
    empty) fails the creates that were waiting when it began, as it would have failed them had
    they begun it themselves. A create that arrived during the wait goes to the next group."""
    began = threading.Event()

    class FailingBegin:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def connection(self) -> Any:
            began.set()
            time.sleep(0.3)
            raise OperationalError("BEGIN IMMEDIATE", None, TimeoutError("writer queue timeout"))

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

    sessions = {"n": 0}

    def new_session() -> Any:
        sessions["n"] += 1
        session = write_session(app.state)
        return FailingBegin(session) if sessions["n"] == 1 else session

    group = GroupCommit(new_session)

    async def run() -> list[Any]:
        first = asyncio.create_task(group.run("acme", *_queue_member(app, "acme", "b0")))
        await asyncio.to_thread(began.wait, 5)
        later = asyncio.create_task(group.run("acme", *_queue_member(app, "acme", "b1")))
        return list(await asyncio.gather(first, later, return_exceptions=True))

    failed, later = asyncio.run(run())
    assert isinstance(failed, OperationalError)
    assert later == "b1"
    assert _queues(app) == ["b1"]


@pytest.mark.parametrize("size", [1, 3])
def test_groups_never_exceed_their_size(client: Any, tenant: TenantFixture, app: Any, size: int) -> None:
    group = GroupCommit(lambda: write_session(app.state), max_size=size)

    async def run() -> list[Any]:
        members = [_queue_member(app, "acme", f"s{i}") for i in range(5)]
        return list(await asyncio.gather(*(group.run("acme", c, a) for c, a in members)))

    assert asyncio.run(run()) == [f"s{i}" for i in range(5)]
    # Groups never exceed their size: five members take five groups of one or two of three.
    assert (group.groups, group.members) == ((5, 5) if size == 1 else (2, 5))


def test_grouped_answers_hide_what_each_caller_may_not_see(
    client: Any, tenant: TenantFixture, app: Any
) -> None:
    """The hidden fields are looked up once per group, and each member's answer is still shaped
    for its own caller."""
    client.post("/api/v6/queues.json", json={"name": "100", "title": "L", "type": "in"}, headers=tenant.h())
    for name, hidden in (("topic", False), ("internal", True)):
        r = client.post(
            "/api/v6/formFields.json",
            json={"object_type": "activities", "name": name, "title": name, "type": "text", "hidden": hidden},
            headers=tenant.h(),
        )
        assert r.status_code == 201, r.text
    body = {
        "queue": "100",
        "direction": "in",
        "customFields": {"topic": ["billing"], "internal": ["note"]},
    }
    roles = ["integration", "admin", "integration", "admin"]

    async def send_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 4001))
        async with httpx.AsyncClient(transport=transport, base_url="http://hovor") as c:
            sends = [c.post("/api/v6/activitiesCall.json", json=body, headers=tenant.h(r)) for r in roles]
            return list(await asyncio.gather(*sends))

    grouping = app.state.group_commit
    groups, members = grouping.groups, grouping.members
    answers = [data(r) for r in asyncio.run(send_all())]
    assert grouping.members - members == 4
    assert grouping.groups - groups < 4  # some of them shared a group
    for role, answer in zip(roles, answers, strict=True):
        shown = (
            {"topic": ["billing"]} if role == "integration" else {"topic": ["billing"], "internal": ["note"]}
        )
        assert answer["customFields"] == shown, role


def test_members_of_one_caller_are_read_back_in_one_statement(
    client: Any, tenant: TenantFixture, app: Any
) -> None:
    """A group's records are read back for their answers by one statement per caller, not one per
    member; each answer is still its own record's."""
    from sqlalchemy import event

    client.post("/api/v6/queues.json", json={"name": "100", "title": "L", "type": "in"}, headers=tenant.h())
    bodies = [
        {"queue": "100", "direction": "in", "clid": f"+420 601 000 1{i:02d}", "duration": i} for i in range(8)
    ]
    read_backs: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().startswith("SELECT activity_calls."):
            read_backs.append(statement)

    async def send_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 4002))
        async with httpx.AsyncClient(transport=transport, base_url="http://hovor") as c:
            sends = [
                c.post("/api/v6/activitiesCall.json", json=b, headers=tenant.h("integration")) for b in bodies
            ]
            return list(await asyncio.gather(*sends))

    grouping = app.state.group_commit
    groups, members = grouping.groups, grouping.members
    engine = app.state.session_factory.kw["bind"]
    event.listen(engine, "before_cursor_execute", seen)
    try:
        responses = asyncio.run(send_all())
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert grouping.members - members == 8
    ran = grouping.groups - groups
    assert ran < 8
    assert len(read_backs) == ran  # one read-back per group (one caller), not one per member
    answers = [data(r) for r in responses]
    assert [a["duration"] for a in answers] == [b["duration"] for b in bodies]
    for answer in answers:
        assert (
            data(client.get(f"/api/v6/activitiesCall/{answer['name']}.json", headers=tenant.h("integration")))
            == answer
        )


def test_members_sharing_a_key_are_answered_together(client: Any, tenant: TenantFixture, app: Any) -> None:
    """Members with equal ``together`` keys get their answers from one call of the key's function,
    in their order; a member without a key is answered by its own ``answer``."""
    group = GroupCommit(lambda: write_session(app.state))
    calls: list[list[str]] = []

    def many(session: Any, queues: list[Any]) -> Any:
        calls.append([q.name for q in queues])
        answers = [f"together:{q.name}" for q in queues]
        return lambda: answers

    async def run() -> list[Any]:
        members = [_queue_member(app, "acme", f"t{i}") for i in range(5)]
        keys = ["a", "b", "a", None, "b"]
        return list(
            await asyncio.gather(
                *(
                    group.run("acme", c, a, None if key is None else (key, many))
                    for (c, a), key in zip(members, keys, strict=True)
                )
            )
        )

    assert asyncio.run(run()) == ["together:t0", "together:t1", "together:t2", "t3", "together:t4"]
    assert (group.groups, group.members) == (1, 5)
    assert sorted(calls) == [["t0", "t2"], ["t1", "t4"]]


def test_a_grouped_create_decides_its_caller_before_reading_the_body(
    client: Any, tenant: TenantFixture, app: Any
) -> None:
    """401, then 403, then the body's own error (400), whatever the body holds: a body that is not
    JSON at all tells a caller without a token, or without the right, nothing about it."""
    broken = {"content": b"{not json", "headers": {"Content-Type": "application/json"}}
    path = "/api/v6/activitiesCall.json"
    assert client.post(path, **broken).status_code == 401
    auditor = {**broken["headers"], **tenant.h("auditor")}
    assert client.post(path, content=broken["content"], headers=auditor).status_code == 403
    allowed = {**broken["headers"], **tenant.h("integration")}
    refused = client.post(path, content=broken["content"], headers=allowed)
    assert refused.status_code == 400 and refused.json()["result"] is None


def test_shared_answers_are_made_after_the_commit_and_their_failure_keeps_the_records(
    client: Any, tenant: TenantFixture, app: Any
) -> None:
    """Members answered together are read in the group's transaction and serialized after its
    commit: by then their records are there for any other reader, and another writer is not kept
    waiting (on SQLite the write lock is free). Members whose answers cannot be made after the
    commit answer that their records were saved, and nothing runs again: the records stand."""
    group = GroupCommit(lambda: write_session(app.state))
    seen: list[Any] = []

    def read_back(session: Any, queues: list[Any]) -> Any:
        names = [str(q.name) for q in queues]

        def finish() -> list[str]:
            seen.append(_queues(app))  # another session's read: only what has committed
            with write_session(app.state) as other:  # another writer, at once
                other.execute(text("SELECT 1"))
                name = f"w{len(seen)}"
                audit.record(
                    other, "acme", "activities.queue.create", audit.Actor.system("t"), "queues", name
                )
                create_queue(
                    other, system_caller(other, "acme"), QueueCreate(name=name, title="W", type="in")
                )
                other.commit()
            if "boom" in names:
                raise RuntimeError("answers cannot be made")
            return [f"answer {n}" for n in names]

        return finish

    async def run(prefix: str) -> list[Any]:
        members = [_queue_member(app, "acme", f"{prefix}{i}") for i in range(3)]
        return list(
            await asyncio.gather(
                *(group.run("acme", c, a, ("same", read_back)) for c, a in members), return_exceptions=True
            )
        )

    assert asyncio.run(run("a")) == ["answer a0", "answer a1", "answer a2"]
    assert seen == [["a0", "a1", "a2"]]
    runs: list[str] = []

    def counted(name: str) -> tuple[Any, Any]:
        create, answer = _queue_member(app, "acme", name)

        def run_create(session: Any) -> Any:
            runs.append(name)
            return create(session)

        return run_create, answer

    async def failing() -> list[Any]:
        # Two callers' members in one group: only the key whose answers fail gets the error.
        members = [(counted(n), key) for n, key in (("boom", "k1"), ("b1", "k1"), ("c1", "k2"))]
        return list(
            await asyncio.gather(
                *(group.run("acme", c, a, (key, read_back)) for (c, a), key in members),
                return_exceptions=True,
            )
        )

    boom, b1, c1 = asyncio.run(failing())
    assert c1 == "answer c1"
    for failed, name in ((boom, "boom"), (b1, "b1")):
        # A 500 that says the record was saved and names it: a client must not send it again.
        assert isinstance(failed, SavedWithoutAnswer) and failed.status == 500
        assert failed.messages == [
            f"Saved as {name}, but the answer could not be made: read the record instead of sending it again."
        ]
    assert sorted(runs) == ["b1", "boom", "c1"]  # nobody ran again: the records had committed
    assert (group.groups, group.members) == (2, 6)
    assert _queues(app) == ["a0", "a1", "a2", "b1", "boom", "c1", "w1", "w2", "w3"]
