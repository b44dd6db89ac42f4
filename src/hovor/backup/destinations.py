"""Where backups go: places the operator declares (``HOVOR_BACKUP_DESTINATIONS``), each a folder
or an S3-compatible bucket with a stated location. Every destination holds the same things:

``backups/<id>/manifest.json``  what the backup is (time, database, revision, size, digest, key)
``backups/<id>/database.hvb``   the database snapshot, encrypted
``blobs/<store key>``           the blob store's objects (ciphertext already)
``ledger/<time>-<id>.jsonl``    the restore ledger, one object per shipment, never rewritten
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlparse

from hovor.core.config import Settings
from hovor.tenancy.configured import backup_entries

READ_SIZE = 1 << 20


class Place(Protocol):
    def put(self, name: str, chunks: Iterable[bytes]) -> int: ...

    def get(self, name: str) -> Iterator[bytes]: ...

    def names(self, prefix: str) -> list[str]: ...

    def exists(self, name: str) -> bool: ...

    def delete(self, name: str) -> None: ...


class Folder:
    """A directory (a mounted volume in another place, or a test's folder). Writes go to a temp
    file and are renamed, so a reader never sees half an object."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, name: str) -> Path:
        # Names are hovor's own (ids, store keys); checked, not resolved: a restore asks for
        # thousands, and resolving each costs more than copying it.
        parts = name.split("/")
        if name.startswith("/") or any(p in ("", ".", "..") for p in parts[:-1]) or parts[-1] in (".", ".."):
            raise ValueError("a destination name must stay inside it")
        return self.root / name

    def put(self, name: str, chunks: Iterable[bytes]) -> int:
        path = self._path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".incoming-{path.name}")
        size = 0
        with tmp.open("wb") as out:
            for chunk in chunks:
                out.write(chunk)
                size += len(chunk)
        tmp.replace(path)
        return size

    def put_file(self, name: str, source: Path) -> None:
        """A file copied in whole (the kernel's copy: no bytes through Python)."""
        path = self._path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".incoming-{path.name}")
        shutil.copyfile(source, tmp)
        tmp.replace(path)

    def file(self, name: str) -> Path:
        return self._path(name)

    def get(self, name: str) -> Iterator[bytes]:
        with self._path(name).open("rb") as src:
            while piece := src.read(READ_SIZE):
                yield piece

    def names(self, prefix: str) -> list[str]:
        base = self._path(prefix) if prefix else self.root
        if not base.exists():
            return []
        root = self.root.resolve()
        return sorted(
            str(p.resolve().relative_to(root))
            for p in base.rglob("*")
            if p.is_file() and not p.name.startswith(".incoming-")
        )

    def exists(self, name: str) -> bool:
        return self._path(name).is_file()

    def delete(self, name: str) -> None:
        path = self._path(name)
        if path.is_dir():
            (path / "manifest.json").unlink(missing_ok=True)  # first: see Bucket.delete
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


class Bucket:
    """An S3-compatible bucket under a prefix (credentials and endpoint from the AWS_* variables)."""

    def __init__(self, bucket: str, prefix: str, client: Any) -> None:
        self.bucket, self.prefix, self.client = bucket, prefix.strip("/"), client

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def put(self, name: str, chunks: Iterable[bytes]) -> int:
        from hovor.files.stores import S3Store

        return S3Store(self.bucket, self.prefix, self.client).put(name, chunks)

    def get(self, name: str) -> Iterator[bytes]:
        body = self.client.get_object(Bucket=self.bucket, Key=self._key(name))["Body"]
        try:
            yield from body.iter_chunks(READ_SIZE)
        finally:
            body.close()

    def names(self, prefix: str) -> list[str]:
        out: list[str] = []
        strip = len(self.prefix) + 1 if self.prefix else 0
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self._key(prefix)
        ):
            out += [item["Key"][strip:] for item in page.get("Contents", [])]
        return sorted(out)

    def exists(self, name: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(name))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise  # refused, throttled: not the same as absent
        return True

    def delete(self, name: str) -> None:
        # A backup's manifest first: a delete that stops halfway leaves an incomplete backup,
        # which no listing takes for a complete one.
        keys = self.names(name) or [name]
        for key in sorted(keys, key=lambda k: not k.endswith("manifest.json")):
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))


@dataclass(frozen=True)
class Destination:
    name: str
    url: str
    location: str
    place: Place

    def read_json(self, name: str) -> Any:
        return json.loads(b"".join(self.place.get(name)))

    def write_json(self, name: str, value: Any) -> None:
        self.place.put(name, [json.dumps(value, indent=2, sort_keys=True).encode()])


def open_place(url: str) -> Place:
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return Folder(Path(unquote(parsed.path)))
    if parsed.scheme == "s3":
        import boto3

        return Bucket(parsed.netloc, parsed.path, boto3.client("s3"))
    raise ValueError(f"a backup destination is file:// or s3://, not {parsed.scheme!r}")


def declared(settings: Settings) -> list[Destination]:
    """The destinations the operator declared; a mistake in the declaration is an error here."""
    return [Destination(e.name, e.url, e.location, open_place(e.url)) for e in backup_entries(settings)]
