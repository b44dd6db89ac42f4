"""The search index behind ``q``: substrings found whatever their case and Czech diacritics, on
every resource it covers, kept in step with every write, blind to custom fields the caller may not
see, and emptied of a person by her erasure (rows, FTS5 segments, files) on both databases."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select, text
from sqlalchemy.engine import make_url

from conftest import TenantFixture, data, make_tenant, migrated_url, statements_on
from hovor.app import create_app
from hovor.core.config import Settings
from hovor.index.fold import fold, fold_all
from hovor.index.models import SearchEntry
from hovor.index.rebuild import rebuild
from hovor.jobs.models import Job


def _names(client: Any, tenant: TenantFixture, endpoint: str, q: str, role: str = "admin") -> list[str]:
    r = client.get(f"/api/v6/{endpoint}.json", params={"q": q}, headers=tenant.h(role))
    result = data(r)
    assert result["total"] == len(result["data"])
    return sorted(str(row["name"]) for row in result["data"])


def _contact(client: Any, tenant: TenantFixture, first: str, last: str, **body: Any) -> str:
    payload = {"firstname": first, "lastname": last, "database": "main", **body}
    return str(data(client.post("/api/v6/contacts.json", json=payload, headers=tenant.h()))["name"])


def _entries(engine: Any) -> list[tuple[str, str, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(SearchEntry.object_type, SearchEntry.object_name, SearchEntry.body, SearchEntry.custom)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def test_fold() -> None:
    assert fold("Nováková") == "novakova"
    assert fold("ŘEHOŘ Černý") == "rehor cerny"
    assert fold("Šťastná Ďáblová Ůžasná") == "stastna dablova uzasna"
    assert fold_all(["Jana", None, "", {"note": ["Modrá", "x"]}]) == "jana\nmodra\nx"


def test_q_finds_without_case_or_diacritics(client: Any, tenant: TenantFixture) -> None:
    novakova = _contact(client, tenant, "Jana", "Nováková")
    novak = _contact(client, tenant, "Jan", "Novák")
    dvorakova = _contact(client, tenant, "Řehořa", "Dvořáková", description="Volat po 16. hodině")
    assert _names(client, tenant, "contacts", "novakova") == [novakova]
    assert _names(client, tenant, "contacts", "NOVÁKOVÁ") == [novakova]
    assert _names(client, tenant, "contacts", "dvorakova") == [dvorakova]
    # A substring in the middle of a word, of a name, and of the description.
    assert _names(client, tenant, "contacts", "ovak") == sorted([novakova, novak])
    assert _names(client, tenant, "contacts", "rehora") == [dvorakova]
    assert _names(client, tenant, "contacts", "hodine") == [dvorakova]
    # Every term must be found; terms shorter than a trigram are found too.
    assert _names(client, tenant, "contacts", "jana novakova") == [novakova]
    assert _names(client, tenant, "contacts", "jan ak") == sorted([novakova, novak])
    assert _names(client, tenant, "contacts", "ř") == [dvorakova]
    assert _names(client, tenant, "contacts", "novakova dvorakova") == []
    # Characters FTS5 and LIKE give a meaning to are plain characters of the term.
    assert _names(client, tenant, "contacts", '"novak') == []
    assert _names(client, tenant, "contacts", "nov%") == []
    assert _names(client, tenant, "contacts", "nov_k") == []
    assert _names(client, tenant, "contacts", "OR") == [dvorakova]
    r = client.get("/api/v6/contacts.json", params={"q": "nov\x00ak"}, headers=tenant.h())
    assert r.status_code == 400 and "NUL" in r.text


def test_q_on_accounts_tickets_and_activities(client: Any, tenant: TenantFixture) -> None:
    h = tenant.h()
    post = lambda path, body: data(client.post(f"/api/v6/{path}.json", json=body, headers=h))  # noqa: E731
    account = post("accounts", {"title": "Pekařství Šťastný", "database": "main"})["name"]
    post("accounts", {"title": "Železářství", "database": "main"})
    assert _names(client, tenant, "accounts", "stastn") == [account]
    post("ticketsCategories", {"name": "rekl", "title": "Reklamace"})
    broken = {"title": "Rozbitá konvice", "category": "rekl", "email": "Jiri@Example.cz"}
    ticket = post("tickets", broken)["name"]
    post("tickets", {"title": "Jiná věc", "category": "rekl"})
    assert _names(client, tenant, "tickets", "rozbita") == [str(ticket)]
    assert _names(client, tenant, "tickets", "jiri@example") == [str(ticket)]
    activity = post("activities", {"title": "Zpětné volání", "description": "Paní Čermáková"})["name"]
    post("activities", {"title": "Dotaz", "description": "Jiný zákazník"})
    assert _names(client, tenant, "activities", "zpetne") == [activity]
    assert _names(client, tenant, "activities", "cermak") == [activity]


def test_the_index_follows_every_write(client: Any, tenant: TenantFixture, engine: Any) -> None:
    h = tenant.h()
    name = _contact(client, tenant, "Jana", "Nováková")
    assert ("contacts", name, "jana novakova", "") in _entries(engine)
    r = client.put(f"/api/v6/contacts/{name}.json", json={"lastname": "Horáková"}, headers=h)
    assert r.status_code == 200, r.text
    assert _names(client, tenant, "contacts", "novakova") == []
    assert _names(client, tenant, "contacts", "horakova") == [name]
    # An edit of something not searched leaves the entry as it was (not even written again).
    account = data(
        client.post("/api/v6/accounts.json", json={"title": "Firma", "database": "main"}, headers=h)
    )
    with engine.connect() as conn:
        before = conn.execute(select(SearchEntry.id).where(SearchEntry.object_name == name)).scalar()
    r = client.put(f"/api/v6/contacts/{name}.json", json={"account": account["name"]}, headers=h)
    assert r.status_code == 200, r.text
    with engine.connect() as conn:
        assert conn.execute(select(SearchEntry.id).where(SearchEntry.object_name == name)).scalar() == before
    assert client.delete(f"/api/v6/accounts/{account['name']}.json", headers=h).status_code == 204
    assert client.delete(f"/api/v6/contacts/{name}.json", headers=h).status_code == 204
    assert _names(client, tenant, "contacts", "horakova") == []
    assert _entries(engine) == []


def test_a_rebuild_makes_what_the_writes_made(client: Any, tenant: TenantFixture, engine: Any) -> None:
    """The index rebuilt from the records (after bulk inserts, hovor.index.rebuild) holds what
    keeping it in step on every write holds."""
    h = tenant.h()
    body = {"name": "note", "title": "Note", "object_type": "contacts", "type": "text"}
    assert client.post("/api/v6/formFields.json", json=body, headers=h).status_code == 201
    _contact(client, tenant, "Jana", "Nováková", description="Volat ráno", customFields={"note": ["Modrá"]})
    data(client.post("/api/v6/accounts.json", json={"title": "Pekařství", "database": "main"}, headers=h))
    data(
        client.post("/api/v6/activities.json", json={"title": "Zpětné volání", "description": "x"}, headers=h)
    )
    # A description alone makes an entry: the rebuild skips in SQL only rows with neither column.
    data(client.post("/api/v6/activities.json", json={"description": "Reklamace"}, headers=h))
    kept = sorted(_entries(engine))
    assert len(kept) == 4
    with engine.begin() as conn:
        assert rebuild(conn, tenant.id) == 4
    assert sorted(_entries(engine)) == kept
    assert _names(client, tenant, "accounts", "pekarstvi")


def test_hidden_custom_fields_are_not_searched(client: Any, tenant: TenantFixture, engine: Any) -> None:
    for field, hidden in (("note", False), ("secret", True)):
        body = {"name": field, "title": field, "object_type": "contacts", "type": "text", "hidden": hidden}
        assert client.post("/api/v6/formFields.json", json=body, headers=tenant.h()).status_code == 201
    values = {"note": ["Modrá"], "secret": ["Dlužník"]}
    name = _contact(client, tenant, "Jana", "Nováková", customFields=values)
    assert _names(client, tenant, "contacts", "dluznik") == [name]  # the admin may see it
    assert _names(client, tenant, "contacts", "dluznik", "operator") == []
    assert _names(client, tenant, "contacts", "novakova", "operator") == [name]
    assert _names(client, tenant, "contacts", "modra", "admin") == [name]
    # Values are searched, not the names of the fields.
    assert _names(client, tenant, "contacts", "secret") == []


def test_q_stays_in_the_tenant(client: Any, tenant: TenantFixture, other_tenant: TenantFixture) -> None:
    name = _contact(client, tenant, "Jana", "Nováková")
    _contact(client, other_tenant, "Jana", "Nováková")
    assert _names(client, tenant, "contacts", "novakova") == [name]


def test_a_searched_page_counts_its_matches_in_the_same_statement(
    client: Any, tenant: TenantFixture, engine: Any
) -> None:
    """Every page of a search carries the total of all matches, past the last page too; the
    matches are read once per page (the keys and their count in one statement)."""
    names = sorted(_contact(client, tenant, f"Jana {i}", "Nováková") for i in range(5))
    _contact(client, tenant, "Petr", "Dvořák")
    h = tenant.h()
    with statements_on(engine, "search_entries") as statements:
        pages = [
            data(
                client.get(
                    "/api/v6/contacts.json", params={"q": "novakova", "skip": skip, "take": 2}, headers=h
                )
            )
            for skip in (0, 2, 4, 6)
        ]
        none = data(client.get("/api/v6/contacts.json", params={"q": "zzzzz"}, headers=h))
    assert [page["total"] for page in pages] == [5, 5, 5, 5]
    assert [len(page["data"]) for page in pages] == [2, 2, 1, 0]
    assert sorted(row["name"] for page in pages for row in page["data"]) == names
    assert len(statements) == 3 + 2 + 1  # three pages of one statement, past the end two, none found one
    assert none == {"data": [], "total": 0}


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_a_search_on_postgresql_reads_its_matches_before_their_records(
    client: Any, tenant: TenantFixture, engine: Any
) -> None:
    """The searched columns keep no statistics, so the planner cannot tell a search that finds a
    few entries from one that finds thousands: the matches are read first (a materialized common
    table expression), never by probing each record of the page's order for its entry."""
    from hovor.index.lookup import MATCHES

    _contact(client, tenant, "Jana", "Nováková")
    _contact(client, tenant, "Petr", "Dvořák")
    statements: list[tuple[str, Any]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "search_entries" in statement:
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", seen)
    try:
        page = data(client.get("/api/v6/contacts.json", params={"q": "novakova"}, headers=tenant.h()))
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert page["total"] == 1 and page["data"][0]["lastname"] == "Nováková"
    ((statement, parameters),) = statements
    with engine.connect() as conn:
        cursor = conn.connection.driver_connection.cursor()
        cursor.execute(f"EXPLAIN {statement}", parameters)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert f"CTE {MATCHES}" in plan and f"CTE Scan on {MATCHES}" in plan, plan


# --- erasure ---------------------------------------------------------------------------------
# Her name has letters no other indexed text of the test has (q, w): FTS5 stores a trigram whole
# when the one before it in its segment starts with another letter, so her trigrams are bytes a
# search of the segments can find.
FIRST, LAST = "Wanda", "Qwertová"


@pytest.fixture
def fresh(backend: str, tmp_path: Path) -> Iterator[tuple[Any, TestClient, Settings]]:
    url = migrated_url(backend, tmp_path, "_search")
    settings = Settings(
        environment="test",
        database_url=url,
        data_dir=tmp_path / "data",
        auth_cache_seconds=0,
        erasure_compact_delay_seconds=0,
    )
    app = create_app(settings)
    with TestClient(app) as client:
        yield app, client, settings
    app.state.engine.dispose()


def _wait(client: TestClient, job: str, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        state = client.get(f"/api/v6/jobs/{job}.json", headers=headers).json()["result"]
        if state["state"] in ("done", "failed") or time.monotonic() > deadline:
            return dict(state)
        time.sleep(0.05)


def _segments(app: Any) -> bytes:
    with app.state.engine.connect() as conn:
        return b"".join(bytes(r[0]) for r in conn.execute(text("SELECT block FROM search_fts_data")))


def _file_bytes(app: Any, settings: Settings) -> bytes:
    db = Path(make_url(settings.resolved_database_url).database or "")
    return b"".join(p.read_bytes() for p in (db, Path(f"{db}-wal")) if p.exists())


def test_erasure_leaves_nothing_of_her_in_the_index(
    fresh: tuple[Any, TestClient, Settings], backend: str
) -> None:
    app, client, settings = fresh
    tenant = make_tenant(app, "acme")
    h = tenant.h()
    her = _contact(client, tenant, FIRST, LAST, description=f"Paní {LAST} volá ráno")
    other = _contact(client, tenant, "Jan", "Novák")
    ticket_body = {"title": "Reklamace", "category": "r", "contact": her, "description": f"Zákaznice {LAST}"}
    assert client.post("/api/v6/ticketsCategories.json", json={"name": "r", "title": "R"}, headers=h)
    ticket = data(client.post("/api/v6/tickets.json", json=ticket_body, headers=h))["name"]
    assert _names(client, tenant, "contacts", "qwertova") == [her]
    assert _names(client, tenant, "tickets", "qwertova") == [str(ticket)]
    folded = fold(LAST).encode()
    if backend == "sqlite":
        assert b"qwe" in _segments(app)  # the check below sees her trigrams where they are

    dpo = tenant.h("dpo")
    r = client.post(f"/api/v6/contacts/{her}/erasure.json", json={}, headers=dpo)
    assert r.status_code == 202, r.text
    state = _wait(client, r.json()["result"]["name"], dpo)
    assert state["state"] == "done", state
    compaction = state["result"]["certificate"]["compaction"]
    if backend == "postgres":
        assert _wait(client, compaction, dpo)["state"] == "done"
        with app.state.engine.connect() as conn:
            params = conn.execute(select(Job.params).where(Job.name == compaction)).scalar_one()
        assert "search_entries" in params["tables"]  # rewritten with its GIN indexes

    # Not found, not in the entries, not in FTS5's segments, not in the database's files.
    assert _names(client, tenant, "contacts", "qwertova") == []
    assert _names(client, tenant, "tickets", "qwertova") == []
    assert _names(client, tenant, "contacts", "novak") == [other]
    assert _names(client, tenant, "tickets", "reklamace") == [str(ticket)]  # kept, anonymized
    assert not [e for e in _entries(app.state.engine) if "qwert" in e[2] + e[3] or "wanda" in e[2] + e[3]]
    if backend == "sqlite":
        assert b"qwe" not in _segments(app) and b"wan" not in _segments(app)
        assert folded not in _file_bytes(app, settings)
