"""The harness itself: the provider answers as the relying-party tests rely on (by hand here, with
httpx and joserfc, so a fault in the harness does not hide behind the service's own OIDC code)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.oidc.fixtures import (
    ACCOUNTS,
    POLICE_CLIENT,
    POLICE_SECRET,
    TECHNICAL_CLIENT,
    TECHNICAL_SECRET,
    TESTSERVER,
    WR_CLIENT,
    WR_SECRET,
    clients,
)
from tests.oidc.provider import API_AUDIENCE, OidcProvider

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
CALLBACKS = {
    POLICE_CLIENT: f"{TESTSERVER}/anmelden/mit/polizei/zurueck",
    WR_CLIENT: f"{TESTSERVER}/anmelden/mit/weisser-ring/zurueck",
}
SECRETS = {POLICE_CLIENT: POLICE_SECRET, WR_CLIENT: WR_SECRET}


def _key_set(provider: OidcProvider) -> KeySet:
    return KeySet.import_key_set(httpx.get(provider.discovery()["jwks_uri"]).json())


def _query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def _sign_in(
    provider: OidcProvider, client_id: str, account: str, jar: httpx.Cookies | None = None, **login: Any
) -> dict[str, Any]:
    """An authorization-code login with PKCE, state and nonce; the token response plus what was sent."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    discovery = provider.discovery()
    request = {
        "client_id": client_id,
        "response_type": "code",
        "scope": "openid profile email org",
        "redirect_uri": CALLBACKS[client_id],
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    back = provider.complete_authorization(
        f"{discovery['authorization_endpoint']}?{urlencode(request)}", account, jar=jar, **login
    )
    assert back.startswith(CALLBACKS[client_id] + "?")
    answer = _query(back)
    assert answer["state"] == state
    tokens = httpx.post(
        discovery["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": answer["code"],
            "redirect_uri": CALLBACKS[client_id],
            "code_verifier": verifier,
        },
        auth=(client_id, SECRETS[client_id]),
    )
    assert tokens.status_code == 200, tokens.text
    return {**tokens.json(), "nonce": nonce}


def test_discovery_announces_what_the_relying_party_needs(oidc_provider: OidcProvider) -> None:
    discovery = httpx.get(oidc_provider.discovery_url).json()

    assert discovery["issuer"] == oidc_provider.issuer
    assert discovery["end_session_endpoint"].startswith(oidc_provider.issuer)
    assert discovery["backchannel_logout_supported"] is True
    assert discovery["backchannel_logout_session_supported"] is True
    assert discovery["code_challenge_methods_supported"] == ["S256"]
    assert {"RS256", "ES256"} <= set(discovery["id_token_signing_alg_values_supported"])
    assert {"groups", "unit", "acr", "amr"} <= set(discovery["claims_supported"])
    assert "client_credentials" in discovery["grant_types_supported"]
    keys = httpx.get(discovery["jwks_uri"]).json()["keys"]
    assert {key["kty"] for key in keys} == {"RSA", "EC"}
    assert not any("d" in key for key in keys)  # the public halves only


@pytest.mark.parametrize(
    ("client_id", "alg", "login"),
    [
        (POLICE_CLIENT, "RS256", {"acr": "urn:polizei:loa:mfa", "amr": ["pwd", "otp"]}),
        (WR_CLIENT, "ES256", {}),
    ],
)
def test_authorization_code_login_yields_a_verifiable_id_token(
    oidc_provider: OidcProvider, client_id: str, alg: str, login: dict[str, Any]
) -> None:
    tokens = _sign_in(oidc_provider, client_id, "officer-1", **login)

    token = jwt.decode(tokens["id_token"], _key_set(oidc_provider), algorithms=[alg])
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": oidc_provider.issuer},
        aud={"essential": True, "value": client_id},
        nonce={"essential": True, "value": tokens["nonce"]},
    ).validate(token.claims)
    assert token.header["alg"] == alg
    assert token.claims["sub"] == "officer-1"
    assert token.claims["groups"] == ["rs-police-officer"]
    assert token.claims["unit"] == "rev-dresden-nord"
    assert token.claims["name"] == ACCOUNTS["officer-1"]["name"]
    assert token.claims.get("acr") == login.get("acr")
    assert token.claims.get("amr") == login.get("amr")
    assert token.claims["sid"]


def test_changed_account_claims_reach_the_next_sign_in(oidc_provider: OidcProvider) -> None:
    original = ACCOUNTS["supervisor-1"]
    oidc_provider.set_account("supervisor-1", {**original, "groups": []})
    try:
        tokens = _sign_in(oidc_provider, POLICE_CLIENT, "supervisor-1")
    finally:
        oidc_provider.set_account("supervisor-1", original)

    claims = jwt.decode(tokens["id_token"], _key_set(oidc_provider)).claims
    assert claims["groups"] == []
    assert claims["unit"] == "pd-dresden"


def test_login_as_an_unknown_account_is_refused(oidc_provider: OidcProvider) -> None:
    request = {
        "client_id": POLICE_CLIENT,
        "response_type": "code",
        "scope": "openid",
        "redirect_uri": CALLBACKS[POLICE_CLIENT],
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }
    url = f"{oidc_provider.discovery()['authorization_endpoint']}?{urlencode(request)}"

    with pytest.raises(AssertionError, match="answered 400"):
        oidc_provider.complete_authorization(url, "no-such-account")


def test_client_credentials_token_is_an_rfc9068_jwt(oidc_provider: OidcProvider) -> None:
    access_token = oidc_provider.client_credentials_token(TECHNICAL_CLIENT, TECHNICAL_SECRET)

    token = jwt.decode(access_token, _key_set(oidc_provider), algorithms=["RS256"])
    assert token.header["typ"] == "at+jwt"
    assert token.claims["aud"] == API_AUDIENCE
    assert token.claims["iss"] == oidc_provider.issuer
    assert token.claims["client_id"] == TECHNICAL_CLIENT
    assert token.claims["scope"] == "api"


def test_end_session_delivers_a_backchannel_logout_token(oidc_provider: OidcProvider) -> None:
    oidc_provider.backchannel_tokens()  # whatever earlier tests of this worker left
    jar = httpx.Cookies()
    tokens = _sign_in(oidc_provider, POLICE_CLIENT, "officer-1", jar=jar)
    sid = jwt.decode(tokens["id_token"], _key_set(oidc_provider)).claims["sid"]
    logout = {
        "id_token_hint": tokens["id_token"],
        "post_logout_redirect_uri": f"{TESTSERVER}/anmelden?abgemeldet=1",
        "state": "logout-state",
    }

    back = oidc_provider.end_session(
        f"{oidc_provider.discovery()['end_session_endpoint']}?{urlencode(logout)}", jar
    )

    assert back == f"{TESTSERVER}/anmelden?abgemeldet=1&state=logout-state"
    (delivered,) = oidc_provider.backchannel_tokens()
    claims = jwt.decode(delivered, _key_set(oidc_provider), algorithms=["RS256"]).claims
    assert claims["events"] == {BACKCHANNEL_EVENT: {}}
    assert claims["sid"] == sid
    assert claims["sub"] == "officer-1"
    assert claims["aud"] == POLICE_CLIENT
    assert "nonce" not in claims


def test_restart_rotates_or_keeps_the_keys(tmp_path: Path) -> None:
    # A provider of its own: the shared one keeps its keys for the other tests of the worker.
    provider = OidcProvider(tmp_path, accounts=ACCOUNTS)
    provider.clients = clients(provider.issuer)
    provider.start()
    try:
        first = httpx.get(provider.discovery()["jwks_uri"]).json()["keys"]
        provider.restart()
        rotated = httpx.get(provider.discovery()["jwks_uri"]).json()["keys"]
        provider.restart(jwks=provider.signing_keys)
        kept = httpx.get(provider.discovery()["jwks_uri"]).json()["keys"]
    finally:
        provider.stop()

    assert {key["kid"] for key in rotated}.isdisjoint(key["kid"] for key in first)
    assert kept == rotated
    assert [key["kid"] for key in rotated] == [key["kid"] for key in provider.signing_keys]
