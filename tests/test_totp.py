"""The second factor (TOTP) for admins and the DPO, and web sessions with their time limits."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from sqlalchemy import select, update

from conftest import TenantFixture, data
from hovor.audit.models import AuditEntry
from hovor.auth import totp
from hovor.auth.models import Token, User
from hovor.core.db import unit_of_work, utcnow

PASSWORD = "correct horse 1"


def login(client: Any, user: str, code: str | None = None, **extra: Any) -> Any:
    body = {"username": user, "password": PASSWORD, **extra}
    if code is not None:
        body["totp"] = code
    return client.post("/api/v6/login.json", json=body)


def fail_reasons(s: Any) -> list[str]:
    """The reasons of acme's failed sign-ins, oldest first."""
    entries = s.scalars(
        select(AuditEntry)
        .where(AuditEntry.tenant_id == "acme", AuditEntry.action == "auth.login.fail")
        .order_by(AuditEntry.name)
    )
    return [e.details["reason"] for e in entries]


def code_at(secret: str, steps_ahead: int) -> str:
    return totp.code_now(secret, time.time() + steps_ahead * totp.STEP)


def enroll(client: Any, token: str) -> tuple[str, dict[str, Any]]:
    """Sets up a second factor with ``token``; returns the secret and the confirmation's result."""
    h = {"X-AUTH-TOKEN": token}
    started = data(client.post("/api/v6/whoim/totp.json", headers=h, json={"password": PASSWORD}))
    secret = started["secret"]
    assert started["uri"].startswith("otpauth://totp/") and secret in started["uri"]
    return secret, data(client.put("/api/v6/whoim/totp.json", headers=h, json={"totp": code_at(secret, 0)}))


def test_admin_sets_up_a_second_factor_before_anything_else(
    client: Any, tenant: TenantFixture, session_factory: Any
) -> None:
    first = data(login(client, "acme-admin"))
    assert first["secondFactor"] == "setup" and first["refreshToken"] is None
    setup = {"X-AUTH-TOKEN": first["accessToken"]}
    # The set-up token reaches whoim and the set-up, nothing else.
    refused = client.get("/api/v6/contacts.json", headers=setup)
    assert refused.status_code == 403 and "second factor" in refused.json()["error"][0]
    assert data(client.get("/api/v6/whoim.json", headers=setup))["secondFactor"] is False

    started = data(client.post("/api/v6/whoim/totp.json", headers=setup, json={}))
    secret = started["secret"]
    # A wrong code confirms nothing: the account still has no second factor.
    wrong = client.put("/api/v6/whoim/totp.json", headers=setup, json={"totp": "000000"})
    if totp.match(secret, "000000", None) is None:
        assert wrong.status_code == 403
    with unit_of_work(session_factory) as s:
        row = s.get(User, ("acme", "acme-admin"))
        assert row is not None and row.totp_secret is None and row.totp_pending
        # Sealed at rest, and bound to its account.
        assert secret not in row.totp_pending
        sealer = totp.Sealer(client.app.state.settings.secret_key)
        assert sealer.open(row.totp_pending, totp.owner_of("acme", "acme-admin")) == secret
        assert sealer.open(row.totp_pending, totp.owner_of("acme", "acme-dpo")) is None

    confirming = code_at(secret, 0)
    confirmed = data(client.put("/api/v6/whoim/totp.json", headers=setup, json={"totp": confirming}))
    assert confirmed["refreshToken"] and confirmed["secondFactor"] is None
    full = {"X-AUTH-TOKEN": confirmed["accessToken"]}
    assert client.get("/api/v6/contacts.json", headers=full).status_code == 200
    assert client.get("/api/v6/whoim.json", headers=setup).status_code == 401  # spent
    assert data(client.get("/api/v6/whoim.json", headers=full))["secondFactor"] is True

    # From now on the password alone does not sign in.
    needs = login(client, "acme-admin")
    assert needs.status_code == 401 and "one-time code" in needs.json()["error"][0]
    assert login(client, "acme-admin", "12345").status_code == 401
    # The code used to confirm is spent; the next one signs in once.
    assert login(client, "acme-admin", confirming).status_code == 401
    good = code_at(secret, 1)
    signed = data(login(client, "acme-admin", good))
    assert signed["secondFactor"] is None and signed["refreshToken"]
    assert login(client, "acme-admin", good).status_code == 401  # replayed
    with unit_of_work(session_factory) as s:
        reasons = fail_reasons(s)
        methods = [
            e.details
            for e in s.scalars(
                select(AuditEntry).where(
                    AuditEntry.tenant_id == "acme", AuditEntry.action == "auth.login.success"
                )
            )
        ]
        actions = set(s.scalars(select(AuditEntry.action).where(AuditEntry.tenant_id == "acme")))
    assert reasons.count("totp") == 3
    assert {"second_factor": "setup"} in methods and {"second_factor": "totp"} in methods
    assert {"auth.totp.setup", "auth.totp.enable"} <= actions

    # The admin's role requires it: the admin cannot remove it, not even with a code.
    gone = client.request(
        "DELETE", "/api/v6/whoim/totp.json", headers=full, json={"totp": code_at(secret, 2)}
    )
    assert gone.status_code == 409


def test_the_dpo_needs_it_and_an_operator_does_not(client: Any, tenant: TenantFixture) -> None:
    assert data(login(client, "acme-dpo"))["secondFactor"] == "setup"
    plain = data(login(client, "acme-operator"))
    assert plain["secondFactor"] is None and plain["refreshToken"]
    # A custom role with the right to change users is an admin's role in all but name.
    h = tenant.h("admin")
    data(
        client.post(
            "/api/v6/roles.json",
            headers=h,
            json={"name": "helper", "title": "H", "permissions": ["admin:users:update"]},
        )
    )
    data(client.put("/api/v6/users/acme-operator.json", headers=h, json={"role": "helper"}))
    assert data(login(client, "acme-operator"))["secondFactor"] == "setup"
    # Nor does a refresh token issued before the role changed get around it.
    refused = client.put("/api/v6/login.json", json={"refreshToken": plain["refreshToken"]})
    assert refused.status_code == 401


def test_a_voluntary_factor_can_be_removed_with_a_code(client: Any, tenant: TenantFixture) -> None:
    token = data(login(client, "acme-supervisor"))["accessToken"]
    secret, result = enroll(client, token)
    # The sign-in that set it up gave no code of it: it ends, and a fresh one takes its place.
    assert client.get("/api/v6/whoim.json", headers={"X-AUTH-TOKEN": token}).status_code == 401
    assert result["refreshToken"]
    assert login(client, "acme-supervisor").status_code == 401
    h = {"X-AUTH-TOKEN": result["accessToken"]}
    assert client.request("DELETE", "/api/v6/whoim/totp.json", headers=h, json={}).status_code == 403
    assert (
        client.request(
            "DELETE", "/api/v6/whoim/totp.json", headers=h, json={"totp": code_at(secret, 1)}
        ).status_code
        == 200
    )
    assert data(login(client, "acme-supervisor"))["accessToken"]


def test_an_admin_resets_a_lost_factor(client: Any, tenant: TenantFixture, app: Any) -> None:
    setup = data(login(client, "acme-dpo"))["accessToken"]
    secret, signed = enroll(client, setup)
    session_token = {"X-AUTH-TOKEN": signed["accessToken"]}
    assert client.get("/api/v6/whoim.json", headers=session_token).status_code == 200
    # Only with the right to change users, and only of a user whose rights are within one's own:
    # an administrator without the DPO's rights may not take the DPO's second factor away.
    assert (
        client.delete("/api/v6/users/acme-dpo/totp.json", headers=tenant.h("supervisor")).status_code == 403
    )
    refused = client.delete("/api/v6/users/acme-dpo/totp.json", headers=tenant.h("admin"))
    assert refused.status_code == 403 and "holds rights yours does not" in refused.json()["error"][0]
    assert client.get("/api/v6/whoim.json", headers=session_token).status_code == 200
    # A chief administrator whose role holds the DPO's rights too (made by the platform) may.
    from hovor.auth import schemas, users
    from hovor.auth.models import Role
    from hovor.auth.service import issue_api_token, system_caller

    with unit_of_work(app.state.session_factory) as s:
        dpo = s.get(Role, ("acme", "dpo"))
        assert dpo is not None
        rights = sorted({*dpo.permissions, "admin:users:update"})
        system = system_caller(s, "acme")
        users.create_role(s, system, schemas.RoleCreate(name="chief", title="Chief", permissions=rights))
        users.create_user(s, system, schemas.UserCreate(name="acme-chief", title="Chief", role="chief"))
        chief, _ = issue_api_token(s, app.state.settings, "acme", "acme-chief", None, 1)
    r = client.delete("/api/v6/users/acme-dpo/totp.json", headers={"X-AUTH-TOKEN": chief})
    assert r.status_code == 200
    # The DPO's sign-ins ended; the API token an admin issued stays; the next sign-in sets up again.
    assert client.get("/api/v6/whoim.json", headers=session_token).status_code == 401
    assert client.get("/api/v6/whoim.json", headers=tenant.h("dpo")).status_code == 200
    # The old app's code is ignored: the account has no factor any more and sets one up again.
    assert data(login(client, "acme-dpo", code_at(secret, 1)))["secondFactor"] == "setup"
    assert data(login(client, "acme-dpo"))["secondFactor"] == "setup"


def test_web_session_cookie_idle_and_absolute_limits(
    client: Any, tenant: TenantFixture, session_factory: Any
) -> None:
    r = login(client, "acme-operator", session=True)
    body = data(r)
    assert body["accessToken"] is None and body["refreshToken"] is None
    cookie = r.headers["set-cookie"]
    assert (
        "c_user=" in cookie
        and "HttpOnly" in cookie
        and "SameSite=strict" in cookie.replace("Strict", "strict")
    )
    assert client.get("/api/v6/whoim.json").status_code == 200  # the cookie alone
    # A change from another site's page is refused even with the cookie; from this service's it goes.
    other = {"Origin": "https://evil.example"}
    assert (
        client.post(
            "/api/v6/contacts.json", headers=other, json={"lastname": "X", "database": "main"}
        ).status_code
        == 403
    )
    same = {"Origin": "http://testserver"}
    assert (
        client.post(
            "/api/v6/contacts.json", headers=same, json={"lastname": "X", "database": "main"}
        ).status_code
        == 201
    )

    raw = client.cookies.get("c_user")
    from hovor.auth.service import digest

    cache = client.app.state.caller_cache
    idle = dt.timedelta(minutes=client.app.state.settings.session_idle_minutes)
    with unit_of_work(session_factory) as s:
        token = s.get(Token, digest(raw))
        assert token is not None and token.kind == "session"
        # Idle for just under the limit (counted from the sign-in until first stamped): still on.
        s.execute(
            update(Token)
            .where(Token.hash == token.hash)
            .values(last_used=utcnow() - idle + dt.timedelta(minutes=1))
        )
    cache.clear()
    assert client.get("/api/v6/whoim.json").status_code == 200
    with unit_of_work(session_factory) as s:
        # The request stamped it again (more than a minute since the last stamp).
        stamped = s.get(Token, digest(raw))
        assert stamped is not None and stamped.last_used is not None
        assert utcnow() - stamped.last_used < dt.timedelta(seconds=30)
        s.execute(update(Token).where(Token.hash == stamped.hash).values(last_used=utcnow() - idle))
    cache.clear()
    assert client.get("/api/v6/whoim.json").status_code == 401  # idle too long

    # However busy, a session ends at its absolute limit.
    data(login(client, "acme-operator", session=True))
    raw = client.cookies.get("c_user")
    with unit_of_work(session_factory) as s:
        token = s.get(Token, digest(raw))
        assert token is not None
        hours = client.app.state.settings.session_max_hours
        assert abs((token.expires - token.created) - dt.timedelta(hours=hours)) < dt.timedelta(seconds=5)
        s.execute(update(Token).where(Token.hash == token.hash).values(expires=utcnow(), last_used=utcnow()))
    cache.clear()
    assert client.get("/api/v6/whoim.json").status_code == 401

    # Signing out ends the session and clears the cookie.
    data(login(client, "acme-operator", session=True))
    out = client.post("/api/v6/logout.json", headers={"Origin": "http://testserver"})
    assert out.status_code == 200
    assert "c_user=" in out.headers["set-cookie"] and "Max-Age=0" in out.headers["set-cookie"]
    assert client.get("/api/v6/whoim.json").status_code == 401


def test_wrong_codes_are_limited_per_account(
    client: Any, tenant: TenantFixture, session_factory: Any, monkeypatch: Any
) -> None:
    from hovor.auth.service import CODE_FAILURES

    # The sign-in delay after failures is test_auth's; here it would only slow the test down.
    monkeypatch.setattr(client.app.state.settings, "login_throttle_after", 1000)
    secret, _ = enroll(client, data(login(client, "acme-dpo"))["accessToken"])
    good = code_at(secret, 1)
    wrong = next(c for c in ("000000", "111111", "222222") if totp.match(secret, c, None) is None)
    for _ in range(CODE_FAILURES):
        assert login(client, "acme-dpo", wrong).status_code == 401
    # Past the limit not even the right code is looked at (for the window): whoever has the
    # password gets ten guesses of a million, from however many addresses.
    assert login(client, "acme-dpo", good).status_code == 401
    with unit_of_work(session_factory) as s:
        reasons = fail_reasons(s)
        assert reasons.count("totp") == CODE_FAILURES and reasons.count("totp-limit") == 1
        # The window passes: the right code signs in and the count starts again.
        s.execute(
            update(User)
            .where(User.name == "acme-dpo")
            .values(totp_failed_at=utcnow() - dt.timedelta(minutes=16))
        )
    assert data(login(client, "acme-dpo", code_at(secret, 1)))["refreshToken"]
    with unit_of_work(session_factory) as s:
        row = s.get(User, ("acme", "acme-dpo"))
        assert row is not None and row.totp_failures == 0


def test_proving_it_again_on_a_signed_in_session(
    client: Any, tenant: TenantFixture, session_factory: Any
) -> None:
    signed = data(login(client, "acme-supervisor"))["accessToken"]
    h = {"X-AUTH-TOKEN": signed}
    # A session (not the set-up token) sets up a factor only with the password again.
    assert client.post("/api/v6/whoim/totp.json", headers=h, json={}).status_code == 403
    assert (
        client.post("/api/v6/whoim/totp.json", headers=h, json={"password": "not it at all"}).status_code
        == 403
    )
    # An integration's API token never sets one up.
    assert (
        client.post(
            "/api/v6/whoim/totp.json", headers=tenant.h("operator"), json={"password": PASSWORD}
        ).status_code
        == 403
    )
    secret, fresh = enroll(client, signed)
    h = {"X-AUTH-TOKEN": fresh["accessToken"]}
    # Replacing it takes a code of it; a wrong one counts like a wrong code at sign-in.
    wrong = next(c for c in ("000000", "111111", "222222") if totp.match(secret, c, None) is None)
    r = client.post("/api/v6/whoim/totp.json", headers=h, json={"password": PASSWORD, "totp": wrong})
    assert r.status_code == 403
    with unit_of_work(session_factory) as s:
        row = s.get(User, ("acme", "acme-supervisor"))
        assert row is not None and row.totp_failures == 1 and row.totp_pending is None
        fails = list(s.scalars(select(AuditEntry).where(AuditEntry.action == "auth.totp.fail")))
        assert [e.details["reason"] for e in fails] == ["password", "password", "totp"]
    code = code_at(secret, 1)
    assert data(client.post("/api/v6/whoim/totp.json", headers=h, json={"password": PASSWORD, "totp": code}))[
        "secret"
    ]
    # That code is spent now: it does not sign in.
    assert login(client, "acme-supervisor", code).status_code == 401


def test_a_promotion_confines_an_open_session_until_it_sets_up(client: Any, tenant: TenantFixture) -> None:
    cache = client.app.state.caller_cache
    session_token = {"X-AUTH-TOKEN": data(login(client, "acme-operator"))["accessToken"]}
    assert client.get("/api/v6/contacts.json", headers=session_token).status_code == 200
    data(client.put("/api/v6/users/acme-operator.json", headers=tenant.h("admin"), json={"role": "admin"}))
    cache.clear()
    refused = client.post("/api/v6/roles.json", headers=session_token, json={"name": "x1", "title": "X"})
    assert refused.status_code == 403 and "second factor" in refused.json()["error"][0]
    # Whoever holds that old session (stolen, left open) cannot tie the account to a phone of theirs:
    # unlike a set-up token just made with the password, it must give the password again.
    assert client.post("/api/v6/whoim/totp.json", headers=session_token, json={}).status_code == 403
    _secret, full = enroll(client, session_token["X-AUTH-TOKEN"])
    h = {"X-AUTH-TOKEN": full["accessToken"]}
    assert client.post("/api/v6/roles.json", headers=h, json={"name": "x2", "title": "X"}).status_code == 201


def test_cookie_writes_must_come_from_this_origin(
    client: Any, tenant: TenantFixture, monkeypatch: Any
) -> None:
    # Any token a client puts in the cookie (not only a web session's) gets the check.
    client.cookies.set("c_user", tenant.tokens["operator"])
    body = {"lastname": "X", "database": "main"}
    assert (
        client.post(
            "/api/v6/contacts.json", headers={"Origin": "https://evil.example"}, json=body
        ).status_code
        == 403
    )
    assert (
        client.post("/api/v6/contacts.json", headers={"Origin": "https://testserver"}, json=body).status_code
        == 403
    )
    assert (
        client.post("/api/v6/contacts.json", headers={"Origin": "http://testserver"}, json=body).status_code
        == 201
    )
    # The same token in the header is a client's, not a browser's: no Origin check.
    client.cookies.clear()
    h = {**tenant.h("operator"), "Origin": "https://evil.example"}
    assert client.post("/api/v6/contacts.json", headers=h, json=body).status_code == 201
    # Behind a proxy that rewrites Host, the public address decides.
    client.cookies.set("c_user", tenant.tokens["operator"])
    monkeypatch.setattr(client.app.state.settings, "public_url", "https://kc.example.com")
    ok_origin = {"Origin": "https://kc.example.com"}
    assert client.post("/api/v6/contacts.json", headers=ok_origin, json=body).status_code == 201
    assert (
        client.post("/api/v6/contacts.json", headers={"Origin": "http://testserver"}, json=body).status_code
        == 403
    )
    client.cookies.clear()


def test_a_browser_sets_up_its_factor_and_keeps_a_cookie_session(client: Any, tenant: TenantFixture) -> None:
    setup = data(login(client, "acme-dpo", session=True))
    assert setup["secondFactor"] == "setup"
    h = {"X-AUTH-TOKEN": setup["accessToken"]}
    secret = data(client.post("/api/v6/whoim/totp.json", headers=h, json={}))["secret"]
    wrong = next(c for c in ("000000", "111111", "222222") if totp.match(secret, c, None) is None)
    # A wrong confirmation code is counted and refused like any other.
    assert client.put("/api/v6/whoim/totp.json", headers=h, json={"totp": wrong}).status_code == 403
    r = client.put("/api/v6/whoim/totp.json", headers=h, json={"totp": code_at(secret, 0), "session": True})
    body = data(r)
    assert body["accessToken"] is None and body["refreshToken"] is None
    assert "HttpOnly" in r.headers["set-cookie"] and "c_user=" in r.headers["set-cookie"]
    assert data(client.get("/api/v6/whoim.json"))["secondFactor"] is True
