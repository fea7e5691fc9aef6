"""Start page, sign-in and sign-out (cookie session with CSRF token), and the language switch."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie, State
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect
from litestar.status_codes import HTTP_303_SEE_OTHER
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.db import SessionFactory
from referral_service.identity import authentication, credentials
from referral_service.identity.controllers.auth import session_cookie
from referral_service.identity.errors import InvalidCredentialsError, LoginThrottledError
from referral_service.identity.http import PUBLIC, audit_fields, identity_config, requires, secret_key
from referral_service.identity.oidc import sign_in
from referral_service.identity.oidc.config import OidcConfig
from referral_service.identity.permissions import Permission
from referral_service.identity.principal import Credential, Principal
from referral_service.identity.tokens import SESSION_COOKIE
from referral_service.web.errors import EXPIRED_PARAMETER, LOGIN_PATH, PAGE_EXCEPTION_HANDLERS
from referral_service.web.forms import form_input
from referral_service.web.i18n import LANGUAGE_COOKIE, LANGUAGES, N_
from referral_service.web.oidc import provider_buttons
from referral_service.web.render import areas_for, page, safe_next, see_other
from referral_service.web.security import check_public_form_token
from referral_service.web.work import take_work

NEXT_PARAMETER = "weiter"


async def optional_principal(request: Request[Any, Any, Any]) -> Principal | None:
    """The signed-in user on a public page (which the guard does not resolve), or None.

    Like the guard, it leaves the principal and credential in the scope, so that the page shows the
    user's areas and its forms carry the session's CSRF token. It grants nothing: public routes check
    no permission, and every protected route passes the guard anyway.
    """
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 256:
        return None
    factory: SessionFactory = request.app.state.session_factory
    async with factory() as session, session.begin():
        resolved = await credentials.resolve_session(session, token, identity_config(request.app.state))
    if resolved is None:
        return None
    request.scope["user"], request.scope["auth"] = resolved
    return resolved[0]


class WebAuthController(Controller):
    path = "/"
    include_in_schema = False
    exception_handlers = PAGE_EXCEPTION_HANDLERS

    @get("/", opt=PUBLIC)
    async def start(self, request: Request[Any, Any, Any]) -> Response[Any]:
        """Signed in: what waits for the user in each of their areas, and the areas. Otherwise the
        public start page."""
        principal = await optional_principal(request)
        if principal is None:
            return page(request, "start_public.html")
        if areas_for(request, principal):
            # A public route: the counts are taken here, once the user is known (also for the badges).
            await take_work(request, principal)
        return page(request, "start.html")

    @get(LOGIN_PATH, opt=PUBLIC)
    async def login_form(self, request: Request[Any, Any, Any]) -> Response[Any]:
        query = request.query_params
        if await optional_principal(request) is not None:
            return see_other(safe_next(query.get(NEXT_PARAMETER)))
        return page(
            request,
            "auth/login.html",
            context={
                "next": safe_next(query.get(NEXT_PARAMETER), ""),
                "expired": query.get(EXPIRED_PARAMETER) == "1",
                "signed_out": query.get("abgemeldet") == "1",
                "providers": provider_buttons(request.app.state),
            },
        )

    @post(LOGIN_PATH, opt=PUBLIC, status_code=200)
    async def login(
        self, request: Request[Any, Any, Any], state: State, db_session: NamedDependency[AsyncSession]
    ) -> Response[Any]:
        await check_public_form_token(request)
        data = await form_input(request)
        username = data.text("username", required=True, max_length=64) or ""
        raw_password = data.form.get("password")
        password = raw_password if isinstance(raw_password, str) else ""
        if not password:
            data.error("password", N_("form.error.required"))
        totp_code = data.text("totp_code", max_length=10, pattern=r"[0-9 ]{6,10}")
        next_path = safe_next(data.form.get(NEXT_PARAMETER) or None, "")
        error: str | None = None
        status = 422
        if data.ok:
            config = identity_config(state)
            try:
                result = await authentication.login(
                    db_session,
                    username=username,
                    password=password,
                    totp_code=totp_code.replace(" ", "") if totp_code else None,
                    config=config,
                    secret=secret_key(state),
                    audit=audit_fields(request),
                )
            except InvalidCredentialsError:
                error = N_("login.error.invalid")
            except LoginThrottledError:
                error, status = N_("login.error.throttled"), 429
            else:
                max_age = int(config.session_absolute_timeout.total_seconds())
                return see_other(next_path or "/", cookies=[session_cookie(result.token, max_age)])
        return page(
            request,
            "auth/login.html",
            status_code=status,
            context={
                "next": next_path,
                "expired": False,
                "signed_out": False,
                "login_error": error,
                "errors": data.errors,
                "values": {"username": username},
                "providers": provider_buttons(state),
            },
        )

    @post("/abmelden", opt=requires(Permission.IDENTITY_SESSION_MANAGE_OWN), status_code=200)
    async def logout(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Response[Any]:
        credential = request.scope.get("auth")
        assert isinstance(credential, Credential)  # the guard put it there
        provider_key = await sign_in.provider_of_session(db_session, credential.id)
        await authentication.logout(
            db_session, principal, credential, identity_config(state), audit_fields(request)
        )
        signed_out = LOGIN_PATH + "?abgemeldet=1"
        oidc: OidcConfig = state.oidc
        provider = oidc.provider(provider_key) if provider_key else None
        if provider is not None:
            # Signed in through a provider: end the provider's session too (RP-initiated logout), which
            # sends the browser back to the sign-in page.
            base = oidc.public_url or str(request.base_url).rstrip("/")
            url = await sign_in.end_session_url(
                provider, state.oidc_directory, post_logout_redirect_uri=base + signed_out
            )
            if url is not None:
                return Redirect(url, status_code=HTTP_303_SEE_OTHER, cookies=[session_cookie("", 0)])
        return see_other(signed_out, cookies=[session_cookie("", 0)])

    @get("/sprache/{language:str}", opt=PUBLIC)
    async def switch_language(
        self, request: Request[Any, Any, Any], language: FromPath[str]
    ) -> Response[Any]:
        """The language selector: a link (no form), remembered in a cookie for a year."""
        back = safe_next(request.query_params.get(NEXT_PARAMETER))
        if language not in LANGUAGES:
            return see_other(back)
        cookie = Cookie(
            key=LANGUAGE_COOKIE,
            value=language,
            path="/",
            max_age=365 * 24 * 3600,
            secure=True,
            httponly=True,
            samesite="lax",
        )
        return see_other(back, cookies=[cookie])
