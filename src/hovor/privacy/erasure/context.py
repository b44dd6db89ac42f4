"""What every step of a running erasure shares: its job kind, its chunk size, who it acts as."""

from __future__ import annotations

from sqlalchemy.orm import Session

from hovor.audit import log as audit
from hovor.auth.service import system_caller
from hovor.core.caller import Caller
from hovor.jobs import service as jobs

KIND = "erasure"
# Records (or mentions) per transaction: short enough that no chunk holds the writer lock long.
CHUNK = 500


def actor_of(run: jobs.Run) -> audit.Actor:
    return audit.Actor("system", f"job:{run.name}", None, run.params.get("request_id"))


def caller_of(session: Session, run: jobs.Run) -> Caller:
    """The erasure acts for the tenant as a whole: every database, queue and category. It needs no
    permission: what it may do was decided when the DPO requested it."""
    return system_caller(session, run.tenant_id, user="erasure", permissions=frozenset())
