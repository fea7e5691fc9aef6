"""Translations for the web pages: German first (polite "Sie", gender-neutral terms), English second.

Every user-visible text lives in `locales/<language>/<area>.json` (one file per working area, so
that work on one area does not touch another's texts), each a flat mapping of keys to texts with
`{name}` placeholders; a key may appear in only one file of a language. (The texts in Leichte Sprache
are the exception: they exist in German only and are written in their templates, see
`referral_service.domains.PlainLanguagePage`.) The layout's catalogues are
here, each domain's beside it (`Domain.locales`). The language is the one
chosen with the selector (a cookie), German otherwise; the browser's Accept-Language is deliberately
not consulted, so that a shared office computer shows the authority's language until someone asks
for English.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from litestar.connection import ASGIConnection

from referral_service.domains import catalogue_folders

LANGUAGES = ("de", "en")
DEFAULT_LANGUAGE = "de"
LANGUAGE_COOKIE = "rs_lang"
LANGUAGE_NAMES = {"de": "Deutsch", "en": "English"}

_LOCALES = Path(__file__).resolve().parent / "locales"


@cache
def catalogue(language: str) -> Mapping[str, str]:
    """The texts of one language (read once per process)."""
    if language not in LANGUAGES:
        raise KeyError(language)
    merged: dict[str, str] = {}
    files = [
        path for folder in (_LOCALES, *catalogue_folders()) for path in (folder / language).glob("*.json")
    ]
    for path in sorted(files, key=lambda path: path.name):
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise ValueError(f"catalogue {path.name} ({language}) must map keys to strings")
        twice = merged.keys() & data.keys()
        if twice:
            raise ValueError(f"catalogue {path.name} ({language}) repeats keys: {sorted(twice)[:5]}")
        merged.update(data)
    return merged


class _Params(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@dataclass(frozen=True, slots=True)
class Translator:
    """`t("key", name=value)`: the text in the page's language, German if a key is missing there."""

    language: str

    def __call__(self, key: str, /, **params: Any) -> str:
        text = catalogue(self.language).get(key)
        if text is None:
            # A key missing in English falls back to German; a key missing everywhere shows itself, so
            # the gap is visible (tests/web/test_i18n.py keeps both catalogues complete).
            text = catalogue(DEFAULT_LANGUAGE).get(key, key)
        return text.format_map(_Params(params)) if params else text

    def has(self, key: str) -> bool:
        return key in catalogue(self.language)

    def label(self, prefix: str, value: object, /) -> str:
        """The label of an enumeration value: `t.label("referral.status", "submitted")`."""
        return self(f"{prefix}.{value}")


def N_(key: str) -> str:
    """Marks a catalogue key written in code (tests/web/test_i18n.py checks that it exists)."""
    return key


def language_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    chosen = connection.cookies.get(LANGUAGE_COOKIE)
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def translator_for(connection: ASGIConnection[Any, Any, Any, Any]) -> Translator:
    return Translator(language_of(connection))
