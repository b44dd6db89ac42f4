"""Sign-in, tokens, and turning a token into a caller. Services never commit."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from hovor.api.errors import BadRequest, NotFound, Unauthorized
from hovor.auth.caller import Caller
from hovor.auth.models import Profile, Role, Token, User
from hovor.auth.passwords import hash_password, needs_rehash, verify_password
from hovor.config import Settings
from hovor.db import utcnow
from hovor.tenancy.models import Tenant

TOKEN_BYTES = 32


def digest(raw: str) -> str:
    # Tokens are 256 random bits, so a plain SHA-256 is enough; a slow hash would only slow requests.
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def _grant(values: list[str] | None) -> frozenset[str] | None:
    return None if values is None else frozenset(values)


class CallerCache:
    """Recently resolved tokens of this worker process, kept for a few seconds.

    Resolving a token is a four-table join on every request; most requests come from a client
    that sent the same token a moment ago. Entries expire after ``ttl`` seconds and are dropped at
    once when this worker revokes the token; revocations in other workers take effect within the
    TTL."""

    MAX = 10_000

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, Caller]] = {}

    def get(self, token_hash: str) -> Caller | None:
        hit = self._entries.get(token_hash)
        if hit is None:
            return None
        if hit[0] < time.monotonic():
            self._entries.pop(token_hash, None)
            return None
        return hit[1]

    def put(self, token_hash: str, caller: Caller, token_expires: dt.datetime) -> None:
        if self.ttl <= 0:
            return
        if len(self._entries) >= self.MAX:
            self._entries.clear()
        remaining = (token_expires - utcnow()).total_seconds()
        self._entries[token_hash] = (time.monotonic() + min(self.ttl, remaining), caller)

    def forget_user(self, tenant_id: str, user: str) -> None:
        for key, (_, caller) in list(self._entries.items()):
            if caller.tenant_id == tenant_id and caller.user == user:
                self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()

    def forget(self, token_hash: str | None) -> None:
        if token_hash:
            self._entries.pop(token_hash, None)


def resolve_token(factory: Any, cache: CallerCache, raw: str) -> Caller | None:
    """The caller of a token, from the cache or from a short read transaction of its own (so a
    writing request does not hold a write lock while it authenticates)."""
    if len(raw) > 200:
        return None
    token_hash = digest(raw)
    cached = cache.get(token_hash)
    if cached is not None:
        return cached
    with factory() as session:
        found = _lookup(session, token_hash, utcnow())
    if found is None:
        return None
    caller, expires = found
    cache.put(token_hash, caller, expires)
    return caller


_TOKEN_QUERY = (
    select(Token, User, Role.permissions, Profile, Tenant.timezone, Tenant.country)
    .join(User, (User.tenant_id == Token.tenant_id) & (User.name == Token.user))
    .join(Role, (Role.tenant_id == User.tenant_id) & (Role.name == User.role))
    .join(Profile, (Profile.tenant_id == User.tenant_id) & (Profile.name == User.profile))
    .join(Tenant, Tenant.id == User.tenant_id)
    .where(Token.hash == bindparam("token_hash"))
)


def _lookup(session: Session, token_hash: str, now: dt.datetime) -> tuple[Caller, dt.datetime] | None:
    row = session.execute(_TOKEN_QUERY, {"token_hash": token_hash}).one_or_none()
    if row is None:
        return None
    token, user, permissions, profile, tz, country = row
    if token.kind == "refresh" or token.revoked is not None or token.expires <= now or user.deactivated:
        return None
    caller = Caller(
        tenant_id=user.tenant_id,
        user=user.name,
        role=user.role,
        permissions=frozenset(permissions or ()),
        databases=_grant(profile.databases),
        queues=_grant(profile.queues),
        categories=_grant(profile.categories),
        timezone=tz,
        country=country,
        token_kind=token.kind,
        token_hash=token.hash,
    )
    return caller, token.expires


def issue_token(
    session: Session,
    user: User,
    kind: str,
    lifetime: dt.timedelta,
    title: str | None = None,
    pair: str | None = None,
) -> tuple[str, Token]:
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    token = Token(
        hash=digest(raw),
        tenant_id=user.tenant_id,
        user=user.name,
        kind=kind,
        title=title,
        created=utcnow(),
        expires=utcnow() + lifetime,
        pair=pair,
    )
    session.add(token)
    session.flush()
    return raw, token


@dataclass(frozen=True)
class LoginResult:
    user: User
    access_token: str
    refresh_token: str
    expires: dt.datetime


def _issue_pair(session: Session, user: User, settings: Settings) -> LoginResult:
    access_raw, access = issue_token(
        session, user, "access", dt.timedelta(seconds=settings.access_token_ttl_seconds)
    )
    refresh_raw, _ = issue_token(
        session,
        user,
        "refresh",
        dt.timedelta(seconds=settings.refresh_token_ttl_seconds),
        pair=access.hash,
    )
    return LoginResult(user, access_raw, refresh_raw, access.expires)


class LoginFailed(Unauthorized):
    """A failed sign-in; the answer is the same whatever the reason, the audit entry is not."""

    def __init__(self, tenant_id: str | None, user: str | None, reason: str) -> None:
        super().__init__("Wrong user name or password.")
        self.tenant_id, self.user, self.reason = tenant_id, user, reason


@dataclass(frozen=True)
class Verified:
    tenant_id: str
    name: str
    needs_rehash: bool


THROTTLE_WINDOW = dt.timedelta(minutes=15)


def login_delay(session: Session, settings: Settings, username: str) -> float:
    """Seconds a sign-in of this account waits before its password is checked: none until
    ``login_throttle_after`` failures within 15 minutes, then doubling with each failure, capped.

    The account is slowed, never locked: the right password still signs in (after the delay), so
    an attacker guessing from many addresses cannot keep its owner out, only make each of the
    attacker's guesses slow. The failures are the audit log's ``auth.login.fail`` entries."""
    from hovor.audit.models import AuditEntry

    user = session.execute(select(User.tenant_id, User.name).where(User.name == username)).first()
    if user is None:
        return 0.0
    failures = session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(
            AuditEntry.tenant_id == user.tenant_id,
            AuditEntry.object_type == "users",
            AuditEntry.object_key == user.name,
            AuditEntry.action == "auth.login.fail",
            AuditEntry.at > utcnow() - THROTTLE_WINDOW,
        )
    )
    over = int(failures or 0) - settings.login_throttle_after
    if over < 0:
        return 0.0
    return float(
        min(settings.login_throttle_seconds * 2 ** min(over, 20), settings.login_throttle_max_seconds)
    )


def verify(session: Session, settings: Settings, username: str, password: str) -> Verified:
    """Checks a user name and password (read only); the answer never tells whether the user exists."""
    user = session.scalars(select(User).where(User.name == username)).one_or_none()
    valid = verify_password(user.password_hash if user else None, password, settings.hash_profile)
    if user is None:
        raise LoginFailed(None, None, "unknown")
    if not valid or user.deactivated:
        raise LoginFailed(user.tenant_id, user.name, "deactivated" if valid else "password")
    assert user.password_hash is not None
    return Verified(user.tenant_id, user.name, needs_rehash(user.password_hash, settings.hash_profile))


def start_session(session: Session, settings: Settings, verified: Verified, password: str) -> LoginResult:
    """Stamps the login, upgrades the hash if its parameters changed, and issues a token pair."""
    user = session.get(User, (verified.tenant_id, verified.name))
    if user is None or user.deactivated:
        raise Unauthorized("Wrong user name or password.")
    if verified.needs_rehash:
        user.password_hash = hash_password(password, settings.hash_profile)
    user.last_login = utcnow()
    return _issue_pair(session, user, settings)


def refresh(session: Session, settings: Settings, raw_refresh: str) -> LoginResult:
    """Exchanges a refresh token for a new pair; the old refresh token is spent."""
    now = utcnow()
    token = session.get(Token, digest(raw_refresh)) if len(raw_refresh) <= 200 else None
    if token is None or token.kind != "refresh" or token.revoked is not None or token.expires <= now:
        raise Unauthorized("The refresh token is invalid, expired or revoked.")
    user = session.get(User, (token.tenant_id, token.user))
    if user is None or user.deactivated:
        raise Unauthorized("The refresh token is invalid, expired or revoked.")
    token.revoked = now
    return _issue_pair(session, user, settings)


def logout(session: Session, caller: Caller) -> None:
    """Revokes the token in use and any refresh token issued with it."""
    if caller.token_hash is None:
        return
    now = utcnow()
    session.execute(
        update(Token)
        .where((Token.hash == caller.token_hash) | (Token.pair == caller.token_hash))
        .where(Token.revoked.is_(None))
        .values(revoked=now)
    )


def issue_api_token(
    session: Session, settings: Settings, tenant_id: str, username: str, title: str | None, days: int | None
) -> tuple[str, Token]:
    user = session.get(User, (tenant_id, username))
    if user is None:
        raise NotFound("User not found.")
    if days is not None and days <= 0:
        raise BadRequest("A token lifetime must be at least one day.")
    return issue_token(session, user, "api", dt.timedelta(days=days or settings.api_token_ttl_days), title)


def revoke_tokens_of(session: Session, tenant_id: str, username: str) -> None:
    session.execute(
        update(Token)
        .where(Token.tenant_id == tenant_id, Token.user == username, Token.revoked.is_(None))
        .values(revoked=utcnow())
    )
