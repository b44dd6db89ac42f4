"""``hovor tenant``: create tenants, list them, set their retention ceilings."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from hovor.auth.users import create_tenant
from hovor.cli import contract
from hovor.cli.common import CLI, console, factory, fail
from hovor.core.db import unit_of_work
from hovor.core.errors import ApiError
from hovor.tenancy.models import Tenant
from hovor.tenancy.service import set_contract_retention, set_recordings_ceiling

tenant_app = typer.Typer(help="Tenants (one contact centre each).", no_args_is_help=True)
tenant_app.command("export")(contract.tenant_export)
tenant_app.command("received")(contract.tenant_received)
tenant_app.add_typer(contract.certificate_app, name="certificate")
tenant_app.add_typer(contract.package_app, name="package")


@tenant_app.command("create")
def tenant_create(
    tenant_id: Annotated[str, typer.Argument(help="Short id: lower-case letters, digits, dashes.")],
    title: Annotated[str, typer.Option(help="Company name of the controller.")],
    timezone: str = "Europe/Prague",
    country: str = "CZ",
    dpo_name: str | None = None,
    dpo_email: str | None = None,
    recordings_retention_days: Annotated[
        int, typer.Option(help="Ceiling for keeping call recordings, in days (the contract's).")
    ] = 365,
    retention_days: Annotated[
        int | None,
        typer.Option(
            help="The contract's retention for every other kind of record, in days (none: not agreed)."
        ),
    ] = None,
) -> None:
    """Create a tenant with its built-in roles and rights."""
    try:
        with unit_of_work(factory()) as session:
            create_tenant(
                session,
                tenant_id,
                title,
                timezone,
                country,
                dpo_name,
                dpo_email,
                actor=CLI,
                recordings_retention_days=recordings_retention_days,
                retention_days=retention_days,
            )
    except ApiError as exc:
        fail(f"{exc} {exc.form or ''}")
    console.print(f"tenant {tenant_id} created")


@tenant_app.command("retention")
def tenant_retention(
    tenant_id: Annotated[str, typer.Argument(help="The tenant.")],
    recordings_days: Annotated[
        int | None, typer.Option(help="New ceiling for call recordings, in days.")
    ] = None,
    contract_days: Annotated[
        int | None, typer.Option(help="The contract's retention for every other kind of record, in days.")
    ] = None,
) -> None:
    """Change a tenant's retention ceilings (the platform operator's, under the contract)."""
    if recordings_days is None and contract_days is None:
        fail("give --recordings-days and/or --contract-days")
    try:
        with unit_of_work(factory()) as session:
            if recordings_days is not None:
                set_recordings_ceiling(session, tenant_id, recordings_days, CLI)
            if contract_days is not None:
                set_contract_retention(session, tenant_id, contract_days, CLI)
    except ApiError as exc:
        fail(f"{exc} {exc.form or ''}")
    if recordings_days is not None:
        console.print(f"tenant {tenant_id}: recordings kept at most {recordings_days} days")
    if contract_days is not None:
        console.print(f"tenant {tenant_id}: records kept at most {contract_days} days (contract)")


@tenant_app.command("list")
def tenant_list() -> None:
    """List tenants."""
    table = Table("id", "title", "timezone", "country")
    with unit_of_work(factory()) as session:
        for t in session.scalars(select(Tenant).order_by(Tenant.id)):
            table.add_row(t.id, t.title, t.timezone, t.country)
    console.print(table)
