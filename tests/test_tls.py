"""hovor serving TLS itself: a generated certificate, a verifying client, TLS 1.0/1.1 refused (by
Python's ssl and by `openssl s_client`), HSTS on every answer, plain HTTP redirected."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import migrated_url


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int, Path]]:
    tmp = tmp_path_factory.mktemp("tls")
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    env = {
        **os.environ,
        "HOVOR_ENVIRONMENT": "test",
        "HOVOR_DATA_DIR": str(tmp / "var"),
        "HOVOR_DATABASE_URL": migrated_url("sqlite", tmp, "_tls"),
    }
    made = subprocess.run(
        [sys.executable, "-m", "hovor", "tls", "self-signed", "--cert", str(cert), "--key", str(key)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    assert key.stat().st_mode & 0o077 == 0  # the key is its owner's alone
    port, http_port = _port(), _port()
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "hovor", "serve", "--port", str(port), "--http-port", str(http_port)),
            *("--cert", str(cert), "--key", str(key)),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(150):
            try:
                httpx.get(
                    f"https://127.0.0.1:{port}/healthz",
                    verify=ssl.create_default_context(cafile=str(cert)),
                    timeout=1,
                )
                break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            proc.kill()
            pytest.fail((proc.stdout.read() if proc.stdout else b"").decode()[-3000:])
        yield port, http_port, cert
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_a_verifying_client_gets_hsts(served: tuple[int, int, Path]) -> None:
    port, _, cert = served
    r = httpx.get(f"https://localhost:{port}/healthz", verify=ssl.create_default_context(cafile=str(cert)))
    assert r.status_code == 200
    assert r.headers["strict-transport-security"].startswith("max-age=")
    # An error answer carries it too.
    r = httpx.get(
        f"https://localhost:{port}/api/v6/whoim.json", verify=ssl.create_default_context(cafile=str(cert))
    )
    assert r.status_code == 401 and "strict-transport-security" in r.headers
    # A client that does not trust the certificate is refused the connection.
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"https://localhost:{port}/healthz")


def _handshake(port: int, version: ssl.TLSVersion, ciphers: str = "ALL:@SECLEVEL=0") -> str:
    """Negotiates exactly ``version`` (the client allows old protocols at security level 0)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_ciphers(ciphers)
    context.minimum_version = context.maximum_version = version
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, context.wrap_socket(raw) as tls:
        return str(tls.version())


def test_old_protocols_are_refused(served: tuple[int, int, Path]) -> None:
    port, _, _ = served
    assert _handshake(port, ssl.TLSVersion.TLSv1_2) == "TLSv1.2"
    assert _handshake(port, ssl.TLSVersion.TLSv1_3) == "TLSv1.3"
    for old in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
        with pytest.raises(ssl.SSLError):
            _handshake(port, old)
    # TLS 1.2 without forward secrecy or with CBC is refused too (OpenSSL's defaults accept both).
    for weak in ("ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384", "AES128-GCM-SHA256"):
        with pytest.raises(ssl.SSLError):
            _handshake(port, ssl.TLSVersion.TLSv1_2, weak + ":@SECLEVEL=0")


def _s_client(port: int, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", *flags],
        input="",
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_openssl_s_client(served: tuple[int, int, Path]) -> None:
    port, _, _ = served
    good = _s_client(port, "-tls1_2")
    assert good.returncode == 0 and "Protocol  : TLSv1.2" in good.stdout, good.stdout[-2000:]
    assert "ECDHE" in good.stdout  # forward secrecy
    for flag in ("-tls1", "-tls1_1"):
        bad = _s_client(port, flag, "-cipher", "DEFAULT@SECLEVEL=0")
        assert bad.returncode != 0, (flag, bad.stdout[-2000:])
        assert (
            "Cipher is (NONE)" in bad.stdout
            or "no protocols available" in bad.stderr
            or "alert" in bad.stderr
        )


def test_plain_http_is_redirected(served: tuple[int, int, Path]) -> None:
    port, http_port, _ = served
    r = httpx.get(f"http://localhost:{http_port}/api/v6/contacts.json?take=5", follow_redirects=False)
    assert r.status_code == 308
    assert r.headers["location"] == f"https://localhost:{port}/api/v6/contacts.json?take=5"
    # A sign-in by query parameters over plain HTTP: its password is not echoed into Location.
    login = f"http://localhost:{http_port}/api/v6/login.json?username=jana&password=tajne-heslo-1"
    r = httpx.post(login, follow_redirects=False)
    assert r.status_code == 308 and r.headers["location"] == f"https://localhost:{port}/api/v6/login.json"


def test_serve_refuses_half_a_tls_setup(tmp_path: Path) -> None:
    env = {**os.environ, "HOVOR_ENVIRONMENT": "test", "HOVOR_DATA_DIR": str(tmp_path)}
    for args in (["--cert", "x.pem"], ["--http-port", "8081"], ["--cert", "nope.pem", "--key", "nope.pem"]):
        r = subprocess.run(
            [sys.executable, "-m", "hovor", "serve", "--port", "8998", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert r.returncode == 2, (args, r.stderr)
