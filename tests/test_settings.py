"""Settings come from the environment only, and production fails closed on missing or development secrets."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from referral_service.domains import domain_settings
from referral_service.settings import (
    DEVELOPMENT_SECRET_KEY,
    Environment,
    LogFormat,
    Settings,
    SettingsError,
    load_settings,
)

GOOD_SECRET = base64.b64encode(b"k" * 32).decode()
PRODUCTION = {
    "REFERRAL_ENV": "production",
    "REFERRAL_DATABASE_URL": "postgresql://svc@db.internal/referrals",
    "REFERRAL_SECRET_KEY": GOOD_SECRET,
    "REFERRAL_KEYRING_PATH": "/etc/referral-service/keyring.json",
    "REFERRAL_AUDIT_SIGNING_KEY_PATH": "/etc/referral-service/audit-signing.pem",
}


def test_development_defaults_need_no_environment() -> None:
    settings = load_settings({})
    assert settings.environment is Environment.DEVELOPMENT
    assert settings.database_url == "sqlite+aiosqlite:///var/referral-service.sqlite3"
    assert settings.log_format is LogFormat.CONSOLE
    assert settings.keyring_path == Path("var/dev-keyring.json")


def test_settings_are_frozen() -> None:
    settings = load_settings({})
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]


def test_secret_is_not_in_repr() -> None:
    assert DEVELOPMENT_SECRET_KEY.decode() not in repr(load_settings({}))
    configured = load_settings({"REFERRAL_SECRET_KEY": GOOD_SECRET})
    assert GOOD_SECRET not in repr(configured)


def test_the_domains_read_a_frozen_snapshot_of_the_referral_variables() -> None:
    source = {"REFERRAL_ACCEPT_DEADLINE_HOURS": "12", "HOME": "/root"}
    settings = load_settings(source)
    source["REFERRAL_ACCEPT_DEADLINE_HOURS"] = "48"
    assert dict(settings.environ) == {"REFERRAL_ACCEPT_DEADLINE_HOURS": "12"}
    with pytest.raises(TypeError):
        settings.environ["REFERRAL_PORT"] = "1"  # type: ignore[index]


def _load_everything(environ: dict[str, str]) -> Settings:
    """What start-up reads: the kernel's settings, then each domain's."""
    settings = load_settings(environ)
    domain_settings(settings)
    return settings


def test_production_with_everything_configured() -> None:
    settings = load_settings(PRODUCTION)
    assert settings.is_production
    assert settings.database_url == "postgresql+asyncpg://svc@db.internal/referrals"
    assert settings.log_format is LogFormat.JSON
    assert settings.secret_key == b"k" * 32


@pytest.mark.parametrize("missing", sorted(set(PRODUCTION) - {"REFERRAL_ENV"}))
def test_production_refuses_to_start_without_each_secret(missing: str) -> None:
    environ = {k: v for k, v in PRODUCTION.items() if k != missing}
    with pytest.raises(SettingsError, match=missing):
        load_settings(environ)


def test_production_refuses_the_development_secret() -> None:
    environ = {**PRODUCTION, "REFERRAL_SECRET_KEY": base64.b64encode(DEVELOPMENT_SECRET_KEY).decode()}
    with pytest.raises(SettingsError, match="development key"):
        load_settings(environ)


def test_production_refuses_sqlite() -> None:
    with pytest.raises(SettingsError, match="PostgreSQL"):
        load_settings({**PRODUCTION, "REFERRAL_DATABASE_URL": "sqlite:///x.db"})


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("REFERRAL_PORT", "eighty", "integer"),
        ("REFERRAL_PORT", "70000", "out of range"),
        ("REFERRAL_ENV", "staging", "one of"),
        ("REFERRAL_LOG_FORMAT", "xml", "one of"),
        ("REFERRAL_SECRET_KEY", "not base64!", "base64"),
        ("REFERRAL_SECRET_KEY", base64.b64encode(b"short").decode(), "32 bytes"),
        ("REFERRAL_DATABASE_URL", "mysql://x/y", "PostgreSQL or SQLite"),
        ("REFERRAL_ACCEPT_DEADLINE_HOURS", "0", "out of range"),
        ("REFERRAL_RETENTION_COMPLAINT_DAYS", "36501", "out of range"),
        ("REFERRAL_COMPLAINT_HOLIDAY_STATE", "XX", "federal state"),
        ("REFERRAL_COMPLAINT_SUBMISSIONS_PER_HOUR", "many", "integer"),
        ("REFERRAL_REDIS_URL", "http://cache", "redis://"),
    ],
)
def test_bad_values_are_refused_without_echoing_them(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message) as caught:
        _load_everything({name: value})
    assert value not in str(caught.value)


def test_plain_urls_get_the_async_drivers() -> None:
    assert load_settings({"REFERRAL_DATABASE_URL": "postgres://u@h/d"}).database_url.startswith(
        "postgresql+asyncpg://"
    )
    assert load_settings({"REFERRAL_DATABASE_URL": "sqlite:///tmp/x.db"}).database_url.startswith(
        "sqlite+aiosqlite://"
    )
