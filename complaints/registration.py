"""The complaint domain as the application sees it (named in pyproject.toml's entry points)."""

from __future__ import annotations

from pathlib import Path

from complaints import notifications, reports
from complaints.cli import complaints, import_complaints
from complaints.config import ComplaintsConfig
from complaints.controllers import complaint_routers
from complaints.counts import complaint_work
from complaints.gauges import complaint_gauges
from complaints.pages import AREAS, complaint_page_routers
from complaints.reminders import INTERVAL_SECONDS, JOB, remind_deadlines
from complaints.retention import ComplaintRetention
from referral_service.domains import AppContext, Domain, DomainParts, PlainLanguagePage
from referral_service.jobs import PeriodicJob

_HERE = Path(__file__).resolve().parent


def _build(context: AppContext, config: ComplaintsConfig) -> DomainParts:
    return DomainParts(
        route_handlers=complaint_routers(config),
        page_handlers=complaint_page_routers(config),
        areas=AREAS,
        jobs=[PeriodicJob(JOB, INTERVAL_SECONDS, lambda: remind_deadlines(context.engine, config))],
    )


DOMAIN: Domain[ComplaintsConfig] = Domain(
    name="complaints",
    order=20,
    load_settings=ComplaintsConfig.from_environ,
    build=_build,
    retention=lambda config: [ComplaintRetention(config.retention_period)],
    reports=lambda _: [reports.ANNUAL_REPORT],
    gauges=complaint_gauges,
    cli=complaints,
    importer=import_complaints,
    templates=_HERE / "templates",
    locales=_HERE / "locales",
    plain_language=PlainLanguagePage(
        slug="beschwerde",
        template="complaints/plain_language.html",
        title="Beschwerde über die Polizei",
        summary="Sie sind mit der Polizei nicht zufrieden? Hier steht: So beschweren Sie sich.",
    ),
    work=complaint_work,
    notifications=notifications.KINDS,
    contact_address=notifications.contact_address,
)
