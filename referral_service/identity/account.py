"""What signed-in users change about their own account: password and second factor.

Both need the current password again (a stolen session alone must not be enough), throttled like a
sign-in, and both end every other session and token of the user.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.audit.actions import AuditAction
from referral_service.audit.recorder import AuditOutcome, record_event
from referral_service.identity import credentials, repository, throttle, totp
from referral_service.identity.audit_actions import IdentityAuditAction
from referral_service.identity.authentication import AuditFields
from referral_service.identity.config import IdentityConfig
from referral_service.identity.errors import (
    InvalidCredentialsError,
    LoginThrottledError,
    ReauthenticationError,
    TotpCodeError,
    TotpNotPendingError,
)
from referral_service.identity.models import OrgUnit, User
from referral_service.identity.passwords import check_policy, hash_password, verify_password
from referral_service.identity.principal import Credential, Principal
from referral_service.identity.roles import Role


async def _reauthenticate(
    session: AsyncSession,
    user: User,
    password: str,
    *,
    action: AuditAction,
    principal: Principal,
    config: IdentityConfig,
    secret: bytes,
    audit: AuditFields,
) -> None:
    """Confirm the current password before a credential change. Throttled like a sign-in, so a stolen
    session cannot be used to guess the password."""
    keys = await _unless_locked(session, user, config, secret)
    if await verify_password(user.password_hash, password, config.password_hashing):
        return
    await _count_failure(session, keys, user, action, "bad_password", principal, config, audit)
    raise ReauthenticationError()


async def _unless_locked(
    session: AsyncSession, user: User, config: IdentityConfig, secret: bytes
) -> list[throttle.ThrottleKey]:
    """The user's sign-in throttle keys; LoginThrottledError while they are locked."""
    keys = [throttle.account_key(secret, user.username, config.account_throttle)]
    lock = await throttle.remaining_lock(session, keys, config.now())
    if lock is not None:
        raise LoginThrottledError(throttle.retry_after_seconds(lock))
    return keys


async def _count_failure(
    session: AsyncSession,
    keys: list[throttle.ThrottleKey],
    user: User,
    action: AuditAction,
    reason: str,
    principal: Principal,
    config: IdentityConfig,
    audit: AuditFields,
) -> None:
    """A wrong password or code: counted against the sign-in throttle and audited, committed at once
    (the caller then raises, which would roll back anything left in the transaction)."""
    for key in keys:
        await throttle.record_failure(session, key, config.now())
    await record_event(
        session,
        action=action,
        actor=principal.actor,
        outcome=AuditOutcome.FAILURE,
        target_type="user",
        target_id=str(user.id),
        details={"reason": reason},
        **audit,
    )
    await session.commit()


async def _own_user(session: AsyncSession, principal: Principal) -> User:
    user = await repository.get_user(session, principal.user_id, repository.user_visibility(None))
    if user is None:  # pragma: no cover - the guard resolved this user a moment ago
        raise InvalidCredentialsError()
    return user


@dataclass(frozen=True, slots=True)
class OwnAccount:
    """What a signed-in user sees about themselves: no secrets, only whether a second factor is set."""

    user: User
    unit: OrgUnit
    roles: frozenset[Role]

    @property
    def totp_enabled(self) -> bool:
        return self.user.totp_secret is not None


async def own_account(session: AsyncSession, principal: Principal) -> OwnAccount:
    user = await _own_user(session, principal)
    unit = await repository.get_unit(session, user.unit_id, repository.unit_visibility(None))
    if unit is None:  # pragma: no cover - a user's unit cannot be deleted
        raise InvalidCredentialsError()
    return OwnAccount(user, unit, frozenset(principal.roles))


async def change_password(
    session: AsyncSession,
    principal: Principal,
    credential: Credential,
    *,
    current_password: str,
    new_password: str,
    config: IdentityConfig,
    secret: bytes,
    audit: AuditFields,
) -> None:
    action = IdentityAuditAction.USER_CHANGE_PASSWORD
    user = await _own_user(session, principal)
    await _reauthenticate(
        session,
        user,
        current_password,
        action=action,
        principal=principal,
        config=config,
        secret=secret,
        audit=audit,
    )
    check_policy(new_password, config, username=user.username)
    now = config.now()
    user.password_hash = await hash_password(new_password, config.password_hashing)
    user.password_changed_at = now
    user.updated_at = now
    session.add(user)
    # Anyone else signed in with the old password is signed out.
    await credentials.revoke_all_for_user(session, user.id, now, keep=credential)
    await record_event(
        session, action=action, actor=principal.actor, target_type="user", target_id=str(user.id), **audit
    )


async def start_totp_enrolment(
    session: AsyncSession,
    principal: Principal,
    *,
    password: str,
    config: IdentityConfig,
    secret: bytes,
    audit: AuditFields,
) -> tuple[str, str]:
    """A new pending TOTP secret (base32, otpauth URI); it replaces the active one once confirmed."""
    action = IdentityAuditAction.TOTP_ENROL
    user = await _own_user(session, principal)
    await _reauthenticate(
        session, user, password, action=action, principal=principal, config=config, secret=secret, audit=audit
    )
    key = totp.new_secret()
    user.totp_pending_secret = totp.encrypt_secret(key, user_id=user.id, service_secret=secret, pending=True)
    session.add(user)
    await record_event(
        session,
        action=IdentityAuditAction.TOTP_ENROL_START,
        actor=principal.actor,
        target_type="user",
        target_id=str(user.id),
        **audit,
    )
    return totp.to_base32(key), totp.provisioning_uri(key, user.username, config.totp_issuer)


async def confirm_totp_enrolment(
    session: AsyncSession,
    principal: Principal,
    credential: Credential,
    *,
    code: str,
    config: IdentityConfig,
    secret: bytes,
    audit: AuditFields,
) -> None:
    user = await _own_user(session, principal)
    if user.totp_pending_secret is None:
        raise TotpNotPendingError()
    # Throttled and audited like a sign-in: a stolen session must not be able to guess its way into
    # replacing the user's second factor.
    keys = await _unless_locked(session, user, config, secret)
    key = totp.decrypt_secret(user.totp_pending_secret, user_id=user.id, service_secret=secret, pending=True)
    step = totp.matching_step(key, code, config.now(), config.totp_window_steps)
    if step is None:
        await _count_failure(
            session, keys, user, IdentityAuditAction.TOTP_ENROL, "bad_code", principal, config, audit
        )
        raise TotpCodeError()
    now = config.now()
    user.totp_secret = totp.encrypt_secret(key, user_id=user.id, service_secret=secret)
    user.totp_pending_secret = None
    user.totp_last_step = step
    user.updated_at = now
    session.add(user)
    await credentials.revoke_all_for_user(session, user.id, now, keep=credential)
    await record_event(
        session,
        action=IdentityAuditAction.TOTP_ENROL,
        actor=principal.actor,
        target_type="user",
        target_id=str(user.id),
        **audit,
    )
