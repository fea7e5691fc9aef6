"""Who a provider's subject is here: a bound user, a user created at the first sign-in (`jit`), and the
unit and roles the provider's claims give at every sign-in.

The subject is stored only as an HMAC under the service's secret key. A provider user is never matched
to an existing local account by username or e-mail: whoever controls a provider account could otherwise
take over a local one. Users created here get an unusable password hash, so only the provider signs
them in.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import update
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.audit.recorder import SYSTEM, Actor, record_event
from referral_service.identity import repository, service
from referral_service.identity.audit_actions import IdentityAuditAction
from referral_service.identity.config import IdentityConfig
from referral_service.identity.models import AuthSession, User
from referral_service.identity.oidc.config import OidcProvider
from referral_service.identity.oidc.mapping import Mapped
from referral_service.identity.oidc.models import ExternalIdentity
from referral_service.problems import DomainError, ErrorKind

AuditFields = Mapping[str, Any]

# Not an Argon2 hash: verification fails for every password (passwords.py treats it as invalid).
UNUSABLE_PASSWORD = "!oidc"  # noqa: S105 - a marker, not a password
_NOT_IN_USERNAME = re.compile(r"[^a-z0-9._-]+")


def _keyed(secret: bytes, purpose: str, provider_key: str, value: str) -> str:
    message = "\x00".join((purpose, provider_key, value)).encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def subject_hash(secret: bytes, provider_key: str, subject: str) -> str:
    return _keyed(secret, "oidc-subject", provider_key, subject)


def session_id_hash(secret: bytes, provider_key: str, sid: str) -> str:
    return _keyed(secret, "oidc-sid", provider_key, sid)


async def bound_user(session: AsyncSession, provider_key: str, hashed_subject: str) -> User | None:
    stmt = (
        select(User)
        .join(ExternalIdentity, col(ExternalIdentity.user_id) == col(User.id))
        .where(ExternalIdentity.provider == provider_key, ExternalIdentity.subject_hash == hashed_subject)
    )
    return (await session.exec(stmt)).one_or_none()


async def bind(
    session: AsyncSession,
    user: User,
    provider_key: str,
    hashed_subject: str,
    *,
    config: IdentityConfig,
    audit: AuditFields,
    actor: Actor = SYSTEM,
) -> None:
    """Bind `user` to the provider's subject (replacing the user's earlier binding to that provider)."""
    await session.exec(
        delete(ExternalIdentity).where(
            col(ExternalIdentity.provider) == provider_key, col(ExternalIdentity.user_id) == user.id
        )
    )
    session.add(
        ExternalIdentity(
            provider=provider_key, subject_hash=hashed_subject, user_id=user.id, created_at=config.now()
        )
    )
    await session.flush()
    await record_event(
        session,
        action=IdentityAuditAction.OIDC_BIND,
        actor=actor,
        target_type="user",
        target_id=str(user.id),
        details={"provider": provider_key},
        **audit,
    )


async def unbind(session: AsyncSession, user: User, provider_key: str, *, audit: AuditFields) -> bool:
    """Remove the user's binding to the provider; False when there was none."""
    result = await session.exec(
        delete(ExternalIdentity).where(
            col(ExternalIdentity.provider) == provider_key, col(ExternalIdentity.user_id) == user.id
        )
    )
    if not result.rowcount:
        return False
    await record_event(
        session,
        action=IdentityAuditAction.OIDC_UNBIND,
        actor=SYSTEM,
        target_type="user",
        target_id=str(user.id),
        details={"provider": provider_key},
        **audit,
    )
    return True


async def _free_username(session: AsyncSession, provider_key: str, claimed: Any) -> str:
    text = claimed.strip().lower() if isinstance(claimed, str) else ""
    local = _NOT_IN_USERNAME.sub("-", text).strip("-._")
    base = f"{provider_key}.{local or 'user'}"[:60]
    name, number = base, 1
    while await repository.get_user_by_username(session, name) is not None:
        number += 1
        name = f"{base[: 63 - len(str(number))]}-{number}"
    return name


async def create_user(
    session: AsyncSession,
    provider: OidcProvider,
    claims: Mapping[str, Any],
    mapped: Mapped,
    hashed_subject: str,
    *,
    config: IdentityConfig,
    audit: AuditFields,
) -> User:
    """Just-in-time provisioning: the user as the claims describe them, bound to the subject."""
    now = config.now()
    username = await _free_username(session, provider.key, claims.get(provider.username_claim))
    name = claims.get(provider.display_name_claim)
    user = User(
        username=username,
        display_name=name.strip()[:120] if isinstance(name, str) and name.strip() else username,
        unit_id=mapped.unit.id,
        password_hash=UNUSABLE_PASSWORD,
        password_changed_at=now,
        created_at=now,
        updated_at=now,
    )
    await repository.add(session, user)
    for role in sorted(mapped.roles):
        await repository.add_role(session, user.id, role, now)
    await record_event(
        session,
        action=IdentityAuditAction.USER_CREATE,
        actor=SYSTEM,
        target_type="user",
        target_id=str(user.id),
        details={
            "unit_id": str(mapped.unit.id),
            "roles": sorted(mapped.roles),
            "totp": False,
            "provider": provider.key,
        },
        **audit,
    )
    await bind(session, user, provider.key, hashed_subject, config=config, audit=audit)
    return user


async def apply_claims(
    session: AsyncSession,
    user: User,
    provider: OidcProvider,
    mapped: Mapped,
    *,
    config: IdentityConfig,
    audit: AuditFields,
) -> None:
    """Make the user's unit and roles what the provider says now: a group removed there is a role gone."""
    now = config.now()
    target: dict[str, Any] = {"target_type": "user", "target_id": str(user.id)}
    if user.unit_id != mapped.unit.id:
        user.unit_id = mapped.unit.id
        user.updated_at = now
        session.add(user)
        await record_event(
            session,
            action=IdentityAuditAction.USER_UPDATE,
            actor=SYSTEM,
            details={"fields": ["unit_id"], "provider": provider.key},
            **target,
            **audit,
        )
    held = await repository.roles_of(session, user.id)
    for role in sorted(held - mapped.roles):
        await repository.remove_role(session, user.id, role)
        await record_event(
            session,
            action=IdentityAuditAction.ROLE_REVOKE,
            actor=SYSTEM,
            details={"role": role, "provider": provider.key},
            **target,
            **audit,
        )
    for role in sorted(mapped.roles - held):
        await repository.add_role(session, user.id, role, now)
        await record_event(
            session,
            action=IdentityAuditAction.ROLE_GRANT,
            actor=SYSTEM,
            details={"role": role, "provider": provider.key, "totp": False},
            **target,
            **audit,
        )


class SubjectTakenError(DomainError):
    code = "identity.oidc.subject_taken"
    kind = ErrorKind.CONFLICT
    title = "This subject of the provider is already bound to another user"


class NotBoundError(DomainError):
    code = "identity.oidc.not_bound"
    kind = ErrorKind.NOT_FOUND
    title = "The user is not bound to this provider"


async def bind_username(
    session: AsyncSession,
    username: str,
    provider: OidcProvider,
    subject: str,
    *,
    config: IdentityConfig,
    secret: bytes,
    audit: AuditFields,
) -> User:
    """An administrator binds a pre-created user to the provider's subject (`bind` provisioning)."""
    user = (await service.get_user_by_username(session, username)).user
    hashed = subject_hash(secret, provider.key, subject)
    holder = await bound_user(session, provider.key, hashed)
    if holder is not None and holder.id != user.id:
        raise SubjectTakenError()
    await bind(session, user, provider.key, hashed, config=config, audit=audit)
    return user


async def unbind_username(
    session: AsyncSession, username: str, provider_key: str, *, config: IdentityConfig, audit: AuditFields
) -> User:
    user = (await service.get_user_by_username(session, username)).user
    if not await unbind(session, user, provider_key, audit=audit):
        raise NotBoundError()
    # A provider session of the user must not outlive the binding it came from.
    await session.exec(
        update(AuthSession)
        .where(
            col(AuthSession.user_id) == user.id,
            col(AuthSession.oidc_provider) == provider_key,
            col(AuthSession.revoked_at).is_(None),
        )
        .values(revoked_at=config.now())
    )
    return user
