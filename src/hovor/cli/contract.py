"""``hovor tenant export|received|certificate|package``: a tenant's contract end from the server.

The purge is approved over the platform API only (``POST /api/v6/platform/contractEnds/{tenant}/
purge.json``): there a second operator is signed in with a second factor, which a shell is not.
"""

from __future__ import annotations

import secrets
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import orjson
import pyrage
import typer

from hovor.audit import log as audit
from hovor.auth.models import PlatformOperator
from hovor.cli.common import console, err, factory, fail, job_env, progress
from hovor.core.db import unit_of_work
from hovor.core.errors import ApiError
from hovor.jobs.models import Job
from hovor.jobs.service import run_pending
from hovor.privacy.contract import contents, package
from hovor.privacy.contract import service as contract
from hovor.privacy.contract.models import ContractEnd
from hovor.privacy.contract.signing import verify
from hovor.privacy.contract.verify import check_package

certificate_app = typer.Typer(help="Deletion certificates of purged tenants.", no_args_is_help=True)
package_app = typer.Typer(help="Contract-end packages.", no_args_is_help=True)


def _identity(path: Path) -> Any:
    try:
        lines = [ln.strip() for ln in path.read_text().splitlines() if ln.startswith("AGE-SECRET-KEY-")]
    except OSError:
        fail("the identity file cannot be read")
    if not lines:
        fail("no AGE-SECRET-KEY line in the identity file")
    return pyrage.x25519.Identity.from_str(lines[0])


def _actor(operator: str) -> audit.Actor:
    return audit.Actor("staff", operator)


def _operator(session: Any, name: str) -> str:
    if session.get(PlatformOperator, name) is None:
        fail(f"no platform operator {name!r} (hovor operator create makes one)")
    return name


def tenant_export(
    tenant_id: Annotated[str, typer.Argument(help="The tenant whose contract ends.")],
    recipient: Annotated[str, typer.Option(help="The controller's age public key (age1…).")],
    to: Annotated[str, typer.Option("--to", help="Where to write the package: a path or s3://bucket/key.")],
    operator: Annotated[str, typer.Option(help="The platform operator starting it (on the record).")],
    wait: Annotated[bool, typer.Option(help="Run the export here and now, with a progress bar.")] = True,
) -> None:
    """Export every record, file and the audit log of a tenant, encrypted to the controller's key."""
    try:
        with unit_of_work(factory()) as session:
            end = contract.start_export(
                session, tenant_id, recipient, to, _operator(session, operator), _actor(operator)
            )
            job = end.export_job
    except ApiError as exc:
        fail(f"{exc} {exc.form or ''}")
    if not wait:
        console.print(f"export job {job} queued")
        return
    env = job_env()
    worker = threading.Thread(target=run_pending, args=(env,), kwargs={"kinds": [package.KIND]})
    worker.start()
    total = len(contents.resources())
    with progress(counted=True) as bars:
        task = bars.add_task(f"exporting {tenant_id}", total=total)
        while worker.is_alive():
            with env.factory() as session:
                row = session.get(Job, (tenant_id, job))
                done = len((row.progress or {}).get("exported") or {}) if row else 0
            bars.update(task, completed=min(done, total))
            time.sleep(0.2)
        bars.update(task, completed=total)
    worker.join()
    with env.factory() as session:
        row = session.get(Job, (tenant_id, job))
        end_row = session.get(ContractEnd, tenant_id)
        if row is None or row.state != "done" or end_row is None:
            fail(f"the export job {job} did not finish ({row.state if row else 'gone'}); hovor jobs list")
        console.print(f"package written to {end_row.destination}")
        console.print(f"sha256 {end_row.package_sha256}  size {end_row.package_size}")


def tenant_received(
    tenant_id: Annotated[str, typer.Argument(help="The tenant.")],
    operator: Annotated[str, typer.Option(help="The platform operator recording it.")],
) -> None:
    """Record that the controller confirmed it received and could read the package."""
    try:
        with unit_of_work(factory()) as session:
            contract.confirm_receipt(session, tenant_id, _operator(session, operator), _actor(operator))
    except ApiError as exc:
        fail(str(exc))
    console.print(f"tenant {tenant_id}: receipt recorded; a second operator may approve the purge")


@certificate_app.command("show")
def certificate_show(
    tenant_id: Annotated[str, typer.Argument(help="The purged tenant.")],
    out: Annotated[Path | None, typer.Option(help="Write it to this file.")] = None,
) -> None:
    """The signed deletion certificate of a purged tenant (JSON)."""
    with factory()() as session:
        end = session.get(ContractEnd, tenant_id)
        if end is None or end.certificate is None:
            fail("no certificate: the tenant was not purged (yet)")
        text = orjson.dumps(end.certificate, option=orjson.OPT_INDENT_2)
    if out is None:
        console.print(text.decode())
    else:
        out.write_bytes(text)


@certificate_app.command("verify")
def certificate_verify(
    file: Annotated[Path, typer.Argument(help="The certificate (JSON).")],
    key_id: Annotated[
        str | None, typer.Option(help="The platform's published key id, to trust only it.")
    ] = None,
) -> None:
    """Check a deletion certificate's signature. Exit code 1 when it does not verify."""
    try:
        signed = orjson.loads(file.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        fail("not a readable JSON file")
    if not isinstance(signed, dict) or not verify(signed, "certificate", key_id):
        err.print("[red]the certificate does NOT verify[/red]")
        raise typer.Exit(1)
    body = signed["certificate"]
    console.print(f"certificate verifies: tenant {body['tenant']}, {sum(body['rowsDeleted'].values())} rows")


@package_app.command("verify")
def package_verify(
    file: Annotated[Path, typer.Argument(help="The encrypted package.")],
    identity: Annotated[Path, typer.Option(help="The controller's age identity file (AGE-SECRET-KEY-…).")],
    key_id: Annotated[
        str | None, typer.Option(help="The platform's published key id, to trust only it.")
    ] = None,
) -> None:
    """Decrypt a package and check its manifest: the signature and every file's SHA-256."""
    problems = check_package(file, _identity(identity), key_id)
    if problems:
        for problem in problems:
            err.print(f"[red]{problem}[/red]")
        raise typer.Exit(1)
    console.print("package verifies: manifest signed, every file's digest matches")


@package_app.command("serve")
def package_serve(
    file: Annotated[Path, typer.Argument(help="The encrypted package.")],
    identity: Annotated[Path, typer.Option(help="The controller's age identity file (AGE-SECRET-KEY-…).")],
    key_id: Annotated[
        str | None, typer.Option(help="The platform's published key id, to trust only it.")
    ] = None,
    host: Annotated[str, typer.Option(help="A loopback address: the package is served in plain HTTP.")] = (
        "127.0.0.1"
    ),
    port: int = 8765,
    token: Annotated[
        str | None, typer.Option(envvar="HOVOR_PACKAGE_TOKEN", help="The access token (default: a new one).")
    ] = None,
) -> None:
    """Serve a verified package read-only under the v6 routes, for the daktela SDK to read back."""
    from hovor.cli.serve import _is_loopback
    from hovor.edge import tls  # deferred: imports uvicorn
    from hovor.privacy.contract.reading import PackageRefused, load
    from hovor.privacy.contract.serving import make_app

    if not _is_loopback(host):
        fail("the package holds personal data and is served in plain HTTP: use a loopback address")
    try:
        package = load(file, _identity(identity), key_id)
    except PackageRefused as exc:
        for problem in exc.problems:
            err.print(f"[red]{problem}[/red]")
        raise typer.Exit(1) from None
    token = token or secrets.token_urlsafe(32)
    counted = ", ".join(f"{ep} {n}" for ep, n in sorted(package.counts.items()) if n)
    console.print(f"package verifies; records: {counted}")
    console.print(f"serving read-only at http://{host}:{port}/api/v6/ with access token {token}")
    config = tls.HardenedConfig(
        make_app(package, token), host=host, port=port, log_level="warning", access_log=False
    )
    tls.serve(config)
