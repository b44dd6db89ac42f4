"""The forms in the console over HTTP: custom fields listed by the form they belong to, and a
field saved through the API's own update (its refusals with its messages, nothing changed)."""

from __future__ import annotations

from typing import Any

from conftest import TenantFixture, data
from hovor.audit.models import AuditEntry
from test_console_admin import _post, _session_of, _signed_in


def _field(client: Any, h: dict[str, str]) -> str:
    body = {
        "name": "tarif",
        "title": "Tarif",
        "object_type": "contacts",
        "database": "main",
        "type": "select",
        "options": ["Mini", "Maxi"],
    }
    return str(_post(client, "formFields", h, body)["name"])


def test_a_fields_options_are_saved_through_the_api(client: Any, tenant: TenantFixture, app: Any) -> None:
    h = tenant.h("admin")
    csrf = _session_of(app, client, "acme-admin")
    assert "No custom fields yet." in client.get("/admin/forms").text
    name = _field(client, h)
    listed = client.get("/admin/forms")
    assert listed.status_code == 200 and "contacts · database main" in listed.text
    assert f'href="/admin/forms/{name}"' in listed.text
    page = client.get(f"/admin/forms/{name}")
    assert page.status_code == 200 and "Mini\nMaxi</textarea>" in page.text

    body = {"csrf": csrf, "title": "Tarif", "position": "0", "options": ""}
    r = client.post(f"/admin/forms/{name}", data=body)
    assert r.status_code == 400 and "Not saved: A select field needs options." in r.text
    r = client.post(f"/admin/forms/{name}", data={**body, "options": "Mini\nMaxi", "title": ""})
    assert r.status_code == 400 and "Not saved:" in r.text
    assert data(client.get(f"/api/v6/formFields/{name}.json", headers=h))["options"] == ["Mini", "Maxi"]

    body = {**body, "options": "Mini\nMaxi\nRodina\n", "required": "yes"}
    r = client.post(f"/admin/forms/{name}", data=body, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/admin/forms/{name}?saved=1"
    saved = data(client.get(f"/api/v6/formFields/{name}.json", headers=h))
    assert saved["options"] == ["Mini", "Maxi", "Rodina"] and saved["required"] is True
    with app.state.read_session_factory() as s:
        entry = s.query(AuditEntry).filter(AuditEntry.action == "crm.form_field.update").one()
        assert entry.details == {"fields": ["options", "required"]}
    assert client.get("/admin/forms/nothing").status_code == 404

    client.cookies.clear()
    _an_operator_reads_the_forms_but_changes_none(client, tenant, name)


def _an_operator_reads_the_forms_but_changes_none(client: Any, tenant: TenantFixture, name: str) -> None:
    h = tenant.h("admin")
    csrf = _signed_in(client, "acme-operator")
    page = client.get(f"/admin/forms/{name}")
    # crm:forms:read is the operator's, as in formFields.json: the form is shown, not editable.
    assert page.status_code == 200 and '<button type="submit">Save</button>' not in page.text
    r = client.post(f"/admin/forms/{name}", data={"csrf": csrf, "title": "Jiný", "options": "A"})
    assert r.status_code == 403 and "Tarif" not in r.text
    assert data(client.get(f"/api/v6/formFields/{name}.json", headers=h))["required"] is True
