"""The personal-data registry: every column says what it holds, whose it is and what erasure does.

A column's declaration lives in its ``info`` (``mapped_column(..., info=personal(...))``), so the model
is the single place it is written. Everything privacy-related (erasure plans, subject exports,
the subject resolver's targets, retention, the Art. 30 report) is derived from it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, MetaData


class Category(StrEnum):
    PHONE = "identifier.phone"
    EMAIL = "identifier.email"
    SOCIAL = "identifier.social"
    IP = "identifier.ip"
    LOGIN = "identifier.login"
    CONTACT_POINT = "identifier.contact_point"  # a phone number or an e-mail address
    RECORD_LINK = "identifier.record"  # the key of a record about the person (a contact)
    PERSON_NAME = "person.name"
    ADDRESS = "person.address"
    TEXT = "content.text"
    HTML = "content.html"
    AUDIO = "content.audio"
    FILE = "content.file"
    FORM = "content.form"  # custom-field values; each field's type says more
    CONSENT = "consent"
    CREDENTIAL = "security.credential"
    OPERATIONAL = "operational"


class Owner(StrEnum):
    SUBJECT = "subject"  # the person the record is about (a contact, a caller)
    OPERATOR = "operator"  # a user of the tenant (an agent is a data subject too)
    NONE = "none"


class Erasure(StrEnum):
    NULL = "null"
    PLACEHOLDER = "placeholder"
    DELETE_ROW = "delete_row"
    DELETE_BLOB = "delete_blob"
    REDACT_TEXT = "redact_text"
    KEEP = "keep"


INFO_KEY = "pd"
# A table's ``info`` key for the SQL condition that its rows holding any free text meet (and a
# partial index covers): the erasure's search for mentions reads only those rows.
FREE_TEXT_ROWS = "free_text_rows"


@dataclass(frozen=True)
class Classification:
    category: Category
    owner: Owner
    erasure: Erasure
    reason: str | None = None


def personal(
    category: Category,
    owner: Owner = Owner.SUBJECT,
    erasure: Erasure = Erasure.NULL,
    reason: str | None = None,
) -> dict[str, Any]:
    """Declare a column that holds personal data."""
    if erasure is Erasure.KEEP and not reason:
        raise ValueError("keeping personal data through erasure needs a stated reason")
    return {INFO_KEY: Classification(category, owner, erasure, reason)}


def not_personal(reason: str = "no personal data") -> dict[str, Any]:
    """Declare a column that holds no personal data (keys, flags, times, counters)."""
    return {INFO_KEY: Classification(Category.OPERATIONAL, Owner.NONE, Erasure.KEEP, reason)}


def classification(column: Column[Any]) -> Classification | None:
    value = column.info.get(INFO_KEY)
    return value if isinstance(value, Classification) else None


def iter_columns(metadata: MetaData) -> Iterator[tuple[str, Column[Any], Classification | None]]:
    for table in metadata.sorted_tables:
        for column in table.columns:
            yield table.name, column, classification(column)


def unclassified(metadata: MetaData) -> list[str]:
    return [f"{t}.{c.name}" for t, c, cls in iter_columns(metadata) if cls is None]


# What a person wrote or is called: columns the planner needs no statistics of (nothing is looked
# up by them but names, which have their own indexes and are found as well without).
CONTENT_CATEGORIES = frozenset(
    {
        Category.PERSON_NAME,
        Category.ADDRESS,
        Category.TEXT,
        Category.HTML,
        Category.FORM,
        Category.CONSENT,
    }
)


def without_statistics(metadata: MetaData) -> list[tuple[str, str]]:
    """(table, column) of every content column holding a data subject's values that erasure changes.

    On PostgreSQL these columns have their statistics target set to 0: ANALYZE (and autovacuum)
    would otherwise copy sample values (most common values, histogram bounds) into
    ``pg_statistic``, a store of its own. Identifier columns (phone numbers, addresses) keep their
    statistics: without them the planner takes a sequential scan for a lookup by number. Their
    statistics are rebuilt by the erasure's ANALYZE, and the dead versions in pg_statistic's pages
    rewritten when the erasure runs as a superuser (docs/privacy.md)."""
    return [
        (table, column.name)
        for table, column, cls in iter_columns(metadata)
        if cls is not None
        and cls.owner is Owner.SUBJECT
        and cls.erasure is not Erasure.KEEP
        and cls.category in CONTENT_CATEGORIES
    ]
