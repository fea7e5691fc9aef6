"""The `oidc_provider` fixture: one provider process per pytest worker, with the relying parties of the
service (one per identity provider the service knows) and a technical API client. Import it into a
conftest: `from tests.oidc.fixtures import oidc_provider  # noqa: F401`.

Accounts carry recognisable test values only; tests change them with `set_account` and must put them
back (the process is shared by every test of the worker).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.oidc.provider import OidcProvider

TESTSERVER = "https://testserver.local"
POLICE_CLIENT = "referral-police"
POLICE_SECRET = "police-secret-for-tests-only-0123456789"
WR_CLIENT = "referral-wr"
WR_SECRET = "wr-secret-for-tests-only-0123456789"
TECHNICAL_CLIENT = "vorgangssystem"
TECHNICAL_SECRET = "vorgang-secret-for-tests-only-0123"

ACCOUNTS: dict[str, dict[str, Any]] = {
    "officer-1": {
        "name": "Paula Prüfer",
        "preferred_username": "pprufer",
        "email": "paula.pruefer@polizei.example",
        "groups": ["rs-police-officer"],
        "unit": "rev-dresden-nord",
    },
    "supervisor-1": {
        "name": "Siegfried Testvorgesetzter",
        "preferred_username": "stestvorgesetzter",
        "email": "siegfried.testvorgesetzter@polizei.example",
        "groups": ["rs-police-supervisor"],
        "unit": "pd-dresden",
    },
    "admin-1": {
        "name": "Anke Testadmin",
        "preferred_username": "atestadmin",
        "email": "anke.testadmin@polizei.example",
        "groups": ["rs-admin"],
        "unit": "sn",
    },
    "volunteer-1": {
        "name": "Viktor Testehrenamt",
        "preferred_username": "vtestehrenamt",
        "email": "viktor.testehrenamt@weisser-ring.example",
        "groups": ["rs-wr-volunteer"],
        "unit": "wr-dresden",
    },
    "stateoffice-1": {
        "name": "Lena Testlandesbuero",
        "preferred_username": "ltestlandesbuero",
        "email": "lena.testlandesbuero@weisser-ring.example",
        "groups": ["rs-wr-state-office"],
        "unit": "wr-sachsen",
    },
    "nobody-1": {
        "name": "Norbert Testohnerolle",
        "preferred_username": "ntestohnerolle",
        "email": "norbert.testohnerolle@polizei.example",
        "groups": [],
        "unit": "rev-dresden-nord",
    },
}


def _relying_party(issuer: str, client_id: str, secret: str, path: str, **extra: Any) -> dict[str, Any]:
    return {
        "client_id": client_id,
        "client_secret": secret,
        "token_endpoint_auth_method": "client_secret_basic",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "redirect_uris": [f"{TESTSERVER}/anmelden/mit/{path}/zurueck"],
        "post_logout_redirect_uris": [f"{TESTSERVER}/anmelden?abgemeldet=1"],
        "backchannel_logout_uri": f"{issuer}/_test/backchannel/{client_id}",
        "backchannel_logout_session_required": True,
        **extra,
    }


def clients(issuer: str) -> list[dict[str, Any]]:
    return [
        _relying_party(issuer, POLICE_CLIENT, POLICE_SECRET, "polizei"),
        _relying_party(issuer, WR_CLIENT, WR_SECRET, "weisser-ring", id_token_signed_response_alg="ES256"),
        {
            "client_id": TECHNICAL_CLIENT,
            "client_secret": TECHNICAL_SECRET,
            "token_endpoint_auth_method": "client_secret_basic",
            "grant_types": ["client_credentials"],
            "response_types": [],
            "redirect_uris": [],
        },
    ]


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    provider = OidcProvider(tmp_path_factory.mktemp("oidc-provider"), accounts=ACCOUNTS)
    provider.clients = clients(provider.issuer)
    provider.start()
    try:
        yield provider
    finally:
        provider.stop()
