"""Refusals that say something about who is trying what land in the tenant's audit log.

A privileged route refused for want of a right (reading the audit log, erasure, the DPO's deletes,
changes to users, roles, profiles, tokens, the tenant's settings and allow-list) is an
``access.denied`` entry; a change a legal hold kept is a ``privacy.hold.blocked`` entry. An entry
holds the actor, the route's template, the permission or the hold's key: never what was sent. A
per-actor bound keeps a flood of refusals from growing the chain without limit.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from starlette.requests import Request

from hovor.api.routeindex import ROUTE_KEY
from hovor.audit import log as audit
from hovor.core.db import unit_of_work
from hovor.core.errors import ApiError, HoldBlocked, PermissionRefused
from hovor.core.permissions import DPO_PERMISSIONS, PRIVILEGED, Permission

# Refusals of these permissions are recorded; of the rest (an operator's click on a button their
# role lacks) they would be noise.
AUDITED = PRIVILEGED | DPO_PERMISSIONS | {Permission.AUDIT_LOG_READ}
PLATFORM_PATHS = ("/api/v6/platform/", "/api/v6/firewall/")


class Bound:
    """At most ``entries`` recorded refusals per actor within ``seconds``, per process."""

    def __init__(self, entries: int = 20, seconds: float = 60.0) -> None:
        self.entries, self.seconds = entries, seconds
        self._seen: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def admit(self, tenant_id: str, actor: str) -> bool:
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen.clear()
            seen = self._seen.setdefault((tenant_id, actor), deque())
            while seen and now - seen[0] > self.seconds:
                seen.popleft()
            if len(seen) >= self.entries:
                return False
            seen.append(now)
            return True


def _route(request: Request) -> str:
    route = request.scope.get(ROUTE_KEY) or request.scope.get("route")
    return getattr(route, "path", None) or "?"


def what_to_record(request: Request, exc: ApiError) -> tuple[str, dict[str, Any]] | None:
    """The audit action and details a refusal deserves, or None."""
    details: dict[str, Any] = {"method": request.method, "route": _route(request)}
    if isinstance(exc, HoldBlocked):
        return "privacy.hold.blocked", {**details, "hold": exc.hold}
    if isinstance(exc, PermissionRefused) and exc.permission in AUDITED:
        return "access.denied", {**details, "permission": exc.permission}
    if exc.status == 403 and request.url.path.startswith(PLATFORM_PATHS):
        return "access.denied", {**details, "permission": "platform"}
    return None


def record(request: Request, exc: ApiError, bound: Bound) -> None:
    """Records the refusal in the caller's tenant (in a unit of work of its own: the request's was
    rolled back). Anonymous refusals are the firewall's to count, not the audit log's."""
    caller = getattr(request.state, "caller", None)
    found = what_to_record(request, exc)
    if caller is None or found is None or not bound.admit(caller.tenant_id, caller.user):
        return
    action, details = found
    with unit_of_work(request.app.state.session_factory) as session:
        audit.record(session, caller.tenant_id, action, audit.actor_of(request), None, None, details)
