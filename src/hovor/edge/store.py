"""Where the firewall keeps what every process must see: scores, bans, and the lists.

:class:`DbStore` (the default) keeps them in the service's database; :class:`RedisStore` in Redis
(``HOVOR_FIREWALL_REDIS_URL``). Both are called only for scored requests and for the periodic
refresh of each process's snapshot of bans and lists; a banned client is answered from that
snapshot without touching either.

Bans, unbans and list changes are audited on the platform's chain (the address only as a keyed
pseudonym); the bans themselves are kept in the database in both cases, so the audit entry and the
ban commit together and ``hovor firewall list`` sees them. With Redis, Redis holds the scores and a
copy of the active bans, which the processes read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from hovor.audit import log as audit
from hovor.core.db import unit_of_work, utcnow
from hovor.edge.models import FirewallBan, FirewallEvent, FirewallRule

ACTOR = audit.Actor.system("firewall")
PENDING = "sign-in"  # an event's reason while the sign-in it counted is being checked
# What a claim comes to: (the attempt's handle, the score with it), the end of a ban in force
# (epoch seconds), or None (the key's attempts are in use or used up).
Claim = tuple[str, float] | float | None


@dataclass(frozen=True)
class Policy:
    threshold: float
    window: float  # seconds a scored event counts
    ban_seconds: float
    max_ban_seconds: float
    memory: float  # seconds earlier bans make the next one longer


@dataclass(frozen=True)
class Snapshot:
    bans: dict[str, float]  # key → until (epoch seconds)
    allow: tuple[str, ...]  # networks, platform-wide: never scored, never banned
    deny: tuple[str, ...]
    # Tenants' offices: their failed sign-ins, refusals and unknown paths are not scored (many
    # agents behind one address), but floods and attacks still ban them.
    office: tuple[str, ...] = ()


def ban_length(policy: Policy, offences: int) -> float:
    """fail2ban's escalation: the base time, doubled for every earlier ban still remembered."""
    return float(min(policy.ban_seconds * (2 ** min(offences, 30)), policy.max_ban_seconds))


def _name() -> str:
    return uuid.uuid4().hex


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def epoch(moment: dt.datetime) -> float:
    """Seconds since 1970 of a UTC time (stored without its zone on SQLite)."""
    return moment.replace(tzinfo=dt.UTC).timestamp() if moment.tzinfo is None else moment.timestamp()


class DbStore:
    """Scores and bans in the database."""

    def __init__(self, factory: Any, pseudonyms: Any) -> None:
        self.factory = factory
        self.pseudonyms = pseudonyms

    # --- scores ------------------------------------------------------------------------------
    def score(self, key: str, weight: float, reason: str, policy: Policy) -> float:
        """Adds an event and returns the key's score over the window."""
        now = utcnow()
        since = now - dt.timedelta(seconds=policy.window)
        with unit_of_work(self.factory) as session:
            session.add(FirewallEvent(name=_name(), key=key, at=now, weight=weight, reason=reason[:32]))
            session.flush()
            total = _window_sum(session, key, since)
            # What fell out of the window is deleted as it goes (the address with it).
            session.execute(delete(FirewallEvent).where(FirewallEvent.key == key, FirewallEvent.at <= since))
        return total

    def claim(self, key: str, weight: float, policy: Policy) -> Claim:
        """Counts an attempt before it is made: adds a pending event (``PENDING``) only while the
        key's score, pending attempts included, is below the threshold, and returns (the event's
        handle, the score with it); when the key is banned, the ban's end (epoch seconds); None
        when it has no attempt left now.
        Parallel claims of one key queue (SQLite's single writer, taken by the insert; an advisory
        lock on PostgreSQL), so no more than the threshold's worth pass. ``fail`` or ``release``
        settles the attempt."""
        now = utcnow()
        since = now - dt.timedelta(seconds=policy.window)
        name = _name()
        with unit_of_work(self.factory) as session:
            # What fell out of the window goes, as score() does it.
            session.execute(delete(FirewallEvent).where(FirewallEvent.key == key, FirewallEvent.at <= since))
            if session.get_bind().dialect.name == "postgresql":
                session.execute(select(func.pg_advisory_xact_lock(_lock_id(key))))
            # Written first: on SQLite the write holds the database's one write lock until COMMIT,
            # so the sum below sees every claim that came before this one.
            session.add(FirewallEvent(name=name, key=key, at=now, weight=weight, reason=PENDING))
            session.flush()
            total = _window_sum(session, key, since)
            # A ban clears the score, and another worker may not know of it yet: a banned key has
            # no attempts left either.
            banned = session.scalar(
                select(func.max(FirewallBan.until)).where(
                    FirewallBan.key == key, FirewallBan.until > now, FirewallBan.lifted.is_(None)
                )
            )
            if banned is not None or total - weight >= policy.threshold:
                session.execute(delete(FirewallEvent).where(FirewallEvent.name == name))
                return epoch(banned) if banned is not None else None
        return name, total

    def release(self, key: str, handle: str) -> None:
        """Takes back a claimed attempt that turned out well (the right password)."""
        with unit_of_work(self.factory) as session:
            session.execute(delete(FirewallEvent).where(FirewallEvent.name == handle))

    def fail(self, key: str, handle: str, policy: Policy) -> float:
        """A claimed attempt failed: it counts as a failure now. Returns the key's score without
        the attempts still pending (only what has happened decides a ban)."""
        since = utcnow() - dt.timedelta(seconds=policy.window)
        with unit_of_work(self.factory) as session:
            session.execute(
                update(FirewallEvent).where(FirewallEvent.name == handle).values(reason="unauthorized")
            )
            return _window_sum(session, key, since, FirewallEvent.reason != PENDING)

    def ban(self, key: str, reason: str, score: float, policy: Policy) -> FirewallBan | None:
        """Bans ``key`` unless a ban of it is in force already. Returns the new ban."""
        with unit_of_work(self.factory) as session:
            return _ban(session, self.pseudonyms, key, reason, score, policy)

    # --- the snapshot every process keeps -------------------------------------------------------
    def snapshot(self) -> Snapshot:
        return _snapshot(self.factory)

    def close(self) -> None:
        pass


def _window_sum(session: Session, key: str, since: dt.datetime, *where: Any) -> float:
    """The key's score: the weights of its events since ``since`` (and matching ``where``)."""
    total = session.scalar(
        select(func.coalesce(func.sum(FirewallEvent.weight), 0.0)).where(
            FirewallEvent.key == key, FirewallEvent.at > since, *where
        )
    )
    return float(total or 0.0)


def _lock_id(key: str) -> int:
    """A PostgreSQL advisory lock number of a client key (a signed 64-bit integer)."""
    return int.from_bytes(
        hashlib.blake2b(b"firewall:" + key.encode(), digest_size=8).digest(), "big", signed=True
    )


def _ban(
    session: Session, pseudonyms: Any, key: str, reason: str, score: float, policy: Policy
) -> FirewallBan | None:
    now = utcnow()
    active = session.scalar(
        select(FirewallBan.name).where(
            FirewallBan.key == key, FirewallBan.until > now, FirewallBan.lifted.is_(None)
        )
    )
    if active is not None:
        return None
    offences = int(
        session.scalar(
            select(func.count())
            .select_from(FirewallBan)
            .where(FirewallBan.key == key, FirewallBan.created > now - dt.timedelta(seconds=policy.memory))
        )
        or 0
    )
    seconds = ban_length(policy, offences)
    ban = FirewallBan(
        name=_name(),
        key=key,
        reason=reason[:64],
        score=score,
        offences=offences,
        created=now,
        until=now + dt.timedelta(seconds=seconds),
    )
    session.add(ban)
    # The score that led here is spent: after the ban the address starts again from nothing.
    session.execute(delete(FirewallEvent).where(FirewallEvent.key == key))
    audit.record(
        session,
        audit.PLATFORM,
        "edge.firewall.ban",
        ACTOR,
        "firewallBans",
        ban.name,
        {
            "client": pseudonyms(audit.PLATFORM, key),
            "reason": reason[:64],
            "seconds": int(seconds),
            "offences": offences,
        },
    )
    session.flush()
    return ban


def _snapshot(factory: Any) -> Snapshot:
    now = utcnow()
    with factory() as session:
        bans = {
            key: epoch(until)
            for key, until in session.execute(
                select(FirewallBan.key, func.max(FirewallBan.until))
                .where(FirewallBan.until > now, FirewallBan.lifted.is_(None))
                .group_by(FirewallBan.key)
            )
        }
        rules = list(session.execute(select(FirewallRule.kind, FirewallRule.network, FirewallRule.tenant_id)))
    return Snapshot(
        bans,
        tuple(n for k, n, t in rules if k == "allow" and t is None),
        tuple(n for k, n, _ in rules if k == "deny"),
        tuple(n for k, n, t in rules if k == "allow" and t is not None),
    )


def unban(factory: Any, pseudonyms: Any, key: str, by: str, actor: audit.Actor, redis: Any = None) -> int:
    """Lifts every ban in force of ``key`` and forgets its score (``redis``: the client and the key
    prefix, when the scores live there). Returns how many bans were lifted."""
    now = utcnow()
    with unit_of_work(factory) as session:
        names = list(
            session.scalars(
                select(FirewallBan.name).where(
                    FirewallBan.key == key, FirewallBan.until > now, FirewallBan.lifted.is_(None)
                )
            )
        )
        if names:
            session.execute(
                update(FirewallBan).where(FirewallBan.name.in_(names)).values(lifted=now, lifted_by=by[:64])
            )
        session.execute(delete(FirewallEvent).where(FirewallEvent.key == key))
        for name in names:
            audit.record(
                session,
                audit.PLATFORM,
                "edge.firewall.unban",
                actor,
                "firewallBans",
                name,
                {"client": pseudonyms(audit.PLATFORM, key)},
            )
    if redis is not None:
        client, prefix = redis
        client.hdel(f"{prefix}:bans", key)
        client.delete(f"{prefix}:events:{key}")
    return len(names)


# KEYS[1] the key's events, KEYS[2] the bans; ARGV: now, window, threshold, the new member, its
# weight, the key. The score over the window, plus the new event's weight if it was added; nil when
# the attempts are used up; "banned:<until>" when the key is banned (a ban clears the score).
CLAIM_SCRIPT = """
local now = tonumber(ARGV[1])
local banned = redis.call('HGET', KEYS[2], ARGV[6])
if banned and tonumber(banned) > now then
  return 'banned:' .. banned
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
local total = 0
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  total = total + cjson.decode(member)[2]
end
if total >= tonumber(ARGV[3]) then
  return false
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])) + 1)
return tostring(total + tonumber(ARGV[5]))
"""


class RedisStore:
    """Scores and the active bans in Redis; bans also recorded (and audited) in the database."""

    def __init__(self, url: str, prefix: str, factory: Any, pseudonyms: Any) -> None:
        # deferred: the redis client is needed only when the firewall's state lives in Redis
        import redis

        self.redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.prefix = prefix
        self.BANS = f"{prefix}:bans"
        self.factory = factory
        self.pseudonyms = pseudonyms
        self._claim = self.redis.register_script(CLAIM_SCRIPT)

    def events(self, key: str) -> str:
        return f"{self.prefix}:events:{key}"

    def score(self, key: str, weight: float, reason: str, policy: Policy) -> float:
        now = time.time()
        name = self.events(key)
        member = json.dumps([uuid.uuid4().hex, weight])
        pipe = self.redis.pipeline()
        pipe.zadd(name, {member: now})
        pipe.zremrangebyscore(name, "-inf", now - policy.window)
        pipe.zrange(name, 0, -1)
        pipe.expire(name, int(policy.window) + 1)
        _, _, members, _ = pipe.execute()
        return float(sum(json.loads(m)[1] for m in members))

    def claim(self, key: str, weight: float, policy: Policy) -> Claim:
        """As :meth:`DbStore.claim`, in one script that Redis runs atomically."""
        now = time.time()
        handle = uuid.uuid4().hex
        member = json.dumps([handle, weight, PENDING])
        total = self._claim(
            keys=[self.events(key), self.BANS],
            args=[now, policy.window, policy.threshold, member, weight, key],
        )
        if total is None:
            return None
        text = total.decode() if isinstance(total, bytes) else str(total)
        if text.startswith("banned:"):
            return float(text[len("banned:") :])
        return member, float(text)

    def release(self, key: str, handle: str) -> None:
        self.redis.zrem(self.events(key), handle)

    def fail(self, key: str, handle: str, policy: Policy) -> float:
        """As :meth:`DbStore.fail`: the pending member becomes a failure of the same weight."""
        now = time.time()
        name = self.events(key)
        handle_id, weight = json.loads(handle)[:2]
        pipe = self.redis.pipeline()
        pipe.zrem(name, handle)
        pipe.zadd(name, {json.dumps([handle_id, weight]): now})
        pipe.zremrangebyscore(name, "-inf", now - policy.window)
        pipe.zrange(name, 0, -1)
        members = pipe.execute()[-1]
        return float(sum(m[1] for m in map(json.loads, members) if len(m) == 2))

    def ban(self, key: str, reason: str, score: float, policy: Policy) -> FirewallBan | None:
        with unit_of_work(self.factory) as session:
            ban = _ban(session, self.pseudonyms, key, reason, score, policy)
        if ban is not None:
            pipe = self.redis.pipeline()
            pipe.hset(self.BANS, key, str(epoch(ban.until)))
            pipe.delete(self.events(key))
            pipe.execute()
        return ban

    def snapshot(self) -> Snapshot:
        now = time.time()
        raw = self.redis.hgetall(self.BANS)
        bans = {_text(k): float(v) for k, v in raw.items() if float(v) > now}
        expired = [k for k, v in raw.items() if float(v) <= now]
        if expired:
            self.redis.hdel(self.BANS, *expired)
        rules = _snapshot(self.factory)  # the lists stay in the database
        return Snapshot(bans, rules.allow, rules.deny, rules.office)

    def close(self) -> None:
        self.redis.close()


def parse_network(text: str) -> str:
    """An address or network in its canonical form (host bits cleared); ValueError if neither."""
    return str(ipaddress.ip_network(text.strip(), strict=False))


def add_rule(
    session: Session,
    kind: str,
    network: str,
    note: str | None,
    tenant_id: str | None,
    by: str,
    actor: audit.Actor,
) -> FirewallRule:
    """An allow- or deny-list entry (platform-wide without a tenant), audited on its tenant's chain
    or the platform's. The processes pick it up with their next snapshot (half a second)."""
    rule = FirewallRule(
        name=uuid.uuid4().hex,
        tenant_id=tenant_id,
        kind=kind,
        network=parse_network(network),
        note=note,
        created_by=by[:64],
    )
    session.add(rule)
    session.flush()
    audit.record(
        session,
        tenant_id or audit.PLATFORM,
        "edge.firewall.rule.create",
        actor,
        "firewallRules",
        rule.name,
        {"kind": kind},
    )
    return rule


def remove_rule(session: Session, rule: FirewallRule, actor: audit.Actor) -> None:
    audit.record(
        session,
        rule.tenant_id or audit.PLATFORM,
        "edge.firewall.rule.delete",
        actor,
        "firewallRules",
        rule.name,
        {"kind": rule.kind},
    )
    session.delete(rule)
