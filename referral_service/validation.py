"""Every error of a request body at once, field by field, in the order the request type declares them.

msgspec stops at the first wrong field, so a client fixing one error would meet the next on the next try.
`check_request_body` runs before a handler whose body is a msgspec type: when the body does not convert,
`field_errors` walks the type and converts each field on its own, collecting one error per wrong field
(nested types and lists included), and the request is refused with all of them.

Before that, on every `/api/` route whose handler takes a JSON body, the body must be declared JSON
(`application/json` or `application/*+json`), else 415: a browser form (urlencoded, multipart,
text/plain) from another site cannot pass for an API request. No `/api/` route decodes a
`Content-Encoding`, so one is refused (415) rather than read as if it were plain. Routes that read their
own body (the complainant's attachment upload) check its type themselves.

`SafeJsonRequest` is the application's request class: a JSON body nested beyond what the decoder can
recurse into is malformed (400), not an internal error.
"""

from __future__ import annotations

import re
import typing
from dataclasses import dataclass
from functools import cache
from typing import Any

import msgspec
from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.exceptions import ClientException, SerializationException

from referral_service.problems import DomainError, ErrorKind
from referral_service.values import ValueKind, kind_of


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str  # dotted path as the client sent it: "victim.email", "requested_support[2]"
    code: str  # "value.required", "value.email", "value.invalid", "value.unknown_field"
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


class RequestValidationError(DomainError):
    code = "request.validation"
    kind = ErrorKind.INVALID
    title = "The request contains invalid values"

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(
            "One or more fields are missing or invalid.",
            extra={"errors": [error.as_dict() for error in errors]},
        )
        self.errors = errors


_KIND_MESSAGES = {
    "email": "Expected an e-mail address such as name@example.de",
    "phone": "Expected a phone number: digits, optionally + ( ) / . - and spaces, at least 6 digits",
    "postcode": "Expected a German postcode of 5 digits",
    "date": "Expected a date as YYYY-MM-DD",
    "month": "Expected a month as YYYY-MM",
    "day_or_month": "Expected a date as YYYY-MM-DD, or YYYY-MM when only the month is known",
}
_UnionType = type(int | None)
# msgspec appends where the error is ("- at `$.victim`"); the field path says that already.
_LOCATION = re.compile(r" - at `\$[^`]*`$")


def _path(parent: str, name: str) -> str:
    return f"{parent}.{name}" if parent else name


def _unwrap(annotation: Any) -> tuple[Any, ValueKind | None]:
    """The annotated type without its constraint, and the value kind the constraint is (if any)."""
    kind = None
    if typing.get_origin(annotation) is typing.Annotated:
        base, *metadata = typing.get_args(annotation)
        kind = next((k for k in map(kind_of, metadata) if k is not None), None)
        return base, kind
    return annotation, None


def _struct_in(annotation: Any) -> type[msgspec.Struct] | None:
    """`Victim`, `Victim | None` -> Victim: a nested type to walk field by field."""
    union = typing.get_origin(annotation) in (typing.Union, _UnionType)
    candidates = typing.get_args(annotation) if union else (annotation,)
    structs = [c for c in candidates if isinstance(c, type) and issubclass(c, msgspec.Struct)]
    return structs[0] if len(structs) == 1 else None


def _value_errors(value: Any, annotation: Any, path: str) -> list[FieldError]:
    nested = _struct_in(annotation)
    if nested is not None and isinstance(value, dict):
        return field_errors(value, nested, path)
    if typing.get_origin(annotation) is list and isinstance(value, list):
        (item_type,) = typing.get_args(annotation) or (Any,)
        return [e for i, item in enumerate(value) for e in _value_errors(item, item_type, f"{path}[{i}]")]
    try:
        msgspec.convert(value, annotation, strict=False, str_keys=True)
    except msgspec.ValidationError as exc:
        kind = _kind_in(annotation)
        if kind is not None and isinstance(value, str):
            return [FieldError(path, kind.code, _KIND_MESSAGES.get(kind.name, "Invalid value"))]
        return [FieldError(path, "value.invalid", _LOCATION.sub("", str(exc)))]
    return _kind_check_errors(value, annotation, path)


def _kind_check_errors(value: Any, annotation: Any, path: str) -> list[FieldError]:
    """The error of a value its kind's own check refuses (the pattern let it through), else none."""
    kind = _kind_in(annotation)
    if kind is not None and kind.check is not None and isinstance(value, str) and not kind.check(value):
        return [FieldError(path, kind.code, _KIND_MESSAGES.get(kind.name, "Invalid value"))]
    return []


def _kind_in(annotation: Any) -> ValueKind | None:
    if typing.get_origin(annotation) in (typing.Union, _UnionType):
        kinds = [k for k in (_unwrap(arg)[1] for arg in typing.get_args(annotation)) if k is not None]
        return kinds[0] if kinds else None
    return _unwrap(annotation)[1]


@cache
def _hints(struct: type[msgspec.Struct]) -> dict[str, Any]:
    return typing.get_type_hints(struct, include_extras=True)


def field_errors(data: Any, struct: type[msgspec.Struct], parent: str = "") -> list[FieldError]:
    """One error per wrong field of `data` read as `struct`, in declaration order; [] when none."""
    if not isinstance(data, dict):
        return [FieldError(parent or "$", "value.invalid", "Expected an object")]
    info = msgspec.structs.fields(struct)
    hints = _hints(struct)
    errors: list[FieldError] = []
    for item in info:
        path = _path(parent, item.encode_name)
        if item.encode_name not in data:
            if item.required:
                errors.append(FieldError(path, "value.required", "This field is required"))
            continue
        errors.extend(_value_errors(data[item.encode_name], hints[item.name], path))
    if struct.__struct_config__.forbid_unknown_fields:
        known = {item.encode_name for item in info}
        errors.extend(
            FieldError(_path(parent, str(name)), "value.unknown_field", "Unknown field")
            for name in data
            if name not in known
        )
    return errors


class UnsupportedMediaTypeError(DomainError):
    code = "request.unsupported_media_type"
    kind = ErrorKind.UNSUPPORTED_MEDIA_TYPE
    title = "Unsupported media type"


class SafeJsonRequest(Request[Any, Any, Any]):
    """Litestar's request; every JSON body of every route is decoded here (`data`, `request.json()`)."""

    async def json(self) -> Any:
        try:
            return await super().json()
        except RecursionError:
            # The decoder recurses once per nesting level; a body nested deeper than the interpreter's
            # recursion limit is the client's fault, not ours.
            raise ClientException("The JSON body is nested too deeply.") from None


API_PREFIX = "/api/"
_JSON_MEDIA_TYPE = re.compile(r"^application/(?:[a-z0-9!#$&^_.-]+\+)?json$")
_BODYLESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@cache
def _takes_json_body(handler: Any) -> bool:
    parameter = handler.parsed_fn_signature.parameters.get("data")
    if parameter is None:
        return False
    media_type = getattr(parameter.kwarg_definition, "media_type", RequestEncodingType.JSON)
    return bool(media_type == RequestEncodingType.JSON)


def check_media_type(request: Request[Any, Any, Any]) -> None:
    """415 for an `/api/` request whose body is not declared JSON where the handler reads JSON, or that
    carries a `Content-Encoding`."""
    if request.method in _BODYLESS_METHODS or not request.url.path.startswith(API_PREFIX):
        return
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if encoding not in ("", "identity"):
        raise UnsupportedMediaTypeError("Content-Encoding is not supported; send the body uncompressed.")
    if not _takes_json_body(request.route_handler):
        return
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if not _JSON_MEDIA_TYPE.match(media_type):
        raise UnsupportedMediaTypeError("Send the body as JSON, with Content-Type: application/json.")


@cache
def _body_type(handler: Any) -> type[msgspec.Struct] | None:
    parameter = handler.parsed_fn_signature.parameters.get("data")
    annotation = getattr(parameter, "annotation", None)
    return annotation if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct) else None


async def check_request_body(request: Request[Any, Any, Any]) -> None:
    """Before every handler: refuse a body of the wrong media type (`check_media_type`); before a handler
    with a msgspec body, a body that does not convert or fails a kind's check, with all its errors. A
    body that is not JSON at all is left to the framework (400)."""
    check_media_type(request)
    struct = _body_type(request.route_handler)
    if struct is None or request.method in ("GET", "HEAD"):
        return
    try:
        data = await request.json()
    except SerializationException:
        return
    try:
        converted = msgspec.convert(data, struct, strict=False, str_keys=True)
    except msgspec.ValidationError:
        errors = field_errors(data, struct)
    else:
        # A pattern lets through what only a kind's own check refuses (a calendar date such as
        # 2026-02-30); run those checks alone, on the fields that have one.
        errors = _check_errors(converted, struct)
    if errors:
        raise RequestValidationError(errors)


def _annotation_has_checks(annotation: Any) -> bool:
    kind = _kind_in(annotation)
    if kind is not None and kind.check is not None:
        return True
    nested = _struct_in(annotation)
    if nested is not None:
        # A type that holds itself (directly or further down) is still being looked at: assume it has
        # checks, at the cost of walking a value that turns out to have none.
        return nested in _LOOKING_AT or bool(_checked_fields(nested))
    return any(_annotation_has_checks(arg) for arg in typing.get_args(annotation) if arg is not type(None))


_LOOKING_AT: set[type[msgspec.Struct]] = set()


@cache
def _checked_fields(struct: type[msgspec.Struct]) -> tuple[tuple[str, str, Any], ...]:
    """(attribute, name in the body, annotation) of each field of `struct` that is, or holds, a value of
    a kind with its own check (nested types and lists included)."""
    hints = _hints(struct)
    _LOOKING_AT.add(struct)
    try:
        return tuple(
            (item.name, item.encode_name, hints[item.name])
            for item in msgspec.structs.fields(struct)
            if _annotation_has_checks(hints[item.name])
        )
    finally:
        _LOOKING_AT.discard(struct)


def _check_errors(value: Any, struct: type[msgspec.Struct], parent: str = "") -> list[FieldError]:
    """The fields of a converted `value` whose kind's own check refuses them, in declaration order."""
    errors: list[FieldError] = []
    for name, encode_name, annotation in _checked_fields(struct):
        errors.extend(_checked_value_errors(getattr(value, name), annotation, _path(parent, encode_name)))
    return errors


def _checked_value_errors(value: Any, annotation: Any, path: str) -> list[FieldError]:
    if isinstance(value, msgspec.Struct):
        return _check_errors(value, type(value), path)
    if isinstance(value, list):
        # `list[X]` or `list[X] | None`: the type of the items.
        lists = [a for a in (annotation, *typing.get_args(annotation)) if typing.get_origin(a) is list]
        item_type = typing.get_args(lists[0])[0] if lists else Any
        return [
            error
            for i, item in enumerate(value)
            for error in _checked_value_errors(item, item_type, f"{path}[{i}]")
        ]
    return _kind_check_errors(value, annotation, path)
