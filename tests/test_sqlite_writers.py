"""SQLite writers queue on locks of hovor's (hovor.core.sqlite_writers): in-process first, then on a file lock
shared by every hovor process on the same database, held until COMMIT or ROLLBACK has run."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

import hovor.core.sqlite_writers
from hovor.core.db import make_engine, make_session_factory, unit_of_work
from hovor.core.sqlite_writers import Checkpointer


@pytest.fixture
def database(tmp_path: Path) -> Iterator[tuple[Any, Path]]:
    path = tmp_path / "writers.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    yield engine, path
    engine.dispose()


def _free(lock_path: Path) -> bool:
    """Whether another holder could take the writers' lock right now."""
    fd = os.open(lock_path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing drops a lock taken here
    return True


def test_the_lock_is_held_until_commit_and_rollback_have_run(database: tuple[Any, Path]) -> None:
    engine, path = database
    lock = Path(f"{path}.writers")
    seen: list[bool] = []
    # SQLAlchemy's commit and rollback events fire before the statement runs.
    event.listen(engine, "commit", lambda conn: seen.append(_free(lock)))
    event.listen(engine, "rollback", lambda conn: seen.append(_free(lock)))
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        session.execute(text("INSERT INTO t VALUES (1)"))
        assert not _free(lock)
    assert _free(lock)
    session = factory()
    session.execute(text("INSERT INTO t VALUES (2)"))
    session.rollback()
    session.close()
    assert _free(lock)
    assert seen[:2] == [False, False]
    # Reads take no writer lock.
    with make_session_factory(engine, writes=False)() as reader:
        assert reader.scalar(text("SELECT count(*) FROM t")) == 1
        assert _free(lock)


def test_a_writer_waits_for_another_process_and_goes_the_moment_it_lets_go(
    database: tuple[Any, Path],
) -> None:
    engine, path = database
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import fcntl, os, sys, time
                fd = os.open({str(path) + ".writers"!r}, os.O_RDWR | os.O_CREAT)
                fcntl.flock(fd, fcntl.LOCK_EX)
                print("held", flush=True)
                time.sleep(0.6)
                print(time.time(), flush=True)
                fcntl.flock(fd, fcntl.LOCK_UN)
                time.sleep(5)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        with unit_of_work(make_session_factory(engine)) as session:
            session.execute(text("INSERT INTO t VALUES (1)"))
            began = time.time()
        waited = time.monotonic() - started
        let_go = float(holder.stdout.readline())
    finally:
        holder.kill()
        holder.wait()
    assert waited >= 0.5  # it did wait for the other process
    assert began >= let_go
    assert began - let_go < 0.2  # and went as soon as it could, not after a busy handler's sleep


def test_a_writer_that_waits_too_long_is_refused_and_the_queue_moves_on(
    database: tuple[Any, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, path = database
    monkeypatch.setattr(hovor.core.sqlite_writers, "WRITE_WAIT_SECONDS", 0.3)
    other = os.open(f"{path}.writers", os.O_RDWR | os.O_CREAT)
    fcntl.flock(other, fcntl.LOCK_EX)
    factory = make_session_factory(engine)
    try:
        started = time.monotonic()
        with (
            pytest.raises(OperationalError, match="writer queue timeout"),
            unit_of_work(factory) as session,
        ):
            session.execute(text("INSERT INTO t VALUES (1)"))
        assert 0.25 <= time.monotonic() - started < 2
    finally:
        fcntl.flock(other, fcntl.LOCK_UN)
        os.close(other)
    # The wait that was given up hands its lock to nobody: the next writer gets it, and while it
    # holds it nobody else can take it.
    for n in range(3):
        with unit_of_work(factory) as session:
            session.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
            assert not _free(Path(f"{path}.writers"))
    with make_session_factory(engine, writes=False)() as reader:
        assert reader.scalar(text("SELECT count(*) FROM t")) == 3


def test_a_failure_while_queueing_leaves_no_lock_behind(
    database: tuple[Any, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, _path = database

    def broken(self: Any, timeout: float) -> bool:
        raise OSError(24, "Too many open files")

    factory = make_session_factory(engine)
    with monkeypatch.context() as patch:
        patch.setattr(hovor.core.sqlite_writers.WriterFileLock, "acquire", broken)
        with pytest.raises(OSError), unit_of_work(factory) as session:
            session.execute(text("INSERT INTO t VALUES (1)"))
    started = time.monotonic()
    with unit_of_work(factory) as session:  # the process's own queue was let go
        session.execute(text("INSERT INTO t VALUES (2)"))
    assert time.monotonic() - started < 1
    with make_session_factory(engine, writes=False)() as reader:
        assert reader.scalar(text("SELECT group_concat(n) FROM t")) == "2"


def test_without_a_usable_lock_file_writers_fall_back_to_sqlites_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refused(self: Any) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(hovor.core.sqlite_writers.WriterFileLock, "_open", refused)
    engine = make_engine(f"sqlite:///{tmp_path / 'ro.db'}")
    factory = make_session_factory(engine)
    for n in range(2):
        with unit_of_work(factory) as session:
            session.execute(text("CREATE TABLE IF NOT EXISTS t (n INTEGER)"))
            session.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
    engine.dispose()
    assert [r.getMessage() for r in caplog.records if "lock file unusable" in r.getMessage()] == [
        "writers' lock file unusable (13); SQLite's own lock queues writers"
    ]


def test_a_read_is_one_snapshot_and_a_failed_begin_is_sqlalchemys_error(
    database: tuple[Any, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, _ = database
    reads, writes = make_session_factory(engine, writes=False), make_session_factory(engine)
    with reads() as reader:
        assert reader.scalar(text("SELECT count(*) FROM t")) == 0
        with unit_of_work(writes) as session:
            session.execute(text("INSERT INTO t VALUES (1)"))
        # Begun (deferred) at the first statement: the write committed since is not seen yet.
        assert reader.scalar(text("SELECT count(*) FROM t")) == 0
    with reads() as reader:
        assert reader.scalar(text("SELECT count(*) FROM t")) == 1

    def failing(self: Any, sql: str, *args: Any) -> Any:
        raise sqlite3.OperationalError("disk I/O error")

    # The read's BEGIN goes to the driver directly; its failure is still SQLAlchemy's
    # OperationalError, which the API answers 503.
    monkeypatch.setattr(hovor.core.sqlite_writers.SQLiteConnection, "execute", failing, raising=False)
    with reads() as reader, pytest.raises(OperationalError):
        reader.scalar(text("SELECT count(*) FROM t"))


def _checkpoint_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "hovor-checkpoint"]


def test_the_log_reaches_the_database_file_in_a_thread_of_its_own(database: tuple[Any, Path]) -> None:
    """Writers leave copying the write-ahead log into the database file to a thread beside them, so
    that no commit holds the one write lock through a checkpoint. Far below the size at which
    SQLite would checkpoint on its own (1,000 pages), the file takes the rows all the same."""
    engine, path = database
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    before = path.read_bytes()
    already = set(_checkpoint_threads())
    factory = make_session_factory(engine)
    for i in range(Checkpointer.EVERY):
        with unit_of_work(factory) as session:
            session.execute(text("INSERT INTO t VALUES (:n)"), {"n": i})
    assert Path(f"{path}-wal").stat().st_size > 0  # the rows went to the log first
    deadline = time.monotonic() + 10
    while path.read_bytes() == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert path.read_bytes() != before
    raw = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)  # the file alone, no log
    try:
        assert raw.execute("SELECT count(*) FROM t").fetchone() == (Checkpointer.EVERY,)
    finally:
        raw.close()
    (thread,) = set(_checkpoint_threads()) - already
    engine.dispose()  # and the thread ends with its engine, having let go of the file
    assert not thread.is_alive()
    # An engine used again after it was disposed (as the application's is, by each lifespan)
    # starts another.
    for i in range(Checkpointer.EVERY):
        with unit_of_work(factory) as session:
            session.execute(text("INSERT INTO t VALUES (:n)"), {"n": i})
    assert len(set(_checkpoint_threads()) - already) == 1


def test_a_commit_stands_when_its_checkpoint_cannot_start(
    database: tuple[Any, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, _path = database

    def refused(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", refused)
    factory = make_session_factory(engine)
    for i in range(Checkpointer.EVERY * 2):
        with unit_of_work(factory) as session:  # would raise if the checkpoint's failure did
            session.execute(text("INSERT INTO t VALUES (:n)"), {"n": i})
    monkeypatch.undo()
    with make_session_factory(engine, writes=False)() as reader:
        assert reader.scalar(text("SELECT count(*) FROM t")) == Checkpointer.EVERY * 2
