"""The providers file (REFERRAL_OIDC_PROVIDERS_FILE): the tests' own file is read as an operator writes it,
and each mistake refuses the start with a message that names the field, never a secret."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from referral_service.identity.oidc.config import Provisioning, load_oidc_config
from referral_service.identity.roles import Role
from referral_service.settings import SettingsError
from tests.oidc.relying_party import (
    API_AUDIENCE,
    POLICE_SECRET,
    TECHNICAL_USERNAME,
    WR_SECRET,
    write_providers_file,
)

ISSUER = "http://127.0.0.1:8443"


def environ(path: Path, **extra: str) -> dict[str, str]:
    return {"REFERRAL_OIDC_PROVIDERS_FILE": str(path), **{f"REFERRAL_{k}": v for k, v in extra.items()}}


def providers_file(tmp_path: Path, *replacements: tuple[str, str], issuer: str = ISSUER) -> Path:
    """The tests' providers file with some lines changed (each replacement must hit)."""
    path = write_providers_file(tmp_path, issuer)
    content = path.read_text()
    for old, new in replacements:
        assert old in content, old
        content = content.replace(old, new, 1)
    path.write_text(content)
    return path


def refusal(path: Path, **extra: str) -> str:
    with pytest.raises(SettingsError) as refused:
        load_oidc_config(environ(path, **extra))
    message = str(refused.value)
    for secret in (POLICE_SECRET, WR_SECRET):
        assert secret not in message
    return message


def test_the_operators_file_is_read_and_a_secret_files_newline_is_no_part_of_the_secret(
    tmp_path: Path,
) -> None:
    config = load_oidc_config(
        environ(write_providers_file(tmp_path, ISSUER), PUBLIC_URL="https://rs.example/")
    )

    assert config.public_url == "https://rs.example"
    assert [p.key for p in config.providers] == ["polizei", "weisser-ring"]
    police = config.provider("polizei")
    wr = config.provider("weisser-ring")
    assert police is not None
    assert wr is not None
    assert police.client_secret == POLICE_SECRET  # the file ends with a newline
    assert wr.client_secret == WR_SECRET
    assert POLICE_SECRET not in repr(police)
    assert police.roles["rs-police-officer"] is Role.POLICE_OFFICER
    assert police.provisioning is Provisioning.JIT
    assert wr.provisioning is Provisioning.BIND
    assert wr.signing_algorithms == ("ES256",)
    assert police.clock_skew == dt.timedelta(seconds=60)
    assert police.proves_second_factor({"amr": ["pwd", "otp"]})
    assert not police.proves_second_factor({"amr": ["pwd"], "acr": "0"})
    assert wr.proves_second_factor({"acr": "mfa"})
    assert police.api is not None
    assert police.api.audience == API_AUDIENCE
    assert dict(police.api.clients) == {"vorgangssystem": TECHNICAL_USERNAME}
    assert wr.api is None
    assert config.api_provider(ISSUER) is police
    assert load_oidc_config({}).providers == ()


def test_an_unreadable_or_short_secret_is_refused_without_showing_it(tmp_path: Path) -> None:
    missing = providers_file(tmp_path, ("police-secret", "no-such-secret-file"))
    assert "provider 1: client_secret_file cannot be read" in refusal(missing)

    path = write_providers_file(tmp_path, ISSUER)
    (tmp_path / "police-secret").write_text("kurz-geheim\n")
    short = refusal(path)
    assert "provider 1: client_secret_file must hold a secret of at least 16 characters" in short
    assert "kurz-geheim" not in short


@pytest.mark.parametrize(
    ("replacements", "field"),
    [
        (
            (('rs-admin = "admin"', 'rs-admin = "superuser"'),),
            "provider 1: roles names a role that does not exist",
        ),
        (
            (('signing_algorithms = ["ES256"]', 'signing_algorithms = ["ES256", "HS256"]'),),
            "provider 2: signing_algorithms must name asymmetric algorithms only",
        ),
        (
            (('signing_algorithms = ["ES256"]', 'signing_algorithms = ["none"]'),),
            "provider 2: signing_algorithms must name asymmetric algorithms only",
        ),
        ((('key = "polizei"', 'key = "Polizei Sachsen"'),), "provider 1: key must be"),
        ((('key = "weisser-ring"', 'key = "polizei"'),), "two providers have the same key"),
        ((('root_unit = "sn"', 'root_unit = "../sn"'),), "provider 1: root_unit must be a unit code"),
        (
            (('provisioning = "jit"', 'provisioning = "auto"'),),
            "provider 1: provisioning must be 'jit' or 'bind'",
        ),
        ((('provisioning = "jit"', 'clock_skew_seconds = 301\nprovisioning = "jit"'),), "clock_skew_seconds"),
        ((('provisioning = "jit"', 'clock_skew_seconds = -1\nprovisioning = "jit"'),), "clock_skew_seconds"),
        (
            (('provisioning = "jit"', 'clock_skew_seconds = "60"\nprovisioning = "jit"'),),
            "clock_skew_seconds",
        ),
        (
            (('provisioning = "jit"', 'clock_skew_seconds = true\nprovisioning = "jit"'),),
            "clock_skew_seconds",
        ),
        (
            (('scopes = ["openid", "profile", "org"]', 'scopes = ["profile"]'),),
            "provider 2: scopes must include openid",
        ),
        ((('audience = "', 'audience = "" #'),), "provider 1: audience must be a non-empty string"),
        ((("[provider.api.clients]\nvorgangssystem", "[provider.api.clients]\n#"),), "api.clients must name"),
        ((('label = "WEISSER RING"', "label = 42"),), "provider 2: label must be a non-empty string"),
    ],
)
def test_a_mistake_in_the_file_names_the_field(
    tmp_path: Path, replacements: tuple[tuple[str, str], ...], field: str
) -> None:
    assert field in refusal(providers_file(tmp_path, *replacements))


def test_issuers_are_https_except_to_this_machine_outside_production(tmp_path: Path) -> None:
    loopback = providers_file(tmp_path)
    assert "provider 1: issuer must be an https URL" in refusal(loopback, ENV="production")
    assert load_oidc_config(environ(providers_file(tmp_path, issuer="http://localhost:8443"))).providers

    remote = providers_file(tmp_path, issuer="http://idp.polizei.example")
    assert "issuer must be an https URL (or http to localhost)" in refusal(remote)
    secure = providers_file(tmp_path, issuer="https://idp.polizei.example/realms/polizei")
    assert load_oidc_config(environ(secure, ENV="production")).providers[0].issuer.startswith("https://")
    assert "PUBLIC_URL must be an https URL" in refusal(
        secure, ENV="production", PUBLIC_URL="http://rs.example"
    )


def test_a_file_that_is_not_toml_or_cannot_be_read_is_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "providers.toml"
    garbage.write_text("[[provider]\nkey = polizei")
    assert "REFERRAL_OIDC_PROVIDERS_FILE is not valid TOML" in refusal(garbage)
    assert "REFERRAL_OIDC_PROVIDERS_FILE cannot be read" in refusal(tmp_path / "missing.toml")
    listed = tmp_path / "listed.toml"
    listed.write_text('provider = ["polizei"]\n')
    assert "providers must be [[provider]] tables" in refusal(listed)
