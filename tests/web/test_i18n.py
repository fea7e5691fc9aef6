"""The catalogues: complete in both languages, and every key the templates use exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from referral_service.domains import template_folders
from referral_service.web import i18n
from referral_service.web.i18n import LANGUAGES, Translator, catalogue

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = [ROOT / "referral_service" / "web" / "templates", *template_folders()]
PAGE_MODULES = [
    *sorted(p for p in (ROOT / "referral_service" / "web").glob("*.py") if p.name != "i18n.py"),
    *sorted((ROOT / "complaints" / "pages").glob("*.py")),
    *sorted((ROOT / "referral_service" / "referrals" / "pages").glob("*.py")),
]
# `t("key")` in templates and code, `N_("key")` for keys written in code and translated later.
_LITERAL_KEY = re.compile(r"""\b(?:t|N_)\(\s*["']([a-z0-9_.]+)["']""")


def _used_keys() -> set[str]:
    found: set[str] = set()
    for path in [*(p for folder in TEMPLATES for p in folder.rglob("*.html")), *PAGE_MODULES]:
        text = path.read_text(encoding="utf-8")
        # A key ending in "." is a prefix completed at run time (`t("referral.status." ~ value)`).
        found.update(key for key in _LITERAL_KEY.findall(text) if not key.endswith("."))
    return found


def test_both_languages_have_the_same_keys() -> None:
    german, english = set(catalogue("de")), set(catalogue("en"))
    assert german - english == set(), "missing in English"
    assert english - german == set(), "missing in German"


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_text_is_empty(language: str) -> None:
    assert [key for key, text in catalogue(language).items() if not text.strip()] == []


def test_every_key_used_in_templates_and_pages_exists() -> None:
    used = _used_keys()
    assert len(used) > 50  # the scan found the templates
    assert sorted(used - set(catalogue("de"))) == []


def test_placeholders_match_between_languages() -> None:
    placeholder = re.compile(r"\{([a-z_]+)\}")
    for key, german in catalogue("de").items():
        assert set(placeholder.findall(german)) == set(placeholder.findall(catalogue("en")[key])), key


def test_german_addresses_people_politely_and_gender_neutrally() -> None:
    texts = " ".join(catalogue("de").values())
    assert not re.search(r"\b(du|dich|dein|deine)\b", texts, flags=re.IGNORECASE)
    # Gender-neutral role names; the generic masculine forms do not appear.
    for generic in ("Mitarbeiter ", "Beschwerdeführer ", "Bearbeiter ", "Benutzer "):
        assert generic not in texts, generic


def test_missing_keys_show_themselves_and_english_falls_back_to_german() -> None:
    assert Translator("de")("no.such.key") == "no.such.key"
    assert Translator("en")("login.title") == "Staff sign-in"
    assert Translator("de")("layout.signed_in_as", username="x") == "Angemeldet als x"


def test_a_domain_catalogue_may_not_repeat_a_key_of_another_area(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "de").mkdir()
    (tmp_path / "de" / "extra.json").write_text('{"login.title": "Noch einmal"}', encoding="utf-8")
    monkeypatch.setattr(i18n, "catalogue_folders", lambda: [tmp_path])
    with pytest.raises(ValueError, match="repeats keys"):
        i18n.catalogue.__wrapped__("de")
