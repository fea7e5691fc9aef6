"""Leichte Sprache: the overview, the complaint and the referral text (German only, marked so), the
links from the complaint form and the police's consent step, and how an English page says that a link
leads to a German-only text."""

from __future__ import annotations

import re

from referral_service.identity.roles import Role
from tests.identity.support import DemoDirectory, FakeClock
from tests.web.support import Client, assert_html, get_page, sign_in, text_of

COMPLAINT_TEXT = "/leichte-sprache/beschwerde"
REFERRAL_TEXT = "/leichte-sprache/opferhilfe"


def link_to(page_html: str, href: str) -> str:
    """The one link to `href` in the page's content (not the footer), whole (`<a ...>...</a>`)."""
    content = page_html.split('<main id="main"', 1)[1].split("</main>", 1)[0]
    found = re.findall(rf'<a\b[^>]*\bhref="{re.escape(href)}"[^>]*>.*?</a>', content, flags=re.S)
    assert len(found) == 1, (href, found)
    return found[0]


def german_part(page_html: str) -> str:
    """The text inside the element marked German (the Leichte Sprache text)."""
    found = re.search(r'<div class="plain-language" lang="de">(.*)</div>', page_html, flags=re.S)
    assert found, "no part of the page is marked German"
    return text_of(found.group(1))


async def test_the_overview_at_the_old_address_leads_to_both_texts(https_client: Client) -> None:
    response = await get_page(https_client, "/leichte-sprache")
    assert_html(response)
    text = german_part(response.text)
    assert "Hier finden Sie Texte in Leichter Sprache." in text
    # Both services, each with a sentence saying what its text explains; the old address still helps
    # whoever came for the complaint text.
    assert "Hilfe für Opfer von Straf·taten" in link_to(response.text, REFERRAL_TEXT)
    assert "Beschwerde über die Polizei" in link_to(response.text, COMPLAINT_TEXT)
    assert "Aber nur, wenn Sie Ja sagen." in text
    assert "So beschweren Sie sich." in text


async def test_the_complaint_text_explains_complaining_and_leads_to_the_form(https_client: Client) -> None:
    response = await get_page(https_client, COMPLAINT_TEXT)
    assert_html(response)
    assert "<title>Beschwerde über die Polizei – Leichte Sprache – " in response.text
    text = german_part(response.text)
    assert text.startswith("Beschwerde über die Polizei")  # the heading
    assert "Sie können sich auch ohne Namen beschweren. Das heißt: anonym." in text
    assert "Das Akten·zeichen ist die Nummer von Ihrer Beschwerde." in text
    assert "Zum Beschwerde·formular" in link_to(response.text, "/beschwerde")
    assert "Wie weit ist Ihre Beschwerde?" in link_to(response.text, "/beschwerde/status")
    assert "Zurück zur Übersicht" in link_to(response.text, "/leichte-sprache")


async def test_the_referral_text_explains_weisser_ring_consent_and_withdrawal(https_client: Client) -> None:
    response = await get_page(https_client, REFERRAL_TEXT)
    assert_html(response)
    text = german_part(response.text)
    assert text.startswith("Hilfe für Opfer von Straf·taten")
    for sentence in (
        "Der WEISSER RING ist ein Verein. Der Verein hilft Opfern von Straf·taten.",
        "Die Hilfe ist kostenlos.",
        "Aber vorher fragt die Polizei Sie: Ist das in Ordnung für Sie?",
        "Sie sagen Nein? Dann gibt die Polizei nichts an den WEISSER RING weiter.",
        "Die Person ruft Sie an. Oder die Person schreibt Ihnen.",
        "Sie können Ihre Meinung ändern.",
        # What the service does: an open case is erased on withdrawal, a closed one on request or later.
        "Hilft Ihnen der WEISSER RING noch? Dann werden Ihre Daten sofort gelöscht.",
        "Ist die Hilfe schon zu Ende? Dann bleiben Ihre Daten noch eine Zeit lang gespeichert.",
        "Dann sagen Sie: Bitte löschen Sie meine Daten jetzt.",
        "Fragen Sie die Polizei.",
    ):
        assert sentence in text, sentence
    assert "116 006" in link_to(response.text, "tel:116006")


async def test_an_unknown_text_is_the_not_found_page(https_client: Client) -> None:
    assert_html(await get_page(https_client, "/leichte-sprache/gibt-es-nicht"), 404)


async def test_the_english_interface_shows_the_german_text_and_says_so(https_client: Client) -> None:
    https_client.cookies.set("rs_lang", "en")
    for path in ("/leichte-sprache", COMPLAINT_TEXT, REFERRAL_TEXT):
        response = await get_page(https_client, path)
        assert_html(response)
        assert '<html lang="en">' in response.text
        assert "They exist in German only; there is no English version." in text_of(response.text), path
        assert german_part(response.text), path
    complaint = await get_page(https_client, COMPLAINT_TEXT)
    assert "<title>Beschwerde über die Polizei – Leichte Sprache (in German) – " in complaint.text


async def test_the_complaint_form_links_the_complaint_text(https_client: Client) -> None:
    form = (await get_page(https_client, "/beschwerde")).text
    link = link_to(form, COMPLAINT_TEXT)
    assert 'hreflang="de"' in link
    assert text_of(link) == "Erklärung in Leichter Sprache"  # a German page needs no "in German"


async def test_the_english_complaint_form_says_the_text_is_in_german(https_client: Client) -> None:
    https_client.cookies.set("rs_lang", "en")
    form = (await get_page(https_client, "/beschwerde")).text
    assert '<html lang="en">' in form
    link = link_to(form, COMPLAINT_TEXT)
    assert 'hreflang="de"' in link
    assert text_of(link) == "Easy-to-read explanation ( Leichte Sprache ) – in German"
    assert '<span lang="de">Leichte Sprache</span>' in link


async def test_the_start_page_link_says_in_german_in_english_only(https_client: Client) -> None:
    german = link_to((await get_page(https_client, "/")).text, "/leichte-sprache")
    assert text_of(german) == "Informationen in Leichter Sprache"
    https_client.cookies.set("rs_lang", "en")
    english = link_to((await get_page(https_client, "/")).text, "/leichte-sprache")
    assert 'hreflang="de"' in english
    assert text_of(english).endswith("– in German")


async def test_the_consent_step_offers_the_referral_text_in_a_new_tab(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    await sign_in(https_client, demo_directory, Role.POLICE_OFFICER, identity_clock)
    step = await get_page(https_client, "/polizei/vermittlungen/neu")
    assert_html(step)
    assert "Für die betroffene Person gibt es eine Erklärung in Leichter Sprache" in text_of(step.text)
    link = link_to(step.text, REFERRAL_TEXT)
    assert 'target="_blank" rel="noopener"' in link
    assert 'hreflang="de"' in link
    assert text_of(link) == "Erklärung für die betroffene Person in Leichter Sprache (öffnet in neuem Tab)"
    https_client.cookies.set("rs_lang", "en")
    english = link_to((await get_page(https_client, "/polizei/vermittlungen/neu")).text, REFERRAL_TEXT)
    assert text_of(english) == (
        "Easy-to-read explanation for the person concerned ( Leichte Sprache ) – in German"
        " (opens in a new tab)"
    )


async def test_the_footer_link_says_in_german_on_english_pages(https_client: Client) -> None:
    def footer_link(page_html: str) -> str:
        footer = page_html.split("<footer", 1)[1]
        found = re.findall(r'<a\b[^>]*\bhref="/leichte-sprache"[^>]*>.*?</a>', footer, flags=re.S)
        assert len(found) == 1, found
        return found[0]

    german = footer_link((await get_page(https_client, "/beschwerde")).text)
    assert text_of(german) == "Leichte Sprache"
    https_client.cookies.set("rs_lang", "en")
    english = footer_link((await get_page(https_client, "/beschwerde")).text)
    assert 'hreflang="de"' in english
    assert text_of(english) == "Easy read ( Leichte Sprache ) – in German"
