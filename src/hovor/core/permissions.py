"""The permission vocabulary (``area:resource:action``) and the built-in roles.

A role is a set of these strings; a route names the one it needs where it is defined.
"""

from __future__ import annotations

from enum import StrEnum

CRUD = ("create", "read", "update", "delete")


def _crud(prefix: str, actions: tuple[str, ...] = CRUD) -> list[Permission]:
    return [Permission(f"{prefix}:{a}") for a in actions]


class Permission(StrEnum):
    """Every permission that exists (``area:resource:action``); a role may only hold these. A
    member is its string, so roles stored as lists of strings compare with it directly."""

    CRM_DATABASES_CREATE = "crm:databases:create"
    CRM_DATABASES_READ = "crm:databases:read"
    CRM_DATABASES_UPDATE = "crm:databases:update"
    CRM_DATABASES_DELETE = "crm:databases:delete"
    CRM_ACCOUNTS_CREATE = "crm:accounts:create"
    CRM_ACCOUNTS_READ = "crm:accounts:read"
    CRM_ACCOUNTS_UPDATE = "crm:accounts:update"
    CRM_ACCOUNTS_DELETE = "crm:accounts:delete"
    CRM_CONTACTS_CREATE = "crm:contacts:create"
    CRM_CONTACTS_READ = "crm:contacts:read"
    CRM_CONTACTS_UPDATE = "crm:contacts:update"
    CRM_CONTACTS_DELETE = "crm:contacts:delete"
    CRM_RECORDTYPES_CREATE = "crm:recordTypes:create"
    CRM_RECORDTYPES_READ = "crm:recordTypes:read"
    CRM_RECORDTYPES_UPDATE = "crm:recordTypes:update"
    CRM_RECORDTYPES_DELETE = "crm:recordTypes:delete"
    CRM_RECORDS_CREATE = "crm:records:create"
    CRM_RECORDS_READ = "crm:records:read"
    CRM_RECORDS_UPDATE = "crm:records:update"
    CRM_RECORDS_DELETE = "crm:records:delete"
    CRM_FORMS_CREATE = "crm:forms:create"
    CRM_FORMS_READ = "crm:forms:read"
    CRM_FORMS_UPDATE = "crm:forms:update"
    CRM_FORMS_DELETE = "crm:forms:delete"
    # The consent ledger: appended to (a consent given or withdrawn) and read, never changed.
    CRM_CONSENTS_CREATE = "crm:consents:create"
    CRM_CONSENTS_READ = "crm:consents:read"
    ADMIN_USERS_CREATE = "admin:users:create"
    ADMIN_USERS_READ = "admin:users:read"
    ADMIN_USERS_UPDATE = "admin:users:update"
    ADMIN_USERS_DELETE = "admin:users:delete"
    ADMIN_ROLES_CREATE = "admin:roles:create"
    ADMIN_ROLES_READ = "admin:roles:read"
    ADMIN_ROLES_UPDATE = "admin:roles:update"
    ADMIN_ROLES_DELETE = "admin:roles:delete"
    ADMIN_PROFILES_CREATE = "admin:profiles:create"
    ADMIN_PROFILES_READ = "admin:profiles:read"
    ADMIN_PROFILES_UPDATE = "admin:profiles:update"
    ADMIN_PROFILES_DELETE = "admin:profiles:delete"
    ADMIN_TOKENS_CREATE = "admin:tokens:create"
    ADMIN_TOKENS_READ = "admin:tokens:read"
    ADMIN_TOKENS_DELETE = "admin:tokens:delete"
    ADMIN_GROUPS_CREATE = "admin:groups:create"
    ADMIN_GROUPS_READ = "admin:groups:read"
    ADMIN_GROUPS_UPDATE = "admin:groups:update"
    ADMIN_GROUPS_DELETE = "admin:groups:delete"
    ADMIN_PAUSES_CREATE = "admin:pauses:create"
    ADMIN_PAUSES_READ = "admin:pauses:read"
    ADMIN_PAUSES_UPDATE = "admin:pauses:update"
    ADMIN_PAUSES_DELETE = "admin:pauses:delete"
    ACTIVITIES_TEMPLATES_CREATE = "activities:templates:create"
    ACTIVITIES_TEMPLATES_READ = "activities:templates:read"
    ACTIVITIES_TEMPLATES_UPDATE = "activities:templates:update"
    ACTIVITIES_TEMPLATES_DELETE = "activities:templates:delete"
    ADMIN_QUEUES_CREATE = "admin:queues:create"
    ADMIN_QUEUES_READ = "admin:queues:read"
    ADMIN_QUEUES_UPDATE = "admin:queues:update"
    ADMIN_QUEUES_DELETE = "admin:queues:delete"
    ADMIN_JOBS_READ = "admin:jobs:read"
    # The tenant's own allow-list entries (its offices' addresses, never banned).
    ADMIN_FIREWALL_CREATE = "admin:firewall:create"
    ADMIN_FIREWALL_READ = "admin:firewall:read"
    ADMIN_FIREWALL_DELETE = "admin:firewall:delete"
    HELPDESK_CATEGORIES_CREATE = "helpdesk:categories:create"
    HELPDESK_CATEGORIES_READ = "helpdesk:categories:read"
    HELPDESK_CATEGORIES_UPDATE = "helpdesk:categories:update"
    HELPDESK_CATEGORIES_DELETE = "helpdesk:categories:delete"
    HELPDESK_SLA_CREATE = "helpdesk:sla:create"
    HELPDESK_SLA_READ = "helpdesk:sla:read"
    HELPDESK_SLA_UPDATE = "helpdesk:sla:update"
    HELPDESK_SLA_DELETE = "helpdesk:sla:delete"
    HELPDESK_STATUSES_CREATE = "helpdesk:statuses:create"
    HELPDESK_STATUSES_READ = "helpdesk:statuses:read"
    HELPDESK_STATUSES_UPDATE = "helpdesk:statuses:update"
    HELPDESK_STATUSES_DELETE = "helpdesk:statuses:delete"
    HELPDESK_ARTICLES_CREATE = "helpdesk:articles:create"
    HELPDESK_ARTICLES_READ = "helpdesk:articles:read"
    HELPDESK_ARTICLES_UPDATE = "helpdesk:articles:update"
    HELPDESK_ARTICLES_DELETE = "helpdesk:articles:delete"
    HELPDESK_TICKETS_CREATE = "helpdesk:tickets:create"
    HELPDESK_TICKETS_READ = "helpdesk:tickets:read"
    HELPDESK_TICKETS_UPDATE = "helpdesk:tickets:update"
    HELPDESK_TICKETS_DELETE = "helpdesk:tickets:delete"
    ACTIVITIES_ACTIVITIES_CREATE = "activities:activities:create"
    ACTIVITIES_ACTIVITIES_READ = "activities:activities:read"
    ACTIVITIES_ACTIVITIES_UPDATE = "activities:activities:update"
    ACTIVITIES_ACTIVITIES_DELETE = "activities:activities:delete"
    # Operators' presence: signing them in and out, their states and pauses (a phone system).
    ACTIVITIES_SESSIONS_CREATE = "activities:sessions:create"
    ACTIVITIES_SESSIONS_READ = "activities:sessions:read"
    ACTIVITIES_SESSIONS_UPDATE = "activities:sessions:update"
    ACTIVITIES_SESSIONS_DELETE = "activities:sessions:delete"
    ACTIVITIES_MESSAGES_CREATE = "activities:messages:create"
    ACTIVITIES_MESSAGES_READ = "activities:messages:read"
    ACTIVITIES_TRANSCRIPTS_CREATE = "activities:transcripts:create"
    ACTIVITIES_TRANSCRIPTS_READ = "activities:transcripts:read"
    # Listening to or downloading a recording is a read of personal data in its own right.
    ACTIVITIES_RECORDINGS_CREATE = "activities:recordings:create"
    ACTIVITIES_RECORDINGS_READ = "activities:recordings:read"
    ACTIVITIES_ATTACHMENTS_CREATE = "activities:attachments:create"
    ACTIVITIES_ATTACHMENTS_READ = "activities:attachments:read"
    ACTIVITIES_ATTACHMENTS_DELETE = "activities:attachments:delete"
    CAMPAIGNS_TYPES_CREATE = "campaigns:types:create"
    CAMPAIGNS_TYPES_READ = "campaigns:types:read"
    CAMPAIGNS_TYPES_UPDATE = "campaigns:types:update"
    CAMPAIGNS_TYPES_DELETE = "campaigns:types:delete"
    CAMPAIGNS_RECORDS_CREATE = "campaigns:records:create"
    CAMPAIGNS_RECORDS_READ = "campaigns:records:read"
    CAMPAIGNS_RECORDS_UPDATE = "campaigns:records:update"
    CAMPAIGNS_RECORDS_DELETE = "campaigns:records:delete"
    # The suppression list (the reference's blacklist numbers): keyed hashes of numbers and addresses.
    CAMPAIGNS_BLACKLISTS_CREATE = "campaigns:blacklists:create"
    CAMPAIGNS_BLACKLISTS_READ = "campaigns:blacklists:read"
    CAMPAIGNS_BLACKLISTS_DELETE = "campaigns:blacklists:delete"
    TENANT_SETTINGS_READ = "tenant:settings:read"
    TENANT_SETTINGS_UPDATE = "tenant:settings:update"
    # Where the tenant's data lives (the platform operator's declaration) and the record of
    # processing activities (Art. 30): the controller's administrators and DPO read them.
    TENANT_LOCATIONS_READ = "tenant:locations:read"
    TENANT_PROCESSING_READ = "tenant:processing:read"
    # The DPO right of the product page, split into what it allows.
    DPO_RECORDINGS_DELETE = "dpo:recordings:delete"
    DPO_COMMUNICATIONS_DELETE = "dpo:communications:delete"
    DPO_SUBJECTS_ERASE = "dpo:subjects:erase"
    DPO_SUBJECTS_SEARCH = "dpo:subjects:search"
    # Restriction of processing (Art. 18) and objection to direct marketing (Art. 21).
    DPO_SUBJECTS_RESTRICT = "dpo:subjects:restrict"
    # The register of subject requests (Art. 12, 15-21).
    DPO_REQUESTS_CREATE = "dpo:requests:create"
    DPO_REQUESTS_READ = "dpo:requests:read"
    DPO_REQUESTS_UPDATE = "dpo:requests:update"
    # Access and portability exports (Art. 15, 20): packages of everything held about a person.
    DPO_EXPORTS_CREATE = "dpo:exports:create"
    DPO_EXPORTS_READ = "dpo:exports:read"
    DPO_EXPORTS_DELETE = "dpo:exports:delete"
    DPO_HOLDS_CREATE = "dpo:holds:create"
    DPO_HOLDS_READ = "dpo:holds:read"
    DPO_HOLDS_UPDATE = "dpo:holds:update"
    DPO_HOLDS_DELETE = "dpo:holds:delete"
    DPO_RETENTION_CREATE = "dpo:retention:create"
    DPO_RETENTION_READ = "dpo:retention:read"
    DPO_RETENTION_UPDATE = "dpo:retention:update"
    DPO_RETENTION_DELETE = "dpo:retention:delete"
    AUDIT_LOG_READ = "audit:log:read"


VOCABULARY: frozenset[str] = frozenset(Permission)

DPO_PERMISSIONS = frozenset(p for p in VOCABULARY if p.startswith("dpo:"))

# Rights whose holders sign in with a second factor (hovor.auth.totp): deciding who may do what,
# issuing tokens, changing the tenant's settings, the firewall's allow-list, and the DPO's rights.
PRIVILEGED = frozenset(
    p
    for p in VOCABULARY
    if p in DPO_PERMISSIONS
    or p == Permission.TENANT_SETTINGS_UPDATE
    or (
        p.startswith(("admin:users:", "admin:roles:", "admin:profiles:", "admin:tokens:", "admin:firewall:"))
        and not p.endswith(":read")
    )
)


READ_CONFIG = {
    Permission.CRM_DATABASES_READ,
    Permission.CRM_FORMS_READ,
    Permission.ADMIN_USERS_READ,
    Permission.ADMIN_QUEUES_READ,
    Permission.HELPDESK_CATEGORIES_READ,
    Permission.CAMPAIGNS_TYPES_READ,
    Permission.HELPDESK_STATUSES_READ,
    Permission.ADMIN_GROUPS_READ,
    Permission.ADMIN_PAUSES_READ,
    Permission.ACTIVITIES_TEMPLATES_READ,
    Permission.HELPDESK_ARTICLES_READ,
    Permission.CRM_RECORDTYPES_READ,
    Permission.HELPDESK_SLA_READ,
}
WORK = {
    *_crud("crm:accounts", ("create", "read", "update")),
    *_crud("crm:contacts", ("create", "read", "update")),
    *_crud("crm:records", ("create", "read", "update")),
    *_crud("helpdesk:tickets", ("create", "read", "update")),
    *_crud("activities:activities", ("create", "read", "update")),
    *_crud("activities:messages", ("create", "read")),
    Permission.ACTIVITIES_TRANSCRIPTS_READ,
    Permission.ACTIVITIES_RECORDINGS_READ,
    Permission.ACTIVITIES_ATTACHMENTS_CREATE,
    Permission.ACTIVITIES_ATTACHMENTS_READ,
    *_crud("campaigns:records", ("create", "read", "update")),
    Permission.CRM_CONSENTS_CREATE,
    Permission.CRM_CONSENTS_READ,
    Permission.CAMPAIGNS_BLACKLISTS_CREATE,
    Permission.CAMPAIGNS_BLACKLISTS_READ,
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
                Permission.TENANT_SETTINGS_READ,
                Permission.CRM_ACCOUNTS_DELETE,
                Permission.CRM_CONTACTS_DELETE,
                Permission.CRM_RECORDS_DELETE,
                Permission.HELPDESK_TICKETS_DELETE,
                Permission.CAMPAIGNS_RECORDS_DELETE,
                Permission.ACTIVITIES_ATTACHMENTS_DELETE,
                # A supervisor sees who is signed in and may change a state or sign someone out.
                Permission.ACTIVITIES_SESSIONS_READ,
                Permission.ACTIVITIES_SESSIONS_UPDATE,
                Permission.ACTIVITIES_SESSIONS_DELETE,
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
                Permission.CRM_ACCOUNTS_DELETE,
                Permission.CRM_CONTACTS_DELETE,
                Permission.CRM_RECORDS_DELETE,
                Permission.HELPDESK_TICKETS_DELETE,
                Permission.CAMPAIGNS_RECORDS_DELETE,
                Permission.ACTIVITIES_ATTACHMENTS_DELETE,
                Permission.TENANT_SETTINGS_UPDATE,
                Permission.AUDIT_LOG_READ,
                # Rectification (Art. 16), and the only edits a restricted contact takes (Art. 18).
                Permission.CRM_CONTACTS_UPDATE,
                # Withdrawing consent and suppressing a number are part of answering a request.
                Permission.CRM_CONSENTS_CREATE,
                Permission.CAMPAIGNS_BLACKLISTS_CREATE,
                Permission.CAMPAIGNS_BLACKLISTS_DELETE,
            }
        ),
    ),
    "auditor": (
        "Auditor",
        frozenset({Permission.AUDIT_LOG_READ, Permission.TENANT_SETTINGS_READ, Permission.ADMIN_USERS_READ}),
    ),
    "integration": (
        "Integration",
        frozenset(
            READ_CONFIG
            | WORK
            | {
                Permission.CRM_ACCOUNTS_DELETE,
                Permission.CRM_CONTACTS_DELETE,
                Permission.CRM_RECORDS_DELETE,
                Permission.CAMPAIGNS_RECORDS_DELETE,
                Permission.ACTIVITIES_RECORDINGS_CREATE,
                Permission.ACTIVITIES_TRANSCRIPTS_CREATE,
                *_crud("activities:sessions"),
            }
        ),
    ),
}

assert all(perms <= VOCABULARY for _, perms in BUILTIN_ROLES.values())


def unknown_permissions(perms: list[str]) -> list[str]:
    return sorted(set(perms) - VOCABULARY)
