"""The console's defences without a browser: security headers, static files by content hash, the
CSRF token on every change, the sign-in form's own token."""

from __future__ import annotations

import re
from typing import Any

from conftest import TenantFixture
from test_console_admin import _csrf

PAGES = ("/login",)


def _signed_in(client: Any, user: str) -> str:
    page = client.get("/login")
    r = client.post(
        "/login",
        data={"csrf": _csrf(page.text), "username": user, "password": "correct horse 1"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:300]
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    return _csrf(client.get("/contacts").text)


def test_pages_carry_a_csp_without_unsafe_inline(client: Any, tenant: TenantFixture) -> None:
    _signed_in(client, "acme-operator")
    for path in ("/login", "/contacts", "/tickets", "/dpo"):
        r = client.get(path)
        csp = r.headers["content-security-policy"]
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, path
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, path
        assert r.headers["x-frame-options"] == "DENY"
        # No inline script or style for the policy to have to allow.
        assert not re.search(r"<script(?![^>]*\bsrc=)", r.text), path
        assert "<style" not in r.text and " style=" not in r.text and " onclick=" not in r.text, path


def test_static_files_are_cached_under_their_content_hash(client: Any) -> None:
    page = client.get("/login").text
    paths = re.findall(r'(?:src|href)="(/static/[0-9a-f]{16}/[^"]+)"', page)
    assert any(p.endswith(".min.js") for p in paths) and any(p.endswith(".css") for p in paths)
    for path in paths:
        r = client.get(path)
        assert r.status_code == 200
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    stale = re.sub(r"/static/[0-9a-f]{16}/", "/static/0000000000000000/", paths[0])
    assert client.get(stale).status_code == 404
    assert client.get("/static/" + paths[0].split("/")[2] + "/htmx-LICENSE.txt").status_code == 404


def test_a_change_without_the_sessions_csrf_token_is_refused(client: Any, tenant: TenantFixture) -> None:
    token = _signed_in(client, "acme-operator")
    search = {"q": "Nováková"}
    refused = client.post("/contacts/search", data=search)
    assert refused.status_code == 403 and "results" not in refused.text
    assert client.post("/contacts/search", data={**search, "csrf": "0" * 64}).status_code == 403
    # A token of another session (the same user signed in elsewhere) is not this session's.
    client.cookies.delete("c_user")
    other = _signed_in(client, "acme-operator")
    assert other != token
    assert client.post("/contacts/search", data={**search, "csrf": token}).status_code == 403
    assert client.post("/contacts/search", data={**search, "csrf": other}).status_code == 200
    assert client.post("/contacts/search", data=search, headers={"X-CSRF-Token": other}).status_code == 200
    # A page of another site: refused by its Origin even with a token.
    evil = {"Origin": "https://evil.example"}
    assert client.post("/contacts/search", data={**search, "csrf": other}, headers=evil).status_code == 403
    # Signing out is a change too.
    assert client.post("/logout", follow_redirects=False).status_code == 403


def test_the_sign_in_form_has_a_token_of_its_own(client: Any, tenant: TenantFixture) -> None:
    client.cookies.clear()
    r = client.post(
        "/login", data={"username": "acme-operator", "password": "correct horse 1"}, follow_redirects=False
    )
    assert r.status_code == 403 and "c_user" not in r.headers.get("set-cookie", "")


def test_without_a_session_pages_send_to_sign_in(client: Any) -> None:
    client.cookies.clear()
    r = client.get("/contacts", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    r = client.post("/contacts/search", data={"q": "x"}, headers={"HX-Request": "true"})
    assert r.status_code == 204 and r.headers["hx-redirect"] == "/login"


def test_the_language_follows_the_choice_then_the_browser(client: Any) -> None:
    client.cookies.clear()
    assert 'lang="en"' in client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"}).text
    assert 'lang="cs"' in client.get("/login", headers={"Accept-Language": "de-DE"}).text
    page = client.get("/login", headers={"Accept-Language": "en"})
    r = client.post("/language", data={"csrf": _csrf(page.text), "lang": "cs", "back": "//evil.example"})
    assert r.status_code == 200 and 'lang="cs"' in r.text  # followed to /, then /login, in Czech
    assert "Přihlásit se" in client.get("/login", headers={"Accept-Language": "en"}).text
    # What a browser reads as another host is no path of this console either.
    for elsewhere in ("/\\evil.example", "/\t/evil.example", "https://evil.example/"):
        form = {"csrf": _csrf(page.text), "lang": "en", "back": elsewhere}
        r = client.post("/language", data=form, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/", elsewhere
    r = client.post("/language", data={**form, "back": "/tickets?stage=OPEN"}, follow_redirects=False)
    assert r.headers["location"] == "/tickets?stage=OPEN"


def test_every_message_of_the_templates_has_its_czech_translation() -> None:
    from pathlib import Path

    from babel.messages.extract import extract_from_dir
    from babel.messages.pofile import read_po

    import hovor.console

    base = Path(hovor.console.__file__).parent
    with (base / "locale/cs/LC_MESSAGES/messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="cs")
    found = extract_from_dir(base / "templates", method_map=[("**.html", "jinja2.ext:babel_extract")])
    missing = []
    for _, _, message, _, _ in found:
        entry = catalog.get(message if isinstance(message, str) else message[0])
        strings = entry.string if entry is not None else ""
        if not (all(strings) if isinstance(strings, tuple) else strings):
            missing.append(message)
    assert missing == []
