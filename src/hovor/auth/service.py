"""Sign-in, tokens, and turning a token into a caller. Services never commit."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, case, func, select, update
from sqlalchemy.orm import Session

from hovor.audit.models import AuditEntry
from hovor.auth import totp
from hovor.auth.models import PlatformToken, Profile, Role, Token, User
from hovor.auth.passwords import hash_password, needs_rehash, verify_password
from hovor.core.caller import Caller
from hovor.core.config import Settings
from hovor.core.db import utcnow
from hovor.core.errors import BadRequest, NotFound, Unauthorized
from hovor.core.permissions import READ_ALL
from hovor.tenancy.models import Tenant

TOKEN_BYTES = 32
SUPPORT_ROLE = "platform-support"
# What processor staff inside a tenant may do (hovor.auth.platform): read its configuration and
# records, nothing else (not its audit log, which records them, nor its API tokens).
SUPPORT_PERMISSIONS = frozenset(READ_ALL)


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


TOUCH_EVERY = dt.timedelta(minutes=1)


def resolve_token(
    factory: Any, cache: CallerCache, raw: str, settings: Settings, writer: Any = None
) -> Caller | None:
    """The caller of a token, from the cache or from a short read transaction of its own (so a
    writing request does not hold a write lock while it authenticates).

    A web session that has been idle longer than ``settings.session_idle_minutes`` is over; one in
    use is stamped (through ``writer``, in a transaction of its own) at most once a minute. A token
    of a platform operator's entry into a tenant resolves to a read-only caller of that tenant."""
    if len(raw) > 200:
        return None
    token_hash = digest(raw)
    cached = cache.get(token_hash)
    if cached is not None:
        return cached
    now = utcnow()
    idle = dt.timedelta(minutes=settings.session_idle_minutes)
    with factory() as session:
        found = _lookup(session, token_hash, now, idle, settings.totp_required)
        if found is None:
            found = lookup_entry(session, token_hash, now)
    if found is None:
        return None
    caller, expires, last_used = found
    if caller.token_kind == "session":
        if writer is not None and (last_used is None or now - last_used >= TOUCH_EVERY):
            with writer() as session:
                session.execute(update(Token).where(Token.hash == token_hash).values(last_used=now))
                session.commit()
            last_used = now
        expires = min(expires, (last_used or now) + idle)
    cache.put(token_hash, caller, expires)
    return caller


def token_issued(factory: Any, raw: str) -> bool:
    """Whether hovor issued this token (to a user or platform staff), whatever its state now."""
    token_hash = digest(raw)
    with factory() as session:
        return bool(
            session.scalar(select(Token.hash).where(Token.hash == token_hash))
            or session.scalar(select(PlatformToken.hash).where(PlatformToken.hash == token_hash))
        )


_TOKEN_QUERY = (
    select(Token, User, Role.permissions, Profile, Tenant.timezone, Tenant.country)
    .join(User, (User.tenant_id == Token.tenant_id) & (User.name == Token.user))
    .join(Role, (Role.tenant_id == User.tenant_id) & (Role.name == User.role))
    .join(Profile, (Profile.tenant_id == User.tenant_id) & (Profile.name == User.profile))
    .join(Tenant, Tenant.id == User.tenant_id)
    .where(Token.hash == bindparam("token_hash"))
)


def _lookup(
    session: Session, token_hash: str, now: dt.datetime, idle: dt.timedelta, totp_required: bool
) -> tuple[Caller, dt.datetime, dt.datetime | None] | None:
    row = session.execute(_TOKEN_QUERY, {"token_hash": token_hash}).one_or_none()
    if row is None:
        return None
    token, user, permissions, profile, tz, country = row
    if token.kind == "refresh" or token.revoked is not None or token.expires <= now or user.deactivated:
        return None
    if token.kind == "session" and (token.last_used or token.created) + idle <= now:
        return None
    kind = token.kind
    if (
        totp_required
        and kind in ("access", "session")
        and not user.totp_secret
        and totp.required(permissions or [])
    ):
        # Signed in before the role asked for a second factor (a promotion, an upgrade): the
        # session may set one up (proving the password again) and nothing else until it has.
        kind = "confined"
    caller = Caller(
        tenant_id=user.tenant_id,
        user=user.name,
        role=user.role,
        # A token that only sets up the second factor grants nothing else (hovor.api.deps).
        permissions=frozenset() if kind in ("enroll", "confined") else frozenset(permissions or ()),
        databases=_grant(profile.databases),
        queues=_grant(profile.queues),
        categories=_grant(profile.categories),
        timezone=tz,
        country=country,
        token_kind=kind,
        token_hash=token.hash,
    )
    return caller, token.expires, token.last_used or token.created


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
    refresh_token: str | None
    expires: dt.datetime
    # "setup": the token only sets up the second factor (the account's role requires one).
    second_factor: str | None = None
    session_cookie: bool = False


def issue_pair(session: Session, user: User, settings: Settings) -> LoginResult:
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
    """A failed sign-in; the answer is the same whatever the reason, the audit entry is not.

    ``keep``: what the transaction wrote so far (a wrong code counted) is to be committed with the
    audit entry, not rolled back."""

    def __init__(self, tenant_id: str | None, user: str | None, reason: str, keep: bool = False) -> None:
        super().__init__("Wrong user name, password or one-time code.")
        self.tenant_id, self.user, self.reason, self.keep = tenant_id, user, reason, keep


class CodeNeeded(Unauthorized):
    """The password was right and the account has a second factor: the code is still to come."""

    def __init__(self) -> None:
        super().__init__("This account signs in with a one-time code: send the authenticator's code as totp.")


class CodeLimit(Exception):
    """Too many wrong one-time codes of an account lately: none is checked for a while."""


# Wrong codes an account may have within the window before no code is checked: a guesser who has
# the password gets ten tries of a million per quarter hour, however many addresses they use.
CODE_FAILURES = 10
CODE_WINDOW = dt.timedelta(minutes=15)


def check_code(
    session: Session,
    settings: Settings,
    model: Any,
    where: list[Any],
    sealed: str | None,
    owner: str,
    code: str | None,
) -> int | None:
    """Checks a one-time code of the account ``model`` + ``where`` (a user or a staff member) in the
    caller's write transaction; returns its time step, or None when it is wrong (the failure stays
    counted: commit it). Raises CodeLimit past CODE_FAILURES wrong codes within CODE_WINDOW.

    The attempt is counted before the code is looked at, in an UPDATE that keeps the row locked to
    the end of the transaction, so parallel guesses queue and each one counts. A right code resets
    the count and marks its time step used (neither it nor an earlier step is taken again)."""
    now = utcnow()
    stale = model.totp_failed_at.is_(None) | (model.totp_failed_at < now - CODE_WINDOW)
    counted = session.execute(
        update(model)
        .where(*where)
        .where(stale | (model.totp_failures < CODE_FAILURES))
        .values(totp_failures=case((stale, 1), else_=model.totp_failures + 1), totp_failed_at=now)
        .execution_options(synchronize_session=False)
    )
    if not getattr(counted, "rowcount", 0):
        raise CodeLimit()
    last_step = session.scalar(select(model.totp_last_step).where(*where))
    secret = totp.Sealer(settings.secret_key).open(sealed, owner) if sealed else None
    step = totp.match(secret, code, last_step) if secret and code else None
    if step is None:
        return None
    taken = session.execute(
        update(model)
        .where(*where)
        .where(model.totp_last_step.is_(None) | (model.totp_last_step < step))
        .values(totp_last_step=step, totp_failures=0, totp_failed_at=None)
        .execution_options(synchronize_session=False)
    )
    return step if getattr(taken, "rowcount", 0) else None


@dataclass(frozen=True)
class Verified:
    tenant_id: str
    name: str
    needs_rehash: bool
    # The account has a second factor: the code is checked when the session starts (in writing).
    has_code: bool = False
    # The account must set up a second factor before it may do anything else.
    needs_setup: bool = False


THROTTLE_WINDOW = dt.timedelta(minutes=15)


def login_delay(session: Session, settings: Settings, username: str) -> float:
    """Seconds a sign-in of this account waits before its password is checked: none until
    ``login_throttle_after`` failures within 15 minutes, then doubling with each failure, capped.

    The account is slowed, never locked: the right password still signs in (after the delay), so
    an attacker guessing from many addresses cannot keep its owner out, only make each of the
    attacker's guesses slow. The failures are the audit log's ``auth.login.fail`` entries."""
    user = session.execute(select(User.tenant_id, User.name).where(User.name == username)).first()
    if user is None:
        return 0.0
    return failures_delay(session, settings, user.tenant_id, "users", user.name, "auth.login.fail")


# How long a slowed account's check may hold it beyond its delay (Argon2 takes a fraction of a
# second; a worker killed mid-check frees the account when this runs out).
CHECK_LEASE = dt.timedelta(seconds=30)


def hold_account(session: Session, model: Any, name: str, delay: float) -> dt.datetime | None:
    """Marks a slowed account's password as being checked (``delay`` seconds from now, and the
    check): the hold's end, which releases it. None: another sign-in of the account holds it;
    no second check runs meanwhile."""
    now = utcnow()
    until = now + dt.timedelta(seconds=delay) + CHECK_LEASE
    held = session.execute(
        update(model)
        .where(model.name == name)
        .where(model.login_check_until.is_(None) | (model.login_check_until < now))
        .values(login_check_until=until, **_not_an_edit(model))
        .execution_options(synchronize_session=False)
    )
    return until if getattr(held, "rowcount", 0) else None


def release_account(session: Session, model: Any, name: str, until: dt.datetime) -> None:
    """Ends this sign-in's hold (not one another sign-in took after this one's lease ran out)."""
    session.execute(
        update(model)
        .where(model.name == name, model.login_check_until == until)
        .values(login_check_until=None, **_not_an_edit(model))
        .execution_options(synchronize_session=False)
    )


def _not_an_edit(model: Any) -> dict[str, Any]:
    # A sign-in's bookkeeping is not an edit of the account: ``edited`` keeps its value.
    return {"edited": model.edited} if hasattr(model, "edited") else {}


def failures_delay(
    session: Session, settings: Settings, tenant_id: str, object_type: str, key: str, action: str
) -> float:
    """The sign-in delay of an account from its failures in the audit log (see ``login_delay``)."""
    failures = session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(
            AuditEntry.tenant_id == tenant_id,
            AuditEntry.object_type == object_type,
            AuditEntry.object_key == key,
            AuditEntry.action == action,
            AuditEntry.at > utcnow() - THROTTLE_WINDOW,
        )
    )
    over = int(failures or 0) - settings.login_throttle_after
    if over < 0:
        return 0.0
    return float(
        min(settings.login_throttle_seconds * 2 ** min(over, 20), settings.login_throttle_max_seconds)
    )


def verify(
    session: Session, settings: Settings, username: str, password: str, code: str | None = None
) -> Verified:
    """Checks a user name and password (read only); the answer never tells whether the user exists.
    An account with a second factor must have sent a code (checked by ``start_session``)."""
    user = session.scalars(select(User).where(User.name == username)).one_or_none()
    valid = verify_password(user.password_hash if user else None, password, settings.hash_profile)
    if user is None:
        raise LoginFailed(None, None, "unknown")
    if not valid or user.deactivated:
        raise LoginFailed(user.tenant_id, user.name, "deactivated" if valid else "password")
    assert user.password_hash is not None
    rehash = needs_rehash(user.password_hash, settings.hash_profile)
    if user.totp_secret:
        if not code:
            raise CodeNeeded()
        return Verified(user.tenant_id, user.name, rehash, has_code=True)
    permissions = session.scalar(
        select(Role.permissions).where(Role.tenant_id == user.tenant_id, Role.name == user.role)
    )
    setup = settings.totp_required and totp.required(permissions or [])
    return Verified(user.tenant_id, user.name, rehash, needs_setup=setup)


ENROLL_LIFETIME = dt.timedelta(minutes=10)


def user_code(
    session: Session, settings: Settings, user: User, code: str | None, sealed: str | None = None
) -> int | None:
    """``check_code`` for a tenant's user, against their factor or ``sealed`` (one being set up)."""
    where = [User.tenant_id == user.tenant_id, User.name == user.name]
    owner = totp.owner_of(user.tenant_id, user.name)
    return check_code(session, settings, User, where, sealed or user.totp_secret, owner, code)


def start_session(
    session: Session,
    settings: Settings,
    verified: Verified,
    password: str,
    code: str | None = None,
    web: bool = False,
) -> LoginResult:
    """Checks the one-time code (if the account has a second factor), stamps the login, upgrades
    the hash if its parameters changed, and issues a token pair (a web session's single token, or,
    for an account that must first set up its second factor, a short token good for that alone)."""
    user = session.get(User, (verified.tenant_id, verified.name))
    if user is None or user.deactivated:
        raise Unauthorized("Wrong user name, password or one-time code.")
    if verified.has_code:
        try:
            step = user_code(session, settings, user, code)
        except CodeLimit:
            raise LoginFailed(user.tenant_id, user.name, "totp-limit") from None
        if step is None:
            raise LoginFailed(user.tenant_id, user.name, "totp", keep=True)
    if verified.needs_rehash:
        user.password_hash = hash_password(password, settings.hash_profile)
    user.last_login = utcnow()
    if verified.needs_setup:
        raw, token = issue_token(session, user, "enroll", ENROLL_LIFETIME)
        return LoginResult(user, raw, None, token.expires, second_factor="setup")
    if web:
        raw, token = issue_token(session, user, "session", dt.timedelta(hours=settings.session_max_hours))
        return LoginResult(user, raw, None, token.expires, session_cookie=True)
    return issue_pair(session, user, settings)


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
    if settings.totp_required and not user.totp_secret:
        permissions = session.scalar(
            select(Role.permissions).where(Role.tenant_id == user.tenant_id, Role.name == user.role)
        )
        if totp.required(permissions or []):
            raise Unauthorized("Sign in again: your role requires a second factor, set it up first.")
    return issue_pair(session, user, settings)


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


def revoke_tokens(session: Session, tenant_id: str, username: str, *, keep_api: bool = False) -> None:
    """Ends a user's tokens. ``keep_api`` ends only their sign-ins (access, refresh, web and set-up
    tokens) and keeps the API tokens an admin issued for an integration: a lost phone or a new
    password is the person's, not the PBX feed's."""
    stmt = update(Token).where(Token.tenant_id == tenant_id, Token.user == username, Token.revoked.is_(None))
    if keep_api:
        stmt = stmt.where(Token.kind != "api")
    session.execute(stmt.values(revoked=utcnow()))


def reset_second_factor(session: Session, user: User) -> None:
    """Removes a user's second factor (a lost phone) and ends their sign-ins; the next sign-in sets
    one up again. Integration tokens stay."""
    user.totp_secret = user.totp_pending = None
    user.totp_last_step, user.totp_failures, user.totp_failed_at = None, 0, None
    revoke_tokens(session, user.tenant_id, user.name, keep_api=True)


def system_caller(
    session: Session, tenant_id: str, user: str = "system", *, permissions: frozenset[str] | None = None
) -> Caller:
    """The one caller for work hovor does on a tenant's behalf (commands, jobs, seeding): every
    database, queue and category of the tenant. ``permissions`` defaults to the built-in admin
    role's, so rules that weigh the caller's rights (granting a role) hold for it as for a person.
    ``user`` names the actor in stamps: "system", "erasure", "retention", an admin's name."""
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise LookupError("no such tenant")
    if permissions is None:
        role = session.get(Role, (tenant_id, "admin"))
        permissions = frozenset(role.permissions) if role is not None else frozenset()
    return Caller(
        tenant_id=tenant_id,
        user=user,
        role="system",
        permissions=permissions,
        databases=None,
        timezone=tenant.timezone,
        country=tenant.country,
        token_kind="system",
    )


def lookup_entry(
    session: Session, token_hash: str, now: dt.datetime
) -> tuple[Caller, dt.datetime, dt.datetime | None] | None:
    """The read-only caller of a staff member's entry into a tenant (hovor.auth.service.resolve_token)."""
    row = session.execute(
        select(PlatformToken, Tenant.timezone, Tenant.country)
        .join(Tenant, Tenant.id == PlatformToken.tenant_id)
        .where(PlatformToken.hash == token_hash, PlatformToken.kind == "entry")
    ).one_or_none()
    if row is None:
        return None
    token, tz, country = row
    if token.revoked is not None or token.expires <= now:
        return None
    assert token.tenant_id is not None
    caller = Caller(
        tenant_id=token.tenant_id,
        user=token.operator,
        role=SUPPORT_ROLE,
        permissions=SUPPORT_PERMISSIONS,
        databases=None,
        timezone=tz,
        country=country,
        token_kind="entry",
        token_hash=token.hash,
    )
    return caller, token.expires, None
