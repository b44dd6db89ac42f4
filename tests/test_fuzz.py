"""schemathesis against the OpenAPI document: a bounded number of generated requests per operation,
valid and invalid ones, as an administrator. No input may yield a 500, and every error is in the v6
envelope (``error`` set, ``result`` null). Every problem is collected before the test fails, so
one run shows them all."""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from starlette.testclient import TestClient

from conftest import TenantFixture

EXAMPLES = 4  # per operation and mode: bounded, so the suite stays fast
SHARDS = 4  # the operations in four tests, which the suite's workers share out


def _check(case: Any, response: Any, problems: list[str]) -> None:
    where = f"{case.method} {case.path}"
    if response.status_code >= 500:
        problems.append(f"{where}: {response.status_code} {response.text[:300]}")
        return
    content_type = response.headers.get("content-type") or [""]
    if response.status_code >= 400 and content_type[0].startswith("application/json"):
        body = json.loads(response.content)
        if not (isinstance(body, dict) and body.get("error") and body.get("result") is None):
            problems.append(f"{where}: {response.status_code} outside the envelope: {response.text[:300]}")


@pytest.mark.parametrize("shard", range(SHARDS))
def test_no_input_yields_a_server_error(
    app: Any, client: TestClient, tenant: TenantFixture, shard: int
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    auth = tenant.h()
    problems: list[str] = []
    operations = 0
    for index, result in enumerate(schema.get_all_operations()):
        operation = result.ok()
        operations += 1
        if index % SHARDS != shard:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: Any) -> None:
                response = case.call(headers={**(case.headers or {}), **auth})
                _check(case, response, problems)

            try:
                run()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing in it can be made invalid
    assert operations > 100  # the whole API, not an empty document
    assert not problems, "\n".join(sorted(set(problems))[:50])


def test_nul_characters_are_refused_alike_on_both_databases(
    client: TestClient, tenant: TenantFixture
) -> None:
    """PostgreSQL cannot store NUL in text; SQLite can. Both answer 400 in the envelope, nothing saved."""
    h = tenant.h()
    before = client.get("/api/v6/contacts.json", headers=h).json()["result"]["total"]
    r = client.post("/api/v6/contacts.json", json={"lastname": "A\u0000B", "database": "main"}, headers=h)
    assert r.status_code == 400 and r.json()["error"]["form"]["body"] == [
        "Text may not contain NUL characters."
    ]
    r = client.post(
        "/api/v6/contacts.json",
        json={"lastname": "Nováková", "customFields": {"note": ["x\u0000"]}},
        headers=h,
    )
    assert r.status_code == 400
    r = client.get("/api/v6/contacts.json?q=A%00B", headers=h)
    assert r.status_code in (200, 400) and (r.status_code == 200 or r.json()["error"])
    assert client.get("/api/v6/contacts.json", headers=h).json()["result"]["total"] == before
