"""SQL for sessions and API tokens, and resolving a presented credential into a `Principal`.

A credential is valid only while it is unrevoked and unexpired, its user is active and the user still
has a unit; roles and permissions are read fresh on every request, so a revoked role or a disabled
account takes effect at once. A provider's client-credentials access token is no row here: it is
checked against the provider's keys on every request and ends at the provider.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, literal, update
from sqlalchemy import select as columns_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.identity import repository
from referral_service.identity.config import IdentityConfig
from referral_service.identity.models import ApiToken, AuthSession, OrgUnit, RoleAssignment, User
from referral_service.identity.oidc.config import OidcConfig
from referral_service.identity.oidc.metadata import ProviderDirectory
from referral_service.identity.oidc.tokens import TokenRefusedError, validate_access_token
from referral_service.identity.permissions import permissions_for
from referral_service.identity.principal import AuthMethod, Credential, Principal
from referral_service.identity.roles import Role, UnitKind, requires_totp
from referral_service.identity.tokens import (
    API_TOKEN_PREFIX,
    new_api_token,
    new_csrf_token,
    new_session_token,
    token_digest,
)


async def load_principal(session: AsyncSession, user_id: uuid.UUID, method: AuthMethod) -> Principal | None:
    """The principal for an active user, or None (inactive, unknown, or no roles)."""
    stmt = select(User, OrgUnit).join(OrgUnit, col(OrgUnit.id) == col(User.unit_id)).where(User.id == user_id)
    row = (await session.exec(stmt)).one_or_none()
    if row is None:
        return None
    user, unit = row
    if not user.active:
        return None
    roles = await repository.roles_of(session, user.id)
    return _principal(user.id, user.username, user.active, unit.id, unit.path, unit.kind, roles, method)


def _principal(
    user_id: uuid.UUID,
    username: str,
    active: bool,
    unit_id: uuid.UUID,
    unit_path: str,
    unit_kind: str,
    roles: set[Role],
    method: AuthMethod,
) -> Principal | None:
    """The one rule for every way in: an active user with at least one known role, else None."""
    if not active or not roles:
        return None
    return Principal(
        user_id=user_id,
        username=username,
        unit_id=unit_id,
        unit_path=unit_path,
        unit_kind=UnitKind(unit_kind),
        roles=frozenset(roles),
        permissions=permissions_for(roles),
        auth_method=method,
    )


async def create_session(
    session: AsyncSession, user_id: uuid.UUID, config: IdentityConfig
) -> tuple[str, AuthSession]:
    """A new web session; returns the cookie token (never stored) and the row."""
    now = config.now()
    token = new_session_token()
    row = AuthSession(
        token_hash=token_digest(token),
        user_id=user_id,
        csrf_token=new_csrf_token(),
        created_at=now,
        last_seen_at=now,
        expires_at=now + config.session_absolute_timeout,
    )
    session.add(row)
    await session.flush()
    return token, row


async def create_api_token(
    session: AsyncSession, user_id: uuid.UUID, config: IdentityConfig
) -> tuple[str, ApiToken]:
    now = config.now()
    token = new_api_token()
    row = ApiToken(
        token_hash=token_digest(token),
        user_id=user_id,
        created_at=now,
        expires_at=now + config.token_lifetime,
    )
    session.add(row)
    await session.flush()
    return token, row


def _credential_query(table: type[AuthSession] | type[ApiToken]) -> Any:
    """The credential row, its user and unit, and one row per role: one round trip per request.
    Built once per table (statement construction costs more than the query itself)."""
    touched = col(AuthSession.last_seen_at) if table is AuthSession else col(ApiToken.last_used_at)
    csrf = col(AuthSession.csrf_token) if table is AuthSession else literal(None)
    # SQLAlchemy's own select: SQLModel's is typed for at most four columns.
    return (
        columns_select(
            col(table.id),
            col(table.revoked_at),
            col(table.expires_at),
            touched,
            csrf,
            col(User.id),
            col(User.username),
            col(User.active),
            col(OrgUnit.id),
            col(OrgUnit.path),
            col(OrgUnit.kind),
            col(RoleAssignment.role),
        )
        .join(User, col(User.id) == col(table.user_id))
        .join(OrgUnit, col(OrgUnit.id) == col(User.unit_id))
        .outerjoin(RoleAssignment, col(RoleAssignment.user_id) == col(User.id))
        .where(col(table.token_hash) == bindparam("token_hash"))
    )


_CREDENTIAL_QUERIES = {AuthSession: _credential_query(AuthSession), ApiToken: _credential_query(ApiToken)}


@dataclass(frozen=True, slots=True)
class _Presented:
    credential_id: uuid.UUID
    revoked_at: dt.datetime | None
    expires_at: dt.datetime
    touched_at: dt.datetime | None
    csrf_token: str | None
    principal: Principal | None


async def _presented(
    session: AsyncSession, table: type[AuthSession] | type[ApiToken], token: str, method: AuthMethod
) -> _Presented | None:
    query = _CREDENTIAL_QUERIES[table]
    rows = (await session.execute(query, {"token_hash": token_digest(token)})).all()
    if not rows:
        return None
    first = rows[0]
    cred_id, revoked_at, expires_at, touched_at, csrf = first[:5]
    user_id, username, active, unit_id, unit_path, unit_kind = first[5:11]
    roles = repository.known_roles(row[11] for row in rows if row[11] is not None)
    principal = _principal(user_id, username, active, unit_id, unit_path, unit_kind, roles, method)
    return _Presented(cred_id, revoked_at, expires_at, touched_at, csrf, principal)


async def resolve_session(
    session: AsyncSession, token: str, config: IdentityConfig
) -> tuple[Principal, Credential] | None:
    now = config.now()
    found = await _presented(session, AuthSession, token, AuthMethod.SESSION)
    if found is None or found.revoked_at is not None or found.expires_at <= now:
        return None
    last_seen = found.touched_at
    if last_seen is None or last_seen + config.session_idle_timeout <= now or found.principal is None:
        return None
    if now - last_seen >= config.session_touch_interval:
        await session.exec(
            update(AuthSession).where(col(AuthSession.id) == found.credential_id).values(last_seen_at=now)
        )
    return found.principal, Credential(AuthMethod.SESSION, found.credential_id, found.csrf_token)


async def resolve_api_token(
    session: AsyncSession, token: str, config: IdentityConfig
) -> tuple[Principal, Credential] | None:
    now = config.now()
    found = await _presented(session, ApiToken, token, AuthMethod.TOKEN)
    if found is None or found.revoked_at is not None or found.expires_at <= now or found.principal is None:
        return None
    if found.touched_at is None or now - found.touched_at >= config.session_touch_interval:
        await session.exec(
            update(ApiToken).where(col(ApiToken.id) == found.credential_id).values(last_used_at=now)
        )
    return found.principal, Credential(AuthMethod.TOKEN, found.credential_id)


def is_provider_token(token: str) -> bool:
    """A JWT (three dot-separated parts) an OpenID provider issued; our own API tokens start with `rst_`."""
    return token.count(".") == 2 and not token.startswith(API_TOKEN_PREFIX)


class ClientRefusedError(TokenRefusedError):
    """A valid client-credentials token whose client may not act here; `client_id` is verified."""

    def __init__(self, reason: str, client_id: str) -> None:
        super().__init__(reason)
        self.client_id = client_id


async def resolve_client_token(
    session: AsyncSession, token: str, oidc: OidcConfig, directory: ProviderDirectory, config: IdentityConfig
) -> tuple[Principal, Credential]:
    """A provider's client-credentials access token as the technical account configured for its client.
    Raises `TokenRefusedError` (its reason is for the audit log) or `ProviderUnavailableError`."""
    client = await validate_access_token(token, oidc, directory, now=config.now())
    user = await repository.get_user_by_username(session, client.username)
    principal = await load_principal(session, user.id, AuthMethod.CLIENT) if user is not None else None
    if principal is None:
        raise ClientRefusedError("technical_account", client.client_id)
    if requires_totp(principal.roles):
        # A token proves no second factor: a client may not act with a role that needs one.
        raise ClientRefusedError("second_factor", client.client_id)
    return principal, Credential(AuthMethod.CLIENT, principal.user_id)


async def get_session(session: AsyncSession, session_id: uuid.UUID) -> AuthSession | None:
    return (await session.exec(select(AuthSession).where(AuthSession.id == session_id))).one_or_none()


async def revoke(session: AsyncSession, credential: Credential, now: dt.datetime) -> None:
    # A client-credentials credential's id is its technical account's: never an API token row.
    assert credential.method is not AuthMethod.CLIENT, "a provider's token ends at the provider"
    table: type[AuthSession] | type[ApiToken] = (
        AuthSession if credential.method is AuthMethod.SESSION else ApiToken
    )
    await session.exec(
        update(table)
        .where(col(table.id) == credential.id, col(table.revoked_at).is_(None))
        .values(revoked_at=now)
    )


async def revoke_all_for_user(
    session: AsyncSession, user_id: uuid.UUID, now: dt.datetime, *, keep: Credential | None = None
) -> None:
    """End every session and token of a user (disable, password reset), optionally keeping one."""
    for table, method in ((AuthSession, AuthMethod.SESSION), (ApiToken, AuthMethod.TOKEN)):
        stmt = (
            update(table)
            .where(col(table.user_id) == user_id, col(table.revoked_at).is_(None))
            .values(revoked_at=now)
        )
        if keep is not None and keep.method is method:
            stmt = stmt.where(col(table.id) != keep.id)
        await session.exec(stmt)
