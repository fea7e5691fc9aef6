"""Administration of the staff directory: organisation units, users and roles. Every change is audited.

`principal` is the acting administrator, or None for the system itself (CLI, demo seeding), whose
actions are audited with the SYSTEM actor. What a principal may do at all is the route's permission;
which records they may touch is the visibility filter; the rules below (unit kinds, role families,
no self-administration) hold for everyone.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.audit.recorder import SYSTEM, Actor, record_event
from referral_service.identity import credentials, repository, throttle, totp
from referral_service.identity.audit_actions import IdentityAuditAction
from referral_service.identity.authentication import USERNAME_PATTERN, normalise_username
from referral_service.identity.config import IdentityConfig
from referral_service.identity.errors import (
    InvalidParentError,
    InvalidUnitCodeError,
    InvalidUsernameError,
    LastRoleError,
    RoleConflictError,
    RoleNotHeldError,
    RoleUnitMismatchError,
    SelfAdministrationError,
    UnitCodeTakenError,
    UnitNotFoundError,
    UsernameTakenError,
    UserNotFoundError,
)
from referral_service.identity.models import OrgUnit, User
from referral_service.identity.passwords import check_policy, hash_password
from referral_service.identity.principal import Principal
from referral_service.identity.roles import (
    ROLE_UNIT_KINDS,
    UNIT_PARENT_KINDS,
    Role,
    UnitKind,
    requires_totp,
    role_conflicts,
)

UNIT_CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,31}$")

AuditFields = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class UserView:
    user: User
    roles: frozenset[Role]
    # A TOTP secret provisioned by this change, to be shown once (base32), else None.
    new_totp_secret: bytes | None = None


def _actor(principal: Principal | None) -> Actor:
    return principal.actor if principal is not None else SYSTEM


# Units


async def get_unit(session: AsyncSession, principal: Principal | None, unit_id: uuid.UUID) -> OrgUnit:
    unit = await repository.get_unit(session, unit_id, repository.unit_visibility(principal))
    if unit is None:
        raise UnitNotFoundError()
    return unit


async def list_units(
    session: AsyncSession, principal: Principal | None, *, kind: UnitKind | None = None
) -> Sequence[OrgUnit]:
    return await repository.list_units(session, repository.unit_visibility(principal), kind=kind)


async def create_unit(
    session: AsyncSession,
    principal: Principal | None,
    *,
    code: str,
    name: str,
    kind: UnitKind,
    parent_id: uuid.UUID | None,
    config: IdentityConfig,
    audit: AuditFields,
) -> OrgUnit:
    if not UNIT_CODE_PATTERN.match(code):
        raise InvalidUnitCodeError()
    parent = await get_unit(session, principal, parent_id) if parent_id is not None else None
    parent_kind = UnitKind(parent.kind) if parent is not None else None
    if parent_kind not in UNIT_PARENT_KINDS[kind]:
        raise InvalidParentError()
    path = (parent.path if parent is not None else "/") + code + "/"
    if await repository.code_or_path_taken(session, code, path):
        raise UnitCodeTakenError()
    now = config.now()
    unit = OrgUnit(
        code=code,
        name=name.strip(),
        kind=kind.value,
        parent_id=parent_id,
        path=path,
        created_at=now,
        updated_at=now,
    )
    await repository.add(session, unit)
    await record_event(
        session,
        action=IdentityAuditAction.UNIT_CREATE,
        actor=_actor(principal),
        target_type="org_unit",
        target_id=str(unit.id),
        details={"code": code, "kind": kind, "parent_id": str(parent_id) if parent_id else None},
        **audit,
    )
    return unit


async def rename_unit(
    session: AsyncSession,
    principal: Principal | None,
    unit_id: uuid.UUID,
    name: str,
    *,
    config: IdentityConfig,
    audit: AuditFields,
) -> OrgUnit:
    """Change a unit's display name. Its code and path stay: they are what other records refer to."""
    unit = await get_unit(session, principal, unit_id)
    unit.name = name.strip()
    unit.updated_at = config.now()
    session.add(unit)
    await record_event(
        session,
        action=IdentityAuditAction.UNIT_UPDATE,
        actor=_actor(principal),
        target_type="org_unit",
        target_id=str(unit_id),
        details={"fields": ["name"]},
        **audit,
    )
    return unit


# Users


def check_roles(roles: Iterable[Role], unit: OrgUnit) -> None:
    roles = set(roles)
    for role in roles:
        if UnitKind(unit.kind) not in ROLE_UNIT_KINDS[role]:
            raise RoleUnitMismatchError(
                f"The role {role.value} cannot be held in a unit of kind {unit.kind}."
            )
    if role_conflicts(roles):
        raise RoleConflictError(
            "A user's roles must all come from one area (police, WEISSER RING, complaints office), "
            "and administrators and auditors hold no other role."
        )


def _not_self(principal: Principal | None, user_id: uuid.UUID) -> None:
    if principal is not None and principal.user_id == user_id:
        raise SelfAdministrationError()


async def get_user(session: AsyncSession, principal: Principal | None, user_id: uuid.UUID) -> UserView:
    user = await repository.get_user(session, user_id, repository.user_visibility(principal))
    if user is None:
        raise UserNotFoundError()
    return UserView(user, frozenset(await repository.roles_of(session, user.id)))


async def get_user_by_username(session: AsyncSession, username: str) -> UserView:
    """System use (CLI): look a user up by name."""
    user = await repository.get_user_by_username(session, normalise_username(username))
    if user is None:
        raise UserNotFoundError()
    return UserView(user, frozenset(await repository.roles_of(session, user.id)))


async def list_users(
    session: AsyncSession,
    principal: Principal | None,
    *,
    unit_id: uuid.UUID | None = None,
    active: bool | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[UserView]:
    users = await repository.list_users(
        session,
        repository.user_visibility(principal),
        unit_id=unit_id,
        active=active,
        limit=limit,
        offset=offset,
    )
    roles = await repository.roles_of_many(session, [user.id for user in users])
    return [UserView(user, frozenset(roles.get(user.id, set()))) for user in users]


def _provision_totp(user: User, secret: bytes) -> bytes:
    key = totp.new_secret()
    user.totp_secret = totp.encrypt_secret(key, user_id=user.id, service_secret=secret)
    user.totp_pending_secret = None
    user.totp_last_step = None
    return key


async def create_user(
    session: AsyncSession,
    principal: Principal | None,
    *,
    username: str,
    display_name: str,
    unit_id: uuid.UUID,
    roles: Iterable[Role],
    password: str,
    config: IdentityConfig,
    secret: bytes,
    audit: AuditFields,
    totp_secret: bytes | None = None,
) -> UserView:
    """Create a user. Roles that require a second factor get a TOTP secret (`totp_secret` if given,
    else a new random one), returned once in the view."""
    name = normalise_username(username)
    if not USERNAME_PATTERN.match(name):
        raise InvalidUsernameError()
    role_set = frozenset(roles)
    if not role_set:
        raise RoleConflictError("A user needs at least one role.")
    unit = await get_unit(session, principal, unit_id)
    check_roles(role_set, unit)
    check_policy(password, config, username=name)
    if await repository.get_user_by_username(session, name) is not None:
        raise UsernameTakenError()
    now = config.now()
    user = User(
        username=name,
        display_name=display_name.strip(),
        unit_id=unit.id,
        password_hash=await hash_password(password, config.password_hashing),
        password_changed_at=now,
        created_at=now,
        updated_at=now,
    )
    new_secret: bytes | None = None
    if requires_totp(role_set):
        if totp_secret is not None:
            user.totp_secret = totp.encrypt_secret(totp_secret, user_id=user.id, service_secret=secret)
            new_secret = totp_secret
        else:
            new_secret = _provision_totp(user, secret)
    await repository.add(session, user)
    for role in sorted(role_set):
        await repository.add_role(session, user.id, role, now)
    await record_event(
        session,
        action=IdentityAuditAction.USER_CREATE,
        actor=_actor(principal),
        target_type="user",
        target_id=str(user.id),
        details={"unit_id": str(unit.id), "roles": sorted(role_set), "totp": new_secret is not None},
        **audit,
    )
    return UserView(user, role_set, new_secret)


async def set_active(
    session: AsyncSession,
    principal: Principal | None,
    user_id: uuid.UUID,
    active: bool,
    *,
    config: IdentityConfig,
    audit: AuditFields,
) -> UserView:
    view = await get_user(session, principal, user_id)
    _not_self(principal, user_id)
    if view.user.active == active:
        return view
    now = config.now()
    view.user.active = active
    view.user.updated_at = now
    session.add(view.user)
    if not active:
        # A disabled account is signed out everywhere at once, not when its sessions time out.
        await credentials.revoke_all_for_user(session, user_id, now)
    await record_event(
        session,
        action=IdentityAuditAction.USER_ENABLE if active else IdentityAuditAction.USER_DISABLE,
        actor=_actor(principal),
        target_type="user",
        target_id=str(user_id),
        **audit,
    )
    return view


async def rename(
    session: AsyncSession,
    principal: Principal | None,
    user_id: uuid.UUID,
    display_name: str,
    *,
    config: IdentityConfig,
    audit: AuditFields,
) -> UserView:
    view = await get_user(session, principal, user_id)
    view.user.display_name = display_name.strip()
    view.user.updated_at = config.now()
    session.add(view.user)
    await record_event(
        session,
        action=IdentityAuditAction.USER_UPDATE,
        actor=_actor(principal),
        target_type="user",
        target_id=str(user_id),
        details={"fields": ["display_name"]},
        **audit,
    )
    return view


async def grant_role(
    session: AsyncSession,
    principal: Principal | None,
    user_id: uuid.UUID,
    role: Role,
    *,
    config: IdentityConfig,
    secret: bytes,
    audit: AuditFields,
) -> UserView:
    view = await get_user(session, principal, user_id)
    _not_self(principal, user_id)
    if role in view.roles:
        return view
    unit = await get_unit(session, None, view.user.unit_id)
    roles = view.roles | {role}
    check_roles(roles, unit)
    new_secret = None
    if requires_totp(roles) and view.user.totp_secret is None:
        new_secret = _provision_totp(view.user, secret)
        session.add(view.user)
    await repository.add_role(session, user_id, role, config.now())
    await record_event(
        session,
        action=IdentityAuditAction.ROLE_GRANT,
        actor=_actor(principal),
        target_type="user",
        target_id=str(user_id),
        details={"role": role, "totp": new_secret is not None},
        **audit,
    )
    return UserView(view.user, roles, new_secret)


async def revoke_role(
    session: AsyncSession,
    principal: Principal | None,
    user_id: uuid.UUID,
    role: Role,
    *,
    audit: AuditFields,
) -> UserView:
    view = await get_user(session, principal, user_id)
    _not_self(principal, user_id)
    if role not in view.roles:
        raise RoleNotHeldError()
    if view.roles == {role}:
        raise LastRoleError()
    await repository.remove_role(session, user_id, role)
    await record_event(
        session,
        action=IdentityAuditAction.ROLE_REVOKE,
        actor=_actor(principal),
        target_type="user",
        target_id=str(user_id),
        details={"role": role},
        **audit,
    )
    return UserView(view.user, view.roles - {role})


async def reset_password(
    session: AsyncSession,
    principal: Principal | None,
    user_id: uuid.UUID,
    password: str,
    *,
    reset_totp: bool,
    config: IdentityConfig,
    secret: bytes,
    audit: AuditFields,
) -> UserView:
    """Set a new password (and optionally a new second factor); signs the user out everywhere."""
    view = await get_user(session, principal, user_id)
    _not_self(principal, user_id)  # one's own password is changed with the current one (/auth/password)
    check_policy(password, config, username=view.user.username)
    now = config.now()
    view.user.password_hash = await hash_password(password, config.password_hashing)
    view.user.password_changed_at = now
    view.user.updated_at = now
    new_secret = None
    if reset_totp:
        if requires_totp(view.roles):
            new_secret = _provision_totp(view.user, secret)
        else:
            view.user.totp_secret = None
            view.user.totp_pending_secret = None
    session.add(view.user)
    await credentials.revoke_all_for_user(session, user_id, now)
    # The user may have called the administrator precisely because the account is locked.
    await throttle.clear(session, throttle.account_key(secret, view.user.username, config.account_throttle))
    await record_event(
        session,
        action=IdentityAuditAction.USER_RESET_PASSWORD,
        actor=_actor(principal),
        target_type="user",
        target_id=str(user_id),
        details={"totp_reset": reset_totp},
        **audit,
    )
    return UserView(view.user, view.roles, new_secret)
