"""Errors on page routes: an HTML page for browsers, the usual problem details for everyone else.

The page routers register these handlers. Each first asks the application's problem-details handler
for the answer (status, stable code, headers, and its logging of unexpected failures), then, when the
caller is a browser (it accepts `text/html`, or is an HTMX request), renders that answer as a page in
the user's language. API clients and the permission-matrix test keep getting JSON.

A browser without a valid session is sent to the sign-in page; when it presented a session cookie,
the session has ended (30 minutes idle, or signed out elsewhere), and the sign-in page says so.

An unmatched path has no route and so no route handlers: `NOT_FOUND_HANDLERS` are registered on the
app and give browsers the same 404 page, while `/api/...` and non-browser callers keep problem details.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.response import Redirect
from litestar.status_codes import HTTP_303_SEE_OTHER
from litestar.types import ExceptionHandlersMap

from referral_service.identity.controllers.auth import session_cookie
from referral_service.identity.tokens import SESSION_COOKIE
from referral_service.problems import EXCEPTION_HANDLERS, DomainError
from referral_service.web.i18n import translator_for
from referral_service.web.render import page
from referral_service.web.security import page_security_headers, response_security_headers

LOGIN_PATH = "/anmelden"
EXPIRED_PARAMETER = "abgelaufen"


def wants_html(request: Request[Any, Any, Any]) -> bool:
    return "text/html" in request.headers.get("accept", "") or request.headers.get("hx-request") == "true"


def login_redirect(request: Request[Any, Any, Any]) -> Response[Any]:
    query: dict[str, str] = {}
    if request.method == "GET":
        query["weiter"] = request.url.path
    cookies = []
    if request.cookies.get(SESSION_COOKIE):
        query[EXPIRED_PARAMETER] = "1"
        cookies.append(session_cookie("", 0))
    target = LOGIN_PATH + ("?" + urlencode(query) if query else "")
    if request.headers.get("hx-request") == "true":
        # HTMX would swap the sign-in page into a fragment; have it load the whole page instead.
        return Response(None, status_code=401, headers={"HX-Redirect": target}, cookies=cookies)
    return Redirect(target, status_code=HTTP_303_SEE_OTHER, cookies=cookies)


def error_page(
    request: Request[Any, Any, Any], status: int, code: str, headers: dict[str, str]
) -> Response[Any]:
    t = translator_for(request)
    key = f"error.{code}" if t.has(f"error.{code}.title") else f"error.status.{status}"
    if not t.has(f"{key}.title"):
        key = "error.status.500" if status >= 500 else "error.status.400"
    request_id = request.scope.get("state", {}).get("request_id")
    return page(
        request,
        "error.html",
        status_code=status,
        context={"error_title": t(f"{key}.title"), "error_text": t(f"{key}.text"), "request_id": request_id},
        headers={k: v for k, v in headers.items() if k.lower() == "retry-after"},
    )


def _negotiated(request: Request[Any, Any, Any], exc: Exception, base: type[Exception]) -> Response[Any]:
    problem = EXCEPTION_HANDLERS[base](request, exc)
    if not wants_html(request):
        return problem
    body = problem.content if isinstance(problem.content, dict) else {}
    status = problem.status_code or 500
    code = str(body.get("code", "error"))
    if status == 401 and code == "auth.unauthenticated":
        return login_redirect(request)
    return error_page(request, status, code, dict(problem.headers))


def _domain(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return _negotiated(request, exc, DomainError)


def _validation(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return _negotiated(request, exc, ValidationException)


def _http(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return _negotiated(request, exc, HTTPException)


def _internal(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return _negotiated(request, exc, Exception)


PAGE_EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    DomainError: _domain,
    ValidationException: _validation,
    HTTPException: _http,
    Exception: _internal,
}


def _not_found(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    problem = EXCEPTION_HANDLERS[HTTPException](request, exc)
    if request.url.path.startswith("/api/") or not wants_html(request):
        # The security-headers middleware wraps the router too (see app.py); this keeps the handler
        # complete on its own.
        problem.headers.update(response_security_headers())
        return problem
    response = error_page(request, 404, "route.not_found", {})
    response.headers.update(page_security_headers())
    return response


NOT_FOUND_HANDLERS: ExceptionHandlersMap = {NotFoundException: _not_found}
