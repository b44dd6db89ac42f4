"""Refusals of an identified client count against its token, not its address.

A request with a valid token comes from someone the tenant knows. Ten refused clicks (403) by one
agent used to score the address, and a contact centre's agents share
their office's: one agent's clumsiness banned the whole office. They now count against the token
alone: past ``threshold`` within ``window`` the token is paused (429, the pause doubling with each
repeat up to ``max_pause``), and its colleagues and the address go on. Unauthenticated noise and
attack signatures still score the address (``hovor.edge.firewall``).

The pauses live in each process's memory: several workers each allow the threshold, which bounds a
token's refused requests without sharing state for what is a nuisance, not an attack.
"""

from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.types import Scope

# A path that exists nowhere runs no route, so no token is checked: it still scores the address.
IDENTIFIED_NOISE = frozenset({"forbidden"})


def token_digest(scope: Scope) -> str | None:
    """The digest of the request's access token, read exactly as the API reads it (the header, the
    ``c_user`` cookie as Starlette parses cookies, or ``accessToken``), so a token spelt another way
    is still the same key."""
    request = Request(scope)
    raw = (
        request.headers.get("x-auth-token")
        or request.cookies.get("c_user")
        or request.query_params.get("accessToken")
    )
    if not raw or len(raw) > 200:
        return None
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class _Record:
    refusals: deque[float] = field(default_factory=deque)
    paused_until: float = 0.0
    pauses: int = 0


@dataclass
class TokenThrottle:
    threshold: int = 10
    window: float = 60.0
    pause: float = 60.0
    max_pause: float = 3600.0
    _tokens: dict[str, _Record] = field(default_factory=dict)
    _last_pause_ends: float = 0.0

    def any_paused(self, now: float) -> bool:
        """Whether some token may be paused now (cheap: the latest end of any pause)."""
        return now < self._last_pause_ends

    def paused(self, digest: str, now: float) -> float | None:
        """Until when the token is paused, or None."""
        record = self._tokens.get(digest)
        return record.paused_until if record is not None and record.paused_until > now else None

    def refused(self, digest: str, now: float) -> None:
        if len(self._tokens) > 100_000:
            self._tokens.clear()
        record = self._tokens.setdefault(digest, _Record())
        record.refusals.append(now)
        while record.refusals and now - record.refusals[0] > self.window:
            record.refusals.popleft()
        if len(record.refusals) >= self.threshold:
            record.paused_until = now + min(self.pause * 2**record.pauses, self.max_pause)
            self._last_pause_ends = max(self._last_pause_ends, record.paused_until)
            record.pauses += 1
            record.refusals.clear()
