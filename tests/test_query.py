"""The v6 list query: fields, every filter operator, nested logic, sort, paging, q."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import TenantFixture, data
from hovor.api.query import parse_brackets
from hovor.core.errors import BadRequest

PEOPLE = [
    ("Jana", "Nováková", "první"),
    ("Jan", "Novák", None),
    ("Petr", "Dvořák", "vip 100%"),
    ("Eva", "Svobodová", "vip_a"),
    (None, "Černý", "druhý"),
]


@pytest.fixture
def people(client: Any, tenant: TenantFixture) -> dict[str, str]:
    names = {}
    for first, last, desc in PEOPLE:
        body = {"firstname": first, "lastname": last, "database": "main", "description": desc}
        names[last] = data(client.post("/api/v6/contacts.json", json=body, headers=tenant.h()))["name"]
    return names


def lastnames(client: Any, tenant: TenantFixture, params: dict[str, Any]) -> list[str]:
    r = client.get(
        "/api/v6/contacts.json", params={**params, "sort[0][field]": "lastname"}, headers=tenant.h()
    )
    assert r.status_code == 200, r.text
    return [c["lastname"] for c in data(r)["data"]]


def flat(field: str, op: str, value: Any = None, i: int = 0) -> dict[str, Any]:
    out = {f"filter[{i}][field]": field, f"filter[{i}][operator]": op}
    if isinstance(value, list):
        for j, v in enumerate(value):
            out[f"filter[{i}][value][{j}]"] = v
    elif value is not None:
        out[f"filter[{i}][value]"] = value
    return out


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("eq", "Novák", ["Novák"]),
        ("neq", "Novák", ["Černý", "Dvořák", "Nováková", "Svobodová"]),
        ("like", "Nov%", ["Novák", "Nováková"]),
        ("notlike", "Nov%", ["Černý", "Dvořák", "Svobodová"]),
        ("begins", "Nov", ["Novák", "Nováková"]),
        ("notbegins", "Nov", ["Černý", "Dvořák", "Svobodová"]),
        ("ends", "ová", ["Nováková", "Svobodová"]),
        ("notends", "ová", ["Černý", "Dvořák", "Novák"]),
        ("contains", "vořá", ["Dvořák"]),
        ("in", ["Novák", "Černý"], ["Černý", "Novák"]),
        ("notin", ["Novák", "Černý"], ["Dvořák", "Nováková", "Svobodová"]),
        ("gt", "Novák", ["Nováková", "Svobodová"]),
        ("gte", "Novák", ["Novák", "Nováková", "Svobodová"]),
        ("lt", "Novák", ["Dvořák"]),
        ("lte", "Novák", ["Dvořák", "Novák"]),
    ],
)
def test_operators_on_text(
    client: Any, tenant: TenantFixture, people: Any, op: str, value: Any, expected: Any
) -> None:
    params = flat("lastname", op, value)
    if op in ("gt", "gte", "lt", "lte"):
        # Where "Č" sorts depends on the database's collation; keep it out of range comparisons.
        params |= flat("lastname", "neq", "Černý", i=1)
        expected = [e for e in expected if e != "Černý"]
    assert sorted(lastnames(client, tenant, params)) == sorted(expected)


def test_null_operators_and_neq_includes_null(client: Any, tenant: TenantFixture, people: Any) -> None:
    assert lastnames(client, tenant, flat("firstname", "isnull")) == ["Černý"]
    assert len(lastnames(client, tenant, flat("firstname", "isnotnull"))) == 4
    assert "Černý" in lastnames(client, tenant, flat("firstname", "neq", "Jana"))
    assert "Novák" in lastnames(client, tenant, flat("description", "notlike", "vip%"))


def test_like_wildcards_are_literal_in_begins_and_contains(
    client: Any, tenant: TenantFixture, people: Any
) -> None:
    assert lastnames(client, tenant, flat("description", "contains", "100%")) == ["Dvořák"]
    assert lastnames(client, tenant, flat("description", "begins", "vip_")) == ["Svobodová"]
    assert sorted(lastnames(client, tenant, flat("description", "like", "vip_%"))) == ["Dvořák", "Svobodová"]


def test_ignore_case(client: Any, tenant: TenantFixture, people: Any) -> None:
    params = {**flat("lastname", "eq", "novák"), "filter[0][ignoreCase]": "true"}
    assert lastnames(client, tenant, params) == ["Novák"]
    assert lastnames(client, tenant, flat("lastname", "eq", "novák")) == []


def test_flat_filters_are_anded(client: Any, tenant: TenantFixture, people: Any) -> None:
    params = {**flat("lastname", "begins", "Nov"), **flat("firstname", "eq", "Jana", i=1)}
    assert lastnames(client, tenant, params) == ["Nováková"]


def test_nested_filter_groups(client: Any, tenant: TenantFixture, people: Any) -> None:
    params = {
        "filter[logic]": "or",
        "filter[filters][0][field]": "lastname",
        "filter[filters][0][operator]": "eq",
        "filter[filters][0][value]": "Černý",
        "filter[filters][1][logic]": "and",
        "filter[filters][1][filters][0][field]": "lastname",
        "filter[filters][1][filters][0][operator]": "begins",
        "filter[filters][1][filters][0][value]": "Nov",
        "filter[filters][1][filters][1][field]": "firstname",
        "filter[filters][1][filters][1][operator]": "eq",
        "filter[filters][1][filters][1][value]": "Jan",
    }
    assert sorted(lastnames(client, tenant, params)) == ["Novák", "Černý"]


def test_sort_paging_and_total(client: Any, tenant: TenantFixture, people: Any) -> None:
    h = tenant.h()
    r = client.get(
        "/api/v6/contacts.json",
        params={
            "sort[0][field]": "firstname",
            "sort[0][dir]": "desc",
            "skip": 1,
            "take": 2,
            "fields[0]": "firstname",
        },
        headers=h,
    )
    result = data(r)
    assert result["total"] == 5
    assert result["data"] == [{"firstname": "Jana"}, {"firstname": "Jan"}]


def test_q_searches_names_and_text(client: Any, tenant: TenantFixture, people: Any) -> None:
    r = client.get("/api/v6/contacts.json", params={"q": "novák"}, headers=tenant.h())
    assert {c["lastname"] for c in data(r)["data"]} == {"Novák", "Nováková"}
    r = client.get("/api/v6/contacts.json", params={"q": "jana nováková"}, headers=tenant.h())
    assert [c["lastname"] for c in data(r)["data"]] == ["Nováková"]


def test_datetime_filters_use_the_tenant_zone(client: Any, tenant: TenantFixture, people: Any) -> None:
    c = data(client.get(f"/api/v6/contacts/{people['Novák']}.json", headers=tenant.h()))
    created = c["created"]  # Europe/Prague wall time, no offset, as v6 clients expect
    assert len(created) == 19 and "T" not in created
    assert "Novák" in lastnames(client, tenant, flat("created", "eq", created))
    # Nothing was created after the second in which the newest contact was.
    everyone = data(client.get("/api/v6/contacts.json", params={"fields[0]": "created"}, headers=tenant.h()))
    newest = max(c["created"] for c in everyone["data"])
    assert lastnames(client, tenant, flat("created", "gt", newest)) == []
    assert "Novák" in lastnames(client, tenant, flat("created", "lte", newest))
    # An ISO 8601 value with an offset is understood too.
    import datetime as dt

    local = dt.datetime.strptime(created, "%Y-%m-%d %H:%M:%S")
    from zoneinfo import ZoneInfo

    utc = local.replace(tzinfo=ZoneInfo("Europe/Prague")).astimezone(dt.UTC).isoformat()
    assert "Novák" in lastnames(client, tenant, flat("created", "eq", utc))


def test_pages_of_one_shape_share_a_statement_and_each_keeps_its_values(
    client: Any, tenant: TenantFixture, people: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hovor.api import visible

    monkeypatch.setattr(visible, "_PAGES", {})  # another test's pages may have had these shapes

    def shapes() -> int:
        return sum(1 for shape in visible._PAGES if shape[0] == "contacts")

    assert lastnames(client, tenant, flat("lastname", "eq", "Novák")) == ["Novák"]
    before = shapes()
    assert lastnames(client, tenant, flat("lastname", "eq", "Dvořák")) == ["Dvořák"]
    assert lastnames(client, tenant, flat("lastname", "eq", "Nikdo")) == []
    assert shapes() == before  # the same statement, with each page's value
    # Lists are not kept (the driver would keep a form per length), nor many values: built anew.
    assert lastnames(client, tenant, flat("lastname", "in", ["Novák"])) == ["Novák"]
    three = lastnames(client, tenant, flat("lastname", "in", ["Novák", "Černý", "Svobodová"]))
    assert sorted(three) == ["Novák", "Svobodová", "Černý"]
    created = data(client.get(f"/api/v6/contacts/{people['Novák']}.json", headers=tenant.h()))["created"]
    times = [created] + [f"2001-01-{day:02d} 00:00:00" for day in range(1, 17)]  # 34 values
    assert shapes() == before
    same_second = lastnames(client, tenant, flat("created", "in", [created]))  # two values: kept
    assert "Novák" in same_second
    assert shapes() == before + 1
    assert lastnames(client, tenant, flat("created", "in", times)) == same_second
    assert shapes() == before + 1
    # Times, processed into what the database holds, by the driver.
    assert "Novák" in lastnames(client, tenant, flat("created", "gte", created))
    assert lastnames(client, tenant, flat("created", "gte", "2100-01-01 00:00:00")) == []
    assert shapes() == before + 2
    # A page past the end counts every match by the shape's count, with its values.
    for value, total in (("Novák", 4), ("Nikdo", 5)):
        params = {**flat("lastname", "neq", value), "skip": "10", "sort[0][field]": "lastname"}
        page = data(client.get("/api/v6/contacts.json", params=params, headers=tenant.h()))
        assert page == {"data": [], "total": total}
    # Another order is another shape.
    r = client.get("/api/v6/contacts.json", params={**flat("lastname", "eq", "Novák")}, headers=tenant.h())
    assert [c["lastname"] for c in data(r)["data"]] == ["Novák"]
    assert shapes() == before + 4


def test_the_oldest_page_shapes_make_way_for_new_ones(
    client: Any, tenant: TenantFixture, people: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hovor.api import visible

    monkeypatch.setattr(visible, "_PAGES", {})
    monkeypatch.setattr(visible, "_PAGES_KEPT", 2)
    assert lastnames(client, tenant, flat("lastname", "eq", "Novák")) == ["Novák"]
    first = next(iter(visible._PAGES))
    assert set(lastnames(client, tenant, flat("lastname", "neq", "Novák"))) == {
        "Dvořák",
        "Nováková",
        "Svobodová",
        "Černý",
    }
    assert lastnames(client, tenant, flat("lastname", "begins", "Nov")) == ["Novák", "Nováková"]
    assert len(visible._PAGES) == 2 and first not in visible._PAGES
    # The dropped shape is built again when asked for, with its values.
    assert lastnames(client, tenant, flat("lastname", "eq", "Dvořák")) == ["Dvořák"]
    assert len(visible._PAGES) == 2 and first in visible._PAGES


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"fields[0]": "nosuch"}, "Unknown field 'nosuch'"),
        ({"sort[0][field]": "nosuch"}, "Unknown field 'nosuch' in sort"),
        (
            {"filter[0][field]": "nosuch", "filter[0][operator]": "eq", "filter[0][value]": "x"},
            "Unknown field",
        ),
        (
            {"filter[0][field]": "lastname", "filter[0][operator]": "approx", "filter[0][value]": "x"},
            "operator",
        ),
        (
            {"filter[0][field]": "created", "filter[0][operator]": "eq", "filter[0][value]": "yesterday"},
            "datetime",
        ),
        (
            {"filter[0][field]": "created", "filter[0][operator]": "like", "filter[0][value]": "2%"},
            "text fields",
        ),
        (
            {"filter[0][field]": "customFields", "filter[0][operator]": "eq", "filter[0][value]": "x"},
            "cannot be filtered",
        ),
        (
            {"filter[0][field]": "restricted", "filter[0][operator]": "lt", "filter[0][value]": "true"},
            "yes or no field",
        ),
        ({"take": "1001"}, "take must be at most 1000"),
        ({"take": "0"}, "take must be at least 1"),
        ({"skip": "-1"}, "skip must be at least 0"),
        ({"take": "ten"}, "whole number"),
        ({"sort[0][field]": "lastname", "sort[0][dir]": "up"}, "asc"),
        ({"filter[logic]": "xor", "filter[filters][0][field]": "lastname"}, "logic"),
        ({"bogus": "1"}, "Unknown query parameter"),
    ],
)
def test_bad_queries_are_400_never_an_empty_list(
    client: Any, tenant: TenantFixture, people: Any, params: dict[str, str], needle: str
) -> None:
    # Strict fields: an unknown name in fields is refused too (by default it is ignored).
    r = client.get("/api/v6/contacts.json", params=params, headers={**tenant.h(), "X-Strict-Fields": "1"})
    assert r.status_code == 400, r.text
    assert needle in " ".join(r.json()["error"])
    assert r.json()["result"] is None


def test_bracket_parser() -> None:
    parsed = parse_brackets(
        [
            ("filter[logic]", "and"),
            ("filter[filters][0][field]", "a"),
            ("filter[filters][1][field]", "b"),
            ("fields[]", "x"),
            ("fields[]", "y"),
        ]
    )
    assert parsed == {
        "filter": {"logic": "and", "filters": [{"field": "a"}, {"field": "b"}]},
        "fields": ["x", "y"],
    }
    with pytest.raises(BadRequest):
        parse_brackets([("a", "1"), ("a[b]", "2")])
    with pytest.raises(BadRequest):
        parse_brackets([("a[b]", "1"), ("a[b]", "2")])
    with pytest.raises(BadRequest):
        parse_brackets([("a" + "[x]" * 10, "1")])
