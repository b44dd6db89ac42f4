"""Finding a person in free text, and taking them out of it.

Two uses, both driven by the registry's ``redact_text`` strategy and by erasure:

* In the erased person's own records, :meth:`Redactor.own` removes every phone number (the
  ``phonenumbers`` matcher), e-mail address, IBAN, Czech birth number and payment card number
  (validated with ``python-stdnum``, so an order number is not taken for a card), and the person's
  name in its inflected forms.
* In other people's records, :meth:`Redactor.mentions` removes only what identifies *this*
  person: their phone numbers however they were written (+420 603 123 456, 603123456,
  00420603123456), their e-mail addresses, and their name in its Czech forms (Nováková, Novákové,
  Novákovou; Novák, Nováka, Novákovi).

:func:`probes` gives the plain substrings a database can pre-filter rows with before the text is
read here, so other people's records are not all pulled into memory.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import phonenumbers
from stdnum import iban, luhn
from stdnum.cz import rc

NAME, PHONE, EMAIL, IBAN, BIRTH_NUMBER, CARD = (
    "[name]",
    "[phone]",
    "[e-mail]",
    "[iban]",
    "[birth number]",
    "[card]",
)

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
# Anything that may be a phone number written by a person: digits with spaces, dots, dashes, slashes
# or parentheses between them, optionally behind a plus.
_PHONE_LIKE = re.compile(r"(?<![\w+])\+?\d[\d \-./()]{6,22}\d(?!\w)")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
_BIRTH = re.compile(r"\b\d{6}/?\d{3,4}\b")
_CARD = re.compile(r"\b\d(?:[ \-]?\d){12,18}\b")


# --- Czech name forms ----------------------------------------------------------------------------
def _surname_forms(name: str) -> set[str]:
    """The cases of a Czech surname (nominative, genitive, dative, accusative, vocative, instrumental,
    and the family plural), by its ending. Unknown shapes keep the name as given."""
    forms = {name}
    low = name.lower()
    if low.endswith("á"):  # Nováková, Malá: adjectival feminine
        stem = name[:-1]
        forms |= {stem + e for e in ("á", "é", "ou")}
    elif low.endswith("ý"):  # Novotný, Dvorský: adjectival masculine
        stem = name[:-1]
        forms |= {stem + e for e in ("ý", "ého", "ému", "ém", "ým", "í")}
    elif low.endswith("í"):  # Krejčí
        forms |= {name + e for e in ("ho", "mu", "m")}
    elif low.endswith("a"):  # Svoboda, Procházka
        stem = name[:-1]
        forms |= {stem + e for e in ("a", "y", "ovi", "ou", "o", "u", "ové", "ě")}
    elif low.endswith("e"):  # Skořepe-like
        forms |= {name + e for e in ("ovi", "m")} | {name[:-1] + "i"}
    elif low.endswith("o"):  # Janko
        stem = name[:-1]
        forms |= {stem + e for e in ("a", "ovi", "em", "u")}
    elif low[-1:].isalpha():  # Novák, Dvořák, Němec, Hájek: hard or soft consonant
        stems = {name}
        if low.endswith(("ec", "ek", "el", "en")) and len(name) > 3:
            stems.add(name[:-2] + name[-1])  # the fleeting e: Němec → Němce, Hájek → Hájka
        for stem in stems:
            # cases, the family plural, and the possessive (Novákův, Novákova, Novákovo)
            forms |= {stem + e for e in ("a", "ovi", "em", "e", "u", "ové", "ů", "i")}
            forms |= {name + e for e in ("ův", "ova", "ovo", "ovy", "ových")}
    return forms


def _given_forms(name: str) -> set[str]:
    forms = {name}
    low = name.lower()
    if low.endswith("a"):  # Jana, Petra
        stem = name[:-1]
        forms |= {stem + e for e in ("y", "ě", "e", "u", "ou", "o")}
    elif low.endswith(("ie", "ía")):  # Marie
        stem = name[:-1]
        forms |= {stem + "i", stem + "í"}
    elif low[-1:].isalpha() and low[-1] not in "aeiouyáéíóúůý":  # Jan, Petr, Tomáš
        stems = {name}
        if low.endswith(("ek", "el")) and len(name) > 3:
            stems.add(name[:-2] + name[-1])  # Marek → Marka, Karel → Karla
        for stem in stems:
            forms |= {stem + e for e in ("a", "ovi", "em", "e", "u", "i")}
    return forms


def name_forms(firstname: str | None, lastname: str | None) -> tuple[set[str], set[str]]:
    """(given-name forms, surname forms) of a person's name in Czech cases."""
    given = (
        set().union(*(_given_forms(p) for p in (firstname or "").split() if len(p) > 1))
        if firstname
        else set()
    )
    surname = (
        set().union(*(_surname_forms(p) for p in (lastname or "").split() if len(p) > 1))
        if lastname
        else set()
    )
    return given, surname


def _alternation(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


# --- the redactor --------------------------------------------------------------------------------
@dataclass
class Redactor:
    """Knows one person: their name forms, phone numbers (E.164) and e-mail addresses."""

    country: str
    given: set[str] = field(default_factory=set)
    surname: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    _name: re.Pattern[str] | None = field(default=None, init=False, repr=False)

    @classmethod
    def for_person(
        cls,
        country: str,
        firstname: str | None,
        lastname: str | None,
        phones: Iterable[str] = (),
        emails: Iterable[str] = (),
    ) -> Redactor:
        given, surname = name_forms(firstname, lastname)
        return cls(country, given, surname, set(phones), {e.casefold() for e in emails})

    def __post_init__(self) -> None:
        if self.surname:
            sn = _alternation(self.surname)
            # A name stands between anything but letters and digits: spaces and punctuation, and
            # the underscores, hyphens and dots of a file name (Faktura_Řezníček_2026.pdf), where a
            # word boundary would not see it. Letters or digits running on into it (KOS2000, a
            # product code) make another word.
            start, end, gap = r"(?<![^\W_])", r"(?![^\W_])", r"[\s_.\-]+"
            if self.given:
                gn = _alternation(self.given)
                # "Jana Nováková", "Nováková Jana", or the surname alone; the given name alone is
                # too common to say who is meant.
                pattern = rf"{start}(?:(?:{gn}){gap})?(?:{sn})(?:{gap}(?:{gn}))?{end}"
            else:
                pattern = rf"{start}(?:{sn}){end}"
            self._name = re.compile(pattern, re.IGNORECASE)

    # A number written in the text, in E.164, or None.
    def _e164(self, raw: str) -> str | None:
        try:
            number = phonenumbers.parse(raw, self.country.upper())
        except phonenumbers.NumberParseException:
            return None
        if not phonenumbers.is_possible_number(number):
            return None
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    def _own_phones(self, text: str) -> str:
        out, last = [], 0
        for match in phonenumbers.PhoneNumberMatcher(text, self.country.upper()):
            out += [text[last : match.start], PHONE]
            last = match.end
        return "".join(out) + text[last:] if out else text

    def _known_phones(self, text: str) -> str:
        if not self.phones:
            return text
        return _PHONE_LIKE.sub(lambda m: PHONE if self._e164(m.group()) in self.phones else m.group(), text)

    def _names(self, text: str) -> str:
        return self._name.sub(NAME, text) if self._name is not None else text

    def mentions(self, text: str | None) -> str | None:
        """Text of another person's record with this person taken out: only what identifies them."""
        if not text:
            return text
        text = _EMAIL.sub(lambda m: EMAIL if m.group().casefold() in self.emails else m.group(), text)
        text = self._known_phones(text)
        return self._names(text)

    def own(self, text: str | None) -> str | None:
        """Text of the person's own record, kept for what it says about the case, not who: every
        identifier of any kind goes, and the person's name."""
        if not text:
            return text
        text = _EMAIL.sub(EMAIL, text)
        text = _IBAN.sub(lambda m: IBAN if iban.is_valid(m.group()) else m.group(), text)
        text = _BIRTH.sub(lambda m: BIRTH_NUMBER if rc.is_valid(m.group()) else m.group(), text)
        text = _CARD.sub(lambda m: CARD if _is_card(m.group()) else m.group(), text)
        text = self._own_phones(text)
        text = self._known_phones(text)
        return self._names(text)


def _is_card(raw: str) -> bool:
    digits = re.sub(r"\D", "", raw)
    return 13 <= len(digits) <= 19 and luhn.is_valid(digits)


def probes(redactor: Redactor) -> list[str]:
    """Substrings of which at least one occurs in any text :meth:`Redactor.mentions` would change.

    For a ``LIKE '%…%'`` pre-filter: the shortest prefix shared by the surname's forms (every form
    starts with it, in the capitalization it was given and in lower case), each e-mail address,
    and the last three digits of each phone number (every written form ends with them)."""
    out: set[str] = set()
    if redactor.surname:
        stem = _common_prefix(sorted(redactor.surname))
        if len(stem) >= 3:
            out |= {stem, stem.lower(), stem.upper()}
        else:
            out |= redactor.surname
    out |= redactor.emails
    out |= {e.upper() for e in redactor.emails}
    out |= {p[-3:] for p in redactor.phones if len(p) >= 3}
    return sorted(out)


def _common_prefix(words: list[str]) -> str:
    if not words:
        return ""
    first, last = min(words), max(words)
    i = 0
    while i < min(len(first), len(last)) and first[i] == last[i]:
        i += 1
    return first[:i]
