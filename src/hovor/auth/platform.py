"""Processor staff (platform operators): sign-in with a second factor, and entering a tenant.

A platform operator belongs to no tenant. Their sign-in (``POST /api/v6/platform/login.json``)
gives a ``platform`` token good for the platform's own routes (the firewall's bans and lists) and
nothing inside any tenant. To look inside a tenant they state why: a purpose from a short fixed list
and the support case's reference (no free text, so nobody's name lands in the audit log). That
gives an ``entry`` token: read-only, for that tenant alone, ending with the sign-in at the latest;
entering, every request made with it and leaving are recorded in that tenant's own audit log.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hovor.auth import totp
from hovor.auth.models import PlatformOperator, PlatformToken
from hovor.auth.passwords import hash_password, needs_rehash, verify_password
from hovor.auth.service import (
    TOKEN_BYTES,
    CodeLimit,
    CodeNeeded,
    check_code,
    digest,
)
from hovor.core.config import Settings
from hovor.core.db import utcnow
from hovor.core.errors import BadRequest, NotFound, Unauthorized
from hovor.tenancy.models import Tenant

PURPOSES = ("support", "incident", "maintenance", "legal", "contract")
# A case reference as ticketing systems make them (SUP-4711, INC0012345, JIRA#88): a prefix of
# capitals, then at most eight digits. It cannot hold a sentence, an e-mail address or a whole
# phone number; staff are told not to put a name in the prefix.
REFERENCE = re.compile(r"^[A-Z]{2,8}[-_:#/]?[0-9]{1,8}$")


class StaffLoginFailed(Unauthorized):
    def __init__(self, operator: str | None, reason: str, keep: bool = False) -> None:
        super().__init__("Wrong user name, password or one-time code.")
        self.operator, self.reason, self.keep = operator, reason, keep


def verify(session: Session, settings: Settings, username: str, password: str, code: str | None) -> None:
    """Checks a staff sign-in's password (read only); the code is checked by ``start``."""
    staff = session.get(PlatformOperator, username) if len(username) <= 64 else None
    valid = verify_password(staff.password_hash if staff else None, password, settings.hash_profile)
    if staff is None:
        raise StaffLoginFailed(None, "unknown")
    if not valid:
        raise StaffLoginFailed(staff.name, "password")
    if not staff.totp_secret:
        # Staff cannot sign in over the network without a second factor; it is set up on the server.
        raise StaffLoginFailed(staff.name, "no-second-factor")
    if not code:
        raise CodeNeeded()


def start(
    session: Session, settings: Settings, username: str, password: str, code: str | None
) -> tuple[str, PlatformToken]:
    """Checks the one-time code (counted against the account's limit of wrong codes) and issues
    the platform token."""
    staff = session.get(PlatformOperator, username)
    if staff is None:
        raise StaffLoginFailed(None, "unknown")
    where = [PlatformOperator.name == staff.name]
    try:
        step = check_code(
            session,
            settings,
            PlatformOperator,
            where,
            staff.totp_secret,
            totp.owner_of(None, staff.name),
            code,
        )
    except CodeLimit:
        raise StaffLoginFailed(staff.name, "totp-limit") from None
    if step is None:
        raise StaffLoginFailed(staff.name, "totp", keep=True)
    if needs_rehash(staff.password_hash, settings.hash_profile):
        staff.password_hash = hash_password(password, settings.hash_profile)
    return _issue(session, settings, staff.name, "platform")


def _issue(
    session: Session,
    settings: Settings,
    operator: str,
    kind: str,
    tenant_id: str | None = None,
    purpose: str | None = None,
    reference: str | None = None,
    until: dt.datetime | None = None,
) -> tuple[str, PlatformToken]:
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    now = utcnow()
    expires = now + dt.timedelta(seconds=settings.platform_token_ttl_seconds)
    token = PlatformToken(
        hash=digest(raw),
        operator=operator,
        kind=kind,
        tenant_id=tenant_id,
        purpose=purpose,
        reference=reference,
        created=now,
        expires=min(expires, until) if until else expires,
    )
    session.add(token)
    session.flush()
    return raw, token


def resolve(factory: Any, raw: str) -> PlatformToken | None:
    """The live platform sign-in a token stands for, or None."""
    if len(raw) > 200:
        return None
    with factory() as session:
        token = session.get(PlatformToken, digest(raw))
        if token is None or token.kind != "platform" or token.revoked or token.expires <= utcnow():
            return None
        session.expunge(token)
        return token


def enter(
    session: Session,
    settings: Settings,
    signed_in: PlatformToken,
    tenant_id: str,
    purpose: str,
    reference: str,
) -> tuple[str, PlatformToken]:
    """An entry token into ``tenant_id`` for a stated purpose and case; it ends with the sign-in."""
    if purpose not in PURPOSES:
        raise BadRequest(f"purpose must be one of: {', '.join(PURPOSES)}.")
    if not REFERENCE.match(reference):
        raise BadRequest(
            "reference must be the support case's reference: a prefix of 2-8 capital letters, then "
            "1-8 digits (SUP-4711, INC0012345)."
        )
    if session.get(Tenant, tenant_id) is None:
        raise NotFound("No such tenant.")
    return _issue(
        session, settings, signed_in.operator, "entry", tenant_id, purpose, reference, until=signed_in.expires
    )


def revoke(session: Session, token_hash: str, with_entries: bool) -> list[PlatformToken]:
    """Ends a platform token (and, for a sign-in, every entry made under it that is still open).
    Returns the entries ended."""
    now = utcnow()
    token = session.get(PlatformToken, token_hash)
    if token is None:
        return []
    token.revoked = token.revoked or now
    entries: list[PlatformToken] = []
    if with_entries:
        entries = list(
            session.scalars(
                select(PlatformToken).where(
                    PlatformToken.operator == token.operator,
                    PlatformToken.kind == "entry",
                    PlatformToken.revoked.is_(None),
                    PlatformToken.expires > now,
                )
            )
        )
        for entry in entries:
            entry.revoked = now
    return entries


def set_up_totp(session: Session, settings: Settings, name: str) -> str:
    """A new second factor for a staff account; returns the secret (shown once, on the server)."""
    staff = session.get(PlatformOperator, name)
    if staff is None:
        raise NotFound("No such operator.")
    secret = totp.new_secret()
    staff.totp_secret = totp.Sealer(settings.secret_key).seal(secret, totp.owner_of(None, name))
    staff.totp_last_step = None
    staff.totp_failures, staff.totp_failed_at = 0, None
    # A new factor (a lost or exposed phone): whatever was signed in with the old one ends.
    session.execute(
        update(PlatformToken)
        .where(PlatformToken.operator == name, PlatformToken.revoked.is_(None))
        .values(revoked=utcnow())
    )
    return secret
