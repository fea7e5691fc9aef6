"""Each provider's discovery document and signing keys, fetched on first use and cached.

Nothing is fetched at start: a provider that is down must not stop the service (local sign-in and the
other provider still work); its sign-in fails with a clear message until it is back.

Key rotation: a token signed with a key id this process does not know makes it fetch the provider's
JWKS again, at most once per `key_refetch_interval` per provider, so a flood of tokens with made-up key
ids cannot turn the service into a load generator against the provider. The whole key set is fetched
again after `metadata_ttl` as well, so a key the provider retired (perhaps because it leaked) stops
being trusted within that time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, OKPKey, RSAKey

from referral_service.identity.oidc.config import OidcProvider

SigningKey = RSAKey | ECKey | OKPKey
HttpClient = Callable[[], httpx.AsyncClient]

# A provider answers within seconds or it is down: a sign-in must not hang on it.
HTTP_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
MAX_DOCUMENT_BYTES = 512 * 1024

_KEY_TYPES = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}


class ProviderUnavailableError(Exception):
    """The provider could not be reached or answered something unusable (the message says which step;
    it never carries a token or a claim)."""


def default_http_client() -> httpx.AsyncClient:
    # No redirects: a provider's endpoints are named exactly in its discovery document.
    return httpx.AsyncClient(timeout=HTTP_TIMEOUT, follow_redirects=False)


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None
    backchannel_logout_supported: bool


@dataclass(slots=True)
class _Cached:
    metadata: ProviderMetadata | None = None
    metadata_at: float = 0.0
    keys: KeySet | None = None
    keys_at: float = 0.0
    refetched_at: float | None = None  # last JWKS fetch caused by an unknown key id


async def fetch_json(http: HttpClient, url: str, what: str) -> Mapping[str, Any]:
    try:
        async with http() as client:
            response = await client.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as error:
        raise ProviderUnavailableError(f"{what}: not reachable") from error
    if response.status_code != 200:
        raise ProviderUnavailableError(f"{what}: answered {response.status_code}")
    if len(response.content) > MAX_DOCUMENT_BYTES:
        raise ProviderUnavailableError(f"{what}: too large")
    try:
        document = response.json()
    except ValueError as error:
        raise ProviderUnavailableError(f"{what}: not JSON") from error
    if not isinstance(document, dict):
        raise ProviderUnavailableError(f"{what}: not a JSON object")
    return document


def _metadata(provider: OidcProvider, document: Mapping[str, Any]) -> ProviderMetadata:
    # OpenID Connect Discovery 1.0 §4.3: the document's issuer must be exactly the configured one, or a
    # compromised or confused document could make us accept another issuer's tokens.
    if document.get("issuer") != provider.issuer:
        raise ProviderUnavailableError("discovery: issuer does not match the configured issuer")
    urls = {}
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        value = document.get(name)
        if not isinstance(value, str) or not value.startswith(("https://", "http://")):
            raise ProviderUnavailableError(f"discovery: {name} missing")
        urls[name] = value
    end_session = document.get("end_session_endpoint")
    return ProviderMetadata(
        issuer=provider.issuer,
        authorization_endpoint=urls["authorization_endpoint"],
        token_endpoint=urls["token_endpoint"],
        jwks_uri=urls["jwks_uri"],
        end_session_endpoint=end_session if isinstance(end_session, str) else None,
        backchannel_logout_supported=document.get("backchannel_logout_supported") is True,
    )


def _key_set(document: Mapping[str, Any]) -> KeySet:
    keys = document.get("keys")
    if not isinstance(keys, list):
        raise ProviderUnavailableError("jwks: no keys")
    # Only public signing keys; anything else in the set (encryption keys, private parts) is ignored.
    usable = [
        {name: value for name, value in key.items() if name not in {"d", "p", "q", "dp", "dq", "qi"}}
        for key in keys
        if isinstance(key, dict) and key.get("use", "sig") == "sig" and key.get("kty") in {"RSA", "EC", "OKP"}
    ]
    try:
        return KeySet.import_key_set({"keys": usable})
    except (JoseError, ValueError, TypeError) as error:
        raise ProviderUnavailableError("jwks: a key cannot be read") from error


class ProviderDirectory:
    """Discovery and keys of every configured provider (see the module docstring)."""

    def __init__(
        self,
        *,
        http: HttpClient = default_http_client,
        metadata_ttl: float = 3600.0,
        key_refetch_interval: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.http = http
        self.metadata_ttl = metadata_ttl
        self.key_refetch_interval = key_refetch_interval
        self.monotonic = monotonic
        self._cache: dict[str, _Cached] = {}

    def _cached(self, provider: OidcProvider) -> _Cached:
        return self._cache.setdefault(provider.key, _Cached())

    async def metadata(self, provider: OidcProvider) -> ProviderMetadata:
        cached = self._cached(provider)
        now = self.monotonic()
        if cached.metadata is None or now - cached.metadata_at >= self.metadata_ttl:
            url = provider.issuer.rstrip("/") + "/.well-known/openid-configuration"
            cached.metadata = _metadata(provider, await fetch_json(self.http, url, "discovery"))
            cached.metadata_at = now
        return cached.metadata

    async def _fetch_keys(self, provider: OidcProvider) -> KeySet:
        metadata = await self.metadata(provider)
        keys = _key_set(await fetch_json(self.http, metadata.jwks_uri, "jwks"))
        cached = self._cached(provider)
        cached.keys, cached.keys_at = keys, self.monotonic()
        return keys

    async def signing_key(self, provider: OidcProvider, kid: str | None, alg: str) -> SigningKey | None:
        """The provider's public key for a token's header, or None when it has no such key."""
        cached = self._cached(provider)
        keys = cached.keys
        if keys is None or self.monotonic() - cached.keys_at >= self.metadata_ttl:
            keys = await self._fetch_keys(provider)
        found = _pick(keys, kid, alg)
        if found is None:
            now = self.monotonic()
            if cached.refetched_at is None or now - cached.refetched_at >= self.key_refetch_interval:
                cached.refetched_at = now
                found = _pick(await self._fetch_keys(provider), kid, alg)
        return found


def _pick(keys: KeySet, kid: str | None, alg: str) -> SigningKey | None:
    kty = _KEY_TYPES.get(alg[:2])
    # A key that names its algorithm is used for that one only (RFC 7517 §4.4).
    candidates = [
        key
        for key in keys.keys
        if isinstance(key, RSAKey | ECKey | OKPKey) and key.key_type == kty and key.alg in (None, alg)
    ]
    if kid is not None:
        candidates = [key for key in candidates if key.kid == kid]
    elif len(candidates) != 1:
        return None  # without a key id, only an unambiguous key will do
    return candidates[0] if candidates else None
