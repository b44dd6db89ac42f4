"""The contract-end export job: every record of the tenant in the v6 wire shape (JSON Lines per
resource), its settings, the recordings, attachments and e-mails as they were received, its audit
log with the signed checkpoints and the public key, and a signed ``manifest.json`` holding the
SHA-256 of every file; the ZIP is encrypted with age to the controller's public key as it is made
and written to the destination the operator named.

One step, ``package``: the ZIP is a stream (``zipstream.Zipped``), read by ``pyrage.encrypt_io``,
which encrypts in age's 64 KiB chunks as it reads, so memory holds one chunk of records (``in_chunks``)
and at most ``FLUSH`` bytes of ZIP, never the package. The ciphertext goes to ``DEST.partial`` and is
renamed to ``DEST`` once whole (an ``s3://`` destination is uploaded from that file and the file
removed). A run killed anywhere is taken over and starts the file again from its first byte.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import orjson
import pyrage
from sqlalchemy import select

from hovor.activities.models import Attachment, Recording
from hovor.audit import log as audit
from hovor.audit.chain import chain_entries, entry_content, export_checkpoints, sign_checkpoints
from hovor.audit.keys import encode_public, key_id
from hovor.auth.service import system_caller
from hovor.core.db import make_session_factory, unit_of_work, utcnow
from hovor.files.models import Blob
from hovor.jobs import service as jobs
from hovor.privacy.contract import contents
from hovor.privacy.contract.models import EXPORTED, EXPORTING, ContractEnd
from hovor.privacy.contract.signing import sign
from hovor.privacy.erasure.plan import in_chunks
from hovor.privacy.exports import records
from hovor.privacy.exports.zipstream import EXTENSIONS, Entry, Zipped, eml, safe_name
from hovor.tenancy.models import Tenant

KIND = "tenant-export"
MANIFEST = "hovor.contract-export/1"


def actor_of(run: jobs.Run) -> audit.Actor:
    return audit.Actor("system", f"job:{run.name}")


class _Hashed:
    """Each file's SHA-256 and size as its pieces go into the ZIP: the manifest's lines."""

    def __init__(self) -> None:
        self.files: dict[str, dict[str, Any]] = {}

    def __call__(self, path: str, compressed: bool, pieces: Iterable[bytes]) -> Entry:
        def counted() -> Iterator[bytes]:
            digest, size = hashlib.sha256(), 0
            for piece in pieces:
                digest.update(piece)
                size += len(piece)
                yield piece
            self.files[path] = {"sha256": digest.hexdigest(), "size": size}

        return path, compressed, counted()


def _snapshot(run: jobs.Run) -> Any:
    """Reads in one consistent snapshot (and a server-side cursor for the audit log on
    PostgreSQL), without SQLite's writer lock."""
    return make_session_factory(run.env.engine, writes=False, snapshot=True)


def _beat(run: jobs.Run, **settle: Any) -> None:
    with unit_of_work(run.env.factory) as session:
        run.beat(session, settle)


def _jsonl(rows: Iterable[dict[str, Any]], counted: dict[str, int], endpoint: str) -> Iterator[bytes]:
    for row in rows:
        counted[endpoint] = counted.get(endpoint, 0) + 1
        yield orjson.dumps(row) + b"\n"


def _records(run: jobs.Run, hashed: _Hashed, counted: dict[str, int]) -> Iterator[Entry]:
    tenant_id = run.tenant_id
    with _snapshot(run)() as session:
        caller = system_caller(session, tenant_id, user="export")
        tenant = session.get(Tenant, tenant_id)
        assert tenant is not None
        yield hashed(
            "tenant.json", True, [orjson.dumps(contents.tenant_settings(tenant), option=orjson.OPT_INDENT_2)]
        )
        for endpoint, resource in contents.resources():
            keys = contents.keys_of(session, resource, tenant_id)
            yield hashed(
                f"data/{endpoint}.jsonl",
                True,
                _jsonl(records.wire(session, caller, endpoint, keys), counted, endpoint),
            )
            _beat(run, exported=dict(counted))
        # The e-mails as a mail program opens them, beside their records.
        emails = contents.keys_of(session, contents.resource("activitiesEmail"), tenant_id)
        for chunk in in_chunks(emails):
            activities = {r["name"]: r for r in records.wire(session, caller, "activities", chunk)}
            for row in records.wire(session, caller, "activitiesEmail", chunk):
                yield hashed(f"files/emails/{row['name']}.eml", True, [eml(row, activities.get(row["name"]))])


def _originals(run: jobs.Run, hashed: _Hashed, counted: dict[str, int]) -> Iterator[Entry]:
    """Recordings and attachments as stored, decrypted as they are written."""
    tenant_id = run.tenant_id
    with _snapshot(run)() as session:
        keys: dict[tuple[str, int], bytes] = {}
        recordings = session.execute(
            select(Recording.name, Recording.blob, Recording.mime)
            .where(Recording.tenant_id == tenant_id)
            .order_by(Recording.name)
        ).all()
        attachments = session.execute(
            select(Attachment.name, Attachment.blob, Attachment.title)
            .where(Attachment.tenant_id == tenant_id)
            .order_by(Attachment.name)
        ).all()
        files = [
            (f"files/recordings/{name}.{EXTENSIONS.get(mime, 'bin')}", False, blob)
            for name, blob, mime in recordings
        ] + [
            (f"files/attachments/{name}/{safe_name(title)}", True, blob) for name, blob, title in attachments
        ]
        # The blobs' rows a chunk at a time: a large tenant's are not all held at once.
        for chunk in in_chunks(files):
            names = [blob for _, _, blob in chunk]
            blobs = {
                b.name: b
                for b in session.scalars(
                    select(Blob).where(Blob.tenant_id == tenant_id, Blob.name.in_(names))
                )
            }
            for path, compressed, name in chunk:
                blob = blobs.get(name)
                # A blob the DPO deleted has no key left: nothing to give.
                readable = blob is not None and blob.wrapped_key is not None
                yield hashed(
                    path, compressed, run.env.files.read(session, blob, keys=keys) if readable else []
                )
        counted["recordings"], counted["attachmentFiles"] = len(recordings), len(attachments)
        _beat(run, exported=dict(counted))


def _audit_log(run: jobs.Run, hashed: _Hashed, counted: dict[str, int]) -> Iterator[Entry]:
    """The tenant's hash chain as ``hovor audit export`` writes it, with its signed checkpoints
    (one made now covers the head) and the public key that verifies them."""
    with unit_of_work(run.env.factory) as session:
        sign_checkpoints(session, run.env.signer, run.tenant_id)
    public = run.env.signer.public_key()
    with _snapshot(run)() as session:

        def lines() -> Iterator[bytes]:
            for e in chain_entries(session, run.tenant_id):
                counted["auditEntries"] = counted.get("auditEntries", 0) + 1
                row = {**entry_content(e), "prev_hash": e.prev_hash, "hash": e.hash}
                yield orjson.dumps(row, option=orjson.OPT_SORT_KEYS) + b"\n"

        yield hashed("audit/entries.jsonl", True, lines())
        checkpoints = [
            orjson.dumps(cp, option=orjson.OPT_SORT_KEYS) + b"\n"
            for cp in export_checkpoints(session, public, run.tenant_id)
        ]
        yield hashed("audit/checkpoints.jsonl", True, checkpoints)
    yield hashed("audit/public-key.txt", True, [f"{encode_public(public)}\n".encode()])


def _entries(run: jobs.Run, made: dict[str, Any]) -> Iterator[Entry]:
    hashed, counted = _Hashed(), made.setdefault("counts", {})
    yield from _records(run, hashed, counted)
    yield from _originals(run, hashed, counted)
    yield from _audit_log(run, hashed, counted)
    manifest = {
        "type": MANIFEST,
        "tenant": run.tenant_id,
        "job": run.name,
        "made": audit.stamp(utcnow()),
        "counts": counted,
        "files": hashed.files,
    }
    made["manifest"] = manifest
    signed = sign(run.env.signer, "manifest", manifest)
    yield "manifest.json", True, [orjson.dumps(signed, option=orjson.OPT_INDENT_2)]


class _Reader(io.RawIOBase):
    """The ZIP stream as a file age reads from."""

    def __init__(self, stream: Iterable[bytes]) -> None:
        self.stream, self.left = iter(stream), b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self.left:
            piece = next(self.stream, None)
            if piece is None:
                return 0
            self.left = piece
        n = min(len(buffer), len(self.left))
        buffer[:n], self.left = self.left[:n], self.left[n:]
        return n


class _Writer(io.RawIOBase):
    """The encrypted file, with its digest: what the controller checks against the operator's note."""

    def __init__(self, fh: Any) -> None:
        self.fh, self.digest, self.size = fh, hashlib.sha256(), 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        piece = bytes(data)
        self.fh.write(piece)
        self.digest.update(piece)
        self.size += len(piece)
        return len(piece)


def _partial(run: jobs.Run, destination: str) -> Path:
    """Where the ciphertext is written first: beside the destination, or in the data directory."""
    if urlparse(destination).scheme == "s3":
        return Path(run.env.settings.data_dir) / f"contract-{run.tenant_id}.age.partial"
    return Path(destination).with_name(Path(destination).name + ".partial")


def _deliver(partial: Path, destination: str) -> None:
    parsed = urlparse(destination)
    if parsed.scheme == "s3":
        # deferred: boto3 is slow to import and only an s3:// destination needs it
        import boto3

        boto3.client("s3").upload_file(str(partial), parsed.netloc, parsed.path.lstrip("/"))
        partial.unlink()
        return
    os.replace(partial, destination)


def step_package(run: jobs.Run) -> None:
    with unit_of_work(run.env.factory) as session:
        run.beat(session, {"exported": {}})
        end = session.get(ContractEnd, run.tenant_id)
        if end is None or end.state != EXPORTING:
            return  # written by an earlier run that died before marking the step done
        recipient, destination = end.recipient, end.destination
    made: dict[str, Any] = {}
    partial = _partial(run, destination)
    partial.parent.mkdir(parents=True, exist_ok=True)
    with partial.open("wb") as fh:  # a run taken over starts the file again
        writer = _Writer(fh)
        pyrage.encrypt_io(
            io.BufferedReader(_Reader(Zipped(_entries(run, made)))),
            writer,
            [pyrage.x25519.Recipient.from_str(recipient)],
        )
        fh.flush()
        os.fsync(fh.fileno())
    run.fault("written")
    _deliver(partial, destination)
    with unit_of_work(run.env.factory) as session:
        run.beat(session, {"exported": made["counts"]})
        end = session.get(ContractEnd, run.tenant_id, with_for_update=True)
        assert end is not None
        end.state, end.exported = EXPORTED, utcnow()
        end.package_sha256, end.package_size = writer.digest.hexdigest(), writer.size
        details = {
            "job": run.name,
            "files": len(made["manifest"]["files"]),
            "size": writer.size,
            "sha256": end.package_sha256,
            "keyId": key_id(run.env.signer.public_key()),
        }
        audit.record(
            session,
            run.tenant_id,
            "platform.contract.exported",
            actor_of(run),
            "tenants",
            run.tenant_id,
            details,
        )
        audit.record(
            session,
            audit.PLATFORM,
            "platform.contract.exported",
            actor_of(run),
            "tenants",
            run.tenant_id,
            details,
        )


def on_failure(run: jobs.Run) -> None:
    with unit_of_work(run.env.factory) as session:
        audit.record(
            session,
            audit.PLATFORM,
            "platform.contract.failed",
            actor_of(run),
            "tenants",
            run.tenant_id,
            {"job": run.name},
        )


jobs.register(KIND, [("package", step_package)], on_failure)
