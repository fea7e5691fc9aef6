"""The auditor's event search and export (`search_events`, `export_events`) on both engines: each filter,
newest first across pages, the earlier `after_id` paging, the export's cap, and both recorded."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service import listing
from referral_service.audit import repository
from referral_service.audit.recorder import SYSTEM, to_us
from referral_service.audit.schemas import AuditEventPage
from referral_service.audit.service import EventQuery, export_events, search_events
from referral_service.db import create_session_factory

MARCH = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


def event(index: int, **values: Any) -> dict[str, Any]:
    """An event row; times one hour apart from `MARCH`, so index order is time order."""
    row = {
        "occurred_at_us": to_us(MARCH + dt.timedelta(hours=index)),
        "action": "referral:referral:read",
        "outcome": "success",
        "actor_kind": "user",
        "actor_id": "u-1",
        "actor_roles": "police_officer",
        "actor_unit_id": None,
        "target_type": "referral",
        "target_id": f"t-{index}",
        "request_id": f"req-{index}",
        "client_hash": None,
        "details": "{}",
    }
    return {**row, **values}


async def insert_events(engine: AsyncEngine, rows: Sequence[dict[str, Any]]) -> None:
    async with engine.begin() as connection:
        await connection.execute(repository.events.insert(), list(rows))


# Twelve events: the filters below each pick a known part of them.
ROWS = [
    event(0),
    event(1, actor_id="u-2"),
    event(2, action="identity:session:login", target_type="session", target_id="s-1"),
    event(3, outcome="denied", action="identity:access:denied", target_type=None, target_id=None),
    event(4, actor_id="u-2", outcome="failure"),
    event(5, target_id="t-same"),
    event(6, target_id="t-same", target_type="complaint"),
    event(7, actor_kind="system", actor_id=None, action="retention:referral:erase"),
    event(8),
    event(9, actor_id="u-2"),
    # Two events in the same microsecond: the id decides their order.
    event(10, target_id="tie-a"),
    event(10, target_id="tie-b"),
]


async def search(engine: AsyncEngine, query: EventQuery) -> AuditEventPage:
    async with create_session_factory(engine)() as session, session.begin():
        return await search_events(session, query, actor=SYSTEM, audit={})


async def all_pages(engine: AsyncEngine, query: EventQuery) -> list[list[str | None]]:
    pages = []
    after = None
    while True:
        page = await search(engine, EventQuery(**{**_fields(query), "after": after}))
        pages.append([found.target_id for found in page.events])
        if page.next_after is None:
            return pages
        after = page.next_after


def _fields(query: EventQuery) -> dict[str, Any]:
    return {name: getattr(query, name) for name in query.__slots__}


def targets(page: AuditEventPage) -> list[str | None]:
    return [found.target_id for found in page.events]


@pytest.fixture
async def searched(engine: AsyncEngine) -> AsyncEngine:
    await insert_events(engine, ROWS)
    return engine


async def test_newest_first_across_pages_without_gaps_or_repeats(searched: AsyncEngine) -> None:
    pages = await all_pages(searched, EventQuery(limit=5))
    assert pages == [
        ["tie-b", "tie-a", "t-9", "t-8", "t-7"],
        ["t-same", "t-same", "t-4", None, "s-1"],
        ["t-1", "t-0"],
    ]
    # Events recorded meanwhile do not shift the pages of a search already under way. (Each search
    # records itself, now: the action filter leaves those records out.)
    reads = EventQuery(action="referral:referral:read", limit=2)
    first = await search(searched, reads)
    assert targets(first) == ["tie-b", "tie-a"]
    await insert_events(searched, [event(20, target_id="newer")])
    second = await search(searched, EventQuery(**{**_fields(reads), "after": first.next_after}))
    assert targets(second) == ["t-9", "t-8"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (EventQuery(actor_ids=("u-2",)), ["t-9", "t-4", "t-1"]),
        (EventQuery(actor_ids=("u-2", "u-1"), target_type="referral", limit=3), ["tie-b", "tie-a", "t-9"]),
        (EventQuery(action="identity:session:login"), ["s-1"]),
        (EventQuery(outcome="denied"), [None]),
        (EventQuery(outcome="failure"), ["t-4"]),
        (EventQuery(target_type="complaint"), ["t-same"]),
        (EventQuery(target_type="referral", target_id="t-same"), ["t-same"]),
        (EventQuery(target_id="t-same"), ["t-same", "t-same"]),
        (
            EventQuery(since=MARCH + dt.timedelta(hours=2), until=MARCH + dt.timedelta(hours=5)),
            ["t-4", None, "s-1"],
        ),
        (EventQuery(actor_ids=("u-2",), since=MARCH + dt.timedelta(hours=2)), ["t-9", "t-4"]),
        (EventQuery(actor_ids=()), []),
        (EventQuery(target_id="nobody"), []),
    ],
)
async def test_each_filter_finds_exactly_its_events(
    searched: AsyncEngine, query: EventQuery, expected: list[str | None]
) -> None:
    assert targets(await search(searched, query)) == expected


async def test_filtered_paging_stays_inside_the_filter(searched: AsyncEngine) -> None:
    pages = await all_pages(searched, EventQuery(actor_ids=("u-1",), target_type="referral", limit=2))
    assert pages == [["tie-b", "tie-a"], ["t-8", "t-same"], ["t-0"]]
    assert await all_pages(searched, EventQuery(actor_ids=("u-2",), limit=2)) == [["t-9", "t-4"], ["t-1"]]


async def test_the_earlier_after_id_paging_still_goes_oldest_first(searched: AsyncEngine) -> None:
    first = await search(searched, EventQuery(actor_ids=("u-2",), after_id=0, limit=2))
    assert targets(first) == ["t-1", "t-4"]
    assert first.next_after_id == first.events[-1].id
    assert first.next_after is None
    rest = await search(searched, EventQuery(actor_ids=("u-2",), after_id=first.next_after_id, limit=2))
    assert targets(rest) == ["t-9"]
    assert rest.next_after_id is None


async def test_a_cursor_of_another_list_is_refused(searched: AsyncEngine) -> None:
    for cursor in ("not-a-cursor", "WzFd", "WyJ4IiwxXQ"):  # garbage, [1], ["x",1]
        with pytest.raises(listing.InvalidCursorError):
            await search(searched, EventQuery(after=cursor))


async def _recorded(engine: AsyncEngine, action: str) -> list[dict[str, Any]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT details FROM audit_events WHERE action = :action ORDER BY id"), {"action": action}
        )
        return [json.loads(details) for details in rows.scalars()]


async def test_searches_record_the_criteria_names_never_their_values(searched: AsyncEngine) -> None:
    await search(searched, EventQuery(actor_ids=("u-2",), target_id="t-same"))
    first = await search(searched, EventQuery(actor_ids=("u-2",), limit=1))
    assert first.next_after is not None
    await search(searched, EventQuery(actor_ids=("u-2",), after=first.next_after, limit=1))
    assert await _recorded(searched, "audit:event:read") == [
        {"filtered_by": ["actor_ids", "target_id"], "returned": 0},
        {"filtered_by": ["actor_ids"], "returned": 1},
        {"filtered_by": ["actor_ids", "after"], "returned": 1},
    ]


async def test_the_export_holds_every_match_newest_first_and_is_recorded(
    searched: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    factory = create_session_factory(searched)
    async with factory() as session, session.begin():
        exported = await export_events(session, EventQuery(actor_ids=("u-2",)), actor=SYSTEM, audit={})
    assert [found.target_id for found in exported] == ["t-9", "t-4", "t-1"]
    assert await _recorded(searched, "audit:event:export") == [{"filtered_by": ["actor_ids"], "returned": 3}]

    monkeypatch.setattr(listing, "EXPORT_LIMIT", 3)
    async with factory() as session, session.begin():
        with pytest.raises(listing.ExportTooLargeError):
            await export_events(session, EventQuery(target_type="referral"), actor=SYSTEM, audit={})
    # A refused export exported nothing, so it records nothing either.
    assert len(await _recorded(searched, "audit:event:export")) == 1


async def test_target_types_are_listed_once_each(searched: AsyncEngine) -> None:
    async with create_session_factory(searched)() as session:
        assert await repository.target_types(session) == ["complaint", "referral", "session"]
