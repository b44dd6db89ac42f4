"""``q_search_contacts``: the search box. hovor's ``q`` through the search index, against the same
index queried in plain SQL (FTS5 on SQLite, pg_trgm on PostgreSQL), in the same run."""

from __future__ import annotations

import argparse
import random
import time
import unicodedata
from typing import Any

import httpx

from bench.common import load_meta, stats_ms


def _folded(text: str) -> str:
    """Lower case without diacritics, as an operator types a name (and as the index holds it)."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()


# The baseline: the same search through the same index in plain SQL, the count and the first page.
# (On SQLite ``+`` keeps the planner from walking every entry of the type by the tenant's index.)
_Q_MATCH = {
    "sqlite": "+tenant_id = ? AND +object_type = 'contacts'"
    " AND id IN (SELECT rowid FROM search_fts WHERE search_fts MATCH ?)",
    "postgresql": "tenant_id = ? AND object_type = 'contacts' AND (body LIKE ? OR custom LIKE ?)",
}
_Q_WHERE = "tenant_id = ? AND name IN (SELECT object_name FROM search_entries WHERE {match})"


def q_search_contacts(args: argparse.Namespace) -> dict[str, Any]:
    """``q=`` search of contacts by a last name typed without diacritics in lower case (``novakova``
    for Nováková), first page of 20 with total."""
    from bench.run import Raw, free_port, hovor_server, ratio, timed

    meta = load_meta(args.data_dir)
    raw = Raw(args.db)
    names = [
        r[0] for r in raw.q("SELECT lastname FROM crm_contacts WHERE tenant_id = ? LIMIT 2000", ("bench",))
    ]
    terms = [_folded(t) for t in random.Random(9).choices(names, k=args.n)]
    port = free_port()
    samples: list[float] = []
    totals: list[int] = []
    h = {"X-AUTH-TOKEN": meta["token"]}
    with (
        hovor_server(args, port, workers=1),
        httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=h) as c,
    ):
        for term in terms:
            t0 = time.perf_counter()
            r = c.get("/api/v6/contacts.json", params={"q": term, "take": "20"})
            samples.append(time.perf_counter() - t0)
            assert r.status_code == 200, r.text[:300]
            totals.append(r.json()["result"]["total"])
    sqlite = args.db.startswith("sqlite")
    where = _Q_WHERE.format(match=_Q_MATCH["sqlite" if sqlite else "postgresql"])
    count_sql = f"SELECT count(*) FROM crm_contacts WHERE {where}"
    page_sql = f"SELECT * FROM crm_contacts WHERE {where} ORDER BY lastname, firstname, name LIMIT 20"
    it = iter(zip(terms, totals, strict=True))

    def base() -> None:
        term, total = next(it)
        match: tuple[str, ...] = (f'"{term}"',) if sqlite else (f"%{term}%", f"%{term}%")
        params = ("bench", "bench", *match)
        assert raw.q(count_sql, params)[0][0] == total  # the same records as hovor found
        raw.q(page_sql, params)

    base_samples = timed(base, len(terms))
    hovor = stats_ms(samples)
    sql = stats_ms(base_samples)
    return {
        "hovor": hovor,
        "sql": sql,
        "ratio_p50": ratio(hovor["p50_ms"], sql["p50_ms"]),
        "found_median": sorted(totals)[len(totals) // 2],
    }
