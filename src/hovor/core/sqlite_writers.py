"""SQLite's one writer, shared by the threads of a process and the processes on one file.

Every write transaction of a hovor process on a SQLite file takes its turn in a :class:`WriterQueue`
(a lock of the process, then a file lock shared with the other processes) from its BEGIN IMMEDIATE
until its COMMIT or ROLLBACK has run (:class:`SQLiteConnection`), and a :class:`Checkpointer` copies
the write-ahead log into the database file beside them. :func:`hovor.core.db.make_engine` wires
them into every SQLite engine.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
import time
import weakref
from typing import Any

from sqlalchemy.exc import OperationalError

_log = logging.getLogger("hovor.core.db")

# How long a write waits for its turn (the writer queue) before it answers 503.
WRITE_WAIT_SECONDS = 30


class WriterFileLock:
    """The queue of SQLite writers across the processes that share one database file.

    An exclusive ``flock`` on ``<database>.writers``: a waiting process sleeps in the kernel and is
    woken the moment the holder unlocks (SQLite's own busy handler polls with sleeps of up to
    100 ms instead), and the kernel frees the lock of a process that dies. Each process takes it
    only while holding its own in-process writer lock, so one thread per process waits here.
    Processes that are not hovor's still meet SQLite's own lock and busy handler.

    The file is opened at the first write, read-only (``flock`` needs no more), and made readable
    by everyone who can read the directory, so a command run by another user creates nothing the
    server cannot open. Where it cannot be opened at all (a read-only directory), writers fall back
    to SQLite's own lock, once with a warning.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._fd: int | None = None
        self._held: int | None = None  # the descriptor whose lock this process holds
        self._unusable = False
        _FORK_SENSITIVE.add(self)

    def _open(self) -> int:
        return os.open(self._path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)

    @classmethod
    def for_database(cls, database: str | None) -> WriterFileLock | None:
        if not database or database == ":memory:" or database.startswith("file:"):
            return None  # an in-memory database has one process by definition
        return cls(f"{database}.writers")

    def acquire(self, timeout: float) -> bool:
        if self._unusable:
            return True
        if self._fd is None:
            try:
                self._fd = self._open()
            except OSError as exc:
                self._unusable = True
                _log.warning("writers' lock file unusable (%s); SQLite's own lock queues writers", exc.errno)
                return True
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self._held = self._fd
            return True
        except BlockingIOError:
            pass
        # flock has no deadline of its own: a helper thread waits on a descriptor of its own (so a
        # wait given up cannot hand its lock to the next writer), this thread waits for it.
        fd = self._open()
        got = threading.Event()
        guard = threading.Lock()
        abandoned = False

        def wait() -> None:
            fcntl.flock(fd, fcntl.LOCK_EX)
            with guard:
                if not abandoned:
                    got.set()
                    return
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

        try:
            threading.Thread(target=wait, name="hovor-sqlite-writer-wait", daemon=True).start()
        except BaseException:
            os.close(fd)
            raise
        got.wait(max(timeout, 0.0))
        with guard:
            if got.is_set():
                self._held = fd
                return True
            abandoned = True
        return False

    def release(self) -> None:
        fd, self._held = self._held, None
        if fd is None:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            if fd != self._fd:
                os.close(fd)

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None and self._held is None:
            os.close(fd)

    def after_fork(self) -> None:
        # A forked child shares the parent's open file, and so its lock: it needs one of its own.
        fd, self._fd, self._held = self._fd, None, None
        if fd is not None:
            os.close(fd)


class Checkpointer:
    """Copies the write-ahead log into the database file in a thread of its own, so that writers
    rarely do it while they hold the write lock.

    Left to SQLite, the commit that takes the log past 1,000 pages copies them into the database
    file itself (a checkpoint), holding the one write lock for the 5-18 ms it takes while every other
    writer waits: under a feed of single calls four fifths of the commits' time was those
    checkpoints. Here, every :attr:`EVERY` commits of this process wake a thread that runs a PASSIVE
    checkpoint on a connection of its own: it copies what no reader still needs without taking the
    write lock or waiting for anyone, so writers go on meanwhile. SQLite's own checkpoint stays as
    the backstop; when it comes, the thread has copied nearly everything and it finds little to do.
    The erasure's truncation of the log (hovor.privacy.compaction) is unchanged: a checkpoint
    running at that moment only makes it try again."""

    EVERY = 8

    def __init__(self, database: str | None) -> None:
        # An in-memory database has no log to copy; a URI names its file in a way of its own.
        usable = database and database != ":memory:" and not database.startswith("file:")
        self._database = database if usable else None
        self._commits = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._due = threading.Event()
        self._stop = threading.Event()
        _FORK_SENSITIVE.add(self)

    def committed(self) -> None:
        """A write transaction of this process committed. Never raises: the commit stands whatever
        happens to its checkpoint (the next one, or SQLite's own, copies the log)."""
        # Commits counted from several threads may race; only the rhythm depends on the count.
        self._commits += 1
        if self._commits % self.EVERY or self._database is None:
            return
        try:
            with self._lock:
                if self._thread is None:
                    due, stop = threading.Event(), threading.Event()
                    thread = threading.Thread(
                        target=self._run, args=(due, stop), name="hovor-checkpoint", daemon=True
                    )
                    thread.start()
                    self._thread, self._due, self._stop = thread, due, stop
                due = self._due
            due.set()
        except Exception as exc:  # no thread to be had (a limit, the interpreter ending)
            _log.warning("background checkpoint not started: %s", type(exc).__name__)

    def _run(self, due: threading.Event, stop: threading.Event) -> None:
        assert self._database is not None
        try:
            conn = sqlite3.connect(self._database, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            _log.warning("background checkpoint: no connection (%s)", type(exc).__name__)
            with self._lock:
                if self._thread is threading.current_thread():
                    self._thread = None  # the next commit tries again
            return
        try:
            while True:
                due.wait()
                due.clear()
                if stop.is_set():
                    return
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:  # the next one tries again; SQLite's own remains
                    _log.warning("background checkpoint failed: %s", type(exc).__name__)
        finally:
            conn.close()

    def close(self) -> None:
        """Ends the thread (the engine was disposed) and waits for it to let go of the file. An
        engine that is used again afterwards starts a new one with its next commits."""
        with self._lock:
            thread, self._thread = self._thread, None
            due, stop = self._due, self._stop
        if thread is not None:
            stop.set()
            due.set()
            thread.join(5)

    def after_fork(self) -> None:
        # The parent's thread did not come along; a child starts its own when it writes.
        self._thread = None
        self._lock = threading.Lock()
        self._due, self._stop = threading.Event(), threading.Event()


class WriterQueue:
    """Where the SQLite writers of one engine wait: first on a lock of this process, then, the one
    at its head, on the file lock it shares with the other hovor processes (server workers, the
    CLI) on the same file. Both wake the next waiter the moment they are released."""

    def __init__(self, shared: WriterFileLock | None) -> None:
        self._local = threading.Lock()
        self._shared = shared
        _FORK_SENSITIVE.add(self)

    def acquire(self) -> None:
        deadline = time.monotonic() + WRITE_WAIT_SECONDS
        if not self._local.acquire(timeout=WRITE_WAIT_SECONDS):
            raise OperationalError("BEGIN IMMEDIATE", None, TimeoutError("writer queue timeout"))
        try:
            got = self._shared is None or self._shared.acquire(deadline - time.monotonic())
        except BaseException:
            self._local.release()
            raise
        if not got:
            self._local.release()
            raise OperationalError("BEGIN IMMEDIATE", None, TimeoutError("writer queue timeout"))

    def release(self) -> None:
        try:
            if self._shared is not None:
                self._shared.release()
        finally:
            self._local.release()

    def close(self) -> None:
        if self._shared is not None:
            self._shared.close()

    def after_fork(self) -> None:
        self._local = threading.Lock()  # a copy of a lock another thread of the parent held


_FORK_SENSITIVE: weakref.WeakSet[Any] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for item in list(_FORK_SENSITIVE):
        item.after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


class SQLiteConnection(sqlite3.Connection):
    """A driver connection that lets the writer queue go only once its COMMIT or ROLLBACK has run.

    SQLAlchemy's commit and rollback events fire before the statement; releasing there would let
    the next writer's BEGIN IMMEDIATE meet a transaction still open and fall back to SQLite's busy
    handler and its sleeps."""

    writer_queue: WriterQueue | None = None
    _holds_writer = False

    def take_writer_lock(self) -> None:
        if self.writer_queue is not None and not self._holds_writer:
            self.writer_queue.acquire()
            self._holds_writer = True

    def release_writer_lock(self) -> None:
        if self._holds_writer:
            self._holds_writer = False
            assert self.writer_queue is not None
            self.writer_queue.release()

    checkpointer: Checkpointer | None = None

    def commit(self) -> None:
        wrote = self._holds_writer
        try:
            super().commit()
        finally:
            self.release_writer_lock()
        if wrote and self.checkpointer is not None:
            self.checkpointer.committed()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.release_writer_lock()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.release_writer_lock()
