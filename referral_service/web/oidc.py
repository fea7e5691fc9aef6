"""Pages of the sign-in through an OpenID provider: start, the provider's callback, the local one-time code.

The callback arrives as a cross-site top-level GET from the provider, so the state cookie is SameSite=Lax
(the session cookie is Strict). For the same reason the callback answers with a small page that moves on
by itself instead of a redirect: a browser does not send a Strict cookie on a redirect chain that began
on another site, and the first page after sign-in would look signed out.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie, State
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect
from litestar.status_codes import HTTP_303_SEE_OTHER
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.identity.controllers.auth import session_cookie
from referral_service.identity.errors import LoginThrottledError
from referral_service.identity.http import PUBLIC, audit_fields, identity_config, secret_key
from referral_service.identity.oidc import sign_in
from referral_service.identity.oidc.config import OidcConfig, OidcProvider
from referral_service.identity.oidc.metadata import ProviderDirectory, ProviderUnavailableError
from referral_service.identity.oidc.sign_in import STATE_COOKIE, SignInRefusedError
from referral_service.identity.oidc.tokens import TokenRefusedError
from referral_service.web.errors import LOGIN_PATH, PAGE_EXCEPTION_HANDLERS
from referral_service.web.forms import form_input
from referral_service.web.i18n import N_, translator_for
from referral_service.web.render import page, safe_next
from referral_service.web.security import check_public_form_token

NEXT_PARAMETER = "weiter"
TOTP_PATH = "/anmelden/zweiter-faktor"


def provider_buttons(state: State) -> list[tuple[str, str]]:
    """(key, label) of every configured provider, for the buttons on the sign-in page."""
    config: OidcConfig = state.oidc
    return [(provider.key, provider.label) for provider in config.providers]


def _directory(state: State) -> ProviderDirectory:
    directory: ProviderDirectory = state.oidc_directory
    return directory


def _provider(state: State, key: str) -> OidcProvider:
    config: OidcConfig = state.oidc
    provider = config.provider(key)
    if provider is None:
        raise NotFoundException()
    return provider


def _base_url(request: Request[Any, Any, Any]) -> str:
    config: OidcConfig = request.app.state.oidc
    return config.public_url or str(request.base_url).rstrip("/")


def _state_cookie(value: str, max_age: int) -> Cookie:
    # __Host-: only this host sets it; Lax: it must come along on the provider's top-level redirect back.
    return Cookie(
        key=STATE_COOKIE, value=value, path="/", max_age=max_age, secure=True, httponly=True, samesite="lax"
    )


CANCELLED = "login.oidc.cancelled"


def _failed(
    request: Request[Any, Any, Any], provider: OidcProvider | None, *, status: int, message: str = ""
) -> Response[Any]:
    """The sign-in page with one generic message: which check failed is in the audit log only."""
    t = translator_for(request)
    key = message or ("login.oidc.unavailable" if status >= 500 else "login.oidc.failed")
    # Cancelling at the provider is the person's own choice: a notice, not an error.
    shown = "oidc_notice" if key == CANCELLED else "oidc_error"
    return page(
        request,
        "auth/login.html",
        status_code=status,
        context={
            "next": "",
            "expired": False,
            "signed_out": False,
            shown: t(key, label=provider.label if provider else ""),
            "providers": provider_buttons(request.app.state),
        },
        cookies=[_state_cookie("", 0)],
    )


def _signed_in(request: Request[Any, Any, Any], result: sign_in.SignedIn) -> Response[Any]:
    max_age = int(identity_config(request.app.state).session_absolute_timeout.total_seconds())
    return page(
        request,
        "auth/oidc_continue.html",
        context={"next_path": result.next_path or "/"},
        cookies=[session_cookie(result.login.token, max_age), _state_cookie("", 0)],
    )


class OidcSignInPages(Controller):
    path = "/anmelden"
    include_in_schema = False
    exception_handlers = PAGE_EXCEPTION_HANDLERS

    @get("/mit/{key:str}", opt=PUBLIC)
    async def begin(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: NamedDependency[AsyncSession],
        key: FromPath[str],
    ) -> Response[Any]:
        provider = _provider(state, key)
        try:
            started = await sign_in.start(
                db_session,
                provider,
                _directory(state),
                base_url=_base_url(request),
                next_path=safe_next(request.query_params.get(NEXT_PARAMETER), ""),
                config=identity_config(state),
            )
        except ProviderUnavailableError:
            return _failed(request, provider, status=503)
        max_age = int(sign_in.ATTEMPT_LIFETIME.total_seconds())
        return Redirect(
            started.authorization_url,
            status_code=HTTP_303_SEE_OTHER,
            cookies=[_state_cookie(started.state, max_age)],
        )

    @get("/mit/{key:str}/zurueck", opt=PUBLIC)
    async def callback(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: NamedDependency[AsyncSession],
        key: FromPath[str],
    ) -> Response[Any]:
        provider = _provider(state, key)
        query = request.query_params
        config, secret, audit = identity_config(state), secret_key(state), audit_fields(request)
        directory = _directory(state)
        try:
            attempt = await sign_in.claim(
                db_session,
                provider,
                state=query.get("state"),
                cookie_state=request.cookies.get(STATE_COOKIE),
                config=config,
                audit=audit,
            )
            code = query.get("code")
            if query.get("error") is not None or not code:
                # Most often the person cancelled at the provider; the provider's text is not shown.
                raise await sign_in.refuse(db_session, provider, "provider_error", audit=audit)
            try:
                tokens = await sign_in.exchange(
                    provider, directory, attempt, code=code, base_url=_base_url(request)
                )
            except TokenRefusedError as error:
                raise await sign_in.refuse(db_session, provider, error.reason, audit=audit) from error
            result = await sign_in.complete(
                db_session,
                attempt,
                tokens,
                provider=provider,
                directory=directory,
                config=config,
                secret=secret,
                audit=audit,
            )
        except ProviderUnavailableError:
            await sign_in.refuse(db_session, provider, "provider_unavailable", audit=audit)
            return _failed(request, provider, status=503)
        except SignInRefusedError as error:
            cancelled = error.reason == "provider_error"
            return _failed(request, provider, status=400, message=CANCELLED if cancelled else "")
        if isinstance(result, sign_in.AwaitingTotp):
            return Redirect(TOTP_PATH, status_code=HTTP_303_SEE_OTHER)
        return _signed_in(request, result)

    @get("/zweiter-faktor", opt=PUBLIC)
    async def totp_form(
        self, request: Request[Any, Any, Any], state: State, db_session: NamedDependency[AsyncSession]
    ) -> Response[Any]:
        attempt = await sign_in.waiting_for_totp(
            db_session, request.cookies.get(STATE_COOKIE), identity_config(state)
        )
        if attempt is None:
            return Redirect(LOGIN_PATH, status_code=HTTP_303_SEE_OTHER)
        return page(request, "auth/oidc_totp.html")

    @post("/zweiter-faktor", opt=PUBLIC, status_code=200)
    async def totp_submit(
        self, request: Request[Any, Any, Any], state: State, db_session: NamedDependency[AsyncSession]
    ) -> Response[Any]:
        await check_public_form_token(request)
        config = identity_config(state)
        attempt = await sign_in.waiting_for_totp(db_session, request.cookies.get(STATE_COOKIE), config)
        if attempt is None:
            return Redirect(LOGIN_PATH, status_code=HTTP_303_SEE_OTHER)
        provider = _provider(state, attempt.provider)
        data = await form_input(request)
        code = (data.text("totp_code", required=True, max_length=10, pattern=r"[0-9 ]{6,10}") or "").replace(
            " ", ""
        )
        error, status = None, 422
        if data.ok:
            try:
                result = await sign_in.confirm_totp(
                    db_session,
                    attempt,
                    provider,
                    code.replace(" ", ""),
                    config=config,
                    secret=secret_key(state),
                    audit=audit_fields(request),
                )
            except SignInRefusedError:
                error, status = N_("login.oidc.totp_invalid"), 400
            except LoginThrottledError:
                error, status = N_("login.error.throttled"), 429
            else:
                return _signed_in(request, result)
        return page(
            request,
            "auth/oidc_totp.html",
            status_code=status,
            context={"totp_error": error, "errors": data.errors},
        )
