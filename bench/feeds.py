"""``api_ingest_calls``: a PBX posting each call as it ends, one per request and a hundred per
``batch.json`` request, against the same inserts in plain SQL, in the same run."""

from __future__ import annotations

import argparse
import datetime as dt
import random
import secrets
from typing import Any

from bench.common import load_meta, stats_ms

WARM_UP_SECONDS = 2


def api_ingest_calls(args: argparse.Namespace) -> dict[str, Any]:
    """Calls created through the API by a PBX-like client; baseline: the same two inserts per call
    (activity and call item) in SQL, one transaction each."""
    from bench.run import BATCH, Raw, children, free_port, hovor_server, ratio, rss_mb, timed, wrk

    meta = load_meta(args.data_dir)
    phones = ", ".join(f'"{p}"' for p in meta["phones"][:500])
    script = f"""
local phones = {{ {phones} }}
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-AUTH-TOKEN"] = "{meta["token"]}"
request = function()
  local body = '{{"queue":"100","direction":"in","clid":"' .. phones[math.random(#phones)] ..
    '","answered":true,"waiting_time":12,"duration":184}}'
  return wrk.format(nil, "/api/v6/activitiesCall.json", nil, body)
end
"""
    batch_script = f"""
local phones = {{ {phones} }}
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-AUTH-TOKEN"] = "{meta["token"]}"
request = function()
  local calls = {{}}
  for i = 1, {BATCH} do
    calls[i] = '{{"queue":"100","direction":"in","clid":"' .. phones[math.random(#phones)] ..
      '","answered":true,"waiting_time":12,"duration":184}}'
  end
  local body = '{{"data":[' .. table.concat(calls, ",") .. ']}}'
  return wrk.format(nil, "/api/v6/activitiesCall/batch.json", nil, body)
end
"""
    port = free_port()
    with hovor_server(args, port) as proc:
        # Two seconds first, not timed: the workers' caches, compiled statements, prepared ones
        # (PostgreSQL) and the file's pages in memory, as after any start.
        wrk(f"http://127.0.0.1:{port}", script, WARM_UP_SECONDS, 16)
        hovor = wrk(f"http://127.0.0.1:{port}", script, args.seconds, 16)
        hovor["worker_rss_mb"] = max((rss_mb(w) for w in children(proc.pid)), default=0.0)
        batched = wrk(f"http://127.0.0.1:{port}", batch_script, args.seconds, 4)
        batched["calls_per_s"] = round(batched["rps"] * BATCH)
        batched["worker_rss_mb"] = max((rss_mb(w) for w in children(proc.pid)), default=0.0)
    raw = Raw(args.db)
    rnd = random.Random(3)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    activity_sql = (
        "INSERT INTO activities (tenant_id, name, type, queue, action, important, time, time_open,"
        " time_close, duration, anonymized, custom_fields, consents, created, created_by)"
        " VALUES (?, ?, 'CALL', '100', 'CLOSE', false, ?, ?, ?, 184, false, '{}', '{}', ?, 'bench-admin')"
    )
    call_sql = (
        "INSERT INTO activity_calls (tenant_id, name, clid, direction, answered, waiting_time, duration)"
        " VALUES (?, ?, ?, 'in', true, 12, 184)"
    )

    def one() -> None:
        name = f"activities_{secrets.token_hex(10)}"  # fresh keys on every run
        raw.x("BEGIN")
        raw.x(activity_sql, ("bench", name, now, now, now, now))
        raw.x(call_sql, ("bench", name, rnd.choice(meta["phones"])))
        raw.x("COMMIT")

    n = 3000
    timed(one, 300)  # likewise not timed
    samples = timed(one, n)
    baseline = {"calls_per_s": round(n / sum(samples)), **stats_ms(samples)}
    return {
        "hovor": {**hovor, "calls_per_s": hovor["rps"]},
        "hovor_batch": {**batched, "batch": BATCH},
        "sql_sequential": baseline,
        "ratio": ratio(hovor["rps"], baseline["calls_per_s"]),
        "ratio_batch": ratio(batched["calls_per_s"], baseline["calls_per_s"]),
        "targets": {
            "calls_per_s>=1000 (one call per request)": hovor["rps"] >= 1000,
            "calls_per_s>=1000 (batch.json)": batched["calls_per_s"] >= 1000,
            "no_errors": hovor["non_2xx"] == 0 and batched["non_2xx"] == 0,
        },
    }
