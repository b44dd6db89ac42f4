"""The form text is searched in: lower case, without diacritics, so "novakova" finds "Nováková".

NFKD splits a letter from its marks (``á`` → ``a`` + U+0301) and turns compatibility forms into
plain ones (``ﬁ`` → ``fi``); the marks are dropped and the rest case-folded. The same function
folds what is stored and what is searched for, so both sides always agree.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any

# Between the values of one record: no search term holds it (terms are split on whitespace), so a
# term never matches across two values.
SEPARATOR = "\n"


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def strings(value: Any) -> Iterable[str]:
    """Every string in ``value``, however deep in a form's lists and maps (values, not keys)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)


def fold_all(values: Iterable[Any]) -> str:
    """The folded text of ``values`` (strings, or a form's lists and maps of them), one per line;
    empty when there is nothing to search."""
    return SEPARATOR.join(fold(s) for v in values for s in strings(v) if s and s.strip())
