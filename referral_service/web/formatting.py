"""Dates and times as people in Saxony read them: local time (Europe/Berlin), in the page's language."""

from __future__ import annotations

import datetime as dt

from referral_service.settings import LOCAL_TIMEZONE
from referral_service.web.i18n import Translator

LOCAL_ZONE = LOCAL_TIMEZONE
EMPTY = "\N{EN DASH}"  # shown for a date that is not (yet) set


def local(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(LOCAL_ZONE)


def format_datetime(moment: dt.datetime | None, t: Translator) -> str:
    if moment is None:
        return EMPTY
    at = local(moment)
    return t("format.datetime", date=_date_text(at.date(), t), time=at.strftime("%H:%M"))


def format_date(day: dt.date | dt.datetime | str | None, t: Translator) -> str:
    if day is None or day == "":
        return EMPTY
    if isinstance(day, str):
        day = dt.date.fromisoformat(day)
    if isinstance(day, dt.datetime):
        day = local(day).date()
    return _date_text(day, t)


def format_month(month: str | None, t: Translator) -> str:
    """ "2026-03" -> "März 2026"."""
    if not month:
        return EMPTY
    year, _, number = month.partition("-")
    return f"{t(f'month.{int(number)}')} {year}"


def _date_text(day: dt.date, t: Translator) -> str:
    if t.language == "de":
        return day.strftime("%d.%m.%Y")
    return f"{day.day} {t(f'month.{day.month}')} {day.year}"


def parse_local_datetime(text: str) -> dt.datetime:
    """The value of `<input type="datetime-local">` (local time) as an aware UTC datetime."""
    naive = dt.datetime.fromisoformat(text.strip())
    if naive.tzinfo is not None:
        return naive.astimezone(dt.UTC)
    return naive.replace(tzinfo=LOCAL_ZONE).astimezone(dt.UTC)


def local_input_value(moment: dt.datetime) -> str:
    """An aware datetime as the value of `<input type="datetime-local">`."""
    return local(moment).strftime("%Y-%m-%dT%H:%M")
