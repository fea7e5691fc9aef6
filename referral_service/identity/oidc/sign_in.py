"""Signing in through an OpenID provider (authorization-code flow with PKCE), and the provider's logout.

`start` stores the attempt (state as SHA-256, nonce, PKCE verifier) and builds the authorization URL;
the browser also keeps the state in a cookie, so a sign-in started in one browser cannot be completed
in another (login CSRF). `claim` consumes the attempt at the callback (one use), `exchange` redeems the
code at the provider outside any database transaction, `complete` checks the ID token and maps its
claims. Every refusal is audited (one word of reason, never a claim), committed, then raised as
`SignInRefusedError`; the person sees one generic message whatever the reason.

Roles that need a second factor take the provider's proof (configured acr/amr values) or the user's
local one-time code (stage "totp", `confirm_totp`); without either the sign-in is refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import uuid
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.deprecate import AuthlibDeprecationWarning
from sqlalchemy import delete, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.audit.recorder import ANONYMOUS, SYSTEM, AuditOutcome, record_event
from referral_service.identity import credentials, repository, throttle
from referral_service.identity.audit_actions import IdentityAuditAction
from referral_service.identity.authentication import SessionLogin, throttle_keys, totp_code_problem
from referral_service.identity.config import IdentityConfig
from referral_service.identity.errors import LoginThrottledError
from referral_service.identity.models import AuthSession, User
from referral_service.identity.oidc import provisioning
from referral_service.identity.oidc.config import OidcProvider, Provisioning
from referral_service.identity.oidc.mapping import ClaimsRefusedError, map_claims
from referral_service.identity.oidc.metadata import HTTP_TIMEOUT, ProviderDirectory, ProviderUnavailableError
from referral_service.identity.oidc.models import OidcSignIn
from referral_service.identity.oidc.tokens import TokenRefusedError, validate_id_token, validate_logout_token
from referral_service.identity.principal import AuthMethod
from referral_service.identity.roles import Role, requires_totp
from referral_service.problems import DomainError, ErrorKind

with warnings.catch_warnings():
    # Authlib nudges towards the `httpx2` fork; this service uses httpx, which Authlib still supports.
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.base_client.errors import OAuthError
    from authlib.integrations.httpx_client import AsyncOAuth2Client

AuditFields = Mapping[str, Any]

ATTEMPT_LIFETIME = dt.timedelta(minutes=10)
STATE_COOKIE = "__Host-rs_oidc"
CALLBACK_PATH = "/anmelden/mit/{key}/zurueck"
STAGE_STARTED, STAGE_TOTP, STAGE_DONE = "started", "totp", "done"


class SignInRefusedError(Exception):
    """The sign-in failed; `reason` is the one word the audit log got."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class LogoutTokenRefusedError(DomainError):
    code = "auth.oidc.logout_token"
    kind = ErrorKind.MALFORMED
    title = "The logout token is not valid"


class UnknownProviderError(DomainError):
    code = "auth.oidc.unknown_provider"
    kind = ErrorKind.NOT_FOUND
    title = "No identity provider of that name is configured"


class ProviderUnreachableError(DomainError):
    code = "auth.oidc.provider_unavailable"
    kind = ErrorKind.UNAVAILABLE
    title = "The identity provider cannot be reached"


def state_hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def redirect_uri(base_url: str, provider: OidcProvider) -> str:
    return base_url.rstrip("/") + CALLBACK_PATH.format(key=provider.key)


def _oauth_client(provider: OidcProvider, uri: str) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=provider.client_id,
        client_secret=provider.client_secret,
        token_endpoint_auth_method="client_secret_basic",  # noqa: S106 - a method name
        scope=" ".join(provider.scopes),
        redirect_uri=uri,
        code_challenge_method="S256",
        timeout=HTTP_TIMEOUT,
        follow_redirects=False,
    )


@dataclass(frozen=True, slots=True)
class Started:
    authorization_url: str
    state: str  # for the browser's cookie; the database keeps only its hash


async def start(
    session: AsyncSession,
    provider: OidcProvider,
    directory: ProviderDirectory,
    *,
    base_url: str,
    next_path: str,
    config: IdentityConfig,
) -> Started:
    """Raises `ProviderUnavailableError` when the provider's discovery document cannot be fetched."""
    metadata = await directory.metadata(provider)
    state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(64)
    async with _oauth_client(provider, redirect_uri(base_url, provider)) as client:
        url, _ = client.create_authorization_url(
            metadata.authorization_endpoint, state=state, code_verifier=verifier, nonce=nonce
        )
    now = config.now()
    # Expired attempts are worth nothing: each start clears them away (indexed, usually none).
    await session.exec(delete(OidcSignIn).where(col(OidcSignIn.expires_at) <= now))
    session.add(
        OidcSignIn(
            state_hash=state_hash(state),
            provider=provider.key,
            nonce=nonce,
            code_verifier=verifier,
            next_path=next_path,
            created_at=now,
            expires_at=now + ATTEMPT_LIFETIME,
        )
    )
    return Started(url, state)


async def refuse(
    session: AsyncSession,
    provider: OidcProvider,
    reason: str,
    *,
    audit: AuditFields,
    user: User | None = None,
) -> SignInRefusedError:
    """Audit the refusal and commit it (the request fails afterwards), then return the error to raise."""
    await record_event(
        session,
        action=IdentityAuditAction.OIDC_LOGIN,
        actor=ANONYMOUS,
        outcome=AuditOutcome.FAILURE,
        target_type="user" if user is not None else None,
        target_id=str(user.id) if user is not None else None,
        details={"provider": provider.key, "reason": reason},
        **audit,
    )
    await session.commit()
    return SignInRefusedError(reason)


async def claim(
    session: AsyncSession,
    provider: OidcProvider,
    *,
    state: str | None,
    cookie_state: str | None,
    config: IdentityConfig,
    audit: AuditFields,
) -> OidcSignIn:
    """The started attempt the callback belongs to, consumed and committed (a replayed callback finds it
    used). Unknown, used or expired state, or one that is not this browser's, is refused."""
    now = config.now()
    same_browser = bool(state and cookie_state) and hmac.compare_digest(
        (state or "").encode(), (cookie_state or "").encode()
    )
    attempt = None
    if same_browser and state is not None and len(state) <= 128:
        found = await session.exec(select(OidcSignIn).where(OidcSignIn.state_hash == state_hash(state)))
        attempt = found.one_or_none()
    if attempt is None or attempt.provider != provider.key or attempt.expires_at <= now:
        raise await refuse(session, provider, "state", audit=audit)
    consumed = await session.exec(
        update(OidcSignIn)
        .where(
            col(OidcSignIn.id) == attempt.id,
            col(OidcSignIn.used_at).is_(None),
            col(OidcSignIn.stage) == STAGE_STARTED,
        )
        .values(used_at=now)
    )
    if consumed.rowcount != 1:
        raise await refuse(session, provider, "state", audit=audit)
    await session.commit()
    return attempt


async def exchange(
    provider: OidcProvider, directory: ProviderDirectory, attempt: OidcSignIn, *, code: str, base_url: str
) -> Mapping[str, Any]:
    """The token response for the authorization code. Raises `ProviderUnavailableError` when the provider
    cannot be reached, `TokenRefusedError("token_exchange")` when it refuses the code."""
    metadata = await directory.metadata(provider)
    try:
        async with _oauth_client(provider, redirect_uri(base_url, provider)) as client:
            token = await client.fetch_token(
                metadata.token_endpoint,
                grant_type="authorization_code",
                code=code,
                code_verifier=attempt.code_verifier,
            )
    except httpx.HTTPError as error:
        raise ProviderUnavailableError("token: not reachable") from error
    except (OAuthError, ValueError) as error:
        raise TokenRefusedError("token_exchange") from error
    return dict(token)


@dataclass(frozen=True, slots=True)
class SignedIn:
    login: SessionLogin
    next_path: str


@dataclass(frozen=True, slots=True)
class AwaitingTotp:
    """The provider signed the person in, but their roles need the local one-time code as well."""


def _roles_text(roles: frozenset[Role]) -> str:
    return ",".join(sorted(roles))


async def complete(
    session: AsyncSession,
    attempt: OidcSignIn,
    token_response: Mapping[str, Any],
    *,
    provider: OidcProvider,
    directory: ProviderDirectory,
    config: IdentityConfig,
    secret: bytes,
    audit: AuditFields,
) -> SignedIn | AwaitingTotp:
    """Check the ID token, find or create the user, apply the claims, then open the session (or wait for
    the one-time code). Every check comes before the first write: a refusal leaves no half-done user.
    `ProviderUnavailableError` (keys not fetchable) passes through for the caller to audit and answer."""
    id_token = token_response.get("id_token")
    try:
        if not isinstance(id_token, str):
            raise TokenRefusedError("malformed")
        claims = await validate_id_token(id_token, provider, directory, nonce=attempt.nonce, now=config.now())
        mapped = await map_claims(session, provider, claims)
    except (TokenRefusedError, ClaimsRefusedError) as error:
        raise await refuse(session, provider, error.reason, audit=audit) from error
    hashed_subject = provisioning.subject_hash(secret, provider.key, claims["sub"])
    user = await provisioning.bound_user(session, provider.key, hashed_subject)
    if user is None and provider.provisioning is Provisioning.BIND:
        raise await refuse(session, provider, "not_bound", audit=audit)
    if user is not None and not user.active:
        raise await refuse(session, provider, "inactive", audit=audit, user=user)
    provider_proof = provider.proves_second_factor(claims)
    needs_code = requires_totp(mapped.roles) and not provider_proof
    if needs_code and (user is None or user.totp_secret is None):
        raise await refuse(session, provider, "second_factor", audit=audit, user=user)

    if user is None:
        user = await provisioning.create_user(
            session, provider, claims, mapped, hashed_subject, config=config, audit=audit
        )
    else:
        await provisioning.apply_claims(session, user, provider, mapped, config=config, audit=audit)
    sid = claims.get("sid")
    sid_hash = provisioning.session_id_hash(secret, provider.key, sid) if isinstance(sid, str) else None
    if needs_code:
        attempt.stage, attempt.user_id, attempt.unit_id = STAGE_TOTP, user.id, mapped.unit.id
        attempt.roles = _roles_text(mapped.roles)
        attempt.subject_hash, attempt.sid_hash = hashed_subject, sid_hash
        attempt.expires_at = config.now() + ATTEMPT_LIFETIME
        session.add(attempt)
        return AwaitingTotp()
    second_factor = "provider" if provider_proof else "none"
    login = await _open_session(
        session, user, provider, hashed_subject, sid_hash, second_factor, config=config, audit=audit
    )
    return SignedIn(login, attempt.next_path)


async def _open_session(
    session: AsyncSession,
    user: User,
    provider: OidcProvider,
    hashed_subject: str,
    sid_hash: str | None,
    second_factor: str,
    *,
    config: IdentityConfig,
    audit: AuditFields,
) -> SessionLogin:
    principal = await credentials.load_principal(session, user.id, AuthMethod.SESSION)
    if principal is None:
        raise await refuse(session, provider, "inactive", audit=audit, user=user)
    token, row = await credentials.create_session(session, user.id, config)
    row.oidc_provider, row.oidc_subject_hash, row.oidc_sid_hash = provider.key, hashed_subject, sid_hash
    session.add(row)
    await record_event(
        session,
        action=IdentityAuditAction.OIDC_LOGIN,
        actor=principal.actor,
        target_type="session",
        target_id=str(row.id),
        details={"provider": provider.key, "method": AuthMethod.SESSION, "second_factor": second_factor},
        **audit,
    )
    return SessionLogin(token, row.csrf_token, row.expires_at, principal)


async def waiting_for_totp(
    session: AsyncSession, state: str | None, config: IdentityConfig
) -> OidcSignIn | None:
    """The attempt at stage "totp" this browser's state cookie names, while it is valid."""
    if not state or len(state) > 128:
        return None
    found = await session.exec(
        select(OidcSignIn).where(OidcSignIn.state_hash == state_hash(state), OidcSignIn.stage == STAGE_TOTP)
    )
    attempt = found.one_or_none()
    return attempt if attempt is not None and attempt.expires_at > config.now() else None


async def confirm_totp(
    session: AsyncSession,
    attempt: OidcSignIn,
    provider: OidcProvider,
    code: str,
    *,
    config: IdentityConfig,
    secret: bytes,
    audit: AuditFields,
) -> SignedIn:
    """The local one-time code after the provider's sign-in; throttled like the local sign-in (same
    per-account and per-client counts). A wrong code leaves the attempt waiting for another try."""
    user = None
    if attempt.user_id is not None:
        user = await repository.get_user(session, attempt.user_id, repository.user_visibility(None))
    if user is None or not user.active or user.totp_secret is None:
        raise await refuse(session, provider, "inactive", audit=audit, user=user)
    keys = throttle_keys(user.username, config, secret, audit)
    lock = await throttle.remaining_lock(session, keys, config.now())
    if lock is not None:
        await refuse(session, provider, "throttled", audit=audit, user=user)
        raise LoginThrottledError(throttle.retry_after_seconds(lock))
    reason = await totp_code_problem(session, user, code, config, secret)
    if reason is not None:
        for throttle_key in keys:
            await throttle.record_failure(session, throttle_key, config.now())
        raise await refuse(session, provider, reason, audit=audit, user=user)
    finished = await session.exec(
        update(OidcSignIn)
        .where(col(OidcSignIn.id) == attempt.id, col(OidcSignIn.stage) == STAGE_TOTP)
        .values(stage=STAGE_DONE)
    )
    if finished.rowcount != 1:
        raise await refuse(session, provider, "state", audit=audit, user=user)
    await throttle.clear(session, keys[0])
    assert attempt.subject_hash is not None  # stage "totp" always has it
    login = await _open_session(
        session, user, provider, attempt.subject_hash, attempt.sid_hash, "totp", config=config, audit=audit
    )
    return SignedIn(login, attempt.next_path)


async def end_session_url(
    provider: OidcProvider, directory: ProviderDirectory, *, post_logout_redirect_uri: str
) -> str | None:
    """Where the browser ends its session at the provider (RP-initiated logout), or None when the provider
    offers no end-session endpoint or cannot be reached (the local session is ended anyway). No
    `id_token_hint`: this service does not keep ID tokens."""
    try:
        metadata = await directory.metadata(provider)
    except ProviderUnavailableError:
        return None
    if metadata.end_session_endpoint is None:
        return None
    query = urlencode(
        {
            "client_id": provider.client_id,
            "post_logout_redirect_uri": post_logout_redirect_uri,
            "state": secrets.token_urlsafe(16),
        }
    )
    separator = "&" if "?" in metadata.end_session_endpoint else "?"
    return metadata.end_session_endpoint + separator + query


async def provider_of_session(session: AsyncSession, session_id: uuid.UUID) -> str | None:
    row = await credentials.get_session(session, session_id)
    return row.oidc_provider if row is not None else None


async def backchannel_logout(
    session: AsyncSession,
    provider: OidcProvider,
    directory: ProviderDirectory,
    logout_token: str,
    *,
    config: IdentityConfig,
    secret: bytes,
    audit: AuditFields,
) -> int:
    """End the local sessions the provider's logout token names (its `sid`, else its subject); returns
    how many. A bad token is audited, committed and refused (`LogoutTokenRefusedError`)."""
    try:
        claims = await validate_logout_token(logout_token, provider, directory, now=config.now())
    except TokenRefusedError as error:
        await record_event(
            session,
            action=IdentityAuditAction.OIDC_LOGOUT,
            actor=ANONYMOUS,
            outcome=AuditOutcome.FAILURE,
            details={"provider": provider.key, "reason": error.reason},
            **audit,
        )
        await session.commit()
        raise LogoutTokenRefusedError() from error
    except ProviderUnavailableError as error:
        raise ProviderUnreachableError() from error
    conditions = [col(AuthSession.oidc_provider) == provider.key, col(AuthSession.revoked_at).is_(None)]
    if claims.session_id is not None:
        sid_hash = provisioning.session_id_hash(secret, provider.key, claims.session_id)
        conditions.append(col(AuthSession.oidc_sid_hash) == sid_hash)
    if claims.subject is not None:
        hashed_subject = provisioning.subject_hash(secret, provider.key, claims.subject)
        conditions.append(col(AuthSession.oidc_subject_hash) == hashed_subject)
    result = await session.exec(update(AuthSession).where(*conditions).values(revoked_at=config.now()))
    ended = int(result.rowcount or 0)
    await record_event(
        session,
        action=IdentityAuditAction.OIDC_LOGOUT,
        actor=SYSTEM,
        details={"provider": provider.key, "sessions": ended},
        **audit,
    )
    return ended
