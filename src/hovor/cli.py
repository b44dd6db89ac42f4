"""The ``hovor`` command: serve, migrate, and administer tenants and users."""

from __future__ import annotations

import ipaddress
import secrets
import sys
from functools import partial
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hovor.audit import log as audit
from hovor.core.config import get_settings
from hovor.core.db import make_engine, make_session_factory, unit_of_work, utcnow

app = typer.Typer(
    help="hovor: contact-centre data platform with GDPR built in.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
tenant_app = typer.Typer(help="Tenants (one contact centre each).", no_args_is_help=True)
user_app = typer.Typer(help="Users of a tenant.", no_args_is_help=True)
operator_app = typer.Typer(help="Platform-operator staff accounts.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(tenant_app, name="tenant")
app.add_typer(user_app, name="user")
app.add_typer(operator_app, name="operator")
privacy_app = typer.Typer(help="The personal-data registry and privacy operations.", no_args_is_help=True)
files_app = typer.Typer(help="The encrypted blob store.", no_args_is_help=True)
app.add_typer(privacy_app, name="privacy")
app.add_typer(files_app, name="files")

audit_app = typer.Typer(help="The audit log: verify, export, signed checkpoints.", no_args_is_help=True)
checkpoints_app = typer.Typer(help="Signed checkpoints of the audit chains.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
audit_app.add_typer(checkpoints_app, name="checkpoints")

# Changes made from this command line are the platform operator's, recorded as such.
CLI = audit.Actor("system", "cli")

console = Console()
err = Console(stderr=True)


def _factory() -> sessionmaker[Session]:
    import hovor.models  # noqa: F401 - every mapper, so references across domains resolve

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return make_session_factory(make_engine(settings.resolved_database_url))


def _snapshot() -> sessionmaker[Session]:
    """Long reads (verify, export) in one consistent snapshot, without taking the write lock."""
    import hovor.models  # noqa: F401

    settings = get_settings()
    return make_session_factory(make_engine(settings.resolved_database_url), writes=False, snapshot=True)


def _fail(message: str) -> NoReturn:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(2)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from alembic import command

    from hovor.migrations import alembic_config

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(settings.resolved_database_url), revision)
    console.print(f"database at revision {revision}")


@db_app.command("current")
def db_current() -> None:
    """Show the applied migration revision."""
    from alembic import command

    from hovor.migrations import alembic_config

    command.current(alembic_config(get_settings().resolved_database_url))


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
    from hovor.core.errors import ApiError
    from hovor.tenancy.service import create_tenant

    try:
        with unit_of_work(_factory()) as session:
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
        _fail(f"{exc} {exc.form or ''}")
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
    from hovor.core.errors import ApiError
    from hovor.tenancy.service import set_contract_retention, set_recordings_ceiling

    if recordings_days is None and contract_days is None:
        _fail("give --recordings-days and/or --contract-days")
    try:
        with unit_of_work(_factory()) as session:
            if recordings_days is not None:
                set_recordings_ceiling(session, tenant_id, recordings_days, CLI)
            if contract_days is not None:
                set_contract_retention(session, tenant_id, contract_days, CLI)
    except ApiError as exc:
        _fail(f"{exc} {exc.form or ''}")
    if recordings_days is not None:
        console.print(f"tenant {tenant_id}: recordings kept at most {recordings_days} days")
    if contract_days is not None:
        console.print(f"tenant {tenant_id}: records kept at most {contract_days} days (contract)")


@tenant_app.command("list")
def tenant_list() -> None:
    """List tenants."""
    from hovor.tenancy.models import Tenant

    table = Table("id", "title", "timezone", "country")
    with unit_of_work(_factory()) as session:
        for t in session.scalars(select(Tenant).order_by(Tenant.id)):
            table.add_row(t.id, t.title, t.timezone, t.country)
    console.print(table)


@user_app.command("create")
def user_create(
    tenant: Annotated[str, typer.Option(help="Tenant id.")],
    name: Annotated[str, typer.Option(help="Login name (unique on the platform).")],
    title: Annotated[str, typer.Option(help="Display name.")],
    role: Annotated[str, typer.Option(help="admin, supervisor, operator, dpo, auditor, integration, ...")],
    email: str | None = None,
    profile: str = "all",
    password: Annotated[
        str | None, typer.Option(help="Password; omitted: one is generated and printed once.")
    ] = None,
) -> None:
    """Create a user of a tenant."""
    from hovor.auth.schemas import UserCreate
    from hovor.auth.users import create_user
    from hovor.core.errors import ApiError
    from hovor.demo import system_caller

    generated = password is None
    password = password or secrets.token_urlsafe(12)
    try:
        with unit_of_work(_factory()) as session:
            caller = system_caller(session, tenant)
            create_user(
                session,
                caller,
                UserCreate(
                    name=name, title=title, role=role, profile=profile, email=email, password=password
                ),
            )
            audit.record(session, tenant, "auth.user.create", CLI, "users", name, {"fields": ["role"]})
    except (ApiError, LookupError) as exc:
        _fail(f"{exc} {getattr(exc, 'form', None) or ''}")
    console.print(f"user {name} created")
    if generated:
        console.print(f"password: {password}")


@user_app.command("token")
def user_token(
    name: Annotated[str, typer.Option(help="Login name.")],
    title: Annotated[str | None, typer.Option(help="What the token is for.")] = None,
    days: Annotated[int | None, typer.Option(help="Lifetime in days (default from settings).")] = None,
) -> None:
    """Issue a long-lived API token for a user (an integration, usually). Printed once."""
    from hovor.auth.models import User
    from hovor.auth.service import issue_api_token
    from hovor.core.errors import ApiError

    settings = get_settings()
    try:
        with unit_of_work(_factory()) as session:
            user = session.scalars(select(User).where(User.name == name)).one_or_none()
            if user is None:
                _fail("no such user")
            assert user is not None
            raw, token = issue_api_token(session, settings, user.tenant_id, user.name, title, days)
            details = {"kind": "api", "token": token.hash[:16]}
            audit.record(session, user.tenant_id, "auth.token.create", CLI, "users", user.name, details)
    except ApiError as exc:
        _fail(str(exc))
    console.print(raw)


@operator_app.command("create")
def operator_create(
    name: Annotated[str, typer.Option(help="Staff login.")],
    title: Annotated[str, typer.Option(help="Staff member's name.")],
    email: str | None = None,
    password: str | None = None,
) -> None:
    """Create a platform-operator (processor staff) account."""
    from hovor.auth.models import PlatformOperator
    from hovor.auth.passwords import hash_password

    settings = get_settings()
    generated = password is None
    password = password or secrets.token_urlsafe(12)
    with unit_of_work(_factory()) as session:
        if session.get(PlatformOperator, name) is not None:
            _fail("an operator with this name exists")
        session.add(
            PlatformOperator(
                name=name,
                title=title,
                email=email,
                password_hash=hash_password(password, settings.hash_profile),
            )
        )
        audit.record(session, audit.PLATFORM, "auth.operator.create", CLI, "operators", name)
    console.print(f"operator {name} created")
    if generated:
        console.print(f"password: {password}")


@operator_app.command("totp")
def operator_totp(name: Annotated[str, typer.Argument(help="Staff login.")]) -> None:
    """Set up (or replace) a staff account's second factor; prints the secret to add to an
    authenticator app. Staff sign in over the network only with it."""
    from hovor.auth import platform, totp
    from hovor.core.errors import ApiError

    with unit_of_work(_factory()) as session:
        try:
            secret = platform.set_up_totp(session, get_settings(), name)
        except ApiError as exc:
            _fail(str(exc))
        audit.record(session, audit.PLATFORM, "auth.operator.totp", CLI, "operators", name)
    console.print(f"secret: {secret}")
    console.print(f"uri: {totp.uri(secret, name, 'hovor platform')}")


@user_app.command("reset-totp")
def user_reset_totp(name: Annotated[str, typer.Argument(help="The user's login.")]) -> None:
    """Remove a user's second factor (a lost phone); their sign-ins end and they set it up again at
    the next sign-in."""
    from hovor.auth.models import User
    from hovor.auth.service import reset_second_factor

    with unit_of_work(_factory()) as session:
        user = session.scalars(select(User).where(User.name == name)).one_or_none()
        if user is None:
            _fail("no such user")
        assert user is not None
        reset_second_factor(session, user)
        audit.record(session, user.tenant_id, "auth.totp.reset", CLI, "users", user.name)
    console.print(f"{name}: second factor removed; set up again at the next sign-in")


@privacy_app.command("schema")
def privacy_schema(
    personal_only: Annotated[
        bool, typer.Option("--personal", help="Only columns holding personal data.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
) -> None:
    """Print what every column holds, whose data it is and what erasure does to it."""
    import json

    import hovor.models
    from hovor.core.personal_data import Category, iter_columns
    from hovor.crm.forms import FIELD_CATEGORY

    table = Table(
        "table", "column", "category", "whose", "erasure", "why kept", title="Personal-data registry"
    )
    for table_name, column, cls in iter_columns(hovor.models.Base.metadata):
        if cls is None:
            row = [table_name, column.name, "UNCLASSIFIED", "", "", ""]
        else:
            if personal_only and cls.category is Category.OPERATIONAL:
                continue
            row = [
                table_name,
                column.name,
                cls.category.value,
                cls.owner.value,
                cls.erasure.value,
                cls.reason or "",
            ]
        if as_json:
            keys = ("table", "column", "category", "owner", "erasure", "reason")
            console.print_json(json.dumps(dict(zip(keys, row, strict=True))))
        else:
            table.add_row(*row)
    if not as_json:
        console.print(table)
        custom = Table("custom-field type", "category", title="Custom fields declare their data by type")
        for kind, category in FIELD_CATEGORY.items():
            custom.add_row(kind, category.value)
        console.print(custom)


@files_app.command("reap")
def files_reap() -> None:
    """Finish deleting blobs whose keys are destroyed (object, then row). Safe to run any time."""
    from hovor.files.service import Files

    done = Files(get_settings()).reap(_factory(), limit=10**9)
    console.print(f"{done} blob(s) removed")


@app.command()
def demo(
    contacts: Annotated[int, typer.Option(help="How many contacts to create.")] = 300,
    seed: Annotated[int, typer.Option(help="Random seed, for reproducible data.")] = 42,
) -> None:
    """Seed the demo tenant (once) and print its credentials."""
    from hovor.demo import print_credentials, seed_demo

    settings = get_settings()
    credentials = seed_demo(_factory(), settings, contacts=contacts, seed=seed, console=console)
    print_credentials(credentials, console)


def _tenants_of_log(session: Session, tenant: str | None) -> list[str]:
    from hovor.audit.chain import tenants_with_entries

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
    import json

    from rich.progress import Progress

    from hovor.audit.chain import read_exported, verify_tenant
    from hovor.audit.keys import signing_key

    settings = get_settings()
    exported = []
    if checkpoints is not None:
        try:
            exported = read_exported(checkpoints.read_text().splitlines())
        except (OSError, ValueError) as exc:
            _fail(str(exc))
    trusted = [signing_key(settings).public_key()]
    reports = []
    with unit_of_work(_snapshot()) as session, Progress(console=err, transient=True) as progress:
        names = sorted({*_tenants_of_log(session, tenant), *(c.tenant for c in exported if not tenant)})
        for name in names:
            task = progress.add_task(f"verifying {name}", total=None)
            report = verify_tenant(session, name, trusted, exported, partial(progress.advance, task))
            progress.remove_task(task)
            reports.append(report)
    if as_json:
        console.print_json(json.dumps([r.as_dict() for r in reports]))
    else:
        table = Table("chain", "entries", "head", "checkpoints", "exported", "result")
        for r in reports:
            first = r.first_broken
            verdict = (
                "[green]intact[/green]"
                if first is None
                else f"[red]broken at {first.seq}: {first.reason}[/red]"
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
    if any(not r.ok for r in reports):
        raise typer.Exit(1)


@audit_app.command("checkpoint")
def audit_checkpoint(tenant: Annotated[str | None, typer.Option(help="Only this tenant.")] = None) -> None:
    """Sign a checkpoint of every chain whose head moved since its last checkpoint."""
    from hovor.audit.chain import sign_checkpoints
    from hovor.audit.keys import signing_key

    key = signing_key(get_settings())
    with unit_of_work(_factory()) as session:
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
    import json

    from hovor.audit.chain import export_checkpoints
    from hovor.audit.keys import signing_key

    public = signing_key(get_settings()).public_key()
    with unit_of_work(_factory()) as session:
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
    import json

    from rich.progress import Progress
    from sqlalchemy import func

    from hovor.audit.chain import chain_entries, entry_content
    from hovor.audit.models import AuditEntry

    factory = _snapshot()
    target = sys.stdout if str(out) == "-" else None
    tmp = None if target else out.with_name(out.name + ".partial")
    count = 0
    with unit_of_work(factory) as session:
        names = _tenants_of_log(session, tenant)
        total = session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.tenant_id.in_(names))
        )
        fh = target or open(tmp, "w", encoding="utf-8")  # type: ignore[arg-type]  # noqa: SIM115
        try:
            with Progress(console=err) as progress:
                task = progress.add_task("exporting", total=total)
                for name in names:
                    for e in chain_entries(session, name):
                        row = {**entry_content(e), "prev_hash": e.prev_hash, "hash": e.hash}
                        fh.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
                        count += 1
                        progress.advance(task)
        finally:
            if fh is not sys.stdout:
                fh.close()
    if tmp is not None:
        tmp.replace(out)
    # Reading the log out is itself on the record, in each chain that was exported.
    with unit_of_work(_factory()) as session:
        for name in names:
            audit.record(session, name, "audit.export", CLI, "auditLog", None, {"entries": count})
    err.print(f"{count} entr{'y' if count == 1 else 'ies'} exported")


jobs_app = typer.Typer(help="Jobs: erasures and other long work.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")


def _job_env() -> object:
    import hovor.models  # noqa: F401
    from hovor.audit.keys import signing_key
    from hovor.files.service import Files
    from hovor.jobs.service import Env
    from hovor.privacy import (
        erasure,  # noqa: F401 - registers the erasure job
        retention,  # noqa: F401 - registers the sweep job
    )

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    return Env(settings, make_session_factory(engine), Files(settings), signing_key(settings), engine)


@jobs_app.command("list")
def jobs_list(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's jobs.")] = None,
    state: Annotated[str | None, typer.Option(help="queued | running | done | failed")] = None,
    limit: int = 50,
) -> None:
    """The newest jobs with their state and step."""
    from hovor.jobs.models import Job

    with _factory()() as session:
        stmt = select(Job).order_by(Job.created.desc()).limit(limit)
        if tenant:
            stmt = stmt.where(Job.tenant_id == tenant)
        if state:
            stmt = stmt.where(Job.state == state)
        table = Table("tenant", "job", "kind", "state", "step", "attempts", "created", "finished", "error")
        for job in session.scalars(stmt):
            table.add_row(
                job.tenant_id,
                job.name,
                job.kind,
                job.state,
                job.step or "",
                str(job.attempts),
                audit.stamp(job.created),
                audit.stamp(job.finished) if job.finished else "",
                job.error or "",
            )
    console.print(table)


@jobs_app.command("run")
def jobs_run() -> None:
    """Run every due job now, in this process, and stop."""
    from hovor.jobs.service import Env, run_pending

    env = _job_env()
    assert isinstance(env, Env)
    done = run_pending(env)
    console.print(f"{done} job(s) run")


retention_app = typer.Typer(help="Retention: what is kept how long, and the sweep.", no_args_is_help=True)
app.add_typer(retention_app, name="retention")


def _tenants(session: Session, tenant: str | None) -> list[str]:
    from hovor.tenancy.models import Tenant

    if tenant:
        if session.get(Tenant, tenant) is None:
            _fail(f"no tenant {tenant}")
        return [tenant]
    return list(session.scalars(select(Tenant.id).order_by(Tenant.id)))


@retention_app.command("preview")
def retention_preview(tenant: Annotated[str | None, typer.Option(help="Only this tenant.")] = None) -> None:
    """Per tenant and policy (recordings per queue): how many records the next sweep would remove,
    the oldest and newest."""
    from hovor.privacy import retention

    def when(value: Any) -> str:
        return audit.stamp(value) if value else ""

    with _factory()() as session:
        table = Table("tenant", "policy", "days", "action", "records", "oldest", "newest")
        for tenant_id in _tenants(session, tenant):
            recordings, *others = retention.preview_all(session, tenant_id, get_settings())
            for q in recordings["queues"]:
                table.add_row(
                    tenant_id,
                    f"recordings: {q['queue'] or '(no queue)'}",
                    str(q["days"]) + (" (held)" if q["held"] else ""),
                    "delete",
                    str(q["count"]),
                    when(q["oldest"]),
                    when(q["newest"]),
                )
            for p in others:
                table.add_row(
                    tenant_id,
                    p["policy"],
                    f"{p['days']}" + ("" if p["source"] == "policy" else f" ({p['source']})"),
                    p["action"],
                    str(p["count"]),
                    when(p["oldest"]),
                    when(p["newest"]),
                )
    console.print(table)


@retention_app.command("run")
def retention_run(tenant: Annotated[str | None, typer.Option(help="Only this tenant.")] = None) -> None:
    """Sweep now, in this process, with a progress bar per policy: expired recordings and records
    go, files are shredded, the audit log is pruned; on PostgreSQL the tables are compacted after."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from hovor.audit import prune
    from hovor.jobs.service import Env
    from hovor.privacy import compaction, policies, retention

    env = _job_env()
    assert isinstance(env, Env)
    with env.factory() as session:
        tenants = _tenants(session, tenant)
        due = {t: retention.preview_all(session, t, env.settings) for t in tenants}
    removed: dict[str, int] = {}
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err
    ) as progress:
        for tenant_id in tenants:
            recordings, *others = due[tenant_id]
            task = progress.add_task(f"{tenant_id}: recordings", total=recordings["count"] or None)

            def advance(_session: Session, n: int, task: object = task) -> None:
                progress.advance(task, n)  # type: ignore[arg-type]

            n = retention.sweep(env.factory, env.files, tenant_id, actor=CLI, after_chunk=advance)
            removed["call_recordings"] = removed.get("call_recordings", 0) + n
            with env.factory() as session:
                todo = policies.effective(session, tenant_id, env.settings, utcnow())
            counts = {p["policy"]: p["count"] for p in others}
            for policy in todo:
                task = progress.add_task(f"{tenant_id}: {policy.name}", total=counts.get(policy.name) or None)

                def step(_session: Session, n: int, task: object = task) -> None:
                    progress.advance(task, n)  # type: ignore[arg-type]

                if policy.name == policies.AUDIT_LOG:
                    try:
                        n = prune.prune(
                            env.factory, tenant_id, policy.cutoff, CLI, env.signer, after_chunk=step
                        )
                    except prune.PruneRefused as exc:
                        err.print(f"audit log not pruned: {exc}; run hovor audit verify")
                        n = 0
                else:
                    n = policies.sweep_kind(
                        env.factory,
                        env.files,
                        tenant_id,
                        policy,
                        actor=CLI,
                        chunk=env.settings.retention_chunk,
                        after_chunk=step,
                    )
                removed[policy.name] = removed.get(policy.name, 0) + n
    env.files.reap(env.factory, limit=10**9)
    tables = retention.touched_tables({"policies": removed})
    if tables and env.engine.dialect.name == "postgresql":
        compaction.vacuum(env.engine, tables)
    elif tables:
        compaction.truncate_wal(env.engine)
    for name, n in removed.items():
        if n:
            console.print(f"{name}: {n} removed")
    console.print(f"{sum(removed.values())} record(s) removed in all")


@app.command()
def worker() -> None:
    """Run jobs until stopped (Ctrl-C). Several workers may run at once on PostgreSQL."""
    import signal
    import threading

    from hovor.jobs.service import Env, Worker

    env = _job_env()
    assert isinstance(env, Env)
    runner = Worker(env)
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    runner.start()
    console.print("worker running; Ctrl-C stops it")
    stopped.wait()
    runner.stop()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    behind_proxy: Annotated[
        str | None, typer.Option(help="Comma-separated addresses of the TLS-terminating proxies in front.")
    ] = None,
    cert: Annotated[Path | None, typer.Option(help="TLS certificate (PEM, with its chain).")] = None,
    key: Annotated[Path | None, typer.Option(help="TLS private key (PEM).")] = None,
    http_port: Annotated[
        int | None, typer.Option(help="Also listen in plain HTTP here, redirecting to HTTPS.")
    ] = None,
) -> None:
    """Serve the API (and its OpenAPI page at /docs); over TLS when given a certificate."""
    from hovor.edge import tls

    if (cert is None) != (key is None):
        _fail("give both --cert and --key")
    if cert is None and http_port is not None:
        _fail("--http-port redirects to HTTPS: give --cert and --key as well")
    if cert is None and not _is_loopback(host) and not behind_proxy:
        _fail(
            "refusing to serve plain HTTP on a non-loopback address; give --cert and --key, "
            "or put hovor behind a TLS proxy and pass --behind-proxy ADDRESSES"
        )
    for path in (cert, key):
        if path is not None and not path.is_file():
            _fail(f"no such file: {path}")
    if behind_proxy:
        # The application (its firewall) reads X-Forwarded-For and -Proto from these proxies only,
        # right to left; uvicorn's own reading stays off so that it happens in one place.
        import os

        os.environ["HOVOR_TRUSTED_PROXIES"] = behind_proxy
        get_settings.cache_clear()
    config = tls.HardenedConfig(
        "hovor.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=False,
        log_level="info",
        access_log=False,  # access logs would carry tokens passed as accessToken in URLs
        ssl_certfile=str(cert) if cert else None,
        ssl_keyfile=str(key) if key else None,
    )
    if http_port is not None:
        tls.start_redirect(host, http_port, port)
    tls.serve(config)


firewall_app = typer.Typer(help="The firewall: bans and allow/deny lists.", no_args_is_help=True)
app.add_typer(firewall_app, name="firewall")


def _redis() -> Any:
    settings = get_settings()
    if not settings.firewall_redis_url:
        return None
    import redis

    return redis.Redis.from_url(settings.firewall_redis_url), settings.firewall_redis_prefix


@firewall_app.command("list")
def firewall_list(
    every: Annotated[bool, typer.Option("--all", help="Also bans that ended or were lifted.")] = False,
) -> None:
    """Bans in force (or all), newest first, and the allow and deny lists."""
    from hovor.edge.models import FirewallBan, FirewallRule

    now = utcnow()
    with _factory()() as session:
        stmt = select(FirewallBan).order_by(FirewallBan.created.desc())
        if not every:
            stmt = stmt.where(FirewallBan.until > now, FirewallBan.lifted.is_(None))
        table = Table("client", "reason", "score", "earlier bans", "banned", "until", "lifted", title="Bans")
        for b in session.scalars(stmt.limit(1000)):
            table.add_row(
                b.key,
                b.reason,
                f"{b.score:g}",
                str(b.offences),
                audit.stamp(b.created),
                audit.stamp(b.until),
                f"{audit.stamp(b.lifted)} by {b.lifted_by}" if b.lifted else "",
            )
        console.print(table)
        rules = Table("kind", "network", "tenant", "note", title="Lists")
        for r in session.scalars(select(FirewallRule).order_by(FirewallRule.kind, FirewallRule.network)):
            rules.add_row(r.kind, r.network, r.tenant_id or "(platform)", r.note or "")
        console.print(rules)


@firewall_app.command("unban")
def firewall_unban(
    address: Annotated[str, typer.Argument(help="The client's address (IPv6: any in its /64).")],
) -> None:
    """Lift a ban now (audited)."""
    from hovor.audit.keys import Pseudonyms
    from hovor.edge.firewall import client_key
    from hovor.edge.store import unban

    key = client_key(address)
    if key is None:
        _fail(f"not an IP address: {address}")
    lifted = unban(_factory(), Pseudonyms(get_settings().secret_key), key, "cli", CLI, _redis())
    console.print(f"{key}: {lifted} ban(s) lifted" if lifted else f"{key} was not banned")


def _list_entry(kind: str, network: str, note: str | None, tenant: str | None) -> None:
    from hovor.edge.store import add_rule

    try:
        with unit_of_work(_factory()) as session:
            rule = add_rule(session, kind, network, note, tenant, "cli", CLI)
    except ValueError:
        _fail(f"not an address or network: {network}")
    console.print(f"{kind} {rule.network}" + (f" for tenant {tenant}" if tenant else " platform-wide"))


@firewall_app.command("allow")
def firewall_allow(
    network: Annotated[str, typer.Argument(help="An address or network never to ban.")],
    note: str | None = None,
    tenant: Annotated[str | None, typer.Option(help="A tenant's entry (its office).")] = None,
) -> None:
    """Allow-list an address or network (never banned)."""
    _list_entry("allow", network, note, tenant)


@firewall_app.command("deny")
def firewall_deny(
    network: Annotated[str, typer.Argument(help="An address or network always refused.")],
    note: str | None = None,
) -> None:
    """Deny-list an address or network (always refused)."""
    _list_entry("deny", network, note, None)


@firewall_app.command("unlist")
def firewall_unlist(network: Annotated[str, typer.Argument(help="The listed network.")]) -> None:
    """Remove an allow- or deny-list entry."""
    from hovor.edge.models import FirewallRule
    from hovor.edge.store import parse_network, remove_rule

    try:
        net = parse_network(network)
    except ValueError:
        _fail(f"not an address or network: {network}")
    with unit_of_work(_factory()) as session:
        rows = list(session.scalars(select(FirewallRule).where(FirewallRule.network == net)))
        for r in rows:
            remove_rule(session, r, CLI)
    console.print(f"{len(rows)} entr{'y' if len(rows) == 1 else 'ies'} removed")


tls_app = typer.Typer(help="TLS certificates.", no_args_is_help=True)
app.add_typer(tls_app, name="tls")


@tls_app.command("self-signed")
def tls_self_signed(
    cert: Annotated[Path, typer.Option(help="Where to write the certificate.")] = Path("var/tls/cert.pem"),
    key: Annotated[Path, typer.Option(help="Where to write the private key (mode 0600).")] = Path(
        "var/tls/key.pem"
    ),
    host: Annotated[
        list[str] | None, typer.Option(help="A name or address the certificate is for (repeatable).")
    ] = None,
    days: int = 30,
) -> None:
    """A self-signed certificate for development (ECDSA P-256)."""
    from hovor.edge import tls

    hosts = host or ["localhost", "127.0.0.1", "::1"]
    tls.self_signed(cert, key, hosts, days)
    console.print(f"certificate {cert} and key {key} for {', '.join(hosts)}, valid {days} days")


def main() -> None:  # pragma: no cover
    sys.exit(app())
