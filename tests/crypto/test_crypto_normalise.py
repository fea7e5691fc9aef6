"""Normalisers: expected canonical forms, and idempotence for any input."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto import normalise_case_number, normalise_email, normalise_phone

phone_like = st.text(alphabet="0123456789+ -/.()abcTel:\u00a0\uff10\uff15\uff0b", max_size=30)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+49 351 123456", "+49351123456"),
        ("0049351123456", "+49351123456"),
        ("0351/123456", "+49351123456"),
        ("0351-123456", "+49351123456"),
        ("(0351) 12 34 56", "+49351123456"),
        ("0351.12.34.56", "+49351123456"),
        ("+49 (0)351 123456", "+49351123456"),
        ("(+49) 351 123456", "+49351123456"),
        ("Tel.: 0351 123456", "+49351123456"),
        ("0171 2345678", "+491712345678"),
        ("\uff10\uff13\uff15\uff11 \uff11\uff12\uff13\uff14\uff15\uff16", "+49351123456"),
        ("+1 (212) 555-0100", "+12125550100"),
        ("001 212 555 0100", "+12125550100"),
        ("0044 20 7946 0958", "+442079460958"),
        ("+39 06 1234 5678", "+390612345678"),
        ("123456", "123456"),
        ("", ""),
        ("   ", ""),
        ("keine Angabe", ""),
        ("+", ""),
        ("0", ""),
        ("+49", ""),
    ],
)
def test_normalise_phone(raw: str, expected: str) -> None:
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Erika.Mustermann@Example.DE ", "erika.mustermann@example.de"),
        ("J\u00f6rg@example.de", "j\u00f6rg@example.de"),
        ("JO\u0308RG@EXAMPLE.DE", "j\u00f6rg@example.de"),
        ("STRASSE@example.de", "strasse@example.de"),
        ("Stra\u00dfe@example.de", "strasse@example.de"),
        ("", ""),
    ],
)
def test_normalise_email(raw: str, expected: str) -> None:
    assert normalise_email(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("123 Js 456/24", "123JS45624"),
        ("123js456-24", "123JS45624"),
        ("  az. 12_345.67 ", "AZ1234567"),
        ("\uff21\uff22-12", "AB12"),
        ("", ""),
        (" -/._ ", ""),
    ],
)
def test_normalise_case_number(raw: str, expected: str) -> None:
    assert normalise_case_number(raw) == expected


@given(st.text() | phone_like)
def test_normalise_phone_is_idempotent_and_well_formed(raw: str) -> None:
    once = normalise_phone(raw)
    assert normalise_phone(once) == once
    assert re.fullmatch(r"(\+[1-9]\d*|[1-9]\d*)?", once), once
    assert not once.startswith("+490")


@given(st.text())
def test_normalise_email_is_idempotent(raw: str) -> None:
    once = normalise_email(raw)
    assert normalise_email(once) == once
    assert once == once.strip()


@given(st.text())
def test_normalise_case_number_is_idempotent(raw: str) -> None:
    once = normalise_case_number(raw)
    assert normalise_case_number(once) == once
    assert not any(c.isspace() or c in "-/._" for c in once)


@pytest.mark.parametrize("sample", ["\u00df\u0301", "a\u00a8", "\u0131\u0301", "a\u02d8", "\u01f0"])
def test_normalisers_are_idempotent_on_known_unicode_traps(sample: str) -> None:
    for normalise in (normalise_email, normalise_case_number):
        once = normalise(sample)
        assert normalise(once) == once


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("+0049 351 123456", "+49351123456"), ("00 0351 123456", "+49351123456"), ("000", ""), ("0000", "")],
)
def test_normalise_phone_reads_zeros_after_international_prefix_as_another_prefix(
    raw: str, expected: str
) -> None:
    assert normalise_phone(raw) == expected
