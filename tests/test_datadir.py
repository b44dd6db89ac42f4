"""The data directory holds personal data in clear: nothing in it may be readable by other users."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from hovor.core import datadir


def _others_may_read(root: Path) -> list[str]:
    found = []
    for path in [root, *root.rglob("*")]:
        if not path.is_symlink() and stat.S_IMODE(path.stat().st_mode) & 0o077:
            found.append(f"{path.relative_to(root)} {oct(stat.S_IMODE(path.stat().st_mode))}")
    return found


def test_what_the_commands_create_is_owner_only(tmp_path: Path) -> None:
    """The database (and its -wal/-shm), the blobs, the keys and the demo's credentials, made by
    `hovor db upgrade` and `hovor demo` from a shell whose umask lets others read."""
    data = tmp_path / "var"
    env = {
        **os.environ,
        "HOVOR_ENVIRONMENT": "test",
        "HOVOR_DATA_DIR": str(data),
        "HOVOR_DATABASE_URL": "",
        "HOVOR_BLOB_STORE_URL": "",
    }
    for command in (["db", "upgrade"], ["demo"]):
        run = subprocess.run(
            [sys.executable, "-m", "hovor", *command],
            env=env,
            capture_output=True,
            timeout=300,
            preexec_fn=lambda: os.umask(0o022),
        )
        assert run.returncode == 0, run.stderr.decode()[-2000:]
    made = {p.name for p in data.rglob("*")}
    assert {"hovor.db", "master.key", "demo-credentials.json", "blobs"} <= made
    assert _others_may_read(data) == []


def test_what_an_older_version_left_readable_is_made_owner_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "var"
    (data / "blobs" / "acme").mkdir(parents=True)
    for directory in (data, data / "blobs", data / "blobs" / "acme"):
        os.chmod(directory, 0o755)  # explicitly: this process's umask may be 077 already
    for name, mode in (("hovor.db", 0o644), ("hovor.db-wal", 0o664), ("blobs/acme/x", 0o644)):
        (data / name).write_bytes(b"clear text")
        os.chmod(data / name, mode)
    (data / "link").symlink_to("/etc/hostname")
    with caplog.at_level(logging.WARNING, logger="hovor.datadir"):
        fixed = datadir.protect(data)
    assert len(fixed) == 6  # the directory, two below it, three files
    assert "could be read by other users" in caplog.text
    assert _others_may_read(data) == []
    assert stat.S_IMODE((data / "hovor.db").stat().st_mode) == 0o600
    assert datadir.protect(data) == []  # nothing left to fix: said once
