"""Sign-in, tokens in every transport v6 clients use, expiry, revocation, rehash."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update

from conftest import TenantFixture, data
from hovor.auth.models import Token, User
from hovor.auth.passwords import hash_password
from hovor.core.db import unit_of_work

PASSWORD = "correct horse 1"


def test_login_whoim_logout(client: Any, tenant: TenantFixture) -> None:
    r = client.post(
        "/api/v6/login.json", json={"username": "acme-operator", "password": PASSWORD, "only_token": "1"}
    )
    result = data(r)
    token = result["accessToken"]
    assert result["refreshToken"] and result["user"]["name"] == "acme-operator"
    who = data(client.get("/api/v6/whoim.json", headers={"X-AUTH-TOKEN": token}))
    assert who["user"]["name"] == "acme-operator" and who["tenant"] == "acme"
    assert "crm:contacts:read" in who["permissions"] and "dpo:subjects:erase" not in who["permissions"]
    assert client.post("/api/v6/logout.json", headers={"X-AUTH-TOKEN": token}).status_code == 200
    assert client.get("/api/v6/whoim.json", headers={"X-AUTH-TOKEN": token}).status_code == 401
    # The refresh token issued with it is revoked by the logout as well.
    r = client.put("/api/v6/login.json", json={"refreshToken": result["refreshToken"]})
    assert r.status_code == 401


def test_login_accepts_form_posts(client: Any, tenant: TenantFixture) -> None:
    r = client.post("/api/v6/login.json", data={"username": "acme-admin", "password": PASSWORD})
    assert r.status_code == 200 and data(r)["accessToken"]


def test_wrong_password_and_unknown_user_answer_alike(client: Any, tenant: TenantFixture) -> None:
    a = client.post("/api/v6/login.json", json={"username": "acme-admin", "password": "wrong password"})
    b = client.post("/api/v6/login.json", json={"username": "nobody-here", "password": "wrong password"})
    assert a.status_code == b.status_code == 401
    assert a.json()["error"] == b.json()["error"]
    assert "nobody-here" not in b.text


def test_refresh_rotates_the_pair(client: Any, tenant: TenantFixture) -> None:
    first = data(
        client.post("/api/v6/login.json", json={"username": "acme-supervisor", "password": PASSWORD})
    )
    second = data(client.put("/api/v6/login.json", json={"refreshToken": first["refreshToken"]}))
    assert second["accessToken"] != first["accessToken"]
    assert (
        client.get("/api/v6/whoim.json", headers={"X-AUTH-TOKEN": second["accessToken"]}).status_code == 200
    )
    # A spent refresh token cannot be used twice.
    assert client.put("/api/v6/login.json", json={"refreshToken": first["refreshToken"]}).status_code == 401
    # A refresh token is not an access token.
    assert (
        client.get("/api/v6/whoim.json", headers={"X-AUTH-TOKEN": second["refreshToken"]}).status_code == 401
    )


def test_token_transports(client: Any, tenant: TenantFixture) -> None:
    token = tenant.tokens["admin"]
    assert client.get("/api/v6/whoim.json", headers={"X-AUTH-TOKEN": token}).status_code == 200
    client.cookies.set("c_user", token)
    assert client.get("/api/v6/whoim.json").status_code == 200
    client.cookies.clear()
    assert client.get("/api/v6/whoim.json", params={"accessToken": token}).status_code == 200
    assert client.get("/api/v6/whoim.json").status_code == 401
    assert client.get("/api/v6/whoim.json", headers={"X-AUTH-TOKEN": "x" * 500}).status_code == 401


def test_tokens_are_stored_hashed(client: Any, tenant: TenantFixture, session_factory: Any) -> None:
    with unit_of_work(session_factory) as s:
        hashes = set(s.scalars(select(Token.hash)))
    assert tenant.tokens["admin"] not in hashes and len(hashes) >= 6


def test_expired_and_deactivated(client: Any, tenant: TenantFixture, session_factory: Any) -> None:
    token = tenant.tokens["operator"]
    with unit_of_work(session_factory) as s:
        s.execute(
            update(Token)
            .where(Token.user == "acme-operator")
            .values(expires=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    assert client.get("/api/v6/whoim.json", headers={"X-AUTH-TOKEN": token}).status_code == 401
    r = client.put("/api/v6/users/acme-supervisor.json", json={"deactivated": True}, headers=tenant.h())
    assert r.status_code == 200
    assert client.get("/api/v6/whoim.json", headers=tenant.h("supervisor")).status_code == 401
    r = client.post("/api/v6/login.json", json={"username": "acme-supervisor", "password": PASSWORD})
    assert r.status_code == 401


def test_password_change_revokes_tokens(client: Any, tenant: TenantFixture) -> None:
    r = client.put(
        "/api/v6/users/acme-operator.json", json={"password": "a brand new secret"}, headers=tenant.h()
    )
    assert r.status_code == 200
    assert client.get("/api/v6/whoim.json", headers=tenant.h("operator")).status_code == 401
    r = client.post(
        "/api/v6/login.json", json={"username": "acme-operator", "password": "a brand new secret"}
    )
    assert r.status_code == 200


def test_rehash_on_login(client: Any, tenant: TenantFixture, session_factory: Any) -> None:
    with unit_of_work(session_factory) as s:
        user = s.scalars(select(User).where(User.name == "acme-admin")).one()
        user.password_hash = hash_password(PASSWORD, "owasp")  # parameters other than the configured ones
        old = user.password_hash
    assert (
        client.post("/api/v6/login.json", json={"username": "acme-admin", "password": PASSWORD}).status_code
        == 200
    )
    with unit_of_work(session_factory) as s:
        new = s.scalars(select(User.password_hash).where(User.name == "acme-admin")).one()
    assert new != old and "m=64" in new and "m=19456" in old


def test_timestamps_follow_the_tenant_zone(client: Any, app: Any) -> None:
    from conftest import make_tenant

    prague = make_tenant(app, "praha", tz="Europe/Prague")
    tokyo = make_tenant(app, "tokyo", tz="Asia/Tokyo")
    a = data(client.get("/api/v6/users/praha-admin.json", headers=prague.h()))["created"]
    b = data(client.get("/api/v6/users/tokyo-admin.json", headers=tokyo.h()))["created"]
    fa = dt.datetime.strptime(a, "%Y-%m-%d %H:%M:%S")
    fb = dt.datetime.strptime(b, "%Y-%m-%d %H:%M:%S")
    offset = (fb - fa).total_seconds() / 3600
    assert 6.9 < offset < 8.1  # Tokyo is 7 or 8 hours ahead of Prague, depending on summer time


def test_caller_cache_reuses_then_forgets() -> None:
    import time as _time

    from hovor.auth.service import CallerCache
    from hovor.core.caller import Caller

    cache = CallerCache(ttl=0.3)
    caller = Caller("t", "u", "admin", frozenset(), None, "Europe/Prague", "CZ", token_hash="h1")
    far = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    cache.put("h1", caller, far)
    assert cache.get("h1") is caller
    cache.forget_user("t", "u")
    assert cache.get("h1") is None
    cache.put("h1", caller, far)
    _time.sleep(0.35)
    assert cache.get("h1") is None  # the TTL bounds how long a revocation elsewhere goes unseen
    # An entry never outlives its token.
    cache.put("h1", caller, dt.datetime.now(dt.UTC) + dt.timedelta(milliseconds=50))
    _time.sleep(0.1)
    assert cache.get("h1") is None
    assert CallerCache(ttl=0).put("h2", caller, far) is None and CallerCache(ttl=0).get("h2") is None


def test_logout_takes_effect_at_once_with_the_cache_on(client: Any, tenant: TenantFixture, app: Any) -> None:
    from hovor.auth.service import CallerCache

    saved = app.state.caller_cache
    app.state.caller_cache = CallerCache(ttl=60)
    try:
        token = data(
            client.post("/api/v6/login.json", json={"username": "acme-admin", "password": PASSWORD})
        )["accessToken"]
        h = {"X-AUTH-TOKEN": token}
        assert client.get("/api/v6/whoim.json", headers=h).status_code == 200  # now cached
        client.post("/api/v6/logout.json", headers=h)
        assert client.get("/api/v6/whoim.json", headers=h).status_code == 401
        op = tenant.h("operator")
        assert client.get("/api/v6/whoim.json", headers=op).status_code == 200
        client.put("/api/v6/users/acme-operator.json", json={"deactivated": True}, headers=tenant.h())
        assert client.get("/api/v6/whoim.json", headers=op).status_code == 401
    finally:
        app.state.caller_cache = saved


def test_password_policy_refuses_common_and_own_name(client: Any, tenant: TenantFixture) -> None:
    h = tenant.h()
    for password, why in (
        ("baseball2026", "commonly used"),  # a common one with digits after it
        ("Password123", "commonly used"),
        ("heslo12345", "commonly used"),
        ("qwertyuiop", "commonly used"),
        ("xx acme-operator xx", "user name"),
        ("short", "at least"),
    ):
        r = client.put("/api/v6/users/acme-operator.json", json={"password": password}, headers=h)
        assert r.status_code == 400, password
        assert why in r.json()["error"]["form"]["password"][0], (password, r.text)
    # Nothing changed: the old token still works.
    assert client.get("/api/v6/whoim.json", headers=tenant.h("operator")).status_code == 200
    r = client.post(
        "/api/v6/users.json",
        json={"name": "novak.jan", "title": "Jan", "role": "operator", "password": "Novak.Jan 2026"},
        headers=h,
    )
    assert r.status_code == 400
    r = client.put("/api/v6/users/acme-operator.json", json={"password": "kůň pije z potoka"}, headers=h)
    assert r.status_code == 200


def test_an_account_is_slowed_not_locked_after_failures(client: Any, tenant: TenantFixture, app: Any) -> None:
    import time

    wrong = {"username": "acme-operator", "password": "not the password"}
    for _ in range(app.state.settings.login_throttle_after):
        t0 = time.monotonic()
        assert client.post("/api/v6/login.json", json=wrong).status_code == 401
        assert time.monotonic() - t0 < 0.9  # no delay yet
    t0 = time.monotonic()
    assert client.post("/api/v6/login.json", json=wrong).status_code == 401
    assert time.monotonic() - t0 >= 1.0  # the first slowed attempt
    # The owner still signs in with the right password (after the delay): slowed, never locked.
    t0 = time.monotonic()
    r = client.post("/api/v6/login.json", json={"username": "acme-operator", "password": PASSWORD})
    assert r.status_code == 200 and time.monotonic() - t0 >= 2.0
    # Another account is not slowed.
    t0 = time.monotonic()
    assert (
        client.post("/api/v6/login.json", json={"username": "acme-admin", "password": PASSWORD}).status_code
        == 200
    )
    assert time.monotonic() - t0 < 0.9
