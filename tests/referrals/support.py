"""Shared helpers of the referral tests: payloads with recognisable personal values, and API shortcuts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.identity.support import AuthHeaders

# Recognisable values: tests check they appear nowhere they must not (tables, audit, logs, feedback).
VICTIM_NAME = "Zoë Quast-Pfeiffer"
VICTIM_PHONE = "+49 351 5550123"
VICTIM_EMAIL = "zoe.quast@example.org"
VICTIM_STREET = "Kamenzer Straße 77"
CIRCUMSTANCES = "Angriff im Hausflur durch den Nachbarn, Prellungen am Arm"
CASE_NUMBER = "DD-4711/26-K"
SECRET_VALUES = (
    VICTIM_NAME,
    VICTIM_PHONE,
    VICTIM_EMAIL,
    VICTIM_STREET,
    CIRCUMSTANCES,
    CASE_NUMBER,
    "5550123",
)


def referral_payload(
    *,
    postcode: str = "01099",
    phone: str = VICTIM_PHONE,
    email: str | None = VICTIM_EMAIL,
    consent_at: dt.datetime | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    payload: dict[str, Any] = {
        "victim": {
            "name": VICTIM_NAME,
            "postcode": postcode,
            "phone": phone,
            "email": email,
            "street_address": VICTIM_STREET,
            "city": "Dresden",
            "date_of_birth": "1984-03-02",
            "contact_preferences": "abends ab 18 Uhr, bevorzugt Telefon",
            "language": "de",
        },
        "consent": {
            "given_by": "victim",
            "given_at": (consent_at or now - dt.timedelta(minutes=10)).isoformat(),
            "form": "written",
            "scope": "transfer_to_wr_for_contact_and_support",
        },
        "offence_category": "bodily_harm",
        # Yesterday (local or UTC alike): never in the future of the service's clock.
        "incident_date": (now - dt.timedelta(days=1)).date().isoformat(),
        "circumstances": CIRCUMSTANCES,
        "requested_support": ["personal_support", "accompaniment"],
        "case_number": CASE_NUMBER,
        "urgency": "high",
    }
    payload.update(overrides)
    return payload


async def submit(
    client: AsyncTestClient[Litestar], auth_headers: AuthHeaders, who: str = "officer.dresden", **kwargs: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/referrals", json=referral_payload(**kwargs), headers=await auth_headers(who)
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body
