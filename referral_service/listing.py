"""Lists that page by keyset, and their CSV export: one mechanism for every list of the service.

A list is sorted by a `Keyset`: a few NOT NULL columns, the last one unique, so that the order is total
and stable. A page ends with a cursor, the sort values of its last row; the next page starts strictly
after them. Unlike an offset, a cursor neither skips nor repeats a row when rows arrive meanwhile, and
the database finds the next page through the index instead of counting the rows before it.

The cursor travels in URLs, so it holds only sort values (times, references, ids), never personal data.
It is not signed: a made-up cursor only moves the start of the caller's own list, since scope and
filters stay in the query's WHERE clause.
"""

from __future__ import annotations

import base64
import binascii
import csv
import datetime as dt
import io
import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar, cast
from urllib.parse import urlencode

from litestar import Request, Response
from sqlalchemy import ColumnElement, Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped

from referral_service.problems import DomainError
from referral_service.settings import LOCAL_TIMEZONE

T = TypeVar("T")

# Rows on one page of the pages, and the most the API hands out at once.
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
# The most rows one CSV export carries; a larger list must be narrowed by its filters first.
EXPORT_LIMIT = 10_000
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"

SortValue = dt.datetime | dt.date | uuid.UUID | int | str


class AssigneeKeyword(StrEnum):
    """A list's assignee filter besides a user id: the caller's own cases, or nobody's yet."""

    ME = "me"
    NONE = "none"


def read_assignee(raw: str | None) -> tuple[AssigneeKeyword | None, uuid.UUID | None]:
    """`me`, `none` or a user id, as typed into a list's filter, as (keyword, id); (None, None) for
    nothing. ValueError for anything else: each list says so in its own words."""
    text = (raw or "").strip()
    if not text:
        return None, None
    if text in AssigneeKeyword.__members__.values():
        return AssigneeKeyword(text), None
    return None, uuid.UUID(text)


class InvalidCursorError(DomainError):
    code = "list.cursor_invalid"
    title = "The paging cursor is not valid for this list"


class InvalidRangeError(DomainError):
    code = "list.range_invalid"
    title = "The start of the date range lies after its end"


class ExportTooLargeError(DomainError):
    code = "list.export_too_large"
    title = "The list is too long to export; narrow it with the filters"


@dataclass(frozen=True, slots=True)
class SortKey:
    """One column of a list's order. `attribute` reads the value from a listed row; `kind` reads it
    back from a cursor."""

    # A table column or a model attribute (`col(Model.x)`).
    column: ColumnElement[Any] | Mapped[Any]
    attribute: str
    kind: type[SortValue]
    descending: bool = False


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: Sequence[T]
    # The cursor of the next page; None on the last page.
    next_cursor: str | None


class Keyset:
    """A list's total order: the sort keys, the last unique (an id or a reference)."""

    def __init__(self, *keys: SortKey) -> None:
        if not keys:
            raise ValueError("a keyset needs at least one sort key")
        self.keys = keys

    def order_by(self) -> list[ColumnElement[Any]]:
        return [key.column.desc() if key.descending else key.column.asc() for key in self.keys]

    def after(self, values: Sequence[SortValue]) -> ColumnElement[bool]:
        """Rows strictly after the given sort values in this order. Spelled as an OR of prefixes, since
        a row-value comparison cannot mix ascending and descending columns."""
        alternatives = []
        for index, key in enumerate(self.keys):
            beyond = key.column < values[index] if key.descending else key.column > values[index]
            equal_before = [self.keys[i].column == values[i] for i in range(index)]
            alternatives.append(and_(*equal_before, beyond))
        # The same condition once more on the first key alone (implied by the OR): a database cannot
        # start an index range at an OR, and without it would read the list from its top to find the
        # page (measured: 38 ms instead of 0.3 ms for a page deep in 200,000 audit events).
        first = self.keys[0]
        bound = first.column <= values[0] if first.descending else first.column >= values[0]
        return and_(bound, or_(*alternatives))

    def cursor_of(self, row: object) -> str:
        values = [_dump(getattr(row, key.attribute)) for key in self.keys]
        raw = json.dumps(values, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def read(self, cursor: str) -> list[SortValue]:
        """The sort values in a cursor; `InvalidCursorError` for anything this keyset did not write."""
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            values = json.loads(raw)
        except (binascii.Error, ValueError) as exc:
            raise InvalidCursorError() from exc
        if not isinstance(values, list) or len(values) != len(self.keys):
            raise InvalidCursorError()
        try:
            return [_load(key.kind, value) for key, value in zip(self.keys, values, strict=True)]
        except (TypeError, ValueError, OverflowError) as exc:
            raise InvalidCursorError() from exc


def _dump(value: object) -> object:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("sort times must be timezone-aware")
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date | uuid.UUID):
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"cannot page by a {type(value).__name__}")
    return value


def _load(kind: type[SortValue], value: object) -> SortValue:
    if kind is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError("not an integer")
        return value
    if not isinstance(value, str):
        raise TypeError("not a string")
    if kind is dt.datetime:
        moment = dt.datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError("naive time")
        return moment
    if kind is dt.date:
        return dt.date.fromisoformat(value)
    if kind is uuid.UUID:
        return uuid.UUID(value)
    return value


async def fetch_page(
    session: AsyncSession, query: Select[Any], keyset: Keyset, *, after: str | None, limit: int
) -> Page[Any]:
    """One page of `query` (a select of one entity, already filtered and scoped) in the keyset's order.
    Typed `Any`: SQLModel's and SQLAlchemy's `select` type the same query differently; callers annotate
    the page they get (`page: Page[Referral] = ...`)."""
    if after is not None:
        query = query.where(keyset.after(keyset.read(after)))
    # A select of one entity: its rows are that entity (`scalars`), whatever the typing says of them.
    rows = cast(
        Sequence[Any],
        (await session.execute(query.order_by(*keyset.order_by()).limit(limit + 1))).scalars().all(),
    )
    items = rows[:limit]
    more = len(rows) > limit
    return Page(items=items, next_cursor=keyset.cursor_of(items[-1]) if more and items else None)


async def fetch_export(session: AsyncSession, query: Select[Any], keyset: Keyset) -> Sequence[Any]:
    """Every row of `query` for a CSV export, at most `EXPORT_LIMIT`."""
    ordered = query.order_by(*keyset.order_by()).limit(EXPORT_LIMIT + 1)
    rows = cast(Sequence[Any], (await session.execute(ordered)).scalars().all())
    if len(rows) > EXPORT_LIMIT:
        raise ExportTooLargeError(extra={"limit": EXPORT_LIMIT})
    return rows


def check_range(since: dt.date | None, until: dt.date | None) -> None:
    if since is not None and until is not None and since > until:
        raise InvalidRangeError()


def day_start(day: dt.date) -> dt.datetime:
    """The first moment of a local calendar day, in UTC: date filters mean the days people see."""
    return dt.datetime.combine(day, dt.time(), tzinfo=LOCAL_TIMEZONE).astimezone(dt.UTC)


def next_day_start(day: dt.date) -> dt.datetime:
    """The first moment after a local calendar day, in UTC (an `until` day counts whole)."""
    return day_start(day + dt.timedelta(days=1))


def url_with(request: Request[Any, Any, Any], **changes: str | None) -> str:
    """The request's path and query with some parameters replaced (None removes one)."""
    params = [(key, value) for key, value in request.query_params.multi_items() if key not in changes]
    params += [(key, value) for key, value in changes.items() if value is not None]
    query = urlencode(params)
    return f"{request.url.path}?{query}" if query else request.url.path


def link_header(request: Request[Any, Any, Any], page: Page[Any]) -> dict[str, str]:
    """The API's paging: the list stays a JSON array, the next page is named in a Link header."""
    if page.next_cursor is None:
        return {}
    return {"Link": f'<{url_with(request, after=page.next_cursor)}>; rel="next"'}


# A cell that starts with one of these is read as a formula by spreadsheet programs (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ja" if value else "nein"
    if isinstance(value, dt.datetime):
        return value.astimezone(LOCAL_TIMEZONE).strftime("%Y-%m-%d %H:%M")
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([_cell(value) for value in row] for row in rows)
    return buffer.getvalue()


def csv_response(text: str, file_name: str) -> Response[str]:
    """A download. A byte order mark first: spreadsheet programs otherwise misread umlauts."""
    return Response(
        "\ufeff" + text,
        # Litestar adds "; charset=utf-8" to a text type itself; naming it here would send it twice.
        media_type=CSV_MEDIA_TYPE.partition(";")[0],
        headers={"Content-Disposition": f'attachment; filename="{file_name}"', "Cache-Control": "no-store"},
    )


def csv_columns(columns: Sequence[tuple[str, Callable[[T], object]]], rows: Iterable[T]) -> str:
    """CSV of `rows` with named columns, each read from a row by its function."""
    return csv_text([name for name, _ in columns], ([read(row) for _, read in columns] for row in rows))
