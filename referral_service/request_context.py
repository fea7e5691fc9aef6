"""Request ids and request logging.

Every request gets an id (a well-formed incoming `X-Request-ID` from the load balancer is kept, anything
else replaced) that is bound to every log line of the request, returned in the response header and
quoted in problem details, so an operator can find the log line for a failure a user reports.
The middleware wraps the whole application, router included (see `referral_service.app`), so answers
no route produces (404, 405, a rate limiter's 429) carry the id and are logged with their status too.
Request lines log the path without the query string: URLs never carry personal data by design, and
query strings are where a mistake would put it.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from referral_service.logging import get_logger

REQUEST_ID_HEADER = b"x-request-id"
_VALID_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._-]{8,64}$")

log = get_logger(__name__)


def request_context_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        incoming = dict(scope.get("headers", [])).get(REQUEST_ID_HEADER, b"")
        request_id = incoming.decode() if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status_holder: dict[str, Any] = {"status": 500}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER, request_id.encode()))
                message = {**message, "headers": headers}  # type: ignore[typeddict-item]
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await app(scope, receive, send_with_id)
            finally:
                log.info(
                    "request.completed",
                    method=scope.get("method"),
                    path=scope.get("path"),
                    status=status_holder["status"],
                    duration_ms=round((time.perf_counter() - started) * 1000, 2),
                )

    return middleware
