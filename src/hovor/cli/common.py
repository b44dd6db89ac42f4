"""What every command shares: sessions on the configured database, the consoles, the CLI's audit
actor, progress bars and the way a command gives up."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.orm import Session, sessionmaker

import hovor.models  # noqa: F401 - every mapper, so references across domains resolve
from hovor.audit import log as audit
from hovor.audit.keys import signing_key
from hovor.core import datadir
from hovor.core.config import get_settings
from hovor.core.db import make_engine, make_session_factory
from hovor.files.service import Files
from hovor.jobs.service import Env
from hovor.privacy import erasure, exports, retention  # noqa: F401 - they register their jobs
from hovor.privacy.contract import package, purge  # noqa: F401 - they register their jobs

# Changes made from this command line are the platform operator's, recorded as such.
CLI = audit.Actor("system", "cli")

console = Console()
# Errors and progress go to standard error, so that standard output carries only the result.
err = Console(stderr=True)


def factory() -> sessionmaker[Session]:
    settings = get_settings()
    datadir.protect(settings.data_dir)
    return make_session_factory(make_engine(settings.resolved_database_url))


def snapshot() -> sessionmaker[Session]:
    """Long reads (verify, export) in one consistent snapshot, without taking the write lock."""
    settings = get_settings()
    return make_session_factory(make_engine(settings.resolved_database_url), writes=False, snapshot=True)


def fail(message: str) -> NoReturn:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(2)


def progress(*, transient: bool = False, counted: bool = False) -> Progress:
    """Progress bars on standard error; ``counted`` shows done/total and the time taken."""
    if counted:
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        return Progress(*columns, console=err, transient=transient)
    return Progress(console=err, transient=transient)


def job_env() -> Env:
    """What jobs run with when this process runs them (``jobs run``, ``retention run``, ``worker``)."""
    settings = get_settings()
    datadir.protect(settings.data_dir)
    engine = make_engine(settings.resolved_database_url)
    return Env(settings, make_session_factory(engine), Files(settings), signing_key(settings), engine)
