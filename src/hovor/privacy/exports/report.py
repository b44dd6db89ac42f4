"""The human-readable half of an export: one HTML report in Czech and one in English, saying what
is held about the person, for which purpose, from which source, for how long and who may receive
it (Art. 15(1)), from the personal-data registry and the tenant's retention policies, then every
record as the JSON beside it holds it (redacted alike)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from hovor.api.resource import REGISTRY
from hovor.core.personal_data import Category, Owner, classification
from hovor.core.wire import zone

LANGUAGES = ("cs", "en")

# Per record type: (Czech title, English title, purpose cs, purpose en, source cs, source en, policy).
TYPES: dict[str, tuple[str, str, str, str, str, str, str | None]] = {
    "contacts": (
        "Kontakty",
        "Contacts",
        "Evidence zákazníků a komunikace s nimi",
        "Keeping customers' records and communicating with them",
        "Od vás nebo od správce",
        "From you or the controller",
        "contacts",
    ),
    "accounts": (
        "Firmy",
        "Accounts",
        "Evidence zákazníků",
        "Keeping customers' records",
        "Od vás nebo od správce",
        "From you or the controller",
        None,
    ),
    "tickets": (
        "Tikety",
        "Tickets",
        "Vyřizování vašich požadavků a reklamací",
        "Handling your requests and complaints",
        "Z vaší komunikace",
        "From your communication",
        "tickets",
    ),
    "campaignsRecords": (
        "Záznamy kampaní",
        "Campaign records",
        "Kampaně, k nimž je právní základ (souhlas, oprávněný zájem)",
        "Campaigns with a legal basis (consent, legitimate interest)",
        "Od správce (import, formulář)",
        "From the controller (import, form)",
        "campaignsRecords",
    ),
    "crmRecords": (
        "Obchodní případy",
        "CRM records",
        "Plnění smlouvy a jednání o ní",
        "Performing or negotiating a contract",
        "Od vás nebo od správce",
        "From you or the controller",
        "crmRecords",
    ),
    "consentEvents": (
        "Souhlasy",
        "Consents",
        "Doklad o udělení a odvolání souhlasu",
        "Proof of consent given and withdrawn",
        "Od vás (formulář, hovor, web)",
        "From you (a form, a call, the web)",
        None,
    ),
    "activities": (
        "Aktivity",
        "Activities",
        "Komunikace s vámi",
        "Communicating with you",
        "Z vaší komunikace",
        "From your communication",
        None,
    ),
    "activitiesCall": (
        "Hovory",
        "Calls",
        "Komunikace s vámi",
        "Communicating with you",
        "Telefonní ústředna",
        "The phone system",
        "activitiesCall",
    ),
    "activitiesEmail": (
        "E-maily",
        "E-mails",
        "Komunikace s vámi",
        "Communicating with you",
        "Od vás",
        "From you",
        "activitiesEmail",
    ),
    "activitiesWeb": (
        "Webové chaty",
        "Web chats",
        "Komunikace s vámi",
        "Communicating with you",
        "Od vás",
        "From you",
        "activitiesWeb",
    ),
    "activitiesSms": (
        "SMS",
        "SMS",
        "Komunikace s vámi",
        "Communicating with you",
        "Od vás",
        "From you",
        "activitiesSms",
    ),
    "activitiesFbm": (
        "Messenger",
        "Messenger",
        "Komunikace s vámi",
        "Communicating with you",
        "Od vás (Meta)",
        "From you (Meta)",
        "activitiesFbm",
    ),
    "activitiesWap": (
        "WhatsApp",
        "WhatsApp",
        "Komunikace s vámi",
        "Communicating with you",
        "Od vás (Meta)",
        "From you (Meta)",
        "activitiesWap",
    ),
    "activitiesIgdm": (
        "Instagram",
        "Instagram",
        "Komunikace s vámi",
        "Communicating with you",
        "Od vás (Meta)",
        "From you (Meta)",
        "activitiesIgdm",
    ),
    "activitiesVbr": (
        "Viber",
        "Viber",
        "Komunikace s vámi",
        "Communicating with you",
        "Od vás (Rakuten Viber)",
        "From you (Rakuten Viber)",
        "activitiesVbr",
    ),
    "activitiesMessages": (
        "Zprávy",
        "Messages",
        "Komunikace s vámi",
        "Communicating with you",
        "Od vás a operátorů",
        "From you and the operators",
        None,
    ),
    "activitiesCallTranscripts": (
        "Přepisy hovorů",
        "Call transcripts",
        "Kvalita a vyřízení hovoru",
        "Quality and handling of the call",
        "Automatický přepis nahrávky",
        "Automatic transcription of the recording",
        "transcripts",
    ),
    "activitiesCallRecordings": (
        "Nahrávky hovorů",
        "Call recordings",
        "Kvalita a doložení hovoru",
        "Quality and proof of the call",
        "Telefonní ústředna",
        "The phone system",
        "activitiesCall",
    ),
    "attachments": (
        "Přílohy",
        "Attachments",
        "Vyřízení vašich požadavků",
        "Handling your requests",
        "Od vás nebo od operátorů",
        "From you or the operators",
        "attachments",
    ),
}

CATEGORIES: dict[Category, tuple[str, str]] = {
    Category.PHONE: ("telefonní číslo", "phone number"),
    Category.EMAIL: ("e-mailová adresa", "e-mail address"),
    Category.SOCIAL: ("identifikátor na sociální síti", "social network id"),
    Category.IP: ("IP adresa", "IP address"),
    Category.CONTACT_POINT: ("kontaktní údaj", "contact point"),
    Category.PERSON_NAME: ("jméno", "name"),
    Category.ADDRESS: ("adresa", "address"),
    Category.TEXT: ("text", "text"),
    Category.HTML: ("text", "text"),
    Category.AUDIO: ("nahrávka hlasu", "voice recording"),
    Category.FILE: ("soubor", "file"),
    Category.FORM: ("údaje formuláře", "form data"),
    Category.CONSENT: ("souhlasy", "consents"),
}

WORDS: dict[str, dict[str, str]] = {
    "cs": {
        "title": "Osobní údaje, které o vás zpracováváme",
        "controller": "Správce",
        "dpo": "Pověřenec pro ochranu osobních údajů",
        "made": "Vytvořeno",
        "export": "Export",
        "request": "Žádost",
        "summary": "Přehled",
        "type": "Druh záznamů",
        "count": "Počet",
        "categories": "Kategorie údajů",
        "purpose": "Účel",
        "source": "Zdroj",
        "kept": "Doba uložení",
        "recipients": "Příjemci",
        "staff": "Operátoři a správci správce; zpracovatel, který službu provozuje",
        "days": "{days} dní, poté {action}",
        "delete": "smazání",
        "anonymize": "anonymizace",
        "contract": "Po dobu smluvního vztahu a zákonných lhůt",
        "files": "Soubory v balíčku",
        "redacted": "Údaje jiných osob (jména, čísla a adresy) a jména operátorů jsou nahrazeny "
        "značkami [name], [phone], [e-mail] a „operator“ (čl. 15 odst. 4 GDPR).",
        "machine": "Strojově čitelná podoba (čl. 20 GDPR) je ve složce data/ jako JSON ve tvaru API v6.",
        "rights": "Máte právo na opravu, výmaz, omezení zpracování, přenositelnost a vznést námitku; "
        "stížnost můžete podat u Úřadu pro ochranu osobních údajů (www.uoou.cz).",
        "record": "Záznam",
    },
    "en": {
        "title": "Personal data we hold about you",
        "controller": "Controller",
        "dpo": "Data protection officer",
        "made": "Made",
        "export": "Export",
        "request": "Request",
        "summary": "Summary",
        "type": "Kind of record",
        "count": "Count",
        "categories": "Categories of data",
        "purpose": "Purpose",
        "source": "Source",
        "kept": "Kept for",
        "recipients": "Recipients",
        "staff": "The controller's operators and administrators; the processor running the service",
        "days": "{days} days, then {action}",
        "delete": "deletion",
        "anonymize": "anonymization",
        "contract": "For the contract and the statutory periods",
        "files": "Files in the package",
        "redacted": "Other people's data (names, numbers, addresses) and the operators' names are "
        "replaced by [name], [phone], [e-mail] and 'operator' (GDPR Art. 15(4)).",
        "machine": "The machine-readable form (GDPR Art. 20) is in the data/ folder as JSON in the "
        "v6 API's shape.",
        "rights": "You have the right to rectification, erasure, restriction, portability and to "
        "object; you may complain to the Office for Personal Data Protection (www.uoou.cz).",
        "record": "Record",
    },
}


@lru_cache(maxsize=64)
def categories_of(endpoint: str) -> tuple[Category, ...]:
    """The categories of the person's data a record type holds, from the registry."""
    found: list[Category] = []
    for column in REGISTRY[endpoint].model.__table__.columns:
        cls = classification(column)
        if cls and cls.owner is Owner.SUBJECT and cls.category in CATEGORIES and cls.category not in found:
            found.append(cls.category)
    return tuple(found)


@dataclass
class Facts:
    """What the report says besides the records."""

    controller: str
    dpo: str | None
    timezone: str
    made: dt.datetime
    export: str
    request: str | None
    policies: dict[str, tuple[int, str]]  # kind → (days, action)
    recipients: list[str]  # the tenant's integrations


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("hovor.privacy.exports", "templates"),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        if "title" in value or "name" in value:
            return str(value.get("title") or value.get("name") or "")
        return ", ".join(f"{k}: {_shown(v)}" for k, v in value.items() if v not in (None, "", [], {}))
    if isinstance(value, list):
        return ", ".join(_shown(v) for v in value)
    return "" if value is None else str(value)


def records_html(records: dict[str, list[dict[str, Any]]]) -> dict[str, Markup]:
    """Each record type's records as HTML, the same in both languages (written once: escaping a
    hundred thousand values through the template engine twice costs more than the rest)."""
    out: dict[str, Markup] = {}
    for endpoint, items in records.items():
        parts: list[str] = []
        for item in items:
            parts.append('<div class="record"><dl>')
            for key, value in item.items():
                if value in (None, "", [], {}, False):
                    continue
                parts.append(f"<dt>{escape(key)}</dt><dd>{escape(_shown(value))}</dd>")
            parts.append("</dl></div>\n")
        out[endpoint] = Markup("".join(parts))  # noqa: S704 - every value above is escaped
    return out


def render(
    language: str,
    facts: Facts,
    records: dict[str, list[dict[str, Any]]],
    files: list[str],
    shown: dict[str, Markup] | None = None,
) -> str:
    words = WORDS[language]
    shown = shown if shown is not None else records_html(records)
    lang = 0 if language == "cs" else 1
    rows = []
    sections = []
    for endpoint, items in records.items():
        if not items:
            continue
        meta = TYPES[endpoint]
        policy = facts.policies.get(meta[6] or "")
        kept = (
            words["days"].format(days=policy[0], action=words.get(policy[1], policy[1]))
            if policy
            else words["contract"]
        )
        rows.append(
            {
                "type": meta[lang],
                "count": len(items),
                "categories": ", ".join(dict.fromkeys(CATEGORIES[c][lang] for c in categories_of(endpoint))),
                "purpose": meta[2 + lang],
                "source": meta[4 + lang],
                "kept": kept,
            }
        )
        sections.append({"id": endpoint, "title": meta[lang], "count": len(items), "html": shown[endpoint]})
    made = facts.made.astimezone(zone(facts.timezone)).strftime("%Y-%m-%d %H:%M %Z")
    recipients = [words["staff"], *facts.recipients]
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            lang=language,
            w=words,
            facts=facts,
            made=made,
            rows=rows,
            sections=sections,
            files=files,
            recipients=recipients,
        )
    )
