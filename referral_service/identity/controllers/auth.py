"""`/api/v1/auth`: sign in (cookie session or bearer token), sign out, who am I, own credentials."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import Cookie, State
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody
from litestar.status_codes import HTTP_204_NO_CONTENT
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.identity import account, authentication, repository, schemas
from referral_service.identity.config import IdentityConfig
from referral_service.identity.controllers.convert import unit_out
from referral_service.identity.http import (
    PUBLIC,
    audit_fields,
    identity_config,
    provide_credential,
    requires,
    secret_key,
)
from referral_service.identity.permissions import Permission
from referral_service.identity.principal import Credential, Principal
from referral_service.identity.tokens import SESSION_COOKIE
from referral_service.problems import problems

# Responses that carry a credential must never be stored by a browser or proxy.
NO_STORE = {"Cache-Control": "no-store"}


def session_cookie(value: str, max_age: int) -> Cookie:
    # __Host- prefix: the browser accepts it only with Secure, Path=/ and no Domain, so no other
    # (sub)domain can set or overwrite the session cookie.
    return Cookie(
        key=SESSION_COOKIE,
        value=value,
        path="/",
        max_age=max_age,
        secure=True,
        httponly=True,
        samesite="strict",
    )


async def build_me(session: AsyncSession, principal: Principal, csrf_token: str | None = None) -> schemas.Me:
    user = await repository.get_user(session, principal.user_id, repository.user_visibility(None))
    unit = await repository.get_unit(session, principal.unit_id, repository.unit_visibility(None))
    # The guard resolved both a moment ago.
    assert user is not None
    assert unit is not None
    return schemas.Me(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        unit=unit_out(unit),
        roles=sorted(principal.roles),
        permissions=sorted(principal.permissions),
        auth_method=principal.auth_method.value,
        totp_enabled=user.totp_secret is not None,
        csrf_token=csrf_token,
    )


def _idle_seconds(config: IdentityConfig) -> int:
    return int(config.session_idle_timeout.total_seconds())


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]
    dependencies = {"credential": Provide(provide_credential, sync_to_thread=False)}

    @post(
        "/login",
        opt=PUBLIC,
        status_code=200,
        summary="Sign in with a cookie session (web pages)",
        responses=problems(401, 429),  # wrong credentials; locked after repeated failures
    )
    async def login(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: NamedDependency[AsyncSession],
        data: JSONBody[schemas.LoginRequest],
    ) -> Response[schemas.SessionStarted]:
        config = identity_config(state)
        result = await authentication.login(
            db_session,
            username=data.username,
            password=data.password,
            totp_code=data.totp_code,
            config=config,
            secret=secret_key(state),
            audit=audit_fields(request),
        )
        body = schemas.SessionStarted(
            csrf_token=result.csrf_token,
            expires_at=result.expires_at,
            idle_timeout_seconds=_idle_seconds(config),
            me=await build_me(db_session, result.principal, result.csrf_token),
        )
        max_age = int(config.session_absolute_timeout.total_seconds())
        return Response(body, cookies=[session_cookie(result.token, max_age)], headers=NO_STORE)

    @post(
        "/token",
        opt=PUBLIC,
        status_code=200,
        summary="Issue a bearer token for an API client",
        responses=problems(401, 429),  # wrong credentials; locked after repeated failures
    )
    async def issue_token(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: NamedDependency[AsyncSession],
        data: JSONBody[schemas.LoginRequest],
    ) -> Response[schemas.TokenIssued]:
        result = await authentication.issue_token(
            db_session,
            username=data.username,
            password=data.password,
            totp_code=data.totp_code,
            config=identity_config(state),
            secret=secret_key(state),
            audit=audit_fields(request),
        )
        body = schemas.TokenIssued(token=result.token, token_type="Bearer", expires_at=result.expires_at)  # noqa: S106
        return Response(body, headers=NO_STORE)

    @delete(
        "/token",
        opt=requires(Permission.IDENTITY_SESSION_MANAGE_OWN),
        summary="Revoke the bearer token this request carries",
    )
    async def revoke_token(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        credential: NamedDependency[Credential],
    ) -> None:
        await authentication.revoke_token(
            db_session, principal, credential, identity_config(state), audit_fields(request)
        )

    @post(
        "/logout",
        opt=requires(Permission.IDENTITY_SESSION_MANAGE_OWN),
        status_code=HTTP_204_NO_CONTENT,
        summary="End the session (or revoke the token) this request carries",
    )
    async def logout(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        credential: NamedDependency[Credential],
    ) -> Response[None]:
        await authentication.logout(
            db_session, principal, credential, identity_config(state), audit_fields(request)
        )
        return Response(None, status_code=HTTP_204_NO_CONTENT, cookies=[session_cookie("", 0)])

    @get("/me", opt=requires(Permission.IDENTITY_SESSION_READ_OWN), summary="The signed-in user")
    async def me(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        credential: NamedDependency[Credential],
    ) -> Response[schemas.Me]:
        return Response(await build_me(db_session, principal, credential.csrf_token), headers=NO_STORE)

    @post(
        "/password",
        opt=requires(Permission.IDENTITY_ACCOUNT_MANAGE_OWN),
        status_code=HTTP_204_NO_CONTENT,
        summary="Change one's own password (signs out every other session and token)",
        responses=problems(429),  # throttled like a sign-in after wrong passwords or codes
    )
    async def change_password(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        credential: NamedDependency[Credential],
        data: JSONBody[schemas.PasswordChange],
    ) -> None:
        await account.change_password(
            db_session,
            principal,
            credential,
            current_password=data.current_password,
            new_password=data.new_password,
            config=identity_config(state),
            secret=secret_key(state),
            audit=audit_fields(request),
        )

    @post(
        "/totp",
        opt=requires(Permission.IDENTITY_ACCOUNT_MANAGE_OWN),
        status_code=200,
        summary="Start enrolling a new authenticator (confirm with /totp/confirm)",
        responses=problems(429),  # throttled like a sign-in after wrong passwords or codes
    )
    async def start_totp(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[schemas.TotpEnrolmentStart],
    ) -> Response[schemas.TotpProvisioning]:
        secret, uri = await account.start_totp_enrolment(
            db_session,
            principal,
            password=data.password,
            config=identity_config(state),
            secret=secret_key(state),
            audit=audit_fields(request),
        )
        return Response(schemas.TotpProvisioning(secret=secret, uri=uri), headers=NO_STORE)

    @post(
        "/totp/confirm",
        opt=requires(Permission.IDENTITY_ACCOUNT_MANAGE_OWN),
        status_code=HTTP_204_NO_CONTENT,
        summary="Activate the new authenticator with a current code",
        responses=problems(429),  # throttled like a sign-in after wrong passwords or codes
    )
    async def confirm_totp(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        credential: NamedDependency[Credential],
        data: JSONBody[schemas.TotpEnrolmentConfirm],
    ) -> None:
        await account.confirm_totp_enrolment(
            db_session,
            principal,
            credential,
            code=data.code,
            config=identity_config(state),
            secret=secret_key(state),
            audit=audit_fields(request),
        )
