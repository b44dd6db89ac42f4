"""Who is asking: the caller every route and service receives."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Caller:
    tenant_id: str
    user: str
    role: str
    permissions: frozenset[str]
    # None: every CRM database of the tenant; otherwise only these.
    databases: frozenset[str] | None
    timezone: str
    country: str
    # None: every queue / ticket category; otherwise only these.
    queues: frozenset[str] | None = None
    categories: frozenset[str] | None = None
    token_kind: str = "access"
    token_hash: str | None = field(default=None, repr=False)

    def can(self, permission: str) -> bool:
        return permission in self.permissions
