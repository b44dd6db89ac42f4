"""``hovor files``: the encrypted blob store."""

from __future__ import annotations

import typer

from hovor.cli.common import console, factory
from hovor.core.config import get_settings
from hovor.files.service import Files

files_app = typer.Typer(help="The encrypted blob store.", no_args_is_help=True)


@files_app.command("reap")
def files_reap() -> None:
    """Finish deleting blobs whose keys are destroyed (object, then row). Safe to run any time."""
    done = Files(get_settings()).reap(factory(), limit=10**9)
    console.print(f"{done} blob(s) removed")
