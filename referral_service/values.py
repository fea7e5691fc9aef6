"""The kinds of value people type in (e-mail, phone, postcode, dates), each checked by one rule.

An API request type annotates its field with the kind's msgspec type (`Email`, `Phone`, ...), a page reads
the same field with `FormInput.value(name, EMAIL)`: both apply the kind's `pattern` and `max_length`, so an
address refused by one is refused by the other. Pages also accept the German way of writing a date
(`14.11.2026`, `11.2026`); `ValueKind.normalise` turns it into the API's ISO form before the rule applies.
Rules that need a clock or another field (a date not in the future, at least one contact channel) belong
to the use case, which reports them as field errors too.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

import msgspec


def _german_date(text: str) -> str:
    """`14.11.2026` -> `2026-11-14`, `11.2026` -> `2026-11`; anything else unchanged (the rule decides)."""
    match = re.fullmatch(r"(?:(\d{1,2})\.)?(\d{1,2})\.(\d{4})", text)
    if match is None:
        return text
    day, month, year = match.groups()
    return f"{year}-{int(month):02d}" + (f"-{int(day):02d}" if day else "")


def _calendar_date(text: str) -> bool:
    """A `YYYY-MM-DD` the calendar has (the pattern lets 2026-02-30 through); `YYYY-MM` always is."""
    if len(text) == 7:
        return True
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class ValueKind:
    """One kind of value: its rule (a whole-value pattern and a maximum length), the code an API error
    names it by (`value.<name>`) and the catalogue key of the page's message (`form.error.value.<name>`)."""

    name: str
    pattern: str
    max_length: int
    # A check the pattern cannot express; applied by pages and by `validation.field_errors`.
    check: Callable[[str], bool] | None = None
    normalise: Callable[[str], str] = field(default=lambda text: text)

    @property
    def meta(self) -> msgspec.Meta:
        return msgspec.Meta(pattern=self.pattern, max_length=self.max_length)

    @property
    def code(self) -> str:
        return f"value.{self.name}"

    @property
    def message_key(self) -> str:
        return f"form.error.value.{self.name}"

    def accepts(self, text: str) -> bool:
        return (
            len(text) <= self.max_length
            and re.search(self.pattern, text) is not None
            and (self.check is None or self.check(text))
        )


EMAIL = ValueKind(
    "email",
    # One @, no spaces, a domain with at least one dot and a top-level part of letters: `erika@example`
    # and `anna.schmidt@web` are typing slips, not addresses anyone can write to.
    pattern=r"^[^\s@]{1,64}@(?:[^\s@.]{1,63}\.)+[^\W\d_]{2,63}$",
    max_length=254,
)
PHONE = ValueKind(
    "phone",
    # Digits with the usual separators, an optional leading +, at least six digits in all.
    pattern=r"^(?=(?:\D*\d){6})\+?[0-9(][0-9 ()/.\-]{3,31}$",
    max_length=32,
)
POSTCODE = ValueKind("postcode", pattern=r"^[0-9]{5}$", max_length=5)
# Years 1900 to 2099: a date people type about a case (an offence, a consent, a report period) lies
# there; year 0000 or 9999 is a typing slip, and year 0 is no date at all.
_YEAR = "(?:19|20)[0-9]{2}"
DATE = ValueKind(
    "date",
    pattern=rf"^{_YEAR}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
    max_length=10,
    check=_calendar_date,
    normalise=_german_date,
)
MONTH = ValueKind("month", pattern=rf"^{_YEAR}-(0[1-9]|1[0-2])$", max_length=7, normalise=_german_date)
# A date known to the day or only to the month ("it was in March"), as `YYYY-MM-DD` or `YYYY-MM`.
DAY_OR_MONTH = ValueKind(
    "day_or_month",
    pattern=rf"^{_YEAR}-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?$",
    max_length=10,
    check=_calendar_date,
    normalise=_german_date,
)

KINDS: tuple[ValueKind, ...] = (EMAIL, PHONE, POSTCODE, DATE, MONTH, DAY_OR_MONTH)

Email = Annotated[str, EMAIL.meta]
Phone = Annotated[str, PHONE.meta]
Postcode = Annotated[str, POSTCODE.meta]
Month = Annotated[str, MONTH.meta]
DayOrMonth = Annotated[str, DAY_OR_MONTH.meta]


def kind_of(meta: object) -> ValueKind | None:
    """The kind whose rule a msgspec constraint is (for naming an API error by its kind)."""
    if not isinstance(meta, msgspec.Meta):
        return None
    return next((kind for kind in KINDS if kind.pattern == meta.pattern), None)
