"""A signed-in user's own notifications: the list and its paging, the unread count (also in every page's
header), marking read, the choices per kind and the address for e-mails; nobody reaches anyone else's."""

from __future__ import annotations

import datetime as dt
import json

from litestar import Litestar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.audit.models import AuditEvent
from referral_service.db import utcnow
from referral_service.notifications.audit_actions import NotificationAuditAction
from referral_service.notifications.models import EmailState, Notification, StaffContact
from tests.identity.support import AuthHeaders, DemoDirectory, FakeClock
from tests.notifications.support import TEST_KIND, install_test_kind, write
from tests.plaintext_scan import assert_nowhere_stored
from tests.web.support import Client, assert_error_summary, assert_html, csrf_of, get_page, post_form, sign_in

API = "/api/v1/notifications"
# Recognisable in any form (the domain is stored in lower case): must never be stored as it is.
CANARY = "Erika.Kanarienvogel@Example.ORG"
HEADER = (
    '>Benachrichtigungen <span aria-hidden="true">({count})</span>'
    '<span class="visually-hidden">({count} ungelesen)</span></a>'
)


async def _rows(engine: AsyncEngine) -> list[Notification]:
    async with AsyncSession(engine) as session:
        return list((await session.exec(select(Notification).order_by(Notification.created_at))).scalars())  # type: ignore[call-overload]


async def _audit_details(engine: AsyncEngine, action: NotificationAuditAction) -> list[dict[str, object]]:
    async with engine.connect() as connection:
        found = await connection.execute(
            select(AuditEvent.details).where(AuditEvent.action == action.value).order_by(AuditEvent.id)  # type: ignore[arg-type]
        )
        return [json.loads(details) for (details,) in found]


async def test_the_list_pages_counts_and_marks_read_only_the_callers_own(
    client: Client,
    app: Litestar,
    engine: AsyncEngine,
    demo_directory: DemoDirectory,
    auth_headers: AuthHeaders,
) -> None:
    install_test_kind(app)
    dresden = demo_directory.account("volunteer.dresden").user_id
    leipzig = demo_directory.account("volunteer.leipzig").user_id
    start = utcnow() - dt.timedelta(hours=1)
    ids = [
        (await write(engine, [dresden], reference=f"VM-2026-00000{n}", at=start + dt.timedelta(minutes=n)))[0]
        for n in (1, 2, 3)
    ]
    await write(engine, [dresden], reference="VM-2026-000004", deadline=dt.date(2026, 3, 9), at=start)
    (foreign,) = await write(engine, [leipzig], reference="VM-2026-000099", at=start)
    me, other = await auth_headers("volunteer.dresden"), await auth_headers("volunteer.leipzig")

    first = await client.get(API, params={"limit": 3}, headers=me)
    assert first.status_code == 200, first.text
    assert [n["reference"] for n in first.json()] == ["VM-2026-000003", "VM-2026-000002", "VM-2026-000001"]
    assert first.json()[0] | {"id": None, "created_at": None, "link": None} == {
        "id": None,
        "kind": TEST_KIND.code,
        "label": "Was auf Sie wartet",
        "reference": "VM-2026-000003",
        "link": None,
        "deadline": None,
        "created_at": None,
        "read": False,
        "read_at": None,
    }
    next_url = first.headers["link"].split(">")[0].lstrip("<")
    second = await client.get(next_url, headers=me)
    assert [(n["reference"], n["deadline"]) for n in second.json()] == [("VM-2026-000004", "2026-03-09")]
    assert "link" not in second.headers
    assert (await client.get(API, params={"after": "bm9uc2Vuc2U"}, headers=me)).status_code == 422

    async def unread(headers: dict[str, str]) -> int:
        response = await client.get(f"{API}/unread-count", headers=headers)
        assert response.status_code == 200, response.text
        return int(response.json()["unread"])

    assert (await unread(me), await unread(other)) == (4, 1)
    # Someone else's notification does not exist for the caller: not read, not marked.
    refused = await client.post(f"{API}/{foreign}/read", headers=me)
    assert (refused.status_code, refused.json()["code"]) == (404, "notification.not_found")
    assert await unread(other) == 1
    marked = await client.post(f"{API}/{ids[0]}/read", headers=me)
    assert marked.status_code == 200, marked.text
    assert marked.json()["read"] is True
    again = await client.post(f"{API}/{ids[0]}/read", headers=me)
    assert again.json()["read_at"] == marked.json()["read_at"]
    unread_list = await client.get(API, params={"unread": "true"}, headers=me)
    assert str(ids[0]) not in {n["id"] for n in unread_list.json()}
    assert (len(unread_list.json()), await unread(me)) == (3, 3)
    assert (await client.post(f"{API}/read-all", headers=me)).json() == {"marked": 3}
    assert (await unread(me), await unread(other)) == (0, 1)


async def test_preferences_and_the_address_take_effect_and_the_address_stays_encrypted(
    client: Client,
    app: Litestar,
    engine: AsyncEngine,
    demo_directory: DemoDirectory,
    auth_headers: AuthHeaders,
) -> None:
    install_test_kind(app)
    me = await auth_headers("volunteer.dresden")
    volunteer = demo_directory.account("volunteer.dresden").user_id

    listed = await client.get(f"{API}/preferences", headers=me)
    assert listed.status_code == 200, listed.text
    test_kind = {p["kind"]: p for p in listed.json()}[TEST_KIND.code]
    assert test_kind == {
        "kind": TEST_KIND.code,
        "label": "Was auf Sie wartet",
        "in_app": True,
        "email": "immediate",
        "default_email": "immediate",
        "customised": False,
    }
    # Refused as a whole, each wrong entry named: a kind the user cannot receive, a mode that is none.
    for body, field in [
        ({"kind": "tests.unknown", "in_app": True, "email": "off"}, "preferences[0].kind"),
        ({"kind": TEST_KIND.code, "in_app": True, "email": "hourly"}, "preferences[0].email"),
    ]:
        bad = await client.put(f"{API}/preferences", json={"preferences": [body]}, headers=me)
        assert bad.status_code == 422, bad.text
        assert [error["field"] for error in bad.json()["errors"]] == [field]
    for body in ({"email": "erika.example.org", "language": "de"}, {"email": CANARY, "language": "fr"}):
        assert (await client.put(f"{API}/contact", json=body, headers=me)).status_code == 422
    assert await _audit_details(engine, NotificationAuditAction.PREFERENCES_UPDATE) == []

    saved = await client.put(f"{API}/contact", json={"email": CANARY, "language": "en"}, headers=me)
    assert saved.status_code == 200, saved.text
    assert saved.json() == {"email": "Erika.Kanarienvogel@example.org", "language": "en"}
    assert saved.headers["cache-control"] == "no-store"
    assert (await client.get(f"{API}/contact", headers=me)).json()[
        "email"
    ] == "Erika.Kanarienvogel@example.org"
    other = await client.get(f"{API}/contact", headers=await auth_headers("volunteer.leipzig"))
    assert other.json() == {"email": None, "language": "de"}
    changed = await client.put(
        f"{API}/preferences",
        json={"preferences": [{"kind": TEST_KIND.code, "in_app": False, "email": "digest"}]},
        headers=me,
    )
    assert changed.status_code == 200, changed.text
    assert {p["kind"]: p for p in changed.json()}[TEST_KIND.code]["customised"] is True

    # In-app off, e-mail in the digest: an e-mail-only row, in English, that the list does not show.
    await write(engine, [volunteer])
    (row,) = await _rows(engine)
    assert (row.in_app, row.email_state, row.language) == (False, EmailState.DIGEST, "en")
    assert (await client.get(API, headers=me)).json() == []
    assert (await client.post(f"{API}/{row.id}/read", headers=me)).status_code == 404

    # Removed: the key is destroyed; the next event, with both channels off, is not written at all.
    removed = await client.delete(f"{API}/contact", headers=me)
    assert removed.json() == {"email": None, "language": "en"}
    async with AsyncSession(engine) as session:
        (contact,) = (await session.exec(select(StaffContact))).scalars()  # type: ignore[call-overload]
        assert contact.email is None
    await write(engine, [volunteer])
    assert len(await _rows(engine)) == 1
    reset = await client.delete(f"{API}/preferences", headers=me)
    assert {p["kind"]: p for p in reset.json()}[TEST_KIND.code]["customised"] is False
    await write(engine, [volunteer])
    assert [(r.in_app, r.email_state) for r in await _rows(engine)][1:] == [(True, EmailState.NONE)]

    await assert_nowhere_stored(engine, "Kanarienvogel")
    assert await _audit_details(engine, NotificationAuditAction.CONTACT_UPDATE) == [
        {"email": "set", "language": "en"},
        {"email": "removed", "language": "en"},
    ]
    assert await _audit_details(engine, NotificationAuditAction.PREFERENCES_UPDATE) == [
        {"kinds": [TEST_KIND.code]},
        {"kinds": [TEST_KIND.code], "reset": True},
    ]


async def test_the_pages_show_the_list_the_header_count_and_the_settings(
    https_client: Client,
    identity_app: Litestar,
    engine: AsyncEngine,
    demo_directory: DemoDirectory,
    identity_clock: FakeClock,
) -> None:
    install_test_kind(identity_app)
    volunteer = demo_directory.account("volunteer.dresden").user_id
    first, second = [
        (await write(engine, [volunteer], reference=reference, deadline=dt.date(2026, 3, 9)))[0]
        for reference in ("VM-2026-000011", "VM-2026-000012")
    ]
    (foreign,) = await write(engine, [demo_directory.account("volunteer.leipzig").user_id])
    await sign_in(https_client, demo_directory, "volunteer.dresden", identity_clock)

    listed = await get_page(https_client, "/benachrichtigungen")
    assert_html(listed)
    assert HEADER.format(count=2) in listed.text
    text = " ".join(listed.text.split())
    assert text.count('<span class="badge badge-unread">Ungelesen</span> Was auf Sie wartet') == 2
    assert "<dt>Frist</dt><dd>09.03.2026</dd>" in text
    assert ">Fall VM-2026-000012 öffnen</a>" in text
    token = csrf_of(listed.text)

    read = await post_form(https_client, f"/benachrichtigungen/{first}/gelesen", {"_csrf": token})
    assert (read.status_code, read.headers["location"]) == (
        303,
        "/benachrichtigungen?meldung=benachrichtigung_gelesen",
    )
    after = await get_page(https_client, read.headers["location"])
    assert HEADER.format(count=1) in after.text
    assert "Die Benachrichtigung ist als gelesen markiert." in after.text
    assert ">Gelesen</span>" in after.text
    missing = await post_form(https_client, f"/benachrichtigungen/{foreign}/gelesen", {"_csrf": token})
    assert missing.status_code == 404
    done = await post_form(
        https_client, "/benachrichtigungen/alle-gelesen", {"_csrf": token, "anzeige": "ungelesen"}
    )
    assert done.headers["location"] == "/benachrichtigungen?anzeige=ungelesen&meldung=alle_gelesen"
    unread_view = await get_page(https_client, done.headers["location"])
    assert "Sie haben keine ungelesenen Benachrichtigungen." in unread_view.text
    assert ">Benachrichtigungen</a>" in unread_view.text  # no count left in the header
    assert second  # read by "alle als gelesen markieren"

    settings = await get_page(https_client, "/benachrichtigungen/einstellungen")
    assert_html(settings)
    assert "E-Mails enthalten nie Inhalte eines Falls" in settings.text
    assert "Sie haben keine E-Mail-Adresse hinterlegt." in settings.text
    index = settings.text.index(f'value="{TEST_KIND.code}"')
    position = settings.text[:index].count('type="hidden" name="kind_')
    form = {
        "_csrf": token,
        f"kind_{position}": TEST_KIND.code,
        f"in_app_{position}": "",
        f"email_{position}": "digest",
    }
    forged = await post_form(
        https_client, "/benachrichtigungen/einstellungen", {**form, f"kind_{position}": "x.y"}
    )
    assert forged.status_code == 422
    saved = await post_form(https_client, "/benachrichtigungen/einstellungen", form)
    assert saved.headers["location"] == "/benachrichtigungen/einstellungen?meldung=einstellungen_gespeichert"
    bad = await post_form(
        https_client,
        "/benachrichtigungen/einstellungen/adresse",
        {"_csrf": token, "address": "erika@", "email_language": "de"},
    )
    assert bad.status_code == 422
    assert_error_summary(bad.text, expected={"address"})
    good = await post_form(
        https_client,
        "/benachrichtigungen/einstellungen/adresse",
        {"_csrf": token, "address": CANARY, "email_language": "de"},
    )
    assert good.headers["location"] == "/benachrichtigungen/einstellungen?meldung=adresse_gespeichert"
    shown = await get_page(https_client, "/benachrichtigungen/einstellungen")
    assert 'value="Erika.Kanarienvogel@example.org"' in shown.text
    assert "Sie haben keine E-Mail-Adresse hinterlegt." not in shown.text
    await write(engine, [volunteer])
    newest = (await _rows(engine))[-1]
    assert (newest.in_app, newest.email_state) == (False, EmailState.DIGEST)
