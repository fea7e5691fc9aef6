"""Errors as RFC 9457 problem details, mapped in this one place.

Domains raise `DomainError` subclasses with a stable `code` (`referral.not_found`,
`complaint.invalid_transition`) and an `ErrorKind`; the kind alone decides the HTTP status. Clients never
see stack traces or internal messages: a 500 says only that something failed and names the request id,
which the log line for the failure carries too. A database that cannot be reached (restarting, connection
dropped, pool exhausted) is not a failure of the request: it answers 503 with `Retry-After`.
"""

from __future__ import annotations

from enum import Enum
from http import HTTPStatus
from typing import Any, ClassVar

import msgspec
from asyncpg.exceptions import TargetServerAttributeNotMatched
from litestar import Request, Response
from litestar.exceptions import (
    ClientException,
    HTTPException,
    NotFoundException,
    ValidationException,
)
from litestar.openapi.datastructures import ResponseSpec
from litestar.types import ExceptionHandlersMap
from sqlalchemy import exc as sa_exc

from crypto import KeyDestroyedError
from referral_service.logging import exception_fields, get_logger

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:referral-service:problem:"

log = get_logger(__name__)


class ErrorKind(Enum):
    INVALID = HTTPStatus.UNPROCESSABLE_ENTITY
    MALFORMED = HTTPStatus.BAD_REQUEST
    UNAUTHENTICATED = HTTPStatus.UNAUTHORIZED
    FORBIDDEN = HTTPStatus.FORBIDDEN
    NOT_FOUND = HTTPStatus.NOT_FOUND
    CONFLICT = HTTPStatus.CONFLICT
    GONE = HTTPStatus.GONE
    TOO_LARGE = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    UNSUPPORTED_MEDIA_TYPE = HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    RATE_LIMITED = HTTPStatus.TOO_MANY_REQUESTS
    UNAVAILABLE = HTTPStatus.SERVICE_UNAVAILABLE


class DomainError(Exception):
    """Base of every expected failure. `detail` is shown to the client: never put personal data in it."""

    code: ClassVar[str] = "error"
    kind: ClassVar[ErrorKind] = ErrorKind.INVALID
    title: ClassVar[str] = "The request could not be processed"

    def __init__(self, detail: str | None = None, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra or {}
        self.headers: dict[str, str] = {}


class ServiceNotReadyError(DomainError):
    code = "service.not_ready"
    kind = ErrorKind.UNAVAILABLE
    title = "The service is not ready"


def problem_response(
    request: Request[Any, Any, Any],
    *,
    status: int,
    code: str,
    title: str,
    detail: str | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    # Extension members first: none may replace a member the problem document defines (`status` is
    # the HTTP status, never a case's state).
    body: dict[str, Any] = dict(extra or {})
    body.update(type=PROBLEM_TYPE_PREFIX + code, title=title, status=status, code=code)
    if detail:
        body["detail"] = detail
    body["instance"] = request.url.path
    request_id = request.scope.get("state", {}).get("request_id")
    if request_id:
        body["request_id"] = request_id
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[dict[str, Any]]:
    return problem_response(
        request,
        status=exc.kind.value,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        extra=exc.extra,
        headers=exc.headers or None,
    )


_HTTP_CODES: dict[int, tuple[str, str]] = {
    400: ("request.malformed", "The request is malformed"),
    401: ("auth.unauthenticated", "Authentication required"),
    403: ("auth.forbidden", "Not permitted"),
    404: ("route.not_found", "Not found"),
    405: ("request.method_not_allowed", "Method not allowed"),
    413: ("request.too_large", "The request is too large"),
    415: ("request.unsupported_media_type", "Unsupported media type"),
    429: ("request.rate_limited", "Too many requests"),
}


def _case_erased(request: Request[Any, Any, Any], exc: KeyDestroyedError) -> Response[dict[str, Any]]:
    # A case whose key was destroyed (consent withdrawn, erasure, retention) has no personal data left;
    # any path that still tries to read it answers "gone", never an internal error.
    return problem_response(
        request,
        status=HTTPStatus.GONE,
        code="case.erased",
        title="The personal data of this case has been erased",
    )


def _validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    errors = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            errors.append(
                {
                    "field": str(item.get("key", "")),
                    "code": "value.invalid",
                    "message": str(item.get("message", "invalid value")),
                }
            )
    return problem_response(
        request,
        status=HTTPStatus.UNPROCESSABLE_ENTITY,
        code="request.validation",
        title="The request contains invalid values",
        detail="One or more fields are missing or invalid.",
        extra={"errors": errors},
    )


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    if status >= 500:
        return _internal_error(request, exc)
    code, title = _HTTP_CODES.get(status, ("request.error", HTTPStatus(status).phrase))
    # Litestar's client-error details describe the request's form (e.g. "JSON is malformed"), not data.
    detail = exc.detail if isinstance(exc, ClientException) and exc.detail else None
    if isinstance(exc, NotFoundException):
        detail = None
    headers = dict(exc.headers or {})
    if status == HTTPStatus.TOO_MANY_REQUESTS:
        # The rate limiter says when its window resets (`RateLimit-Reset`, seconds); clients and
        # browsers read `Retry-After`.
        reset = next((v for k, v in headers.items() if k.lower() == "ratelimit-reset"), None)
        if not any(k.lower() == "retry-after" for k in headers):
            headers["Retry-After"] = str(max(1, int(reset))) if reset and reset.isdigit() else "60"
    return problem_response(
        request, status=status, code=code, title=title, detail=detail, headers=headers or None
    )


# SQLSTATEs that say the server cannot serve now, not that the statement is wrong: class 08 (connection
# exception), too many connections, shutting down / starting up (a restart), and a read-only transaction
# (the connection reached a node that is no longer, or not yet, the primary: a failover under way).
_UNAVAILABLE_SQLSTATES = ("08", "25006", "53300", "57P01", "57P02", "57P03")
_DATABASE_PACKAGES = frozenset({"sqlalchemy", "asyncpg", "aiosqlite"})
DATABASE_RETRY_AFTER_SECONDS = 5


def _raised_in_database_driver(exc: BaseException) -> bool:
    tb = exc.__traceback__
    while tb is not None:
        if str(tb.tb_frame.f_globals.get("__name__", "")).split(".", 1)[0] in _DATABASE_PACKAGES:
            return True
        tb = tb.tb_next
    return False


def database_unavailable(exc: BaseException) -> bool:
    """True when `exc` says the database cannot be reached right now (refused, dropped, restarting, no
    free connection in the pool); False for anything a retry would not cure, such as wrong SQL."""
    if isinstance(exc, sa_exc.TimeoutError):  # no pooled connection became free in time
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:  # the connection dropped under the statement
            return True
        if exc.statement is None and isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)):
            return True  # failed while connecting (SQLite: the file cannot be opened)
        if isinstance(getattr(exc.orig, "__cause__", None), TargetServerAttributeNotMatched):
            return True  # a multi-host URL reached no primary: a failover under way
        sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_UNAVAILABLE_SQLSTATES):
            return True
        # SQLite: another writer held the database past the busy timeout.
        return str(getattr(exc.orig, "sqlite_errorname", "")).startswith("SQLITE_BUSY")
    # The driver's connect fails with a bare OSError (refused, reset, timeout, unknown host); an OSError
    # from anywhere else (a key file, say) is a fault of this service and stays a 500.
    return isinstance(exc, OSError) and _raised_in_database_driver(exc)


def _database_unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.warning(
        "request.database_unavailable",
        method=request.method,
        path=request.url.path,
        exc_type=f"{type(exc).__module__}.{type(exc).__qualname__}",
    )
    return problem_response(
        request,
        status=HTTPStatus.SERVICE_UNAVAILABLE,
        code="service.unavailable",
        title="The service is temporarily unavailable",
        detail="The database cannot be reached at the moment. Please try again shortly.",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )


def _internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    if database_unavailable(exc):
        return _database_unavailable(request, exc)
    log.error(
        "request.failed",
        method=request.method,
        path=request.url.path,
        **exception_fields(exc),
    )
    return problem_response(
        request,
        status=HTTPStatus.INTERNAL_SERVER_ERROR,
        code="internal",
        title="Internal error",
        detail="The request failed. Please quote the request id when reporting this.",
    )


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    DomainError: _domain_error,
    KeyDestroyedError: _case_erased,
    ValidationException: _validation_error,
    HTTPException: _http_error,
    Exception: _internal_error,
}

__all__ = [
    "EXCEPTION_HANDLERS",
    "PROBLEM_JSON",
    "DomainError",
    "ErrorKind",
    "ServiceNotReadyError",
    "problem_response",
]


# The problem document as the OpenAPI document declares it (`referral_service.openapi`).
class FieldProblem(msgspec.Struct):
    """One wrong field of a request (`referral_service.validation.FieldError`)."""

    field: str
    code: str
    message: str


class Problem(msgspec.Struct):
    """A refusal or failure as RFC 9457 problem details (`referral_service.problems`). Further members
    may follow (`errors` for `request.validation`)."""

    type: str
    title: str
    status: int
    code: str
    instance: str
    detail: str | None = None
    request_id: str | None = None
    errors: list[FieldProblem] | None = None


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """`responses=` for a route that answers a problem no rule of this module implies."""
    return {
        status: ResponseSpec(data_container=Problem, media_type=PROBLEM_JSON, description=phrase(status))
        for status in statuses
    }


def phrase(status: int) -> str:
    return HTTPStatus(status).phrase
