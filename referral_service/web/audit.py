"""Auditor pages: the log's verification status (verify on demand), the event search, and the
inclusion proof of a single position.

Like the auditor API, every read of the log is itself audited (`audit:checkpoint:read`,
`audit:event:read`, `audit:proof:read`), and so is each verification run (`audit:log:verify`, with its
result). Searches are POST forms, so that user names, actor and target ids never appear in a URL or an access
log (the next page, too, is posted: filters and cursor in hidden fields);
a log position is no such id, so the proof page is a GET form that can be bookmarked and linked to.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import MultiDict, State
from litestar.di import NamedDependency
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service import listing
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
    export_events,
    search_events,
    verify_log,
)
from referral_service.identity.http import audit_fields, requires
from referral_service.identity.permissions import Permission
from referral_service.identity.principal import Principal
from referral_service.identity.roles import Role
from referral_service.listing import (
    PAGE_SIZE,
    ExportTooLargeError,
    InvalidCursorError,
    InvalidRangeError,
    check_range,
    csv_response,
    day_start,
    next_day_start,
)
from referral_service.web.audit_search import (
    EXPORT_FILE_NAME,
    UnknownUserNameError,
    action_groups,
    action_label,
    csv_text,
    is_known_action,
    names_for,
    role_text,
    searched_actors,
)
from referral_service.web.errors import PAGE_EXCEPTION_HANDLERS
from referral_service.web.forms import FormInput, form_input
from referral_service.web.i18n import N_, translator_for
from referral_service.web.render import Area, page

AUDIT_AREA = Area("/revision", N_("area.audit"), frozenset({Role.AUDITOR}))
# Positions are 0-based and below 2**63 (a bigint); 18 digits keep any entry within that.
_POSITION_DIGITS = 18


# The search's filters, as the form and the paging forms post them (never in a URL: user names and
# target ids identify people).
FILTERS = ("actor", "actor_id", "action", "outcome", "target_type", "target_id", "since", "until")
_ID_PATTERN = r"[A-Za-z0-9_.:\-]{1,64}"
_USERNAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._\-]{0,63}"
_CURSOR_PATTERN = r"[A-Za-z0-9_\-]{1,200}"


def _days(data: FormInput) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The form's local days as the moments the search runs between; the "until" day counts in full."""
    since, until = data.date("since"), data.date("until")
    try:
        start = day_start(since) if since is not None else None
    except OverflowError:  # the first day of year 1, moved into UTC
        data.error("since", N_("form.error.date"))
        start = None
    try:
        end = next_day_start(until) if until is not None else None
    except OverflowError:  # the last day of year 9999 has no next day
        data.error("until", N_("form.error.date"))
        end = None
    try:
        check_range(since, until)
    except InvalidRangeError:
        data.error("until", N_("audit.events.error.range"))
    return start, end


async def _search(data: FormInput, session: AsyncSession, target_types: list[str]) -> EventQuery | None:
    """The search the form describes, or None with the errors in `data` (the paging cursor's under
    `after`: a hidden field, reported apart from the fields)."""
    actor = data.text("actor", max_length=64, pattern=_USERNAME_PATTERN)
    actor_id = data.text("actor_id", max_length=64, pattern=_ID_PATTERN)
    action = data.text("action", max_length=100)
    if action is not None and not is_known_action(action):
        data.error("action", N_("audit.events.error.action"))
    outcome = data.choice("outcome", AuditOutcome, required=False)
    target_type = data.text("target_type", max_length=50)
    if target_type is not None and target_type not in target_types:
        data.error("target_type", N_("form.error.choose"))
    target_id = data.text("target_id", max_length=64, pattern=_ID_PATTERN)
    since, until = _days(data)
    after = data.text("after", max_length=200, pattern=_CURSOR_PATTERN)
    if after is not None:
        try:
            repository.EVENT_ORDER.read(after)
        except InvalidCursorError:
            data.error("after", N_("audit.events.error.cursor"))
    if not data.ok:
        return None
    try:
        actor_ids = await searched_actors(session, actor_id, actor)
    except UnknownUserNameError:
        data.error("actor", N_("audit.events.error.no_such_user"))
        return None
    return EventQuery(
        actor_ids=actor_ids,
        action=action,
        outcome=outcome.value if outcome is not None else None,
        target_type=target_type,
        target_id=target_id,
        since=since,
        until=until,
        after=after,
        limit=PAGE_SIZE,
    )


def _details(details: dict[str, Any]) -> list[tuple[str, str]]:
    """An event's details as (key, value) lines: ids, codes and numbers, lists joined."""

    def text(value: Any) -> str:
        if isinstance(value, list):
            return ", ".join(text(item) for item in value)
        if value is None:
            return ""
        return str(value).lower() if isinstance(value, bool) else str(value)

    return [(key, text(value)) for key, value in sorted(details.items())]


def _search_page(
    request: Request[Any, Any, Any],
    principal: Principal,
    data: FormInput,
    target_types: list[str],
    *,
    status_code: int = 200,
    **context: Any,
) -> Response[Any]:
    t = translator_for(request)
    errors = dict(data.errors)
    paging_error = errors.pop("after", None)
    return page(
        request,
        "audit/events.html",
        status_code=status_code,
        context={
            "events": None,
            "errors": errors,
            "paging_error": paging_error,
            "values": data.values,
            "filters": FILTERS,
            "action_groups": action_groups(t),
            "outcomes": [(outcome.value, t(f"audit.outcome.{outcome.value}")) for outcome in AuditOutcome],
            "target_types": [(kind, kind) for kind in target_types],
            "may_export": principal.has(Permission.AUDIT_EVENT_EXPORT),
            "export_limit": listing.EXPORT_LIMIT,
            "too_large": False,
            "paged": False,
            "next_after": None,
            **context,
        },
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
    async def search_form(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Response[Any]:
        target_types = await repository.target_types(db_session)
        return _search_page(request, principal, FormInput(MultiDict()), target_types)

    @post("/ereignisse", opt=requires(Permission.AUDIT_EVENT_READ), status_code=200)
    async def search(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Response[Any]:
        """A page of the search, newest first. The next page is posted again with the filters and the
        cursor in hidden fields, so that no filter value ever stands in a URL."""
        data = await form_input(request)
        target_types = await repository.target_types(db_session)
        query = await _search(data, db_session, target_types)
        if query is None:
            return _search_page(request, principal, data, target_types, status_code=422)
        found = await search_events(db_session, query, actor=principal.actor, audit=audit_fields(request))
        t = translator_for(request)
        return _search_page(
            request,
            principal,
            data,
            target_types,
            events=found.events,
            names=await names_for(db_session, found.events),
            next_after=found.next_after,
            paged=query.after is not None,
            action_label=lambda code: action_label(t, code),
            role_text=lambda roles: role_text(t, roles),
            details=_details,
            details_json=lambda details: json.dumps(details, ensure_ascii=False, sort_keys=True),
        )

    @post("/ereignisse/export", opt=requires(Permission.AUDIT_EVENT_EXPORT), status_code=200)
    async def export(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Response[Any]:
        """The search's events as CSV (all pages, up to the export limit); recorded as an export."""
        data = await form_input(request)
        target_types = await repository.target_types(db_session)
        query = await _search(data, db_session, target_types)
        if query is None:
            return _search_page(request, principal, data, target_types, status_code=422)
        try:
            events = await export_events(
                db_session, replace(query, after=None), actor=principal.actor, audit=audit_fields(request)
            )
        except ExportTooLargeError:
            return _search_page(request, principal, data, target_types, status_code=422, too_large=True)
        names = await names_for(db_session, events)
        return csv_response(csv_text(translator_for(request), events, names), EXPORT_FILE_NAME)

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
