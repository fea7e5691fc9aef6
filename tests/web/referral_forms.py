"""Helpers of the referral page tests: the forms as a browser posts them, and finding referrals on pages."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service.referrals.models import Referral
from referral_service.web.formatting import local_input_value
from tests.identity.support import FakeClock
from tests.referrals.support import CIRCUMSTANCES, VICTIM_NAME, VICTIM_PHONE
from tests.web.support import Client, assert_html, csrf_of, get_page, post_form

CASE_LINK = re.compile(r'href="/weisser-ring/faelle/([0-9a-f-]{36})"')


def consent_form(clock: FakeClock, **overrides: str) -> dict[str, str]:
    values = {
        "consent_given_by": "victim",
        "consent_given_at": local_input_value(clock.now() - dt.timedelta(minutes=10)),
        "consent_form": "written",
        "consent_scope": "on",
    }
    values.update(overrides)
    return values


def referral_form(clock: FakeClock, *, postcode: str = "01099", **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        **consent_form(clock),
        "victim_name": VICTIM_NAME,
        "postcode": postcode,
        "phone": VICTIM_PHONE,
        "city": "Dresden",
        "language": "de",
        "offence_category": "bodily_harm",
        "incident_date": (clock.now() - dt.timedelta(days=1)).strftime("%d.%m.%Y"),
        "circumstances": CIRCUMSTANCES,
        "requested_support": ["personal_support", "accompaniment"],
        "urgency": "high",
    }
    values.update(overrides)
    return values


async def count_referrals(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(Referral))).scalar_one())


async def refer(client: Client, clock: FakeClock, **overrides: Any) -> Any:
    """An officer (already signed in) sends a referral through both steps."""
    form = await get_page(client, "/polizei/vermittlungen/neu")
    assert_html(form)
    token = csrf_of(form.text)
    details = await post_form(
        client, "/polizei/vermittlungen/neu/einwilligung", {"_csrf": token, **consent_form(clock)}
    )
    assert_html(details)
    return await post_form(
        client, "/polizei/vermittlungen", {"_csrf": token, **referral_form(clock, **overrides)}
    )


async def case_ids(client: Client, path: str = "/weisser-ring") -> list[str]:
    return CASE_LINK.findall((await get_page(client, path)).text)


_POLICE_LINK = re.compile(r'href="/polizei/vermittlungen/([0-9a-f-]{36})"')


async def police_referral_ids(client: Client) -> list[str]:
    """The referrals on the station's list, newest first."""
    return _POLICE_LINK.findall((await get_page(client, "/polizei")).text)
