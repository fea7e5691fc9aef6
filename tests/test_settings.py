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
# The operator's details (Impressum, privacy notice, accessibility statement) production must name.
OPERATOR = {
    "REFERRAL_OPERATOR_NAME": "Polizeiverwaltungsamt Prüfland",
    "REFERRAL_OPERATOR_ADDRESS": "Prüfstraße 7|99999 Prüfstadt",
    "REFERRAL_OPERATOR_EMAIL": "poststelle@pva.pruefland.example",
    "REFERRAL_DATA_PROTECTION_OFFICER": "Datenschutzbeauftragte des PVA|datenschutz@pva.pruefland.example",
    "REFERRAL_SUPERVISORY_AUTHORITY": "Landesbeauftragte für den Datenschutz Prüfland",
    "REFERRAL_ACCESSIBILITY_ENFORCEMENT_BODY": "Durchsetzungsstelle Barrierefreiheit Prüfland",
}
OPERATOR_VARIABLES = sorted(OPERATOR)
PRODUCTION = {
    "REFERRAL_ENV": "production",
    "REFERRAL_DATABASE_URL": "postgresql://svc@db.internal/referrals",
    "REFERRAL_SECRET_KEY": GOOD_SECRET,
    "REFERRAL_KEYRING_PATH": "/etc/referral-service/keyring.json",
    "REFERRAL_AUDIT_SIGNING_KEY_PATH": "/etc/referral-service/audit-signing.pem",
    **OPERATOR,
}
# What the complaint domain needs in production on top: the office complainants contact.
COMPLAINT_OFFICE = {
    "REFERRAL_COMPLAINT_OFFICE_NAME": "Beschwerdestelle der Polizei Prüfland",
    "REFERRAL_COMPLAINT_OFFICE_ADDRESS": "Postfach 1 23|99999 Prüfstadt",
    "REFERRAL_COMPLAINT_OFFICE_EMAIL": "beschwerde@polizei.pruefland.example",
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


def test_a_secret_key_read_from_a_file_keeps_its_trailing_newline_out() -> None:
    # What `$(cat secret-file)` in an env file or a Kubernetes secret made from a file hands over.
    from_file = load_settings({"REFERRAL_SECRET_KEY": GOOD_SECRET + "\n"})
    assert from_file.secret_key == load_settings({"REFERRAL_SECRET_KEY": GOOD_SECRET}).secret_key
    assert from_file.secret_key == base64.b64decode(GOOD_SECRET)


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


def test_production_without_operator_details_refuses_to_start_naming_each_variable() -> None:
    environ = {k: v for k, v in PRODUCTION.items() if k not in OPERATOR_VARIABLES}
    with pytest.raises(SettingsError) as caught:
        load_settings(environ)
    message = str(caught.value)
    assert len(OPERATOR_VARIABLES) == 6
    for name in OPERATOR_VARIABLES:
        assert name in message
    assert not any(value in message for value in PRODUCTION.values() if value != "production")


def test_production_takes_the_configured_operator_and_no_demo_value() -> None:
    operator = load_settings(PRODUCTION).operator
    assert operator.name == "Polizeiverwaltungsamt Prüfland"
    assert operator.address == ("Prüfstraße 7", "99999 Prüfstadt")
    assert operator.data_protection_officer == (
        "Datenschutzbeauftragte des PVA",
        "datenschutz@pva.pruefland.example",
    )
    # Optional details stay empty rather than borrowing the demo's; the barrier contact is the operator.
    assert operator.phone is None
    assert operator.representative is None
    assert operator.accessibility_contact == (
        "Polizeiverwaltungsamt Prüfland",
        "poststelle@pva.pruefland.example",
    )
    assert "Demo" not in repr(operator)


def test_development_has_an_operator_marked_as_a_demo() -> None:
    operator = load_settings({}).operator
    assert operator.name.endswith("(Demo)")
    for lines in (
        operator.data_protection_officer,
        operator.supervisory_authority,
        operator.accessibility_contact,
        operator.accessibility_enforcement_body,
    ):
        assert "(Demo)" in lines[0]


def test_multi_line_values_are_separated_by_bars_or_line_breaks() -> None:
    bars = load_settings({"REFERRAL_OPERATOR_ADDRESS": " Am Markt 1 | | 01067 Dresden "}).operator
    breaks = load_settings({"REFERRAL_OPERATOR_ADDRESS": "Am Markt 1\n01067 Dresden\n"}).operator
    assert bars.address == breaks.address == ("Am Markt 1", "01067 Dresden")


def test_production_without_the_complaints_office_refuses_to_start() -> None:
    with pytest.raises(SettingsError) as caught:
        _load_everything(PRODUCTION)
    for name in COMPLAINT_OFFICE:
        assert name in str(caught.value)
    configured = domain_settings(load_settings({**PRODUCTION, **COMPLAINT_OFFICE}))["complaints"]
    assert configured.office.name == "Beschwerdestelle der Polizei Prüfland"
    assert configured.office.address == ("Postfach 1 23", "99999 Prüfstadt")
    assert configured.office.phone is None  # optional, and never the demo's


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
        ("REFERRAL_OPERATOR_EMAIL", "poststelle at example", "e-mail address"),
        ("REFERRAL_OPERATOR_WEBSITE", "javascript:alert(1)", "https://"),
        ("REFERRAL_COMPLAINT_OFFICE_EMAIL", "<script>@x.de", "e-mail address"),
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
