"""A restore's copy of the blob objects from a destination back into the blob store.

From a folder into the local store (a mounted volume into the data directory) the copy starts
before the database is decrypted, from the objects the manifest lists, on a few threads: it is
the kernel's work (directories made, files copied), which runs beside the decryption instead of
after it. Each side is listed once, not asked about object by object. Once the database is there,
the objects it refers to that the manifest did not list are copied too, and the ones it does not
refer to (made after the snapshot) leave the store again. The copies are not synced one by one:
the restore syncs once, before it unmarks the directory.

Any other pair (a bucket, an object store) goes object by object through the store's own upload.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from itertools import groupby
from pathlib import Path

from hovor.backup.destinations import Destination, Folder
from hovor.files.service import Files
from hovor.files.stores import LocalStore

Progress = Callable[[str, int, int], None]
WORKERS = 2  # one in the kernel while the other runs Python; more wait for the interpreter


def _listed(folder: Path) -> set[str]:
    try:
        with os.scandir(folder) as found:
            return {e.name for e in found if not e.name.startswith(".")}
    except FileNotFoundError:
        return set()


def _stored(root: Path) -> set[str]:
    """The objects a local store holds (``root/ab/cd/key``); a fresh restore's holds none."""
    out: set[str] = set()
    for first in _listed(root):
        for second in _listed(root / first):
            out |= _listed(root / first / second)
    return out


def _copy(source: str, target: str) -> None:
    """The whole file by the kernel, owner-only like the store's own writes."""
    fd_in = os.open(source, os.O_RDONLY)
    try:
        fd_out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            left = os.fstat(fd_in).st_size
            while left > 0:
                sent = os.sendfile(fd_out, fd_in, None, left)
                if sent == 0:
                    break
                left -= sent
        finally:
            os.close(fd_out)
    finally:
        os.close(fd_in)


class FolderToStore:
    """Objects from a folder destination into a local store, a fan-out directory per task."""

    def __init__(self, store: LocalStore, folder: Folder) -> None:
        self.store, self.source = store, folder.file("blobs")
        self.held, self.present = _listed(self.source), _stored(store.root)
        self.done: set[str] = set()
        self.pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="restore-blobs")
        self.pending: list[Future[list[str]]] = []

    def _one_folder(self, keys: list[str]) -> list[str]:
        """Keys sharing their first fan-out level: no other task makes these directories."""
        parents: set[Path] = set()
        for key in keys:
            target = self.store.path(key)  # checks the key, and is the store's own layout
            if target.parent not in parents:
                target.parent.mkdir(parents=True, exist_ok=True)
                parents.add(target.parent)
            _copy(os.path.join(self.source, key), str(target))
        return keys

    def start(self, keys: Iterable[str]) -> None:
        wanted = sorted(k for k in set(keys) - self.present - self.done if k in self.held)
        self.done.update(wanted)
        for _, group in groupby(wanted, key=lambda k: k[:2]):
            self.pending.append(self.pool.submit(self._one_folder, list(group)))

    def finish(self, keys: list[str], progress: Progress | None) -> tuple[int, int]:
        """Waits for the copies ``keys`` need; (objects copied, objects the destination lacks)."""
        try:
            needed = set(keys)
            self.start(needed)
            copied = 0
            for future in as_completed(self.pending):
                copied += len(future.result())
                if progress:
                    progress("blobs", copied, len(self.done))
            for key in self.done - needed:  # listed by the manifest, unknown to the snapshot
                self.store.delete(key)
            missing = sum(1 for k in needed if k not in self.present and k not in self.held)
            return len(self.done & needed), missing
        finally:
            self.pool.shutdown(cancel_futures=True)

    def abandon(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def one_by_one(
    files: Files, destination: Destination, keys: list[str], progress: Progress | None
) -> tuple[int, int]:
    """Through the store's upload (each object synced), for any store and destination."""
    store, place = files.store, destination.place
    held = {n.removeprefix("blobs/") for n in place.names("blobs/")}  # one listing, not a HEAD each
    copied = missing = 0
    for i, key in enumerate(keys, 1):
        if store.exists(key):
            pass
        elif key not in held:
            missing += 1
        else:
            store.put(key, place.get(f"blobs/{key}"))
            copied += 1
        if progress:
            progress("blobs", i, len(keys))
    return copied, missing


def folder_to_store(files: Files, destination: Destination) -> FolderToStore | None:
    if isinstance(files.store, LocalStore) and isinstance(destination.place, Folder):
        return FolderToStore(files.store, destination.place)
    return None
