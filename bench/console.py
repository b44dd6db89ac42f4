"""``console_contact_card``: the console's card of a contact with 100 activities, as a supervisor's
browser asks for it (the web session's cookie), against the API's own reads of the same data in the
same run: the contact, its newest 100 activities, its tickets and its campaign records, each one
request of the v6 API with the same session.

The generated tenant gives a contact about ten activities; the scenario picks one contact and, the
first time, adds calls to it through the API until it has 100 (what a PBX would have posted)."""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import env_for, load_meta, stats_ms

ACTIVITIES = 100
CARD_USER = "bench-card"


def _card_user(args: argparse.Namespace) -> str:
    """A supervisor with a password (no second factor: the role holds no privileged right), made
    once and kept in the bench's folder; its password is returned."""
    kept = Path(args.data_dir) / "console-user.json"
    if kept.exists():
        return str(json.loads(kept.read_text())["password"])
    from typer.testing import CliRunner

    from hovor.cli import app as cli
    from hovor.core.config import get_settings

    password = secrets.token_urlsafe(18)
    env = env_for(args.db, Path(args.data_dir))
    changes = {k: v for k, v in env.items() if os.environ.get(k) != v}
    get_settings.cache_clear()
    command = ["user", "create", "--tenant", "bench", "--name", CARD_USER, "--title", "Bench supervisor"]
    result = CliRunner().invoke(cli, [*command, "--role", "supervisor", "--password", password], env=changes)
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    kept.write_text(json.dumps({"password": password}))
    return password


def _filter(field: str, value: str) -> dict[str, str]:
    return {"filter[field]": field, "filter[operator]": "eq", "filter[value]": value}


def _api_reads(c: httpx.Client, name: str) -> int:
    """The card's data through the API: four requests. Returns the activities read."""
    assert c.get(f"/api/v6/contacts/{name}.json").status_code == 200
    newest = {**_filter("contact", name), "sort": "time", "dir": "desc", "take": str(ACTIVITIES)}
    found = c.get("/api/v6/activities.json", params=newest)
    assert found.status_code == 200, found.text[:300]
    tickets = {**_filter("contact", name), "sort": "created", "dir": "desc", "take": str(ACTIVITIES)}
    assert c.get("/api/v6/tickets.json", params=tickets).status_code == 200
    records = {**_filter("contact", name), "take": "50"}
    assert c.get("/api/v6/campaignsRecords.json", params=records).status_code == 200
    return len(found.json()["result"]["data"])


def _fill(c: httpx.Client, name: str, have: int) -> None:
    """Calls posted for the contact until it has ``ACTIVITIES`` of them."""
    queue = c.get("/api/v6/queues.json", params={"take": "1"}).json()["result"]["data"][0]["name"]
    for i in range(ACTIVITIES - have):
        call = {"direction": "in", "clid": f"+42060{i:07d}", "queue": queue, "contact": name, "duration": 60}
        r = c.post("/api/v6/activitiesCall.json", json=call)
        assert r.status_code in (200, 201), r.text[:300]


def console_contact_card(args: argparse.Namespace) -> dict[str, Any]:
    from bench.run import free_port, hovor_server, ratio

    meta = load_meta(args.data_dir)
    password = _card_user(args)
    name = random.Random(5).choice(meta["contacts"])
    port = free_port()
    card: list[float] = []
    api: list[float] = []
    with hovor_server(args, port, workers=1):
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, headers={"X-AUTH-TOKEN": meta["token"]}) as admin:
            with httpx.Client(base_url=base) as probe:
                signed = probe.post(
                    "/api/v6/login.json", json={"username": CARD_USER, "password": password, "session": True}
                )
                assert signed.status_code == 200, signed.text[:300]
                cookies = probe.cookies
            with httpx.Client(base_url=base, cookies=cookies) as c:
                have = _api_reads(c, name)
                if have < ACTIVITIES:
                    _fill(admin, name, have)
                assert _api_reads(c, name) == ACTIVITIES
                for _ in range(10):  # warm-up
                    c.get(f"/contacts/{name}")
                    _api_reads(c, name)
                for _ in range(args.n):
                    t0 = time.perf_counter()
                    r = c.get(f"/contacts/{name}")
                    card.append(time.perf_counter() - t0)
                    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
                    t0 = time.perf_counter()
                    _api_reads(c, name)
                    api.append(time.perf_counter() - t0)
    page = stats_ms(card)
    reads = stats_ms(api)
    return {
        "console_card": page,
        "api_reads": reads,
        "activities": ACTIVITIES,
        "ratio_p50": ratio(page["p50_ms"], reads["p50_ms"]),
        "targets": {"p50<=50ms": page["p50_ms"] <= 50},
    }
