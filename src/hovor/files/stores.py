"""Where encrypted blobs are kept: a local directory or S3-compatible object storage.

Stores only ever see ciphertext. Nothing outside this module knows which store is in use.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlparse

READ_SIZE = 256 * 1024


class BlobStore(Protocol):
    def put(self, key: str, chunks: Iterable[bytes]) -> int: ...

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]: ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...


class LocalStore:
    """Files under a directory, two levels of fan-out, written atomically (temp file, fsync, rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        if "/" in key or key.startswith("."):
            raise ValueError("invalid blob key")
        return self.root / key[:2] / key[2:4] / key

    def put(self, key: str, chunks: Iterable[bytes]) -> int:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        size = 0
        try:
            with os.fdopen(fd, "wb") as fh:
                for chunk in chunks:
                    fh.write(chunk)
                    size += len(chunk)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return size

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        with self.path(key).open("rb") as fh:
            fh.seek(start)
            remaining = None if end is None else end - start
            while remaining is None or remaining > 0:
                piece = fh.read(READ_SIZE if remaining is None else min(READ_SIZE, remaining))
                if not piece:
                    return
                if remaining is not None:
                    remaining -= len(piece)
                yield piece

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self.path(key).exists()


class S3Store:
    """An S3-compatible bucket (``s3://bucket/prefix``); uploads stream as multipart uploads."""

    PART_SIZE = 8 * 1024 * 1024

    def __init__(self, bucket: str, prefix: str, client: Any) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, chunks: Iterable[bytes]) -> int:
        name = self._key(key)
        upload = self.client.create_multipart_upload(Bucket=self.bucket, Key=name)
        parts, buffer, size, number = [], bytearray(), 0, 1
        try:
            for chunk in chunks:
                buffer += chunk
                size += len(chunk)
                if len(buffer) >= self.PART_SIZE:
                    parts.append(self._part(name, upload["UploadId"], number, bytes(buffer)))
                    number += 1
                    buffer.clear()
            if buffer or not parts:
                parts.append(self._part(name, upload["UploadId"], number, bytes(buffer)))
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=name, UploadId=upload["UploadId"], MultipartUpload={"Parts": parts}
            )
        except BaseException:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=name, UploadId=upload["UploadId"])
            raise
        return size

    def _part(self, name: str, upload_id: str, number: int, body: bytes) -> dict[str, Any]:
        answer = self.client.upload_part(
            Bucket=self.bucket, Key=name, UploadId=upload_id, PartNumber=number, Body=body
        )
        return {"ETag": answer["ETag"], "PartNumber": number}

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        if end is not None and end <= start:
            return
        span = f"bytes={start}-{'' if end is None else end - 1}"
        answer = self.client.get_object(Bucket=self.bucket, Key=self._key(key), Range=span)
        body = answer["Body"]
        try:
            yield from body.iter_chunks(READ_SIZE)
        finally:
            body.close()

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def exists(self, key: str) -> bool:
        # deferred: botocore comes with boto3 (see S3Store)
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True


def open_store(url: str) -> BlobStore:
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return LocalStore(Path(unquote(parsed.path)))
    if parsed.scheme == "s3":
        # deferred: boto3 takes about half a second to import and only an s3:// store needs it
        import boto3

        # Endpoint and credentials come from the usual AWS_* variables (AWS_ENDPOINT_URL for
        # S3-compatible services), so no secret sits in hovor's own configuration.
        return S3Store(parsed.netloc, parsed.path, boto3.client("s3"))
    raise ValueError(f"unsupported blob store URL scheme {parsed.scheme!r}")
