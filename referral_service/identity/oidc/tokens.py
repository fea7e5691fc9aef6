"""Checking what a provider sends before any claim is believed: ID tokens, back-channel logout tokens and
client-credentials access tokens.

One verification for all three (`verify`): compact JWS only (no JWE, no unsigned JWT), an algorithm the
provider is configured for (never `none` or HMAC), a key the provider publishes, a valid signature, the
exact issuer, this service as audience, and the time claims within the configured clock skew. Each kind
then checks its own claims. A refusal raises `TokenRefusedError` with a short reason for the audit log;
the person signing in sees one generic message whatever the reason.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import BadSignatureError, JoseError

from referral_service.identity.oidc.config import OidcConfig, OidcProvider
from referral_service.identity.oidc.metadata import ProviderDirectory

BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
# RFC 9068 §2.1: access tokens say what they are, so an ID token can never pass as one (and back).
ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})
LOGOUT_TOKEN_TYPES = frozenset({"logout+jwt", "application/logout+jwt"})
MAX_TOKEN_LENGTH = 16 * 1024


class TokenRefusedError(Exception):
    """A token failed a check; `reason` is one word for the audit log (no token, no claim value)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _b64_json(part: str) -> Any:
    padded = part + "=" * (-len(part) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))


def unverified_parts(token: str) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """Header and claims of a compact JWS *without* checking anything: only to choose the provider and
    key. Raises `TokenRefusedError("malformed")` for anything that is not three base64url JSON parts."""
    parts = token.split(".")
    if len(token) > MAX_TOKEN_LENGTH or len(parts) != 3 or not all(parts[:2]):
        raise TokenRefusedError("malformed")
    try:
        header, claims = _b64_json(parts[0]), _b64_json(parts[1])
    except (ValueError, UnicodeError, binascii.Error) as error:
        raise TokenRefusedError("malformed") from error
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise TokenRefusedError("malformed")
    return header, claims


def _number(claims: Mapping[str, Any], name: str, *, required: bool) -> float | None:
    value = claims.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenRefusedError("claims")
    return float(value)


def _audiences(claims: Mapping[str, Any]) -> list[str]:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return [aud]
    if isinstance(aud, list) and all(isinstance(a, str) for a in aud):
        return aud
    return []


async def verify(
    token: str,
    provider: OidcProvider,
    directory: ProviderDirectory,
    *,
    audience: str,
    now: dt.datetime,
    types: Collection[str] | None = None,
    require_iat: bool = True,
) -> Mapping[str, Any]:
    """The token's claims once signature, issuer, audience and times hold (see the module docstring)."""
    header, _ = unverified_parts(token)
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in provider.signing_algorithms:
        raise TokenRefusedError("algorithm")
    if "crit" in header:
        raise TokenRefusedError("malformed")  # no extension we would understand
    typ = header.get("typ")
    if types is not None and (not isinstance(typ, str) or typ.lower() not in types):
        raise TokenRefusedError("token_type")
    kid = header.get("kid")
    key = await directory.signing_key(provider, kid if isinstance(kid, str) else None, alg)
    if key is None:
        raise TokenRefusedError("unknown_key")
    try:
        claims = jwt.decode(token, key, algorithms=[alg]).claims
    except BadSignatureError as error:
        raise TokenRefusedError("signature") from error
    except (JoseError, ValueError, TypeError) as error:
        raise TokenRefusedError("malformed") from error
    if claims.get("iss") != provider.issuer:
        raise TokenRefusedError("issuer")
    if audience not in _audiences(claims):
        raise TokenRefusedError("audience")
    skew = provider.clock_skew.total_seconds()
    at = now.timestamp()
    exp = _number(claims, "exp", required=True)
    if exp is not None and at > exp + skew:
        raise TokenRefusedError("expired")
    iat = _number(claims, "iat", required=require_iat)
    if iat is not None and iat > at + skew:
        raise TokenRefusedError("issued_in_future")
    nbf = _number(claims, "nbf", required=False)
    if nbf is not None and nbf > at + skew:
        raise TokenRefusedError("not_yet_valid")
    return claims


async def validate_id_token(
    token: str, provider: OidcProvider, directory: ProviderDirectory, *, nonce: str, now: dt.datetime
) -> Mapping[str, Any]:
    """The ID token's claims (OpenID Connect Core §3.1.3.7), bound to this sign-in by its nonce."""
    claims = await verify(token, provider, directory, audience=provider.client_id, now=now)
    audiences = _audiences(claims)
    azp = claims.get("azp")
    if (len(audiences) > 1 or azp is not None) and azp != provider.client_id:
        raise TokenRefusedError("audience")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > 255:
        raise TokenRefusedError("claims")
    sent = claims.get("nonce")
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), nonce.encode()):
        raise TokenRefusedError("nonce")
    return claims


@dataclass(frozen=True, slots=True)
class LogoutClaims:
    subject: str | None
    session_id: str | None  # the provider's `sid`
    token_id: str


async def validate_logout_token(
    token: str, provider: OidcProvider, directory: ProviderDirectory, *, now: dt.datetime
) -> LogoutClaims:
    """A back-channel logout token (OpenID Connect Back-Channel Logout 1.0 §2.6)."""
    header, _ = unverified_parts(token)
    # The `typ` is recommended, not required; when present it must be the logout type.
    types = LOGOUT_TOKEN_TYPES if "typ" in header and header["typ"] != "JWT" else None
    claims = await verify(token, provider, directory, audience=provider.client_id, now=now, types=types)
    events = claims.get("events")
    if not isinstance(events, dict) or BACKCHANNEL_LOGOUT_EVENT not in events or "nonce" in claims:
        raise TokenRefusedError("claims")  # without the event, or with a nonce, it may be an ID token
    sub, sid, jti = claims.get("sub"), claims.get("sid"), claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise TokenRefusedError("claims")
    sub = sub if isinstance(sub, str) and sub else None
    sid = sid if isinstance(sid, str) and sid else None
    if sub is None and sid is None:
        raise TokenRefusedError("claims")
    return LogoutClaims(subject=sub, session_id=sid, token_id=jti)


@dataclass(frozen=True, slots=True)
class ClientClaims:
    provider: OidcProvider
    client_id: str
    username: str  # the technical account the client acts as


async def validate_access_token(
    token: str, config: OidcConfig, directory: ProviderDirectory, *, now: dt.datetime
) -> ClientClaims:
    """A client-credentials access token (RFC 9068) from a provider with API clients configured."""
    _, unverified = unverified_parts(token)
    issuer = unverified.get("iss")
    provider = config.api_provider(issuer) if isinstance(issuer, str) else None
    if provider is None or provider.api is None:
        raise TokenRefusedError("issuer")
    claims = await verify(
        token, provider, directory, audience=provider.api.audience, now=now, types=ACCESS_TOKEN_TYPES
    )
    client_id = claims.get("client_id")
    username = provider.api.clients.get(client_id) if isinstance(client_id, str) else None
    if username is None:
        raise TokenRefusedError("client")
    return ClientClaims(provider=provider, client_id=str(client_id), username=username)
