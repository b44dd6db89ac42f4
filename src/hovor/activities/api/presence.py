"""Operators' presence as the reference names it: ``realtimeSessions`` (who is signed in, in which
state, on which pause) and ``pausesTaken`` (the pauses they took, read only)."""

from __future__ import annotations

from typing import Any

from hovor.activities import presence, schemas
from hovor.activities.models import OperatorSession, PauseTaken
from hovor.api.resource import Ctx, Resource, qf, register
from hovor.api.serialize import ref
from hovor.core.wire import to_wire


def serialize_session(s: OperatorSession, ctx: Ctx) -> dict[str, Any]:
    return {
        "name": s.name,
        "id_agent": ref(s.user_obj),
        "state": s.state,
        "id_pause": ref(s.pause_obj),
        "onpause": to_wire(s.onpause, ctx.tz),
        "exten": s.exten,
        "exten_status": s.exten_status,
        "logintime": to_wire(s.logintime, ctx.tz),
        "statetime": to_wire(s.statetime, ctx.tz),
        "lastcalltime": to_wire(s.lastcalltime, ctx.tz),
    }


def serialize_pause(p: PauseTaken, ctx: Ctx) -> dict[str, Any]:
    return {
        "name": p.name,
        "user": ref(p.user_obj),
        "pause": ref(p.pause_obj),
        "start": to_wire(p.start, ctx.tz),
        "end": to_wire(p.end, ctx.tz),
        "duration": p.duration,
    }


register(
    Resource(
        endpoint="realtimeSessions",
        audit="activities.session",
        title="Operators signed in (real time)",
        model=OperatorSession,
        permission="activities:sessions",
        fields=[
            qf("name", OperatorSession.name),
            qf("id_agent", OperatorSession.name),
            qf("state", OperatorSession.state),
            qf("id_pause", OperatorSession.id_pause),
            qf("onpause", OperatorSession.onpause, "datetime"),
            qf("exten", OperatorSession.exten),
            qf("exten_status", OperatorSession.exten_status),
            qf("logintime", OperatorSession.logintime, "datetime"),
            qf("statetime", OperatorSession.statetime, "datetime"),
            qf("lastcalltime", OperatorSession.lastcalltime, "datetime"),
        ],
        serialize=serialize_session,
        create_schema=schemas.SessionCreate,
        update_schema=schemas.SessionUpdate,
        create=presence.sign_in,
        update=presence.change,
        delete=presence.sign_out,
        eager=[(OperatorSession.user_obj,), (OperatorSession.pause_obj,)],
        default_order=[OperatorSession.name.asc()],
    )
)

register(
    Resource(
        endpoint="pausesTaken",
        title="Pauses operators took",
        model=PauseTaken,
        permission="activities:sessions",
        fields=[
            qf("name", PauseTaken.name),
            qf("user", PauseTaken.user),
            qf("pause", PauseTaken.pause),
            qf("start", PauseTaken.start, "datetime"),
            qf("end", PauseTaken.end, "datetime"),
            qf("duration", PauseTaken.duration, "int"),
        ],
        serialize=serialize_pause,
        eager=[(PauseTaken.user_obj,), (PauseTaken.pause_obj,)],
        default_order=[PauseTaken.start.desc()],
    )
)
