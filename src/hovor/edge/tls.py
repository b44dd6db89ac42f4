"""TLS terminated by hovor itself: TLS 1.2 and 1.3 only with forward-secret AEAD ciphers, plain
HTTP redirected to HTTPS, and a development certificate made with ``cryptography``."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import re
import ssl
import threading
from pathlib import Path
from typing import Any

import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from starlette.types import Receive, Scope, Send

# TLS 1.2 suites: ECDHE key exchange, AES-GCM or ChaCha20-Poly1305 (Mozilla's "intermediate"
# profile). TLS 1.3 suites are all AEAD and are left as OpenSSL sets them.
CIPHERS = ":".join(
    [
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-CHACHA20-POLY1305",
    ]
)
HSTS = b"max-age=63072000; includeSubDomains"


def harden(context: ssl.SSLContext) -> ssl.SSLContext:
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(CIPHERS)
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    return context


class HardenedConfig(uvicorn.Config):
    """uvicorn's configuration with its TLS context hardened once loaded (in every worker process:
    each loads its own copy)."""

    def load(self) -> None:
        super().load()
        if self.ssl is not None:
            harden(self.ssl)
        self.http_protocol_class = enveloped(self.http_protocol_class)


UNREADABLE = json.dumps(
    {
        "error": ["The request could not be read: its request line or headers are malformed or too long."],
        "result": None,
    }
).encode()


def enveloped(protocol: type[Any]) -> type[Any]:
    """The server's HTTP protocol, answering what its parser refuses (a request line past the
    parser's limit, garbage) in the API's envelope rather than in plain text. Everything the
    parser lets through reaches the application, which answers its own 400, 413 and 414."""
    if not hasattr(protocol, "send_400_response"):
        return protocol

    class Enveloped(protocol):
        def send_400_response(self, msg: str) -> None:
            head = (
                b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n"
                b"content-length: %d\r\nconnection: close\r\n\r\n" % len(UNREADABLE)
            )
            self.transport.write(head + UNREADABLE)
            self.transport.close()

    Enveloped.__name__ = Enveloped.__qualname__ = f"Enveloped{protocol.__name__}"
    return Enveloped


def serve(config: uvicorn.Config) -> None:
    """What ``uvicorn.run`` does, with a configuration object of our own."""
    # deferred: only a server with several workers needs uvicorn's supervisor
    from uvicorn.supervisors import Multiprocess

    server = uvicorn.Server(config)
    try:
        if config.workers > 1:
            Multiprocess(config, sockets=[config.bind_socket()]).run()
        else:
            server.run()
    except KeyboardInterrupt:  # pragma: no cover
        pass


_HOST = re.compile(r"^[A-Za-z0-9.\-]+$|^\[[0-9A-Fa-f:.]+\]$")


_CREDENTIALS = re.compile(rb"(?:^|&)(?:password|totp|accessToken|refreshToken)=", re.IGNORECASE)


class RedirectToHttps:
    """The plain-HTTP port's whole application: a permanent redirect to the same path over HTTPS."""

    def __init__(self, https_port: int) -> None:
        self.https_port = https_port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        headers = dict(scope.get("headers") or [])
        host = headers.get(b"host", b"").decode("latin-1").strip()
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if not _HOST.match(name or ""):
            name = "localhost"
        port = "" if self.https_port == 443 else f":{self.https_port}"
        target = f"https://{name}{port}{scope.get('raw_path', b'').decode('latin-1') or scope['path']}"
        query = scope.get("query_string") or b""
        # A query that carries credentials (a sign-in by query parameters) is not echoed into the
        # Location header, where proxies and browsers would keep it; the client signs in again.
        if query and not _CREDENTIALS.search(query):
            target += "?" + query.decode("latin-1")
        await send(
            {
                "type": "http.response.start",
                "status": 308,
                "headers": [(b"location", target.encode("latin-1")), (b"content-length", b"0")],
            }
        )
        await send({"type": "http.response.body", "body": b""})


def start_redirect(host: str, http_port: int, https_port: int) -> Any:
    """Serve the redirect on ``http_port`` in a thread of this process."""
    config = uvicorn.Config(RedirectToHttps(https_port), host=host, port=http_port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="http-redirect", daemon=True)
    thread.start()
    return server


def self_signed(cert: Path, key: Path, hosts: list[str], days: int = 30) -> None:
    """A development certificate for ``hosts`` (names or addresses), ECDSA P-256, written with the
    key readable by its owner only."""
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])])
    alt: list[x509.GeneralName] = []
    for h in hosts:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            alt.append(x509.DNSName(h))
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(private, hashes.SHA256())
    )
    key_bytes = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    cert.parent.mkdir(parents=True, exist_ok=True)
    key.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key_bytes)
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
