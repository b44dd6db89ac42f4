"""Other people in the person's records (GDPR Art. 15(4)): what an export shows her of them.

Her records may name a neighbour ("Pan Vrba volal z 777 111 222"), quote someone else's e-mail
address, and carry the operators who handled her case. The export keeps everything about her and
takes out:

* operators, who appear by role only: every field the registry declares an operator's
  (``Owner.OPERATOR``: ``user``, ``created_by``, ``edited_by``, …) reads ``operator``;
* in free text (the fields the registry declares text or HTML, and custom-field values), every
  phone number and e-mail address that is not hers;
* in free text, the names of the tenant's other contacts and users in their Czech forms, found
  as erasure finds a person's mentions (:class:`~hovor.privacy.redact.Redactor`). Candidates are
  looked up by surname through the contacts' index: each capitalised word of the texts gives the
  nominative forms it may be declined from (Vrbovi → Vrba, Hájka → Hájek), and only a person whose
  generated forms actually occur is taken out.

What it cannot know: a person the tenant has no record of, named only in a text, stays (there is
nothing to say the word is a name); and files (recordings, attachments) are passed as they are.
docs/privacy.md says so, so the DPO reviews those before sending.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hovor.activities import channels
from hovor.activities.models import Activity
from hovor.api.resource import REGISTRY
from hovor.auth.models import User
from hovor.core.personal_data import Category, Owner, classification
from hovor.crm.models import Contact
from hovor.privacy.erasure.plan import in_chunks
from hovor.privacy.redact import Redactor, name_forms

OPERATOR = "operator"
_FREE = (Category.TEXT, Category.HTML, Category.FORM)
# Words of three letters or more: the candidates for a name.
_WORD = re.compile(r"(?<![^\W_])[^\W\d_]{3,}(?![^\W_])")
# Endings a Czech surname takes in its cases, and the nominative endings it may have.
_CASE_ENDINGS = (
    "",
    "a",
    "e",
    "i",
    "o",
    "u",
    "y",
    "ě",
    "á",
    "é",
    "í",
    "ou",
    "ovi",
    "em",
    "ou",
    "ého",
    "ému",
    "ým",
)
_NOMINATIVE = ("", "a", "e", "o", "á", "ý", "í", "ek", "ec", "el", "ová")


def _of_models(*models: Any) -> tuple[set[str], set[str]]:
    operators, texts = {"user", "created_by", "edited_by", "id_agent"}, {"customFields"}
    for model in models:
        for column in model.__table__.columns:
            cls = classification(column)
            if cls is None or cls.category is Category.OPERATIONAL:
                continue
            if cls.owner is Owner.OPERATOR:
                operators.add(column.key)
            elif cls.category in _FREE:
                texts.add(column.key)
    return operators, texts


@lru_cache(maxsize=64)
def declared(endpoint: str) -> tuple[frozenset[str], frozenset[str]]:
    """(operator fields, free-text fields) of a record type as the wire shows it, from the registry.

    An activity and its channel's item are shown together (a call carries its activity's title
    and description; an activity nests its item under ``item``): for those, the fields of the
    activity and of every channel's item count, and ``item`` is redacted as a record of its own."""
    models = [REGISTRY[endpoint].model]
    if endpoint == "activities" or endpoint in channels.ENDPOINTS:
        models = [Activity, *(kind.model for kind in channels.KINDS)]
    operators, texts = _of_models(*models)
    return frozenset(operators), frozenset(texts)


@dataclass
class Others:
    """The redaction of one export: the person's own identifiers (kept) and the other people found."""

    person: Redactor
    people: list[Redactor] = field(default_factory=list)

    def text(self, value: str | None) -> str | None:
        value = self.person.others(value)
        for other in self.people:
            value = other.names(value)
        return value

    def _deep(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self._deep(v) for v in value]
        if isinstance(value, dict):
            return {k: self._deep(v) for k, v in value.items()}
        return value

    def record(self, endpoint: str, row: dict[str, Any]) -> dict[str, Any]:
        operators, texts = declared(endpoint)
        out: dict[str, Any] = {}
        for key, value in row.items():
            if key == "item" and isinstance(value, dict):
                out[key] = self.record("activities", value)
            elif key in operators and value:
                out[key] = {"name": OPERATOR, "title": OPERATOR} if isinstance(value, dict) else OPERATOR
            elif key in texts:
                out[key] = self._deep(value)
            else:
                out[key] = value
        return out


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def free_texts(endpoint: str, row: dict[str, Any]) -> Iterator[str]:
    """The free text of a record as the API shows it: what :meth:`Others.record` redacts."""
    texts = declared(endpoint)[1]
    for key, value in row.items():
        if key in texts and value:
            yield from _strings(value)


def _bases(word: str) -> set[str]:
    """The nominative forms ``word`` may be a case of (a superset: only real names are kept)."""
    out = set()
    for ending in _CASE_ENDINGS:
        if ending and not word.endswith(ending):
            continue
        stem = word[: len(word) - len(ending)] if ending else word
        if len(stem) < 2:
            continue
        out |= {stem + n for n in _NOMINATIVE}
    return out


def words(texts: Iterable[str]) -> set[str]:
    return {w for text in texts for w in _WORD.findall(text) if w[0].isupper()}


def build(
    session: Session,
    tenant_id: str,
    country: str,
    person: Redactor,
    own_contacts: Iterable[str],
    texts: Iterable[str],
) -> Others:
    """The redaction for an export whose free texts are ``texts``."""
    own = set(own_contacts)
    found = words(texts) - person.surname - person.given
    candidates = sorted({base for w in found for base in _bases(w)})
    people: dict[tuple[str, str], Redactor] = {}
    for chunk in in_chunks(candidates, 900):
        for name, first, last in session.execute(
            select(Contact.name, Contact.firstname, Contact.lastname).where(
                Contact.tenant_id == tenant_id, Contact.lastname.in_(chunk)
            )
        ):
            if name in own or not last:
                continue
            people.setdefault((first or "", last), Redactor.for_person(country, first, last))
    # The operators by their names (a user's title is "Given Surname").
    for (title,) in session.execute(select(User.title).where(User.tenant_id == tenant_id)):
        *given, last = (title or "").split() or [""]
        if given and name_forms(None, last)[1] & found:
            people.setdefault((" ".join(given), last), Redactor.for_person(country, " ".join(given), last))
    return Others(
        person,
        # A namesake of hers (her husband, her daughter) is taken out only where named in full.
        [r for _, r in sorted(people.items()) if r.surname != person.surname],
    )
