"""Signing in and out: password and TOTP checks, throttling, sessions and tokens, all audited.

A refused sign-in must leave its trace even though the request fails, so the failure path records the
throttle count and the audit event, commits the caller's transaction, and only then raises. Every
refusal gives the same answer (`auth.invalid_credentials`), and an unknown username costs the same
Argon2 verification as a known one.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.audit.actions import AuditAction
from referral_service.audit.recorder import ANONYMOUS, AuditOutcome, record_event
from referral_service.identity import credentials, repository, throttle, totp
from referral_service.identity.audit_actions import IdentityAuditAction
from referral_service.identity.config import IdentityConfig
from referral_service.identity.errors import (
    InvalidCredentialsError,
    LoginThrottledError,
    WrongCredentialKindError,
)
from referral_service.identity.models import User
from referral_service.identity.passwords import hash_password, needs_rehash, verify_password
from referral_service.identity.principal import AuthMethod, Credential, Principal
from referral_service.identity.roles import Role, requires_totp

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")

AuditFields = Mapping[str, Any]


def normalise_username(username: str) -> str:
    return username.strip().lower()


@dataclass(frozen=True, slots=True)
class Authenticated:
    user: User
    principal: Principal


@dataclass(frozen=True, slots=True)
class SessionLogin:
    token: str
    csrf_token: str
    expires_at: dt.datetime
    principal: Principal


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_at: dt.datetime
    principal: Principal


def throttle_keys(
    username: str, config: IdentityConfig, secret: bytes, audit: AuditFields
) -> list[throttle.ThrottleKey]:
    """The counts a sign-in step for `username` is throttled by: the account's first, then the client's."""
    keys = [throttle.account_key(secret, username, config.account_throttle)]
    if audit.get("client_hash"):
        keys.append(throttle.client_key(audit["client_hash"], config.client_throttle))
    return keys


async def _refuse(
    session: AsyncSession,
    *,
    action: AuditAction,
    reason: str,
    user: User | None,
    keys: list[throttle.ThrottleKey],
    config: IdentityConfig,
    audit: AuditFields,
) -> InvalidCredentialsError:
    now = config.now()
    for key in keys:
        await throttle.record_failure(session, key, now)
    await record_event(
        session,
        action=action,
        actor=ANONYMOUS,
        outcome=AuditOutcome.FAILURE,
        target_type="user" if user else None,
        target_id=str(user.id) if user else None,
        details={"reason": reason},
        **audit,
    )
    await session.commit()
    return InvalidCredentialsError()


async def _second_factor_problem(
    session: AsyncSession,
    user: User,
    roles: set[Role],
    code: str | None,
    config: IdentityConfig,
    secret: bytes,
) -> str | None:
    """None when the second factor is satisfied (or not needed), else the reason for the audit log."""
    if user.totp_secret is None:
        return "totp_not_enrolled" if requires_totp(roles) else None
    if not code:
        return "totp_missing"
    return await totp_code_problem(session, user, code, config, secret)


async def totp_code_problem(
    session: AsyncSession, user: User, code: str, config: IdentityConfig, secret: bytes
) -> str | None:
    """None when `code` is the user's current one-time code and its time step was not used before (the
    step is then claimed), else the reason for the audit log. The user must have a second factor."""
    assert user.totp_secret is not None
    key = totp.decrypt_secret(user.totp_secret, user_id=user.id, service_secret=secret)
    step = totp.matching_step(key, code, config.now(), config.totp_window_steps)
    if step is None:
        return "totp_invalid"
    if not await repository.claim_totp_step(session, user.id, step):
        return "totp_replayed"
    return None


async def authenticate(
    session: AsyncSession,
    *,
    username: str,
    password: str,
    totp_code: str | None,
    method: AuthMethod,
    action: AuditAction,
    config: IdentityConfig,
    secret: bytes,
    audit: AuditFields,
) -> Authenticated:
    """Check the credentials. On failure: count, audit, commit, then raise (see module docstring)."""
    name = normalise_username(username)
    keys = throttle_keys(name, config, secret, audit)
    lock = await throttle.remaining_lock(session, keys, config.now())
    if lock is not None:
        # The password is not even checked: during a lock, right and wrong get the same answer.
        await record_event(
            session,
            action=action,
            actor=ANONYMOUS,
            outcome=AuditOutcome.FAILURE,
            details={"reason": "throttled"},
            **audit,
        )
        await session.commit()
        raise LoginThrottledError(throttle.retry_after_seconds(lock))

    user = await repository.get_user_by_username(session, name) if USERNAME_PATTERN.match(name) else None
    password_ok = await verify_password(
        user.password_hash if user else None, password, config.password_hashing
    )
    reason: str | None
    roles: set[Role] = set()
    if user is None:
        reason = "unknown_user"
    elif not password_ok:
        reason = "bad_password"
    elif not user.active:
        reason = "inactive"
    else:
        roles = await repository.roles_of(session, user.id)
        reason = "no_roles" if not roles else None
        if reason is None:
            reason = await _second_factor_problem(session, user, roles, totp_code, config, secret)
    principal = None
    if user is not None and reason is None:
        principal = await credentials.load_principal(session, user.id, method)
        reason = "inactive" if principal is None else None
    if user is None or reason is not None or principal is None:
        raise await _refuse(
            session,
            action=action,
            reason=reason or "unknown_user",
            user=user,
            keys=keys,
            config=config,
            audit=audit,
        )

    await throttle.clear(session, keys[0])  # the client key decays on its own (see ThrottlePolicy)
    if needs_rehash(user.password_hash, config.password_hashing):
        user.password_hash = await hash_password(password, config.password_hashing)
        session.add(user)
    return Authenticated(user=user, principal=principal)


async def login(
    session: AsyncSession,
    *,
    username: str,
    password: str,
    totp_code: str | None,
    config: IdentityConfig,
    secret: bytes,
    audit: AuditFields,
) -> SessionLogin:
    action = IdentityAuditAction.SESSION_LOGIN
    authenticated = await authenticate(
        session,
        username=username,
        password=password,
        totp_code=totp_code,
        method=AuthMethod.SESSION,
        action=action,
        config=config,
        secret=secret,
        audit=audit,
    )
    token, row = await credentials.create_session(session, authenticated.user.id, config)
    await record_event(
        session,
        action=action,
        actor=authenticated.principal.actor,
        target_type="session",
        target_id=str(row.id),
        details={"method": AuthMethod.SESSION},
        **audit,
    )
    return SessionLogin(token, row.csrf_token, row.expires_at, authenticated.principal)


async def issue_token(
    session: AsyncSession,
    *,
    username: str,
    password: str,
    totp_code: str | None,
    config: IdentityConfig,
    secret: bytes,
    audit: AuditFields,
) -> IssuedToken:
    action = IdentityAuditAction.TOKEN_ISSUE
    authenticated = await authenticate(
        session,
        username=username,
        password=password,
        totp_code=totp_code,
        method=AuthMethod.TOKEN,
        action=action,
        config=config,
        secret=secret,
        audit=audit,
    )
    token, row = await credentials.create_api_token(session, authenticated.user.id, config)
    await record_event(
        session,
        action=action,
        actor=authenticated.principal.actor,
        target_type="api_token",
        target_id=str(row.id),
        **audit,
    )
    return IssuedToken(token, row.expires_at, authenticated.principal)


async def logout(
    session: AsyncSession,
    principal: Principal,
    credential: Credential,
    config: IdentityConfig,
    audit: AuditFields,
) -> None:
    """End the credential the request came with (session or token)."""
    if credential.method is AuthMethod.CLIENT:
        raise WrongCredentialKindError(
            "This credential is a token of the identity provider; it ends at the provider, not here."
        )
    await credentials.revoke(session, credential, config.now())
    is_session = credential.method is AuthMethod.SESSION
    await record_event(
        session,
        action=IdentityAuditAction.SESSION_LOGOUT if is_session else IdentityAuditAction.TOKEN_REVOKE,
        actor=principal.actor,
        target_type="session" if is_session else "api_token",
        target_id=str(credential.id),
        **audit,
    )


async def revoke_token(
    session: AsyncSession,
    principal: Principal,
    credential: Credential,
    config: IdentityConfig,
    audit: AuditFields,
) -> None:
    if credential.method is AuthMethod.SESSION:
        raise WrongCredentialKindError("Only a bearer token can revoke itself; sign out to end a session.")
    await logout(session, principal, credential, config, audit)
