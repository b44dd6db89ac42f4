"""Where a request's time goes in SQL: each statement's p50 and total over a run of activity list
pages in process (the whole ASGI stack, no network), against a generated tenant.

    python -m bench.statements --db URL [--data-dir DIR] [-n 100]

Prints JSON: the request p50 and, per statement (its first 90 characters), count, p50 and sum."""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import defaultdict
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from bench.common import data_dir_for, env_for, load_meta


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", required=True)
    parser.add_argument("--data-dir")
    parser.add_argument("-n", type=int, default=100, help="pages")
    args = parser.parse_args(argv)
    data_dir = data_dir_for(args.db, args.data_dir)
    os.environ.update(env_for(args.db, data_dir))
    from fastapi.testclient import TestClient

    from bench.lists import _list_params, _windows
    from hovor.app import create_app

    meta = load_meta(data_dir)
    times: dict[str, list[float]] = defaultdict(list)
    started: list[float] = []

    def before(*_: Any) -> None:
        started.append(time.perf_counter())

    def after(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        times[" ".join(statement.split())[:90]].append(time.perf_counter() - started.pop())

    event.listen(Engine, "before_cursor_execute", before)
    event.listen(Engine, "after_cursor_execute", after)
    windows = _windows(meta, args.n)
    pages: list[float] = []
    headers = {"X-AUTH-TOKEN": meta["token"]}
    with TestClient(create_app()) as client:
        for queue, start, end in windows[:5]:  # warm-up
            client.get("/api/v6/activities.json", params=_list_params(queue, start, end), headers=headers)
        times.clear()
        for queue, start, end in windows:
            t0 = time.perf_counter()
            r = client.get("/api/v6/activities.json", params=_list_params(queue, start, end), headers=headers)
            pages.append(time.perf_counter() - t0)
            assert r.status_code == 200, r.text[:300]

    def p50(values: list[float]) -> float:
        return round(sorted(values)[len(values) // 2] * 1000, 2)

    statements = [
        {"sql": sql, "count": len(v), "p50_ms": p50(v), "sum_ms": round(sum(v) * 1000, 1)}
        for sql, v in sorted(times.items(), key=lambda kv: -sum(kv[1]))
    ]
    print(json.dumps({"pages": len(pages), "request_p50_ms": p50(pages), "statements": statements}, indent=1))


if __name__ == "__main__":
    main()
