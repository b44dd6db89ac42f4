"""A fixed mix of requests through the whole ASGI stack in one process, without network: contact
reads, single call ingests and (with ``--lists``) pages of activities and tickets against a
generated tenant. For comparing two versions of the code by
instruction counts, which do not depend on the machine's load (wrk figures on a shared 2-core
machine vary by more than the differences worth knowing)::

    valgrind --tool=callgrind python -m bench.asgi_mix --db URL --reads 800   # minus --reads 0

With ``--pages N`` it runs ``api_list_activities``' pages (instructions per page: ``--reads 0
--pages 40`` minus ``--reads 0 --pages 0``).

With ``--separate-threads=yes`` the threads other than the first are the groups of creates (the
reads run on the event loop): their instructions per ingest are what a group does per call, the
work that holds SQLite's write lock::

    valgrind --tool=callgrind --separate-threads=yes python -m bench.asgi_mix --db URL \
        --reads 0 --ingests 800 --burst 8

Prints JSON: CPU microseconds per read and per ingest (meaningful without valgrind)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import time
from typing import Any
from urllib.parse import urlencode

from bench.common import data_dir_for, env_for, load_meta
from bench.lists import _list_params, _windows


async def _call(app: Any, token: str, method: str, target: str, body: bytes = b"") -> int:
    path, _, query = target.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [
            (b"host", b"bench"),
            (b"x-auth-token", token.encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    sent, status = False, 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client never leaves
        return {}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


def _page(window: Any) -> str:
    return f"/api/v6/activities.json?{urlencode(_list_params(*window))}"


async def _run(
    app: Any,
    meta: dict[str, Any],
    reads: int,
    lists: int,
    burst: int = 1,
    ingests: int | None = None,
    pages: int | None = None,
) -> dict[str, Any]:
    token, names, pick = meta["token"], meta["contacts"], random.Random(1)
    async with app.router.lifespan_context(app):
        for _ in range(200):  # warm-up: caches, the caller cache, compiled statements
            assert await _call(app, token, "GET", f"/api/v6/contacts/{pick.choice(names)}.json") == 200
        started = time.process_time()
        for _ in range(reads):
            await _call(app, token, "GET", f"/api/v6/contacts/{pick.choice(names)}.json")
        read_us = (time.process_time() - started) / max(1, reads) * 1e6
        call = json.dumps({"direction": "in", "clid": "603123456"}).encode()
        status = await _call(app, token, "POST", "/api/v6/activitiesCall.json", call)
        ingests = max(reads // 4 if ingests is None else ingests, burst)
        started = time.process_time()
        for _ in range(0, ingests, burst):  # a burst's creates arrive together: one group
            sends = [_call(app, token, "POST", "/api/v6/activitiesCall.json", call) for _ in range(burst)]
            await asyncio.gather(*sends)
        ingest_us = (time.process_time() - started) / max(1, ingests // burst * burst) * 1e6
        started = time.process_time()
        for i in range(lists):
            page = f"/api/v6/activities.json?take=100&skip={100 * (i % 20)}"
            assert await _call(app, token, "GET", page) == 200
            assert await _call(app, token, "GET", "/api/v6/tickets.json?take=100") == 200
        list_us = (time.process_time() - started) / max(1, lists) * 1e6
        # api_list_activities' pages (a queue's 30 days, newest first, with total), after 30 that
        # warm up the statements and the caches (with --pages 0 too, to be subtracted).
        paths = [] if pages is None else [_page(w) for w in _windows(meta, 30 + pages)]
        for page in paths[:30]:
            assert await _call(app, token, "GET", page) == 200
        started = time.process_time()
        for page in paths[30:]:
            assert await _call(app, token, "GET", page) == 200
        page_us = (time.process_time() - started) / max(1, pages or 0) * 1e6
    return {
        "scenario": "asgi_mix",
        "reads": reads,
        "ingests": ingests // burst * burst,
        "burst": burst,
        "ingest_status": status,
        "cpu_us_per_read": round(read_us, 1),
        "cpu_us_per_ingest": round(ingest_us, 1),
        "lists": lists,
        "cpu_us_per_list_pair": round(list_us, 1),
        "pages": pages or 0,
        "cpu_us_per_page": round(page_us, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--data-dir")
    parser.add_argument("--reads", type=int, default=800)
    parser.add_argument("--lists", type=int, default=0, help="pages of activities and of tickets")
    parser.add_argument("--burst", type=int, default=1, help="ingests sent together (a group of creates)")
    parser.add_argument("--ingests", type=int, help="single call ingests (default: a quarter of --reads)")
    parser.add_argument("--pages", type=int, help="api_list_activities' pages, after 30 to warm up")
    args = parser.parse_args()
    data_dir = data_dir_for(args.db, args.data_dir)
    os.environ.update(env_for(args.db, data_dir))
    # deferred: the application reads its settings from the environment set just above
    from hovor.app import create_app

    meta = load_meta(data_dir)
    result = _run(create_app(), meta, args.reads, args.lists, max(1, args.burst), args.ingests, args.pages)
    print(json.dumps(asyncio.run(result)))


if __name__ == "__main__":
    main()
