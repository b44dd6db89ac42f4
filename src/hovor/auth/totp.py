"""The second factor: time-based one-time codes (RFC 6238, the authenticator apps' kind).

Secrets are sealed at rest with AES-256-GCM under a key derived from the server secret, bound to
the account they belong to: a copy of the database alone gives nobody a second factor, and a sealed
secret moved to another account does not open. A code is accepted once: the time step it matched
is remembered and neither it nor an earlier one is taken again.
"""

from __future__ import annotations

import base64
import os
import time

import pyotp
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hovor.core.permissions import PRIVILEGED

ISSUER = "hovor"
STEP = 30
# One step either side: a phone's clock a little off, or a code typed as it turned over.
WINDOW = 1


class Sealer:
    def __init__(self, secret: str) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"hovor-totp", info=b"seal").derive(
            secret.encode()
        )
        self._aead = AESGCM(key)

    def seal(self, value: str, owner: str) -> str:
        nonce = os.urandom(12)
        box = self._aead.encrypt(nonce, value.encode(), owner.encode())
        return "v1:" + base64.urlsafe_b64encode(nonce + box).decode()

    def open(self, sealed: str, owner: str) -> str | None:
        if not sealed.startswith("v1:"):
            return None
        try:
            raw = base64.urlsafe_b64decode(sealed[3:])
            return self._aead.decrypt(raw[:12], raw[12:], owner.encode()).decode()
        except (InvalidTag, ValueError):
            return None


def owner_of(tenant_id: str | None, name: str) -> str:
    """What a sealed secret is bound to: the account (a platform operator has no tenant)."""
    return f"{tenant_id or '@platform'}/{name}"


def new_secret() -> str:
    return pyotp.random_base32()


def uri(secret: str, account: str, issuer: str = ISSUER) -> str:
    """The otpauth:// URI an authenticator app reads (from a QR code or pasted)."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def code_now(secret: str, at: float | None = None) -> str:
    return pyotp.TOTP(secret).at(at if at is not None else time.time())


def match(secret: str, code: str, last_step: int | None, at: float | None = None) -> int | None:
    """The time step ``code`` is valid for (now, or one step either side), or None.

    A step at or before ``last_step`` (the one used last) is refused: a code seen over someone's
    shoulder or replayed from a log does not sign in a second time."""
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return None
    now = at if at is not None else time.time()
    totp = pyotp.TOTP(secret)
    step = int(now // STEP)
    for candidate in range(step - WINDOW, step + WINDOW + 1):
        if last_step is not None and candidate <= last_step:
            continue
        if pyotp.utils.strings_equal(totp.at(candidate * STEP), code):
            return candidate
    return None


def required(permissions: frozenset[str] | set[str] | list[str]) -> bool:
    """Whether a role's holder must sign in with a second factor: admins (who decide who may do
    what) and the DPO (who erases and exports people), and any custom role with such rights."""
    return not PRIVILEGED.isdisjoint(permissions)
