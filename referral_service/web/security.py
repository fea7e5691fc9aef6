"""Browser-facing hardening: security headers on every response, and form tokens for public forms.

Signed-in staff post forms with their session's CSRF token (hidden field `_csrf`), which the guard
checks. Public forms (sign-in, complaints) have no session yet, so they use a double-submit token: a
random value in a `__Host-` cookie (Secure, SameSite=Strict, no subdomain can set it) that the form
repeats in its `_csrf` field; the handler compares both.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from typing import Any

from litestar import Request
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from referral_service.identity.tokens import CSRF_FORM_FIELD
from referral_service.problems import DomainError, ErrorKind

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
FORM_COOKIE = "__Host-rs_form"

_ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_HTML = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    # Pages show case content to the signed-in person only: never keep them in a browser or proxy cache
    # (the back button after signing out must not bring them back).
    "Cache-Control": "no-store",
}


def response_security_headers() -> dict[str, str]:
    """The headers every response gets, for one answered where the middleware does not run."""
    return dict(_ALWAYS)


def page_security_headers() -> dict[str, str]:
    """The headers of an HTML page, for a page answered where the middleware does not run (an
    unmatched path: Litestar applies the app's middleware per route)."""
    return {**_ALWAYS, **_HTML}


def security_headers_middleware(app: ASGIApp) -> ASGIApp:
    """Adds the headers above; HTML responses also get the Content-Security-Policy and `no-store`."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                for name, value in _ALWAYS.items():
                    headers.setdefault(name, value)
                if headers.get("content-type", "").startswith("text/html"):
                    for name, value in _HTML.items():
                        headers[name] = value
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware


class FormTokenError(DomainError):
    """A public form came back without the token it was rendered with (or from another site)."""

    code = "web.form_token"
    kind = ErrorKind.MALFORMED
    title = "The form has expired; please load the page again"


def new_form_token() -> str:
    return secrets.token_urlsafe(32)


def form_cookie(value: str) -> Cookie:
    return Cookie(
        key=FORM_COOKIE, value=value, path="/", secure=True, httponly=True, samesite="strict", max_age=None
    )


def public_form_token(request: Request[Any, Any, Any]) -> tuple[str, Cookie | None]:
    """The token for a public form: the cookie's, or a new one with the cookie to set."""
    current = request.cookies.get(FORM_COOKIE)
    if current and 20 <= len(current) <= 64:
        return current, None
    token = new_form_token()
    return token, form_cookie(token)


async def check_public_form_token(
    request: Request[Any, Any, Any], form: Mapping[str, Any] | None = None
) -> None:
    """Raises `FormTokenError` unless the posted `_csrf` equals the form cookie. A handler that read the
    form itself (e.g. files, in memory) passes its fields, so that the body is not parsed twice."""
    expected = request.cookies.get(FORM_COOKIE) or ""
    sent = (form if form is not None else await request.form()).get(CSRF_FORM_FIELD)
    if not expected or not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise FormTokenError()
