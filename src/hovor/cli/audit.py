"""``hovor audit``: verify the audit chains, export them, sign and export checkpoints."""

from __future__ import annotations

import json
import sys
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hovor.audit import log as audit
from hovor.audit.chain import (
    TenantReport,
    chain_entries,
    entry_content,
    export_checkpoints,
    read_exported,
    sign_checkpoints,
    tenants_with_entries,
    verify_tenant,
)
from hovor.audit.keys import signing_key
from hovor.audit.models import AuditEntry
from hovor.cli.common import CLI, console, err, factory, fail, progress, snapshot
from hovor.core.config import get_settings
from hovor.core.db import unit_of_work

audit_app = typer.Typer(help="The audit log: verify, export, signed checkpoints.", no_args_is_help=True)
checkpoints_app = typer.Typer(help="Signed checkpoints of the audit chains.", no_args_is_help=True)
audit_app.add_typer(checkpoints_app, name="checkpoints")


def _tenants_of_log(session: Session, tenant: str | None) -> list[str]:
    return [tenant] if tenant else tenants_with_entries(session)


@audit_app.command("verify")
def audit_verify(
    tenant: Annotated[str | None, typer.Option(help="One tenant's chain (default: every chain).")] = None,
    checkpoints: Annotated[
        Path | None,
        typer.Option(help="Checkpoints exported earlier (JSON Lines): also detects truncation and rewrites."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Recompute every chain, check every checkpoint signature; exit 1 at the first broken entry."""
    settings = get_settings()
    exported = []
    if checkpoints is not None:
        try:
            exported = read_exported(checkpoints.read_text().splitlines())
        except (OSError, ValueError) as exc:
            fail(str(exc))
    trusted = [signing_key(settings).public_key()]
    reports = []
    with unit_of_work(snapshot()) as session, progress(transient=True) as bars:
        names = sorted({*_tenants_of_log(session, tenant), *(c.tenant for c in exported if not tenant)})
        for name in names:
            task = bars.add_task(f"verifying {name}", total=None)
            report = verify_tenant(session, name, trusted, exported, partial(bars.advance, task))
            bars.remove_task(task)
            reports.append(report)
    if as_json:
        console.print_json(json.dumps([r.as_dict() for r in reports]))
    else:
        _print_reports(reports)
    if any(not r.ok for r in reports):
        raise typer.Exit(1)


def _print_reports(reports: list[TenantReport]) -> None:
    table = Table("chain", "entries", "head", "checkpoints", "exported", "result")
    for r in reports:
        first = r.first_broken
        verdict = (
            "[green]intact[/green]" if first is None else f"[red]broken at {first.seq}: {first.reason}[/red]"
        )
        table.add_row(
            r.tenant,
            str(r.entries),
            str(r.head_seq),
            str(r.checkpoints),
            str(r.exported_checkpoints),
            verdict,
        )
    console.print(table)


@audit_app.command("checkpoint")
def audit_checkpoint(tenant: Annotated[str | None, typer.Option(help="Only this tenant.")] = None) -> None:
    """Sign a checkpoint of every chain whose head moved since its last checkpoint."""
    key = signing_key(get_settings())
    with unit_of_work(factory()) as session:
        made = sign_checkpoints(session, key, tenant)
        for cp in made:
            console.print(f"{cp.tenant_id}: checkpoint at {cp.seq}")
    console.print(f"{len(made)} checkpoint(s) signed")


@checkpoints_app.command("export")
def audit_checkpoints_export(
    out: Annotated[Path, typer.Option("--out", help="File to write (JSON Lines); '-' for standard output.")],
    tenant: Annotated[str | None, typer.Option(help="Only this tenant.")] = None,
) -> None:
    """Write the signed checkpoints out, to be kept where the database's administrators cannot reach."""
    public = signing_key(get_settings()).public_key()
    with unit_of_work(factory()) as session:
        lines = [json.dumps(cp, sort_keys=True) for cp in export_checkpoints(session, public, tenant)]
    _write_lines(out, lines)
    err.print(f"{len(lines)} checkpoint(s) exported")


def _write_lines(out: Path, lines: list[str]) -> None:
    if str(out) == "-":
        for line in lines:
            sys.stdout.write(line + "\n")
        return
    tmp = out.with_name(out.name + ".partial")
    tmp.write_text("".join(line + "\n" for line in lines))
    tmp.replace(out)  # whole or not at all


@audit_app.command("export")
def audit_export(
    out: Annotated[Path, typer.Option("--out", help="File to write (JSON Lines); '-' for standard output.")],
    tenant: Annotated[str | None, typer.Option(help="One tenant's chain (default: every chain).")] = None,
) -> None:
    """Export audit entries as JSON Lines, oldest first, with a progress bar."""
    target = sys.stdout if str(out) == "-" else None
    tmp = None if target else out.with_name(out.name + ".partial")
    count = 0
    with unit_of_work(snapshot()) as session:
        names = _tenants_of_log(session, tenant)
        total = session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.tenant_id.in_(names))
        )
        fh = target or open(tmp, "w", encoding="utf-8")  # type: ignore[arg-type]  # noqa: SIM115
        try:
            with progress() as bars:
                task = bars.add_task("exporting", total=total)
                for name in names:
                    for e in chain_entries(session, name):
                        row = {**entry_content(e), "prev_hash": e.prev_hash, "hash": e.hash}
                        fh.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
                        count += 1
                        bars.advance(task)
        finally:
            if fh is not sys.stdout:
                fh.close()
    if tmp is not None:
        tmp.replace(out)
    # Reading the log out is itself on the record, in each chain that was exported.
    with unit_of_work(factory()) as session:
        for name in names:
            audit.record(session, name, "audit.export", CLI, "auditLog", None, {"entries": count})
    err.print(f"{count} entr{'y' if count == 1 else 'ies'} exported")
