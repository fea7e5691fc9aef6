"""The administrators' view of the notification e-mails: the counts by state (page and monitoring API),
the failed and uncertain e-mails without any case or address, and "send again" with its audit event;
nobody but an administrator gets there."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid

from litestar import Litestar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.audit.models import AuditEvent
from referral_service.db import utcnow
from referral_service.identity.roles import Role
from referral_service.notifications.audit_actions import NotificationAuditAction
from referral_service.notifications.models import EmailState, Notification
from tests.identity.support import AuthHeaders, DemoDirectory, FakeClock
from tests.notifications.outbox_rows import insert_email
from tests.notifications.support import install_test_kind
from tests.web.support import HTML, Client, assert_html, csrf_of, get_page, post_form, sign_in, text_of

PAGE = "/verwaltung/benachrichtigungen"
SUMMARY = "/api/v1/admin/notifications/summary"
# Must never reach an administrator: which case an e-mail is about, and where it goes.
CANARY_REFERENCE = "BS-2026-99999"
CANARY_ADDRESS = "erika.kanarienvogel@example.org"


async def _seed(engine: AsyncEngine, volunteer: uuid.UUID) -> dict[str, uuid.UUID]:
    now = utcnow()
    for state in (EmailState.SENT, EmailState.SENT, EmailState.DIGEST, EmailState.SENDING, EmailState.NONE):
        await insert_email(engine, state, recipient=volunteer)
    await insert_email(engine, EmailState.PENDING, recipient=volunteer, at=now - dt.timedelta(hours=2))
    await insert_email(engine, EmailState.PENDING, recipient=volunteer, at=now - dt.timedelta(minutes=5))
    return {
        "complainant": await insert_email(
            engine, EmailState.DEAD, reference=CANARY_REFERENCE, attempts=1, error="no_address"
        ),
        "staff": await insert_email(
            engine,
            EmailState.DEAD,
            recipient=volunteer,
            reference=CANARY_REFERENCE,
            attempts=5,
            error="refused",
        ),
        # A kind no installed domain declares (any more): shown by its code.
        "uncertain": await insert_email(
            engine,
            EmailState.UNCERTAIN,
            recipient=volunteer,
            kind="retired.kind",
            attempts=2,
            error="interrupted",
        ),
        "sent": await insert_email(engine, EmailState.SENT, recipient=volunteer),
    }


async def test_only_administrators_see_counts_and_failures_without_cases_and_send_one_again(
    https_client: Client,
    identity_app: Litestar,
    engine: AsyncEngine,
    demo_directory: DemoDirectory,
    auth_headers: AuthHeaders,
    identity_clock: FakeClock,
) -> None:
    install_test_kind(identity_app)
    volunteer = demo_directory.account("volunteer.dresden").user_id
    saved = await https_client.put(
        "/api/v1/notifications/contact",
        json={"email": CANARY_ADDRESS},
        headers=await auth_headers("volunteer.dresden"),
    )
    assert saved.status_code == 200, saved.text
    ids = await _seed(engine, volunteer)
    admin = await auth_headers(Role.ADMIN)

    summary = await https_client.get(SUMMARY, headers=admin)
    assert summary.status_code == 200, summary.text
    age = summary.json().pop("oldest_pending_age_seconds")
    assert 2 * 3600 <= age < 2 * 3600 + 60
    assert summary.json()["counts"] == {
        "pending": 2,
        "digest": 1,
        "sending": 1,
        "sent": 3,
        "dead": 2,
        "uncertain": 1,
    }

    # Every other role, one by one: neither the page, nor the numbers, nor sending again.
    for role in Role:
        if role is Role.ADMIN:
            continue
        headers = await auth_headers(role)
        page = await https_client.get(PAGE, headers={**HTML, **headers})
        api = await https_client.get(SUMMARY, headers=headers)
        release = await https_client.post(
            f"{PAGE}/{ids['staff']}/erneut-senden", data={"confirmed": "1"}, headers={**HTML, **headers}
        )
        assert (page.status_code, api.status_code, release.status_code) == (403, 403, 403), role
        assert CANARY_REFERENCE not in page.text + api.text + release.text
        if role is Role.AUDITOR:
            # Auditors read the directory pages, but their navigation does not offer the e-mails.
            directory = await https_client.get("/verwaltung", headers={**HTML, **headers})
            assert directory.status_code == 200
            assert PAGE not in directory.text

    await sign_in(https_client, demo_directory, "admin.sachsen", identity_clock)
    shown = await get_page(https_client, PAGE)
    assert_html(shown)
    assert f'<a href="{PAGE}" aria-current="page">E-Mail-Benachrichtigungen</a>' in shown.text
    text = text_of(shown.text)
    for counted in (
        "Zugestellt 3",
        "Wartend 2",
        "Tagesübersicht 1",
        "In Zustellung 1",
        "Unklar 1",
        "Unzustellbar 2",
    ):
        assert counted in text
    assert "Älteste wartende E-Mail wartet seit 2 Stunden" in text
    entries = re.sub(r"\d\d\.\d\d\.\d{4}, \d\d:\d\d Uhr", "<time>", text.split("Fehlgeschlagene und", 1)[1])
    assert entries.count("Erneut senden") == 3
    for entry in (
        "Unklar retired.kind Erstellt <time> An volunteer.dresden"
        " Fehler Zustellung unterbrochen Versuche 2 Erneut senden",
        "Unzustellbar Was auf Sie wartet Erstellt <time> An volunteer.dresden"
        " Fehler Server hat abgelehnt Versuche 5 Erneut senden",
        "Unzustellbar Was auf Sie wartet Erstellt <time> An Beschwerdeführende Person"
        " Fehler Keine Adresse Versuche 1 Erneut senden",
    ):
        assert entry in entries
    for page_or_api in (shown.text, summary.text):
        assert CANARY_REFERENCE not in page_or_api
        assert CANARY_ADDRESS not in page_or_api.lower()
        assert "/faelle/" not in page_or_api
    assert (await get_page(https_client, PAGE, params={"nach": "kaputt"})).status_code == 400

    # Sending again asks first, says that an uncertain e-mail may arrive twice, and needs the form token.
    token = csrf_of(shown.text)
    resend = f"{PAGE}/{ids['uncertain']}/erneut-senden"
    question = await post_form(https_client, resend, {"_csrf": token})
    assert_html(question)
    assert "E-Mail erneut senden?" in question.text
    assert "vielleicht schon angekommen" in question.text
    assert (await post_form(https_client, resend, {"confirmed": "1"})).status_code == 403
    done = await post_form(https_client, resend, {"_csrf": token, "confirmed": "1"})
    assert (done.status_code, done.headers["location"]) == (303, f"{PAGE}?meldung=email_freigegeben")
    assert (
        "Die E-Mail wird mit dem nächsten Versandlauf erneut gesendet."
        in (await get_page(https_client, done.headers["location"])).text
    )
    async with AsyncSession(engine) as session:
        released = await session.get(Notification, ids["uncertain"])
        assert released is not None
        assert (released.email_state, released.email_attempts, released.email_error) == ("pending", 0, None)
    async with engine.connect() as connection:
        events = (
            await connection.execute(
                select(col(AuditEvent.target_type), col(AuditEvent.target_id), col(AuditEvent.details)).where(
                    col(AuditEvent.action) == NotificationAuditAction.EMAIL_RESEND.value
                )
            )
        ).all()
    assert [(kind, target, json.loads(details)) for kind, target, details in events] == [
        ("notification", str(ids["uncertain"]), {"from_state": "uncertain", "kind": "retired.kind"})
    ]

    # Released once is enough; a delivered e-mail is never sent again; an unknown one does not exist.
    for notification_id, status in ((ids["uncertain"], 409), (ids["sent"], 409), (uuid.uuid4(), 404)):
        refused = await post_form(
            https_client, f"{PAGE}/{notification_id}/erneut-senden", {"_csrf": token, "confirmed": "1"}
        )
        assert refused.status_code == status
    after = await https_client.get(SUMMARY, headers=admin)
    # The dead ones stay dead: nobody else released them.
    counts = {"pending": 3, "digest": 1, "sending": 1, "sent": 3, "dead": 2, "uncertain": 0}
    assert after.json()["counts"] == counts
