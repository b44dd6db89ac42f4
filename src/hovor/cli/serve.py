"""``hovor serve``, ``hovor worker`` and ``hovor tls``: running the platform."""

from __future__ import annotations

import ipaddress
import os
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from hovor.cli.common import console, fail, job_env
from hovor.core.config import get_settings
from hovor.jobs.service import Worker

tls_app = typer.Typer(help="TLS certificates.", no_args_is_help=True)


def worker() -> None:
    """Run jobs until stopped (Ctrl-C). Several workers may run at once on PostgreSQL."""
    runner = Worker(job_env())
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    runner.start()
    console.print("worker running; Ctrl-C stops it")
    stopped.wait()
    runner.stop()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    behind_proxy: Annotated[
        str | None, typer.Option(help="Comma-separated addresses of the TLS-terminating proxies in front.")
    ] = None,
    cert: Annotated[Path | None, typer.Option(help="TLS certificate (PEM, with its chain).")] = None,
    key: Annotated[Path | None, typer.Option(help="TLS private key (PEM).")] = None,
    http_port: Annotated[
        int | None, typer.Option(help="Also listen in plain HTTP here, redirecting to HTTPS.")
    ] = None,
) -> None:
    """Serve the API (and its OpenAPI page at /docs); over TLS when given a certificate."""
    from hovor.edge import tls  # deferred: imports uvicorn, which no command but serve and tls needs

    if (cert is None) != (key is None):
        fail("give both --cert and --key")
    if cert is None and http_port is not None:
        fail("--http-port redirects to HTTPS: give --cert and --key as well")
    if cert is None and not _is_loopback(host) and not behind_proxy:
        fail(
            "refusing to serve plain HTTP on a non-loopback address; give --cert and --key, "
            "or put hovor behind a TLS proxy and pass --behind-proxy ADDRESSES"
        )
    for path in (cert, key):
        if path is not None and not path.is_file():
            fail(f"no such file: {path}")
    if behind_proxy:
        # The application (its firewall) reads X-Forwarded-For and -Proto from these proxies only,
        # right to left; uvicorn's own reading stays off so that it happens in one place.
        os.environ["HOVOR_TRUSTED_PROXIES"] = behind_proxy
        get_settings.cache_clear()
    config = tls.HardenedConfig(
        "hovor.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=False,
        log_level="info",
        access_log=False,  # access logs would carry tokens passed as accessToken in URLs
        ssl_certfile=str(cert) if cert else None,
        ssl_keyfile=str(key) if key else None,
    )
    if http_port is not None:
        tls.start_redirect(host, http_port, port)
    tls.serve(config)


@tls_app.command("self-signed")
def tls_self_signed(
    cert: Annotated[Path, typer.Option(help="Where to write the certificate.")] = Path("var/tls/cert.pem"),
    key: Annotated[Path, typer.Option(help="Where to write the private key (mode 0600).")] = Path(
        "var/tls/key.pem"
    ),
    host: Annotated[
        list[str] | None, typer.Option(help="A name or address the certificate is for (repeatable).")
    ] = None,
    days: int = 30,
) -> None:
    """A self-signed certificate for development (ECDSA P-256)."""
    from hovor.edge import tls  # deferred: imports uvicorn, which no command but serve and tls needs

    hosts = host or ["localhost", "127.0.0.1", "::1"]
    tls.self_signed(cert, key, hosts, days)
    console.print(f"certificate {cert} and key {key} for {', '.join(hosts)}, valid {days} days")
