"""Retention policies in the console over HTTP: the sweep's preview (the API's figures), a policy
saved through the API's own update and create (its refusals with its messages), and the sweep run
now as a job whose progress page polls itself until it is done."""

from __future__ import annotations

import re
import time
from typing import Any

from conftest import TenantFixture, data
from hovor.audit.models import AuditEntry
from test_console_admin import _post, _session_of, _signed_in


def test_the_preview_and_a_policy_saved_through_the_api(client: Any, tenant: TenantFixture, app: Any) -> None:
    h = tenant.h("dpo")
    _post(client, "retentionPolicies", h, {"name": "pausesTaken", "days": 30})
    csrf = _session_of(app, client, "acme-dpo")
    page = client.get("/admin/retention")
    assert page.status_code == 200
    preview = data(client.get("/api/v6/retentionPolicies/preview.json", headers=h))["data"]
    # Every kind the API's preview names, with its count.
    for row in preview:
        assert f'<tr data-kind="{row["policy"]}"><td>{row["policy"]}</td><td>{row["count"]}</td>' in page.text
    assert 'href="/admin/retention/pausesTaken"' in page.text and 'id="sweep"' in page.text

    r = client.post("/admin/retention/pausesTaken", data={"csrf": csrf, "days": "0", "action": "delete"})
    assert r.status_code == 400 and "Not saved: Use 1 to" in r.text
    r = client.post("/admin/retention/pausesTaken", data={"csrf": csrf, "days": "x", "action": "delete"})
    assert r.status_code == 400 and "Not saved:" in r.text
    r = client.post("/admin/retention/pausesTaken", data={"csrf": csrf, "days": "30", "action": "anonymize"})
    assert r.status_code == 400 and "pausesTaken allows: delete." in r.text
    assert data(client.get("/api/v6/retentionPolicies/pausesTaken.json", headers=h))["days"] == 30
    r = client.post(
        "/admin/retention/pausesTaken",
        data={"csrf": csrf, "days": "60", "action": "delete"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/admin/retention?saved=1"
    assert data(client.get("/api/v6/retentionPolicies/pausesTaken.json", headers=h))["days"] == 60

    # A kind without a policy of its own: the form creates one (the API's create).
    assert client.get("/admin/retention/tickets").status_code == 200
    r = client.post(
        "/admin/retention/tickets",
        data={"csrf": csrf, "days": "90", "action": "anonymize"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert data(client.get("/api/v6/retentionPolicies/tickets.json", headers=h))["action"] == "anonymize"
    assert client.get("/admin/retention/nothing").status_code == 404
    with app.state.read_session_factory() as s:
        actions = [
            e.action for e in s.query(AuditEntry).filter(AuditEntry.action.startswith("privacy.retention"))
        ]
    assert actions.count("privacy.retention_policy.update") == 1
    assert actions.count("privacy.retention_policy.create") == 2

    client.cookies.clear()
    _an_operator_reaches_no_retention_page(client, tenant, app)


def test_the_sweep_runs_as_a_job_whose_page_polls_until_done(
    client: Any, tenant: TenantFixture, app: Any
) -> None:
    csrf = _session_of(app, client, "acme-dpo")
    r = client.post("/admin/retention/sweep", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    found = re.fullmatch(r"/admin/retention/jobs/([^/]+)", r.headers["location"])
    assert found is not None
    job = found.group(1)
    page = client.get(r.headers["location"])
    assert page.status_code == 200 and 'id="job-state"' in page.text
    with app.state.read_session_factory() as s:
        asked = s.query(AuditEntry).filter(AuditEntry.action == "privacy.retention.sweep").all()
        assert [e.object_key for e in asked] == [job] and asked[0].actor == "acme-dpo"
    deadline = time.monotonic() + 20
    while True:
        progress = client.get(f"/admin/retention/jobs/{job}/progress", headers={"HX-Request": "true"})
        assert progress.status_code == 200
        if 'data-state="done"' in progress.text:
            break
        # Not done: the fragment asks htmx to fetch it again.
        assert f'hx-get="/admin/retention/jobs/{job}/progress"' in progress.text
        assert time.monotonic() < deadline, progress.text
        time.sleep(0.2)
    assert "hx-get" not in progress.text
    assert data(client.get(f"/api/v6/jobs/{job}.json", headers=tenant.h("admin")))["state"] == "done"


def _retention_entries(app: Any) -> int:
    with app.state.read_session_factory() as s:
        return s.query(AuditEntry).filter(AuditEntry.action.startswith("privacy.retention")).count()


def _an_operator_reaches_no_retention_page(client: Any, tenant: TenantFixture, app: Any) -> None:
    before = _retention_entries(app)
    csrf = _signed_in(client, "acme-operator")
    for path in ("/admin/retention", "/admin/retention/tickets"):
        r = client.get(path)
        assert r.status_code == 403 and 'id="preview"' not in r.text and "record-form" not in r.text
    r = client.post("/admin/retention/sweep", data={"csrf": csrf})
    assert r.status_code == 403
    r = client.post("/admin/retention/tickets", data={"csrf": csrf, "days": "1"})
    assert r.status_code == 403
    assert _retention_entries(app) == before
