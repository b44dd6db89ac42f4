"""``hovor firewall``: bans and the allow and deny lists."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import select

from hovor.audit import log as audit
from hovor.audit.keys import Pseudonyms
from hovor.cli.common import CLI, console, factory, fail
from hovor.core.config import get_settings
from hovor.core.db import unit_of_work, utcnow
from hovor.edge.models import FirewallBan, FirewallRule
from hovor.edge.store import add_rule, parse_network, remove_rule, unban

firewall_app = typer.Typer(help="The firewall: bans and allow/deny lists.", no_args_is_help=True)


def _redis() -> Any:
    settings = get_settings()
    if not settings.firewall_redis_url:
        return None
    import redis  # deferred: needed only where bans are shared through Redis; costs about 40 ms

    return redis.Redis.from_url(settings.firewall_redis_url), settings.firewall_redis_prefix


@firewall_app.command("list")
def firewall_list(
    every: Annotated[bool, typer.Option("--all", help="Also bans that ended or were lifted.")] = False,
) -> None:
    """Bans in force (or all), newest first, and the allow and deny lists."""
    now = utcnow()
    with factory()() as session:
        stmt = select(FirewallBan).order_by(FirewallBan.created.desc())
        if not every:
            stmt = stmt.where(FirewallBan.until > now, FirewallBan.lifted.is_(None))
        table = Table("client", "reason", "score", "earlier bans", "banned", "until", "lifted", title="Bans")
        for b in session.scalars(stmt.limit(1000)):
            table.add_row(
                b.key,
                b.reason,
                f"{b.score:g}",
                str(b.offences),
                audit.stamp(b.created),
                audit.stamp(b.until),
                f"{audit.stamp(b.lifted)} by {b.lifted_by}" if b.lifted else "",
            )
        console.print(table)
        rules = Table("kind", "network", "tenant", "note", title="Lists")
        for r in session.scalars(select(FirewallRule).order_by(FirewallRule.kind, FirewallRule.network)):
            rules.add_row(r.kind, r.network, r.tenant_id or "(platform)", r.note or "")
        console.print(rules)


@firewall_app.command("unban")
def firewall_unban(
    address: Annotated[str, typer.Argument(help="The client's address (IPv6: any in its /64).")],
) -> None:
    """Lift a ban now (audited)."""
    # deferred: the firewall middleware imports uvicorn (via hovor.edge.tls), which only serve needs
    from hovor.edge.firewall import client_key

    key = client_key(address)
    if key is None:
        fail(f"not an IP address: {address}")
    lifted = unban(factory(), Pseudonyms(get_settings().secret_key), key, "cli", CLI, _redis())
    console.print(f"{key}: {lifted} ban(s) lifted" if lifted else f"{key} was not banned")


def _list_entry(kind: str, network: str, note: str | None, tenant: str | None) -> None:
    try:
        with unit_of_work(factory()) as session:
            rule = add_rule(session, kind, network, note, tenant, "cli", CLI)
    except ValueError:
        fail(f"not an address or network: {network}")
    console.print(f"{kind} {rule.network}" + (f" for tenant {tenant}" if tenant else " platform-wide"))


@firewall_app.command("allow")
def firewall_allow(
    network: Annotated[str, typer.Argument(help="An address or network never to ban.")],
    note: str | None = None,
    tenant: Annotated[str | None, typer.Option(help="A tenant's entry (its office).")] = None,
) -> None:
    """Allow-list an address or network (never banned)."""
    _list_entry("allow", network, note, tenant)


@firewall_app.command("deny")
def firewall_deny(
    network: Annotated[str, typer.Argument(help="An address or network always refused.")],
    note: str | None = None,
) -> None:
    """Deny-list an address or network (always refused)."""
    _list_entry("deny", network, note, None)


@firewall_app.command("unlist")
def firewall_unlist(network: Annotated[str, typer.Argument(help="The listed network.")]) -> None:
    """Remove an allow- or deny-list entry."""
    try:
        net = parse_network(network)
    except ValueError:
        fail(f"not an address or network: {network}")
    with unit_of_work(factory()) as session:
        rows = list(session.scalars(select(FirewallRule).where(FirewallRule.network == net)))
        for r in rows:
            remove_rule(session, r, CLI)
    console.print(f"{len(rows)} entr{'y' if len(rows) == 1 else 'ies'} removed")
