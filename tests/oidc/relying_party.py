"""The service's side of the test provider: the providers file an operator would write for it (read by
the production loader), and the `oidc_config` fixture built from it. Registered once for the whole suite
in tests/conftest.py, next to `oidc_provider`, so that each worker runs one provider process.

Two providers: `polizei` for the whole Saxon tree with just-in-time provisioning and API clients,
`weisser-ring` for the WEISSER RING state office's subtree with binding to pre-created users.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from referral_service.identity.oidc.config import OidcConfig, load_oidc_config
from tests.oidc.fixtures import POLICE_SECRET, WR_SECRET
from tests.oidc.provider import OidcProvider

__all__ = ["POLICE_SECRET", "WR_SECRET", "oidc_config", "write_providers_file"]

API_AUDIENCE = "https://referral.test/api"
TECHNICAL_USERNAME = "svc.vorgang"

PROVIDERS_TOML = """
[[provider]]
key = "polizei"
label = "Polizei Sachsen"
issuer = "{issuer}"
client_id = "referral-police"
client_secret_file = "{police_secret}"
root_unit = "sn"
scopes = ["openid", "profile", "email", "org"]
provisioning = "jit"
unit_claim = "unit"
role_claim = "groups"
mfa_acr_values = ["urn:polizei:loa:mfa"]
mfa_amr_values = ["otp", "hwk"]

[provider.roles]
rs-police-officer = "police_officer"
rs-police-supervisor = "police_supervisor"
rs-complaints-handler = "complaints_handler"
rs-complaints-lead = "complaints_lead"
rs-auditor = "auditor"
rs-admin = "admin"

[provider.api]
audience = "{audience}"

[provider.api.clients]
vorgangssystem = "{technical}"

[[provider]]
key = "weisser-ring"
label = "WEISSER RING"
issuer = "{issuer}"
client_id = "referral-wr"
client_secret_file = "{wr_secret}"
root_unit = "wr-sn"
scopes = ["openid", "profile", "org"]
signing_algorithms = ["ES256"]
provisioning = "bind"
mfa_acr_values = ["mfa"]

[provider.roles]
rs-wr-volunteer = "wr_volunteer"
rs-wr-branch-lead = "wr_branch_lead"
rs-wr-state-office = "wr_state_office"
"""


def write_providers_file(directory: Path, issuer: str) -> Path:
    """The providers file as an operator writes it, with the secrets in files of their own."""
    police, wr = directory / "police-secret", directory / "wr-secret"
    # Secret files as editors leave them: with a trailing newline, which is no part of the secret.
    police.write_text(POLICE_SECRET + "\n")
    wr.write_text(WR_SECRET + "\n")
    path = directory / "providers.toml"
    path.write_text(
        PROVIDERS_TOML.format(
            issuer=issuer,
            police_secret=police,
            wr_secret=wr,
            audience=API_AUDIENCE,
            technical=TECHNICAL_USERNAME,
        )
    )
    return path


@pytest.fixture(scope="session")
def oidc_config(oidc_provider: OidcProvider, tmp_path_factory: pytest.TempPathFactory) -> OidcConfig:
    """One object for the session: applications built on it are kept (tests/conftest.py `Applications`)."""
    path = write_providers_file(tmp_path_factory.mktemp("oidc"), oidc_provider.issuer)
    return load_oidc_config({"REFERRAL_OIDC_PROVIDERS_FILE": str(path)})
