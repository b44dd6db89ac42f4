"""Czech and English: the Babel catalogs under ``locale/``, compiled when first used (no build step,
no ``.mo`` files to keep in step), and the choice of language for a request.

English is the source language: its strings are the msgids, so English needs no catalog of its own.
"""

from __future__ import annotations

import datetime as dt
import gettext
import io
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from starlette.requests import Request

LOCALES = ("cs", "en")
DEFAULT = "cs"  # the demo tenant's and most customers' language
LANG_COOKIE = "c_lang"
HERE = Path(__file__).parent / "locale"


@cache
def translations(lang: str) -> gettext.NullTranslations:
    po = HERE / lang / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def _accepted(header: str) -> list[str]:
    """The languages of an Accept-Language header, most wanted first."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        if tag:
            ranked.append((-weight, index, tag.split("-")[0].lower()))
    return [tag for _, _, tag in sorted(ranked)]


def language_of(request: Request) -> str:
    """The user's own choice (the language switch), else the browser's, else Czech."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LOCALES:
        return chosen
    for tag in _accepted(request.headers.get("accept-language", "")):
        if tag in LOCALES:
            return tag
    return DEFAULT


WIRE = "%Y-%m-%d %H:%M:%S"


def local_time(value: object, tz: str, lang: str) -> str:
    """A moment as the tenant's clock shows it, written the language's way. Wire timestamps are
    already in the tenant's zone (the API's ``to_wire``); datetimes are UTC."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            moment = dt.datetime.strptime(value, WIRE).replace(tzinfo=ZoneInfo(tz))
        except ValueError:
            return value
    elif isinstance(value, dt.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    else:
        return str(value)
    return format_datetime(moment, "medium", tzinfo=ZoneInfo(tz), locale=lang)
