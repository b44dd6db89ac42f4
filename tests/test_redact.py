"""Finding a person in free text: Czech name forms, phone numbers however written, identifiers."""

from __future__ import annotations

import pytest

from hovor.privacy.redact import Redactor, name_forms, probes


@pytest.mark.parametrize(
    ("surname", "forms"),
    [
        ("Nováková", {"Nováková", "Novákové", "Novákovou"}),
        ("Novák", {"Novák", "Nováka", "Novákovi", "Novákem", "Nováku", "Novákův", "Novákova"}),
        ("Novotný", {"Novotný", "Novotného", "Novotnému", "Novotným"}),
        ("Svoboda", {"Svoboda", "Svobody", "Svobodovi", "Svobodou"}),
        ("Němec", {"Němec", "Němce", "Němcovi", "Němcem"}),
        ("Hájek", {"Hájek", "Hájka", "Hájkovi", "Hájkem"}),
        ("Krejčí", {"Krejčí", "Krejčího", "Krejčímu", "Krejčím"}),
    ],
)
def test_czech_surname_forms(surname: str, forms: set[str]) -> None:
    assert forms <= name_forms(None, surname)[1]


def test_mentions_take_out_only_this_person() -> None:
    r = Redactor.for_person("CZ", "Jana", "Nováková", ["+420603123456"], ["Jana.Novakova@Example.cz"])
    text = (
        "Volala paní Nováková (+420 603 123 456, 603123456, 00420603123456, 603-123-456) kvůli Novákové; "
        "s Janou Novákovou mluvil Petr, jana.novakova@example.cz. "
        "Jiný klient: 777 111 222, petr@x.cz, Novotný."
    )
    assert r.mentions(text) == (
        "Volala paní [name] ([phone], [phone], [phone], [phone]) kvůli [name]; "
        "s [name] mluvil Petr, [e-mail]. "
        "Jiný klient: 777 111 222, petr@x.cz, Novotný."
    )
    assert r.mentions(r.mentions(text)) == r.mentions(text)  # redacting twice changes nothing more


def test_own_records_lose_every_identifier() -> None:
    r = Redactor.for_person("CZ", "Tomáš", "Novák")
    text = (
        "Pan Novák, IBAN CZ65 0800 0000 1920 0014 5399, RČ 7103192745, karta 4111 1111 1111 1111, "
        "tel. 777 111 222, x@y.cz; objednávka 123456789, faktura 2026-0042"
    )
    assert r.own(text) == (
        "Pan [name], IBAN [iban], RČ [birth number], karta [card], tel. [phone], [e-mail]; "
        "objednávka 123456789, faktura 2026-0042"
    )


def test_probes_are_substrings_of_every_form() -> None:
    r = Redactor.for_person("CZ", "Jana", "Nováková", ["+420603123456"], ["jana@example.cz"])
    needles = probes(r)
    for written in ("Novákovou", "NOVÁKOVÉ", "603 123 456", "00420603123456", "jana@example.cz"):
        assert any(n in written for n in needles), written


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Faktura_Řezníček_2026.pdf", "Faktura_[name]_2026.pdf"),
        ("smlouva-Řezníčka-2026.docx", "smlouva-[name]-2026.docx"),
        ("Bohuslav.Řezníček.jpg", "[name].jpg"),
        ("KOS2000_Řezníček-2026.png", "KOS2000_[name]-2026.png"),
        ("Řezníček2026.pdf", "Řezníček2026.pdf"),  # a code, not the name
        ("Neřezníček_a_spol.pdf", "Neřezníček_a_spol.pdf"),  # a longer word is another word
    ],
)
def test_names_in_file_names(text: str, expected: str) -> None:
    assert Redactor.for_person("CZ", "Bohuslav", "Řezníček").mentions(text) == expected
