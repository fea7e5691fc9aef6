"""Impressum, privacy notice and accessibility statement: the operator's details from the settings, and
the footer's links to all three."""

from __future__ import annotations

from pathlib import Path

import pytest

from referral_service.settings import Settings, load_settings
from tests.web.support import Client, assert_html, get_page, text_of

# Recognisable values, none of them the demo's.
OPERATOR = {
    "REFERRAL_OPERATOR_NAME": "Landespolizeiverwaltung Prüfland",
    "REFERRAL_OPERATOR_ADDRESS": "Prüfallee 12|99999 Prüfstadt",
    "REFERRAL_OPERATOR_EMAIL": "poststelle@lpv.pruefland.example",
    "REFERRAL_OPERATOR_PHONE": "0999 123456-0",
    "REFERRAL_OPERATOR_WEBSITE": "https://lpv.pruefland.example",
    "REFERRAL_OPERATOR_REPRESENTATIVE": "Präsidentin Dr. Pia Prüfer",
    "REFERRAL_DATA_PROTECTION_OFFICER": "Behördlicher Datenschutz der LPV|datenschutz@lpv.pruefland.example",
    "REFERRAL_SUPERVISORY_AUTHORITY": "Landesdatenschutzbeauftragte Prüfland|Aufsichtsplatz 1, 99999 Prüfort",
    "REFERRAL_ACCESSIBILITY_CONTACT": "Barrierefrei-Team der LPV|barrierefrei@lpv.pruefland.example",
    "REFERRAL_ACCESSIBILITY_ENFORCEMENT_BODY": "Schlichtungsstelle Barrierefreiheit Prüfland",
}
FOOTER_LINKS = ('href="/impressum"', 'href="/datenschutz"', 'href="/barrierefreiheit"')


@pytest.fixture
def settings(database_url: str, var_dir: Path) -> Settings:
    return load_settings(
        {
            "REFERRAL_DATABASE_URL": database_url,
            "REFERRAL_VAR_DIR": str(var_dir),
            "REFERRAL_BACKGROUND_JOBS": "false",
            **OPERATOR,
        }
    )


def _main(page_html: str) -> str:
    return text_of(page_html[page_html.index("<main") : page_html.index("</main>")])


def _footer(page_html: str) -> str:
    return page_html[page_html.index('<footer class="site-footer">') :]


async def test_the_impressum_names_the_configured_operator(https_client: Client) -> None:
    response = await get_page(https_client, "/impressum")
    assert_html(response)
    text = text_of(response.text)
    assert "Angaben nach § 5 Digitale-Dienste-Gesetz (DDG)" in text
    assert "Landespolizeiverwaltung Prüfland Prüfallee 12 99999 Prüfstadt" in text
    assert "Vertreten durch Präsidentin Dr. Pia Prüfer" in text
    assert "Telefon: 0999 123456-0" in text
    assert 'href="mailto:poststelle@lpv.pruefland.example"' in response.text
    assert 'href="https://lpv.pruefland.example"' in response.text
    assert "Demo" not in text
    assert 'href="/datenschutz"' in response.text


async def test_the_privacy_notice_names_controller_officer_bases_rights_and_authority(
    https_client: Client,
) -> None:
    response = await get_page(https_client, "/datenschutz")
    assert_html(response)
    text = text_of(response.text)
    assert "Verantwortliche Stelle Landespolizeiverwaltung Prüfland Prüfallee 12" in text
    assert "Behördlicher Datenschutz der LPV" in text
    assert 'href="mailto:datenschutz@lpv.pruefland.example"' in response.text
    # Both installed services, each with its legal basis.
    assert "Art. 6 Abs. 1 Buchstabe a DSGVO" in text
    assert "Art. 9 Abs. 2 Buchstabe a DSGVO" in text
    assert "Art. 6 Abs. 1 Buchstabe e DSGVO in Verbindung mit dem Polizeirecht des Landes" in text
    for article in ("Art. 15", "Art. 16", "Art. 17", "Art. 18", "Art. 20", "Art. 21", "Art. 77"):
        assert article in text, article
    assert (
        "Zuständig für diesen Dienst ist: Landesdatenschutzbeauftragte Prüfland "
        "Aufsichtsplatz 1, 99999 Prüfort" in text
    )
    assert "kein Tracking" in text
    assert "Demo" not in text


async def test_the_accessibility_statement_names_the_configured_contact_and_enforcement_body(
    https_client: Client,
) -> None:
    response = await get_page(https_client, "/barrierefreiheit")
    assert_html(response)
    text = text_of(response.text)
    assert text.count("Landespolizeiverwaltung Prüfland ist bemüht") == 1
    assert "Barrierefrei-Team der LPV" in text
    assert 'href="mailto:barrierefrei@lpv.pruefland.example"' in response.text
    assert "Schlichtungsstelle Barrierefreiheit Prüfland" in text
    assert "Sachsen" not in _main(response.text)  # no state is written into the statement
    assert "Demo" not in text


async def test_the_pages_in_english(https_client: Client) -> None:
    await https_client.get("/sprache/en?weiter=/impressum")
    imprint = await get_page(https_client, "/impressum")
    assert_html(imprint)
    assert "Legal notice (Impressum)" in imprint.text
    assert "Represented by" in text_of(imprint.text)
    privacy = text_of((await get_page(https_client, "/datenschutz")).text)
    assert "Privacy notice" in privacy
    assert "Art. 6(1)(e) GDPR together with the state's police law" in privacy
    assert "Landesdatenschutzbeauftragte Prüfland" in privacy


@pytest.mark.parametrize("path", ["/", "/beschwerde", "/anmelden", "/impressum", "/keine-solche-seite"])
async def test_every_page_links_impressum_privacy_and_accessibility_in_the_footer(
    https_client: Client, path: str
) -> None:
    response = await get_page(https_client, path)
    footer = _footer(response.text)
    for link in FOOTER_LINKS:
        assert link in footer, (path, link)
    assert ">Impressum</a>" in footer
    assert ">Datenschutz</a>" in footer
