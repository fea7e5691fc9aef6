"""`record_event(...)`: one audit event, written in the caller's transaction.

The event commits or rolls back together with the change it records, so the log can never claim a
change that did not happen, nor miss one that did. Events carry ids, codes and field names only; a
detail value that looks like free text is refused, because free text is where personal data would hide.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.audit.actions import AuditAction
from referral_service.audit.models import AuditEvent

_DETAIL_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# Ids, codes, field names, enum values, ISO dates: no spaces, no '@', nothing that reads like a name.
_DETAIL_VALUE = re.compile(r"^[A-Za-z0-9_.:/+\-]{0,128}$")
# Never in a stored field: NUL (PostgreSQL text cannot hold it) and the record separator that
# verification uses to split PostgreSQL's aggregated chunks.
_FORBIDDEN = frozenset("\x00\x1d")
# The order in which event columns enter a leaf. Changing it invalidates every existing log.
EVENT_COLUMN_ORDER = (
    "id",
    "occurred_at_us",
    "action",
    "outcome",
    "actor_kind",
    "actor_id",
    "actor_roles",
    "actor_unit_id",
    "target_type",
    "target_id",
    "request_id",
    "client_hash",
    "details",
)


class ActorKind(StrEnum):
    USER = "user"
    ANONYMOUS = "anonymous"
    COMPLAINANT = "complainant"
    SYSTEM = "system"


class AuditOutcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    DENIED = "denied"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acted. Built from the authenticated principal, or one of the constants below."""

    kind: ActorKind
    user_id: str | None = None
    roles: tuple[str, ...] = ()
    unit_id: str | None = None


ANONYMOUS = Actor(ActorKind.ANONYMOUS)
SYSTEM = Actor(ActorKind.SYSTEM)


class AuditDetailError(ValueError):
    """A detail would put free text (possibly personal data) into the audit log."""


def client_address_hash(secret_key: bytes, address: str | None) -> str | None:
    """Salted, keyed hash of a client address: lets an auditor correlate, never recover, the address."""
    if not address:
        return None
    key = hashlib.sha256(b"audit-client-address:v1:" + secret_key).digest()
    return hmac.new(key, address.encode(), hashlib.sha256).hexdigest()[:32]


def now_us() -> int:
    return to_us(dt.datetime.now(dt.UTC))


def to_us(moment: dt.datetime) -> int:
    """Integer microseconds since the epoch (UTC), the audit tables' time format."""
    delta = moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(value: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=value)


def encode_details(details: Mapping[str, Any] | None) -> str:
    if not details:
        return "{}"
    clean: dict[str, Any] = {}
    for key, value in details.items():
        if not _DETAIL_KEY.match(key):
            raise AuditDetailError(f"audit detail key {key!r} is not an identifier")
        clean[key] = _detail_value(key, value)
    return json.dumps(clean, sort_keys=True, separators=(",", ":"))


def _detail_value(key: str, value: Any) -> Any:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, StrEnum):
        value = value.value
    if isinstance(value, str):
        if not _DETAIL_VALUE.match(value):
            # The value itself is not echoed: it may be exactly what must not be written anywhere.
            raise AuditDetailError(f"audit detail {key!r} must be an id, code or field name")
        return value
    if isinstance(value, Sequence):
        return [_detail_value(key, item) for item in value]
    raise AuditDetailError(f"audit detail {key!r} has an unsupported type")


def canonical_event_bytes(values: Sequence[Any]) -> bytes:
    """The bytes a log leaf commits to: the event's columns (in `EVENT_COLUMN_ORDER`) as a record in
    PostgreSQL's text format, `(1,1790000000000000,referral:referral:read,...)`.

    Every column counts, so changing any field changes the leaf. The format is PostgreSQL's own
    (`ROW(...)::text`): NULL is empty, a value is double-quoted when it is empty or contains a quote,
    backslash, parenthesis, comma or white space, and inside quotes `"` and `\\` are doubled. Using it
    lets PostgreSQL produce these bytes at C speed for verification while this function produces them
    for the sequencer and SQLite; the tests on both engines keep the two identical.
    """
    return ("(" + ",".join(map(_record_field, values)) + ")").encode()


_NEEDS_QUOTES = frozenset('"\\(),' + " \t\n\r\v\f")


def _record_field(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    if text and _NEEDS_QUOTES.isdisjoint(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '""') + '"'


def event_values(event: AuditEvent) -> tuple[Any, ...]:
    return tuple(getattr(event, name) for name in EVENT_COLUMN_ORDER)


def _plain(value: str | None, name: str) -> str | None:
    if value is not None and (len(value) > 64 or not _FORBIDDEN.isdisjoint(value)):
        raise AuditDetailError(f"audit {name} is not a valid identifier")
    return value


async def record_event(
    session: AsyncSession,
    *,
    action: AuditAction,
    actor: Actor,
    outcome: AuditOutcome = AuditOutcome.SUCCESS,
    target_type: str | None = None,
    target_id: str | None = None,
    details: Mapping[str, Any] | None = None,
    request_id: str | None = None,
    client_hash: str | None = None,
) -> AuditEvent:
    """Add an audit event to `session`'s transaction (flushed with it, committed with it)."""
    if not isinstance(action, AuditAction):
        # A plain string would be a new, undeclared action: refused before anything is written.
        raise TypeError("audit action must be a member of an AuditAction enum")
    event = AuditEvent(
        occurred_at_us=now_us(),
        action=action.value,
        outcome=AuditOutcome(outcome).value,
        actor_kind=actor.kind.value,
        actor_id=_plain(actor.user_id, "actor id"),
        actor_roles=",".join(sorted(actor.roles)),
        actor_unit_id=_plain(actor.unit_id, "actor unit"),
        target_type=_plain(target_type, "target type"),
        target_id=_plain(target_id, "target id"),
        request_id=_plain(request_id, "request id"),
        client_hash=_plain(client_hash, "client hash"),
        details=encode_details(details),
    )
    session.add(event)
    return event


def request_audit_fields(
    scope_state: Mapping[str, Any], client_host: str | None, secret_key: bytes
) -> dict[str, Any]:
    """`request_id` and `client_hash` for `record_event`, from a request's scope state and client host."""
    return {
        "request_id": scope_state.get("request_id"),
        "client_hash": client_address_hash(secret_key, client_host),
    }
