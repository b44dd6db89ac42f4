"""``api_list_activities``: a page of 100 activities of one queue in a 30-day window, newest first,
with its total, one page after another; against the same page in plain SQL (the activities alone,
and with the joins the page shows), in the same run."""

from __future__ import annotations

import argparse
import datetime as dt
import random
import socket
import time
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson

from bench.common import load_meta, stats_ms


def _windows(meta: dict[str, Any], n: int) -> list[tuple[str, dt.datetime, dt.datetime]]:
    rnd = random.Random(7)
    now = dt.datetime.fromisoformat(meta["now"])
    out = []
    for _ in range(n):
        end = now - dt.timedelta(days=rnd.randrange(0, 3 * 365 - 30))
        out.append((rnd.choice(meta["queues"]), end - dt.timedelta(days=30), end))
    return out


def _naive(value: dt.datetime) -> Any:
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def _list_params(queue: str, start: dt.datetime, end: dt.datetime) -> dict[str, str]:
    return {
        "filter[0][field]": "queue",
        "filter[0][operator]": "eq",
        "filter[0][value]": queue,
        "filter[1][field]": "time",
        "filter[1][operator]": "gte",
        "filter[1][value]": start.isoformat(),
        "filter[2][field]": "time",
        "filter[2][operator]": "lt",
        "filter[2][value]": end.isoformat(),
        "sort[0][field]": "time",
        "sort[0][dir]": "desc",
        "take": "100",
    }


class KeepAlive:
    """GETs on one kept-alive HTTP/1.1 connection, with as little work as a client can do: the
    request written out, the answer read to its Content-Length. A page's latency is then the
    server's (httpx's own work on a 93 KB answer added about 0.5 ms to each)."""

    def __init__(self, port: int, token: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.head = f"Host: 127.0.0.1:{port}\r\nX-AUTH-TOKEN: {token}\r\n\r\n"

    def get(self, path: str) -> tuple[int, bytes]:
        self.sock.sendall(f"GET {path} HTTP/1.1\r\n{self.head}".encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(262144)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        lengths = [
            int(line.split(b":", 1)[1]) for line in lines if line.lower().startswith(b"content-length:")
        ]
        if len(lengths) != 1:
            raise ValueError(f"an answer this client cannot read (no single Content-Length): {lines[0]!r}")
        length = lengths[0]
        parts = [body]
        size = len(body)
        while size < length:
            chunk = self.sock.recv(262144)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            parts.append(chunk)
            size += len(chunk)
        if size != length:  # one request at a time: nothing may follow the answer
            raise ValueError(f"{size - length} bytes past the answer's Content-Length")
        return int(lines[0].split()[1]), b"".join(parts)

    def close(self) -> None:
        self.sock.close()


def api_list_activities(args: argparse.Namespace) -> dict[str, Any]:
    """A page of 100 activities of one queue in a 30-day window, newest first, with total."""
    from bench.run import Raw, free_port, hovor_server, ratio, timed

    meta = load_meta(args.data_dir)
    windows = _windows(meta, args.n)
    paths = [f"/api/v6/activities.json?{urlencode(_list_params(*window))}" for window in windows]
    port = free_port()
    samples: list[float] = []
    totals: list[int] = []
    with hovor_server(args, port, workers=1):
        client = KeepAlive(port, meta["token"])
        for path in paths[:10]:
            client.get(path)
        for path in paths:
            t0 = time.perf_counter()
            status, body = client.get(path)
            samples.append(time.perf_counter() - t0)
            assert status == 200, body[:300]
            totals.append(orjson.loads(body)["result"]["total"])
        client.close()
        # The same pages through httpx, as the rounds before 2026-12-05 (afternoon) measured them.
        through_httpx: list[float] = []
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"X-AUTH-TOKEN": meta["token"]}) as c:
            for path in paths:
                t0 = time.perf_counter()
                assert c.get(path).status_code == 200
                through_httpx.append(time.perf_counter() - t0)
    raw = Raw(args.db)
    count_sql = "SELECT count(*) FROM activities WHERE tenant_id = ? AND queue = ? AND time >= ? AND time < ?"
    page_sql = (
        "SELECT * FROM activities WHERE tenant_id = ? AND queue = ? AND time >= ? AND time < ?"
        " ORDER BY time DESC, name ASC LIMIT 100"
    )
    # What the page shows: each activity with its channel item, recording, queue, operator and
    # contact (their titles), in one joined query.
    joined_sql = (
        "SELECT a.*, c.*, r.*, e.*, w.*, s.*, f.*, q.title, u.title, k.title, k.database"
        " FROM activities a"
        " LEFT JOIN activity_calls c ON c.tenant_id = a.tenant_id AND c.name = a.name"
        " LEFT JOIN call_recordings r ON r.tenant_id = c.tenant_id AND r.name = c.name"
        " LEFT JOIN activity_emails e ON e.tenant_id = a.tenant_id AND e.name = a.name"
        " LEFT JOIN activity_webs w ON w.tenant_id = a.tenant_id AND w.name = a.name"
        " LEFT JOIN activity_sms s ON s.tenant_id = a.tenant_id AND s.name = a.name"
        " LEFT JOIN activity_fbm f ON f.tenant_id = a.tenant_id AND f.name = a.name"
        " LEFT JOIN queues q ON q.tenant_id = a.tenant_id AND q.name = a.queue"
        ' LEFT JOIN users u ON u.tenant_id = a.tenant_id AND u.name = a."user"'
        " LEFT JOIN crm_contacts k ON k.tenant_id = a.tenant_id AND k.name = a.contact"
        " WHERE a.tenant_id = ? AND a.queue = ? AND a.time >= ? AND a.time < ?"
        " ORDER BY a.time DESC, a.name ASC LIMIT 100"
    )

    def measure(page: str) -> list[float]:
        it = iter(windows)

        def baseline() -> None:
            queue, start, end = next(it)
            params = ("bench", queue, _naive(start), _naive(end))
            raw.q(count_sql, params)
            raw.q(page, params)

        return timed(baseline, len(windows))

    hovor = stats_ms(samples)
    sql = stats_ms(measure(page_sql))
    joined = stats_ms(measure(joined_sql))
    httpx_p50 = stats_ms(through_httpx)["p50_ms"]
    return {
        "hovor": {**hovor, "mean_total": round(sum(totals) / len(totals))},
        "hovor_through_httpx_p50_ms": httpx_p50,
        "sql": sql,
        "sql_joined": joined,
        "ratio_p50": ratio(hovor["p50_ms"], sql["p50_ms"]),
        "ratio_p50_joined": ratio(hovor["p50_ms"], joined["p50_ms"]),
        "ratio_p50_joined_through_httpx": ratio(httpx_p50, joined["p50_ms"]),
        "targets": {
            "p50<=25ms": hovor["p50_ms"] <= 25,
            "ratio<=3 (activities only)": hovor["p50_ms"] <= 3 * sql["p50_ms"],
            "ratio<=3 (the page's joins)": hovor["p50_ms"] <= 3 * joined["p50_ms"],
            "ratio<=2 (the page's joins)": hovor["p50_ms"] <= 2 * joined["p50_ms"],
        },
    }
