"""The complaint domain's notifications: exactly the users whose work an event is, who can open its
link; the complainant's "there is news" e-mail (named complainants with an address only, in the
language of the form they used); reminders
once per deadline, counted in working days; the complainant's address for the sender; and never a word
of the complaint in a notification. On both engines."""

from __future__ import annotations

import uuid

import pytest
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from complaints.config import ComplaintsConfig
from complaints.domain import ComplainantLanguage
from complaints.models import Complaint
from complaints.notifications import contact_address
from complaints.pages.uploads import ATTACHMENTS
from complaints.reminders import remind_deadlines
from complaints.retention import ComplaintRetention
from referral_service.identity.config import IdentityConfig
from referral_service.identity.models import RoleAssignment, User
from referral_service.notifications.models import Notification
from referral_service.retention.runner import erase_on_request
from referral_service.settings import SettingsError
from referral_service.web.i18n import LANGUAGES
from tests.complaints.support import (
    ANSWER,
    EMAIL,
    FACTS,
    NAME,
    OFFICE,
    PUBLIC,
    QUESTION,
    REPLY,
    SECRET_VALUES,
    STATEMENTS,
    Client,
    anonymous_payload,
    assigned_to_handler,
    complainant_headers,
    complaint_id,
    named_payload,
    problem,
    submit,
)
from tests.identity.support import AuthHeaders, DemoDirectory, FakeClock, mint_token
from tests.web.complaint_support import anonymous_form, receipt_data
from tests.web.support import HTML, assert_html, csrf_of, get_page, post_form

MESSAGE = "Ich habe noch ein Video vom Einsatz am Albertplatz"
ASK = "Können Sie uns die Namen der Zeugen nennen?"
NOTE = "Intern: Dienstplan vom 20.11. anfordern"
PERSONAL = (*SECRET_VALUES, QUESTION, FACTS, ANSWER, REPLY, MESSAGE, ASK, NOTE)
COMPLAINANT, COMPLAINANT_EN = "complainant/de", "complainant/en"
BROWSER = "https://testserver.local"

Seen = list[tuple[str, str, str]]


class Outbox:
    """The notification rows written since the last look, as sorted (kind, recipient, reference): the
    recipient's username, or "complainant/<language>" for the e-mail to the complainant's address."""

    def __init__(self, engine: AsyncEngine, config: IdentityConfig, directory: DemoDirectory) -> None:
        self.engine = engine
        self.config = config
        self.names = {account.user_id: name for name, account in directory.accounts.items()}
        self.seen: set[uuid.UUID] = set()

    async def rows(self) -> list[Notification]:
        async with AsyncSession(self.engine) as session:
            return list((await session.exec(select(Notification).order_by(col(Notification.id)))).all())

    async def new(self, client: Client) -> Seen:
        """The new rows; each recipient can open the row's link now (out of scope it would be 404)."""
        found: Seen = []
        for row in await self.rows():
            if row.id in self.seen:
                continue
            self.seen.add(row.id)
            if row.recipient_user_id is None:
                # E-mail only, to the address in the complaint; the link is the public sign-in page.
                assert (row.in_app, row.email_state) == (False, "pending")
                name, headers = f"complainant/{row.language}", {}
            else:
                name = self.names[row.recipient_user_id]
                token = await mint_token(self.engine, row.recipient_user_id, self.config)
                headers = {"Authorization": f"Bearer {token}"}
            page = await client.get(row.link, headers=headers)
            assert page.status_code == 200, (row.kind, name, row.link)
            found.append((row.kind, name, row.reference))
        return sorted(found)

    async def assert_no_case_content(self) -> None:
        for row in await self.rows():
            text = repr(row.model_dump()).lower()
            for value in PERSONAL:
                assert value.lower() not in text, f"case content in a notification: {value[:3]}…"


async def staff_member(
    engine: AsyncEngine, directory: DemoDirectory, outbox: Outbox, username: str, *, like: str, unit: str
) -> uuid.UUID:
    """One more active user with the role of the demo user `like`, in the demo unit `unit`."""
    model = directory.account(like)
    async with AsyncSession(engine, expire_on_commit=False) as session:
        template = await session.get(User, model.user_id)
        assert template is not None
        user = User(
            username=username,
            display_name=username,
            unit_id=directory.unit(unit).id,
            password_hash=template.password_hash,
        )
        session.add(user)
        await session.flush()
        session.add(RoleAssignment(user_id=user.id, role=model.role.value))
        await session.commit()
    outbox.names[user.id] = username
    return user.id


async def test_each_event_reaches_exactly_whoever_must_act_and_the_complainant_hears_only_that_there_is_news(
    client: Client,
    auth_headers: AuthHeaders,
    demo_directory: DemoDirectory,
    engine: AsyncEngine,
    app: Litestar,
    identity_config: IdentityConfig,
    complaints_config: ComplaintsConfig,
) -> None:
    outbox = Outbox(engine, identity_config, demo_directory)
    second_handler = await staff_member(
        engine, demo_directory, outbox, "complaints.handler2", like="complaints.handler", unit="zbs-sn"
    )
    # A supervisor of another station: never told of Dresden-Nord's requests.
    await staff_member(
        engine,
        demo_directory,
        outbox,
        "supervisor.leipzig",
        like="supervisor.dresden",
        unit="rev-leipzig-zentrum",
    )
    handler, lead = await auth_headers("complaints.handler"), await auth_headers("complaints.lead")
    supervisor = await auth_headers("supervisor.dresden")
    station = str(demo_directory.unit("rev-dresden-nord").id)

    named = await submit(client, named_payload(police_unit_id=station))
    ref = named["reference"]
    assert await outbox.new(client) == []  # the queue shows new complaints; nobody is mailed for each
    citizen = await complainant_headers(client, ref, named["access_code"])
    wrote = await client.post(f"{PUBLIC}/me/messages", json={"body": MESSAGE}, headers=citizen)
    assert wrote.status_code == 201, wrote.text
    # Nobody holds it yet: the lead, who distributes complaints; no handler, no police.
    assert await outbox.new(client) == [("complaints.complainant_wrote", "complaints.lead", ref)]

    complaint = await assigned_to_handler(client, auth_headers, demo_directory, ref)
    assert await outbox.new(client) == [("complaints.assigned", "complaints.handler", ref)]
    triaged = await client.post(f"{OFFICE}/{complaint}/triage", json={"complete": True}, headers=handler)
    assert triaged.status_code == 200, triaged.text
    requested = await client.post(
        f"{OFFICE}/{complaint}/statement-requests",
        json={"question": QUESTION, "released_facts": FACTS},
        headers=handler,
    )
    assert requested.status_code == 201, requested.text
    # The unit's supervisors only: not its officer, not another station's supervisor.
    assert await outbox.new(client) == [("complaints.statement_requested", "supervisor.dresden", ref)]

    # Two files at once from the complainant's page (https: its cookie is Secure): one notification,
    # now to the holder.
    form = await get_page(client, f"{BROWSER}/beschwerde/status")
    access = {"_csrf": csrf_of(form.text), "reference": ref, "access_code": named["access_code"]}
    assert (await post_form(client, f"{BROWSER}/beschwerde/status", access)).status_code == 303
    mine = await get_page(client, f"{BROWSER}/beschwerde/meine")
    pdf = ("a.pdf", b"%PDF-1.4\n% Standbild\n", "application/pdf")
    sent = await client.post(
        f"{BROWSER}/beschwerde/meine/anhang",
        data={"_csrf": csrf_of(mine.text)},
        files=[(ATTACHMENTS, pdf), (ATTACHMENTS, pdf)],
        headers=HTML,
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    assert await outbox.new(client) == [("complaints.complainant_wrote", "complaints.handler", ref)]
    [request] = (await client.get(STATEMENTS, headers=supervisor)).json()
    answered = await client.post(
        f"{STATEMENTS}/{request['id']}/statement", json={"answer": ANSWER}, headers=supervisor
    )
    assert answered.status_code == 200, answered.text
    assert await outbox.new(client) == [("complaints.statement_received", "complaints.handler", ref)]

    # Internal notes are no news; a question to the complainant and the decision with its reply are,
    # one e-mail each.
    for body, visibility in ((NOTE, "internal"), (ASK, "complainant")):
        posted = await client.post(
            f"{OFFICE}/{complaint}/messages", json={"body": body, "visibility": visibility}, headers=handler
        )
        assert posted.status_code == 201, posted.text
    assert await outbox.new(client) == [("complaints.news_for_complainant", COMPLAINANT, ref)]
    decided = await client.post(
        f"{OFFICE}/{complaint}/decision",
        json={"outcome": "partly_justified", "reply": REPLY, "final": True},
        headers=lead,
    )
    assert decided.status_code == 200, decided.text
    assert await outbox.new(client) == [("complaints.news_for_complainant", COMPLAINANT, ref)]

    # Taking a complaint tells nobody (it is one's own step); the lead moving it tells the new holder.
    anonymous = (await submit(client, anonymous_payload()))["reference"]
    other = await complaint_id(client, auth_headers, anonymous)
    assert (await client.post(f"{OFFICE}/{other}/take", headers=handler)).status_code == 200
    moved = await client.post(
        f"{OFFICE}/{other}/assign", json={"assignee_id": str(second_handler)}, headers=lead
    )
    assert moved.status_code == 200, moved.text
    assert await outbox.new(client) == [("complaints.assigned", "complaints.handler2", anonymous)]
    # Anonymous complainants, named ones without an address and those who withdrew get no e-mail;
    # handing the complaint to another authority is news. The e-mails are in the language the complaint
    # was sent in: as asked on the API (German unless asked; a language the service has no texts in is
    # refused), or the one the public form was read in.
    unknown = await client.post(PUBLIC, json=named_payload(language="fr"))
    assert problem(unknown) == (422, "request.validation")
    assert [error["field"] for error in unknown.json()["errors"]] == ["language"]
    refs = [
        (await submit(client, payload))["reference"]
        for payload in (named_payload(email=None), named_payload(), named_payload(language="en"))
    ]
    client.cookies.set("rs_lang", "en")
    form = await get_page(client, f"{BROWSER}/beschwerde")
    named_form = anonymous_form(complainant_kind="citizen", name=NAME, email=EMAIL)
    receipt = await post_form(client, f"{BROWSER}/beschwerde", {"_csrf": csrf_of(form.text), **named_form})
    assert_html(receipt, 201)
    client.cookies.delete("rs_lang")
    english, _ = receipt_data(receipt.text)
    no_address, withdrawn, forwarded, from_page = [
        await complaint_id(client, auth_headers, found) for found in (*refs, english)
    ]
    assert (await client.post(f"{OFFICE}/{withdrawn}/withdraw", headers=lead)).status_code == 200
    for target in (other, no_address, withdrawn, from_page):
        asked = await client.post(
            f"{OFFICE}/{target}/messages", json={"body": ASK, "visibility": "complainant"}, headers=lead
        )
        assert asked.status_code == 201, asked.text
    handed_on = await client.post(
        f"{OFFICE}/{forwarded}/forward", json={"reason": "not_competent"}, headers=lead
    )
    assert handed_on.status_code == 200, handed_on.text
    assert await outbox.new(client) == sorted(
        [
            ("complaints.news_for_complainant", COMPLAINANT_EN, refs[2]),
            ("complaints.news_for_complainant", COMPLAINANT_EN, english),
        ]
    )
    await outbox.assert_no_case_content()

    # The sender's look-up: the address while there is one to write to.
    keys = app.state.case_keys

    async def address(of: str) -> str | None:
        async with AsyncSession(engine) as session:
            return await contact_address(session, keys, uuid.UUID(of))

    assert await address(complaint) == EMAIL
    assert [await address(found) for found in (other, no_address, withdrawn)] == [None, None, None]
    assert (await client.post(f"{OFFICE}/{complaint}/close", headers=lead)).status_code == 200
    assert await outbox.new(client) == []
    await erase_on_request(
        engine, keys, ComplaintRetention(complaints_config.retention_period), uuid.UUID(complaint)
    )
    assert await address(complaint) is None
    # Only the key destroyed (the ciphertext still there): nothing to read either.
    assert await address(forwarded) == EMAIL
    async with AsyncSession(engine) as session, session.begin():
        found = await session.get(Complaint, uuid.UUID(forwarded))
        assert found is not None
        assert found.data_key_id is not None
        assert await keys.destroy(session, found.data_key_id)
    assert await address(forwarded) is None


async def test_deadlines_are_reminded_once_within_three_working_days(
    client: Client,
    auth_headers: AuthHeaders,
    demo_directory: DemoDirectory,
    engine: AsyncEngine,
    identity_config: IdentityConfig,
    complaints_clock: FakeClock,
    complaints_config: ComplaintsConfig,
) -> None:
    # Monday 23 November 2026: every complaint is due Monday 21 December (20 working days), a statement
    # Monday 7 December (10).
    outbox = Outbox(engine, identity_config, demo_directory)
    handler = await auth_headers("complaints.handler")
    station = str(demo_directory.unit("rev-dresden-nord").id)
    paused, held, free = [
        (await submit(client, anonymous_payload(police_unit_id=station)))["reference"] for _ in range(3)
    ]
    paused_id = await assigned_to_handler(client, auth_headers, demo_directory, paused)
    await assigned_to_handler(client, auth_headers, demo_directory, held)
    await client.post(f"{OFFICE}/{paused_id}/triage", json={"complete": True}, headers=handler)
    requested = await client.post(
        f"{OFFICE}/{paused_id}/statement-requests", json={"question": QUESTION}, headers=handler
    )
    assert requested.status_code == 201, requested.text
    await outbox.new(client)

    async def job_at(month: int, day: int) -> Seen:
        """The job's reminders on that day at 09:00 (Dresden); run twice, written once."""
        complaints_clock.current = complaints_clock.current.replace(month=month, day=day)
        await remind_deadlines(engine, complaints_config)
        first = await outbox.new(client)
        await remind_deadlines(engine, complaints_config)
        assert await outbox.new(client) == []
        return first

    assert await job_at(11, 23) == []
    # Tuesday 1 December: 7 December is four working days away; Wednesday: three (though five days).
    assert await job_at(12, 1) == []
    assert await job_at(12, 2) == [("complaints.statement_deadline_soon", "supervisor.dresden", paused)]
    supervisor = await auth_headers("supervisor.dresden")
    [request] = (await client.get(STATEMENTS, headers=supervisor)).json()
    answered = await client.post(
        f"{STATEMENTS}/{request['id']}/statement", json={"answer": ANSWER}, headers=supervisor
    )
    assert answered.status_code == 200, answered.text
    await outbox.new(client)

    assert await job_at(12, 15) == []  # Friday 18th is the third working day
    # The holder of one, the lead for the one nobody holds.
    assert await job_at(12, 16) == [
        ("complaints.deadline_soon", "complaints.handler", held),
        ("complaints.deadline_soon", "complaints.lead", free),
    ]
    # The statement paused the other one's clock for seven working days (24 November to 2 December),
    # and Christmas is not counted: due Thursday 31 December, reminded on Monday 28th.
    assert await job_at(12, 23) == []
    assert await job_at(12, 28) == [("complaints.deadline_soon", "complaints.handler", paused)]
    reminded = {(row.reference, str(row.deadline)) for row in await outbox.rows() if row.deadline}
    assert reminded == {
        (paused, "2026-12-07"),
        (paused, "2026-12-31"),
        (held, "2026-12-21"),
        (free, "2026-12-21"),
    }
    await outbox.assert_no_case_content()


def test_the_reminder_lead_time_is_configurable_in_working_days() -> None:
    assert ComplaintsConfig.from_environ({}).remind_working_days == 3
    variable = "REFERRAL_COMPLAINT_DEADLINE_REMIND_WORKING_DAYS"
    assert ComplaintsConfig.from_environ({variable: "5"}).remind_working_days == 5
    with pytest.raises(SettingsError, match=variable):
        ComplaintsConfig.from_environ({variable: "0"})


def test_complainants_can_be_written_to_in_every_language_the_service_has_texts_in() -> None:
    assert {language.value for language in ComplainantLanguage} == set(LANGUAGES)
