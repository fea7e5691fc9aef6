"""Auditor pages: the log's verification status (verify on demand), the event search, and the
inclusion proof of a single position.

Like the auditor API, every read of the log is itself audited (`audit:checkpoint:read`,
`audit:event:read`, `audit:proof:read`), and so is each verification run (`audit:log:verify`, with its
result). Searches are POST forms, so that actor and target ids never appear in a URL or an access log;
a log position is no such id, so the proof page is a GET form that can be bookmarked and linked to.
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
from referral_service.audit.actions import AuditLogAction
from referral_service.audit.keys import AuditKeys
from referral_service.audit.recorder import AuditOutcome, from_us, record_event
from referral_service.audit.service import (
    EventQuery,
    LogDamagedError,
    ProofUnavailableError,
    VerificationReport,
    check_inclusion,
    search_events,
    verify_log,
)
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
# Positions are 0-based and below 2**63 (a bigint); 18 digits keep any entry within that.
_POSITION_DIGITS = 18


def _day_start(day: dt.date) -> dt.datetime:
    """The start of a local calendar day (as an aware time)."""
    return dt.datetime.combine(day, dt.time(), LOCAL_ZONE)


def _query(data: FormInput) -> EventQuery:
    since = data.date("since")
    until = data.date("until")
    # At most 18 digits: every such number fits the log's 64-bit positions.
    after = data.text("after_id", max_length=18, pattern=r"[0-9]{1,18}")
    if until is not None and until >= dt.date.max:
        data.error("until", N_("form.error.date"))
        until = None
    return EventQuery(
        actor_id=data.text("actor_id", max_length=64, pattern=_ID_PATTERN),
        action=data.text("action", max_length=100, pattern=r"[a-z_]+:[a-z_]+:[a-z_]+"),
        target_type=data.text("target_type", max_length=50, pattern=r"[a-z_]{1,50}"),
        target_id=data.text("target_id", max_length=64, pattern=_ID_PATTERN),
        since=_day_start(since) if since else None,
        # The form's "until" day counts in full: the search ends where the next day starts.
        until=_day_start(until + dt.timedelta(days=1)) if until else None,
        after_id=int(after) if after else None,
        limit=PAGE_SIZE,
    )


def _position(data: FormInput) -> int | None:
    """The log position asked for: None when the form was not sent yet, or with an error when the
    value is missing or not a position."""
    text = data.text("position", required="position" in data.form, max_length=_POSITION_DIGITS + 1)
    if text is None:
        return None
    if not text.isascii() or not text.isdigit() or len(text) > _POSITION_DIGITS:
        data.error("position", N_("audit.proof.error.position"))
        return None
    return int(text)


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
        action=AuditLogAction.CHECKPOINT_READ,
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
            action=AuditLogAction.LOG_VERIFY,
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
        query = _query(data)
        if not data.ok:
            return page(
                request,
                "audit/events.html",
                status_code=422,
                context={"events": None, "errors": data.errors, "values": data.values},
            )
        found = await search_events(db_session, query, actor=principal.actor, audit=audit_fields(request))
        return page(
            request,
            "audit/events.html",
            context={
                "events": found.events,
                "next_after_id": found.next_after_id,
                "values": data.values,
                "details_text": lambda details: json.dumps(details, ensure_ascii=False, sort_keys=True),
            },
        )

    @get("/nachweis", opt=requires(Permission.AUDIT_PROOF_READ))
    async def inclusion_proof(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Response[Any]:
        """Prove one position against the newest signed checkpoint and show every step of the check."""
        data = FormInput(request.query_params)
        seq = _position(data)
        latest = await repository.checkpoints_in_order(db_session, newest_first=True, limit=1)
        check = None
        damaged = False
        status_code = 200 if data.ok else 422
        if seq is not None:
            try:
                check = await check_inclusion(db_session, seq, state.audit_keys)
            except LogDamagedError:
                # Not the auditor's input but the log: say so, and point to the full verification.
                damaged = True
                status_code = 409
            except ProofUnavailableError:
                data.error("position", N_("audit.proof.error.unavailable"))
                status_code = 404
        if seq is not None and (check is not None or damaged):
            # A damaged log found here is recorded too: the auditor's discovery leaves a trace.
            await record_event(
                db_session,
                action=AuditLogAction.PROOF_READ,
                actor=principal.actor,
                outcome=AuditOutcome.SUCCESS
                if check is not None and check.verified
                else AuditOutcome.FAILURE,
                target_type="audit_log",
                target_id=str(seq),
                details=(
                    {"tree_size": check.proof.tree_size, "verified": check.verified}
                    if check is not None
                    else {"verified": False, "reason": "log_damaged"}
                ),
                **audit_fields(request),
            )
        return page(
            request,
            "audit/proof.html",
            status_code=status_code,
            context={
                "check": check,
                "damaged": damaged,
                "covered": latest[0].tree_size if latest else 0,
                "errors": data.errors,
                "values": data.values,
            },
        )


__all__ = ["AUDIT_AREA", "AuditPages"]
