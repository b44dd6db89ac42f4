"""The permission vocabulary (``area:resource:action``) and the built-in roles.

A role is a set of these strings; a route names the one it needs where it is defined.
"""

from __future__ import annotations

CRUD = ("create", "read", "update", "delete")


def _crud(prefix: str, actions: tuple[str, ...] = CRUD) -> list[str]:
    return [f"{prefix}:{a}" for a in actions]


# Every permission that exists. A role may only hold these.
VOCABULARY: frozenset[str] = frozenset(
    [
        *_crud("crm:databases"),
        *_crud("crm:accounts"),
        *_crud("crm:contacts"),
        *_crud("crm:forms"),
        *_crud("admin:users"),
        *_crud("admin:roles"),
        *_crud("admin:profiles"),
        *_crud("admin:tokens", ("create", "read", "delete")),
        "tenant:settings:read",
        "tenant:settings:update",
        # The DPO right of the product page, split into what it allows.
        "dpo:recordings:delete",
        "dpo:communications:delete",
        "dpo:subjects:erase",
        "dpo:subjects:search",
        "audit:log:read",
    ]
)

DPO_PERMISSIONS = frozenset(p for p in VOCABULARY if p.startswith("dpo:"))


def _all(prefix: str) -> set[str]:
    return {p for p in VOCABULARY if p.startswith(prefix)}


BUILTIN_ROLES: dict[str, tuple[str, frozenset[str]]] = {
    "admin": (
        "Administrator",
        frozenset(_all("crm:") | _all("admin:") | _all("tenant:") | {"audit:log:read"}),
    ),
    "supervisor": (
        "Supervisor",
        frozenset(
            {
                "crm:databases:read",
                "crm:forms:read",
                "admin:users:read",
                "tenant:settings:read",
                *_crud("crm:accounts"),
                *_crud("crm:contacts"),
            }
        ),
    ),
    "operator": (
        "Operator",
        frozenset(
            {
                "crm:databases:read",
                "crm:forms:read",
                "admin:users:read",
                *_crud("crm:accounts", ("create", "read", "update")),
                *_crud("crm:contacts", ("create", "read", "update")),
            }
        ),
    ),
    "dpo": (
        "Data protection officer",
        frozenset(
            DPO_PERMISSIONS
            | {
                "crm:databases:read",
                "crm:forms:read",
                "crm:accounts:read",
                "crm:accounts:delete",
                "crm:contacts:read",
                "crm:contacts:delete",
                "admin:users:read",
                "tenant:settings:read",
                "tenant:settings:update",
                "audit:log:read",
            }
        ),
    ),
    "auditor": ("Auditor", frozenset({"audit:log:read", "tenant:settings:read", "admin:users:read"})),
    "integration": (
        "Integration",
        frozenset(
            {
                "crm:databases:read",
                "crm:forms:read",
                *_crud("crm:accounts"),
                *_crud("crm:contacts"),
            }
        ),
    ),
}

assert all(perms <= VOCABULARY for _, perms in BUILTIN_ROLES.values())


def unknown_permissions(perms: list[str]) -> list[str]:
    return sorted(set(perms) - VOCABULARY)
