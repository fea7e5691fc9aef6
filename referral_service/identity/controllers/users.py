"""`/api/v1/users`: the staff directory and its administration."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.identity import schemas, service
from referral_service.identity.controllers.auth import NO_STORE
from referral_service.identity.controllers.convert import provisioned_out, user_out
from referral_service.identity.http import audit_fields, identity_config, requires, secret_key
from referral_service.identity.permissions import Permission
from referral_service.identity.principal import Principal
from referral_service.identity.roles import Role

_USER = "/{user_id:uuid}"


class UserController(Controller):
    path = "/api/v1/users"
    tags = ["users"]

    @get("", opt=requires(Permission.IDENTITY_USER_READ), summary="Users visible to the caller")
    async def list_users(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        unit_id: FromQuery[uuid.UUID | None] = None,
        active: FromQuery[bool | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> list[schemas.User]:
        views = await service.list_users(
            db_session, principal, unit_id=unit_id, active=active, limit=limit, offset=offset
        )
        return [user_out(view) for view in views]

    @post("", opt=requires(Permission.IDENTITY_USER_CREATE), summary="Create a user")
    async def create_user(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[schemas.UserCreate],
    ) -> Response[schemas.UserProvisioned]:
        config = identity_config(state)
        view = await service.create_user(
            db_session,
            principal,
            username=data.username,
            display_name=data.display_name,
            unit_id=data.unit_id,
            roles=data.roles,
            password=data.password,
            config=config,
            secret=secret_key(state),
            audit=audit_fields(request),
        )
        return Response(provisioned_out(view, config), status_code=201, headers=NO_STORE)

    @get(_USER, opt=requires(Permission.IDENTITY_USER_READ), summary="One user")
    async def get_user(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        user_id: FromPath[uuid.UUID],
    ) -> schemas.User:
        return user_out(await service.get_user(db_session, principal, user_id))

    @patch(_USER, opt=requires(Permission.IDENTITY_USER_UPDATE), summary="Disable, enable or rename a user")
    async def update_user(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        user_id: FromPath[uuid.UUID],
        data: JSONBody[schemas.UserUpdate],
    ) -> schemas.User:
        config, audit = identity_config(state), audit_fields(request)
        view = await service.get_user(db_session, principal, user_id)
        if isinstance(data.display_name, str):
            view = await service.rename(
                db_session, principal, user_id, data.display_name, config=config, audit=audit
            )
        if isinstance(data.active, bool):
            view = await service.set_active(
                db_session, principal, user_id, data.active, config=config, audit=audit
            )
        return user_out(view)

    @post(
        _USER + "/roles",
        opt=requires(Permission.IDENTITY_USER_UPDATE),
        status_code=200,
        summary="Grant a role (a new second factor is returned once if the role requires one)",
    )
    async def grant_role(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        user_id: FromPath[uuid.UUID],
        data: JSONBody[schemas.RoleGrant],
    ) -> Response[schemas.UserProvisioned]:
        config = identity_config(state)
        view = await service.grant_role(
            db_session,
            principal,
            user_id,
            data.role,
            config=config,
            secret=secret_key(state),
            audit=audit_fields(request),
        )
        return Response(provisioned_out(view, config), headers=NO_STORE)

    @delete(
        _USER + "/roles/{role:str}", opt=requires(Permission.IDENTITY_USER_UPDATE), summary="Revoke a role"
    )
    async def revoke_role(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        user_id: FromPath[uuid.UUID],
        role: FromPath[Role],
    ) -> None:
        await service.revoke_role(db_session, principal, user_id, role, audit=audit_fields(request))

    @post(
        _USER + "/reset-password",
        opt=requires(Permission.IDENTITY_USER_UPDATE),
        status_code=200,
        summary="Set a new password (signs the user out everywhere)",
    )
    async def reset_password(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        user_id: FromPath[uuid.UUID],
        data: JSONBody[schemas.PasswordReset],
    ) -> Response[schemas.UserProvisioned]:
        config = identity_config(state)
        view = await service.reset_password(
            db_session,
            principal,
            user_id,
            data.password,
            reset_totp=data.reset_totp,
            config=config,
            secret=secret_key(state),
            audit=audit_fields(request),
        )
        return Response(provisioned_out(view, config), headers=NO_STORE)
