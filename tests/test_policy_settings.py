"""Deadlines, holiday calendar, public rate limits and retention periods come from the environment at
start-up, so an operator can set them without code (REFERRAL_ACCEPT_DEADLINE_HOURS, REFERRAL_COMPLAINT_*,
REFERRAL_RETENTION_*). Each domain reads its own from the settings' snapshot of the environment."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from complaints.config import ComplaintsConfig
from complaints.working_days import State
from referral_service.app import create_app
from referral_service.domains import domain_settings, retention_providers
from referral_service.referrals.policy import ReferralPolicy
from referral_service.settings import SettingsError, load_settings
from tests.complaints.support import PUBLIC, anonymous_payload, problem, submit


def test_defaults_are_the_designed_deadlines() -> None:
    settings = load_settings({})
    policy = ReferralPolicy.from_environ(settings.environ)
    assert (policy.accept_within, policy.contact_within) == (dt.timedelta(hours=24), dt.timedelta(hours=72))
    config = ComplaintsConfig.from_environ(settings.environ)
    assert config.state is State.SAXONY
    assert config.calendar.is_working_day(dt.date(2027, 1, 6))
    assert (config.answer_deadline_working_days, config.statement_deadline_working_days) == (20, 10)
    assert (config.intake_rate_limit, config.access_rate_limit) == (("hour", 20), ("minute", 60))
    assert (policy.retention_period, config.retention_period) == (
        dt.timedelta(days=365),
        dt.timedelta(days=1095),
    )


def test_operators_set_them_through_the_environment() -> None:
    settings = load_settings(
        {
            "REFERRAL_ACCEPT_DEADLINE_HOURS": "12",
            "REFERRAL_CONTACT_DEADLINE_HOURS": "48",
            "REFERRAL_COMPLAINT_ANSWER_DEADLINE_WORKING_DAYS": "30",
            "REFERRAL_COMPLAINT_STATEMENT_DEADLINE_WORKING_DAYS": "5",
            "REFERRAL_COMPLAINT_HOLIDAY_STATE": "by",
            "REFERRAL_COMPLAINT_SUBMISSIONS_PER_HOUR": "3",
            "REFERRAL_COMPLAINT_ACCESS_ATTEMPTS_PER_MINUTE": "7",
            "REFERRAL_RETENTION_REFERRAL_DAYS": "30",
            "REFERRAL_RETENTION_COMPLAINT_DAYS": "60",
        }
    )
    policy = ReferralPolicy.from_environ(settings.environ)
    assert (policy.accept_within, policy.contact_within) == (dt.timedelta(hours=12), dt.timedelta(hours=48))
    config = ComplaintsConfig.from_environ(settings.environ)
    assert config.state is State.BAVARIA
    # Epiphany is a public holiday in Bavaria, not in Saxony.
    assert not config.calendar.is_working_day(dt.date(2027, 1, 6))
    assert (config.answer_deadline_working_days, config.statement_deadline_working_days) == (30, 5)
    assert (config.intake_rate_limit, config.access_rate_limit) == (("hour", 3), ("minute", 7))
    periods = {provider.case_kind: provider.period for provider in retention_providers(settings)}
    assert periods == {"referral": dt.timedelta(days=30), "complaint": dt.timedelta(days=60)}


def test_every_holiday_calendar_can_be_chosen() -> None:
    for state in State:
        environ = load_settings({"REFERRAL_COMPLAINT_HOLIDAY_STATE": state.value.lower()}).environ
        assert ComplaintsConfig.from_environ(environ).state is state


def test_each_domain_settings_object_comes_from_its_domain() -> None:
    configured = domain_settings(load_settings({}))
    assert isinstance(configured["referrals"], ReferralPolicy)
    assert isinstance(configured["complaints"], ComplaintsConfig)


def test_a_bad_domain_variable_stops_the_service_from_starting() -> None:
    settings = load_settings({"REFERRAL_CONTACT_DEADLINE_HOURS": "-1", "REFERRAL_BACKGROUND_JOBS": "false"})
    with pytest.raises(SettingsError, match="REFERRAL_CONTACT_DEADLINE_HOURS is out of range"):
        create_app(settings)


@pytest.mark.parametrize("variable", ["REFERRAL_REPORT_THRESHOLD", "REFERRAL_REPORT_THRESHOLD_COOPERATION"])
def test_a_small_cell_threshold_below_the_floor_stops_the_service_from_starting(variable: str) -> None:
    settings = load_settings({variable: "2", "REFERRAL_BACKGROUND_JOBS": "false"})
    with pytest.raises(SettingsError, match=variable):
        create_app(settings)


async def test_the_running_service_applies_the_configured_limit(database_url: str, tmp_path: Path) -> None:
    settings = load_settings(
        {
            "REFERRAL_DATABASE_URL": database_url,
            "REFERRAL_VAR_DIR": str(tmp_path / "var"),
            "REFERRAL_BACKGROUND_JOBS": "false",
            "REFERRAL_COMPLAINT_SUBMISSIONS_PER_HOUR": "1",
        }
    )
    async with AsyncTestClient(app=create_app(settings)) as client:
        await submit(client)
        assert problem(await client.post(PUBLIC, json=anonymous_payload())) == (429, "request.rate_limited")
