"""Auditor pages: verification on demand, the event search, and the inclusion proof of one position."""

from __future__ import annotations

import re

from litestar import Litestar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service.audit.merkle import verify_inclusion
from referral_service.audit.models import AuditEvent
from referral_service.audit.service import create_checkpoint, prove_inclusion, sequence_pending
from referral_service.db import create_session_factory
from referral_service.identity.roles import Role
from tests.audit.test_log import tamper
from tests.identity.support import DemoDirectory, FakeClock
from tests.web.support import Client, assert_html, csrf_of, get_page, post_form, sign_in, text_of

PROOF = "/revision/nachweis"


async def _actions(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        return list((await connection.execute(select(AuditEvent.action))).scalars())  # type: ignore[call-overload]


async def test_the_auditor_verifies_the_log_on_demand(
    https_client: Client,
    identity_app: Litestar,
    demo_directory: DemoDirectory,
    identity_clock: FakeClock,
    engine: AsyncEngine,
) -> None:
    await sign_in(https_client, demo_directory, Role.AUDITOR, identity_clock)
    keys = identity_app.state.audit_keys
    await sequence_pending(engine, keys)
    assert await create_checkpoint(engine, keys) is not None
    assert '<a href="/revision">' in (await get_page(https_client, "/")).text  # on the start page
    overview = await get_page(https_client, "/revision")
    assert_html(overview)
    assert "Protokoll jetzt prüfen" in overview.text
    assert f'href="{PROOF}"' in overview.text
    token = csrf_of(overview.text)

    verified = await post_form(https_client, "/revision/pruefung", {"_csrf": token})
    assert_html(verified)
    assert "Das Protokoll ist unverändert." in verified.text
    fragment = await https_client.post(
        "/revision/pruefung", data={"_csrf": token}, headers={"HX-Request": "true", "X-CSRF-Token": token}
    )
    assert fragment.text.lstrip().startswith('<div id="verification"')
    assert "audit:log:verify" in await _actions(engine)

    await tamper(engine, "UPDATE audit_events SET action = 'identity:session:logout' WHERE id = 1")
    broken = await post_form(https_client, "/revision/pruefung", {"_csrf": token})
    assert "Das Protokoll wurde verändert." in broken.text
    assert "Erste fehlerhafte Position: 0" in text_of(broken.text)


async def test_the_auditor_searches_events_with_a_post_form(
    https_client: Client,
    identity_app: Litestar,
    demo_directory: DemoDirectory,
    identity_clock: FakeClock,
    engine: AsyncEngine,
) -> None:
    await sign_in(https_client, demo_directory, Role.AUDITOR, identity_clock)
    await sequence_pending(engine, identity_app.state.audit_keys)
    form = await get_page(https_client, "/revision/ereignisse")
    assert_html(form)
    assert 'method="post" action="/revision/ereignisse"' in form.text
    token = csrf_of(form.text)
    found = await post_form(
        https_client, "/revision/ereignisse", {"_csrf": token, "action": "identity:session:login"}
    )
    assert_html(found)
    assert "identity:session:login" in found.text
    assert "Angemeldet" in text_of(found.text)  # the action in words
    assert "Keine Ereignisse gefunden." not in found.text
    # A sequenced event's position leads to its inclusion proof.
    assert re.search(r'href="/revision/nachweis\?position=\d+"', found.text)
    assert "Einschlussnachweis für Position" in found.text
    invalid = await post_form(https_client, "/revision/ereignisse", {"_csrf": token, "action": "DROP TABLE"})
    assert_html(invalid, 422)
    assert 'id="f-action-error"' in invalid.text
    assert "audit:event:read" in await _actions(engine)
    # The form's "until" day counts in full; a day before any event finds nothing.
    long_ago = await post_form(
        https_client,
        "/revision/ereignisse",
        {"_csrf": token, "action": "identity:session:login", "until": "2000-01-01"},
    )
    assert "Keine Ereignisse gefunden." in long_ago.text
    # Values at the edges of what dates and log positions can hold are form errors, not failures.
    last_day = await post_form(https_client, "/revision/ereignisse", {"_csrf": token, "until": "9999-12-31"})
    assert_html(last_day, 422)
    assert 'id="f-until-error"' in last_day.text
    # The paging cursor is a hidden field; a forged one is refused with a readable message, not run.
    forged = await post_form(
        https_client, "/revision/ereignisse", {"_csrf": token, "after": "99999999999999999999"}
    )
    assert_html(forged, 422)
    assert "Diese Seite lässt sich nicht fortsetzen." in forged.text


async def test_the_auditor_proves_one_position(
    https_client: Client,
    identity_app: Litestar,
    demo_directory: DemoDirectory,
    identity_clock: FakeClock,
    engine: AsyncEngine,
) -> None:
    await sign_in(https_client, demo_directory, Role.AUDITOR, identity_clock)
    keys = identity_app.state.audit_keys
    before = await get_page(https_client, PROOF)
    assert_html(before)
    assert 'method="get" action="/revision/nachweis"' in before.text
    assert "Es gibt noch keinen signierten Prüfpunkt." in before.text
    uncovered = await get_page(https_client, PROOF, params={"position": "0"})
    assert_html(uncovered, 404)
    assert 'id="f-position-error"' in uncovered.text
    assert "noch durch keinen signierten Prüfpunkt abgedeckt" in uncovered.text

    checkpoint = await create_checkpoint(engine, keys)
    assert checkpoint is not None
    size = checkpoint.tree_size
    assert size >= 2
    shown = await get_page(https_client, PROOF, params={"position": "1"})
    assert_html(shown)
    text = text_of(shown.text)
    assert f"Die Positionen 0 bis {size - 1} sind durch den neuesten signierten Prüfpunkt abgedeckt." in text
    assert "Der Nachweis ist gültig." in text
    assert text.count("nicht bestanden") == 0
    assert text.count("bestanden") == 4
    async with create_session_factory(engine)() as session:
        proof = await prove_inclusion(session, 1)
    assert proof.leaf_hash.hex() in shown.text
    assert proof.root_hash.hex() in shown.text
    assert all(node.hex() in shown.text for node in proof.proof)
    assert verify_inclusion(proof.leaf_hash, 1, size, proof.proof, proof.root_hash)
    assert "referral-service/audit" in shown.text  # the checkpoint's signed text
    assert "audit:proof:read" in await _actions(engine)

    for wrong, status in (("", 422), ("abc", 422), ("-1", 422), ("1.5", 422), ("9" * 30, 422)):
        answer = await get_page(https_client, PROOF, params={"position": wrong})
        assert_html(answer, status)
        assert 'id="f-position-error"' in answer.text, wrong
        assert 'href="#f-position"' in answer.text  # the error summary links to the field
    beyond = await get_page(https_client, PROOF, params={"position": str(size + 1000)})
    assert_html(beyond, 404)
    assert "Für diese Position gibt es keinen Nachweis" in beyond.text


async def test_a_tampered_or_damaged_log_fails_the_proof_visibly(
    https_client: Client,
    identity_app: Litestar,
    demo_directory: DemoDirectory,
    identity_clock: FakeClock,
    engine: AsyncEngine,
) -> None:
    await sign_in(https_client, demo_directory, Role.AUDITOR, identity_clock)
    assert await create_checkpoint(engine, identity_app.state.audit_keys) is not None
    await tamper(
        engine,
        "UPDATE audit_events SET action = 'identity:session:logout' "
        "WHERE id = (SELECT event_id FROM audit_log WHERE seq = 0)",
    )
    modified = await get_page(https_client, PROOF, params={"position": "0"})
    assert_html(modified)
    text = text_of(modified.text)
    assert "Der Nachweis ist ungültig." in text
    assert "Das Ereignis ist unverändert (sein Hash ergibt den Blatt-Hash) nicht bestanden" in text
    assert "Die Signatur des Prüfpunkts ist gültig bestanden" in text

    await tamper(engine, "DELETE FROM audit_log WHERE seq = 0")
    damaged = await get_page(https_client, PROOF, params={"position": "1"})
    assert_html(damaged, 409)
    assert "Das Protokoll ist beschädigt." in damaged.text
    assert 'href="/revision#verification"' in damaged.text


async def test_only_auditors_open_the_proof_page(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    for role in (Role.ADMIN, Role.POLICE_OFFICER, Role.COMPLAINTS_LEAD):
        https_client.cookies.clear()
        identity_clock.advance(seconds=60)
        await sign_in(https_client, demo_directory, role, identity_clock)
        assert_html(await get_page(https_client, PROOF, params={"position": "0"}), 403)
    https_client.cookies.clear()
    anonymous = await get_page(https_client, PROOF)
    assert anonymous.status_code in (302, 303)
    assert "/anmelden" in anonymous.headers["location"]
