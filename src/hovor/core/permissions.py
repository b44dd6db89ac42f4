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
        *_crud("admin:queues"),
        *_crud("helpdesk:categories"),
        *_crud("helpdesk:tickets"),
        *_crud("activities:activities"),
        *_crud("activities:messages", ("create", "read")),
        *_crud("activities:transcripts", ("create", "read")),
        # Listening to or downloading a recording is a read of personal data in its own right.
        *_crud("activities:recordings", ("create", "read")),
        *_crud("activities:attachments", ("create", "read", "delete")),
        *_crud("campaigns:types"),
        *_crud("campaigns:records"),
        "tenant:settings:read",
        "tenant:settings:update",
        # The DPO right of the product page, split into what it allows.
        "dpo:recordings:delete",
        "dpo:communications:delete",
        "dpo:subjects:erase",
        "dpo:subjects:search",
        *_crud("dpo:holds"),
        *_crud("dpo:retention"),
        "admin:jobs:read",
        # The tenant's own allow-list entries (its offices' addresses, never banned).
        *_crud("admin:firewall", ("create", "read", "delete")),
        "audit:log:read",
    ]
)

DPO_PERMISSIONS = frozenset(p for p in VOCABULARY if p.startswith("dpo:"))

# Rights whose holders sign in with a second factor (hovor.auth.totp): deciding who may do what,
# issuing tokens, changing the tenant's settings, the firewall's allow-list, and the DPO's rights.
PRIVILEGED = frozenset(
    p
    for p in VOCABULARY
    if p in DPO_PERMISSIONS
    or p == "tenant:settings:update"
    or (
        p.startswith(("admin:users:", "admin:roles:", "admin:profiles:", "admin:tokens:", "admin:firewall:"))
        and not p.endswith(":read")
    )
)


READ_CONFIG = {
    "crm:databases:read",
    "crm:forms:read",
    "admin:users:read",
    "admin:queues:read",
    "helpdesk:categories:read",
    "campaigns:types:read",
}
WORK = {
    *_crud("crm:accounts", ("create", "read", "update")),
    *_crud("crm:contacts", ("create", "read", "update")),
    *_crud("helpdesk:tickets", ("create", "read", "update")),
    *_crud("activities:activities", ("create", "read", "update")),
    *_crud("activities:messages", ("create", "read")),
    "activities:transcripts:read",
    "activities:recordings:read",
    "activities:attachments:create",
    "activities:attachments:read",
    *_crud("campaigns:records", ("create", "read", "update")),
}
READ_ALL = {
    p
    for p in VOCABULARY
    if p.endswith(":read") and not p.startswith(("audit:", "admin:tokens", "admin:firewall"))
}

BUILTIN_ROLES: dict[str, tuple[str, frozenset[str]]] = {
    "admin": (
        "Administrator",
        frozenset(p for p in VOCABULARY if not p.startswith("dpo:")),
    ),
    "supervisor": (
        "Supervisor",
        frozenset(
            READ_CONFIG
            | WORK
            | {
                "tenant:settings:read",
                "crm:accounts:delete",
                "crm:contacts:delete",
                "helpdesk:tickets:delete",
                "campaigns:records:delete",
                "activities:attachments:delete",
            }
        ),
    ),
    "operator": ("Operator", frozenset(READ_CONFIG | WORK)),
    "dpo": (
        "Data protection officer",
        frozenset(
            DPO_PERMISSIONS
            | READ_ALL
            | {
                # The product page's Delete button: contacts, tickets with attachments, records.
                "crm:accounts:delete",
                "crm:contacts:delete",
                "helpdesk:tickets:delete",
                "campaigns:records:delete",
                "activities:attachments:delete",
                "tenant:settings:update",
                "audit:log:read",
            }
        ),
    ),
    "auditor": ("Auditor", frozenset({"audit:log:read", "tenant:settings:read", "admin:users:read"})),
    "integration": (
        "Integration",
        frozenset(
            READ_CONFIG
            | WORK
            | {
                "crm:accounts:delete",
                "crm:contacts:delete",
                "campaigns:records:delete",
                "activities:recordings:create",
                "activities:transcripts:create",
            }
        ),
    ),
}

assert all(perms <= VOCABULARY for _, perms in BUILTIN_ROLES.values())


def unknown_permissions(perms: list[str]) -> list[str]:
    return sorted(set(perms) - VOCABULARY)
