"""Keys of the audit log: keyed pseudonyms (HMAC per tenant) and the checkpoint signing key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from hovor.core.config import Settings


class Pseudonyms:
    """``pseudonym(tenant, value)``: the same value gives the same token within a tenant, so
    entries about one phone number or one attempted login can be linked, but the value cannot be
    read back, and another tenant's token for it differs."""

    def __init__(self, secret: str) -> None:
        self._root = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=b"hovor-audit", info=b"pseudonyms"
        ).derive(secret.encode())

    def __call__(self, tenant_id: str, value: str) -> str:
        key = hmac.new(self._root, tenant_id.encode(), hashlib.sha256).digest()
        normalized = value.strip().casefold().encode()
        return "ps_" + hmac.new(key, normalized, hashlib.sha256).hexdigest()[:32]


def public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(public_bytes(key)).hexdigest()[:16]


def encode_public(key: Ed25519PublicKey) -> str:
    return base64.b64encode(public_bytes(key)).decode()


def decode_public(text: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(text))


def load_signing_key(path: Path, *, create: bool) -> Ed25519PrivateKey:
    """The Ed25519 key that signs checkpoints: 32 raw bytes in a file readable by hovor only."""
    if path.exists():
        return Ed25519PrivateKey.from_private_bytes(path.read_bytes())
    if not create:
        raise RuntimeError(f"audit signing key {path} is missing (set HOVOR_AUDIT_SIGNING_KEY_FILE)")

    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written aside and linked into place: several workers starting at once all end up with the
    # one key that won, and nobody ever reads a half-written file.
    tmp = path.with_name(f"{path.name}.{os.getpid()}.partial")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(raw)
        out.flush()
        os.fsync(out.fileno())
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return Ed25519PrivateKey.from_private_bytes(path.read_bytes())


def signing_key(settings: Settings) -> Ed25519PrivateKey:
    return load_signing_key(
        settings.resolved_audit_signing_key_file, create=settings.environment != "production"
    )
