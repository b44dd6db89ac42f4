"""Reads for serialization (hovor.api.flat): driver rows through generated builders give the
values the ORM would, on both databases."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import event, text

from conftest import TenantFixture, data, make_tenant, needs_postgres, statements_on
from hovor.activities.models import Activity, TranscriptSegment
from hovor.api.flat import plan_for
from hovor.api.resource import REGISTRY
from hovor.api.visible import _by_keys, read_keys, read_visible
from hovor.auth.service import resolve_token
from hovor.core.errors import NotFound
from hovor.core.reads import read_session
from hovor.core.scope import rights_of


def _caller(app: Any, token: str) -> Any:
    st = app.state
    return resolve_token(st.read_session_factory, st.caller_cache, token, st.settings, st.session_factory)


def test_values_come_out_as_the_orm_gives_them(client: Any, tenant: TenantFixture, app: Any) -> None:
    client.post(
        "/api/v6/queues.json", json={"name": "100", "title": "Line", "type": "in"}, headers=tenant.h()
    )
    body = {"queue": "100", "direction": "in", "clid": "+420 601 000 001", "answered": False, "duration": 7}
    name = data(client.post("/api/v6/activitiesCall.json", json=body, headers=tenant.h()))["name"]
    resource = REGISTRY["activitiesCall"]
    caller = _caller(app, tenant.tokens["admin"])
    with app.state.read_session_factory() as session:
        flat = read_visible(session, resource, caller, name)
        orm = session.get(Activity, ("acme", name))
        assert orm is not None
        activity = flat.activity
        assert flat.answered is False and flat.duration == 7  # a boolean, not SQLite's 0
        assert activity.important is False and activity.anonymized is False
        assert activity.time == orm.time and activity.time.tzinfo == dt.UTC
        assert activity.custom_fields == {} and activity.consents == {}
        assert activity.queue_obj.title == "Line"
        assert activity.user_obj is None and activity.contact_obj is None  # absent references
        assert activity.call.recording is None  # an absent record below a present one


def test_a_buffered_fetch_loses_no_row(client: Any, tenant: TenantFixture, app: Any) -> None:
    """A strategy that reads ahead (yield_per, server-side cursors) still hands over every row."""
    client.post(
        "/api/v6/queues.json", json={"name": "100", "title": "Line", "type": "in"}, headers=tenant.h()
    )
    names = [
        data(
            client.post(
                "/api/v6/activitiesCall.json", json={"queue": "100", "direction": "in"}, headers=tenant.h()
            )
        )["name"]
        for _ in range(5)
    ]
    resource = REGISTRY["activitiesCall"]
    stmt = _by_keys(resource.endpoint, rights_of(_caller(app, tenant.tokens["admin"])))
    with app.state.snapshot_session_factory() as session:
        conn = session.connection()
        for options in ({}, {"yield_per": 2}):
            found = plan_for(resource).fetch(conn, stmt.execution_options(**options), {"keys": names})
            assert sorted(f.name for f in found) == sorted(names), options


def test_a_page_reads_only_the_channel_items_it_shows(client: Any, tenant: TenantFixture, app: Any) -> None:
    """Each activity gets its own channel's item, the others None, with one query for the page and
    one per channel present on it (not an outer join per channel on every row)."""
    from sqlalchemy import event

    h = tenant.h()
    for queue, kind in (("100", "in"), ("500", "sms"), ("700", "chat")):
        client.post("/api/v6/queues.json", json={"name": queue, "title": queue, "type": kind}, headers=h)
    in_call = {"queue": "100", "direction": "in"}
    call = data(client.post("/api/v6/activitiesCall.json", json=in_call, headers=h))
    sms = data(
        client.post(
            "/api/v6/activitiesSms.json",
            json={"queue": "500", "sender": "+420603000111", "direction": "in"},
            headers=h,
        )
    )
    web = data(client.post("/api/v6/activitiesWeb.json", json={"queue": "700", "title": "Petr"}, headers=h))
    names = [call["name"], sms["name"], web["name"]]
    resource = REGISTRY["activities"]
    stmt = _by_keys(resource.endpoint, rights_of(_caller(app, tenant.tokens["admin"])))
    with app.state.read_session_factory() as session:
        conn = session.connection()
        statements: list[str] = []

        def seen(*args: Any) -> None:
            statements.append(args[2])

        event.listen(conn, "before_cursor_execute", seen)
        try:
            found = {f.name: f for f in plan_for(resource).fetch(conn, stmt, {"keys": names})}
            calls_only = plan_for(resource).fetch(conn, stmt, {"keys": [call["name"]]})
        finally:
            event.remove(conn, "before_cursor_execute", seen)
    assert len(statements) == 1 + 3 + 1 + 1  # the page, three channels; then one call: itself, its item
    assert "activity_sms" not in statements[-1] and "activity_calls" in statements[-1]
    assert found[call["name"]].call.name == call["name"] and found[call["name"]].call.recording is None
    assert found[sms["name"]].sms.name == sms["name"] and found[sms["name"]].sms.sender == "+420603000111"
    assert found[web["name"]].web.name == web["name"]
    for name, own in ((call["name"], "call"), (sms["name"], "sms"), (web["name"], "web")):
        others = {"call", "sms", "web", "email"} - {own}
        assert all(getattr(found[name], other) is None for other in others), name
    assert calls_only[0].call.name == call["name"] and calls_only[0].sms is None
    assert not hasattr(calls_only[0], "consents")  # never shown, so never read or decoded
    # Through the API, each as its channel shows it.
    page = data(client.get("/api/v6/activities.json", params={"sort": "time"}, headers=h))["data"]
    shown = {row["name"]: row for row in page}
    assert shown[call["name"]]["item"]["direction"] == "in"
    assert shown[sms["name"]]["item"]["sender"] == "+420603000111"


def test_a_single_read_by_the_driver_is_the_read_through_sqlalchemy(
    client: Any, tenant: TenantFixture, app: Any, monkeypatch: Any
) -> None:
    """A single read runs by the driver (sqlite3's or psycopg's) unless something listens to
    SQLAlchemy's execution events: the same record either way, under the same rights (an IN list
    of databases)."""
    h = tenant.h()
    for db in ("east", "west"):
        client.post("/api/v6/databases.json", json={"name": db, "title": db.title()}, headers=h)
    names = {
        db: data(client.post("/api/v6/contacts.json", json={"lastname": "Novák", "database": db}, headers=h))[
            "name"
        ]
        for db in ("east", "west")
    }
    resource = REGISTRY["contacts"]
    admin = _caller(app, tenant.tokens["admin"])
    dialect = app.state.engine.dialect
    executed: list[str] = []  # what SQLAlchemy's execution path handed the driver
    through = dialect.do_execute

    def counted(*args: Any) -> Any:
        executed.append(args[1])
        return through(*args)

    monkeypatch.setattr(dialect, "do_execute", counted)
    east_only = dataclasses.replace(admin, databases=frozenset({"east", "north"}))
    conn_is_sqlite = dialect.name == "sqlite"

    def read(caller: Any, name: str, listened: bool) -> tuple[Any, list[str], list[str]]:
        seen: list[str] = []
        traced: list[str] = []
        with app.state.read_session_factory() as session:
            conn = session.connection()
            if conn.dialect.name == "sqlite":
                conn.connection.dbapi_connection.set_trace_callback(traced.append)
            if listened:
                event.listen(conn, "before_cursor_execute", lambda *args: seen.append(args[2]))
            try:
                return read_visible(session, resource, caller, name), seen, traced
            except NotFound:
                return None, seen, traced
            finally:
                if conn.dialect.name == "sqlite":
                    conn.connection.dbapi_connection.set_trace_callback(None)

    for caller in (admin, east_only):
        for name in names.values():
            executed.clear()
            direct, seen, traced = read(caller, name, listened=False)
            by_sqlalchemy = len(executed)
            listened, seen_listened, _ = read(caller, name, listened=True)
            assert len(executed) == by_sqlalchemy + 1
            assert direct == listened
            assert (
                not seen and len(seen_listened) == 1
            )  # listened to: every statement went through SQLAlchemy
            # The driver ran the one statement, not SQLAlchemy's path.
            assert by_sqlalchemy == 0
            if conn_is_sqlite:
                assert [s.split()[0] for s in traced] == ["SELECT"]
    assert read(east_only, names["west"], listened=False)[0] is None
    found = read(east_only, names["east"], listened=False)[0]
    assert found is not None and found.database_obj.title == "East"


def test_a_page_by_keys_runs_by_the_driver_for_any_number_of_keys(
    client: Any, tenant: TenantFixture, app: Any, monkeypatch: Any
) -> None:
    """The statements of a page by keys (the records, then the channel items of those present)
    take their keys as a list; the driver runs them for every length of it, none included, and
    finds what SQLAlchemy's path finds, for an admin and for a caller whose rights (a fixed list of
    queues in the same statement) leave some of the records out."""
    h = tenant.h()
    names: dict[str, list[str]] = {}
    for queue in ("100", "200"):
        client.post("/api/v6/queues.json", json={"name": queue, "title": queue, "type": "in"}, headers=h)
        body = {"queue": queue, "direction": "in"}
        names[queue] = [
            data(client.post("/api/v6/activitiesCall.json", json=body, headers=h))["name"] for _ in range(3)
        ]
    other = make_tenant(app, "other")  # a key of another tenant is never found
    client.post("/api/v6/queues.json", json={"name": "100", "title": "100", "type": "in"}, headers=other.h())
    foreign = data(
        client.post(
            "/api/v6/activitiesCall.json", json={"queue": "100", "direction": "in"}, headers=other.h()
        )
    )["name"]
    resource = REGISTRY["activities"]
    admin = _caller(app, tenant.tokens["admin"])
    line_100 = dataclasses.replace(admin, queues=frozenset({"100", "300"}))
    dialect = app.state.engine.dialect
    executed: list[str] = []
    through = dialect.do_execute

    def counted(*args: Any) -> Any:
        executed.append(args[1])
        return through(*args)

    monkeypatch.setattr(dialect, "do_execute", counted)

    def shape(rows: list[Any]) -> list[tuple[str, str | None, str]]:
        return sorted((r.name, r.call.name if r.call else None, r.queue_obj.title) for r in rows)

    every = [*names["100"], *names["200"]]
    lengths = ([], every[:1], every[:3], [*every, foreign], every[:3], every[1:2], every[1:6], every[:5])
    for caller, sees in ((admin, set(every)), (line_100, set(names["100"]))):
        stmt = _by_keys(resource.endpoint, rights_of(caller))
        for keys in lengths:
            with read_session(app.state.read_session_factory) as session:
                conn = session.connection()
                executed.clear()
                direct = plan_for(resource).fetch(conn, stmt, {"keys": keys})
                assert executed == []  # the driver ran them, not SQLAlchemy
                event.listen(conn, "before_cursor_execute", lambda *args: None)
                through_sqlalchemy = plan_for(resource).fetch(conn, stmt, {"keys": keys})
                assert executed  # listened to, every statement went through SQLAlchemy
            assert shape(direct) == shape(through_sqlalchemy)
            assert sorted(r.name for r in direct) == sorted(k for k in keys if k in sees)
            assert all(r.call is not None and r.call.name == r.name for r in direct)


POOL_ATTEMPTS = 200


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_a_lost_postgresql_connection_met_by_a_driven_read_is_invalidated(
    client: Any, tenant: TenantFixture, app: Any
) -> None:
    """A read run by psycopg itself fails on a connection the server closed as SQLAlchemy's path
    does: SQLAlchemy's error, saying the connection was invalidated (and the pool with it)."""
    import psycopg
    from sqlalchemy.exc import DBAPIError

    needs_postgres()
    assert app.state.engine.dialect.name == "postgresql"
    h = tenant.h()
    client.post("/api/v6/databases.json", json={"name": "main", "title": "Main"}, headers=h)
    contact = {"lastname": "Dvořák", "database": "main"}
    name = data(client.post("/api/v6/contacts.json", json=contact, headers=h))["name"]
    resource = REGISTRY["contacts"]
    admin = _caller(app, tenant.tokens["admin"])
    with app.state.read_session_factory() as session:
        read_visible(session, resource, admin, name)  # a pooled connection, used once
        pid = session.connection().connection.dbapi_connection.info.backend_pid
    # From a connection of its own, outside the pool (which may hold only the victim).
    with psycopg.connect(
        app.state.engine.url.render_as_string(hide_password=False).replace("+psycopg", "")
    ) as other:
        other.execute("SELECT pg_terminate_backend(%s)", (pid,))
    met = False
    for _ in range(POOL_ATTEMPTS):  # the pool hands its connections out in turn
        with app.state.read_session_factory() as session:
            if session.connection().connection.dbapi_connection.info.backend_pid != pid:
                continue
            with pytest.raises(DBAPIError) as lost:
                read_visible(session, resource, admin, name)
            assert lost.value.connection_invalidated
            met = True
            break
    assert met
    with app.state.read_session_factory() as session:
        assert read_visible(session, resource, admin, name).name == name


def _calls(client: Any, tenant: TenantFixture, n: int) -> list[str]:
    h = tenant.h()
    client.post("/api/v6/queues.json", json={"name": "100", "title": "Line", "type": "in"}, headers=h)
    body = {"data": [{"queue": "100", "direction": "in", "duration": i} for i in range(n)]}
    r = client.post("/api/v6/activitiesCall/batch.json", json=body, headers=tenant.h("integration"))
    assert r.status_code == 201, r.text
    return [row["name"] for row in data(r)["data"]]


def test_a_page_reads_its_keys_with_their_total_then_its_rows(
    client: Any, tenant: TenantFixture, engine: Any
) -> None:
    """Every page carries the total of all matches, past the last page too. A page reads its keys
    and the total in one statement, then its rows by their keys: on SQLite by their rowids, read
    in the same transaction (the primary key's index is not read again)."""
    names = _calls(client, tenant, 5)
    query = {"filter[0][field]": "queue", "filter[0][value]": "100", "take": 2}
    with statements_on(engine, "FROM activities") as statements:
        pages = [
            data(client.get("/api/v6/activities.json", params={**query, "skip": skip}, headers=tenant.h()))
            for skip in (0, 2, 4, 6)
        ]
    assert [page["total"] for page in pages] == [5, 5, 5, 5]
    assert [len(page["data"]) for page in pages] == [2, 2, 1, 0]
    assert sorted(row["name"] for page in pages for row in page["data"]) == sorted(names)
    # Three pages of two statements (keys with total; rows); past the end, keys and a count.
    assert len(statements) == 3 * 2 + 2
    rows = statements[1]
    if engine.dialect.name == "sqlite":
        assert "activities.rowid IN" in rows and "activities.name IN" not in rows
    else:  # one array of keys, whatever their number: one statement to prepare
        assert "activities.name = ANY (" in rows and " IN (" not in rows


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_records_read_by_their_keys_are_planned_once_per_connection(
    client: Any, tenant: TenantFixture, app: Any
) -> None:
    """A page's rows, or a group of creates' answers, are read by one statement with seven joins
    whose planning costs several times its run. On PostgreSQL it is one statement for any number of
    keys, which the driver prepares after its fifth run on a connection, and it is planned once for
    any keys (a generic plan); the connection's own planning mode is back after each read."""
    needs_postgres()
    names = _calls(client, tenant, 5)
    admin = _caller(app, tenant.tokens["admin"])
    resource = REGISTRY["activitiesCall"]
    with app.state.session_factory() as session:
        mode = session.execute(text("SHOW plan_cache_mode")).scalar()
        for keys in (names[:2], names[1:4], names, names[:1], names[2:], names[:3], names[3:]):
            assert [r["name"] for r in read_keys(session, resource, admin, keys)()] == keys
        rows = session.execute(
            text(
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements"
                " WHERE statement LIKE '%= ANY (%' AND statement LIKE '%FROM activity_calls%'"
            )
        ).all()
        after = session.execute(text("SHOW plan_cache_mode")).scalar()
    # Prepared by its sixth run at the latest, and from then on run on its one generic plan.
    assert len(rows) == 1 and rows[0].generic_plans >= 2 and rows[0].custom_plans == 0
    assert after == mode


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_settings_for_a_read_are_put_back_whatever_happens_inside(app: Any) -> None:
    """A statement that fails inside a write transaction leaves the settings to the rollback (the
    connection stays pooled, with its prepared statements); any other failure puts them back."""
    from sqlalchemy.exc import DBAPIError

    from hovor.core.db import planner_settings

    needs_postgres()
    show = text("SHOW plan_cache_mode")
    with app.state.session_factory() as session:
        conn = session.connection()
        mode = session.execute(show).scalar()
        with pytest.raises(DBAPIError), planner_settings(session, plan_cache_mode="force_generic_plan"):
            session.execute(text("SELECT 1 / 0"))
        assert not conn.invalidated
        session.rollback()
        assert session.execute(show).scalar() == mode
        with pytest.raises(KeyError), planner_settings(session, plan_cache_mode="force_generic_plan"):
            raise KeyError("not the database's")
        session.commit()  # a caller may go on and commit: the setting is back all the same
        assert session.execute(show).scalar() == mode


def test_a_page_of_a_hundred_records_sets_off_no_collection(client: Any, tenant: TenantFixture) -> None:
    """What a request makes is freed by its reference counts: the cycle collector's youngest
    generation is not walked for each list page (hovor.app.YOUNG_GENERATION)."""
    import gc

    from hovor.app import YOUNG_GENERATION

    _calls(client, tenant, 100)
    params = {"take": 100}
    assert len(data(client.get("/api/v6/activities.json", params=params, headers=tenant.h()))["data"]) == 100
    collections: list[int] = []

    def counted(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    gc.collect()
    gc.callbacks.append(counted)
    try:
        page = data(client.get("/api/v6/activities.json", params=params, headers=tenant.h()))
    finally:
        gc.callbacks.remove(counted)
    assert len(page["data"]) == 100
    assert collections == []
    assert gc.get_threshold()[0] == YOUNG_GENERATION


def test_json_beyond_what_orjson_reads_comes_back_as_written(
    tenant: TenantFixture, session_factory: Any
) -> None:
    """JSON columns are read by orjson, which would read an integer beyond 64 bits as a float; such
    a value (the API takes none, but an import or an older version may have written one) is read
    back exactly as written, by the standard library (hovor.core.db._json_loads)."""
    from hovor.activities.models import Queue

    big = 2**70 + 1  # not a float's
    low = -(2**63) - 1  # nineteen digits
    with session_factory() as session:
        values = (("100", {"limit": big}), ("101", {"note": "Nováková"}), ("102", {"floor": low}))
        for name, options in values:
            session.add(Queue(tenant_id="acme", name=name, title="Line", type="in", options=options))
        session.commit()
    with session_factory() as session:
        assert session.get(Queue, ("acme", "100")).options == {"limit": big}
        assert session.get(Queue, ("acme", "101")).options == {"note": "Nováková"}
        assert session.get(Queue, ("acme", "102")).options == {"floor": low}


def test_rows_of_gives_each_type_as_the_orm_does(client: Any, tenant: TenantFixture, app: Any) -> None:
    """A statement run by rows_of: by the driver where its values need no processing, else
    through SQLAlchemy (a timestamp comes back aware, in UTC, on both databases)."""
    from sqlalchemy import bindparam, select

    from hovor.api.flat import rows_of

    name = _calls(client, tenant, 1)[0]
    segment = {"activity": name, "start": 0.0, "end": 1.5, "speaker": "customer", "text": "Dobrý den"}
    r = client.post(
        "/api/v6/activitiesCallTranscripts.json", json={**segment, "confidence": 0.5}, headers=tenant.h()
    )
    assert r.status_code == 201, r.text
    by_name = Activity.name == bindparam("name")
    plain = select(Activity.name, Activity.queue).where(by_name)
    stamped = select(Activity.name, Activity.time).where(by_name)
    # psycopg's floats cannot say whether they process a value without the column described.
    scored = select(TranscriptSegment.confidence).where(TranscriptSegment.activity == bindparam("name"))
    with app.state.read_session_factory() as session:
        conn = session.connection()
        assert [tuple(row) for row in rows_of(conn, plain, {"name": name})] == [(name, "100")]
        [(_, time)] = rows_of(conn, stamped, {"name": name})
        assert [tuple(row) for row in rows_of(conn, scored, {"name": name})] == [(0.5,)]
    assert isinstance(time, dt.datetime) and time.tzinfo == dt.UTC


def test_rows_of_processes_the_parameters_it_is_asked_to(
    client: Any, tenant: TenantFixture, app: Any
) -> None:
    """With ``processed``, the driver runs a statement whose parameters need their types'
    processing (a time into what the database holds): the given ones, and the fixed ones, a list's
    values included."""
    from sqlalchemy import bindparam, select

    from hovor.api.flat import _driven, rows_of

    name = _calls(client, tenant, 1)[0]
    with app.state.read_session_factory() as session:
        [time] = session.scalars(select(Activity.time).where(Activity.name == name)).all()
        stmt = select(Activity.name).where(
            Activity.time.in_([time]), Activity.name == bindparam("name"), Activity.time <= bindparam("until")
        )
        conn = session.connection()
        assert _driven(conn, stmt) is None  # not asked: SQLAlchemy's path
        assert _driven(conn, stmt, processed=True) is not None
        assert [tuple(row) for row in rows_of(conn, stmt, {"name": name, "until": time}, processed=True)] == [
            (name,)
        ]
        before = time - dt.timedelta(seconds=1)
        assert rows_of(conn, stmt, {"name": name, "until": before}, processed=True) == []


def test_only_tables_with_rowids_are_read_by_them() -> None:
    """A list page on SQLite reads its rows by rowid only where they have one (every registered
    resource's table today); a table made WITHOUT ROWID would be read by name."""
    from types import SimpleNamespace

    from sqlalchemy import Column, MetaData, String, Table

    from hovor.api.visible import _has_rowid

    meta = MetaData()
    plain = Table("plain", meta, Column("name", String, primary_key=True))
    without = Table("without", meta, Column("name", String, primary_key=True), sqlite_with_rowid=False)
    assert _has_rowid(SimpleNamespace(model=SimpleNamespace(__table__=plain)))  # type: ignore[arg-type]
    assert not _has_rowid(SimpleNamespace(model=SimpleNamespace(__table__=without)))  # type: ignore[arg-type]
    assert all(_has_rowid(resource) for resource in REGISTRY.values())
