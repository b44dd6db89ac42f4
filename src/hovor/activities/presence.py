"""Operators' presence: who is signed in to take work, in which state, on which pause
(``realtimeSessions``), and the pauses they took (``pausesTaken``). Services flush, never commit.

A phone system or an agent desktop reports the changes: ``POST`` when an operator signs in,
``PUT`` when their state or pause changes, ``DELETE`` when they sign out. Each pause that ends —
the operator resumes, switches to another pause or signs out — is kept as a :class:`PauseTaken`.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from hovor.activities.models import OperatorSession, PauseTaken
from hovor.activities.schemas import SessionCreate, SessionUpdate
from hovor.core.caller import Caller
from hovor.core.db import new_name, utcnow
from hovor.core.errors import Conflict, ValidationFailed
from hovor.core.records import key_unchanged, time_field, user_ref
from hovor.core.references import model_of
from hovor.core.scope import get_visible


def _pause(session: Session, caller: Caller, state: str, name: str | None) -> str | None:
    """The pause of a paused operator: one the tenant has; only a paused operator has one."""
    if state != "Paused":
        if name is not None:
            raise ValidationFailed({"id_pause": ["Only a paused operator has a pause."]})
        return None
    if name is None:
        raise ValidationFailed({"id_pause": ["A paused operator is on a pause: name it."]})
    if get_visible(session, model_of("pause_types"), caller, name) is None:
        raise ValidationFailed({"id_pause": ["No such pause."]})
    return name


def _pause_ended(session: Session, operator: OperatorSession, now: dt.datetime) -> None:
    """The operator's pause (if any) ended now: it is kept as a pause taken."""
    if operator.id_pause is None or operator.onpause is None:
        return
    session.add(
        PauseTaken(
            tenant_id=operator.tenant_id,
            name=new_name("pauses"),
            user=operator.name,
            pause=operator.id_pause,
            start=operator.onpause,
            end=now,
            duration=max(0, int((now - operator.onpause).total_seconds())),
        )
    )


def sign_in(session: Session, caller: Caller, body: SessionCreate) -> OperatorSession:
    login = body.id_agent or body.name
    if login is None:
        raise ValidationFailed({"id_agent": ["Name the operator who signs in."]})
    if body.id_agent and body.name and body.id_agent != body.name:
        raise ValidationFailed({"name": ["A session is named by its operator's login."]})
    user_ref(session, caller, login, field="id_agent")
    if session.get(OperatorSession, (caller.tenant_id, login)) is not None:
        raise Conflict("The operator is signed in already; change the session or sign them out first.")
    now = utcnow()
    pause = _pause(session, caller, body.state, body.id_pause)
    operator = OperatorSession(
        tenant_id=caller.tenant_id,
        name=login,
        state=body.state,
        exten=body.exten,
        exten_status=body.exten_status,
        logintime=now,
        statetime=now,
        lastcalltime=time_field(body.lastcalltime, caller, "lastcalltime"),
        id_pause=pause,
        onpause=now if pause else None,
    )
    session.add(operator)
    session.flush()
    return operator


def change(
    session: Session, caller: Caller, operator: OperatorSession, body: SessionUpdate
) -> OperatorSession:
    key_unchanged(body, operator.name)
    # Read again under a row lock: two changes at once must not both end the same pause.
    session.execute(
        select(OperatorSession.name)
        .where(OperatorSession.tenant_id == operator.tenant_id, OperatorSession.name == operator.name)
        .with_for_update()
    )
    session.refresh(operator)
    if "id_agent" in body.model_fields_set and body.id_agent != operator.name:
        raise ValidationFailed({"id_agent": ["A session stays its operator's; sign in the other one."]})
    sent = body.model_fields_set
    now = utcnow()
    state = body.state if "state" in sent and body.state is not None else operator.state
    if "state" in sent and body.state is None:
        raise ValidationFailed({"state": ["This field cannot be empty."]})
    wanted = body.id_pause if "id_pause" in sent else (operator.id_pause if state == "Paused" else None)
    pause = _pause(session, caller, state, wanted)
    if (state, pause) != (operator.state, operator.id_pause):
        _pause_ended(session, operator, now)
        operator.state, operator.id_pause = state, pause
        operator.statetime = now
        operator.onpause = now if pause else None
    for key in ("exten", "exten_status"):
        if key in sent:
            setattr(operator, key, getattr(body, key))
    if "lastcalltime" in sent:
        operator.lastcalltime = time_field(body.lastcalltime, caller, "lastcalltime")
    session.flush()
    return operator


def sign_out(session: Session, caller: Caller, operator: OperatorSession) -> None:
    _pause_ended(session, operator, utcnow())
    session.delete(operator)
    session.flush()
