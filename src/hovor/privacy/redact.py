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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import phonenumbers
from stdnum import iban, luhn
from stdnum.cz import rc

from hovor.privacy import czech

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
# Six digits with at most separators between them: a text without them holds no phone number.
_DIGITS = re.compile(r"\d(?:[\s\-./()]{0,3}\d){5}")


# --- Czech name forms ----------------------------------------------------------------------------
def _words(name: str | None) -> list[str]:
    """The words of a name (a double surname's halves decline each: Nováková-Dvořáková)."""
    return [w for w in re.split(r"[\s\-]+", name or "") if len(w) > 1]


def name_forms(firstname: str | None, lastname: str | None) -> tuple[set[str], set[str]]:
    """(given-name forms, surname forms) of a person's name in its Czech cases, vocative and
    possessives included (:mod:`hovor.privacy.czech`)."""
    given = set().union(set(), *(czech.forms(w, given=True) for w in _words(firstname)))
    surname = set().union(set(), *(czech.forms(w, given=False) for w in _words(lastname)))
    return given, surname


# Academic titles, written with a full stop.
_DEGREES = ("ing", "mgr", "bc", "dr", "mudr", "judr", "phdr", "rndr", "mvdr", "doc", "prof")
# Forms of address a given name stands behind: "paní Květoslavo", "pane Ing. Jiří".
_TITLES = "|".join(
    [
        "pan|pane|pana|panu|panem|paní|slečna|slečno|slečny|slečně|slečnu|slečnou",
        "kolego|kolegyně|doktore|doktorko|inženýre|inženýrko",
        *(rf"{degree}\." for degree in _DEGREES),
    ]
)
# A full stop after these does not end a sentence.
_ABBREVIATIONS = frozenset([*_DEGREES, "tzv", "např", "tj", "resp", "č"])
_TITLE_BEFORE = re.compile(rf"(?<![^\W_])(?:{_TITLES})[\s_.\-]+$", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?…]+(?=\s|$)|\n")
_WORD_BEFORE = re.compile(r"(\w+)$")


def _sentences(text: str) -> list[tuple[int, int]]:
    """The (start, end) spans of the text's sentences, split at . ! ? … and new lines (a title's
    or a common abbreviation's full stop does not end one)."""
    spans, start = [], 0
    for end in _SENTENCE_END.finditer(text):
        # Only the few characters before the stop: searching from the start each time would make
        # a long text's sentences cost the square of its length.
        word = _WORD_BEFORE.search(text, max(0, end.start() - 16), end.start())
        if end.group().startswith(".") and word and word.group(1).lower() in _ABBREVIATIONS:
            continue
        spans.append((start, end.end()))
        start = end.end()
    spans.append((start, len(text)))
    return spans


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

    _titled: re.Pattern[str] | None = field(default=None, init=False, repr=False)

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
                # too common to say who is meant, unless a title puts it in a sentence that names
                # the surname ("paní Květoslavo, … paní Dvořáková").
                pattern = rf"{start}(?P<before>(?:{gn}){gap})?(?:{sn})(?P<after>{gap}(?:{gn}))?{end}"
                self._titled = re.compile(
                    rf"{start}(?P<title>(?:(?:{_TITLES}){gap})+)(?P<given>{gn}){end}", re.IGNORECASE
                )
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
        if self._name is None:
            return text
        # Lower case is the ordinary word (malý, svoboda, král), not the person — unless the whole
        # text is written in lower case (a chat), the given name stands beside it, or a title
        # stands before it ("pan novák").
        capitals = not text.islower()
        spans: list[tuple[int, int]] = []
        for match in self._name.finditer(text):
            alone = not (match.groupdict().get("before") or match.groupdict().get("after"))
            if alone and capitals and match.group()[0].islower():
                start = match.start()
                if not _TITLE_BEFORE.search(text, max(0, start - 24), start):
                    continue
            spans.append(match.span())
        if not spans:
            return text
        if self._titled is not None:
            # A titled given name in a sentence that names the person goes too.
            starts = iter(a for a, _ in spans)  # in text order, as finditer found them
            named: list[tuple[int, int]] = []
            at = next(starts, None)
            for first, last in _sentences(text):
                if at is not None and at < last:
                    named.append((first, last))
                    while at is not None and at < last:
                        at = next(starts, None)
            for first, last in named:
                for match in self._titled.finditer(text, first, last):
                    if not any(a <= match.start("given") < b for a, b in spans):
                        spans.append(match.span("given"))
        out, last = [], 0
        for a, b in sorted(spans):
            if a < last:
                continue
            out += [text[last:a], NAME]
            last = b
        return "".join(out) + text[last:]

    def mentions(self, text: str | None) -> str | None:
        """Text of another person's record with this person taken out: only what identifies them."""
        if not text:
            return text
        text = _EMAIL.sub(lambda m: EMAIL if m.group().casefold() in self.emails else m.group(), text)
        text = self._known_phones(text)
        return self._names(text)

    def others(self, text: str | None) -> str | None:
        """Text of this person's own record as shown to her (an access export, Art. 15(4)): the
        phone numbers and e-mail addresses of anyone else taken out, hers kept. (Other people's
        names are taken out by their own redactors' :meth:`names`.)"""
        if not text:
            return text
        text = _EMAIL.sub(lambda m: m.group() if m.group().casefold() in self.emails else EMAIL, text)
        if not _DIGITS.search(text):
            return text
        out, last = [], 0
        for match in phonenumbers.PhoneNumberMatcher(text, self.country.upper()):
            number = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            if number in self.phones:
                continue
            out += [text[last : match.start], PHONE]
            last = match.end
        return "".join(out) + text[last:] if out else text

    def names(self, text: str | None) -> str | None:
        """Only this person's name taken out (in its forms, as :meth:`mentions` finds it)."""
        return self._names(text) if text else text

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


# --- redaction by keyed hashes (a restore redoing an erasure) ------------------------------------
Pseudonymize = Callable[[str, str], str]
_WORD = re.compile(r"[^\W\d_]+")


def hashed_forms(redactor: Redactor, tenant_id: str, pseudonymize: Pseudonymize) -> dict[str, list[str]]:
    """Keyed pseudonyms of what :meth:`Redactor.mentions` takes out: the surname's and the given
    name's forms, the numbers (E.164), the addresses. Kept instead of the values."""

    def hashed(values: Iterable[str]) -> list[str]:
        return sorted({pseudonymize(tenant_id, v) for v in values})

    return {
        "surnames": hashed(redactor.surname),
        "given": hashed(redactor.given),
        "phones": hashed(redactor.phones),
        "emails": hashed(redactor.emails),
    }


@dataclass
class HashedRedactor:
    """Takes out of a text what :func:`hashed_forms` recorded, comparing keyed pseudonyms of its
    words, numbers and addresses: the values themselves are not known. A given name goes only in
    a text where a surname form was found."""

    country: str
    tenant_id: str
    pseudonymize: Pseudonymize
    hashes: dict[str, list[str]]

    def _has(self, group: str, value: str) -> bool:
        return self.pseudonymize(self.tenant_id, value) in set(self.hashes.get(group, ()))

    def _e164(self, raw: str) -> str | None:
        return Redactor(self.country)._e164(raw)

    def mentions(self, text: str | None) -> str | None:
        if not text:
            return text
        text = _EMAIL.sub(lambda m: EMAIL if self._has("emails", m.group()) else m.group(), text)
        text = _PHONE_LIKE.sub(
            lambda m: PHONE if (n := self._e164(m.group())) and self._has("phones", n) else m.group(), text
        )
        # As Redactor does: in a text that uses capitals a lower-case surname form is the ordinary
        # word (svoboda, král) unless a title stands before it; a given name goes only beside a
        # surname that goes.
        capitals = not text.islower()
        words = list(_WORD.finditer(text))
        surname = [
            self._has("surnames", m.group())
            and (
                not capitals
                or m.group()[0].isupper()
                or bool(_TITLE_BEFORE.search(text, max(0, m.start() - 24), m.start()))
            )
            for m in words
        ]
        if not any(surname):
            return text
        gone = [
            surname[i]
            or (
                self._has("given", m.group())
                and ((i > 0 and surname[i - 1]) or (i + 1 < len(words) and surname[i + 1]))
            )
            for i, m in enumerate(words)
        ]
        out, last = [], 0
        for match, drop in zip(words, gone, strict=True):
            if drop:
                out += [text[last : match.start()], NAME]
                last = match.end()
        return "".join(out) + text[last:]
