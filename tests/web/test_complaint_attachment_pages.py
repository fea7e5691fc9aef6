"""Attachments on the complaint pages: with the public form, later from the complainant's page, and the
office's download. Files are checked with the attachment service's limits; a refusal is a message on
the form and leaves nothing behind."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from complaints.config import ComplaintsConfig
from complaints.models import ComplaintAttachment
from referral_service.identity.roles import Role
from tests.complaints.support import DESCRIPTION, audit_events, complaints_test_config
from tests.identity.support import DemoDirectory, FakeClock
from tests.web.complaint_support import (
    CASE_LINK,
    PDF,
    PNG,
    count,
    open_my_complaint,
    receipt_data,
    submit,
)
from tests.web.support import HTML, Client, assert_html, csrf_of, get_page, sign_in, text_of

MAX_BYTES = 4096
MAX_FILES = 3
PHOTO = "Foto Albertplatz Müller.png"
LETTER = "Schreiben an die Polizei.pdf"
_DOWNLOAD = re.compile(r'href="(/beschwerdestelle/beschwerden/[0-9a-f-]{36}/anlagen/[0-9a-f-]{36})"')


@pytest.fixture
def complaints_config(complaints_clock: FakeClock) -> ComplaintsConfig:
    # Small limits keep the files of these tests small.
    return complaints_test_config(complaints_clock, max_attachment_bytes=MAX_BYTES, max_attachments=MAX_FILES)


def files(*items: tuple[str, bytes, str]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("attachments", item) for item in items]


async def lead_opens_case(client: Client, demo_directory: DemoDirectory, clock: FakeClock) -> Any:
    await sign_in(client, demo_directory, Role.COMPLAINTS_LEAD, clock)
    queue = await get_page(client, "/beschwerdestelle")
    link = CASE_LINK.search(queue.text)
    assert link
    case = await get_page(client, link.group(1))
    assert_html(case)
    return case


async def post_files(client: Client, path: str, page_html: str, *items: tuple[str, bytes, str]) -> Any:
    return await client.post(
        path,
        data={"_csrf": csrf_of(page_html)},
        files=files(*items),
        headers=HTML,
        follow_redirects=False,
    )


async def test_files_sent_with_the_form_reach_the_office_encrypted(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock, engine: AsyncEngine
) -> None:
    form = await get_page(https_client, "/beschwerde")
    assert 'enctype="multipart/form-data"' in form.text
    assert 'type="file"' in form.text
    assert "höchstens 3 Dateien je Beschwerde, jede höchstens 4 KB groß" in text_of(form.text)

    receipt = await submit(
        https_client, files=files((PHOTO, PNG, "image/png"), (LETTER, PDF, "application/pdf"))
    )
    assert_html(receipt, 201)
    assert PHOTO in text_of(receipt.text)
    assert LETTER in text_of(receipt.text)
    reference, _ = receipt_data(receipt.text)

    async with engine.connect() as connection:
        rows = (await connection.execute(select(ComplaintAttachment.__table__))).all()  # type: ignore[attr-defined]
    assert len(rows) == 2
    for row in rows:  # stored encrypted: neither the bytes nor the name appear in the row
        assert PNG not in bytes(row.content)
        assert b"Beweisfoto" not in bytes(row.content)
        assert "Albertplatz" not in str(row.filename)

    case = await lead_opens_case(https_client, demo_directory, identity_clock)
    assert reference in case.text
    links = _DOWNLOAD.findall(case.text)
    assert len(links) == 2
    page_text = text_of(case.text)
    assert PHOTO in page_text
    assert "PNG" in page_text
    assert "1 KB" in page_text

    download = await https_client.get(links[0], follow_redirects=False)
    assert download.status_code == 200
    assert download.content == PNG
    assert download.headers["content-type"] == "image/png"
    assert download.headers["cache-control"] == "no-store"
    assert download.headers["x-content-type-options"] == "nosniff"
    disposition = download.headers["content-disposition"]
    assert re.fullmatch(r'attachment; filename="[0-9a-f-]{36}\.png"', disposition), disposition
    assert (await https_client.get(links[1])).content == PDF

    reads = [event for event in await audit_events(engine) if event.action == "complaint:attachment:read"]
    assert len(reads) == 2
    # Neither the file names nor the contents reach the audit log: ids, types and sizes only.
    audited = " ".join(repr(event.model_dump()) for event in await audit_events(engine, prefix=""))
    assert "Albertplatz" not in audited
    assert "Schreiben" not in audited


async def test_refused_files_are_explained_on_the_form_and_nothing_is_stored(
    https_client: Client, engine: AsyncEngine
) -> None:
    too_large = b"\x89PNG\r\n\x1a\n" + b"\x00" * MAX_BYTES
    cases = {
        "zu groß": files((PHOTO, too_large, "image/png")),
        "keine PDF-, PNG- oder JPEG-Datei": files(("notizen.txt", b"nur Text", "text/plain")),
        "passt nicht zu ihrem Inhalt": files(("scan.pdf", PNG, "application/pdf")),
        "zu viele Dateien": files(*[(f"foto{i}.png", PNG, "image/png") for i in range(MAX_FILES + 1)]),
    }
    for message, chosen in cases.items():
        refused = await submit(https_client, files=chosen)
        assert_html(refused, 422)
        assert message in refused.text, message
        assert 'id="f-attachments-error"' in refused.text
        assert 'href="#f-attachments"' in refused.text  # in the error summary, linked to the input
        assert DESCRIPTION in refused.text  # what was typed stays
        assert "Bitte wählen Sie Ihre Dateien noch einmal aus." in refused.text
    # A good file with an error elsewhere: the complaint is refused, the file not stored either.
    incomplete = await submit(https_client, files=files((PHOTO, PNG, "image/png")), description="")
    assert_html(incomplete, 422)
    assert await count(engine) == 0
    assert await count(engine, ComplaintAttachment) == 0


async def test_a_body_beyond_every_limit_is_cut_off_and_nothing_is_stored(
    https_client: Client, engine: AsyncEngine
) -> None:
    huge = b"\x89PNG\r\n\x1a\n" + b"\x00" * (2 * 1024 * 1024)
    response = await submit(https_client, files=files((PHOTO, huge, "image/png")))
    assert_html(response, 413)
    assert "Die Eingabe ist zu groß" in response.text
    assert await count(engine) == 0


async def test_the_form_with_files_needs_its_token(https_client: Client, engine: AsyncEngine) -> None:
    form = await get_page(https_client, "/beschwerde")
    assert_html(form)
    response = await https_client.post(
        "/beschwerde",
        data={"complainant_kind": "anonymous", "category": "other", "description": DESCRIPTION},
        files=files((PHOTO, PNG, "image/png")),
        headers=HTML,
    )
    assert_html(response, 400)
    assert await count(engine) == 0


async def test_the_complainant_adds_files_later_and_the_office_sees_them(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock, engine: AsyncEngine
) -> None:
    receipt = await submit(https_client)
    reference, code = receipt_data(receipt.text)
    assert (await open_my_complaint(https_client, reference, code)).status_code == 303
    mine = await get_page(https_client, "/beschwerde/meine")
    assert 'action="/beschwerde/meine/anhang"' in mine.text

    nothing = await post_files(https_client, "/beschwerde/meine/anhang", mine.text)
    assert_html(nothing, 422)
    assert "Bitte wählen Sie mindestens eine Datei aus." in nothing.text
    wrong = await post_files(
        https_client, "/beschwerde/meine/anhang", mine.text, ("a.txt", b"Text", "text/plain")
    )
    assert_html(wrong, 415)
    assert "keine PDF-, PNG- oder JPEG-Datei" in wrong.text
    # Two files at once, the second refused: neither is kept.
    mixed = await post_files(
        https_client,
        "/beschwerde/meine/anhang",
        mine.text,
        (PHOTO, PNG, "image/png"),
        ("gross.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * MAX_BYTES, "image/png"),
    )
    assert_html(mixed, 413)
    assert await count(engine, ComplaintAttachment) == 0

    added = await post_files(
        https_client, "/beschwerde/meine/anhang", mine.text, (LETTER, PDF, "application/pdf")
    )
    assert added.status_code == 303
    assert added.headers["location"] == "/beschwerde/meine?meldung=anhang_gespeichert"
    mine = await get_page(https_client, added.headers["location"])
    assert "Ihre Datei wurde hinzugefügt." in mine.text
    assert LETTER in text_of(mine.text)
    assert await count(engine, ComplaintAttachment) == 1

    https_client.cookies.clear()
    case = await lead_opens_case(https_client, demo_directory, identity_clock)
    [link] = _DOWNLOAD.findall(case.text)
    assert (await https_client.get(link)).content == PDF


async def test_the_limit_counts_the_files_the_complaint_already_has(
    https_client: Client, engine: AsyncEngine
) -> None:
    receipt = await submit(
        https_client, files=files(*[(f"foto{i}.png", PNG, "image/png") for i in range(MAX_FILES)])
    )
    assert_html(receipt, 201)
    reference, code = receipt_data(receipt.text)
    await open_my_complaint(https_client, reference, code)
    mine = await get_page(https_client, "/beschwerde/meine")
    assert 'action="/beschwerde/meine/anhang"' not in mine.text
    assert "bereits die höchste Zahl an Dateien" in mine.text
    refused = await post_files(https_client, "/beschwerde/meine/anhang", mine.text, (PHOTO, PNG, "image/png"))
    assert_html(refused, 409)
    assert await count(engine, ComplaintAttachment) == MAX_FILES


async def test_files_stay_with_their_complaint(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock, engine: AsyncEngine
) -> None:
    first = await submit(https_client, files=files((PHOTO, PNG, "image/png")))
    first_reference, _ = receipt_data(first.text)
    https_client.cookies.clear()
    case = await lead_opens_case(https_client, demo_directory, identity_clock)
    [link] = _DOWNLOAD.findall(case.text)
    https_client.cookies.clear()

    # Another complainant: their page lists no file of the first complaint, and their session opens
    # no office download.
    other = await submit(https_client)
    reference, code = receipt_data(other.text)
    await open_my_complaint(https_client, reference, code)
    mine = await get_page(https_client, "/beschwerde/meine")
    assert_html(mine)
    assert PHOTO not in mine.text
    assert first_reference not in mine.text
    refused = await get_page(https_client, link)
    assert refused.status_code == 303
    assert refused.headers["location"].startswith("/anmelden")
    api = await https_client.get(link)
    assert api.status_code == 401
    https_client.cookies.clear()

    # Office staff see a complaint's files only within their scope; ids of another complaint are 404.
    await sign_in(https_client, demo_directory, Role.COMPLAINTS_HANDLER, identity_clock)
    assert_html(await get_page(https_client, link), 404)  # not assigned to this handler
    https_client.cookies.clear()
    identity_clock.advance(seconds=60)
    await sign_in(https_client, demo_directory, Role.COMPLAINTS_LEAD, identity_clock)
    queue = await get_page(https_client, "/beschwerdestelle")
    other_case = next(path for path in CASE_LINK.findall(queue.text) if path not in link)
    attachment_id = link.rsplit("/", 1)[1]
    assert_html(await get_page(https_client, f"{other_case}/anlagen/{attachment_id}"), 404)
    assert (await get_page(https_client, link)).status_code == 200


async def test_malformed_or_tokenless_uploads_are_refused_without_a_trace(
    https_client: Client, engine: AsyncEngine
) -> None:
    await get_page(https_client, "/beschwerde")  # the form cookie
    for content_type, body in (
        (
            "multipart/form-data; boundary=xyz",
            b'--xyz\r\nContent-Disposition: form-data; name="a"\r\n\r\nnot ended',
        ),
        (
            "multipart/form-data; boundary=xyz",
            b'--xyz\r\nContent-Disposition: form-data; name="a"\r\n\r\n\xff\xfe\r\n--xyz--\r\n',
        ),
        ("multipart/form-data", b"no boundary"),
        (
            # A part claiming a codec that turns its bytes into a lone surrogate: read as UTF-8
            # regardless, so it is just a wrong token, not a crash further on.
            "multipart/form-data; boundary=xyz",
            b'--xyz\r\nContent-Disposition: form-data; name="_csrf"\r\n'
            b"Content-Type: text/plain; charset=raw_unicode_escape\r\n\r\n\\ud800\r\n--xyz--\r\n",
        ),
    ):
        response = await https_client.post(
            "/beschwerde", content=body, headers={**HTML, "Content-Type": content_type}
        )
        assert_html(response, 400)
    receipt = await submit(https_client)
    reference, code = receipt_data(receipt.text)
    await open_my_complaint(https_client, reference, code)
    await get_page(https_client, "/beschwerde/meine")
    tokenless = await https_client.post(
        "/beschwerde/meine/anhang", data={}, files=files((PHOTO, PNG, "image/png")), headers=HTML
    )
    assert_html(tokenless, 400)
    assert await count(engine, ComplaintAttachment) == 0
