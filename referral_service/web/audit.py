"""Auditor pages: the log's verification status (verify on demand) and the event search.

Like the auditor API, every read of the log is itself audited (`audit:checkpoint:read`,
`audit:event:read`), and so is each verification run (`audit:log:verify`, with its result). Searches
are POST forms, so that actor and target ids never appear in a URL or an access log.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.audit import repository
from referral_service.audit.keys import AuditKeys
from referral_service.audit.recorder import AuditOutcome, from_us, record_event
from referral_service.audit.schemas import AuditEventOut
from referral_service.audit.service import VerificationReport, verify_log
from referral_service.identity.http import audit_fields, requires
from referral_service.identity.permissions import Permission
from referral_service.identity.principal import Principal
from referral_service.identity.roles import Role
from referral_service.web.errors import PAGE_EXCEPTION_HANDLERS
from referral_service.web.formatting import LOCAL_ZONE
from referral_service.web.forms import FormInput, form_input
from referral_service.web.i18n import N_
from referral_service.web.render import Area, page

AUDIT_AREA = Area("/revision", N_("area.audit"), frozenset({Role.AUDITOR}))
PAGE_SIZE = 200
_ID_PATTERN = r"[A-Za-z0-9_.:\-]{1,64}"


def _event(row: Any) -> AuditEventOut:
    return AuditEventOut(
        id=row[0],
        seq=row[13],
        occurred_at=from_us(row[1]),
        action=row[2],
        outcome=row[3],
        actor_kind=row[4],
        actor_id=row[5],
        actor_roles=[role for role in row[6].split(",") if role],
        actor_unit_id=row[7],
        target_type=row[8],
        target_id=row[9],
        request_id=row[10],
        client_hash=row[11],
        details=json.loads(row[12]),
    )


def _micros(day: dt.date, *, end_of_day: bool = False) -> int:
    """A local calendar day's start (or the next day's start) in microseconds since the epoch."""
    start = dt.datetime.combine(day + dt.timedelta(days=1) if end_of_day else day, dt.time(), LOCAL_ZONE)
    delta = start.astimezone(dt.UTC) - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _criteria(data: FormInput) -> repository.EventFilter:
    since = data.date("since")
    until = data.date("until")
    after = data.text("after_id", max_length=20, pattern=r"[0-9]{1,20}")
    return repository.EventFilter(
        actor_id=data.text("actor_id", max_length=64, pattern=_ID_PATTERN),
        action=data.text("action", max_length=100, pattern=r"[a-z_]+:[a-z_]+:[a-z_]+"),
        target_type=data.text("target_type", max_length=50, pattern=r"[a-z_]{1,50}"),
        target_id=data.text("target_id", max_length=64, pattern=_ID_PATTERN),
        since_us=_micros(since) if since else None,
        until_us=_micros(until, end_of_day=True) if until else None,
        after_id=int(after) if after else None,
    )


async def _overview(
    request: Request[Any, Any, Any],
    state: State,
    session: AsyncSession,
    principal: Principal,
    *,
    report: VerificationReport | None = None,
) -> Response[Any]:
    keys: AuditKeys = state.audit_keys
    size = await repository.log_size(session)
    checkpoints = await repository.checkpoints_in_order(session)
    await record_event(
        session,
        action="audit:checkpoint:read",
        actor=principal.actor,
        details={"returned": len(checkpoints)},
        **audit_fields(request),
    )
    latest = checkpoints[-5:][::-1]
    template = (
        "audit/_verification.html" if report and request.headers.get("hx-request") else "audit/overview.html"
    )
    return page(
        request,
        template,
        context={
            "log_size": size,
            "checkpoint_count": len(checkpoints),
            "checkpoints": [
                {
                    "tree_size": c.tree_size,
                    "root_hash": c.root_hash.hex(),
                    "created_at": from_us(c.created_at_us),
                }
                for c in latest
            ],
            "verifier_key": keys.signer.public_key_text(),
            "report": report,
        },
    )


class AuditPages(Controller):
    path = AUDIT_AREA.path
    include_in_schema = False
    exception_handlers = PAGE_EXCEPTION_HANDLERS

    @get("", opt=requires(Permission.AUDIT_CHECKPOINT_READ))
    async def overview(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Response[Any]:
        return await _overview(request, state, db_session, principal)

    @post("/pruefung", opt=requires(Permission.AUDIT_LOG_VERIFY), status_code=200)
    async def verify(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Response[Any]:
        """Recompute the whole log now (as `referral-service audit verify` does) and show the result."""
        # On its own connections, before this request's transaction takes any lock.
        report = await verify_log(state.engine, state.audit_keys)
        await record_event(
            db_session,
            action="audit:log:verify",
            actor=principal.actor,
            outcome=AuditOutcome.SUCCESS if report.ok else AuditOutcome.FAILURE,
            details={
                "tree_size": report.tree_size,
                "checkpoints_checked": report.checkpoints_checked,
                "first_bad_position": report.first_bad_position,
            },
            **audit_fields(request),
        )
        return await _overview(request, state, db_session, principal, report=report)

    @get("/ereignisse", opt=requires(Permission.AUDIT_EVENT_READ))
    async def search_form(self, request: Request[Any, Any, Any]) -> Response[Any]:
        return page(request, "audit/events.html", context={"events": None})

    @post("/ereignisse", opt=requires(Permission.AUDIT_EVENT_READ), status_code=200)
    async def search(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Response[Any]:
        data = await form_input(request)
        criteria = _criteria(data)
        if not data.ok:
            return page(
                request,
                "audit/events.html",
                status_code=422,
                context={"events": None, "errors": data.errors, "values": data.values},
            )
        events = [_event(row) for row in await repository.find_events(db_session, criteria, PAGE_SIZE)]
        await record_event(
            db_session,
            action="audit:event:read",
            actor=principal.actor,
            details={
                "returned": len(events),
                "filtered_by": sorted(name for name in criteria.__slots__ if getattr(criteria, name)),
            },
            **audit_fields(request),
        )
        return page(
            request,
            "audit/events.html",
            context={
                "events": events,
                "next_after_id": events[-1].id if len(events) == PAGE_SIZE else None,
                "values": data.values,
                "details_text": lambda details: json.dumps(details, ensure_ascii=False, sort_keys=True),
            },
        )


__all__ = ["AUDIT_AREA", "AuditPages"]
