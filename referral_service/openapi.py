"""The OpenAPI document as an exact contract: every answer a route can give, documented once.

Litestar documents each operation's success and a 400 of its own shape. The service answers more: a
problem document (`referral_service.problems`, RFC 9457) for every refusal, a request id header on every
response, `Retry-After` with 429 and 503. `complete_document` adds these to every operation when the
document is first served, from what the route itself declares, so no controller lists them by hand:

- every operation: 503 (the database cannot be reached right now);
- a route that declares a permission: 401 (no or an invalid credential), 403 (role or CSRF token), and
  409 when it changes something (an invalid transition, a name already taken);
- a path parameter converted beyond its pattern (an enum): 422;
- path parameters, or a body that names another object by id: 404 (unknown, or outside the caller's
  scope: both look the same);
- query parameters: 422 (a value of the wrong type or out of range);
- a JSON body: 400 (not JSON), 413 (too large), 415 (not declared JSON), 422 (with `errors`);
- behind a rate limiter: 429.

A route that answers something no rule above implies (a login throttle, an erased case) says so on its
decorator, `responses=problems(429)`. Request bodies whose type refuses unknown fields say so
(`additionalProperties: false`), and request timestamps carry the time the document was built as their
example: the service refuses event times in the future or too far past, so "now" is the example that
a client (or a fuzzer) can send; the document is rebuilt daily so the example stays valid.
"""

from __future__ import annotations

import copy
import datetime as dt
import typing
import uuid
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import Litestar, Request
from litestar.handlers import HTTPRouteHandler
from litestar.middleware.rate_limit import RateLimitMiddleware
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.routes import HTTPRoute

from referral_service.identity.guards import is_automatic_options, route_declaration
from referral_service.identity.permissions import Permission
from referral_service.problems import PROBLEM_JSON, Problem, phrase
from referral_service.request_context import REQUEST_ID_HEADER

_COMPONENTS = "#/components/schemas/"
_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_RETRY_AFTER = (HTTPStatus.TOO_MANY_REQUESTS, HTTPStatus.SERVICE_UNAVAILABLE)
# Route option: media types a success is also served as (`opt={ALSO_SERVED_AS: ("text/csv",)}`).
ALSO_SERVED_AS = "also_served_as"


def problem_statuses(handler: HTTPRouteHandler, operation: dict[str, Any]) -> set[int]:
    """The problem statuses this operation can answer (see the module docstring)."""
    statuses = {HTTPStatus.SERVICE_UNAVAILABLE.value}
    if isinstance(route_declaration(handler), Permission):
        statuses |= {401, 403}
        if handler.http_methods & _UNSAFE_METHODS:
            statuses.add(409)
    places = {parameter.get("in") for parameter in operation.get("parameters", [])}
    if "path" in places:
        statuses.add(404)
        if any(_checked_path_parameter(p) for p in operation.get("parameters", [])):
            statuses.add(422)
    if "query" in places:
        statuses.add(422)
    body_type = _json_body_type(handler)
    if body_type is not None:
        statuses |= {400, 413, 415, 422}
        if _names_an_object(body_type):
            statuses.add(404)
    elif "requestBody" in operation:  # a route that reads its own body (an upload) checks it itself
        statuses.add(413)
    if any(_is_rate_limiter(middleware) for middleware in handler.resolve_middleware()):
        statuses.add(429)
    statuses |= {int(status) for status in handler.responses or {} if int(status) >= 400}
    return statuses


def _checked_path_parameter(parameter: dict[str, Any]) -> bool:
    """A path parameter Litestar converts beyond its route pattern (an enum: `/roles/{role}`); a uuid
    that does not parse simply matches no route (404)."""
    return parameter.get("in") == "path" and parameter.get("schema", {}).get("format") != "uuid"


def _names_an_object(body_type: Any) -> bool:
    """Whether the body refers to another object by its id (a unit, an assignee): unknown, or out of the
    caller's scope, is 404 as for a path parameter."""
    return any(
        uuid.UUID in _leaves(hint)
        for struct in _structs(body_type)
        for hint in typing.get_type_hints(struct).values()
    )


def _leaves(annotation: Any) -> set[Any]:
    arguments = typing.get_args(annotation)
    return {annotation} if not arguments else {leaf for arg in arguments for leaf in _leaves(arg)}


def _is_rate_limiter(middleware: Any) -> bool:
    target = getattr(middleware, "middleware", middleware)
    return isinstance(target, type) and issubclass(target, RateLimitMiddleware)


def _json_body_type(handler: HTTPRouteHandler) -> Any | None:
    parameter = handler.parsed_fn_signature.parameters.get("data")
    return None if parameter is None else parameter.annotation


def _structs(annotation: Any) -> Iterator[type[msgspec.Struct]]:
    """Every msgspec type in `annotation`, nested ones included."""
    seen: set[type[msgspec.Struct]] = set()
    pending = [annotation]
    while pending:
        current = pending.pop()
        if isinstance(current, type) and issubclass(current, msgspec.Struct):
            if current in seen:
                continue
            seen.add(current)
            yield current
            pending.extend(typing.get_type_hints(current, include_extras=True).values())
        else:
            pending.extend(typing.get_args(current))


def _component_of(struct: type[msgspec.Struct], schemas: dict[str, Any]) -> dict[str, Any] | None:
    """The component Litestar generated for `struct` (named after the class; a prefixed name when two
    classes share one), recognised by its title and properties."""
    names = {field.encode_name for field in msgspec.structs.fields(struct)}
    for schema in schemas.values():
        if schema.get("title") == struct.__name__ and set(schema.get("properties", {})) == names:
            return typing.cast(dict[str, Any], schema)
    return None


def _problem_components() -> dict[str, Any]:
    _, components = msgspec.json.schema_components([Problem], ref_template=_COMPONENTS + "{name}")
    components["Problem"]["additionalProperties"] = True  # RFC 9457 extension members
    return components


def _request_id_header() -> dict[str, Any]:
    return {
        "description": "The request's id, quoted in problem details and the service's log",
        "required": True,
        "schema": {"type": "string"},
    }


def _problem_response(status: int) -> dict[str, Any]:
    headers: dict[str, Any] = {REQUEST_ID_HEADER.decode(): _request_id_header()}
    if status in _RETRY_AFTER:
        headers["Retry-After"] = {
            "description": "Seconds to wait before trying again",
            "required": True,
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        }
    return {
        "description": phrase(status),
        "headers": headers,
        "content": {PROBLEM_JSON: {"schema": {"$ref": _COMPONENTS + "Problem"}}},
    }


def _stamp_timestamps(schema: dict[str, Any], schemas: dict[str, Any], now: str, seen: set[int]) -> None:
    """`examples: [now]` on every date-time property of a request schema, nested ones included."""
    if id(schema) in seen:
        return
    seen.add(id(schema))
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(_COMPONENTS):
        _stamp_timestamps(schemas.get(ref.removeprefix(_COMPONENTS), {}), schemas, now, seen)
    if schema.get("format") == "date-time":
        schema["examples"] = [now]
    for key in ("oneOf", "anyOf", "allOf"):
        for item in schema.get(key, []):
            _stamp_timestamps(item, schemas, now, seen)
    for child in (*schema.get("properties", {}).values(), schema.get("items")):
        if isinstance(child, dict):
            _stamp_timestamps(child, schemas, now, seen)


def _operations(app: Litestar, document: dict[str, Any]) -> Iterator[tuple[HTTPRouteHandler, dict[str, Any]]]:
    paths = document.get("paths", {})
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or (route.path_format or "/") not in paths:
            continue
        for handler in route.route_handlers:
            for method in handler.http_methods:
                operation = paths[route.path_format or "/"].get(method.lower())
                if operation is not None:
                    yield handler, operation


def complete_document(app: Litestar, document: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    """A copy of Litestar's `document` with every problem response, the response headers, closed
    request types and current timestamp examples (see the module docstring)."""
    document = copy.deepcopy(document)
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(_problem_components())
    stamp = now.astimezone(dt.UTC).replace(microsecond=0).isoformat()
    for handler, operation in _operations(app, document):
        responses = operation.setdefault("responses", {})
        for status in [key for key in responses if int(key) >= 400]:
            del responses[status]  # Litestar's own 400 shape, or a declared problem: rewritten below
        for status in sorted(problem_statuses(handler, operation)):
            responses[str(status)] = _problem_response(status)
        for response in responses.values():
            response.setdefault("headers", {})[REQUEST_ID_HEADER.decode()] = _request_id_header()
        for media_type in handler.opt.get(ALSO_SERVED_AS, ()):
            for status, response in responses.items():
                if int(status) < 300 and "content" in response:
                    response["content"][media_type] = {"schema": {"type": "string"}}
        body_type = _json_body_type(handler)
        for struct in _structs(body_type) if body_type is not None else ():
            component = _component_of(struct, schemas)
            if component is not None and struct.__struct_config__.forbid_unknown_fields:
                component["additionalProperties"] = False
        for content in operation.get("requestBody", {}).get("content", {}).values():
            _stamp_timestamps(content.get("schema", {}), schemas, stamp, set())
    return document


class ContractRenderPlugin(JsonRenderPlugin):
    """Serves `/schema/openapi.json`: Litestar's document completed by `complete_document`, built once a
    day (the timestamp examples must not age past what the service accepts)."""

    def __init__(self) -> None:
        super().__init__()
        self._rendered: tuple[dt.date, bytes] | None = None

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        now = dt.datetime.now(dt.UTC)
        if self._rendered is None or self._rendered[0] != now.date():
            document = complete_document(request.app, openapi_schema, now)
            self._rendered = (now.date(), self.render_json(request, document))
        return self._rendered[1]


def repair_allow_headers(app: Litestar) -> None:
    """Litestar answers OPTIONS with the methods of the route as it was when its first handler was
    registered: a path whose handlers come in twice (GET from one registration, POST from another)
    then leaves a method out of `Allow`. Each automatic OPTIONS handler is pointed at its final route."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if is_automatic_options(handler) and handler.fn.__closure__:
                for cell in handler.fn.__closure__:
                    if isinstance(cell.cell_contents, HTTPRoute):
                        cell.cell_contents = route


__all__ = [
    "ALSO_SERVED_AS",
    "ContractRenderPlugin",
    "complete_document",
    "problem_statuses",
    "repair_allow_headers",
]
