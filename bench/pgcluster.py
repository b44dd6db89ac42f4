"""A PostgreSQL cluster of the benchmarks' own, which pgBackRest can back up (WAL archiving on).

    python -m bench.pgcluster create --dir /tmp/pgbench --port 55440   # initdb, start
    python -m bench.pgcluster archive --dir /tmp/pgbench                # archive through pgBackRest
    python -m bench.pgcluster env --dir /tmp/pgbench                    # the HOVOR_* for bench.run
    python -m bench.pgcluster stop --dir /tmp/pgbench

The machine's own PostgreSQL is left as it is (archiving needs a restart and its own settings).
Runs the server as ``postgres`` (hovor's benchmarks run as root on the project's machine).
``create`` archives nothing (``archive_command = 'true'``: generating the medium size writes
gigabytes of WAL that no backup needs); ``archive`` points archiving at pgBackRest before a backup.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
from pathlib import Path

import psycopg


def _bin() -> Path:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    raise SystemExit("the PostgreSQL server's programs are not installed")


def _as_postgres(*argv: str) -> None:
    subprocess.run(["runuser", "-u", "postgres", "--", *argv], check=True)


def _port(root: Path) -> int:
    return int(json.loads((root / "cluster.json").read_text())["port"])


def env(root: Path) -> dict[str, str]:
    port = _port(root)
    return {
        "HOVOR_PGBACKREST_PG_PATH": str(root / "data"),
        "HOVOR_PGBACKREST_USER": "postgres",
        "HOVOR_PGBACKREST_SOCKET": str(root / "sock"),
        "HOVOR_PGBACKREST_CONFIG": str(root / "pgbackrest" / "pgbackrest.conf"),
        "url": f"postgresql+psycopg://postgres@127.0.0.1:{port}/hovor_bench",
    }


def create(root: Path, port: int) -> None:
    root.mkdir(parents=True)
    root.chmod(0o755)
    for folder in ("data", "sock"):
        (root / folder).mkdir()
        shutil.chown(root / folder, "postgres", "postgres")
    _as_postgres(str(_bin() / "initdb"), "-D", str(root / "data"), "-A", "trust", "-U", "postgres")
    with (root / "data" / "postgresql.conf").open("a") as conf:
        conf.write(
            f"port = {port}\nunix_socket_directories = '{root / 'sock'}'\nlisten_addresses = '127.0.0.1'\n"
            "wal_level = replica\narchive_mode = on\narchive_command = 'true'\nmax_wal_size = 4GB\n"
            "shared_buffers = 512MB\n"
        )
    (root / "cluster.json").write_text(json.dumps({"port": port}))
    start(root)
    with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres", autocommit=True) as c:
        c.execute("CREATE DATABASE hovor_bench")


def start(root: Path) -> None:
    data = str(root / "data")
    _as_postgres(str(_bin() / "pg_ctl"), "-D", data, "-l", str(root / "sock" / "log"), "-w", "start")


def stop(root: Path) -> None:
    _as_postgres(str(_bin() / "pg_ctl"), "-D", str(root / "data"), "-m", "fast", "-w", "stop")


def archive(root: Path) -> None:
    from hovor.backup.pgbackrest import archive_command
    from hovor.core.config import Settings

    command = archive_command(Settings(pgbackrest_config=root / "pgbackrest" / "pgbackrest.conf"))
    dsn = f"host=127.0.0.1 port={_port(root)} user=postgres dbname=postgres"
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute(f"ALTER SYSTEM SET archive_command = '{command}'")
        c.execute("SELECT pg_reload_conf()")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("action", choices=["create", "start", "stop", "archive", "env"])
    parser.add_argument("--dir", required=True, type=Path)
    parser.add_argument("--port", type=int, default=55440)
    args = parser.parse_args()
    if args.action == "create":
        create(args.dir, args.port)
    elif args.action == "start":
        start(args.dir)
    elif args.action == "stop":
        stop(args.dir)
    elif args.action == "archive":
        archive(args.dir)
    else:
        print(json.dumps(env(args.dir)))


if __name__ == "__main__":
    main()
