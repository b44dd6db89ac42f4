"""Encrypted blobs: round trips, ranges, tamper detection, both stores, and crash-safe deletion."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hovor.auth.users import create_tenant
from hovor.core.config import Settings
from hovor.core.db import make_engine, make_session_factory, unit_of_work
from hovor.files import crypto
from hovor.files.models import Blob, TenantKey
from hovor.files.service import ByteRange, Files, Unreadable, parse_range
from hovor.files.stores import LocalStore, S3Store


def pieces(data: bytes, size: int = 10_000) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


@pytest.fixture
def files_env(tmp_path: Path, backend: str) -> Any:
    from conftest import migrated_url

    url = migrated_url(backend, tmp_path, suffix="_files")
    settings = Settings(environment="test", database_url=url, data_dir=tmp_path / "var")
    factory = make_session_factory(make_engine(url))
    with unit_of_work(factory) as s:
        create_tenant(s, "t1", "T1")
    return settings, factory


@pytest.mark.parametrize("size", [0, 1, crypto.CHUNK_SIZE - 1, crypto.CHUNK_SIZE, 3 * crypto.CHUNK_SIZE + 17])
def test_round_trip_and_ranges(files_env: Any, size: int) -> None:
    settings, factory = files_env
    files = Files(settings)
    data = os.urandom(size)
    with unit_of_work(factory) as s:
        blob = files.put(s, "t1", pieces(data), "application/octet-stream")
        assert blob.size == size
        assert b"".join(files.read(s, blob)) == data
        for start, end in [
            (0, 1),
            (5, 70_000),
            (size - 3, size),
            (crypto.CHUNK_SIZE - 2, crypto.CHUNK_SIZE + 2),
        ]:
            start, end = max(0, start), min(size, end)
            if end > start:
                assert b"".join(files.read(s, blob, ByteRange(start, end))) == data[start:end]


def test_stored_bytes_are_ciphertext(files_env: Any) -> None:
    settings, factory = files_env
    files = Files(settings)
    plain = b"RIFF....WAVEfmt " + b"Jana Novakova +420604123456 " * 5000
    with unit_of_work(factory) as s:
        blob = files.put(s, "t1", [plain], "audio/wav")
    stored = LocalStore(settings.data_dir / "blobs").path(blob.store_key).read_bytes()
    for needle in (b"RIFF", b"WAVE", b"Novakova", b"604123456"):
        assert needle not in stored
    assert len(stored) == blob.stored_size


def test_tampering_truncation_and_swaps_are_caught(files_env: Any) -> None:
    settings, factory = files_env
    files = Files(settings)
    store = LocalStore(settings.data_dir / "blobs")
    data = os.urandom(3 * crypto.CHUNK_SIZE)
    with unit_of_work(factory) as s:
        a = files.put(s, "t1", [data], "x/y")
        b = files.put(s, "t1", [data], "x/y")
        path = store.path(a.store_key)
        original = path.read_bytes()

        path.write_bytes(original[:100] + bytes([original[100] ^ 1]) + original[101:])
        with pytest.raises(Unreadable):
            b"".join(files.read(s, a))
        # Cut at a chunk boundary: the missing final flag gives it away.
        path.write_bytes(original[: crypto.HEADER_SIZE + 2 * (crypto.CHUNK_SIZE + crypto.TAG_SIZE)])
        with pytest.raises(Unreadable):
            b"".join(files.read(s, a))
        # Another blob's object under this blob's name (same key can't open it: different data key).
        path.write_bytes(store.path(b.store_key).read_bytes())
        with pytest.raises(Unreadable):
            b"".join(files.read(s, a))


def test_destroyed_key_makes_every_copy_unreadable(files_env: Any) -> None:
    settings, factory = files_env
    files = Files(settings)
    with unit_of_work(factory) as s:
        blob = files.put(s, "t1", [b"secret"], "text/plain")
        copy = LocalStore(settings.data_dir / "blobs").path(blob.store_key).read_bytes()
        files.destroy_key(s, blob)
        with pytest.raises(Unreadable):
            files.read(s, blob)
        assert blob.wrapped_key is None and copy  # the backup copy exists but its key does not
    assert files.reap(factory) == 1
    with unit_of_work(factory) as s:
        assert s.scalars(select(Blob)).all() == []
    assert not LocalStore(settings.data_dir / "blobs").exists(blob.store_key)


def test_tenant_keys_are_wrapped_by_the_master_key(files_env: Any) -> None:
    settings, factory = files_env
    files = Files(settings)
    with unit_of_work(factory) as s:
        files.put(s, "t1", [b"x"], "text/plain")
        row = s.scalars(select(TenantKey)).one()
        assert row.wrapped is not None and len(row.wrapped) == 12 + 32 + 16
    other = Settings(
        environment="test", database_url=settings.database_url, data_dir=settings.data_dir / "elsewhere"
    )
    with unit_of_work(factory) as s, pytest.raises(Unreadable):
        Files(other).read(s, s.scalars(select(Blob)).one())


def test_two_first_uploads_of_a_tenant_at_once_share_one_key(files_env: Any) -> None:
    """The tenant's key is made by its first upload; a second upload waiting on the first one's
    uncommitted key uses that key once it commits (not a duplicate-key error)."""
    settings, factory = files_env
    files = Files(settings)
    second: dict[str, Any] = {}

    def upload() -> None:
        try:
            with unit_of_work(factory) as s:
                second["blob"] = files.put(s, "t1", [b"second"], "text/plain").name
        except Exception as exc:  # reported below
            second["error"] = exc

    with unit_of_work(factory) as s:
        first = files.put(s, "t1", [b"first"], "text/plain").name
        waiting = threading.Thread(target=upload)
        waiting.start()
        waiting.join(0.5)  # it waits on the first one's key (or on SQLite's write lock)
    waiting.join(10)
    assert "error" not in second, second.get("error")
    with unit_of_work(factory) as s:
        assert len(s.scalars(select(TenantKey)).all()) == 1
        blobs = {b.name: b for b in s.scalars(select(Blob))}
        assert b"".join(files.read(s, blobs[first])) == b"first"
        assert b"".join(files.read(s, blobs[second["blob"]])) == b"second"


def test_a_master_key_made_beside_another_process_is_the_one_both_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes starting on a new data directory: the one that finds no key and makes its own
    after the other made one uses the other's (not an error, not an empty file, not a second key
    that would leave blobs unreadable)."""
    path = tmp_path / "keys" / "master.key"
    theirs = crypto.load_master_key(path, create=True)
    monkeypatch.setattr(Path, "exists", lambda self: False)  # it looked before the other wrote
    assert crypto.load_master_key(path, create=True) == theirs
    monkeypatch.undo()
    assert crypto.load_master_key(path, create=False) == theirs
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in path.parent.iterdir()] == ["master.key"]  # no temporary file left


def test_upload_limit(files_env: Any) -> None:
    from hovor.core.errors import PayloadTooLarge

    settings, factory = files_env
    with pytest.raises(PayloadTooLarge), unit_of_work(factory) as s:
        Files(settings).put(s, "t1", pieces(b"x" * 50_000), "x/y", max_bytes=20_000)


def test_parse_range() -> None:
    assert parse_range(None, 100) is None
    assert parse_range("bytes=0-9", 100) == ByteRange(0, 10)
    assert parse_range("bytes=90-", 100) == ByteRange(90, 100)
    assert parse_range("bytes=-10", 100) == ByteRange(90, 100)
    assert parse_range("bytes=0-1000", 100) == ByteRange(0, 100)
    for bad in ("bytes=100-", "bytes=5-2", "bytes=x-1"):
        with pytest.raises(ValueError):
            parse_range(bad, 100)


@pytest.fixture(scope="module")
def s3_client() -> Iterator[Any]:
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    client = boto3.client(
        "s3",
        endpoint_url=f"http://{host}:{port}",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="eu-central-1",
    )
    yield client
    server.stop()


@pytest.fixture
def bucket(s3_client: Any) -> str:
    # moto keeps its buckets per process, so every test gets a bucket of its own.
    import uuid

    name = f"hovor-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    return name


def test_s3_store(files_env: Any, s3_client: Any, bucket: str) -> None:
    settings, factory = files_env
    store = S3Store(bucket, "tenants/", s3_client)
    store.PART_SIZE = 5 * 1024 * 1024  # S3's smallest part, so this test crosses a part boundary
    files = Files(settings, store=store)
    data = os.urandom(6 * 1024 * 1024 + 123)
    with unit_of_work(factory) as s:
        blob = files.put(s, "t1", pieces(data, 1 << 20), "audio/wav")
        assert b"".join(files.read(s, blob)) == data
        assert b"".join(files.read(s, blob, ByteRange(5_000_000, 5_300_000))) == data[5_000_000:5_300_000]
        raw = s3_client.get_object(Bucket=bucket, Key=f"tenants/{blob.store_key}")["Body"].read()
        assert data[:1000] not in raw
        files.destroy_key(s, blob)
    files.reap(factory)
    assert not store.exists(blob.store_key)


CRASH_SCRIPT = textwrap.dedent(
    """
    import sys
    import hovor.models  # noqa: F401
    from hovor.core.config import Settings
    from hovor.core.db import make_engine, make_session_factory, unit_of_work
    from hovor.files.models import Blob
    from hovor.files.service import Files
    from sqlalchemy import select

    url, data_dir = sys.argv[1], sys.argv[2]
    settings = Settings(environment="test", database_url=url, data_dir=data_dir)
    factory = make_session_factory(make_engine(url))
    files = Files(settings)
    with unit_of_work(factory) as s:
        blob = s.scalars(select(Blob)).one()
        files.destroy_key(s, blob)
    files.reap(factory)
    """
)


@pytest.mark.parametrize("crash_at", ["blob.after_key", "blob.after_object", None])
def test_kill_during_deletion_leaves_nothing_readable_or_unfindable(
    files_env: Any, crash_at: str | None
) -> None:
    settings, factory = files_env
    files = Files(settings)
    store = LocalStore(settings.data_dir / "blobs")
    with unit_of_work(factory) as s:
        blob = files.put(s, "t1", [b"voice of a person " * 1000], "audio/wav")
        key = blob.store_key
    env = {**os.environ, "HOVOR_ENVIRONMENT": "test"}
    if crash_at:
        env["HOVOR_FAULT_POINT"] = crash_at
    proc = subprocess.run(
        [sys.executable, "-c", CRASH_SCRIPT, settings.database_url, str(settings.data_dir)],
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == (137 if crash_at else 0), proc.stderr.decode()[-2000:]

    # Right after the crash: whatever is left is unreadable and still findable.
    with unit_of_work(factory) as s:
        rows = s.scalars(select(Blob)).all()
        for row in rows:
            assert row.wrapped_key is None and row.destroyed is not None
            with pytest.raises(Unreadable):
                files.read(s, row)
        if store.exists(key):
            assert rows, "an object is left that no row points to"
    # A restart finishes the work.
    files.reap(factory)
    with unit_of_work(factory) as s:
        assert s.scalars(select(Blob)).all() == []
    assert not store.exists(key)
