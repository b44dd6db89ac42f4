"""The audit log's pages over HTTP: a page at a time (the filters and the page POSTed together) and
an entry's details, each the API's list and read of auditLog; an operator reaches none."""

from __future__ import annotations

import re
from typing import Any

from conftest import TenantFixture, data
from hovor.audit import log as audit
from hovor.core.db import unit_of_work
from test_console_admin import _session_of, _signed_in


def _entries(app: Any, n: int) -> None:
    actor = audit.Actor.system("test")
    with unit_of_work(app.state.session_factory) as s:
        for i in range(n):
            audit.record(s, "acme", "crm.contact.update", actor, "contacts", f"c{i}", {"fields": ["title"]})


def _shown(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<a href="/admin/audit/(\d+)">', html)]


def test_the_audit_log_pages_with_its_filters_and_shows_an_entry(
    client: Any, tenant: TenantFixture, other_tenant: TenantFixture, app: Any
) -> None:
    _entries(app, 150)
    csrf = _session_of(app, client, "acme-admin")
    api = data(
        client.get(
            "/api/v6/auditLog.json",
            params={"take": 1, "sort": "name", "dir": "desc"},
            headers=tenant.h("admin"),
        )
    )
    newest, total = int(api["data"][0]["name"]), int(api["total"])
    first = client.get("/admin/audit")
    assert _shown(first.text) == list(range(newest, newest - 100, -1))
    assert 'name="skip" value="100"' in first.text and "Newer entries" not in first.text

    older = client.post("/admin/audit", data={"csrf": csrf, "skip": "100", "action": "", "actor": ""})
    assert older.status_code == 200
    assert _shown(older.text) == list(range(newest - 100, max(0, newest - 200), -1))[: total - 100]
    assert 'name="skip" value="0"' in older.text and "Newer entries" in older.text

    # Filtered, the next page keeps the filter: it travels in the form, not the address.
    r = client.post("/admin/audit", data={"csrf": csrf, "action": "crm.contact.update", "skip": "100"})
    assert len(_shown(r.text)) == 50 and 'name="action" value="crm.contact.update"' in r.text
    assert "Older entries" not in r.text
    r = client.post("/admin/audit", data={"csrf": csrf, "skip": "-5"})
    assert _shown(r.text)[0] == newest  # not a number of entries: the first page

    entry = client.get(f"/admin/audit/{newest}")
    assert entry.status_code == 200 and "crm.contact.update" in entry.text
    assert "&#34;title&#34;" in entry.text or '"title"' in entry.text
    assert "c149" in entry.text
    assert client.get("/admin/audit/99999999").status_code == 404
    assert client.get("/admin/audit/abc").status_code == 404

    client.cookies.clear()
    _another_tenants_entry_is_not_found_and_an_operator_is_refused(client, tenant, other_tenant, app)


def _another_tenants_entry_is_not_found_and_an_operator_is_refused(
    client: Any, tenant: TenantFixture, other_tenant: TenantFixture, app: Any
) -> None:
    actor = audit.Actor.system("test")
    with unit_of_work(app.state.session_factory) as s:
        for _ in range(300):
            audit.record(s, "globex", "crm.contact.update", actor, "contacts", "theirs")
    with unit_of_work(app.state.session_factory) as s:
        head = audit.head(s, "globex")[0]
    _session_of(app, client, "acme-admin")
    assert client.get(f"/admin/audit/{head}").status_code == 404
    client.cookies.clear()
    _signed_in(client, "acme-operator")
    r = client.get("/admin/audit/1")
    assert r.status_code == 403 and 'id="entry"' not in r.text
