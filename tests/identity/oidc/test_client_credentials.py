"""Other systems call the API with the provider's client-credentials access tokens (RFC 9068).

The token comes from the real provider (tests/oidc); the service checks it against the provider's keys
on every request and acts as the technical account the provider config names for the client: an
ordinary local user whose roles and unit give the permissions. Forged tokens are hand-built and signed
with the provider's own private key wherever the point is a wrong claim.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from collections.abc import Iterable
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey
from litestar import Litestar
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.identity import service
from referral_service.identity.config import IdentityConfig
from referral_service.identity.models import ApiToken
from referral_service.identity.oidc.config import OidcConfig
from referral_service.identity.oidc.metadata import ProviderDirectory
from referral_service.identity.oidc.tokens import unverified_parts
from referral_service.identity.roles import Role
from referral_service.settings import Settings
from tests.identity.oidc.support import Client, audit_events
from tests.identity.support import DemoDirectory, FakeClock
from tests.oidc.fixtures import TECHNICAL_CLIENT, TECHNICAL_SECRET
from tests.oidc.provider import OidcProvider, generate_signing_keys
from tests.oidc.relying_party import API_AUDIENCE, TECHNICAL_USERNAME
from tests.referrals.support import referral_payload

DENIED = "identity:access:denied"
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def real_token(provider: OidcProvider) -> str:
    return provider.client_credentials_token(TECHNICAL_CLIENT, TECHNICAL_SECRET)


async def technical_account(
    engine: AsyncEngine,
    unit_id: uuid.UUID,
    roles: Iterable[Role],
    config: IdentityConfig,
    settings: Settings,
    *,
    active: bool = True,
) -> uuid.UUID:
    """`svc.vorgang`, created by the SYSTEM actor as an administrator would (disabled if not `active`)."""
    async with AsyncSession(engine, expire_on_commit=False) as session:
        view = await service.create_user(
            session,
            None,
            username=TECHNICAL_USERNAME,
            display_name="Vorgangssystem",
            unit_id=unit_id,
            roles=roles,
            password="Technik-Konto-ohne-Anmeldung-7391",
            config=config,
            secret=settings.secret_key,
            audit={},
        )
        if not active:
            await service.set_active(session, None, view.user.id, False, config=config, audit={})
        await session.commit()
        return view.user.id


async def denials(engine: AsyncEngine) -> list[dict[str, Any]]:
    return [details for _, details in await audit_events(engine, DENIED)]


def assert_refused(answer: Any) -> None:
    assert answer.status_code == 401, answer.text
    assert answer.json()["code"] == "auth.unauthenticated"


def _b64(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def signed(claims: dict[str, Any], jwk: dict[str, Any], **header: Any) -> str:
    return jwt.encode(
        {"alg": "RS256", "kid": jwk["kid"], "typ": "at+jwt", **header},
        claims,
        RSAKey.import_key(jwk),
        algorithms=["RS256"],
    )


async def test_a_client_token_acts_as_its_technical_account_and_ends_only_at_the_provider(
    oidc_client: Client,
    oidc_provider: OidcProvider,
    routed: DemoDirectory,
    engine: AsyncEngine,
    identity_config: IdentityConfig,
    settings: Settings,
) -> None:
    station = routed.unit("rev-dresden-nord")
    user_id = await technical_account(engine, station.id, [Role.POLICE_OFFICER], identity_config, settings)
    # An API token row that happens to have the account's id: signing out with the provider's token
    # must not end it (the client credential's id is the account's, never a row's).
    async with AsyncSession(engine) as session:
        now = identity_config.now()
        session.add(
            ApiToken(
                id=user_id,
                token_hash="0" * 64,
                user_id=user_id,
                created_at=now,
                expires_at=now + dt.timedelta(days=1),
            )
        )
        await session.commit()
    headers = bearer(real_token(oidc_provider))

    who = await oidc_client.get("/api/v1/auth/me", headers=headers)
    assert who.status_code == 200, who.text
    assert who.json()["username"] == TECHNICAL_USERNAME
    assert who.json()["auth_method"] == "client_credentials"
    assert who.json()["roles"] == ["police_officer"]
    assert who.json()["unit"]["code"] == "rev-dresden-nord"
    created = await oidc_client.post("/api/v1/referrals", json=referral_payload(), headers=headers)
    assert created.status_code == 201, created.text
    forbidden = await oidc_client.get("/api/v1/users", headers=headers)
    assert forbidden.status_code == 403
    assert forbidden.json()["code"] == "auth.forbidden"

    for ending in (
        await oidc_client.post("/api/v1/auth/logout", headers=headers),
        await oidc_client.delete("/api/v1/auth/token", headers=headers),
    ):
        assert ending.status_code == 422, ending.text
        assert ending.json()["code"] == "auth.wrong_credential_kind"
        assert "ends at the provider" in ending.json()["detail"]
    assert (await oidc_client.get("/api/v1/auth/me", headers=headers)).status_code == 200

    async with engine.connect() as connection:
        tokens = (await connection.execute(text("SELECT id, revoked_at FROM api_tokens"))).all()
        sessions = (await connection.execute(text("SELECT count(*) FROM auth_sessions"))).scalar_one()
    assert [row.revoked_at for row in tokens] == [None]  # only the planted row, still valid
    assert sessions == 0
    [forbidden_event] = await denials(engine)
    assert forbidden_event["reason"] == "forbidden"
    assert "credential" not in forbidden_event


@SQLITE_ONLY
async def test_a_client_without_an_active_account_is_refused(
    oidc_client: Client,
    oidc_provider: OidcProvider,
    demo_directory: DemoDirectory,
    engine: AsyncEngine,
    identity_config: IdentityConfig,
    settings: Settings,
) -> None:
    headers = bearer(real_token(oidc_provider))
    assert_refused(await oidc_client.get("/api/v1/auth/me", headers=headers))  # no such account yet
    station = demo_directory.unit("rev-dresden-nord")
    await technical_account(
        engine, station.id, [Role.POLICE_OFFICER], identity_config, settings, active=False
    )
    assert_refused(await oidc_client.get("/api/v1/auth/me", headers=headers))

    expected = {
        "reason": "invalid_credential",
        "credential": "technical_account",
        "client_id": "vorgangssystem",
    }
    assert [{k: d[k] for k in expected} for d in await denials(engine)] == [expected, expected]


@SQLITE_ONLY
async def test_a_client_mapped_to_a_role_that_needs_a_second_factor_is_refused(
    oidc_client: Client,
    oidc_provider: OidcProvider,
    demo_directory: DemoDirectory,
    engine: AsyncEngine,
    identity_config: IdentityConfig,
    settings: Settings,
) -> None:
    await technical_account(engine, demo_directory.unit("sn").id, [Role.ADMIN], identity_config, settings)

    assert_refused(await oidc_client.get("/api/v1/users", headers=bearer(real_token(oidc_provider))))
    [event] = await denials(engine)
    assert event["credential"] == "second_factor"


@SQLITE_ONLY
async def test_forged_and_misused_tokens_are_refused_with_the_reason_audited(
    oidc_client: Client,
    oidc_provider: OidcProvider,
    demo_directory: DemoDirectory,
    engine: AsyncEngine,
    identity_config: IdentityConfig,
    settings: Settings,
    capfd: pytest.CaptureFixture[str],
) -> None:
    station = demo_directory.unit("rev-dresden-nord")
    await technical_account(engine, station.id, [Role.POLICE_OFFICER], identity_config, settings)
    now = int(identity_config.now().timestamp())
    claims = {
        "iss": oidc_provider.issuer,
        "aud": API_AUDIENCE,
        "client_id": TECHNICAL_CLIENT,
        "sub": TECHNICAL_CLIENT,
        "scope": "api",
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 600,
    }
    real_key = oidc_provider.signing_keys[0]  # the provider's own RSA key
    other_key = RSAKey.generate_key(2048, parameters={"kid": real_key["kid"]}, private=True).as_dict(
        private=True
    )
    hs256 = jwt.encode(
        {"alg": "HS256", "typ": "at+jwt"},
        claims,
        OctKey.import_key(TECHNICAL_SECRET.encode()),
        algorithms=["HS256"],
    )
    forged = [
        ("client", signed({**claims, "client_id": "unbekanntes-system"}, real_key)),
        ("issuer", signed({**claims, "iss": "https://idp.example"}, real_key)),
        ("audience", signed({**claims, "aud": "referral-police"}, real_key)),
        ("signature", signed(claims, other_key)),
        ("expired", signed({**claims, "iat": now - 900, "exp": now - 120}, real_key)),
        ("algorithm", f"{_b64({'alg': 'none', 'typ': 'at+jwt'})}.{_b64(claims)}."),
        ("algorithm", hs256),
        # An ID token says what it is: it never passes as an access token, whatever its claims.
        ("token_type", signed(claims, real_key, typ="JWT")),
        ("unknown_key", signed(claims, real_key, kid="made-up")),
        ("malformed", "kein.gueltiges.token"),
    ]
    for _, token in forged:
        assert_refused(await oidc_client.get("/api/v1/auth/me", headers=bearer(token)))

    # The same claims signed by the provider's key pass: what failed above was the forgery.
    assert (
        await oidc_client.get("/api/v1/auth/me", headers=bearer(signed(claims, real_key)))
    ).status_code == 200
    events = await denials(engine)
    assert [event["credential"] for event in events] == [reason for reason, _ in forged]
    assert {event["reason"] for event in events} == {"invalid_credential"}
    assert [event.get("client_id") for event in events] == [None] * len(forged)
    # The audit trail and the log carry the reason, never a token or the client's secret.
    async with engine.connect() as connection:
        audit_rows = repr((await connection.execute(text("SELECT * FROM audit_events"))).all())
    logged = capfd.readouterr()
    signatures = [token.rsplit(".", 1)[-1] for _, token in forged]
    for signature in [part for part in signatures if len(part) > 40]:  # the signed ones
        assert signature not in audit_rows + logged.out + logged.err
    assert TECHNICAL_SECRET not in audit_rows + logged.out + logged.err


@SQLITE_ONLY
async def test_a_real_token_is_accepted_within_the_clock_skew_and_refused_beyond(
    oidc_client: Client,
    oidc_provider: OidcProvider,
    oidc_config: OidcConfig,
    demo_directory: DemoDirectory,
    engine: AsyncEngine,
    identity_config: IdentityConfig,
    identity_clock: FakeClock,
    settings: Settings,
) -> None:
    station = demo_directory.unit("rev-dresden-nord")
    await technical_account(engine, station.id, [Role.POLICE_OFFICER], identity_config, settings)
    token = real_token(oidc_provider)
    expires = dt.datetime.fromtimestamp(unverified_parts(token)[1]["exp"], dt.UTC)
    polizei = oidc_config.provider("polizei")
    assert polizei is not None

    identity_clock.current = expires + polizei.clock_skew - dt.timedelta(seconds=5)
    assert (await oidc_client.get("/api/v1/auth/me", headers=bearer(token))).status_code == 200
    identity_clock.current = expires + polizei.clock_skew + dt.timedelta(seconds=5)
    assert_refused(await oidc_client.get("/api/v1/auth/me", headers=bearer(token)))
    [event] = await denials(engine)
    assert event["credential"] == "expired"


@SQLITE_ONLY
async def test_a_provider_that_cannot_be_reached_refuses_the_caller_and_says_why(
    oidc_client: Client,
    oidc_app: Litestar,
    oidc_provider: OidcProvider,
    oidc_config: OidcConfig,
    demo_directory: DemoDirectory,
    engine: AsyncEngine,
    identity_config: IdentityConfig,
    settings: Settings,
    capfd: pytest.CaptureFixture[str],
) -> None:
    station = demo_directory.unit("rev-dresden-nord")
    await technical_account(engine, station.id, [Role.POLICE_OFFICER], identity_config, settings)
    token = real_token(oidc_provider)
    # A process that has not fetched the keys yet, and the provider down.
    oidc_app.state.oidc_directory = ProviderDirectory()
    oidc_provider.stop()
    try:
        answer = await oidc_client.get("/api/v1/auth/me", headers=bearer(token))
    finally:
        oidc_provider.start()
    assert_refused(answer)
    [event] = await denials(engine)
    assert event["reason"] == "provider_unavailable"
    logged = capfd.readouterr()
    assert "oidc.provider_unavailable" in logged.out + logged.err
    assert token.rsplit(".", 1)[-1] not in logged.out + logged.err
    # Back up: the next request fetches the keys and passes.
    assert (await oidc_client.get("/api/v1/auth/me", headers=bearer(token))).status_code == 200


class Monotonic:
    def __init__(self) -> None:
        self.current = 1000.0

    def __call__(self) -> float:
        return self.current


@SQLITE_ONLY
async def test_rotated_keys_are_fetched_and_a_retired_key_stops_being_trusted(
    oidc_client: Client,
    oidc_app: Litestar,
    oidc_provider: OidcProvider,
    oidc_config: OidcConfig,
    demo_directory: DemoDirectory,
    engine: AsyncEngine,
    identity_config: IdentityConfig,
    settings: Settings,
) -> None:
    station = demo_directory.unit("rev-dresden-nord")
    await technical_account(engine, station.id, [Role.POLICE_OFFICER], identity_config, settings)
    monotonic = Monotonic()
    directory = ProviderDirectory(monotonic=monotonic)
    oidc_app.state.oidc_directory = directory  # the next test gets the application's own one back
    original = oidc_provider.signing_keys
    old_token = real_token(oidc_provider)
    assert (await oidc_client.get("/api/v1/auth/me", headers=bearer(old_token))).status_code == 200

    oidc_provider.restart(jwks=generate_signing_keys())  # the old key retired at once
    try:
        new_token = real_token(oidc_provider)
        assert unverified_parts(new_token)[0]["kid"] != unverified_parts(old_token)[0]["kid"]
        # An unknown key id makes the service fetch the provider's keys again: no restart needed.
        assert (await oidc_client.get("/api/v1/auth/me", headers=bearer(new_token))).status_code == 200
        # The retired key is trusted no longer than the key set is kept.
        monotonic.current += directory.metadata_ttl
        assert_refused(await oidc_client.get("/api/v1/auth/me", headers=bearer(old_token)))
        assert (await oidc_client.get("/api/v1/auth/me", headers=bearer(new_token))).status_code == 200
    finally:
        oidc_provider.restart(jwks=original)  # the worker's other tests know the provider's first keys
    [event] = await denials(engine)
    assert event["credential"] == "unknown_key"
