"""Forged and misused ID tokens handed to `complete` as a token response would carry them: each is
refused with its own reason in the audit log, and nothing is written for the person it names.

The checks are the same on both engines (the audit write is proven on both by test_sign_in), so these
run on SQLite only.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.identity.config import IdentityConfig
from referral_service.identity.oidc import sign_in
from referral_service.identity.oidc.config import OidcConfig, OidcProvider
from referral_service.identity.oidc.models import OidcSignIn
from referral_service.identity.oidc.sign_in import SignInRefusedError
from referral_service.settings import Settings
from tests.identity.oidc.support import audit_events
from tests.identity.support import DemoDirectory, FakeClock
from tests.oidc.fixtures import ACCOUNTS
from tests.oidc.provider import OidcProvider as HarnessProvider
from tests.oidc.relying_party import POLICE_SECRET

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

BASE = "https://testserver.local"


def _b64(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def rsa_signed(claims: dict[str, Any], jwk: dict[str, Any]) -> str:
    header = {"alg": "RS256", "kid": jwk["kid"], "typ": "JWT"}
    return jwt.encode(header, claims, RSAKey.import_key(jwk), algorithms=["RS256"])


class Attempts:
    def __init__(
        self, engine: AsyncEngine, app: Litestar, provider: OidcProvider, config: IdentityConfig
    ) -> None:
        self.engine, self.app, self.provider, self.config = engine, app, provider, config

    async def start(self) -> tuple[sign_in.Started, OidcSignIn]:
        async with AsyncSession(self.engine, expire_on_commit=False) as session:
            started = await sign_in.start(
                session,
                self.provider,
                self.app.state.oidc_directory,
                base_url=BASE,
                next_path="",
                config=self.config,
            )
            await session.commit()
            query = select(OidcSignIn).where(OidcSignIn.state_hash == sign_in.state_hash(started.state))
            return started, (await session.exec(query)).one()

    async def complete(self, attempt: OidcSignIn, tokens: dict[str, Any], secret: bytes) -> Any:
        async with AsyncSession(self.engine, expire_on_commit=False) as session:
            result = await sign_in.complete(
                session,
                attempt,
                tokens,
                provider=self.provider,
                directory=self.app.state.oidc_directory,
                config=self.config,
                secret=secret,
                audit={},
            )
            await session.commit()
            return result


@pytest.fixture
def attempts(
    engine: AsyncEngine, oidc_app: Litestar, oidc_config: OidcConfig, identity_config: IdentityConfig
) -> Attempts:
    provider = oidc_config.provider("polizei")
    assert provider is not None
    return Attempts(engine, oidc_app, provider, identity_config)


async def test_forged_id_tokens_are_refused_each_with_its_reason(
    attempts: Attempts,
    oidc_provider: HarnessProvider,
    demo_directory: DemoDirectory,
    engine: AsyncEngine,
    identity_clock: FakeClock,
    settings: Settings,
) -> None:
    _, attempt = await attempts.start()
    now = int(identity_clock.now().timestamp())
    account = ACCOUNTS["officer-1"]
    claims = {
        "iss": oidc_provider.issuer,
        "aud": "referral-police",
        "sub": "officer-1",
        "nonce": attempt.nonce,
        "iat": now,
        "exp": now + 300,
        "groups": account["groups"],
        "unit": account["unit"],
    }
    real_key = oidc_provider.signing_keys[0]  # the provider's own RSA key
    other_key = RSAKey.generate_key(2048, parameters={"kid": real_key["kid"]}, private=True).as_dict(
        private=True
    )
    hs256 = jwt.encode(
        {"alg": "HS256", "typ": "JWT"},
        claims,
        OctKey.import_key(POLICE_SECRET.encode()),
        algorithms=["HS256"],
    )
    forged = {
        "issuer": rsa_signed({**claims, "iss": "https://idp.example"}, real_key),
        "audience": rsa_signed({**claims, "aud": "another-client"}, real_key),
        "signature": rsa_signed(claims, other_key),
        "expired": rsa_signed({**claims, "iat": now - 900, "exp": now - 600}, real_key),
        "algorithm": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.",
        "algorithm:hs256": hs256,
        "malformed": "not-a-token",
    }
    for expected, token in forged.items():
        with pytest.raises(SignInRefusedError) as refused:
            await attempts.complete(attempt, {"id_token": token}, settings.secret_key)
        assert refused.value.reason == expected.split(":")[0], expected

    # The same claims signed by the provider's key pass: what failed above was the forgery.
    assert isinstance(
        await attempts.complete(attempt, {"id_token": rsa_signed(claims, real_key)}, settings.secret_key),
        sign_in.SignedIn,
    )
    events = await audit_events(engine, "identity:oidc:login")
    assert [details.get("reason") for _, details in events] == [
        "issuer",
        "audience",
        "signature",
        "expired",
        "algorithm",
        "algorithm",
        "malformed",
        None,
    ]


async def test_a_real_id_token_from_an_earlier_sign_in_is_refused_for_a_later_one(
    attempts: Attempts,
    oidc_provider: HarnessProvider,
    demo_directory: DemoDirectory,
    engine: AsyncEngine,
    settings: Settings,
) -> None:
    earlier, earlier_attempt = await attempts.start()
    callback = oidc_provider.complete_authorization(earlier.authorization_url, "officer-1")
    code = parse_qs(urlsplit(callback).query)["code"][0]
    tokens = await sign_in.exchange(
        attempts.provider, attempts.app.state.oidc_directory, earlier_attempt, code=code, base_url=BASE
    )
    _, later_attempt = await attempts.start()

    with pytest.raises(SignInRefusedError) as refused:
        await attempts.complete(later_attempt, dict(tokens), settings.secret_key)
    assert refused.value.reason == "nonce"
    assert isinstance(
        await attempts.complete(earlier_attempt, dict(tokens), settings.secret_key), sign_in.SignedIn
    )
