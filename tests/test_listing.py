"""The one paging and export mechanism of every list (referral_service/listing.py), on both engines: a
list paged to its end holds every row once and in order, whatever the ties and directions of its sort
keys; a cursor nobody wrote is refused as a client error; exported cells cannot start a formula."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import uuid
from typing import Any
from urllib.parse import parse_qsl

import pytest
from litestar import Litestar, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from referral_service import listing
from referral_service.db import create_session_factory
from referral_service.identity.models import OrgUnit
from referral_service.listing import InvalidCursorError, Keyset, SortKey

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
# Newest first, then by code upwards: two directions, and ties in the first key.
ORDER = Keyset(
    SortKey(col(OrgUnit.created_at), "created_at", dt.datetime, descending=True),
    SortKey(col(OrgUnit.code), "code", str),
)


async def _seed(engine: AsyncEngine) -> list[tuple[dt.datetime, str]]:
    rows = [
        # Three share a time, two another: a cursor inside a tie must neither skip nor repeat.
        (T0, "t-c"),
        (T0, "t-a"),
        (T0, "t-b"),
        (T0 + dt.timedelta(hours=1), "t-e"),
        (T0 + dt.timedelta(hours=1), "t-d"),
        (T0 - dt.timedelta(days=1), "t-f"),
        (T0 + dt.timedelta(days=2), "t-g"),
    ]
    async with create_session_factory(engine)() as session, session.begin():
        for created, code in rows:
            session.add(
                OrgUnit(code=code, name=code, kind="police_station", path=f"/{code}/", created_at=created)
            )
    return sorted(rows, key=lambda row: (-row[0].timestamp(), row[1]))


async def test_paging_to_the_end_gives_every_row_once_in_order(engine: AsyncEngine) -> None:
    expected = await _seed(engine)
    seen: list[tuple[dt.datetime, str]] = []
    after: str | None = None
    pages = 0
    async with create_session_factory(engine)() as session:
        query = select(OrgUnit).where(col(OrgUnit.code).startswith("t-"))
        while True:
            page = await listing.fetch_page(session, query, ORDER, after=after, limit=2)
            seen += [(unit.created_at, unit.code) for unit in page.items]
            pages += 1
            if page.next_cursor is None:
                break
            after = page.next_cursor
    assert seen == expected
    assert pages == 4  # 2 + 2 + 2 + 1: the last page says there is no next one


async def test_a_full_last_page_has_no_next_cursor(engine: AsyncEngine) -> None:
    await _seed(engine)
    async with create_session_factory(engine)() as session:
        query = select(OrgUnit).where(col(OrgUnit.code).startswith("t-"))
        page = await listing.fetch_page(session, query, ORDER, after=None, limit=7)
    assert len(page.items) == 7
    assert page.next_cursor is None


async def test_an_export_longer_than_the_limit_is_refused(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _seed(engine)
    query = select(OrgUnit).where(col(OrgUnit.code).startswith("t-"))
    async with create_session_factory(engine)() as session:
        monkeypatch.setattr(listing, "EXPORT_LIMIT", 7)
        assert len(await listing.fetch_export(session, query, ORDER)) == 7
        monkeypatch.setattr(listing, "EXPORT_LIMIT", 6)
        with pytest.raises(listing.ExportTooLargeError):
            await listing.fetch_export(session, query, ORDER)


@dataclasses.dataclass
class _Row:
    moment: dt.datetime
    day: dt.date
    id: uuid.UUID
    number: int
    text: str


ALL_KINDS = Keyset(
    SortKey(col(OrgUnit.created_at), "moment", dt.datetime),
    SortKey(col(OrgUnit.created_at), "day", dt.date),
    SortKey(col(OrgUnit.id), "id", uuid.UUID),
    SortKey(col(OrgUnit.code), "number", int),
    SortKey(col(OrgUnit.code), "text", str),
)


def test_a_cursor_gives_back_the_values_it_was_made_of() -> None:
    moment = dt.datetime(2026, 12, 4, 7, 30, 15, 123456, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    row = _Row(moment=moment, day=dt.date(2026, 2, 28), id=uuid.uuid4(), number=42, text="VM-2026-000001")
    values = ALL_KINDS.read(ALL_KINDS.cursor_of(row))
    assert values == [moment, row.day, row.id, 42, "VM-2026-000001"]
    # URL-safe without escaping: it travels in query strings.
    assert all(ch.isalnum() or ch in "-_" for ch in ALL_KINDS.cursor_of(row))


SOME_ID = "6f1c1f43-0a8e-4d55-9a5c-2a4d9c1e7b10"


def _cursor(values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not base64 at all!",
        base64.urlsafe_b64encode(b"\xff\xfe not json").decode(),
        _cursor({"a": 1}),
        _cursor(["2026-01-01T00:00:00+00:00", "2026-01-01", SOME_ID, 1]),  # one value short
        _cursor(["2026-01-01T00:00:00", "2026-01-01", SOME_ID, 1, "x"]),  # a time without zone
        _cursor(["yesterday", "2026-01-01", SOME_ID, 1, "x"]),
        _cursor(["2026-01-01T00:00:00+00:00", "2026-13-01", SOME_ID, 1, "x"]),
        _cursor(["2026-01-01T00:00:00+00:00", "2026-01-01", "not-a-uuid", 1, "x"]),
        _cursor(["2026-01-01T00:00:00+00:00", "2026-01-01", SOME_ID, "1", "x"]),
        _cursor(["2026-01-01T00:00:00+00:00", "2026-01-01", SOME_ID, True, "x"]),
        _cursor(["2026-01-01T00:00:00+00:00", "2026-01-01", SOME_ID, 1, 5]),
    ],
    ids=lambda cursor: str(len(cursor)),
)
def test_a_cursor_nobody_wrote_is_a_client_error(cursor: str) -> None:
    with pytest.raises(InvalidCursorError):
        ALL_KINDS.read(cursor)


def test_cells_that_would_start_a_formula_are_neutralised() -> None:
    text = listing.csv_text(
        ["a", "b"],
        [['=HYPERLINK("x")', "+1"], ["-2", "@SUM(A1)"], ["plain", None], [True, T0]],
    )
    lines = text.split("\r\n")
    assert lines[0] == "a,b"
    assert lines[1] == '"\'=HYPERLINK(""x"")",\'+1'
    assert lines[2] == "'-2,'@SUM(A1)"
    assert lines[3] == "plain,"
    # Times in the local zone people read (10:00 in Berlin in March), yes/no in words.
    assert lines[4] == "ja,2026-03-01 10:00"


def test_a_range_whose_start_lies_after_its_end_is_refused() -> None:
    listing.check_range(dt.date(2026, 1, 1), dt.date(2026, 1, 1))
    listing.check_range(None, dt.date(2026, 1, 1))
    with pytest.raises(listing.InvalidRangeError):
        listing.check_range(dt.date(2026, 1, 2), dt.date(2026, 1, 1))


def test_local_days_become_utc_bounds_across_the_clock_change() -> None:
    # 29 March 2026: clocks go forward in Germany; the day has 23 hours.
    start = listing.day_start(dt.date(2026, 3, 29))
    end = listing.next_day_start(dt.date(2026, 3, 29))
    assert start == dt.datetime(2026, 3, 28, 23, 0, tzinfo=dt.UTC)
    assert end - start == dt.timedelta(hours=23)


def _request(path: str, query: bytes) -> Request[Any, Any, Any]:
    scope = {
        "type": "http",
        "method": "GET",
        "scheme": "https",
        "server": ("service.example", 443),
        "path": path,
        "root_path": "",
        "query_string": query,
        "headers": [(b"host", b"service.example")],
        "app": Litestar(),
        "state": {},
    }
    return Request(scope)  # type: ignore[arg-type]


def test_the_next_link_keeps_the_filters_and_replaces_the_cursor() -> None:
    request = _request("/api/v1/referrals", b"status=submitted&status=accepted&after=old&limit=2")
    page: listing.Page[object] = listing.Page(items=[], next_cursor="abc")
    link = listing.link_header(request, page)["Link"]
    target, _, relation = link.partition(">; ")
    path, _, query = target.removeprefix("<").partition("?")
    assert (path, relation) == ("/api/v1/referrals", 'rel="next"')
    assert sorted(parse_qsl(query)) == [
        ("after", "abc"),
        ("limit", "2"),
        ("status", "accepted"),
        ("status", "submitted"),
    ]
    assert listing.link_header(request, listing.Page(items=[], next_cursor=None)) == {}
    assert listing.url_with(_request("/polizei", b""), nach=None) == "/polizei"
