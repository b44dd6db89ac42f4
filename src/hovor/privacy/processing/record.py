"""The record of processing activities (GDPR Art. 30), generated, never written by hand.

Each part comes from where the platform already keeps it: the categories of data and of data
subjects per record type from the personal-data registry (each column's category and owner), the
purposes and sources from the table the subject-access report states them in
(:data:`hovor.privacy.exports.report.TYPES`), the retention from the tenant's policies bounded by
the contract (:func:`hovor.privacy.policies.effective`) and the recordings' ceiling, the transfers
from the declared data locations, the recipients from the tenant's integration users. Only what
no model can say — the operators' own record types and the security measures — is declared here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hovor.api.resource import REGISTRY
from hovor.auth.models import User
from hovor.core.db import utcnow
from hovor.core.personal_data import Category, Owner, classification
from hovor.privacy import policies
from hovor.privacy.exports.report import CATEGORIES, TYPES
from hovor.privacy.kinds import NAMES
from hovor.tenancy import configured, locations
from hovor.tenancy.models import Tenant

# Record types about the controller's own staff, which a subject-access report never lists:
# (title cs, title en, purpose cs, purpose en, source cs, source en, retention kind).
STAFF_TYPES: dict[str, tuple[str, str, str, str, str, str, str | None]] = {
    "users": (
        "Uživatelé",
        "Users",
        "Správa uživatelských účtů a řízení přístupu",
        "User accounts and access control",
        "Od správce",
        "From the controller",
        None,
    ),
    "realtimeSessions": (
        "Přihlášení operátoři",
        "Operators signed in",
        "Řízení provozu kontaktního centra",
        "Running the contact centre",
        "Telefonní ústředna, pracoviště operátora",
        "The phone system, the agent desktop",
        None,
    ),
    "pausesTaken": (
        "Přestávky operátorů",
        "Operators' pauses",
        "Evidence pracovní doby",
        "Working-time records",
        "Telefonní ústředna, pracoviště operátora",
        "The phone system, the agent desktop",
        "pausesTaken",
    ),
}

# Categories the report to a customer never names (an operator's login, a link to a record).
MORE_CATEGORIES: dict[Category, tuple[str, str]] = {
    Category.LOGIN: ("přihlašovací jméno", "login"),
    Category.RECORD_LINK: ("odkaz na záznam o osobě", "link to a record about the person"),
    Category.CREDENTIAL: ("přihlašovací údaje", "credentials"),
}

SUBJECTS: dict[Owner, tuple[str, str]] = {
    Owner.SUBJECT: ("zákazníci a kontakty správce", "the controller's customers and contacts"),
    Owner.OPERATOR: ("operátoři a další uživatelé správce", "the controller's operators and other users"),
}

SECURITY: tuple[tuple[str, str], ...] = (
    (
        "Šifrování uložených souborů (nahrávky, přílohy, exporty) vlastním klíčem každého souboru "
        "(AES-GCM), zabaleným klíčem správce; smazání zničí klíč, takže kopie v zálohách jsou nečitelné",
        "Encryption at rest of every stored file (recordings, attachments, exports) with a key of its "
        "own (AES-GCM), wrapped by the controller's key; deletion destroys the key, so copies in "
        "backups are unreadable",
    ),
    (
        "Šifrovaný přenos (HTTPS/TLS, HSTS); bez TLS služba naslouchá jen lokálně",
        "Encrypted transport (HTTPS/TLS, HSTS); without TLS the service listens on loopback only",
    ),
    (
        "Auditní záznam odolný proti změnám: hashový řetězec pro každého správce s podepsanými "
        "kontrolními body, bez osobních údajů",
        "Tamper-evident audit log: a hash chain per controller with signed checkpoints, holding no "
        "personal data",
    ),
    (
        "Druhý faktor (TOTP) pro správce, pověřence a pracovníky zpracovatele",
        "Second factor (TOTP) for administrators, the DPO and the processor's staff",
    ),
    (
        "Firewall, který hodnotí klienty a automaticky blokuje podezřelé adresy",
        "A firewall that scores clients and blocks suspicious addresses automatically",
    ),
    (
        "Hesla uložena jako Argon2id, přístupové tokeny jen jako otisky SHA-256",
        "Passwords stored as Argon2id, access tokens only as SHA-256 digests",
    ),
    (
        "Oddělení správců a řízení přístupu rolemi a profily; pracovník zpracovatele vstoupí k datům "
        "správce jen s uvedeným účelem, zapsaným do auditního záznamu správce",
        "Isolation of controllers, access by roles and profiles; the processor's staff enter a "
        "controller's data only with a stated purpose, written to the controller's audit log",
    ),
    (
        "Výmaz, který maže: přepis smazaných dat v databázi, náhrobky přehrané při obnově ze zálohy",
        "Erasure that erases: deleted data overwritten in the database, tombstones replayed on a "
        "restore from backup",
    ),
    (
        "Lhůty uložení uplatňované automaticky, s náhledem a auditem",
        "Retention applied automatically, previewable and audited",
    ),
)


def _label(category: Category) -> tuple[str, str]:
    return CATEGORIES.get(category) or MORE_CATEGORIES.get(category) or (category.value, category.value)


def _both(pair: tuple[str, str]) -> dict[str, str]:
    return {"cs": pair[0], "en": pair[1]}


def categories(endpoint: str) -> list[dict[str, Any]]:
    """The personal data a record type holds, per category with whose it is, from the registry."""
    found: dict[Category, set[Owner]] = {}
    for column in REGISTRY[endpoint].model.__table__.columns:
        cls = classification(column)
        if cls is None or cls.owner is Owner.NONE or cls.category is Category.OPERATIONAL:
            continue
        found.setdefault(cls.category, set()).add(cls.owner)
    return [
        {
            "category": c.value,
            "title": _both(_label(c)),
            "subjects": sorted(o.value for o in owners),
        }
        for c, owners in found.items()
    ]


def _retention(session: Session, tenant: Tenant, settings: Any, now: dt.datetime) -> dict[str, Any]:
    applied = {e.name: e for e in policies.effective(session, tenant.id, settings, now)}
    kinds = []
    for name in NAMES:
        e = applied.get(name)
        kinds.append(
            {"kind": name, "days": e.days, "action": e.action, "source": e.source}
            if e is not None
            else {"kind": name, "days": None, "action": None, "source": None}
        )
    return {
        "contract_days": tenant.retention_days,
        "recordings_ceiling_days": tenant.recordings_retention_days,
        "kinds": kinds,
    }


def _activities(retention: dict[str, Any]) -> list[dict[str, Any]]:
    by_kind = {k["kind"]: k for k in retention["kinds"]}
    out = []
    for endpoint, meta in (*TYPES.items(), *STAFF_TYPES.items()):
        if endpoint not in REGISTRY:
            continue
        held = categories(endpoint)
        if not held:
            continue
        owners = sorted({o for c in held for o in c["subjects"]})
        if endpoint == "activitiesCallRecordings":
            kept = {"kind": "recordings", "days": retention["recordings_ceiling_days"], "source": "ceiling"}
        else:
            kept = by_kind.get(meta[6] or "") or {"kind": None, "days": retention["contract_days"]}
        out.append(
            {
                "record_type": endpoint,
                "title": {"cs": meta[0], "en": meta[1]},
                "purpose": {"cs": meta[2], "en": meta[3]},
                "source": {"cs": meta[4], "en": meta[5]},
                "subjects": [{"subject": o, "title": _both(SUBJECTS[Owner(o)])} for o in owners],
                "categories": held,
                "retention": kept,
            }
        )
    return out


def _recipients(session: Session, tenant_id: str, settings: Any) -> list[dict[str, Any]]:
    staff = dict(
        session.execute(
            select(User.role, func.count())
            .where(User.tenant_id == tenant_id, User.role != "integration")
            .group_by(User.role)
        ).all()
    )
    integrations = session.execute(
        select(User.name, User.title)
        .where(User.tenant_id == tenant_id, User.role == "integration")
        .order_by(User.name)
    ).all()
    return [
        {
            "kind": "staff",
            "title": _both(("Zaměstnanci a uživatelé správce", "The controller's staff and users")),
            "roles": {role: count for role, count in sorted(staff.items())},
        },
        {
            "kind": "processor",
            "title": _both(("Zpracovatel, který službu provozuje", "The processor running the service")),
            "name": settings.processor_name,
        },
        *(
            {
                "kind": "integration",
                "title": _both(("Napojený systém správce", "The controller's integration")),
                "name": name,
                "integration": title,
            }
            for name, title in integrations
        ),
    ]


def build(session: Session, tenant_id: str, settings: Any, now: dt.datetime | None = None) -> dict[str, Any]:
    """The whole record for one tenant, as the API answers it and the document prints it."""
    now = now or utcnow()
    tenant = session.get(Tenant, tenant_id)
    assert tenant is not None
    retention = _retention(session, tenant, settings, now)
    shown = configured.derive(settings).apply(locations.merged(session, tenant_id))
    where = [loc.wire() for loc in shown]
    return {
        "generated": now,
        "controller": {"name": tenant.id, "title": tenant.title, "country": tenant.country},
        "dpo": {
            "name": tenant.dpo_name,
            "email": tenant.dpo_email,
            "phone": tenant.dpo_phone,
            "address": tenant.dpo_address,
        },
        "processor": {"name": settings.processor_name, "contact": settings.processor_contact},
        "activities": _activities(retention),
        "recipients": _recipients(session, tenant_id, settings),
        "locations": where,
        "transfers": [loc for loc in where if loc["transfer"]],
        "retention": retention,
        "security": [_both(pair) for pair in SECURITY],
    }
