"""``hovor backup``: backups to the declared destinations, the restore ledger, restores and drills."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, TaskID
from rich.table import Table

from hovor.audit.keys import signing_key
from hovor.backup import destinations as places
from hovor.backup import ledger, postgres, service
from hovor.backup import pgbackrest as pgbr
from hovor.cli.common import console, factory, fail, progress
from hovor.core.config import Settings, get_settings
from hovor.files import crypto
from hovor.files.service import Files

backup_app = typer.Typer(help="Backups, the restore ledger, restores and drills.", no_args_is_help=True)


def _declared() -> list[places.Destination]:
    try:
        found = places.declared(get_settings())
    except ValueError as exc:
        fail(str(exc))
    if not found:
        fail("no backup destination is declared (HOVOR_BACKUP_DESTINATIONS)")
    return found


def _one(name: str | None) -> places.Destination:
    found = _declared()
    if name is None:
        return found[0]
    for destination in found:
        if destination.name == name:
            return destination
    fail(f"no backup destination named {name!r}")


def _bars(bars: Progress) -> Callable[[str, int, int], None]:
    tasks: dict[str, TaskID] = {}

    def report(what: str, done: int, total: int) -> None:
        if what not in tasks:
            tasks[what] = bars.add_task(what, total=total)
        bars.update(tasks[what], completed=done, total=total)

    return report


def _postgres(settings: Settings) -> bool:
    return settings.resolved_database_url.startswith("postgresql")


@backup_app.command("setup")
def backup_setup() -> None:
    """PostgreSQL: write pgBackRest's configuration (one repository per destination), create the
    stanza in each, and print what PostgreSQL's configuration needs for WAL archiving."""
    settings = get_settings()
    if not _postgres(settings):
        fail("`hovor backup setup` is for PostgreSQL; SQLite needs none")
    try:
        path = postgres.setup(settings, factory(), _declared(), Files(settings).master)
    except (pgbr.PgBackRestError, service.BackupError) as exc:
        fail(str(exc))
    console.print(f"pgBackRest configuration written to {path}; stanza {settings.pgbackrest_stanza} ready")
    console.print("PostgreSQL needs (postgresql.conf, then a restart):")
    console.print(
        f"  archive_mode = on\n  wal_level = replica\n  archive_command = '{pgbr.archive_command(settings)}'"
    )


@backup_app.command("run")
def backup_run() -> None:
    """Take a backup to every destination, then drop the backups the retention no longer keeps."""
    settings = get_settings()
    destinations = _declared()
    sessions = factory()
    take = postgres.take if _postgres(settings) else service.take
    with service.backup_lock(settings.data_dir, "backup") as mine:
        if not mine:
            fail("a backup or drill is running on this machine already")
        try:
            with progress(counted=True) as bars:
                manifest = take(settings, sessions, Files(settings), destinations, _bars(bars))
        except service.BackupError as exc:
            fail(str(exc))
    dropped = service.prune(settings, sessions, destinations)
    console.print(f"backup {manifest['id']} written to {', '.join(d.name for d in destinations)}")
    if dropped:
        console.print(f"dropped {len(dropped)} backup(s) the retention no longer keeps")


@backup_app.command("ship")
def backup_ship() -> None:
    """Ship the restore ledger's new entries to every destination now."""
    settings = get_settings()
    with service.backup_lock(settings.data_dir, "ledger") as mine:
        if not mine:
            fail("the ledger is being shipped on this machine already")
        n = ledger.ship(factory(), settings.data_dir, _declared())
    console.print(f"{n} ledger entr{'y' if n == 1 else 'ies'} shipped")


@backup_app.command("list")
def backup_list(destination: Annotated[str | None, typer.Option(help="A destination's name")] = None) -> None:
    """The complete backups a destination holds, newest first."""
    where = _one(destination)
    table = Table("id", "started", "size", "blobs", "revision")
    for manifest in service.listed(where):
        table.add_row(
            manifest["id"],
            manifest["started"],
            str(manifest["size"]),
            str(manifest["blobs"]),
            manifest["revision"],
        )
    console.print(table)


def _master() -> bytes:
    """The master key the backups were made with: put its copy in place before restoring."""
    settings = get_settings()
    try:
        return crypto.load_master_key(settings.resolved_master_key_file, create=False)
    except (FileNotFoundError, ValueError) as exc:
        fail(f"{exc}: a restore needs the master key the backup was made with (HOVOR_MASTER_KEY_FILE)")


@backup_app.command("restore")
def backup_restore(
    source: Annotated[str | None, typer.Option("--from", help="The destination to restore from")] = None,
    backup: Annotated[str | None, typer.Option(help="A backup's id (default: the newest)")] = None,
    without_ledger: Annotated[
        str | None, typer.Option(help="Restore although the destination holds no ledger, for this reason")
    ] = None,
    to_time: Annotated[
        str | None,
        typer.Option("--time", help="PostgreSQL: restore to this moment (ISO 8601 with its offset)"),
    ] = None,
) -> None:
    """Restore into this data directory (which must hold no database), replaying the ledger. On
    PostgreSQL into the stopped cluster (HOVOR_PGBACKREST_PG_PATH): to the end of the archive, to
    --backup, or to --time."""
    settings = get_settings()
    if _postgres(settings):
        target = _moment(to_time, "--time") if to_time else None
        try:
            with progress(counted=True) as bars:
                done = postgres.restore(
                    settings,
                    _one(source),
                    _declared(),
                    _master(),
                    backup_id=backup,
                    target=target,
                    without_ledger=without_ledger,
                    progress=_bars(bars),
                )
        except service.BackupError as exc:
            fail(str(exc))
        console.print_json(json.dumps(done))
        return
    if to_time:
        fail("--time is for PostgreSQL (its WAL archive); a SQLite backup restores as it was taken")
    try:
        with progress(counted=True) as bars:
            done = service.restore(
                settings,
                _one(source),
                _master(),
                backup_id=backup,
                without_ledger=without_ledger,
                progress=_bars(bars),
            )
    except service.BackupError as exc:
        fail(str(exc))
    console.print_json(json.dumps(done))


def _moment(value: str, option: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        fail(f"{option} is an ISO 8601 time with its offset")
    if moment.tzinfo is None:
        fail(f"{option} needs its offset (e.g. +00:00)")
    return moment


@backup_app.command("replay")
def backup_replay(
    since: Annotated[str, typer.Option(help="The restored backup's time (ISO 8601, with its offset)")],
    source: Annotated[
        str | None, typer.Option("--from", help="The destination whose ledger to replay")
    ] = None,
    without_ledger: Annotated[
        str | None, typer.Option(help="Go on although the destination holds no ledger, for this reason")
    ] = None,
) -> None:
    """Replay the restore ledger into a database restored by another tool (pgBackRest), or finish
    a restore whose replay stopped; the data directory is unmarked once every entry replays."""
    moment = _moment(since, "--since")
    settings = get_settings()
    try:
        if _postgres(settings) and (settings.data_dir / service.MARKER).exists():
            # The rest of a PostgreSQL restore: blobs back, ledger, rewrite, old WAL, audit.
            where = _one(source)
            entries = postgres.ledger_since(where, moment, without_ledger)
            with progress(counted=True) as bars:
                counts, _, _ = postgres.finish(
                    settings, where, f"since {moment.isoformat()}", entries, without_ledger, _bars(bars)
                )
        else:
            counts = service.replay_into(settings, _one(source), moment, without_ledger)
    except service.BackupError as exc:
        fail(str(exc))
    console.print_json(json.dumps(counts))


@backup_app.command("verify")
def backup_verify(
    drill: Annotated[
        bool, typer.Option("--drill", help="Restore the newest backup into a scratch directory")
    ] = False,
    source: Annotated[str | None, typer.Option("--from", help="The destination to check")] = None,
    checkpoints: Annotated[
        Path | None,
        typer.Option(
            help="Exported audit checkpoints (JSON Lines) to verify the restored chains against "
            "(default: HOVOR_AUDIT_CHECKPOINTS_FILE)."
        ),
    ] = None,
) -> None:
    """Check that the newest backup is complete; with --drill, restore it, replay the ledger, check
    its integrity and every audit chain against the exported checkpoints, and report the time taken
    (audited)."""
    settings = get_settings()
    where = _one(source)
    backups = service.listed(where)
    if not backups:
        fail(f"no complete backup at {where.name}")
    if not drill:
        console.print(f"newest backup {backups[0]['id']} at {where.name}: complete")
        return
    public = signing_key(settings).public_key()
    try:
        if _postgres(settings):
            result = postgres.drill(settings, factory(), _declared(), where, _master(), public, checkpoints)
        else:
            result = service.drill(settings, factory(), where, _master(), public, checkpoints)
    except service.BackupError as exc:
        fail(str(exc))
    console.print_json(json.dumps(result))
    if result["integrity"] != "ok" or not result["chains_ok"]:
        raise typer.Exit(1)
