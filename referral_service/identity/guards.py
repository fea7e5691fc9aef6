"""Deny by default: the app-wide guard, and the start-up check that every route declares its access.

Every route handler declares either `opt={"permission": Permission.X}` or `opt={"public": True}`.
`check_route_declarations(app)` refuses to build an app with a route that declares neither, and the
guard refuses such a route at request time too (a handler registered after start-up is not checked).

The guard runs before the request body is parsed and before any dependency. For a protected route it
resolves the caller (bearer token, else session cookie; a bearer JWT is an OpenID provider's
client-credentials access token, checked against the provider's keys), then refuses with 401 for no or
an invalid credential, 403 `auth.csrf` for a cookie-authenticated state change without the session's
CSRF token, and 403 `auth.forbidden` when the caller's roles lack the permission. Every refusal is
audited (`identity:access:denied`; for a provider's token also the check that failed) and committed in
the guard's own short transaction.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from litestar import Litestar, Request
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler, HTTPRouteHandler
from litestar.routes import HTTPRoute
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.audit.recorder import ANONYMOUS, AuditOutcome, record_event
from referral_service.db import SessionFactory
from referral_service.identity import credentials
from referral_service.identity.audit_actions import IdentityAuditAction
from referral_service.identity.config import IdentityConfig
from referral_service.identity.errors import CsrfError, ForbiddenError, NotAuthenticatedError
from referral_service.identity.http import audit_fields, route_template
from referral_service.identity.oidc.metadata import ProviderUnavailableError
from referral_service.identity.oidc.tokens import TokenRefusedError
from referral_service.identity.permissions import Permission
from referral_service.identity.principal import AuthMethod, Credential, Principal
from referral_service.identity.tokens import CSRF_FORM_FIELD, CSRF_HEADER, SESSION_COOKIE
from referral_service.logging import get_logger
from referral_service.problems import DomainError

log = get_logger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

Declaration = Permission | Literal["public"] | None


class RouteDeclarationError(RuntimeError):
    """A route declares neither a permission nor that it is public."""


def is_automatic_options(handler: BaseRouteHandler) -> bool:
    """Litestar adds an OPTIONS handler to every path; it answers with the allowed methods only."""
    fn = getattr(handler, "fn", None)
    return (
        isinstance(handler, HTTPRouteHandler)
        and handler.http_methods == {"OPTIONS"}
        and getattr(fn, "__module__", "") == "litestar.routes.http"
    )


def route_declaration(handler: BaseRouteHandler) -> Declaration:
    if is_automatic_options(handler):
        return "public"
    permission = handler.opt.get("permission")
    public = handler.opt.get("public") is True
    if isinstance(permission, Permission) and not public:
        return permission
    if public and permission is None:
        return "public"
    return None  # neither, both, or a permission that is not a Permission member


def undeclared_routes(app: Litestar) -> list[str]:
    """Every route without a declaration; WebSocket and mounted ASGI routes count as well (the guard
    refuses them at request time, but they are found here at start-up)."""
    found: list[str] = []
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                if route_declaration(handler) is None:
                    found.extend(f"{method} {route.path}" for method in sorted(handler.http_methods))
        elif route_declaration(route.route_handler) is None:
            found.append(f"{route.scope_type.value.upper()} {route.path}")
    return sorted(found)


def check_route_declarations(app: Litestar) -> None:
    missing = undeclared_routes(app)
    if missing:
        raise RouteDeclarationError(
            "every route must declare opt={'permission': Permission.X} or opt={'public': True}; "
            "missing on: " + ", ".join(missing)
        )


def _presented_credential(connection: ASGIConnection[Any, Any, Any, Any]) -> tuple[AuthMethod, str] | None:
    """The credential the caller presents. A bearer header wins over a cookie and is never mixed."""
    header = connection.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        # A malformed Authorization header is an invalid credential, not "anonymous".
        return AuthMethod.TOKEN, value.strip() if scheme.lower() == "bearer" else ""
    cookie = connection.cookies.get(SESSION_COOKIE)
    return (AuthMethod.SESSION, cookie) if cookie else None


@dataclass(frozen=True, slots=True)
class _Refused:
    """A presented credential refused for a reason the audit event tells (never the token or a claim)."""

    reason: str
    details: Mapping[str, str]


Resolved = tuple[Principal, Credential] | _Refused | None


async def _client_token(
    connection: ASGIConnection[Any, Any, Any, Any], session: AsyncSession, token: str, config: IdentityConfig
) -> Resolved:
    oidc, directory = connection.app.state.oidc, connection.app.state.oidc_directory
    try:
        return await credentials.resolve_client_token(session, token, oidc, directory, config)
    except credentials.ClientRefusedError as refused:
        return _Refused("invalid_credential", {"credential": refused.reason, "client_id": refused.client_id})
    except TokenRefusedError as refused:
        # The reason tells a forgery (signature, issuer) from a token that merely expired.
        return _Refused("invalid_credential", {"credential": refused.reason})
    except ProviderUnavailableError as error:
        log.warning("oidc.provider_unavailable", problem=str(error))
        return _Refused("provider_unavailable", {})


async def _resolve(
    connection: ASGIConnection[Any, Any, Any, Any],
    session: AsyncSession,
    presented: tuple[AuthMethod, str],
    config: IdentityConfig,
) -> Resolved:
    method, token = presented
    if method is AuthMethod.TOKEN and credentials.is_provider_token(token):
        return await _client_token(connection, session, token, config)
    if not token or len(token) > 256:
        return None
    if method is AuthMethod.TOKEN:
        return await credentials.resolve_api_token(session, token, config)
    return await credentials.resolve_session(session, token, config)


async def _csrf_ok(connection: ASGIConnection[Any, Any, Any, Any], credential: Credential) -> bool:
    if credential.method is not AuthMethod.SESSION or connection.scope.get("method") in SAFE_METHODS:
        return True
    expected = credential.csrf_token or ""
    sent = connection.headers.get(CSRF_HEADER.lower())
    content_type = connection.headers.get("content-type", "")
    if sent is None and isinstance(connection, Request) and content_type.startswith(_FORM_TYPES):
        # Litestar caches the parsed form, so the handler can still read it.
        value = (await connection.form()).get(CSRF_FORM_FIELD)
        sent = value if isinstance(value, str) else None
    return bool(expected) and sent is not None and hmac.compare_digest(sent.encode(), expected.encode())


async def authorize(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """The app-wide guard (see module docstring)."""
    declared = route_declaration(handler)
    if declared == "public":
        return
    state = connection.app.state
    config: IdentityConfig = state.identity
    factory: SessionFactory = state.session_factory
    presented = _presented_credential(connection)
    error: DomainError | None = None
    async with factory() as session:
        resolved = await _resolve(connection, session, presented, config) if presented else None
        refused = resolved if isinstance(resolved, _Refused) else _Refused("invalid_credential", {})
        principal, credential = resolved if isinstance(resolved, tuple) else (None, None)
        if declared is None:
            log.error("route.undeclared", route=route_template(connection))
            reason, error = "undeclared_route", ForbiddenError()
        elif principal is None or credential is None:
            reason = "unauthenticated" if presented is None else refused.reason
            error = NotAuthenticatedError()
        elif not await _csrf_ok(connection, credential):
            reason, error = "csrf", CsrfError("Send the session's CSRF token in the X-CSRF-Token header.")
        elif not principal.has(declared):
            reason, error = "forbidden", ForbiddenError("Your role does not permit this action.")
        if error is not None:
            await record_event(
                session,
                action=IdentityAuditAction.ACCESS_DENIED,
                actor=principal.actor if principal else ANONYMOUS,
                outcome=AuditOutcome.DENIED,
                details={
                    "permission": declared,
                    "route": route_template(connection),
                    "method": connection.scope.get("method"),
                    "reason": reason,
                    **refused.details,
                },
                **audit_fields(connection),
            )
        await session.commit()
    if error is not None:
        raise error
    connection.scope["user"] = principal
    connection.scope["auth"] = credential
