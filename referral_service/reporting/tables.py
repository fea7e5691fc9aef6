"""The report model every report renders to: tables of rows and columns, values already protected.

A value is an int (count), a float (share or hours), None: *withheld*, because it rests on fewer cases
than the report's threshold or protects another withheld value, or `NOT_APPLICABLE`: there is nothing
to state (a share of no cases, the median of no durations). The two are kept apart everywhere: a
withheld value hides something, a value that is not applicable hides nothing. Reports are built from
statistical columns only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from fractions import Fraction
from typing import Final, Literal

from referral_service.reporting.periods import Period
from referral_service.reporting.scope import ReportScope
from referral_service.reporting.suppression import Protection, current_threshold


class NotApplicable(Enum):
    """The one value "not applicable" (an enum member, so `is NOT_APPLICABLE` narrows the type)."""

    NOT_APPLICABLE = "not_applicable"

    def __bool__(self) -> Literal[False]:
        return False


NOT_APPLICABLE: Final = NotApplicable.NOT_APPLICABLE

Value = int | float | NotApplicable | None


class ValueKind(StrEnum):
    COUNT = "count"
    SHARE = "share"  # a fraction between 0 and 1, four decimals
    HOURS = "hours"  # a duration in hours, two decimals


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str
    kind: ValueKind = ValueKind.COUNT


@dataclass(frozen=True, slots=True)
class Row:
    key: str
    label: str
    values: Mapping[str, Value]
    # A total or subtotal line (shown in bold; never a cell of its own kind).
    total: bool = False


@dataclass(frozen=True, slots=True)
class Table:
    key: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Report:
    kind: str  # "cooperation", "complaints_annual"
    title: str
    period: Period
    scope: ReportScope
    tables: tuple[Table, ...]
    generated_at: dt.datetime
    threshold: int = field(default_factory=current_threshold)
    notes: tuple[str, ...] = field(default_factory=tuple)

    def table(self, key: str) -> Table:
        return next(table for table in self.tables if table.key == key)


def share(
    numerator: int | None, denominator: int | None, *, minimum: int | None = None
) -> float | NotApplicable | None:
    """numerator / denominator, rounded to four decimals; not applicable when the denominator is a
    published zero; withheld when either count is withheld or the denominator counts fewer than
    `minimum` cases (default: the report's threshold)."""
    if denominator == 0:
        return NOT_APPLICABLE
    if numerator is None or denominator is None:
        return None
    if denominator < (current_threshold() if minimum is None else minimum):
        return None
    return round_fraction(Fraction(numerator, denominator), 4)


def hours(seconds: float | None, cases: int, *, minimum: int | None = None) -> float | NotApplicable | None:
    """A duration in hours (two decimals); not applicable without cases; withheld when computed from
    fewer than `minimum` cases (default: the report's threshold)."""
    if cases == 0:
        return NOT_APPLICABLE
    if seconds is None or cases < (current_threshold() if minimum is None else minimum):
        return None
    return round(seconds / 3600, 2)


def round_fraction(value: Fraction, digits: int) -> float:
    """Round half up (as statistical offices do), not Python's round-half-to-even."""
    scale = 10**digits
    return float(Fraction((value * scale * 2 + 1) // 2, scale))


def count_row(
    protection: Protection,
    key: str,
    label: str,
    name: str,
    denominator: str | None,
    *,
    total: bool = False,
) -> Row:
    """A row with a protected count and its share of a protected denominator."""
    count = protection.published(name)
    base = protection.published(denominator) if denominator is not None else None
    return Row(key=key, label=label, values={"count": count, "share": share(count, base)}, total=total)


COUNT_AND_SHARE: Sequence[Column] = (
    Column("count", "Anzahl"),
    Column("share", "Anteil", ValueKind.SHARE),
)
