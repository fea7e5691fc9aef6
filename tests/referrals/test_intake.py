"""What a referral must say to be accepted, on both engines: a way to reach the victim, a preferred channel
the victim gave, one incident date (to the day or the month, not in the future), value kinds shared with
the pages, and every error of a request at once."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service.db import create_session_factory
from referral_service.identity.permissions import ROLE_GRANTS
from referral_service.identity.principal import AuthMethod, Principal
from referral_service.identity.roles import Role, UnitKind
from referral_service.keys.service import CaseKeys, load_key_provider
from referral_service.referrals.models import Referral
from referral_service.referrals.policy import ReferralPolicy
from referral_service.referrals.schemas import ReferralUpdate, VictimUpdate
from referral_service.referrals.service import intake
from referral_service.referrals.service.common import ReferralContext
from referral_service.settings import Settings
from referral_service.validation import RequestValidationError
from tests.identity.support import AuthHeaders, DemoDirectory, FakeClock
from tests.referrals.support import referral_payload, submit

API = "/api/v1/referrals"


def _victim(**victim: Any) -> dict[str, Any]:
    """A referral whose victim has the given contact data and nothing else to reach them by."""
    payload = referral_payload()
    for name in ("phone", "email", "street_address", "city"):
        payload["victim"].pop(name)
    payload["victim"].update(victim)
    return payload


async def _count(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text("SELECT count(*) FROM referrals"))).scalar_one())


async def _refused(client: AsyncTestClient[Litestar], headers: dict[str, str], payload: Any) -> list[Any]:
    response = await client.post(API, json=payload, headers=headers)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "request.validation"
    return [(error["field"], error["code"]) for error in body["errors"]]


_NO_WAY = "referral.contact_required"


@pytest.mark.parametrize(
    ("victim", "named"),
    [
        ({}, ["phone", "email", "street_address", "city"]),
        ({"phone": None, "email": None}, ["phone", "email", "street_address", "city"]),
        # A street without the town is no address to write to, nor a town without the street.
        ({"street_address": "Kamenzer Straße 77"}, ["phone", "email", "city"]),
        ({"city": "Dresden"}, ["phone", "email", "street_address"]),
    ],
)
async def test_a_victim_nobody_can_reach_is_refused_naming_the_contact_fields(
    client: AsyncTestClient[Litestar],
    auth_headers: AuthHeaders,
    routed: DemoDirectory,
    engine: AsyncEngine,
    victim: dict[str, Any],
    named: list[str],
) -> None:
    officer = await auth_headers("officer.dresden")
    errors = await _refused(client, officer, _victim(**victim))
    assert errors == [(f"victim.{name}", _NO_WAY) for name in named]
    assert await _count(engine) == 0


@pytest.mark.parametrize(
    "victim",
    [
        {"phone": "0351 4440000"},
        {"email": "mira@example.org"},
        {"street_address": "Kamenzer Straße 77", "city": "Dresden"},  # with the postcode: an address
    ],
)
async def test_one_way_to_reach_the_victim_is_enough(
    client: AsyncTestClient[Litestar],
    auth_headers: AuthHeaders,
    routed: DemoDirectory,
    victim: dict[str, Any],
) -> None:
    response = await client.post(API, json=_victim(**victim), headers=await auth_headers("officer.dresden"))
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("victim", "accepted"),
    [
        ({"phone": "0351 4440000", "preferred_channel": "sms"}, True),
        ({"phone": "0351 4440000", "preferred_channel": "phone"}, True),
        ({"email": "mira@example.org", "preferred_channel": "email"}, True),
        ({"street_address": "Kamenzer Straße 77", "city": "Dresden", "preferred_channel": "visit"}, True),
        ({"street_address": "Kamenzer Straße 77", "city": "Dresden", "preferred_channel": "letter"}, True),
        ({"phone": "0351 4440000", "preferred_channel": "letter"}, False),
        ({"phone": "0351 4440000", "city": "Dresden", "preferred_channel": "visit"}, False),
        ({"phone": "0351 4440000", "preferred_channel": "email"}, False),
        ({"email": "mira@example.org", "preferred_channel": "sms"}, False),
    ],
)
async def test_the_preferred_channel_must_be_one_the_victim_gave(
    client: AsyncTestClient[Litestar],
    auth_headers: AuthHeaders,
    routed: DemoDirectory,
    engine: AsyncEngine,
    victim: dict[str, Any],
    accepted: bool,
) -> None:
    officer = await auth_headers("officer.dresden")
    if accepted:
        response = await client.post(API, json=_victim(**victim), headers=officer)
        assert response.status_code == 201, response.text
    else:
        errors = await _refused(client, officer, _victim(**victim))
        assert errors == [("victim.preferred_channel", "referral.preferred_channel_not_given")]
        assert await _count(engine) == 0


async def test_an_unknown_preferred_channel_is_refused(
    client: AsyncTestClient[Litestar], auth_headers: AuthHeaders, routed: DemoDirectory
) -> None:
    officer = await auth_headers("officer.dresden")
    errors = await _refused(client, officer, _victim(phone="0351 4440000", preferred_channel="pigeon"))
    assert errors == [("victim.preferred_channel", "value.invalid")]


async def test_the_preferred_channel_is_stored_encrypted_and_shown_to_the_branch_only_after_acceptance(
    client: AsyncTestClient[Litestar],
    auth_headers: AuthHeaders,
    routed: DemoDirectory,
    engine: AsyncEngine,
) -> None:
    created = await submit(client, auth_headers, **{"email": None})
    rid = created["id"]
    officer = await auth_headers("officer.dresden")
    corrected = await client.patch(
        f"{API}/{rid}", json={"victim": {"preferred_channel": "sms"}}, headers=officer
    )
    assert corrected.status_code == 200, corrected.text
    # The station sees what it sent, until acceptance.
    sent = (await client.get(f"{API}/{rid}", headers=officer)).json()
    assert sent["victim"]["preferred_channel"] == "sms"
    async with engine.connect() as connection:
        stored = (
            await connection.execute(select(Referral.preferred_channel).where(Referral.id == uuid.UUID(rid)))
        ).scalar_one()
    assert isinstance(stored, bytes)
    assert b"sms" not in stored  # ciphertext, never the value

    volunteer = await auth_headers("volunteer.dresden")
    inbox = (await client.get(f"{API}/{rid}", headers=volunteer)).json()
    assert inbox["contact_data_withheld"] is True
    assert "preferred_channel" not in inbox["victim"]  # contact data: withheld until someone accepts
    assert (await client.post(f"{API}/{rid}/accept", headers=volunteer)).status_code == 200
    accepted = (await client.get(f"{API}/{rid}", headers=volunteer)).json()
    assert accepted["victim"]["preferred_channel"] == "sms"
    assert accepted["victim"]["phone"]


async def test_a_correction_cannot_prefer_a_channel_the_victim_did_not_give(
    client: AsyncTestClient[Litestar], auth_headers: AuthHeaders, routed: DemoDirectory
) -> None:
    created = await submit(client, auth_headers, email=None)
    officer = await auth_headers("officer.dresden")
    refused = await client.patch(
        f"{API}/{created['id']}", json={"victim": {"preferred_channel": "email"}}, headers=officer
    )
    assert refused.status_code == 422, refused.text
    assert [(e["field"], e["code"]) for e in refused.json()["errors"]] == [
        ("victim.preferred_channel", "referral.preferred_channel_not_given")
    ]
    # Given together with the address it needs, it is taken.
    taken = await client.patch(
        f"{API}/{created['id']}",
        json={"victim": {"email": "mira@example.org", "preferred_channel": "email"}},
        headers=officer,
    )
    assert taken.status_code == 200, taken.text


@pytest.mark.parametrize(
    ("given", "shown"),
    [("2026-03-14", "2026-03-14"), ("2026-03", "2026-03")],
)
async def test_the_incident_date_is_kept_as_precise_as_it_was_given(
    client: AsyncTestClient[Litestar],
    auth_headers: AuthHeaders,
    routed: DemoDirectory,
    engine: AsyncEngine,
    given: str,
    shown: str,
) -> None:
    created = await submit(client, auth_headers, incident_date=given)
    assert created["incident_date"] == "2026-03"  # lists and summaries: the month only
    assert "incident_month" not in created
    officer = await auth_headers("officer.dresden")
    detail = (await client.get(f"{API}/{created['id']}", headers=officer)).json()
    assert detail["incident_date"] == shown
    assert "incident_month" not in detail
    async with engine.connect() as connection:
        month = (
            await connection.execute(
                select(Referral.incident_month).where(Referral.id == uuid.UUID(created["id"]))
            )
        ).scalar_one()
    assert month == "2026-03"  # the statistics' column, as before


async def test_a_correction_changes_the_incident_date_and_its_precision(
    client: AsyncTestClient[Litestar], auth_headers: AuthHeaders, routed: DemoDirectory
) -> None:
    created = await submit(client, auth_headers, incident_date="2026-03-14")
    officer = await auth_headers("officer.dresden")
    path = f"{API}/{created['id']}"
    to_month = await client.patch(path, json={"incident_date": "2026-02"}, headers=officer)
    assert to_month.status_code == 200, to_month.text
    assert to_month.json()["incident_date"] == "2026-02"
    assert (await client.get(path, headers=officer)).json()["incident_date"] == "2026-02"
    to_day = await client.patch(path, json={"incident_date": "2026-01-31"}, headers=officer)
    assert to_day.status_code == 200, to_day.text
    assert (await client.get(path, headers=officer)).json()["incident_date"] == "2026-01-31"
    old_field = await client.patch(path, json={"incident_month": "2026-01"}, headers=officer)
    assert old_field.status_code == 422
    assert [e["field"] for e in old_field.json()["errors"]] == ["incident_month"]


async def test_an_incident_date_in_the_future_is_refused_by_the_local_date(
    client: AsyncTestClient[Litestar],
    auth_headers: AuthHeaders,
    routed: DemoDirectory,
    referral_clock: FakeClock,
    engine: AsyncEngine,
) -> None:
    # 23:30 UTC on 14 March is already 15 March in Dresden: an incident "today" there is not in the future.
    referral_clock.current = dt.datetime(2026, 3, 14, 23, 30, tzinfo=dt.UTC)
    consent_at = referral_clock.current - dt.timedelta(minutes=10)
    officer = await auth_headers("officer.dresden")
    today = await client.post(
        API, json=referral_payload(consent_at=consent_at, incident_date="2026-03-15"), headers=officer
    )
    assert today.status_code == 201, today.text
    for future in ("2026-03-16", "2026-04"):
        errors = await _refused(
            client, officer, referral_payload(consent_at=consent_at, incident_date=future)
        )
        assert errors == [("incident_date", "referral.incident_in_future")], future
    patched = await client.patch(
        f"{API}/{today.json()['id']}", json={"incident_date": "2026-03-16"}, headers=officer
    )
    assert patched.status_code == 422
    assert [(e["field"], e["code"]) for e in patched.json()["errors"]] == [
        ("incident_date", "referral.incident_in_future")
    ]
    assert await _count(engine) == 1


@pytest.mark.parametrize("wrong", ["2026-13", "2026-02-30", "14.03.2026", "März 2026", ""])
async def test_an_incident_date_that_is_no_date_is_refused(
    client: AsyncTestClient[Litestar], auth_headers: AuthHeaders, routed: DemoDirectory, wrong: str
) -> None:
    errors = await _refused(
        client, await auth_headers("officer.dresden"), referral_payload(incident_date=wrong)
    )
    assert errors == [("incident_date", "value.day_or_month")]


@pytest.mark.parametrize(
    ("victim", "field", "code"),
    [
        ({"email": "erika@example"}, "victim.email", "value.email"),
        ({"phone": "12"}, "victim.phone", "value.phone"),
        ({"postcode": "0109"}, "victim.postcode", "value.postcode"),
    ],
)
async def test_contact_values_follow_the_shared_kinds(
    client: AsyncTestClient[Litestar],
    auth_headers: AuthHeaders,
    routed: DemoDirectory,
    victim: dict[str, str],
    field: str,
    code: str,
) -> None:
    payload = referral_payload()
    payload["victim"].update(victim)
    assert await _refused(client, await auth_headers("officer.dresden"), payload) == [(field, code)]


async def test_every_missing_field_is_reported_at_once(
    client: AsyncTestClient[Litestar], auth_headers: AuthHeaders, routed: DemoDirectory
) -> None:
    errors = await _refused(client, await auth_headers("officer.dresden"), {"victim": {}, "consent": {}})
    assert errors == [
        ("victim.name", "value.required"),
        ("victim.postcode", "value.required"),
        ("consent.given_by", "value.required"),
        ("consent.given_at", "value.required"),
        ("consent.form", "value.required"),
        ("consent.scope", "value.required"),
        ("offence_category", "value.required"),
        ("incident_date", "value.required"),
        ("circumstances", "value.required"),
    ]


async def test_the_use_case_reports_its_rules_together(
    client: AsyncTestClient[Litestar], auth_headers: AuthHeaders, routed: DemoDirectory
) -> None:
    payload = _victim(preferred_channel="letter")
    payload["incident_date"] = "2099-01-01"
    errors = await _refused(client, await auth_headers("officer.dresden"), payload)
    assert errors == [
        ("victim.phone", _NO_WAY),
        ("victim.email", _NO_WAY),
        ("victim.street_address", _NO_WAY),
        ("victim.city", _NO_WAY),
        ("victim.preferred_channel", "referral.preferred_channel_not_given"),
        ("incident_date", "referral.incident_in_future"),
    ]


async def test_the_use_case_refuses_a_correction_that_empties_the_last_way_to_reach_the_victim(
    client: AsyncTestClient[Litestar],
    auth_headers: AuthHeaders,
    routed: DemoDirectory,
    settings: Settings,
    engine: AsyncEngine,
) -> None:
    """The pages send emptied fields as `clear`; the use case itself refuses to clear the last way."""
    response = await client.post(
        API, json=_victim(phone="0351 4440000"), headers=await auth_headers("officer.dresden")
    )
    assert response.status_code == 201, response.text
    referral_id = uuid.UUID(response.json()["id"])
    officer = routed.account("officer.dresden")
    principal = Principal(
        user_id=officer.user_id,
        username=officer.username,
        unit_id=officer.unit.id,
        unit_path=officer.unit.path,
        unit_kind=UnitKind.POLICE_STATION,
        roles=frozenset({Role.POLICE_OFFICER}),
        permissions=ROLE_GRANTS[Role.POLICE_OFFICER],
        auth_method=AuthMethod.TOKEN,
    )
    keys = CaseKeys(lambda: load_key_provider(settings))
    async with create_session_factory(engine)() as session, session.begin():
        ctx = ReferralContext(session, principal, keys, ReferralPolicy(), {})
        with pytest.raises(RequestValidationError) as refused:
            await intake.update_referral(ctx, referral_id, ReferralUpdate(), clear={"phone"})
        assert [error.field for error in refused.value.errors] == [
            "victim.phone",
            "victim.email",
            "victim.street_address",
            "victim.city",
        ]
        # With another way given in the same correction, the phone number may go.
        update = ReferralUpdate(victim=VictimUpdate(email="mira@example.org"))
        await intake.update_referral(ctx, referral_id, update, clear={"phone"})
    detail = (await client.get(f"{API}/{referral_id}", headers=await auth_headers("officer.dresden"))).json()
    assert "phone" not in detail["victim"]
    assert detail["victim"]["email"] == "mira@example.org"
