"""The firewall: middleware in front of every route that scores each client address and bans it
past a threshold.

* **Who the client is.** The peer's address, or — when the peer is a configured proxy
  (``HOVOR_TRUSTED_PROXIES``) — the first address in ``X-Forwarded-For`` read from the right that
  is not itself a trusted proxy; ``X-Forwarded-For`` from anyone else is ignored. The scheme comes
  from ``X-Forwarded-Proto`` under the same rule. IPv6 clients are counted and banned per /64 (one
  subscriber's whole prefix); IPv4 per address. A client with no IP address (a Unix socket, the
  test client) is not scored.
* **What counts against it**, per request, over a sliding window (``HOVOR_FIREWALL_WINDOW_SECONDS``):
  an answer of 401 (a failed sign-in or a bad token) 1 point; 403 half a point; a path that exists
  nowhere 1; a malformed body 1; attack signatures (:mod:`hovor.edge.signatures`) their severity,
  a request whose URL or headers score 5 or more being refused at once; a flood of requests
  (``HOVOR_FIREWALL_FLOOD_REQUESTS`` within ``HOVOR_FIREWALL_FLOOD_SECONDS``, counted by each
  process for what it serves) the whole threshold.
* **The ban.** At ``HOVOR_FIREWALL_THRESHOLD`` points (5, as fail2ban's five failures in ten
  minutes) the address is banned for ``HOVOR_FIREWALL_BAN_SECONDS`` (10 minutes), doubled for each
  earlier ban still remembered, up to a week. A banned client gets 403 with ``Retry-After`` from
  each process's in-memory snapshot of bans, refreshed every ``HOVOR_FIREWALL_SYNC_SECONDS``: no
  database or Redis round trip. Allow-listed networks (platform-wide in ``HOVOR_FIREWALL_ALLOW`` or
  ``hovor firewall allow``, or a tenant's own) are never banned; deny-listed ones always are.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hovor.core.errors import ApiError, TooManyRequests, retry_after_header
from hovor.edge import signatures
from hovor.edge.store import Policy, Snapshot, epoch
from hovor.edge.tls import HSTS
from hovor.edge.tokens import IDENTIFIED_NOISE, TokenThrottle, token_digest

log = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
STATE_KEY = "firewall"  # scope["state"][STATE_KEY]: events the application noted for this request
STALE_KEY = "firewall.stale"  # scope["state"][STALE_KEY]: the digest of an expired or revoked token
GATE_KEY = "firewall.gate"  # scope["state"][GATE_KEY]: (the firewall, the client's key, an office)

WEIGHTS = {"unauthorized": 1.0, "forbidden": 0.5, "no-route": 1.0, "malformed": 1.0}
NOISE = frozenset(WEIGHTS)  # what a tenant's office address is scored for at a fifth
OFFICE_DISCOUNT = 0.2
BODY_TYPES = (b"application/json", b"application/x-www-form-urlencoded", b"text/")
BODY_LIMIT = 64 * 1024


def note(request_or_scope: Any, event: str) -> None:
    """Called by the application: this request did something the firewall scores (``malformed``),
    or its error answer is not to be scored (``second-step``: a sign-in that awaits its code)."""
    scope = getattr(request_or_scope, "scope", request_or_scope)
    scope.setdefault("state", {}).setdefault(STATE_KEY, []).append(event)


def note_stale_token(request_or_scope: Any, digest: str) -> None:
    """Called by the application: the request's token was one hovor issued, now expired or
    revoked. Its 401 counts against that token (paused past the threshold), not the address."""
    scope = getattr(request_or_scope, "scope", request_or_scope)
    scope.setdefault("state", {})[STALE_KEY] = digest


@lru_cache(maxsize=65536)
def client_key(address: str) -> str | None:
    """The unit a score and a ban apply to: an IPv4 address, or an IPv6 /64. None: not an address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def networks(values: Iterable[str]) -> tuple[Network, ...]:
    out = []
    for value in values:
        value = value.strip()
        if value:
            out.append(ipaddress.ip_network(value, strict=False))
    return tuple(out)


def _in(address: str, nets: tuple[Network, ...]) -> bool:
    if not nets:
        return False
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in nets)


def resolve_client(peer: str, forwarded_for: str | None, trusted: tuple[Network, ...]) -> str:
    """The client's address: ``X-Forwarded-For`` is read right to left, and only while the hop that
    wrote the next entry is a trusted proxy."""
    if not forwarded_for or not _in(peer, trusted):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    client = peer
    for hop in reversed(hops):
        if client_key(hop) is None:
            break  # garbage: trust stops at the last hop that made sense
        client = hop
        if not _in(hop, trusted):
            break
    return client


@dataclass
class _Flood:
    window: float
    limit: int
    counts: OrderedDict[str, tuple[float, int]] = field(default_factory=OrderedDict)

    def hit(self, key: str, now: float) -> bool:
        start, count = self.counts.get(key, (now, 0))
        if now - start > self.window:
            start, count = now, 0
        count += 1
        self.counts[key] = (start, count)
        self.counts.move_to_end(key)
        while len(self.counts) > 100_000:
            self.counts.popitem(last=False)
        return count == self.limit + 1  # once per window, when it tips over


def _refusal(message: str) -> bytes:
    return json.dumps({"error": [message], "result": None}).encode()


BUSY_MESSAGE = "Too many sign-ins from your address at once. Try again in a few seconds."
BANNED_MESSAGE = "Your address is blocked for a while after suspicious requests. Try again later."
BANNED_BODY = _refusal(BANNED_MESSAGE)
DENIED_BODY = _refusal("Your address is not allowed to use this service.")
REFUSED_BODY = _refusal("The request looks like an attack and was refused.")
PAUSED_BODY = _refusal("Too many refused requests with this token. Try again later.")


class Firewall:
    """Pure ASGI: a per-request task or queue (BaseHTTPMiddleware) would cost more than the checks."""

    def __init__(self, app: ASGIApp, settings: Any, store: Any) -> None:
        self.app = app
        self.store = store
        self.enabled = settings.firewall_enabled
        self.trusted = networks(settings.trusted_proxies.split(","))
        self.static_allow = networks(settings.firewall_allow.split(","))
        self.static_deny = networks(settings.firewall_deny.split(","))
        self.allow: tuple[Network, ...] = self.static_allow
        self.office: tuple[Network, ...] = ()
        self.deny: tuple[Network, ...] = self.static_deny
        self.bans: dict[str, float] = {}
        # (denied, allowed, an office) per client address, for the lists as they stand (cleared when
        # they change).
        self._listed: dict[str, tuple[bool, bool, bool]] = {}
        self.policy = Policy(
            settings.firewall_threshold,
            settings.firewall_window_seconds,
            settings.firewall_ban_seconds,
            settings.firewall_max_ban_seconds,
            settings.firewall_memory_seconds,
        )
        self.sync_seconds = settings.firewall_sync_seconds
        self.flood = _Flood(settings.firewall_flood_seconds, settings.firewall_flood_requests)
        self.tokens = TokenThrottle()
        self._synced = 0.0
        self._syncing: asyncio.Task[None] | None = None

    # --- the snapshot ------------------------------------------------------------------------
    def apply(self, snap: Snapshot) -> None:
        self.bans = dict(snap.bans)
        allow = self.static_allow + networks(snap.allow)
        deny = self.static_deny + networks(snap.deny)
        office = networks(snap.office)
        if allow != self.allow or deny != self.deny or office != self.office:
            self.allow, self.deny, self.office = allow, deny, office
            self._listed = {}

    async def _sync(self) -> None:
        try:
            self.apply(await run_in_threadpool(self.store.snapshot))
        except Exception:
            log.exception("firewall: refreshing the bans failed; keeping the last snapshot")
        finally:
            self._syncing = None

    def _maybe_sync(self, now: float) -> None:
        # Refreshed in the background when due; the request never waits for it.
        if now - self._synced >= self.sync_seconds and self._syncing is None:
            self._synced = now
            self._syncing = asyncio.get_running_loop().create_task(self._sync())

    # --- a request ---------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers") or []
        client = self._client(scope, headers)
        key = client_key(client) if client and self.enabled else None
        if key is None:
            await self.app(scope, receive, send)
            return
        now = time.time()
        self._maybe_sync(now)
        denied, allowed, office = self._lists_of(client)
        if denied:
            await _answer(send, 403, DENIED_BODY, scope=scope)
            return
        until = None if allowed else self.bans.get(key)
        if until is not None and until > now:
            await _answer(send, 403, BANNED_BODY, retry_after=int(until - now) + 1, scope=scope)
            return
        if not allowed:
            # A sign-in counts its attempt here before the password is checked (count_attempt).
            scope.setdefault("state", {})[GATE_KEY] = (self, key, office)
        # The token is read only while some token is paused: most requests never pay for it.
        digest = token_digest(scope) if self.tokens.any_paused(now) else None
        paused = self.tokens.paused(digest, now) if digest else None
        if paused is not None:
            await _answer(send, 429, PAUSED_BODY, retry_after=int(paused - now) + 1, scope=scope)
            return
        events = [("flood", self.policy.threshold)] if self.flood.hit(key, now) else []
        attack = _attack_in_request(scope, headers)
        if attack is not None:
            events.append(attack)
            if not allowed:
                await self._score(key, events)
            await _answer(send, 403, REFUSED_BODY, scope=scope)
            return
        # The body: read (bounded) only for textual content, and handed on unchanged. It is scored
        # only if the request is refused, as only then do its hits count: scanning every accepted
        # body cost about 50 µs, a fifth of a feed's single create on the event loop.
        text: str | None = None
        content_type = _header_bytes(headers, b"content-type")
        if scope["method"] in ("POST", "PUT", "PATCH") and content_type.startswith(BODY_TYPES):
            receive, text = await _peek(receive)
        status = 0

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, watch)
        answered = _answer_events(scope, status)
        state = scope.get("state") or {}
        stale: str | None = state.get(STALE_KEY)
        token: str | None = getattr(state.get("caller"), "token_hash", None) or stale
        if token is not None:
            # An identified client's refusals are its token's (keyed as the API keys it), not its
            # address's; so are the 401s of a token that ran out.
            kinds = IDENTIFIED_NOISE | {"unauthorized"} if stale else IDENTIFIED_NOISE
            noise = [e for e in answered if e[0] in kinds]
            answered = [e for e in answered if e[0] not in kinds]
            if noise:
                self.tokens.refused(token, now)
        events.extend(answered)
        if text is not None and status >= 400:
            body_points, body_names = signatures.score(signatures.decoded(text))
            if body_points:
                events.append((f"signature:{body_names[0]}", float(body_points)))
        if office:
            # Many agents behind one address make this noise between them: it counts a fifth (25
            # failed sign-ins in the window, not 5), so listing an address never shields a password
            # sprayer completely. Floods and attacks count in full.
            events = [(e, w * OFFICE_DISCOUNT if e in NOISE else w) for e, w in events]
        if events and not allowed:
            await self._score(key, events)

    def _client(self, scope: Scope, headers: list[tuple[bytes, bytes]]) -> str:
        """The client's address: the peer's, or what a trusted proxy says it forwarded."""
        peer = (scope.get("client") or ("", 0))[0]
        if not (self.trusted and _in(peer, self.trusted)):
            return str(peer)
        client = resolve_client(peer, _header(headers, b"x-forwarded-for"), self.trusted)
        if client != peer:
            scope["client"] = (client, 0)
        proto = _header(headers, b"x-forwarded-proto")
        if proto in ("http", "https"):
            scope["scheme"] = proto
        return client

    def _lists_of(self, client: str) -> tuple[bool, bool, bool]:
        """(denied, allowed, an office's address), remembered per address until the lists change."""
        listed = self._listed.get(client)
        if listed is None:
            listed = self._listed[client] = (
                _in(client, self.deny),
                _in(client, self.allow),
                _in(client, self.office),
            )
            if len(self._listed) > 100_000:
                self._listed.clear()
        return listed

    async def _score(self, key: str, events: list[tuple[str, float]]) -> None:
        weight = sum(w for _, w in events)
        reason = max(events, key=lambda e: e[1])[0]
        try:
            total = await run_in_threadpool(self.store.score, key, weight, reason, self.policy)
            if total >= self.policy.threshold:
                await self._ban(key, reason, total)
        except Exception:
            log.exception("firewall: scoring failed; the request was answered")

    async def _ban(self, key: str, reason: str, total: float) -> None:
        ban = await run_in_threadpool(self.store.ban, key, reason, total, self.policy)
        if ban is not None:
            # This process bans at once; the others at their next refresh.
            self.bans[key] = epoch(ban.until)
            log.warning("firewall: banned a client (%s) for %d s", reason, self.bans[key] - time.time())


def _header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> str | None:
    for k, v in headers:
        if k == name:
            return v.decode("latin-1")
    return None


def _header_bytes(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> bytes:
    for k, v in headers:
        if k == name:
            return v.lower()
    return b""


async def _peek(receive: Receive) -> tuple[Receive, str | None]:
    """Reads the body up to :data:`BODY_LIMIT` and returns a ``receive`` that replays it. A larger
    body is handed on unread past the limit (and not inspected)."""
    messages: list[Message] = []
    size = 0
    more = True
    while more and size <= BODY_LIMIT:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    text = None
    if not more and size <= BODY_LIMIT:
        text = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request").decode(
            "utf-8", errors="replace"
        )

    async def replay() -> Message:
        if messages:
            return messages.pop(0)
        return await receive()

    return replay, text


async def _answer(
    send: Send, status: int, body: bytes, *, scope: Scope, retry_after: int | None = None
) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    if scope.get("scheme") == "https":
        headers.append((b"strict-transport-security", HSTS))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _attack_in_request(scope: Scope, headers: list[tuple[bytes, bytes]]) -> tuple[str, float] | None:
    """An attack signature in the URL or the headers worth refusing the request for, if any."""
    raw = scope.get("raw_path", b"").decode("latin-1") or scope["path"]
    if scope.get("query_string"):
        raw += "?" + scope["query_string"].decode("latin-1")
    points, names = (0, []) if signatures.plain_url(raw) else signatures.score(signatures.decoded(raw))
    for name, value in headers:
        if name in signatures.HEADERS:
            p, n = signatures.score(value.decode("latin-1"))
            points, names = points + p, names + n
    if points >= signatures.CRITICAL:
        return (f"signature:{names[0]}", float(points))
    return None


def _answer_events(scope: Scope, status: int) -> list[tuple[str, float]]:
    """What the answer says about the client: refused credentials, probing for routes, and what
    the routes noted themselves (a failed sign-in)."""
    noted = (scope.get("state") or {}).get(STATE_KEY, [])
    events: list[tuple[str, float]] = []
    if "second-step" in noted or "counted" in noted:
        # A right password that still needs its one-time code: a step, not a failure. Or a sign-in
        # whose attempt was counted before its password was checked (count_attempt).
        pass
    elif status == 401:
        events.append(("unauthorized", WEIGHTS["unauthorized"]))
    elif status == 403:
        events.append(("forbidden", WEIGHTS["forbidden"]))
    elif status == 404 and "endpoint" not in scope:
        events.append(("no-route", WEIGHTS["no-route"]))
    events.extend((e, WEIGHTS.get(e, 1.0)) for e in noted if e not in ("second-step", "counted"))
    return events


# --- sign-ins: the attempt is counted before the password is checked ---------------------------------
class AddressBlocked(ApiError):
    """The client's address used up its sign-in attempts: it is banned (as the firewall answers)."""

    status = 403

    def __init__(self, retry_after: float) -> None:
        super().__init__(BANNED_MESSAGE)
        self.headers = retry_after_header(retry_after)


@dataclass
class Attempt:
    """A sign-in attempt counted against its client's address (nothing to settle when ``gate`` is
    None: no address, the firewall off, an allow-listed network, or the count could not be kept)."""

    gate: tuple[Firewall, str, bool] | None = None
    handle: str = ""


async def count_attempt(request: Any) -> Attempt:
    """Counts a sign-in attempt against the client's address before its password is checked, so
    parallel guesses cannot overshoot: at most the threshold's worth of checks per address and
    window, in every worker together (an office's address counts a fifth). Raises AddressBlocked
    (403, Retry-After) when the address is banned, TooManyRequests (429) when its attempts are in
    use or used up; neither checks a password."""
    scope = getattr(request, "scope", request)
    gate = (scope.get("state") or {}).get(GATE_KEY)
    if gate is None:
        return Attempt()
    fw, key, office = gate
    weight = WEIGHTS["unauthorized"] * (OFFICE_DISCOUNT if office else 1.0)
    try:
        claimed = await run_in_threadpool(fw.store.claim, key, weight, fw.policy)
    except Exception:
        log.exception("firewall: counting a sign-in failed; its answer will be scored instead")
        return Attempt()
    note(scope, "counted")
    if isinstance(claimed, float):  # banned, perhaps by another worker a moment ago
        fw.bans[key] = max(claimed, fw.bans.get(key, 0.0))
        raise AddressBlocked(claimed - time.time())
    if claimed is None:
        until = fw.bans.get(key)
        if until is not None and until > time.time():
            raise AddressBlocked(until - time.time())
        # The address's attempts are in use (being checked) or used up: no password is checked, and
        # nothing is banned for it — a ban follows failures only, so six right passwords at once
        # from one address ban nothing.
        raise TooManyRequests(BUSY_MESSAGE, retry_after=5)
    return Attempt(gate, claimed[0])


async def settle(attempt: Attempt, *, failed: bool) -> None:
    """After the check: a failure counts, and failures that reach the threshold ban the address;
    anything else (the right password, or no password checked at all) gives the attempt back."""
    if attempt.gate is None:
        return
    fw, key, _ = attempt.gate
    try:
        if failed:
            # The failures so far (not the attempts still being checked) decide a ban.
            failures = await run_in_threadpool(fw.store.fail, key, attempt.handle, fw.policy)
            if failures >= fw.policy.threshold:
                await fw._ban(key, "unauthorized", failures)
        else:
            await run_in_threadpool(fw.store.release, key, attempt.handle)
    except Exception:
        log.exception("firewall: settling a sign-in attempt failed")
