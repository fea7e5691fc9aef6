"""`/api/v1/auth/oidc`: the provider's back-channel logout (OpenID Connect Back-Channel Logout 1.0).

The provider calls it server to server, with no cookie and no CSRF token: the signed logout token is the
only credential, so the route is public and the token check is the whole of its protection.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.identity.controllers.auth import NO_STORE
from referral_service.identity.http import PUBLIC, audit_fields, identity_config, secret_key
from referral_service.identity.oidc import sign_in
from referral_service.identity.oidc.config import OidcConfig
from referral_service.identity.oidc.tokens import MAX_TOKEN_LENGTH
from referral_service.problems import problems


class OidcLogoutController(Controller):
    path = "/api/v1/auth/oidc"
    tags = ["auth"]

    @post(
        "/{provider:str}/backchannel-logout",
        opt=PUBLIC,
        status_code=200,
        summary="Back-channel logout: the provider ends the sessions it signed in",
        responses=problems(400, 404, 503),
    )
    async def backchannel_logout(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: NamedDependency[AsyncSession],
        provider: FromPath[str],
    ) -> Response[None]:
        """Form field `logout_token`; 200 once the named sessions are ended, 400 for a bad token."""
        config: OidcConfig = state.oidc
        found = config.provider(provider)
        if found is None:
            raise sign_in.UnknownProviderError()
        form = await request.form()
        token = form.get("logout_token")
        if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
            token = ""
        await sign_in.backchannel_logout(
            db_session,
            found,
            state.oidc_directory,
            token,
            config=identity_config(state),
            secret=secret_key(state),
            audit=audit_fields(request),
        )
        return Response(None, status_code=200, headers=NO_STORE)
