"""Counts where work waits: the domains' counts per role, scoped like the lists, one query per domain;
the start page that lists them and the badges in the area navigation."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from litestar import Litestar
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from complaints.counts import complaint_work
from complaints.domain import AuthorKind, ComplaintStatus, MessageVisibility
from complaints.models import Complaint, ComplaintMessage, StatementRequest
from referral_service.domains import WorkItem, installed_domains
from referral_service.identity.permissions import permissions_for
from referral_service.identity.principal import AuthMethod, Principal
from referral_service.referrals.counts import referral_work
from referral_service.referrals.domain import EscalationLevel, ReferralStatus
from referral_service.referrals.models import Referral
from referral_service.referrals.policy import ReferralPolicy
from referral_service.web.i18n import catalogue
from referral_service.web.work import count_work
from tests.complaints.support import complaints_test_config
from tests.identity.support import DemoDirectory, FakeClock
from tests.web.support import HTML, Client, assert_html, get_page, sign_in, text_of

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
S = ReferralStatus
_numbers = itertools.count(1)


def principal(directory: DemoDirectory, who: str, *, unit: str | None = None) -> Principal:
    """A demo account as the service sees it; `unit` moves it to another unit (a second unit's user)."""
    account = directory.account(who)
    place = directory.unit(unit) if unit else account.unit
    return Principal(
        user_id=account.user_id if unit is None else uuid.uuid4(),
        username=account.username,
        unit_id=place.id,
        unit_path=place.path,
        unit_kind=place.kind,
        roles=frozenset({account.role}),
        permissions=permissions_for({account.role}),
        auth_method=AuthMethod.SESSION,
    )


def referral(
    directory: DemoDirectory,
    *,
    status: ReferralStatus,
    station: str = "rev-dresden-nord",
    branch: str | None = "wr-dresden",
    assignee: str | None = None,
    submitted: dt.timedelta = dt.timedelta(hours=1),
    first_contact: bool = False,
    closed_ago: dt.timedelta | None = None,
    escalation_level: int = EscalationLevel.NONE,
    now: dt.datetime = NOW,
) -> Referral:
    officer = directory.account("officer.dresden").user_id
    submitted_at = now - submitted
    return Referral(
        reference=f"VM-2026-{next(_numbers):06d}",
        status=status.value,
        referring_station_id=directory.unit(station).id,
        referring_officer_id=officer,
        branch_id=directory.unit(branch).id if branch else None,
        assignee_id=directory.account(assignee).user_id if assignee else None,
        offence_category="bodily_harm",
        incident_month="2026-02",
        consent_given_by="victim",
        consent_given_at=submitted_at,
        consent_form="written",
        consent_scope="transfer_to_wr_for_contact_and_support",
        consent_recorded_by_id=officer,
        submitted_at=submitted_at,
        first_contact_at=submitted_at + dt.timedelta(hours=1) if first_contact else None,
        closed_at=now - closed_ago if closed_ago else None,
        escalation_level=escalation_level,
    )


def complaint(
    *,
    status: ComplaintStatus = ComplaintStatus.IN_PROGRESS,
    assignee: uuid.UUID | None = None,
    deadline_on: dt.date | None = None,
    draft: bool = False,
) -> Complaint:
    number = next(_numbers)
    return Complaint(
        reference=f"BS-2026-{number:06d}",
        year=2026,
        sequence=number,
        access_code_hash="x",
        complaint_type="complaint",
        complainant_kind="citizen",
        channel="web",
        category="conduct_on_duty",
        status=status.value,
        assignee_id=assignee,
        received_on=NOW.date() - dt.timedelta(days=40),
        received_at=NOW - dt.timedelta(days=40),
        deadline_on=deadline_on,
        draft_outcome="justified" if draft else None,
    )


def message(of: Complaint, author: AuthorKind, ago: dt.timedelta) -> ComplaintMessage:
    return ComplaintMessage(
        complaint_id=of.id,
        visibility=MessageVisibility.COMPLAINANT.value,
        author_kind=author.value,
        created_at=NOW - ago,
    )


async def store(engine: AsyncEngine, *rows: Any) -> None:
    async with AsyncSession(engine) as session:
        for row in rows:  # in order: a message's complaint first
            session.add(row)
            await session.flush()
        await session.commit()


def counts(items: list[WorkItem]) -> dict[str, int]:
    return {item.label_key.rsplit(".", 1)[1]: item.count for item in items}


def badges(items: list[WorkItem]) -> dict[str, int]:
    found: dict[str, int] = {}
    for item in items:
        if item.badge:
            found[item.area] = found.get(item.area, 0) + item.count
    return found


@contextmanager
def statements_of(engine: AsyncEngine) -> Iterator[list[str]]:
    """The SELECT statements run on the engine meanwhile (transaction control left out)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def seed_referrals(engine: AsyncEngine, directory: DemoDirectory, now: dt.datetime = NOW) -> None:
    """Two branches and two stations, each case counted by some role and none by the other unit's."""
    late = dt.timedelta(hours=80)  # past both the acceptance (24 h) and the first contact (72 h) deadline
    await store(
        engine,
        # Dresden: new, new and past acceptance, taken on and past first contact (escalated), in contact,
        # accepted by nobody in particular, and closed yesterday.
        referral(directory, status=S.SUBMITTED, now=now),
        referral(directory, status=S.SUBMITTED, submitted=dt.timedelta(hours=30), now=now),
        referral(
            directory,
            status=S.ACCEPTED,
            assignee="volunteer.dresden",
            submitted=late,
            escalation_level=EscalationLevel.STATE_OFFICE,
            now=now,
        ),
        referral(
            directory,
            status=S.IN_CONTACT,
            assignee="volunteer.dresden",
            submitted=late,
            first_contact=True,
            now=now,
        ),
        referral(directory, status=S.ACCEPTED, now=now),
        referral(directory, status=S.CLOSED, closed_ago=dt.timedelta(days=1), now=now),
        # Long closed: no news any more.
        referral(directory, status=S.CLOSED, closed_ago=dt.timedelta(days=8), now=now),
        # No branch for the postcode: the state office routes it.
        referral(directory, status=S.SUBMITTED, branch=None, now=now),
        # Leipzig: one new past acceptance, one taken on past first contact, one closed yesterday.
        referral(
            directory,
            status=S.SUBMITTED,
            station="rev-leipzig-zentrum",
            branch="wr-leipzig",
            submitted=dt.timedelta(hours=30),
            now=now,
        ),
        referral(
            directory,
            status=S.CONTACT_ATTEMPTED,
            station="rev-leipzig-zentrum",
            branch="wr-leipzig",
            assignee="volunteer.leipzig",
            submitted=late,
            escalation_level=EscalationLevel.STATE_OFFICE,
            now=now,
        ),
        referral(
            directory,
            status=S.CLOSED,
            station="rev-leipzig-zentrum",
            branch="wr-leipzig",
            closed_ago=dt.timedelta(days=1),
            now=now,
        ),
    )


WR_DRESDEN = {"new": 2, "accept_overdue": 1, "contact_overdue": 1, "mine": 2}
WR_LEIPZIG = {"new": 1, "accept_overdue": 1, "contact_overdue": 1, "mine": 1}


@pytest.mark.parametrize(
    ("who", "unit", "expected", "badge"),
    [
        ("volunteer.dresden", None, WR_DRESDEN, {"/weisser-ring": 3}),
        ("volunteer.leipzig", None, WR_LEIPZIG, {"/weisser-ring": 2}),
        # A volunteer of a branch without cases.
        (
            "volunteer.dresden",
            "wr-meissen",
            {"new": 0, "accept_overdue": 0, "contact_overdue": 0, "mine": 0},
            {},
        ),
        (
            "branchlead.dresden",
            None,
            {"new": 2, "accept_overdue": 1, "contact_overdue": 1, "mine": 0, "unassigned": 1},
            {"/weisser-ring": 3},
        ),
        (
            "branchlead.leipzig",
            None,
            {"new": 1, "accept_overdue": 1, "contact_overdue": 1, "mine": 0, "unassigned": 0},
            {"/weisser-ring": 2},
        ),
        ("stateoffice.sachsen", None, {"to_route": 1, "escalated": 2}, {"/weisser-ring/landesbuero": 3}),
        ("officer.dresden", None, {"police_open": 6, "police_closed": 1}, {"/polizei": 1}),
        ("officer.leipzig", None, {"police_open": 2, "police_closed": 1}, {"/polizei": 1}),
        ("supervisor.dresden", None, {"police_open": 6, "police_closed": 1}, {"/polizei": 1}),
        # A supervisor of another station (and of another directorate) counts none of these.
        ("supervisor.dresden", "rev-meissen", {"police_open": 0, "police_closed": 0}, {}),
        ("supervisor.dresden", "pd-leipzig", {"police_open": 2, "police_closed": 1}, {"/polizei": 1}),
        ("complaints.lead", None, {}, {}),
        ("admin.sachsen", None, {}, {}),
    ],
)
async def test_referral_counts_per_role_stay_in_the_callers_scope(
    engine: AsyncEngine,
    demo_directory: DemoDirectory,
    who: str,
    unit: str | None,
    expected: dict[str, int],
    badge: dict[str, int],
) -> None:
    await seed_referrals(engine, demo_directory)
    async with AsyncSession(engine) as session:
        items = await referral_work(
            session, principal(demo_directory, who, unit=unit), ReferralPolicy(clock=lambda: NOW)
        )
    assert counts(items) == expected
    assert {area: number for area, number in badges(items).items() if number} == badge


async def test_each_count_links_to_its_list_with_the_matching_filter(
    engine: AsyncEngine, demo_directory: DemoDirectory
) -> None:
    async with AsyncSession(engine) as session:
        lead = await referral_work(session, principal(demo_directory, "branchlead.dresden"), ReferralPolicy())
        office = await referral_work(
            session, principal(demo_directory, "stateoffice.sachsen"), ReferralPolicy()
        )
    links = {item.label_key: item.link for item in [*lead, *office]}
    assert links["work.referral.new"] == "/weisser-ring?status=submitted"
    assert links["work.referral.accept_overdue"] == "/weisser-ring?status=submitted&frist=overdue"
    assert links["work.referral.unassigned"] == (
        "/weisser-ring?zustaendig=none&status=accepted&status=contact_attempted&status=in_contact"
    )
    assert links["work.referral.to_route"] == "/weisser-ring/landesbuero"
    assert links["work.referral.escalated"] == "/weisser-ring/landesbuero?frist=overdue"


# Each complaint count's link, by role: the list's filter by its page name, the value a code.
_COMPLAINT_LINKS = {
    "complaints.handler": {
        "work.complaint.unassigned": "/beschwerdestelle?zustaendig=none",
        "work.complaint.replies": "/beschwerdestelle?zustaendig=me",
        "work.complaint.overdue": "/beschwerdestelle?frist=overdue",
        "work.complaint.mine": "/beschwerdestelle?zustaendig=me",
    },
    "complaints.lead": {
        "work.complaint.unassigned": "/beschwerdestelle?zustaendig=none",
        "work.complaint.overdue": "/beschwerdestelle?frist=overdue",
        "work.complaint.drafts": "/beschwerdestelle",
    },
    "supervisor.dresden": {
        "work.complaint.statements_open": "/stellungnahmen",
        "work.complaint.statements_overdue": "/stellungnahmen?frist=overdue",
    },
}


@pytest.mark.parametrize("who", sorted(_COMPLAINT_LINKS))
async def test_each_complaint_count_opens_its_list_with_the_filter_chosen(
    https_client: Client,
    engine: AsyncEngine,
    demo_directory: DemoDirectory,
    identity_clock: FakeClock,
    who: str,
) -> None:
    async with AsyncSession(engine) as session:
        items = await complaint_work(
            session, principal(demo_directory, who), complaints_test_config(FakeClock(NOW))
        )
    links = {item.label_key: item.link for item in items}
    assert links == _COMPLAINT_LINKS[who]
    # The list understands the link: it shows the filter chosen in its form, not an error.
    await sign_in(https_client, demo_directory, who, identity_clock)
    for link in set(links.values()):
        shown = await get_page(https_client, link)
        assert_html(shown)
        for value in re.findall(r"=([a-z_]+)", link):
            assert f'<option value="{value}" selected>' in shown.text, link


async def test_overdue_counts_move_with_the_clock(engine: AsyncEngine, demo_directory: DemoDirectory) -> None:
    clock = FakeClock(NOW)
    policy = ReferralPolicy(clock=clock.now)
    await store(engine, referral(demo_directory, status=S.SUBMITTED, submitted=dt.timedelta(0)))
    volunteer = principal(demo_directory, "volunteer.dresden")
    clock.advance(hours=23, minutes=59)
    async with AsyncSession(engine) as session:
        before = counts(await referral_work(session, volunteer, policy))
    clock.advance(minutes=2)
    async with AsyncSession(engine) as session:
        after = counts(await referral_work(session, volunteer, policy))
    assert (before["new"], before["accept_overdue"]) == (1, 0)
    assert (after["new"], after["accept_overdue"]) == (1, 1)


async def seed_complaints(engine: AsyncEngine, directory: DemoDirectory) -> None:
    handler = directory.account("complaints.handler").user_id
    past, future = NOW.date() - dt.timedelta(days=3), NOW.date() + dt.timedelta(days=10)
    waiting = complaint(deadline_on=past, status=ComplaintStatus.RECEIVED)  # nobody's, overdue
    written = complaint(assignee=handler, deadline_on=future)  # the complainant wrote last
    answered = complaint(assignee=handler, deadline_on=past)  # the office answered last; overdue
    drafted = complaint(assignee=handler, deadline_on=future, draft=True)
    closed = complaint(status=ComplaintStatus.CLOSED, deadline_on=past)  # nobody's, but finished
    dresden, leipzig = directory.unit("rev-dresden-nord").id, directory.unit("rev-leipzig-zentrum").id

    def request(about: Complaint, unit: uuid.UUID, deadline_on: dt.date, answered_too: bool = False) -> Any:
        return StatementRequest(
            complaint_id=about.id,
            unit_id=unit,
            deadline_on=deadline_on,
            requested_on=NOW.date() - dt.timedelta(days=20),
            requested_by_id=handler,
            answered_on=NOW.date() if answered_too else None,
            answered_at=NOW if answered_too else None,
        )

    await store(
        engine,
        waiting,
        written,
        answered,
        drafted,
        closed,
        message(written, AuthorKind.STAFF, dt.timedelta(days=3)),
        message(written, AuthorKind.COMPLAINANT, dt.timedelta(days=1)),
        message(answered, AuthorKind.COMPLAINANT, dt.timedelta(days=3)),
        message(answered, AuthorKind.STAFF, dt.timedelta(days=1)),
        request(answered, dresden, past),  # open and overdue
        request(drafted, dresden, past, answered_too=True),  # answered: no longer waits
        request(written, leipzig, future),  # open, for another station
    )


@pytest.mark.parametrize(
    ("who", "unit", "expected", "badge"),
    [
        (
            "complaints.handler",
            None,
            {"unassigned": 1, "replies": 1, "overdue": 2, "mine": 3},
            {"/beschwerdestelle": 2},
        ),
        # Another handler of the office: the complaints to take, nothing of the first handler's own.
        (
            "complaints.handler",
            "zbs-sn",
            {"unassigned": 1, "replies": 0, "overdue": 1, "mine": 0},
            {"/beschwerdestelle": 1},
        ),
        ("complaints.lead", None, {"unassigned": 1, "overdue": 2, "drafts": 1}, {"/beschwerdestelle": 2}),
        ("supervisor.dresden", None, {"statements_open": 1, "statements_overdue": 1}, {"/stellungnahmen": 1}),
        (
            "supervisor.dresden",
            "rev-leipzig-zentrum",
            {"statements_open": 1, "statements_overdue": 0},
            {"/stellungnahmen": 1},
        ),
        # A supervisor of a unit no request is addressed to, and of the directorate above the station.
        ("supervisor.dresden", "rev-meissen", {"statements_open": 0, "statements_overdue": 0}, {}),
        ("supervisor.dresden", "pd-dresden", {"statements_open": 0, "statements_overdue": 0}, {}),
        ("officer.dresden", None, {}, {}),
        ("volunteer.dresden", None, {}, {}),
    ],
)
async def test_complaint_counts_per_role_stay_in_the_callers_scope(
    engine: AsyncEngine,
    demo_directory: DemoDirectory,
    who: str,
    unit: str | None,
    expected: dict[str, int],
    badge: dict[str, int],
) -> None:
    await seed_complaints(engine, demo_directory)
    config = complaints_test_config(FakeClock(NOW))
    async with AsyncSession(engine) as session:
        items = await complaint_work(session, principal(demo_directory, who, unit=unit), config)
    assert counts(items) == expected
    assert {area: number for area, number in badges(items).items() if number} == badge


@pytest.mark.parametrize(
    ("who", "queries"),
    [
        ("volunteer.dresden", 1),
        ("stateoffice.sachsen", 1),
        ("complaints.handler", 1),
        # Police supervisors work in both domains: the station's referrals and the statement requests.
        ("supervisor.dresden", 2),
        ("auditor.sachsen", 0),
        ("admin.sachsen", 0),
    ],
)
async def test_all_counts_cost_one_query_per_domain_the_user_has_roles_in(
    engine: AsyncEngine, demo_directory: DemoDirectory, who: str, queries: int
) -> None:
    await seed_referrals(engine, demo_directory)
    await seed_complaints(engine, demo_directory)
    configured: dict[str, object] = {
        "referrals": ReferralPolicy(clock=lambda: NOW),
        "complaints": complaints_test_config(FakeClock(NOW)),
    }
    async with AsyncSession(engine) as session:
        await session.connection()  # the transaction's own statements are not the counts'
        with statements_of(engine) as seen:
            work = await count_work(session, principal(demo_directory, who), configured)
    assert len(seen) == queries
    assert all(item.count > 0 for item in work.items)  # zero counts are left out


def test_every_label_exists_in_both_languages_singular_and_plural() -> None:
    keys = {
        f"{label}.{form}"
        for label in re.findall(r'"(work\.[a-z]+\.[a-z_]+)"', _sources())
        for form in ("one", "other")
    }
    assert len(keys) >= 2 * 16
    for language in ("de", "en"):
        assert keys - set(catalogue(language)) == set(), language
        assert all("{count}" in catalogue(language)[key] for key in keys)


def _sources() -> str:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    return "".join(
        (root / path).read_text(encoding="utf-8")
        for path in ("referral_service/referrals/counts.py", "complaints/counts.py")
    )


# The pages


def nav_badges(page_html: str) -> dict[str, str]:
    """The area navigation's links with the text a screen reader announces for their badge."""
    nav = re.search(r'<nav class="area-nav".*?</nav>', page_html, flags=re.S)
    assert nav
    found = re.findall(r'<a href="([^"]+)"[^>]*>(.*?)</a>', nav.group(0), flags=re.S)
    return {path: text_of(inner) for path, inner in found}


@pytest.fixture
def referral_now(referral_clock: FakeClock) -> dt.datetime:
    return referral_clock.now()


async def test_the_start_page_lists_what_waits_and_the_navigation_shows_the_badge(
    https_client: Client,
    identity_app: Litestar,
    demo_directory: DemoDirectory,
    identity_clock: FakeClock,
    engine: AsyncEngine,
    referral_now: dt.datetime,
) -> None:
    await seed_referrals(engine, demo_directory, now=referral_now)
    await sign_in(https_client, demo_directory, "volunteer.dresden", identity_clock)
    start = await get_page(https_client, "/")
    assert_html(start)
    text = text_of(start.text)
    assert "Was auf Sie wartet" in text
    assert '<a href="/weisser-ring?status=submitted">2 neue Vermittlungen</a>' in start.text
    assert (
        '<a href="/weisser-ring?status=submitted&amp;frist=overdue" class="work-urgent">'
        "1 Vermittlung: Annahme überfällig</a>"
    ) in start.text
    assert "1 Fall: Erstkontakt überfällig" in text
    assert "2 offene Fälle in Ihrer Betreuung" in text
    # The badge: new plus first contact overdue, and in words for screen readers.
    assert nav_badges(start.text) == {"/weisser-ring": "Eingang und Fälle 3 (3 warten)"}
    assert '<span class="nav-count" aria-hidden="true">3</span>' in start.text
    # The area's own page shows the same badge; in English too.
    inbox = await get_page(https_client, "/weisser-ring")
    assert nav_badges(inbox.text)["/weisser-ring"].endswith("3 (3 warten)")
    https_client.cookies.set("rs_lang", "en")
    english = await get_page(https_client, "/")
    assert "2 new referrals" in text_of(english.text)
    assert nav_badges(english.text)["/weisser-ring"].endswith("(3 waiting)")


async def test_nothing_waits_shows_so_and_no_badge(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    await sign_in(https_client, demo_directory, "officer.dresden", identity_clock)
    start = await get_page(https_client, "/")
    assert_html(start)
    assert "Zurzeit wartet nichts auf Sie." in text_of(start.text)
    assert "nav-count" not in start.text
    # The areas are still offered, working areas first.
    assert '<a href="/polizei">Vermittlungen der Dienststelle</a>' in start.text


async def test_counts_are_taken_once_per_page_and_never_for_api_calls_fragments_or_public_pages(
    https_client: Client,
    identity_app: Litestar,
    demo_directory: DemoDirectory,
    identity_clock: FakeClock,
    engine: AsyncEngine,
    referral_now: dt.datetime,
) -> None:
    await seed_referrals(engine, demo_directory, now=referral_now)
    await sign_in(https_client, demo_directory, "volunteer.dresden", identity_clock)
    app_engine: AsyncEngine = identity_app.state.engine

    async def count_queries(path: str, **headers: str) -> int:
        with statements_of(app_engine) as seen:
            response = await https_client.get(path, headers={**HTML, **headers}, follow_redirects=False)
        assert response.status_code == 200, response.text[:500]
        return sum(1 for statement in seen if re.search(r"sum\(CASE", statement, flags=re.I))

    assert await count_queries("/") == 1
    assert await count_queries("/weisser-ring") == 1
    assert await count_queries("/weisser-ring", **{"HX-Request": "true"}) == 0
    assert await count_queries("/impressum") == 0
    with statements_of(app_engine) as seen:
        api = await https_client.get("/api/v1/referrals", headers={"Accept": "application/json"})
    assert api.status_code == 200
    assert not any(re.search(r"sum\(CASE", statement, flags=re.I) for statement in seen)


def test_every_domain_declares_its_work() -> None:
    assert {domain.name for domain in installed_domains() if domain.work is not None} == {
        "referrals",
        "complaints",
    }
