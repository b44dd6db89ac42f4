"""Argon2id password hashing with rehash-on-login when parameters change."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# OWASP's minimum for Argon2id: m=19 MiB, t=2, p=1. "fast" keeps the test suite quick; production
# configuration refuses it.
PROFILES: dict[str, tuple[int, int, int]] = {
    # time_cost, memory_cost (KiB), parallelism
    "owasp": (2, 19 * 1024, 1),
    "fast": (1, 64, 1),
}


@lru_cache
def hasher(profile: Literal["owasp", "fast"]) -> PasswordHasher:
    time_cost, memory_cost, parallelism = PROFILES[profile]
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


def hash_password(password: str, profile: Literal["owasp", "fast"]) -> str:
    return hasher(profile).hash(password)


def verify_password(stored: str | None, password: str, profile: Literal["owasp", "fast"]) -> bool:
    """Checks a password. Without a stored hash it still does the work, so timing tells nothing."""
    h = hasher(profile)
    if not stored:
        h.hash(password)
        return False
    try:
        return h.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str, profile: Literal["owasp", "fast"]) -> bool:
    return hasher(profile).check_needs_rehash(stored)
