"""The official ``daktela`` SDK from PyPI drives hovor as it would drive a Daktela instance."""

from __future__ import annotations

from typing import Any

import pytest
from daktela import (
    AuthMethod,
    DaktelaClient,
    DaktelaConfig,
    DaktelaFilter,
    DaktelaForbiddenException,
    DaktelaNotFoundException,
    DaktelaQuery,
    DaktelaSort,
    DaktelaUnauthorizedException,
    DaktelaValidationException,
)
from daktela.http import RetryConfig

from conftest import TenantFixture


def sdk(client: Any, token: str, method: AuthMethod = AuthMethod.HEADER) -> DaktelaClient:
    return DaktelaClient(
        DaktelaConfig(url="http://testserver", access_token=token, auth_method=method),
        retry_config=RetryConfig(max_retries=0),
        http_client=client,
    )


@pytest.fixture
def crm(client: Any, tenant: TenantFixture) -> DaktelaClient:
    api = sdk(client, tenant.tokens["admin"])
    api.post("formFields", {"name": "number", "title": "Phone", "object_type": "contacts", "type": "phone"})
    for i, (first, last) in enumerate(
        [("Jana", "Nováková"), ("Jan", "Novák"), ("Petr", "Dvořák"), ("Eva", "Svobodová"), ("Karel", "Černý")]
    ):
        api.post(
            "contacts",
            {
                "firstname": first,
                "lastname": last,
                "database": "main",
                "customFields": {"number": [f"60{i} 123 456"]},
            },
        )
    return api


def test_ping_health_and_login(client: Any, tenant: TenantFixture) -> None:
    api = sdk(client, tenant.tokens["operator"])
    assert api.ping() is True
    health = api.health_check()
    assert health["healthy"] is True and health["status_code"] == 200
    # An SDK user signs in by posting to login and then uses the token it gets back.
    login = sdk(client, "unused").post("login", {"username": "acme-operator", "password": "correct horse 1"})
    token = login.data["accessToken"]
    assert sdk(client, token).get("whoim").data["user"]["name"] == "acme-operator"
    for method in (AuthMethod.QUERY, AuthMethod.COOKIE):
        assert sdk(client, token, method).ping() is True
    assert sdk(client, "bad-token").ping() is False


def test_read_list_with_fields_filters_sort(crm: DaktelaClient) -> None:
    q = (
        DaktelaQuery()
        .fields("name", "lastname")
        .filter(DaktelaFilter.begins("lastname", "Nov"))
        .sort(DaktelaSort.asc("lastname"))
    )
    resp = crm.get("contacts", q)
    assert resp.total == 2
    assert [c["lastname"] for c in resp.data] == ["Novák", "Nováková"]
    assert set(resp.data[0]) == {"name", "lastname"}

    nested = DaktelaQuery().filter(
        DaktelaFilter.or_(
            DaktelaFilter.eq("lastname", "Černý"),
            DaktelaFilter.and_(DaktelaFilter.like("lastname", "Nov%"), DaktelaFilter.eq("firstname", "Jana")),
        )
    )
    assert sorted(c["lastname"] for c in crm.get("contacts", nested).data) == ["Nováková", "Černý"]
    assert (
        crm.get("contacts", DaktelaQuery().filter(DaktelaFilter.in_("firstname", ["Eva", "Petr"]))).total == 2
    )
    assert crm.get("contacts", DaktelaQuery().filter(DaktelaFilter.is_null("account"))).total == 5
    assert crm.get("contacts", DaktelaQuery().param("q", "dvořák")).total == 1

    one = crm.get("contacts", DaktelaQuery().filter(DaktelaFilter.eq("lastname", "Novák"))).data[0]
    single = crm.get_one("contacts", one["name"])
    assert single.data["customFields"]["number"] == ["+420601123456"]


def test_pagination_and_iterate(crm: DaktelaClient) -> None:
    page = crm.get("contacts", DaktelaQuery().sort(DaktelaSort.asc("firstname")).pagination(take=2, skip=2))
    assert page.total == 5 and [c["firstname"] for c in page.data] == ["Jana", "Karel"]
    names = [
        c["lastname"]
        for c in crm.iterate("contacts", DaktelaQuery().sort(DaktelaSort.asc("name")), page_size=2)
    ]
    assert len(names) == 5 and len(set(names)) == 5


def test_update_delete_and_relations(crm: DaktelaClient) -> None:
    acc = crm.post("accounts", {"title": "Pekárna", "database": "main"}).data
    contact = crm.get("contacts", DaktelaQuery().filter(DaktelaFilter.eq("lastname", "Dvořák"))).data[0]
    updated = crm.put(
        f"contacts/{contact['name']}", {"account": acc["name"], "description": "stálý zákazník"}
    )
    assert updated.data["account"]["name"] == acc["name"]
    rel = crm.get_relation("accounts", acc["name"], "contacts")
    assert rel.total == 1 and rel.data[0]["name"] == contact["name"]
    crm.put(f"accounts/{acc['name']}", {"title": "Pekárna a cukrárna"})
    assert crm.get_one("accounts", acc["name"]).data["title"] == "Pekárna a cukrárna"
    deleted = crm.delete(f"contacts/{contact['name']}")
    assert deleted.status_code == 204
    with pytest.raises(DaktelaNotFoundException):
        crm.get_one("contacts", contact["name"])
    crm.delete(f"accounts/{acc['name']}")
    assert crm.get("accounts").total == 0


def test_exception_types(client: Any, tenant: TenantFixture, crm: DaktelaClient) -> None:
    with pytest.raises(DaktelaUnauthorizedException):
        sdk(client, "nope").get("contacts")
    operator = sdk(client, tenant.tokens["operator"])
    victim = crm.get("contacts").data[0]["name"]
    with pytest.raises(DaktelaForbiddenException):
        operator.delete(f"contacts/{victim}")
    with pytest.raises(DaktelaNotFoundException):
        operator.get_one("contacts", "contacts_doesnotexist")
    with pytest.raises(DaktelaValidationException) as exc:
        crm.post("contacts", {"lastname": "X", "database": "main", "customFields": {"number": ["abc"]}})
    assert exc.value.errors[0]["form"] == {"customFields.number": ["Not a valid phone number."]}
    with pytest.raises(DaktelaValidationException):
        crm.get("contacts", DaktelaQuery().sort(DaktelaSort.asc("nosuchfield")))


def test_foreign_tenant_is_not_found(
    client: Any, tenant: TenantFixture, other_tenant: TenantFixture, crm: DaktelaClient
) -> None:
    victim = crm.get("contacts").data[0]["name"]
    foreign = sdk(client, other_tenant.tokens["admin"])
    with pytest.raises(DaktelaNotFoundException):
        foreign.get_one("contacts", victim)
    assert foreign.get("contacts").total == 0
