"""The firewall over HTTP: bans and the platform's lists for the platform operator
(``firewall/bans.json``, ``firewall/rules.json``), and a tenant's own allow-list for its admin
(``allowedNetworks.json``: its offices' public addresses, whose agents must never be banned).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hovor.api.deps import CurrentCaller, DbSession, permitted
from hovor.api.envelope import ok
from hovor.audit import log as audit
from hovor.auth.api import parsed
from hovor.auth.platform_api import PLATFORM, Operator, _staff_actor
from hovor.core.caller import Caller
from hovor.core.db import utcnow
from hovor.core.errors import BadRequest, Conflict, NotFound
from hovor.core.permissions import Permission
from hovor.core.validation import NoNulModel
from hovor.core.wire import to_wire
from hovor.edge.models import FirewallBan, FirewallRule
from hovor.edge.store import add_rule, parse_network, remove_rule, unban
from hovor.tenancy.models import Tenant

router = APIRouter(tags=["Firewall"])

# A tenant's entry may exempt its own office, not a provider's whole range nor the platform's insides.
TENANT_MIN_PREFIX = {4: 24, 6: 48}
TENANT_MAX_ENTRIES = 50


class RuleIn(NoNulModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    kind: str = Field(pattern="^(allow|deny)$")
    network: str = Field(min_length=2, max_length=64)
    note: str | None = Field(None, max_length=255)
    tenant: str | None = Field(
        None, max_length=64, description="A tenant's allow entry; none: platform-wide."
    )


class AllowIn(NoNulModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    network: str = Field(min_length=2, max_length=64)
    note: str | None = Field(None, max_length=255)


def _ban(ban: FirewallBan, tz: str) -> dict[str, Any]:
    return {
        "name": ban.name,
        "client": ban.key,
        "reason": ban.reason,
        "score": ban.score,
        "offences": ban.offences,
        "created": to_wire(ban.created, tz),
        "until": to_wire(ban.until, tz),
        "lifted": to_wire(ban.lifted, tz),
        "lifted_by": ban.lifted_by,
    }


def _rule(rule: FirewallRule, tz: str) -> dict[str, Any]:
    return {
        "name": rule.name,
        "kind": rule.kind,
        "network": rule.network,
        "tenant": rule.tenant_id,
        "note": rule.note,
        "created": to_wire(rule.created, tz),
        "created_by": rule.created_by,
    }


def _redis(request: Request) -> Any:
    store = request.app.state.firewall_store
    client = getattr(store, "redis", None)
    return None if client is None else (client, store.prefix)


@router.get("/api/v6/firewall/bans.json", openapi_extra=PLATFORM, summary="Bans in force (all=1: every ban)")
def list_bans(
    request: Request,
    session: DbSession,
    token: Operator,
    all: bool = False,
    skip: int = Query(0, ge=0),
    take: int = Query(100, ge=1, le=1000),
) -> Any:
    stmt = select(FirewallBan)
    if not all:
        stmt = stmt.where(FirewallBan.until > utcnow(), FirewallBan.lifted.is_(None))
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    tz = request.app.state.settings.timezone
    rows = session.scalars(
        stmt.order_by(FirewallBan.created.desc(), FirewallBan.name).offset(skip).limit(take)
    )
    return ok(request, {"data": [_ban(b, tz) for b in rows], "total": total})


@router.delete(
    "/api/v6/firewall/bans/{name}.json",
    openapi_extra=PLATFORM,
    summary="Lift a ban now (every ban in force of its client) and forget the client's score",
)
def lift_ban(request: Request, token: Operator, name: str) -> Any:
    # No request session: the unban is one transaction of its own (store.unban), as from the CLI.
    state = request.app.state
    with state.read_session_factory() as session:
        key = session.scalar(select(FirewallBan.key).where(FirewallBan.name == name))
    if key is None:
        raise NotFound("No such ban.")
    actor = _staff_actor(request, token.operator)
    lifted = unban(state.session_factory, state.pseudonyms, key, token.operator, actor, _redis(request))
    return ok(request, {"lifted": lifted})


@router.get("/api/v6/firewall/rules.json", openapi_extra=PLATFORM, summary="Allow- and deny-list entries")
def list_rules(request: Request, session: DbSession, token: Operator) -> Any:
    tz = request.app.state.settings.timezone
    rows = list(session.scalars(select(FirewallRule).order_by(FirewallRule.kind, FirewallRule.network)))
    return ok(request, {"data": [_rule(r, tz) for r in rows], "total": len(rows)})


@router.post(
    "/api/v6/firewall/rules.json", openapi_extra=PLATFORM, summary="Add an allow- or deny-list entry"
)
async def create_rule(request: Request, session: DbSession, token: Operator) -> Any:
    body: RuleIn = await parsed(request, RuleIn)
    if body.tenant and body.kind != "allow":
        raise BadRequest("A tenant's entry can only allow; deny entries are platform-wide.")
    try:
        parse_network(body.network)
    except ValueError:
        raise BadRequest("network must be an IP address or network (CIDR).") from None

    actor = _staff_actor(request, token.operator)

    def create() -> dict[str, Any]:
        if body.tenant and session.get(Tenant, body.tenant) is None:
            raise NotFound("No such tenant.")
        rule = add_rule(session, body.kind, body.network, body.note, body.tenant, token.operator, actor)
        session.commit()
        return _rule(rule, request.app.state.settings.timezone)

    return ok(request, await run_in_threadpool(create), 201)


@router.delete("/api/v6/firewall/rules/{name}.json", openapi_extra=PLATFORM, summary="Remove a list entry")
def delete_rule(request: Request, session: DbSession, token: Operator, name: str) -> Any:
    rule = session.get(FirewallRule, name)
    if rule is None:
        raise NotFound("No such entry.")
    remove_rule(session, rule, _staff_actor(request, token.operator))
    session.commit()
    return ok(request, True)


def _tenant_network(text: str, trusted: str) -> str:
    """The canonical network of a tenant's allow entry, or a 400 saying why it cannot be one."""
    try:
        net = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise BadRequest("network must be an IP address or network (CIDR).") from None
    if net.prefixlen < TENANT_MIN_PREFIX[net.version]:
        raise BadRequest(
            f"network may be at most a /{TENANT_MIN_PREFIX[net.version]} (an office's addresses); ask "
            "the platform operator for wider entries."
        )
    if not net.is_global:
        raise BadRequest("network must be a public address (the office's address as the internet sees it).")
    for proxy in (p.strip() for p in trusted.split(",") if p.strip()):
        try:
            if net.overlaps(ipaddress.ip_network(proxy, strict=False)):
                raise BadRequest("network must not include the platform's own proxies.")
        except (ValueError, TypeError):
            continue
    return str(net)


def allowed_networks(session: Session, caller: Caller) -> list[dict[str, Any]]:
    """The tenant's allow-list as ``allowedNetworks.json`` answers it (the console's list too)."""
    rows = session.scalars(
        select(FirewallRule)
        .where(FirewallRule.tenant_id == caller.tenant_id, FirewallRule.kind == "allow")
        .order_by(FirewallRule.network)
    )
    return [_rule(r, caller.timezone) for r in rows]


def add_allowed(request: Request, session: Session, caller: Caller, body: AllowIn) -> dict[str, Any]:
    """An office's network added (checked, audited, committed): ``POST allowedNetworks.json``'s work."""
    network = _tenant_network(body.network, request.app.state.settings.trusted_proxies)
    mine = select(FirewallRule).where(FirewallRule.tenant_id == caller.tenant_id)
    if (session.scalar(select(func.count()).select_from(mine.subquery())) or 0) >= TENANT_MAX_ENTRIES:
        raise Conflict(f"A tenant may list at most {TENANT_MAX_ENTRIES} networks.")
    if session.scalar(mine.where(FirewallRule.network == network)) is not None:
        raise Conflict("This network is listed already.")
    rule = add_rule(
        session, "allow", network, body.note, caller.tenant_id, caller.user, audit.actor_of(request)
    )
    session.commit()
    return _rule(rule, caller.timezone)


def remove_allowed(request: Request, session: Session, caller: Caller, name: str) -> None:
    """``DELETE allowedNetworks/{name}.json``'s work: another tenant's entry is not found."""
    rule = session.get(FirewallRule, name)
    if rule is None or rule.tenant_id != caller.tenant_id or rule.kind != "allow":
        raise NotFound("No such entry.")
    remove_rule(session, rule, audit.actor_of(request))
    session.commit()


@router.get(
    "/api/v6/allowedNetworks.json",
    summary="This tenant's offices: addresses the firewall never bans",
)
@permitted(Permission.ADMIN_FIREWALL_READ)
def list_allowed(request: Request, session: DbSession, caller: CurrentCaller) -> Any:
    rows = allowed_networks(session, caller)
    return ok(request, {"data": rows, "total": len(rows)})


@router.post(
    "/api/v6/allowedNetworks.json",
    summary="Add an office address the firewall never bans",
)
@permitted(Permission.ADMIN_FIREWALL_CREATE)
async def create_allowed(request: Request, session: DbSession, caller: CurrentCaller) -> Any:
    body: AllowIn = await parsed(request, AllowIn)
    return ok(request, await run_in_threadpool(add_allowed, request, session, caller, body), 201)


@router.delete(
    "/api/v6/allowedNetworks/{name}.json",
    summary="Remove an office address from the allow-list",
)
@permitted(Permission.ADMIN_FIREWALL_DELETE)
def delete_allowed(request: Request, session: DbSession, caller: CurrentCaller, name: str) -> Any:
    remove_allowed(request, session, caller, name)
    return ok(request, True)
