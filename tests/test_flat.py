"""Reads for serialization (hovor.api.flat): driver rows through generated builders give the
values the ORM would, on both databases."""

from __future__ import annotations

import datetime as dt
from typing import Any

from conftest import TenantFixture, data
from hovor.activities.models import Activity
from hovor.api.flat import plan_for
from hovor.api.resource import REGISTRY
from hovor.api.router import _by_keys, _rights, read_visible
from hovor.auth.service import resolve_token


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
    stmt = _by_keys(resource.endpoint, _rights(_caller(app, tenant.tokens["admin"])))
    with app.state.snapshot_session_factory() as session:
        conn = session.connection()
        for options in ({}, {"yield_per": 2}):
            found = plan_for(resource).fetch(conn, stmt.execution_options(**options), {"keys": names})
            assert sorted(f.name for f in found) == sorted(names), options
