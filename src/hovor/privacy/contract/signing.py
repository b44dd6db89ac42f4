"""Documents signed with the platform's signing key (the audit key, as checkpoints and erasure
certificates are): the package's manifest and the deletion certificate. A signed document carries
its public key, so it verifies without hovor; the key id lets the holder check it is the
platform's published key."""

from __future__ import annotations

import base64
from typing import Any

from cryptography.exceptions import InvalidSignature

from hovor.audit.keys import decode_public, encode_public, key_id
from hovor.audit.log import canonical


def sign(signer: Any, field: str, body: dict[str, Any]) -> dict[str, Any]:
    public = signer.public_key()
    return {
        field: body,
        "signature": base64.b64encode(signer.sign(canonical(body))).decode("ascii"),
        "keyId": key_id(public),
        "publicKey": encode_public(public),
    }


def verify(signed: dict[str, Any], field: str, trusted_key_id: str | None = None) -> bool:
    """True when the signature covers ``signed[field]`` (and, given, the key is the trusted one)."""
    try:
        public = decode_public(signed["publicKey"])
        if trusted_key_id is not None and key_id(public) != trusted_key_id:
            return False
        public.verify(base64.b64decode(signed["signature"]), canonical(signed[field]))
    except (InvalidSignature, KeyError, ValueError, TypeError):
        return False
    return True
