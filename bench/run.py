"""Runs one benchmark scenario and prints one JSON object: hovor's figures, its baseline's, and
the ratio, all measured in the same run.

    python -m bench.run SCENARIO --db URL [--data-dir DIR] [--seconds N]
    python -m bench.run all --db URL

Scenarios: api_get_contact, api_list_activities (bench/lists.py), api_ingest_calls (bench/feeds.py),
resolve_phone, audit_overhead, q_search_contacts (bench/search.py), erase_subject, resolve_subject,
retention_sweep (bench/privacy.py), export_subject (bench/exports.py), backup_medium (backup and
restore, bench/backups.py), console_contact_card (bench/console.py).
HTTP load comes from wrk (Debian package ``wrk``), a separate C process, so the client does not
compete with the server for the interpreter.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import re
import secrets
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import make_url

from bench.common import data_dir_for, emit, env_for, load_meta, stats_ms

WORKERS = 2
BATCH = 100  # calls per batch.json request in api_ingest_calls
SCENARIOS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {}


def scenario(
    fn: Callable[[argparse.Namespace], dict[str, Any]],
) -> Callable[[argparse.Namespace], dict[str, Any]]:
    SCENARIOS[fn.__name__] = fn
    return fn


# --- plumbing --------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


@contextmanager
def server(cmd: list[str], env: dict[str, str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None:
                    raise RuntimeError(
                        (proc.stderr.read() if proc.stderr else b"").decode()[-3000:]
                    ) from None
                time.sleep(0.2)
        time.sleep(1.0)  # let every worker finish starting
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def hovor_server(args: argparse.Namespace, port: int, workers: int = WORKERS) -> Any:
    cmd = [sys.executable, "-m", "hovor", "serve", "--port", str(port), "--workers", str(workers)]
    return server(cmd, env_for(args.db, args.data_dir), port)


def bare_server(args: argparse.Namespace, port: int) -> Any:
    uvicorn = str(Path(sys.executable).with_name("uvicorn"))
    cmd = [
        uvicorn,
        "bench.bare:app",
        "--port",
        str(port),
        "--workers",
        str(WORKERS),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    return server(cmd, {**os.environ, "BENCH_DB_URL": args.db}, port)


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, script: str, seconds: int, connections: int) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(script)
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", fh.name, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(fh.name)
    result: dict[str, Any] = {"connections": connections, "seconds": seconds}
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    result["rps"] = float(match.group(1)) if match else 0.0
    for pct, value, unit in re.findall(r"^\s+(50|90|99)%\s+([\d.]+)(us|ms|s)", out, re.M):
        result[f"p{pct}_ms"] = round(float(value) * _UNITS[unit], 3)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["non_2xx"] = int(errors.group(1)) if errors else 0
    sockets = re.search(r"Socket errors: (.*)", out)
    if sockets:
        result["socket_errors"] = sockets.group(1)
    total = re.search(r"(\d+) requests in", out)
    result["requests"] = int(total.group(1)) if total else 0
    return result


class Raw:
    """The plain driver, for baselines: no SQLAlchemy, no hovor."""

    def __init__(self, url: str) -> None:
        if url.startswith("sqlite"):
            self.conn: Any = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
            self.p = "?"
        else:
            import psycopg

            self.conn = psycopg.connect(
                url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
            )
            self.p = "%s"

    def q(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        return list(self.conn.execute(sql.replace("?", self.p), params).fetchall())

    def x(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        self.conn.execute(sql.replace("?", self.p), params)


def timed(fn: Callable[[], Any], n: int) -> list[float]:
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return samples


def ratio(a: float, b: float) -> float:
    return round(a / b, 2) if b else 0.0


# --- scenarios -------------------------------------------------------------------------------------
def contact_reads(meta: dict[str, Any]) -> tuple[Path, str]:
    """A wrk script reading the generated contacts one after another (and the file it reads their
    keys from; the caller removes it)."""
    names = Path(tempfile.mkstemp(suffix=".txt")[1])
    names.write_text("\n".join(meta["contacts"]))
    script = f"""
local names = {{}}
for line in io.lines("{names}") do names[#names + 1] = line end
local i = math.random(#names)
request = function()
  i = i % #names + 1
  local path = "/api/v6/contacts/" .. names[i] .. ".json"
  return wrk.format("GET", path, {{["X-AUTH-TOKEN"] = "{meta["token"]}"}})
end
"""
    return names, script


@scenario
def api_get_contact(args: argparse.Namespace) -> dict[str, Any]:
    """Single contact reads over HTTP by many concurrent clients; hovor with 2 workers against the
    bare endpoint (same framework and server, plain driver) and the row by primary key in SQL."""
    meta = load_meta(args.data_dir)
    names, script = contact_reads(meta)
    port = free_port()
    with hovor_server(args, port) as proc:
        wrk(f"http://127.0.0.1:{port}", script, 3, 32)  # warm up
        hovor = wrk(f"http://127.0.0.1:{port}", script, args.seconds, 64)
        workers = children(proc.pid)
        hovor["worker_rss_mb"] = max((rss_mb(w) for w in workers), default=rss_mb(proc.pid))
    port = free_port()
    with bare_server(args, port):
        wrk(f"http://127.0.0.1:{port}", script, 3, 32)
        bare = wrk(f"http://127.0.0.1:{port}", script, args.seconds, 64)
    names.unlink()
    raw = Raw(args.db)
    sql = "SELECT * FROM crm_contacts WHERE tenant_id = ? AND name = ?"
    picks = iter(random.Random(1).choices(meta["contacts"], k=20000))
    samples = timed(lambda: raw.q(sql, ("bench", next(picks))), 20000)
    baseline = {**stats_ms(samples), "ops_per_s": round(len(samples) / sum(samples))}
    return {
        "hovor": hovor,
        "bare_endpoint": bare,
        "sql_by_primary_key": baseline,
        "ratio_hovor_to_bare_rps": ratio(hovor["rps"], bare["rps"]),
        "targets": {
            "rps>=2000": hovor["rps"] >= 2000,
            "ratio>=0.40": hovor["rps"] >= 0.4 * bare["rps"],
            "rss<=200MB": hovor["worker_rss_mb"] <= 200,
            "no_errors": hovor["non_2xx"] == 0,
        },
    }


@scenario
def resolve_phone(args: argparse.Namespace) -> dict[str, Any]:
    """Every record carrying one phone number, through the resolver service; baseline: the same
    indexed lookups written by hand in SQL."""
    import hovor.models
    from hovor.auth.service import system_caller
    from hovor.core.db import make_engine, make_session_factory
    from hovor.privacy.resolver import resolve

    meta = load_meta(args.data_dir)
    phones = random.Random(5).choices(meta["phones"], k=args.n)
    factory = make_session_factory(make_engine(args.db))
    found = 0
    with factory() as session:
        caller = system_caller(session, "bench")
        it = iter(phones)

        def run() -> None:
            nonlocal found
            found += sum(len(v) for v in resolve(session, caller, phone=next(it)).values())

        resolve(session, caller, phone=phones[0])
        samples = timed(run, len(phones))
    raw = Raw(args.db)
    lookups = [
        "SELECT object_type, object_name FROM identifiers"
        " WHERE tenant_id = ? AND kind = 'phone' AND value = ?",
        "SELECT name FROM campaign_records WHERE tenant_id = ? AND number = ?",
        "SELECT name FROM activity_calls WHERE tenant_id = ? AND clid = ?",
        "SELECT name FROM activity_webs WHERE tenant_id = ? AND phone = ?",
        "SELECT name FROM activity_sms WHERE tenant_id = ? AND sender = ?",
    ]
    it2 = iter(phones)

    def base() -> None:
        phone = next(it2)
        for sql in lookups:
            raw.q(sql, ("bench", phone))

    base_samples = timed(base, len(phones))
    hovor = stats_ms(samples)
    sql = stats_ms(base_samples)
    return {
        "hovor": {**hovor, "records_per_lookup": round(found / len(phones), 1)},
        "sql": sql,
        "ratio_p50": ratio(hovor["p50_ms"], sql["p50_ms"]),
        "targets": {"p50<=5ms": hovor["p50_ms"] <= 5},
    }


@scenario
def audit_overhead(args: argparse.Namespace) -> dict[str, Any]:
    """A contact created through the API (in process, the whole route), with its audit entry and
    without it; baseline: the same route with the audit log switched off in this process only.
    Blocks of 50 writes alternate between the two, so drift in the machine affects both alike."""
    from fastapi.testclient import TestClient

    from bench.common import settings_for
    from hovor.app import create_app
    from hovor.audit import log as audit

    meta = load_meta(args.data_dir)
    app = create_app(settings_for(args.db, args.data_dir))
    headers = {"X-AUTH-TOKEN": meta["token"]}
    real = (audit.record, audit.require)

    def switch(on: bool) -> None:
        audit.record, audit.require = real if on else (lambda *a, **k: None, lambda *a, **k: None)  # type: ignore[assignment]

    samples: dict[bool, list[float]] = {True: [], False: []}
    rounds = max(2, args.n // 50)
    with TestClient(app) as client:

        def write() -> None:
            body = {"lastname": f"Bench{secrets.token_hex(3)}", "database": "main"}
            r = client.post("/api/v6/contacts.json", json=body, headers=headers)
            assert r.status_code == 201, r.text

        for on in (True, False):  # warm both paths
            switch(on)
            timed(write, 20)
        for i in range(rounds * 2):
            on = i % 2 == 0
            switch(on)
            samples[on].extend(timed(write, 50))
    switch(True)
    with_audit, without = stats_ms(samples[True]), stats_ms(samples[False])
    r50 = ratio(with_audit["p50_ms"], without["p50_ms"])
    return {
        "hovor": with_audit,
        "without_audit": without,
        "ratio_p50": r50,
        "ratio_mean": ratio(with_audit["mean_ms"], without["mean_ms"]),
        "targets": {"ratio<=1.15": r50 <= 1.15},
    }


@scenario
def firewall_overhead(args: argparse.Namespace) -> dict[str, Any]:
    """api_get_contact with the firewall on and off (ABBA runs, the mean of each), and a
    banned client hammering the same URL (a real ban row for 127.0.0.1, answered from memory)."""
    import uuid

    meta = load_meta(args.data_dir)
    names, script = contact_reads(meta)
    runs: dict[str, list[dict[str, Any]]] = {"on": [], "off": []}
    # ABBA order: a database warming up over the runs favours neither.
    for pair in range(2):
        for mode in ("on", "off") if pair == 0 else ("off", "on"):
            port = free_port()
            env = {**env_for(args.db, args.data_dir), "HOVOR_FIREWALL_ENABLED": str(mode == "on").lower()}
            cmd = [sys.executable, "-m", "hovor", "serve", "--port", str(port), "--workers", str(WORKERS)]
            with server(cmd, env, port):
                url = f"http://127.0.0.1:{port}"
                wrk(url, script, 2, 32)
                runs[mode].append(wrk(url, script, args.seconds, 64))
    on = statistics.mean(r["rps"] for r in runs["on"])
    off = statistics.mean(r["rps"] for r in runs["off"])

    raw = Raw(args.db)
    ban = uuid.uuid4().hex
    until = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).replace(tzinfo=None)
    raw.x(
        "INSERT INTO firewall_bans (name, key, reason, score, offences, created, until)"
        " VALUES (?, '127.0.0.1', 'bench', 5, 0, ?, ?)",
        (ban, until - dt.timedelta(hours=1), until),
    )
    try:
        port = free_port()
        cmd = [sys.executable, "-m", "hovor", "serve", "--port", str(port), "--workers", str(WORKERS)]
        # Not allow-listed here: the load generator's address is the banned one.
        with server(cmd, {**env_for(args.db, args.data_dir), "HOVOR_FIREWALL_ALLOW": ""}, port):
            url = f"http://127.0.0.1:{port}"
            wrk(url, script, 2, 32)
            banned = wrk(url, script, args.seconds, 64)
    finally:
        raw.x("DELETE FROM firewall_bans WHERE name = ?", (ban,))
        names.unlink()
    return {
        "firewall_on": {"rps": on, "runs": runs["on"]},
        "firewall_off": {"rps": off, "runs": runs["off"]},
        "cost_of_firewall": round(1 - on / off, 3) if off else 0.0,
        "banned_client": banned,
        "targets": {
            "cost<=5%": on >= 0.95 * off,
            "banned_rps>=8000": banned["rps"] >= 8000,
            "banned_all_403": banned["non_2xx"] == banned["requests"],
        },
    }


def _more_scenarios() -> None:
    """The scenarios kept in modules of their own."""
    from bench import backups, console, exports, feeds, lists, privacy, search

    SCENARIOS["api_ingest_calls"] = feeds.api_ingest_calls
    SCENARIOS["api_list_activities"] = lists.api_list_activities
    SCENARIOS["q_search_contacts"] = search.q_search_contacts
    SCENARIOS["erase_subject"] = privacy.erase_subject
    SCENARIOS["resolve_subject"] = privacy.resolve_subject
    SCENARIOS["retention_sweep"] = privacy.retention_sweep
    SCENARIOS["export_subject"] = exports.export_subject
    SCENARIOS["backup_medium"] = backups.backup_medium  # backup and restore, each with its baseline
    SCENARIOS["console_contact_card"] = console.console_contact_card


_more_scenarios()


def analyze_as_autovacuum_would(url: str) -> list[str]:
    """On a PostgreSQL server whose autovacuum is off (this machine's is), the tables an earlier
    scenario wrote to keep statistics of the size they had before: the audit log analyzed when it
    held one entry says each tenant has one, and reading a chain's head then sorts every entry of
    the tenant (60 ms a transaction after a few runs). A server in use has autovacuum on, which
    analyzes a table once a tenth of it has changed; this does the same before each scenario and
    names the tables it analyzed."""
    if not url.startswith("postgresql"):
        return []
    raw = Raw(url)
    if raw.q("SHOW autovacuum")[0][0] == "on":
        return []
    stale = [
        row[0]
        for row in raw.q(
            "SELECT relname FROM pg_stat_user_tables"
            " WHERE n_mod_since_analyze > 50 + 0.1 * GREATEST(n_live_tup, 0) ORDER BY relname"
        )
    ]
    for table in stale:
        raw.x(f'ANALYZE "{table}"')
    return stale


def warm_sqlite_file(url: str) -> None:
    """Reads a SQLite database's files once, so that hovor (measured first) and the plain SQL
    after it both find them in the OS cache. This machine's kernel reclaims pages left untouched
    for a while (DAMON): a scenario started after a pause read its first pages from disk, and the
    baseline run after it did not."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or not parsed.database:
        return
    path = Path(parsed.database)
    for each in (path, path.with_name(path.name + "-wal")):
        if each.exists():
            with each.open("rb") as fh:
                while fh.read(1 << 24):
                    pass


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("scenario", choices=[*SCENARIOS, "all"])
    parser.add_argument("--db", required=True)
    parser.add_argument("--data-dir")
    parser.add_argument("--seconds", type=int, default=10, help="length of each HTTP load run")
    parser.add_argument("-n", type=int, default=200, help="operations for latency scenarios")
    parser.add_argument("--reps", type=int, default=3, help="subjects erased in erase_subject (each way)")
    parser.add_argument(
        "--sweep-n",
        type=int,
        default=None,
        help="expired recordings in retention_sweep (default: 100,000; 2,000 on the small tenant)",
    )
    args = parser.parse_args(argv)
    args.data_dir = data_dir_for(args.db, args.data_dir)
    meta = load_meta(args.data_dir)
    for name in SCENARIOS if args.scenario == "all" else [args.scenario]:
        started = time.monotonic()
        analyzed = analyze_as_autovacuum_would(args.db)
        warm_sqlite_file(args.db)
        result = SCENARIOS[name](args)
        if analyzed:
            result["analyzed_first"] = analyzed
        emit(
            {
                "scenario": name,
                "size": meta["size"],
                "db": args.db.split("://")[0],
                **result,
                "seconds": round(time.monotonic() - started, 1),
            }
        )


if __name__ == "__main__":
    main()
