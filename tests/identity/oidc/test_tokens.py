"""The token checks (tokens.py) and the provider directory (metadata.py) on their own, against the real
provider's discovery and keys: no database, no application.

Real tokens come from the provider (an authorization-code round trip driven here, a captured
back-channel logout, client credentials); each refusal is a hand-built token signed with the provider's
own private key, so that the one wrong thing about it is the reason it is refused.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import json
import secrets
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey

from referral_service.identity.oidc.config import OidcConfig, OidcProvider
from referral_service.identity.oidc.metadata import ProviderDirectory, ProviderUnavailableError
from referral_service.identity.oidc.tokens import (
    BACKCHANNEL_LOGOUT_EVENT,
    MAX_TOKEN_LENGTH,
    TokenRefusedError,
    unverified_parts,
    validate_access_token,
    validate_id_token,
    validate_logout_token,
)
from tests.browser.support import free_port
from tests.oidc.fixtures import TECHNICAL_CLIENT, TECHNICAL_SECRET
from tests.oidc.provider import OidcProvider as HarnessProvider
from tests.oidc.relying_party import POLICE_SECRET, WR_SECRET

TESTSERVER = "https://testserver.local"
NONCE = "nonce-of-this-sign-in"


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64_json(value: Mapping[str, Any]) -> str:
    return _b64(json.dumps(value).encode())


def rsa_signed(claims: Mapping[str, Any], jwk: Mapping[str, Any], **header: Any) -> str:
    return jwt.encode(
        {"alg": "RS256", "kid": jwk["kid"], "typ": "JWT", **header},
        dict(claims),
        RSAKey.import_key(dict(jwk)),
        algorithms=["RS256"],
    )


def rsa_signed_by_hand(header: Mapping[str, Any], claims: Mapping[str, Any], jwk: Mapping[str, Any]) -> str:
    """RS256 without a library's header checks: for headers a library refuses to write (`crit`)."""
    signing_input = f"{_b64_json(header)}.{_b64_json(claims)}"
    private = RSAKey.import_key(dict(jwk)).get_op_key("sign")
    signature = private.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"


def provider_of(config: OidcConfig, key: str) -> OidcProvider:
    found = config.provider(key)
    assert found is not None
    return found


def real_id_token(harness: HarnessProvider, provider: OidcProvider, secret: str, account: str) -> str:
    """An authorization-code round trip with PKCE, as a relying party does it: the provider's ID token."""
    discovery = harness.discovery()
    verifier = secrets.token_urlsafe(48)
    redirect_uri = f"{TESTSERVER}/anmelden/mit/{provider.key}/zurueck"
    query = urlencode(
        {
            "response_type": "code",
            "client_id": provider.client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(provider.scopes),
            "state": secrets.token_urlsafe(16),
            "nonce": NONCE,
            "code_challenge": _b64(hashlib.sha256(verifier.encode()).digest()),
            "code_challenge_method": "S256",
        }
    )
    callback = harness.complete_authorization(f"{discovery['authorization_endpoint']}?{query}", account)
    code = parse_qs(urlsplit(callback).query)["code"][0]
    answer = httpx.post(
        discovery["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        },
        auth=(provider.client_id, secret),
    )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["id_token"]
    return token


@pytest.fixture
def directory(oidc_config: OidcConfig) -> ProviderDirectory:
    """A directory of its own for each test: what one test fetched says nothing about the next."""
    return ProviderDirectory()


@pytest.fixture
def police(oidc_config: OidcConfig) -> OidcProvider:
    return provider_of(oidc_config, "polizei")


@pytest.fixture
def id_claims(oidc_provider: HarnessProvider, police: OidcProvider) -> dict[str, Any]:
    at = int(now().timestamp())
    return {
        "iss": oidc_provider.issuer,
        "aud": police.client_id,
        "sub": "officer-1",
        "nonce": NONCE,
        "iat": at,
        "exp": at + 300,
    }


async def refusal(call: Any) -> str:
    with pytest.raises(TokenRefusedError) as refused:
        await call
    return refused.value.reason


async def test_real_id_tokens_of_both_providers_pass(
    oidc_provider: HarnessProvider, oidc_config: OidcConfig, directory: ProviderDirectory
) -> None:
    police, wr = provider_of(oidc_config, "polizei"), provider_of(oidc_config, "weisser-ring")
    police_token = real_id_token(oidc_provider, police, POLICE_SECRET, "officer-1")
    wr_token = real_id_token(oidc_provider, wr, WR_SECRET, "volunteer-1")

    claims = await validate_id_token(police_token, police, directory, nonce=NONCE, now=now())
    assert (claims["sub"], claims["groups"]) == ("officer-1", ["rs-police-officer"])
    assert unverified_parts(wr_token)[0]["alg"] == "ES256"
    assert (await validate_id_token(wr_token, wr, directory, nonce=NONCE, now=now()))["sub"] == "volunteer-1"
    # Each is meant for its own client, and the other nonce of another sign-in is no match.
    assert (
        await refusal(validate_id_token(police_token, wr, directory, nonce=NONCE, now=now())) == "algorithm"
    )
    assert await refusal(validate_id_token(wr_token, police, directory, nonce=NONCE, now=now())) == "audience"
    assert (
        await refusal(validate_id_token(police_token, police, directory, nonce="other", now=now())) == "nonce"
    )


async def test_forged_and_malformed_id_tokens_are_refused_each_with_its_reason(
    oidc_provider: HarnessProvider,
    police: OidcProvider,
    directory: ProviderDirectory,
    id_claims: dict[str, Any],
) -> None:
    key = oidc_provider.signing_keys[0]  # the provider's own RSA key
    other = RSAKey.generate_key(2048, parameters={"kid": key["kid"]}, private=True).as_dict(private=True)
    at = id_claims["iat"]
    skew = int(police.clock_skew.total_seconds())
    without_sub = {name: value for name, value in id_claims.items() if name != "sub"}
    without_nonce = {name: value for name, value in id_claims.items() if name != "nonce"}
    hs256 = jwt.encode(
        {"alg": "HS256", "typ": "JWT"},
        id_claims,
        OctKey.import_key(POLICE_SECRET.encode()),
        algorithms=["HS256"],
    )
    signed = rsa_signed(id_claims, key)
    refused = [
        ("issuer", rsa_signed({**id_claims, "iss": "https://idp.example"}, key)),
        ("audience", rsa_signed({**id_claims, "aud": "another-client"}, key)),
        # Several audiences: the authorised party must be this client.
        ("audience", rsa_signed({**id_claims, "aud": [police.client_id, "another-client"]}, key)),
        ("audience", rsa_signed({**id_claims, "azp": "another-client"}, key)),
        ("signature", rsa_signed(id_claims, other)),
        ("expired", rsa_signed({**id_claims, "iat": at - 900, "exp": at - skew - 5}, key)),
        ("issued_in_future", rsa_signed({**id_claims, "iat": at + skew + 30, "exp": at + 900}, key)),
        ("not_yet_valid", rsa_signed({**id_claims, "nbf": at + skew + 30}, key)),
        ("claims", rsa_signed({**id_claims, "exp": "tomorrow"}, key)),
        ("nonce", rsa_signed({**id_claims, "nonce": "another sign-in"}, key)),
        ("nonce", rsa_signed(without_nonce, key)),
        ("claims", rsa_signed(without_sub, key)),
        ("algorithm", f"{_b64_json({'alg': 'none', 'typ': 'JWT'})}.{_b64_json(id_claims)}."),
        ("algorithm", hs256),
        ("unknown_key", rsa_signed(id_claims, key, kid="made-up")),
        # An extension this service would not understand, so must not ignore (RFC 7515 §4.1.11).
        (
            "malformed",
            rsa_signed_by_hand({"alg": "RS256", "kid": key["kid"], "crit": ["exp"]}, id_claims, key),
        ),
        # A JWE has five parts; nothing here decrypts.
        ("malformed", ".".join([_b64_json({"alg": "RSA-OAEP", "enc": "A256GCM"}), "a", "b", "c", "d"])),
        ("malformed", "garbage"),
        ("malformed", "bm90.anNvbg.c2ln"),  # three parts, but no JSON in them
        ("malformed", signed.split(".")[0] + "." + "A" * MAX_TOKEN_LENGTH + "." + signed.split(".")[2]),
    ]
    reasons = [
        await refusal(validate_id_token(token, police, directory, nonce=NONCE, now=now()))
        for _, token in refused
    ]
    assert reasons == [reason for reason, _ in refused]
    # Within the skew the same times pass, and the well-formed original passes: the forgery was the fault.
    inside = {**id_claims, "iat": at + skew - 5, "nbf": at + skew - 5, "exp": at + 900}
    assert (await validate_id_token(rsa_signed(inside, key), police, directory, nonce=NONCE, now=now()))[
        "sub"
    ]
    assert (await validate_id_token(signed, police, directory, nonce=NONCE, now=now()))["sub"] == "officer-1"


async def test_a_providers_own_algorithms_only(
    oidc_provider: HarnessProvider,
    oidc_config: OidcConfig,
    directory: ProviderDirectory,
    id_claims: dict[str, Any],
) -> None:
    wr = provider_of(oidc_config, "weisser-ring")
    claims = {**id_claims, "aud": wr.client_id}
    rsa = rsa_signed(claims, oidc_provider.signing_keys[0])
    ec_key = oidc_provider.signing_keys[1]
    ec = jwt.encode(
        {"alg": "ES256", "kid": ec_key["kid"]}, claims, ECKey.import_key(ec_key), algorithms=["ES256"]
    )

    assert await refusal(validate_id_token(rsa, wr, directory, nonce=NONCE, now=now())) == "algorithm"
    assert (await validate_id_token(ec, wr, directory, nonce=NONCE, now=now()))["aud"] == wr.client_id


async def test_a_real_logout_token_passes_and_forged_ones_are_refused(
    oidc_provider: HarnessProvider, police: OidcProvider, directory: ProviderDirectory
) -> None:
    jar = httpx.Cookies()
    authorization = urlencode(
        {
            "response_type": "code",
            "client_id": police.client_id,
            "redirect_uri": f"{TESTSERVER}/anmelden/mit/polizei/zurueck",
            "scope": "openid",
            "nonce": NONCE,
            "code_challenge": _b64(hashlib.sha256(b"v" * 43).digest()),
            "code_challenge_method": "S256",
        }
    )
    discovery = oidc_provider.discovery()
    oidc_provider.complete_authorization(
        f"{discovery['authorization_endpoint']}?{authorization}", "officer-1", jar=jar
    )
    oidc_provider.backchannel_tokens()  # whatever earlier tests left
    ending = urlencode(
        {"client_id": police.client_id, "post_logout_redirect_uri": f"{TESTSERVER}/anmelden?abgemeldet=1"}
    )
    oidc_provider.end_session(f"{discovery['end_session_endpoint']}?{ending}", jar)
    [real] = [
        token
        for token in oidc_provider.backchannel_tokens()
        if unverified_parts(token)[1]["aud"] == police.client_id
    ]

    logged_out = await validate_logout_token(real, police, directory, now=now())
    assert logged_out.subject == "officer-1"
    assert logged_out.session_id
    assert logged_out.token_id

    key = oidc_provider.signing_keys[0]
    at = int(now().timestamp())
    claims = {
        "iss": oidc_provider.issuer,
        "aud": police.client_id,
        "iat": at,
        "exp": at + 120,
        "jti": uuid.uuid4().hex,
        "sub": "officer-1",
        "sid": "provider-session",
        "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
    }
    typ = {"typ": "logout+jwt"}
    refused = [
        ("claims", rsa_signed({**claims, "events": {}}, key, **typ)),  # no logout event
        ("claims", rsa_signed({**claims, "nonce": NONCE}, key, **typ)),  # an ID token's nonce
        ("claims", rsa_signed({k: v for k, v in claims.items() if k not in {"sub", "sid"}}, key, **typ)),
        ("claims", rsa_signed({k: v for k, v in claims.items() if k != "jti"}, key, **typ)),
        ("token_type", rsa_signed(claims, key, typ="at+jwt")),
        ("audience", rsa_signed({**claims, "aud": "referral-wr"}, key, **typ)),
        (
            "signature",
            rsa_signed(
                claims,
                RSAKey.generate_key(2048, parameters={"kid": key["kid"]}, private=True).as_dict(private=True),
                **typ,
            ),
        ),
    ]
    reasons = [
        await refusal(validate_logout_token(token, police, directory, now=now())) for _, token in refused
    ]
    assert reasons == [reason for reason, _ in refused]
    # Only a session id, or only a subject, will do; so will a token without a typ.
    only_sid = await validate_logout_token(
        rsa_signed({k: v for k, v in claims.items() if k != "sub"}, key, **typ), police, directory, now=now()
    )
    assert (only_sid.subject, only_sid.session_id) == (None, "provider-session")
    plain = rsa_signed({k: v for k, v in claims.items() if k != "sid"}, key)
    assert (await validate_logout_token(plain, police, directory, now=now())).subject == "officer-1"


async def test_client_credentials_tokens_only_from_a_provider_with_api_clients(
    oidc_provider: HarnessProvider, oidc_config: OidcConfig, directory: ProviderDirectory
) -> None:
    token = oidc_provider.client_credentials_token(TECHNICAL_CLIENT, TECHNICAL_SECRET)

    client = await validate_access_token(token, oidc_config, directory, now=now())
    assert (client.provider.key, client.client_id, client.username) == (
        "polizei",
        TECHNICAL_CLIENT,
        "svc.vorgang",
    )
    # The same issuer configured without API clients (the WEISSER RING's provider here): no provider
    # would take the token.
    without_api = OidcConfig(
        providers=tuple(dataclasses.replace(provider, api=None) for provider in oidc_config.providers)
    )
    assert await refusal(validate_access_token(token, without_api, directory, now=now())) == "issuer"
    assert await refusal(validate_access_token("a.b", oidc_config, directory, now=now())) == "malformed"


async def test_discovery_that_names_another_issuer_is_refused(
    oidc_provider: HarnessProvider, police: OidcProvider
) -> None:
    # The same provider under another name: its document names its own issuer, not the configured one.
    other_name = dataclasses.replace(police, issuer=oidc_provider.issuer.replace("127.0.0.1", "localhost"))
    directory = ProviderDirectory()

    with pytest.raises(ProviderUnavailableError, match="issuer does not match"):
        await directory.metadata(other_name)


async def test_a_provider_that_is_down_is_unavailable_not_an_error(police: OidcProvider) -> None:
    down = dataclasses.replace(police, issuer=f"http://127.0.0.1:{free_port()}")  # nobody listens there
    directory = ProviderDirectory()

    with pytest.raises(ProviderUnavailableError, match="discovery: not reachable"):
        await directory.signing_key(down, "any", "RS256")


class Counted:
    """Real HTTP clients that note the path of every request they send."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    async def _note(self, request: httpx.Request) -> None:
        self.paths.append(request.url.path)

    def __call__(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=10, follow_redirects=False, event_hooks={"request": [self._note]})


class Monotonic:
    def __init__(self) -> None:
        self.current = 1000.0

    def __call__(self) -> float:
        return self.current


async def test_unknown_key_ids_fetch_the_keys_at_most_once_per_interval(
    oidc_provider: HarnessProvider, oidc_config: OidcConfig, police: OidcProvider, id_claims: dict[str, Any]
) -> None:
    counted, monotonic = Counted(), Monotonic()
    directory = ProviderDirectory(http=counted, monotonic=monotonic)
    jwks = urlsplit(oidc_provider.discovery()["jwks_uri"]).path
    discovery = "/.well-known/openid-configuration"
    key = oidc_provider.signing_keys[0]

    async def made_up(kid: str) -> str:
        token = rsa_signed(id_claims, key, kid=kid)
        return await refusal(validate_id_token(token, police, directory, nonce=NONCE, now=now()))

    assert await made_up("made-up-1") == "unknown_key"
    assert counted.paths == [discovery, jwks, jwks]  # the first fetch, then one more for the unknown id
    assert await made_up("made-up-2") == "unknown_key"
    monotonic.current += directory.key_refetch_interval - 1
    assert await made_up("made-up-3") == "unknown_key"
    assert counted.paths == [discovery, jwks, jwks]  # a flood of made-up ids fetches nothing
    monotonic.current += 1
    assert await made_up("made-up-4") == "unknown_key"
    assert counted.paths == [discovery, jwks, jwks, jwks]
    # A known key is served from the cache; after the cache's lifetime everything is fetched afresh.
    assert await validate_id_token(rsa_signed(id_claims, key), police, directory, nonce=NONCE, now=now())
    assert len(counted.paths) == 4
    monotonic.current += directory.metadata_ttl
    assert await validate_id_token(rsa_signed(id_claims, key), police, directory, nonce=NONCE, now=now())
    assert counted.paths[4:] == [discovery, jwks]
