"""The data directory is the owner's alone.

On the embedded default it holds the database with personal data in clear (and its -wal/-shm), the
blobs, the master key and the audit signing key. Every process that works on it first calls
:func:`protect`: the process's umask becomes 077, so whatever SQLite, the blob store or a command
creates from then on is owner-only, and anything already there that others could read (a directory
made by an older version, a database copied in) is made owner-only, with a warning.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger("hovor.datadir")

PRIVATE_UMASK = 0o077
DIRECTORY_MODE = 0o700


def _fix(path: Path) -> bool:
    """Drops what the group and others may do with ``path``; True when there was something. What
    cannot be changed (not ours, a read-only mount) is said in a warning and left: the service must
    still start."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077 == 0:
        return False
    try:
        os.chmod(path, mode & 0o700)
    except OSError as exc:
        log.warning("could not make a file under the data directory owner-only: %s", exc.strerror)
        return False
    return True


def protect(data_dir: Path) -> list[Path]:
    """Make ``data_dir`` (created if missing) and everything below it owner-only; returns what had
    to be changed. Symbolic links are left as they are (their targets are not ours to change)."""
    os.umask(PRIVATE_UMASK)
    data_dir.mkdir(parents=True, exist_ok=True, mode=DIRECTORY_MODE)
    fixed: list[Path] = []
    if _fix(data_dir):
        fixed.append(data_dir)
    for root, dirs, files in os.walk(data_dir):
        for name in dirs:
            path = Path(root, name)
            if not path.is_symlink() and _fix(path):
                fixed.append(path)
        for name in files:
            path = Path(root, name)
            if not path.is_symlink() and _fix(path):
                fixed.append(path)
    if fixed:
        log.warning(
            "%d files or directories under the data directory could be read by other users; "
            "they are owner-only now",
            len(fixed),
        )
    return fixed
