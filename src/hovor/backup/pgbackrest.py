"""pgBackRest, as hovor drives it on PostgreSQL.

Every declared backup destination is one pgBackRest repository (``repoN``, in the order declared):
a ``file://`` destination keeps it in its ``pgbackrest/`` folder, an ``s3://bucket/prefix`` one
under ``prefix/pgbackrest`` in the same bucket. Each repository is encrypted (AES-256-CBC, the
pass derived from the master key and the destination's name, so a restore elsewhere needs only
the master key) and receives the WAL archive, so any moment since the oldest kept backup can be
restored. hovor writes the configuration from the declaration on every run (a destination added
or lost changes it) and never puts a password on a command line.
"""

from __future__ import annotations

import base64
import json
import os
import pwd
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.engine import make_url

from hovor.backup.destinations import Destination
from hovor.core.config import Settings

REPO_FOLDER = "pgbackrest"


class PgBackRestError(Exception):
    """pgBackRest refused or failed: its own last words (paths and options, never data)."""


@dataclass(frozen=True)
class Repo:
    index: int
    destination: Destination


def repos(destinations: list[Destination]) -> list[Repo]:
    return [Repo(i, d) for i, d in enumerate(destinations, 1)]


def repo_of(destinations: list[Destination], name: str) -> Repo:
    for repo in repos(destinations):
        if repo.destination.name == name:
            return repo
    raise PgBackRestError(f"no backup destination named {name!r} is declared")


def cipher_pass(master: bytes, destination: str) -> str:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"hovor-pgbackrest", info=destination.encode()
    ).derive(master)
    return base64.urlsafe_b64encode(key).decode().rstrip("=")


def config_path(settings: Settings) -> Path:
    return settings.pgbackrest_config or settings.data_dir / "pgbackrest" / "pgbackrest.conf"


def _repo_lines(repo: Repo, master: bytes, keep_days: int) -> list[str]:
    n, destination = repo.index, repo.destination
    parsed = urlparse(destination.url)
    lines: list[str] = []
    if parsed.scheme == "file":
        lines += [f"repo{n}-type=posix", f"repo{n}-path={Path(unquote(parsed.path)) / REPO_FOLDER}"]
    elif parsed.scheme == "s3":
        endpoint = urlparse(os.environ.get("AWS_ENDPOINT_URL") or "https://s3.amazonaws.com")
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        lines += [
            f"repo{n}-type=s3",
            f"repo{n}-path=/{'/'.join(p for p in (parsed.path.strip('/'), REPO_FOLDER) if p)}",
            f"repo{n}-s3-bucket={parsed.netloc}",
            f"repo{n}-s3-endpoint={endpoint.hostname}",
            f"repo{n}-s3-region={region}",
            f"repo{n}-s3-uri-style=path",
        ]
        if endpoint.port:
            lines.append(f"repo{n}-storage-port={endpoint.port}")
        if os.environ.get("AWS_ACCESS_KEY_ID"):
            lines += [
                f"repo{n}-s3-key={os.environ['AWS_ACCESS_KEY_ID']}",
                f"repo{n}-s3-key-secret={os.environ.get('AWS_SECRET_ACCESS_KEY', '')}",
            ]
    else:
        raise PgBackRestError(f"a pgBackRest repository is file:// or s3://, not {parsed.scheme!r}")
    return [
        *lines,
        f"repo{n}-cipher-type=aes-256-cbc",
        f"repo{n}-cipher-pass={cipher_pass(master, destination.name)}",
        # pgBackRest's own limit, the contract's (hovor expires by day, week and month within it).
        f"repo{n}-retention-full-type=time",
        f"repo{n}-retention-full={keep_days}",
    ]


def config_text(settings: Settings, destinations: list[Destination], master: bytes, keep_days: int) -> str:
    if settings.pgbackrest_pg_path is None:
        raise PgBackRestError("HOVOR_PGBACKREST_PG_PATH (the cluster's data directory) is not set")
    url = make_url(settings.resolved_database_url)
    work = config_path(settings).parent
    lines = ["[global]"]
    for repo in repos(destinations):
        lines += _repo_lines(repo, master, keep_days)
    lines += [
        "compress-type=zst",
        "start-fast=y",
        "process-max=2",
        "log-level-console=error",
        "log-level-stderr=error",
        "log-level-file=info",
        f"log-path={work / 'log'}",
        f"lock-path={work / 'lock'}",
        f"spool-path={work / 'spool'}",
        "",
        f"[{settings.pgbackrest_stanza}]",
        f"pg1-path={settings.pgbackrest_pg_path}",
        f"pg1-port={url.port or 5432}",
        f"pg1-user={url.username or 'postgres'}",
    ]
    if settings.pgbackrest_socket:
        lines.append(f"pg1-socket-path={settings.pgbackrest_socket}")
    return "\n".join(lines) + "\n"


def _owner(settings: Settings) -> tuple[int, int] | None:
    """Whom pgBackRest's files must belong to, when hovor can give them away (as root)."""
    if not settings.pgbackrest_user or os.geteuid() != 0:
        return None
    entry = pwd.getpwnam(settings.pgbackrest_user)
    return entry.pw_uid, entry.pw_gid


def write_config(settings: Settings, destinations: list[Destination], master: bytes, keep_days: int) -> Path:
    """The configuration (owner-only: it holds the repositories' passes), its working folders and
    the folder repositories, all belonging to the user pgBackRest runs as."""
    path = config_path(settings)
    owner = _owner(settings)
    folders = [path.parent, *(path.parent / p for p in ("log", "lock", "spool"))]
    for repo in repos(destinations):
        parsed = urlparse(repo.destination.url)
        if parsed.scheme == "file":
            root = Path(unquote(parsed.path))
            root.mkdir(parents=True, exist_ok=True, mode=0o700)
            if owner:  # hovor's folder, which pgBackRest's user may pass through to its own
                os.chown(root, -1, owner[1])
                root.chmod(root.stat().st_mode & 0o777 | 0o010)
            folders.append(root / REPO_FOLDER)
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if owner:
            os.chown(folder, *owner)
    tmp = path.with_name(f".{path.name}.new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(config_text(settings, destinations, master, keep_days))
    if owner:
        os.chown(tmp, *owner)
    tmp.replace(path)
    return path


def as_user(settings: Settings, argv: list[str]) -> list[str]:
    """``argv`` run as pgbackrest_user: directly when hovor is that user, else through runuser
    (root) or sudo."""
    user = settings.pgbackrest_user
    if not user or pwd.getpwuid(os.geteuid()).pw_name == user:
        return argv
    if os.geteuid() == 0:
        return ["runuser", "-u", user, "--", *argv]
    return ["sudo", "-n", "-u", user, "--", *argv]


def command(settings: Settings, *args: str, repo: int | None = None, timeout: float | None = None) -> str:
    """Runs one pgBackRest command on hovor's stanza; its standard output."""
    argv = [
        "pgbackrest",
        f"--config={config_path(settings)}",
        f"--stanza={settings.pgbackrest_stanza}",
        *([f"--repo={repo}"] if repo else []),
        *args,
    ]
    try:
        done = subprocess.run(  # noqa: S603 - hovor's own arguments, no shell
            as_user(settings, argv), capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError as exc:
        raise PgBackRestError("pgbackrest is not installed (Debian: apt-get install pgbackrest)") from exc
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise PgBackRestError(f"pgbackrest {args[-1]} failed ({done.returncode}): {' '.join(said)}")
    return done.stdout


def info(settings: Settings) -> list[dict[str, Any]]:
    """Every backup of the stanza in every repository, oldest first (pgBackRest's own JSON)."""
    stanzas = json.loads(command(settings, "--output=json", "info"))
    return [b for s in stanzas for b in s.get("backup", [])]


def archive_command(settings: Settings) -> str:
    """What PostgreSQL's archive_command must be for point-in-time recovery."""
    return (
        f"pgbackrest --config={shlex.quote(str(config_path(settings)))} "
        f"--stanza={settings.pgbackrest_stanza} archive-push %p"
    )
