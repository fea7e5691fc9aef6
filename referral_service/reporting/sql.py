"""SQL building blocks for statistics that behave the same on PostgreSQL and SQLite.

- `elapsed_seconds(later, earlier)`: the time between two timestamp columns, in seconds (float).
- `elapsed_at_most(later, earlier, seconds)`: exactly "later - earlier <= seconds", to the microsecond
  (PostgreSQL compares intervals; SQLite compares integer microseconds, so no float rounding decides a
  case that lies exactly on the limit).
- `together(session, f, g)`: two read-only computations on one snapshot, at once on PostgreSQL.
- `medians(...)`: exact medians (PostgreSQL `percentile_cont`; SQLite window functions). For an even
  count the median is the mean of the two middle values on both engines.

SQLite stores `UTCDateTime` as text "YYYY-MM-DD HH:MM:SS.ffffff" (always six fraction digits, UTC), which
`unixepoch()` reads to the second; the microseconds are characters 21-26.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Float, Select, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.types import Boolean
from sqlmodel.ext.asyncio.session import AsyncSession as ModelSession

A = TypeVar("A")
B = TypeVar("B")


class elapsed_seconds(FunctionElement[float]):
    type = Float()
    inherit_cache = True
    name = "elapsed_seconds"


@compiles(elapsed_seconds, "postgresql")
def _elapsed_pg(element: elapsed_seconds, compiler: Any, **kw: Any) -> str:
    later, earlier = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"date_part('epoch', {later} - {earlier})"


@compiles(elapsed_seconds, "sqlite")
def _elapsed_sqlite(element: elapsed_seconds, compiler: Any, **kw: Any) -> str:
    later, earlier = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"({_sqlite_microseconds(later, earlier)} / 1000000.0)"


class elapsed_at_most(FunctionElement[bool]):
    type = Boolean()
    inherit_cache = True
    name = "elapsed_at_most"


@compiles(elapsed_at_most, "postgresql")
def _at_most_pg(element: elapsed_at_most, compiler: Any, **kw: Any) -> str:
    later, earlier, seconds = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"(({later} - {earlier}) <= make_interval(secs => {seconds}))"


@compiles(elapsed_at_most, "sqlite")
def _at_most_sqlite(element: elapsed_at_most, compiler: Any, **kw: Any) -> str:
    later, earlier, seconds = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"({_sqlite_microseconds(later, earlier)} <= ({seconds}) * 1000000)"


def _sqlite_microseconds(later: str, earlier: str) -> str:
    return (
        f"((unixepoch({later}) - unixepoch({earlier})) * 1000000"
        f" + CAST(substr({later}, 21, 6) AS INTEGER) - CAST(substr({earlier}, 21, 6) AS INTEGER))"
    )


async def together(
    session: ModelSession,
    first: Callable[[ModelSession], Awaitable[A]],
    second: Callable[[ModelSession], Awaitable[B]],
) -> tuple[A, B]:
    """Two independent read-only computations on the same data.

    On PostgreSQL they run at once, each on its own connection, in REPEATABLE READ transactions that
    share one exported snapshot: both see exactly the same rows (as one query would), and a million-row
    report uses both cores for its two scans. Elsewhere (SQLite) they run one after the other in
    `session`, whose transaction already gives them one view of the data.
    """
    engine = session.bind
    if not isinstance(engine, AsyncEngine) or engine.dialect.name != "postgresql":
        return await first(session), await second(session)
    async with engine.connect() as one, engine.connect() as two:
        await one.execution_options(isolation_level="REPEATABLE READ")
        await two.execution_options(isolation_level="REPEATABLE READ")
        await one.begin()
        snapshot = str((await one.execute(text("SELECT pg_export_snapshot()"))).scalar_one())
        if not _SNAPSHOT_ID.match(snapshot):  # pragma: no cover - PostgreSQL's own format
            raise ValueError("unexpected snapshot id")
        await two.begin()
        await two.execute(text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))
        async with ModelSession(bind=one) as left, ModelSession(bind=two) as right:
            results = await asyncio.gather(first(left), second(right))
        await one.rollback()
        await two.rollback()
    return results[0], results[1]


_SNAPSHOT_ID = re.compile(r"^[0-9A-Fa-f]+-[0-9A-Fa-f]+-[0-9]+$")


@dataclass(frozen=True, slots=True)
class Median:
    value: float | None
    cases: int


async def medians(
    session: AsyncSession, source: Select[*tuple[Any, ...]], measures: Sequence[str]
) -> dict[str, Median]:
    """The median of each column `measures` of `source`, ignoring NULLs.

    PostgreSQL: `percentile_cont(0.5)`, one scan for all measures. SQLite: the middle one or two rows by
    `row_number()` over the values in order. For an even count both give the mean of the two middle
    values."""
    sub = source.subquery("source")
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        columns: list[ColumnElement[Any]] = []
        for measure in measures:
            columns.append(func.percentile_cont(0.5).within_group(sub.c[measure]))
            columns.append(func.count(sub.c[measure]))
        row = (await session.execute(select(*columns))).one()
        return {
            measure: Median(
                None if row[2 * i] is None else float(row[2 * i]),
                int(row[2 * i + 1]),
            )
            for i, measure in enumerate(measures)
        }
    found: dict[str, Median] = {}
    for measure in measures:
        ranked = (
            select(
                sub.c[measure].label("value"),
                func.row_number().over(order_by=sub.c[measure]).label("rn"),
                func.count().over().label("n"),
            )
            .where(sub.c[measure].is_not(None))
            .subquery("ranked")
        )
        stmt = select(func.avg(ranked.c.value), func.max(ranked.c.n)).where(
            ranked.c.rn.in_([(ranked.c.n + 1) // 2, (ranked.c.n + 2) // 2])
        )
        value, cases = (await session.execute(stmt)).one()
        found[measure] = Median(None if value is None else float(value), int(cases or 0))
    return found
