"""Czech declension of personal names: every form a given name or a surname takes in text.

The forms follow the paradigms of Czech grammar (pán, muž, předseda, soudce, žena, růže, mladý,
jarní, and the possessive adjectives in -ův and -in) with the consonant alternations of their
endings: Petr → Petře, Marek → Marku, Zdeněk → Zdeňka, Němec → Němče, Radka → Radce, Olga → Olze,
Věra → Věře → Věřin, Jitka → Jitčin, Dagmar → Dagmařin, Procházka → Procházko, Novák → Novácích.

Which paradigm a name follows is read from its ending alone; where the ending allows two (a name
in -l may be Michal → Michala or Král → Krále; a name in -a may be Jana or Kuba), the forms of
both are given. That only widens what is looked for beside the person's own surname, which is
where a given name counts (see :mod:`hovor.privacy.redact`). docs/privacy.md lists what is
covered and what is not.
"""

from __future__ import annotations

SOFT = frozenset("žščřcjďťň")
EITHER = frozenset("slzx")  # Michal/Král, Denis/Alois, Felix: hard or soft
VOWELS = frozenset("aeiouyáéíóúůýě")

# The possessive adjectives' endings (Novákův dům, Novákova žena, o Novákově synovi, Janin, …).
POSSESSIVE_OV = ("ův", "ova", "ovo", "ovy", "ovi", "ovu", "ovou", "ově", "ových", "ovým", "ovými")
POSSESSIVE_IN = ("in", "ina", "ino", "iny", "ini", "inu", "inou", "ině", "iných", "iným", "inými")


# The consonant alternations of stems before an ending: (hard, soft) pairs, tried in order.
PALATAL = (("ch", "š"), ("k", "c"), ("g", "z"), ("h", "z"), ("r", "ř"))  # Jitce, Olze, Věře
POSSESSIVE = (("ch", "š"), ("k", "č"), ("g", "ž"), ("h", "ž"), ("r", "ř"))  # Jitčin, Olžin, Věřin
PLURAL = (("ch", "š"), ("ck", "čt"), ("sk", "št"), ("k", "c"), ("h", "z"), ("r", "ř"))  # Nováci, Dvorští


def _alternate(stem: str, pairs: tuple[tuple[str, str], ...]) -> str:
    """The stem with its last consonant(s) softened by ``pairs``, or as it is."""
    low = stem.lower()
    for hard, soft in pairs:
        if low.endswith(hard):
            return stem[: -len(hard)] + soft
    return stem


def _palatal(stem: str) -> str:
    """The stem before -e/-ě of a feminine dative (Jitka → Jitce, Olga → Olze, Věra → Věře)."""
    return _alternate(stem, PALATAL)


def _possessive_in(stem: str) -> str:
    """The stem of a feminine possessive (Jitka → Jitčin, Olga → Olžin, Věra → Věřin)."""
    return _alternate(stem, POSSESSIVE)


def _plural_soft(stem: str) -> str:
    """The stem before -i/-ích of a masculine plural (Novák → Nováci, Novácích; Starý → Staří)."""
    return _alternate(stem, PLURAL)


def _dative_e(stem: str) -> str:
    """A feminine -a name's dative and locative (Jana → Janě, Eva → Evě, Ludmila → Ludmile)."""
    low = stem.lower()
    if low[-1:] in SOFT:
        return stem + "e"
    if low[-1:] in "dtnbpvfm":
        return stem + "ě"
    return _palatal(stem) + "e"


def _fleeting(name: str) -> str | None:
    """The stem without the fleeting e (Marek → Mark, Zdeněk → Zdeňk, Němec → Němc, Karel →
    Karl), or None when the name has none."""
    low = name.lower()
    if len(name) <= 3 or not low.endswith(("ek", "ěk", "ec", "el", "en", "eň")):
        return None
    if low[-2] == "ě":
        before = {"n": "ň", "d": "ď", "t": "ť"}.get(low[-3], low[-3])
        return name[:-3] + (before.upper() if name[-3].isupper() else before) + name[-1]
    return name[:-2] + name[-1]


def _vocative(stem: str, soft: bool) -> str:
    low = stem.lower()
    if low.endswith("ec"):
        return stem[:-2] + "če"  # Němec → Němče
    if soft or low[-1:] in SOFT:
        return stem + "i"  # Tomáši, Ondřeji, Kováři
    if low.endswith(("k", "h", "g", "ch")):
        return stem + "u"  # Marku, Nováku, Vojtěchu
    if low.endswith("r") and len(low) > 1 and low[-2] not in VOWELS:
        return stem[:-1] + "ře"  # Petr → Petře, Alexandr → Alexandře
    return stem + "e"  # Jane, Karle, Václave, Igore


def _masculine_consonant(name: str) -> set[str]:
    """pán (Petr, Novák) and muž (Tomáš, Kovář), with the fleeting e and the possessive."""
    low = name.lower()
    stems = {name}
    fleeting = _fleeting(name)
    if fleeting is not None:
        stems.add(fleeting)
    kinds = [True, False] if low[-1] in EITHER else [low[-1] in SOFT or low.endswith("ec")]
    forms = {name}
    for stem in stems:
        for soft in kinds:
            if soft:  # muž
                forms |= {stem + e for e in ("e", "i", "ovi", "em", "ové", "ů", "ům", "ích")}
            else:  # pán
                forms |= {stem + e for e in ("a", "u", "ovi", "em", "ové", "ů", "ům", "y", "ech")}
                forms |= {_plural_soft(stem) + e for e in ("i", "ích")}
            forms.add(_vocative(stem, soft))
        forms |= {stem + e for e in POSSESSIVE_OV}
    return forms


def _a_forms(name: str) -> set[str]:
    """žena (Jana, Jitka, Olga) and předseda (Svoboda, Procházka, Kuba), with both possessives."""
    stem = name[:-1]
    forms = {name}
    forms |= {stem + e for e in ("y", "u", "o", "ou", "ám", "ách", "ami", "ovi", "ové", "ů", "ům")}
    forms.add(_dative_e(stem))
    # The genitive plural (bez dvou Jan, Jitek): the bare stem, with an e before a final k.
    forms.add(stem)
    if stem.lower().endswith("k") and len(stem) > 2 and stem.lower()[-2] not in VOWELS:
        forms.add(stem[:-1] + "ek")
    forms |= {_possessive_in(stem) + e for e in POSSESSIVE_IN}
    forms |= {stem + e for e in POSSESSIVE_OV}
    return forms


def _e_forms(name: str) -> set[str]:
    """růže (Marie, Lucie, Alice) and soudce (a masculine name in -e)."""
    stem = name[:-1]
    forms = {name}
    forms |= {stem + e for e in ("i", "í", "ím", "ích", "emi", "ovi", "em", "ové", "ů")}
    forms |= {stem + e for e in POSSESSIVE_IN}
    return forms


def forms(name: str, *, given: bool) -> set[str]:
    """Every form of one word of a name (a given name when ``given``, else a surname), in the
    capitalization it was given."""
    low = name.lower()
    if len(low) < 3 or not low[-1].isalpha():
        # Two letters (Ma, Ka) declined would give one-letter forms and words like "my" and "mu":
        # such a name is looked for as it is written.
        return {name}
    out = {name}
    if low.endswith(("á",)):  # Nováková, Malá: mladá
        stem = name[:-1]
        out |= {stem + e for e in ("é", "ou", "ých", "ým", "ými")}
    elif low.endswith("ý"):  # Novotný, Dvorský: mladý
        stem = name[:-1]
        out |= {stem + e for e in ("ého", "ému", "ém", "ým", "é", "ých", "ými")}
        out.add(_plural_soft(stem) + "í")
    elif low.endswith("í"):  # Jiří, Krejčí: jarní
        out |= {name + e for e in ("ho", "mu", "m", "ch", "mi")}
    elif low.endswith("a"):
        out |= _a_forms(name)
    elif low.endswith("e"):
        out |= _e_forms(name)
    elif low.endswith("o"):  # Ivo, Janko, Picasso
        stem = name[:-1]
        out |= {stem + e for e in ("a", "ovi", "em", "u", "ové", "ů")}
        out |= {stem + e for e in POSSESSIVE_OV}
    elif low[-1] not in VOWELS:
        out |= _masculine_consonant(name)
        if given:
            # Dagmar, Ester, Karin keep their form in every case; their possessive is Dagmařin.
            out |= {_possessive_in(name) + e for e in POSSESSIVE_IN}
    # No form shorter than three letters: a bare stem of a short name (Eva → "Ev") is too
    # likely to be part of something else.
    return {form for form in out if len(form) >= 3 or form == name}
