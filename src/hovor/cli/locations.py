"""``hovor locations``: the platform operator declares where each store lives (provider, country,
region), for every tenant or one; each tenant whose view changes finds the change in its audit log."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table

from hovor.cli.common import CLI, console, err, factory, fail
from hovor.core.config import get_settings
from hovor.core.db import unit_of_work
from hovor.core.errors import ApiError
from hovor.tenancy import configured, locations

locations_app = typer.Typer(
    help="Where the data lives (database, blobs, backups, cache).", no_args_is_help=True
)

TENANT = typer.Option(help="One tenant's override (default: the platform-wide default).")
NAME = typer.Option(help="Which store of the kind (several backup destinations); default main.")


@locations_app.command("set")
def locations_set(
    kind: Annotated[str, typer.Argument(help=f"One of: {', '.join(locations.KINDS)}.")],
    provider: Annotated[str, typer.Option(help="The hosting company.")],
    country: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2 code, such as CZ.")],
    region: Annotated[str | None, typer.Option(help="Data centre or region.")] = None,
    description: Annotated[str | None, typer.Option(help="A free description.")] = None,
    name: Annotated[str, NAME] = locations.MAIN,
    tenant: Annotated[str | None, TENANT] = None,
) -> None:
    """Declare or change where a store lives."""
    try:
        with unit_of_work(factory()) as session:
            row, told = locations.set_location(
                session,
                CLI,
                kind,
                provider=provider,
                country=country,
                region=region,
                description=description,
                name=name,
                tenant_id=tenant,
            )
            transfer = row.country not in locations.EEA
    except ApiError as exc:
        fail(f"{exc} {exc.form or ''}")
    note = " (outside the EU/EEA: a transfer)" if transfer else ""
    console.print(f"{kind} {name}: {provider} {row.country}{note}; {told} tenant(s) notified")


@locations_app.command("unset")
def locations_unset(
    kind: Annotated[str, typer.Argument(help=f"One of: {', '.join(locations.KINDS)}.")],
    name: Annotated[str, NAME] = locations.MAIN,
    tenant: Annotated[str | None, TENANT] = None,
) -> None:
    """Remove a declaration (a tenant's override: the default applies again)."""
    try:
        with unit_of_work(factory()) as session:
            told = locations.unset_location(session, CLI, kind, name=name, tenant_id=tenant)
    except ApiError as exc:
        fail(f"{exc} {exc.form or ''}")
    console.print(f"{kind} {name}: removed; {told} tenant(s) notified")


@locations_app.command("list")
def locations_list() -> None:
    """Every declaration: the defaults, then the tenants' overrides."""
    table = Table("scope", "kind", "name", "provider", "country", "region", "transfer", "description")
    with unit_of_work(factory()) as session:
        for r in locations.declared(session):
            transfer = "yes" if r.country not in locations.EEA else ""
            table.add_row(
                r.scope, r.kind, r.name, r.provider, r.country, r.region or "", transfer, r.description or ""
            )
    console.print(table)


@locations_app.command("check")
def locations_check() -> None:
    """Check the declarations against the configured stores. Exit code 1 on an error (a store
    declared that is not configured: hovor serve would not start); warnings do not fail it."""
    try:
        settings = get_settings()
        with unit_of_work(factory()) as session:
            errors, warnings = configured.findings(session, settings)
    except ValidationError as exc:
        fail(f"the configuration cannot be read: {exc.error_count()} error(s)")
    for warning in warnings:
        err.print(f"[yellow]warning:[/yellow] {warning}")
    for error in errors:
        err.print(f"[red]error:[/red] {error}")
    if errors:
        raise typer.Exit(1)
    console.print(f"data locations agree with the configuration ({len(warnings)} warning(s))")
