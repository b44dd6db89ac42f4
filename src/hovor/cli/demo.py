"""``hovor demo``: the demo tenant."""

from __future__ import annotations

from typing import Annotated

import typer

from hovor.cli.common import console, factory
from hovor.core.config import get_settings


def demo(
    contacts: Annotated[int, typer.Option(help="How many contacts to create.")] = 300,
    seed: Annotated[int, typer.Option(help="Random seed, for reproducible data.")] = 42,
) -> None:
    """Seed the demo tenant (once) and print its credentials."""
    # deferred: Faker and the seeder cost about 55 ms at start-up and only this command needs them
    from hovor.demo import print_credentials, seed_demo

    settings = get_settings()
    credentials = seed_demo(factory(), settings, contacts=contacts, seed=seed, console=console)
    print_credentials(credentials, console)
