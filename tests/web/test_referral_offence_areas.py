"""The referral form offers the offence areas as WEISSER RING and the PKS group them; the legacy area
"sexual offence, not further specified" stays only on referrals that already have it."""

from __future__ import annotations

import re

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service.identity.roles import Role
from referral_service.referrals.models import Referral
from tests.identity.support import DemoDirectory, FakeClock
from tests.web.referral_forms import count_referrals, police_referral_ids, refer
from tests.web.support import Client, assert_error_summary, assert_html, get_page, post_form, sign_in
from tests.web.test_referral_correction import correction

LEGACY = "sexual_offence_unspecified"


def _option(page: str, value: str) -> re.Match[str] | None:
    return re.search(rf'<option value="{value}"( selected)?>([^<]*)</option>', page)


async def test_the_form_offers_the_split_areas_and_a_correction_keeps_a_legacy_one(
    https_client: Client, routed: DemoDirectory, identity_clock: FakeClock, engine: AsyncEngine
) -> None:
    await sign_in(https_client, routed, Role.POLICE_OFFICER, identity_clock)
    refused = await refer(https_client, identity_clock, offence_category=LEGACY)
    assert_html(refused, 422)
    assert assert_error_summary(refused.text) == ["offence_category"]
    assert "Bitte wählen Sie, welches Sexualdelikt vorliegt" in refused.text
    assert await count_referrals(engine) == 0
    for value, label in (
        ("child_sexual_abuse", "sexueller Missbrauch von Kindern"),
        ("rape_sexual_assault", "Vergewaltigung, sexuelle Nötigung, sexueller Übergriff"),
        ("other_sexual_offence", "sonstiges Sexualdelikt (z. B. sexuelle Belästigung)"),
        ("bodily_harm", "Körperverletzung (ohne häusliche Gewalt)"),
        ("domestic_violence", "häusliche Gewalt (Partnerschaft, Familie)"),
    ):
        option = _option(refused.text, value)
        assert option is not None, value
        assert option.group(2) == label
    assert _option(refused.text, LEGACY) is None

    assert (
        await refer(https_client, identity_clock, offence_category="child_sexual_abuse")
    ).status_code == 303
    [referral_id] = await police_referral_ids(https_client)
    async with engine.begin() as connection:  # as migration 0014 leaves an old "sexual_offence"
        await connection.execute(update(Referral).values(offence_category=LEGACY))

    path = f"/polizei/vermittlungen/{referral_id}/korrigieren"
    form = await get_page(https_client, path)
    legacy = _option(form.text, LEGACY)
    assert legacy is not None
    assert legacy.groups() == (" selected", "Sexualdelikt, nicht näher bestimmt (vor der Aufteilung erfasst)")
    # Correcting another field (the city) keeps the legacy area; nobody is forced to guess.
    posted = await post_form(
        https_client, path, correction(form.text, identity_clock, offence_category=LEGACY)
    )
    assert posted.status_code == 303, posted.text
    async with engine.connect() as connection:
        stored = (await connection.execute(select(Referral.offence_category))).scalar_one()
    assert stored == LEGACY
