"""Envelope encryption for blobs.

Key hierarchy: a master key (a file outside the database) wraps one key per tenant; a tenant key
wraps one data key per blob. Destroying a blob's wrapped data key makes every copy of the blob
(object-store versions, replicas, backups) unreadable at once; destroying a tenant key does the
same for the whole tenant.

Blob format (``HVB1``), streamed in chunks so a 1 GB recording never sits in memory::

    magic "HVB1" | u32 chunk size | 8-byte random nonce prefix
    chunk 0 ciphertext+tag | chunk 1 ciphertext+tag | ...

Chunk ``i`` is AES-256-GCM with nonce ``prefix || u32 i`` and associated data
``blob name || u64 i || final flag``. Reordered, swapped, truncated or extended chunks fail to
decrypt; the final flag on the last chunk catches a truncation at a chunk boundary.
"""

from __future__ import annotations

import base64
import os
import secrets
import struct
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"HVB1"
HEADER = struct.Struct(">4sI8s")
HEADER_SIZE = HEADER.size
CHUNK_SIZE = 64 * 1024
TAG_SIZE = 16
KEY_SIZE = 32


class IntegrityError(Exception):
    """Stored bytes failed authentication: tampered, truncated, or the key is gone."""


def new_key() -> bytes:
    return secrets.token_bytes(KEY_SIZE)


def wrap(kek: bytes, key: bytes, context: str) -> bytes:
    nonce = secrets.token_bytes(12)
    return nonce + AESGCM(kek).encrypt(nonce, key, context.encode())


def unwrap(kek: bytes, wrapped: bytes, context: str) -> bytes:
    try:
        return AESGCM(kek).decrypt(wrapped[:12], wrapped[12:], context.encode())
    except InvalidTag:
        raise IntegrityError("a wrapped key failed authentication") from None


def load_master_key(path: Path, *, create: bool) -> bytes:
    """Reads the master key; creates it (mode 0600) only when allowed (never in production)."""
    if path.exists():
        return _read_master_key(path)
    if not create:
        raise FileNotFoundError(f"master key file {path} is missing")
    path.parent.mkdir(parents=True, exist_ok=True)
    key = new_key()
    # Written whole under another name, then linked into place: a process starting beside this
    # one (a second worker on a new data directory) either finds no key or a complete one, and
    # if it made its own first, both use the one that was linked first.
    fd, tmp = tempfile.mkstemp(prefix=".master-", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(base64.b64encode(key).decode())
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return _read_master_key(path)
    finally:
        os.unlink(tmp)
    return key


def _read_master_key(path: Path) -> bytes:
    key = base64.b64decode(path.read_text().strip())
    if len(key) != KEY_SIZE:
        raise ValueError(f"{path} does not hold a 256-bit key")
    return key


def _aad(blob_id: str, index: int, final: bool) -> bytes:
    return blob_id.encode() + struct.pack(">QB", index, 1 if final else 0)


def _rechunk(source: Iterable[bytes], size: int) -> Iterator[bytes]:
    buffer = bytearray()
    for piece in source:
        buffer += piece
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)


class Encryptor:
    """Encrypts a stream; ``plain_size`` is known once the stream is consumed."""

    def __init__(self, data_key: bytes, blob_id: str, chunk_size: int = CHUNK_SIZE) -> None:
        self.aead = AESGCM(data_key)
        self.blob_id = blob_id
        self.chunk_size = chunk_size
        self.prefix = secrets.token_bytes(8)
        self.plain_size = 0

    def encrypt(self, source: Iterable[bytes]) -> Iterator[bytes]:
        yield HEADER.pack(MAGIC, self.chunk_size, self.prefix)
        pending: bytes | None = None
        index = 0
        for chunk in _rechunk(source, self.chunk_size):
            if pending is not None:
                yield self._seal(pending, index, final=False)
                index += 1
            pending = chunk
        # The last chunk (possibly empty) carries the final flag.
        last = pending or b""
        yield self._seal(last, index, final=True)

    def _seal(self, chunk: bytes, index: int, final: bool) -> bytes:
        self.plain_size += len(chunk)
        nonce = self.prefix + struct.pack(">I", index)
        return self.aead.encrypt(nonce, chunk, _aad(self.blob_id, index, final))


class Layout:
    """Where plaintext bytes live in a stored blob, for range reads."""

    def __init__(self, header: bytes, plain_size: int) -> None:
        magic, chunk_size, prefix = HEADER.unpack(header)
        if magic != MAGIC:
            raise IntegrityError("not a hovor blob")
        self.chunk_size = chunk_size
        self.prefix = prefix
        self.plain_size = plain_size
        self.chunks = max(1, -(-plain_size // chunk_size))

    def stored_span(self, first: int, last: int) -> tuple[int, int]:
        """Byte span (start, end exclusive) in the stored object holding chunks first..last."""
        step = self.chunk_size + TAG_SIZE
        start = HEADER_SIZE + first * step
        end = min(HEADER_SIZE + (last + 1) * step, HEADER_SIZE + self.stored_body_size)
        return start, end

    @property
    def stored_body_size(self) -> int:
        full, rest = divmod(self.plain_size, self.chunk_size)
        if rest == 0 and full > 0:
            return full * (self.chunk_size + TAG_SIZE)
        return full * (self.chunk_size + TAG_SIZE) + rest + TAG_SIZE


def decrypt_chunks(
    data_key: bytes, blob_id: str, layout: Layout, first: int, last: int, sealed: Iterable[bytes]
) -> Iterator[bytes]:
    """Decrypts the stored chunks ``first..last`` (inclusive) read from ``sealed``."""
    aead = AESGCM(data_key)
    step = layout.chunk_size + TAG_SIZE
    index = first

    def opened(ciphertext: memoryview | bytes) -> bytes:
        if index > last:
            raise IntegrityError("blob is longer than recorded")
        nonce = layout.prefix + struct.pack(">I", index)
        try:
            return aead.decrypt(nonce, ciphertext, _aad(blob_id, index, index == layout.chunks - 1))
        except InvalidTag:
            raise IntegrityError("blob chunk failed authentication") from None

    # The chunks are decrypted where they lie in the pieces read (a 1 GB snapshot is 16k chunks):
    # a piece is copied once, into the buffer, and the bytes consumed leave it once per piece.
    buffer = bytearray()
    for piece in sealed:
        buffer += piece
        whole = len(buffer) - len(buffer) % step
        if not whole:
            continue
        with memoryview(buffer) as view:
            for start in range(0, whole, step):
                plain = opened(view[start : start + step])
                index += 1
                yield plain
        del buffer[:whole]
    if buffer:
        yield opened(bytes(buffer))
        index += 1
    if index <= last:
        raise IntegrityError("blob is truncated")
