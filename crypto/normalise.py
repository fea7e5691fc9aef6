"""Canonical forms of searchable values, so that equal values get equal blind indexes."""

from __future__ import annotations

import unicodedata

_CASE_NUMBER_SEPARATORS = frozenset("-/._")
_GERMANY = "49"


def normalise_phone(raw: str) -> str:
    """E.164-like form: "+49 351 123456", "0049351123456" and "0351/123456" all give "+49351123456".

    Everything but digits is dropped (spaces, dashes, slashes, dots, parentheses, letters). A leading "+"
    or "00" marks an international number; a single leading "0" a German national one. A number without
    any prefix (no area code) is returned as bare digits. Returns "" if no subscriber number is left.
    """
    text = unicodedata.normalize("NFKC", raw)
    international = False
    for char in text:
        # Only a "+" before the first digit counts, e.g. "(+49) 351" but not "0351 + 1".
        if char == "+":
            international = True
            break
        if char.isdecimal():
            break
    digits = "".join(str(unicodedata.decimal(char)) for char in text if char.isdecimal())
    # Country codes never start with 0, so zeros after a "+" or "00" are read as another prefix:
    # "+0049 ..." and "00 0351 ..." are typing slips for "+49 ..." and "0351 ...".
    while digits.startswith("00"):
        digits, international = digits[2:], True
    if digits.startswith("0"):
        digits, international = _GERMANY + digits[1:], True
    if not international:
        return digits
    if digits.startswith(_GERMANY):
        # German numbers after +49 never start with 0: this drops the trunk "0" of "+49 (0)351 ...".
        digits = _GERMANY + digits[len(_GERMANY) :].lstrip("0")
        if digits == _GERMANY:
            return ""
    return "+" + digits if digits else ""


def normalise_email(raw: str) -> str:
    """Trimmed, NFC, case-folded address (the whole address, local part included)."""
    # Case folding can produce non-NFC sequences (e.g. "ß" + combining accent), so compose again.
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", raw.strip()).casefold())


def normalise_case_number(raw: str) -> str:
    """NFKC, upper case, without whitespace and the separators - / . _ ("123 /24-a" gives "12324A")."""
    text = raw
    # NFKC, upper-casing and dropping characters can each re-enable another (a dropped space lets a
    # combining mark compose with the letter before it), so repeat until nothing changes.
    for _ in range(4):
        folded = unicodedata.normalize("NFKC", text).upper()
        stable = "".join(c for c in folded if not c.isspace() and c not in _CASE_NUMBER_SEPARATORS)
        if stable == text:
            break
        text = stable
    return text
