"""The record of processing activities as a printable document, in Czech or English: the same
content the API answers as JSON, laid out in the style of the subject-access report, as HTML or as
a PDF rendered by WeasyPrint (a print stylesheet, A4, the fonts of the machine)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from hovor.core.wire import zone

LANGUAGES = ("cs", "en")
FORMATS = ("html", "pdf")

WORDS: dict[str, dict[str, str]] = {
    "cs": {
        "title": "Záznamy o činnostech zpracování",
        "article": "podle čl. 30 GDPR",
        "generated": "Vytvořeno z údajů platformy",
        "controller": "Správce",
        "dpo": "Pověřenec pro ochranu osobních údajů",
        "processor": "Zpracovatel",
        "activities": "Činnosti zpracování",
        "type": "Druh záznamů",
        "purpose": "Účel",
        "subjects": "Kategorie subjektů údajů",
        "categories": "Kategorie osobních údajů",
        "source": "Zdroj",
        "kept": "Lhůta pro výmaz",
        "days": "{days} dní",
        "contract": "po dobu smlouvy (lhůta nesjednána)",
        "recipients": "Kategorie příjemců",
        "transfers": "Předávání do třetích zemí",
        "no_transfers": "Žádná data nejsou uložena mimo EU/EHP.",
        "transfer": "Uloženo mimo EU/EHP: jde o předání do třetí země",
        "locations": "Umístění dat",
        "store": "Úložiště",
        "provider": "Poskytovatel",
        "country": "Země",
        "region": "Region",
        "none_declared": "Provozovatel umístění dosud neuvedl.",
        "retention": "Lhůty uložení podle druhu záznamu",
        "kind": "Druh",
        "action": "Poté",
        "from": "Podle",
        "ceiling": "Strop pro nahrávky hovorů",
        "contract_days": "Smluvní lhůta",
        "not_set": "nestanoveno",
        "security": "Technická a organizační opatření (čl. 32)",
        "roles": "role",
        "delete": "smazání",
        "anonymize": "anonymizace",
        "policy": "zásada správce",
        "floor": "minimum platformy",
    },
    "en": {
        "title": "Record of processing activities",
        "article": "under GDPR Art. 30",
        "generated": "Generated from the platform's data",
        "controller": "Controller",
        "dpo": "Data protection officer",
        "processor": "Processor",
        "activities": "Processing activities",
        "type": "Kind of record",
        "purpose": "Purpose",
        "subjects": "Categories of data subjects",
        "categories": "Categories of personal data",
        "source": "Source",
        "kept": "Time limit for erasure",
        "days": "{days} days",
        "contract": "for the contract (no period agreed)",
        "recipients": "Categories of recipients",
        "transfers": "Transfers to third countries",
        "no_transfers": "No data is stored outside the EU/EEA.",
        "transfer": "Stored outside the EU/EEA: a transfer to a third country",
        "locations": "Where the data is",
        "store": "Store",
        "provider": "Provider",
        "country": "Country",
        "region": "Region",
        "none_declared": "The platform operator has not declared the locations yet.",
        "retention": "Retention per kind of record",
        "kind": "Kind",
        "action": "Then",
        "from": "Set by",
        "ceiling": "Ceiling for call recordings",
        "contract_days": "The contract's retention",
        "not_set": "not set",
        "security": "Technical and organisational measures (Art. 32)",
        "roles": "roles",
        "delete": "deletion",
        "anonymize": "anonymization",
        "policy": "the controller's policy",
        "floor": "the platform's floor",
    },
}


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("hovor.privacy.processing", "templates"),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def html(record: dict[str, Any], language: str, timezone: str) -> str:
    made = record["generated"].astimezone(zone(timezone)).strftime("%Y-%m-%d %H:%M %Z")
    return (
        _environment()
        .get_template("record.html.j2")
        .render(lang=language, w=WORDS[language], r=record, made=made)
    )


def pdf(record: dict[str, Any], language: str, timezone: str) -> bytes:
    from weasyprint import HTML  # imported when asked for: it loads Pango and its fonts

    rendered: bytes = HTML(string=html(record, language, timezone)).write_pdf()
    return rendered
