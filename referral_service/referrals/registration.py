"""The referral domain as the application sees it (named in pyproject.toml's entry points)."""

from __future__ import annotations

from pathlib import Path

from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.domains import AppContext, Domain, DomainParts, PlainLanguagePage
from referral_service.jobs import PeriodicJob
from referral_service.referrals import reports
from referral_service.referrals.cli import referrals
from referral_service.referrals.controllers import ReferralController
from referral_service.referrals.counts import referral_work
from referral_service.referrals.deadlines import escalate_overdue
from referral_service.referrals.gauges import referral_gauges
from referral_service.referrals.importer.cli import import_referrals
from referral_service.referrals.notifications import KINDS
from referral_service.referrals.pages import AREAS, referral_page_handlers
from referral_service.referrals.policy import ReferralPolicy
from referral_service.referrals.repository import count_postcode_routes
from referral_service.referrals.retention import ReferralRetention
from referral_service.referrals.routing import seed_demo_routes

_HERE = Path(__file__).resolve().parent


def _build(context: AppContext, policy: ReferralPolicy) -> DomainParts:
    return DomainParts(
        route_handlers=[ReferralController],
        page_handlers=referral_page_handlers(),
        areas=AREAS,
        jobs=[PeriodicJob("referral-deadlines", 300, lambda: escalate_overdue(context.engine, policy))],
        state={"referral_policy": policy},
    )


async def _seed_demo(session: AsyncSession, only_if_empty: bool) -> None:
    """The demo's postcode routing table, beside the demo organisation."""
    if not only_if_empty or await count_postcode_routes(session) == 0:
        await seed_demo_routes(session)


DOMAIN: Domain[ReferralPolicy] = Domain(
    name="referrals",
    # Before the complaints: a police supervisor's start page is the station's referrals.
    order=10,
    load_settings=ReferralPolicy.from_environ,
    build=_build,
    retention=lambda policy: [ReferralRetention(policy.retention_period)],
    reports=lambda policy: [reports.cooperation(policy)],
    gauges=referral_gauges,
    cli=referrals,
    importer=import_referrals,
    seed_demo=_seed_demo,
    templates=_HERE / "templates",
    locales=_HERE / "locales",
    plain_language=PlainLanguagePage(
        slug="opferhilfe",
        template="referrals/plain_language.html",
        title="Hilfe für Opfer von Straf·taten",
        summary=(
            "Der WEISSER RING hilft Opfern von Straf·taten."
            " Die Polizei kann Ihren Kontakt an den WEISSER RING geben."
            " Aber nur, wenn Sie Ja sagen. Hier steht, wie das geht."
        ),
    ),
    work=referral_work,
    notifications=KINDS,
)
