"""Web pages of the complaint domain (DESIGN §5, §10): the public complaint without an account, the
complainant's status page, the complaints office's queue and case page, and the statement requests of
police units.

HTTP and presentation only: every read and change goes through `complaints.service`, which applies
scope, identity rules and audit, so a page never shows more than the API shows the same caller.

The complainant's session token (what the API hands out as a bearer token) lives in a `__Host-`
cookie (Secure, HttpOnly, SameSite=Strict) for the pages; the access code is never put in a URL or a
cookie and is shown once, on the receipt page that answers the submission. Public forms carry the
double-submit form token of `referral_service.web.security`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Controller, Request, Response, Router, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.params import FromPath
from sqlmodel.ext.asyncio.session import AsyncSession

from complaints import schemas
from complaints.config import OFFICE_TIMEZONE, ComplaintsConfig
from complaints.controllers.dependencies import context_dependency
from complaints.domain import (
    OPEN_STATES,
    TRANSITIONS,
    Category,
    Channel,
    ComplainantKind,
    ComplaintAction,
    ComplaintStatus,
    ComplaintType,
    ForwardReason,
    MessageVisibility,
    NoDecisionReason,
    Outcome,
    PublicStatus,
)
from complaints.errors import (
    AccessDeniedError,
    AccessThrottledError,
    ComplainantSessionError,
    InvalidComplaintError,
    UnknownPoliceUnitError,
)
from complaints.reports import KIND as REPORT_KIND
from complaints.reports import complaints_annual_report
from complaints.service import access, intake, office, statements, views
from complaints.service.access import ComplainantAccess
from complaints.service.common import ComplaintContext
from referral_service.identity import service as identity_service
from referral_service.identity.http import PUBLIC, requires
from referral_service.identity.permissions import Permission
from referral_service.identity.principal import Principal
from referral_service.identity.roles import Role, UnitKind
from referral_service.problems import DomainError
from referral_service.web.errors import PAGE_EXCEPTION_HANDLERS
from referral_service.web.forms import FormInput, form_input
from referral_service.web.i18n import N_, translator_for
from referral_service.web.render import Area, page, see_other
from referral_service.web.reports import report_page
from referral_service.web.security import check_public_form_token

OFFICE_ROLES = frozenset({Role.COMPLAINTS_HANDLER, Role.COMPLAINTS_LEAD})
OFFICE_AREA = Area("/beschwerdestelle", N_("area.complaints_office"), OFFICE_ROLES)
STATEMENTS_AREA = Area("/stellungnahmen", N_("area.statement_requests"), frozenset({Role.POLICE_SUPERVISOR}))
REPORT_AREA = Area(
    "/berichte/beschwerden",
    N_("area.report_complaints"),
    frozenset({Role.COMPLAINTS_LEAD, Role.AUDITOR}),
    home=False,
)
AREAS = [OFFICE_AREA, STATEMENTS_AREA, REPORT_AREA]

COMPLAINANT_COOKIE = "__Host-rs_complainant"
STATUS_PATH = "/beschwerde/status"
MY_COMPLAINT_PATH = "/beschwerde/meine"
LIST_LIMIT = 300

Session = NamedDependency[AsyncSession]
Context = NamedDependency[ComplaintContext]
Caller = NamedDependency[Principal]
Id = FromPath[uuid.UUID]

_EMAIL = r"[^@\s]+@[^@\s]+\.[^@\s]+"
_PHONE = r"\+?[0-9][0-9 ()/.\-]{2,39}"
# The service names the field it refused; the page shows a message for that field.
_INTAKE_FIELD_ERRORS = {
    "name": N_("complaint.error.name"),
    "email": N_("complaint.error.anonymous_identity"),
    "phone": N_("complaint.error.anonymous_identity"),
    "address": N_("complaint.error.anonymous_identity"),
    "description": N_("form.error.required"),
    "incident_date": N_("complaint.error.incident_date"),
    "follow_up_of": N_("complaint.error.follow_up_of"),
}


def _options(prefix: str, values: Sequence[Any]) -> list[tuple[str, str]]:
    return [(str(value), f"{prefix}.{value}") for value in values]


def _error_key(request: Request[Any, Any, Any], exc: DomainError) -> str:
    key = f"complaint.error.{exc.code}"
    return key if translator_for(request).has(key) else N_("complaint.error.generic")


@dataclass(frozen=True, slots=True)
class PoliceUnit:
    id: str
    name: str
    is_station: bool


async def _police_units(session: AsyncSession, principal: Principal | None) -> list[PoliceUnit]:
    """Police directorates and stations, in tree order, for "police unit concerned"."""
    units = await identity_service.list_units(session, principal)
    kinds = {UnitKind.POLICE_DIRECTORATE.value, UnitKind.POLICE_STATION.value}
    return [
        PoliceUnit(str(unit.id), unit.name, unit.kind == UnitKind.POLICE_STATION.value)
        for unit in units
        if unit.kind in kinds
    ]


def _unit_options(units: Sequence[PoliceUnit]) -> list[tuple[str, str]]:
    # Stations indented under their directorate (no-break spaces: screen readers do not read them).
    return [(unit.id, ("\N{NO-BREAK SPACE}" * 4 if unit.is_station else "") + unit.name) for unit in units]


# --- the public complaint ------------------------------------------------------------------------


def _read_complaint(data: FormInput) -> schemas.ComplaintCreate | None:
    fields: dict[str, Any] = {
        "complaint_type": data.choice("complaint_type", ComplaintType),
        "follow_up_of": data.text("follow_up_of", max_length=32),
        "complainant_kind": data.choice("complainant_kind", ComplainantKind),
        "name": data.text("name"),
        "email": data.text("email", max_length=254, pattern=_EMAIL),
        "phone": data.text("phone", max_length=40, pattern=_PHONE),
        "address": data.text("address", max_length=500),
        "identity_confidential": data.flag("identity_confidential"),
        "category": data.choice("category", Category),
        "description": data.text("description", required=True, max_length=schemas.MAX_TEXT),
        "incident_date": data.date("incident_date"),
        "place": data.text("place", max_length=500),
        "police_unit_id": _read_uuid(data, "police_unit_id", required=False),
    }
    if not data.ok:
        return None
    try:
        return msgspec.convert({k: v for k, v in fields.items() if v is not None}, schemas.ComplaintCreate)
    except msgspec.ValidationError:
        data.error("description", N_("complaint.error.generic"))
        return None


def _read_uuid(data: FormInput, name: str, *, required: bool = True) -> uuid.UUID | None:
    text = data.text(name, required=required, max_length=36)
    if text is None:
        return None
    try:
        return uuid.UUID(text)
    except ValueError:
        data.error(name, N_("form.error.choose"))
        return None


def _intake_form_context(units: list[tuple[str, str]], data: FormInput | None) -> dict[str, Any]:
    return {
        "values": data.values if data else {"complaint_type": ComplaintType.COMPLAINT.value},
        "errors": data.errors if data else {},
        "complaint_types": _options("complaint.type", list(ComplaintType)),
        "complainant_kinds": _options("complaint.kind", list(ComplainantKind)),
        "categories": _options("complaint.category", list(Category)),
        "police_units": units,
    }


class PublicComplaintPages(Controller):
    """The complaint form and its submission (rate limited together with the API's intake)."""

    path = "/beschwerde"
    include_in_schema = False
    exception_handlers = PAGE_EXCEPTION_HANDLERS
    opt = PUBLIC

    @get("")
    async def complaint_form(self, request: Request[Any, Any, Any], db_session: Session) -> Response[Any]:
        units = _unit_options(await _police_units(db_session, None))
        return page(request, "complaints/public_form.html", context=_intake_form_context(units, None))

    @post("", status_code=200)
    async def submit(
        self, request: Request[Any, Any, Any], db_session: Session, complaint_context: Context
    ) -> Response[Any]:
        await check_public_form_token(request)
        data = await form_input(request)
        create = _read_complaint(data)
        status_code = 422
        if create is not None:
            try:
                submitted = await intake.submit(
                    db_session, complaint_context, create, channel=Channel.WEB, principal=None
                )
            except InvalidComplaintError as exc:
                await db_session.rollback()
                for item in exc.extra.get("errors", []):
                    field = str(item.get("field", ""))
                    data.error(
                        field if field in _INTAKE_FIELD_ERRORS else "description",
                        _INTAKE_FIELD_ERRORS.get(field, N_("complaint.error.generic")),
                    )
            except UnknownPoliceUnitError:
                await db_session.rollback()
                data.error("police_unit_id", N_("form.error.choose"))
            else:
                # The receipt answers the post itself: the access code must not travel in a URL, and
                # it cannot be shown again (only its hash is stored).
                return page(
                    request,
                    "complaints/public_receipt.html",
                    status_code=201,
                    context={
                        "reference": submitted.complaint.reference,
                        "access_code": submitted.access_code,
                        "received_at": submitted.complaint.received_at,
                    },
                )
        units = _unit_options(await _police_units(db_session, None))
        return page(
            request,
            "complaints/public_form.html",
            status_code=status_code,
            context=_intake_form_context(units, data),
        )


def _complainant_cookie(token: str, max_age: int) -> Cookie:
    return Cookie(
        key=COMPLAINANT_COOKIE,
        value=token,
        path="/",
        max_age=max_age,
        secure=True,
        httponly=True,
        samesite="strict",
    )


async def _complainant(
    request: Request[Any, Any, Any], session: AsyncSession, ctx: ComplaintContext
) -> ComplainantAccess | None:
    try:
        return await access.resolve_session(session, ctx, request.cookies.get(COMPLAINANT_COOKIE))
    except ComplainantSessionError:
        return None


def _ended() -> Response[Any]:
    return see_other(f"{STATUS_PATH}?abgelaufen=1", cookies=[_complainant_cookie("", 0)])


class ComplainantPages(Controller):
    """Reference + access code -> the complainant's page: status, replies, messages."""

    path = "/beschwerde"
    include_in_schema = False
    exception_handlers = PAGE_EXCEPTION_HANDLERS
    opt = PUBLIC

    @get("/status")
    async def access_form(self, request: Request[Any, Any, Any]) -> Response[Any]:
        query = request.query_params
        return page(
            request,
            "complaints/public_access.html",
            context={"ended": query.get("abgelaufen") == "1", "signed_out": query.get("abgemeldet") == "1"},
        )

    @post("/status", status_code=200)
    async def open_session(
        self, request: Request[Any, Any, Any], db_session: Session, complaint_context: Context
    ) -> Response[Any]:
        """A POST form, so that neither reference nor code ever appears in a URL or a server log."""
        await check_public_form_token(request)
        data = await form_input(request)
        reference = data.text("reference", required=True, max_length=32)
        code = data.text("access_code", required=True, max_length=64)
        error: str | None = None
        status_code = 422
        if reference and code:
            try:
                opened = await access.open_session(
                    db_session, complaint_context, reference=reference, access_code=code
                )
            except AccessDeniedError:
                error = N_("complaint.access.denied")
            except AccessThrottledError:
                error, status_code = N_("complaint.access.throttled"), 429
            else:
                max_age = int(complaint_context.config.session_lifetime.total_seconds())
                return see_other(MY_COMPLAINT_PATH, cookies=[_complainant_cookie(opened.token, max_age)])
        return page(
            request,
            "complaints/public_access.html",
            status_code=status_code,
            context={
                "ended": False,
                "signed_out": False,
                "access_error": error,
                "errors": data.errors,
                "values": {"reference": reference or ""},  # never the code
            },
        )

    @get("/meine")
    async def my_complaint(
        self, request: Request[Any, Any, Any], db_session: Session, complaint_context: Context
    ) -> Response[Any]:
        complainant = await _complainant(request, db_session, complaint_context)
        if complainant is None:
            return _ended()
        return await self._view(request, db_session, complaint_context, complainant)

    async def _view(
        self,
        request: Request[Any, Any, Any],
        session: AsyncSession,
        ctx: ComplaintContext,
        complainant: ComplainantAccess,
        *,
        data: FormInput | None = None,
        status_code: int = 200,
    ) -> Response[Any]:
        view = await views.complainant_view(session, ctx, complainant)
        return page(
            request,
            "complaints/public_view.html",
            status_code=status_code,
            context={
                "view": view,
                "can_write": view.status
                in {PublicStatus.RECEIVED, PublicStatus.IN_PROGRESS, PublicStatus.DECIDED},
                "errors": data.errors if data else {},
                "values": data.values if data else {},
            },
        )

    @post("/meine/nachricht", status_code=200)
    async def write(
        self, request: Request[Any, Any, Any], db_session: Session, complaint_context: Context
    ) -> Response[Any]:
        await check_public_form_token(request)
        complainant = await _complainant(request, db_session, complaint_context)
        if complainant is None:
            return _ended()
        data = await form_input(request)
        body = data.text("body", required=True, max_length=schemas.MAX_TEXT)
        if body is not None:
            try:
                await access.post_message(db_session, complaint_context, complainant, body)
            except DomainError as exc:
                await db_session.rollback()
                data.error("body", _error_key(request, exc))
            else:
                return see_other(MY_COMPLAINT_PATH, notice="nachricht_gesendet")
        return await self._view(
            request, db_session, complaint_context, complainant, data=data, status_code=422
        )

    @post("/meine/abmelden", status_code=200)
    async def sign_out(
        self, request: Request[Any, Any, Any], db_session: Session, complaint_context: Context
    ) -> Response[Any]:
        await check_public_form_token(request)
        complainant = await _complainant(request, db_session, complaint_context)
        if complainant is not None:
            await access.end_session(db_session, complaint_context, complainant)
        return see_other(f"{STATUS_PATH}?abgemeldet=1", cookies=[_complainant_cookie("", 0)])


# --- the complaints office ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OfficeActions:
    assign: bool
    triage: bool
    request_statement: bool
    approve_disclosure: bool
    resume: bool
    draft: bool
    decide: bool
    close: bool
    forward: bool
    withdraw: bool
    message: bool


def _can(
    principal: Principal, permission: Permission, status: ComplaintStatus, action: ComplaintAction
) -> bool:
    return principal.has(permission) and status in TRANSITIONS[action][0]


def _office_actions(principal: Principal, detail: schemas.ComplaintDetail) -> OfficeActions:
    status = detail.status
    is_open = status in OPEN_STATES
    return OfficeActions(
        assign=principal.has(Permission.COMPLAINT_COMPLAINT_ASSIGN) and is_open,
        triage=principal.has(Permission.COMPLAINT_COMPLAINT_TRIAGE)
        and status in {ComplaintStatus.RECEIVED, ComplaintStatus.TRIAGE},
        request_statement=_can(
            principal,
            Permission.COMPLAINT_COMPLAINT_REQUEST_STATEMENT,
            status,
            ComplaintAction.REQUEST_STATEMENT,
        ),
        approve_disclosure=principal.has(Permission.COMPLAINT_COMPLAINT_APPROVE_DISCLOSURE)
        and is_open
        and detail.complainant is not None,
        resume=_can(principal, Permission.COMPLAINT_COMPLAINT_TRIAGE, status, ComplaintAction.RESUME),
        draft=principal.has(Permission.COMPLAINT_COMPLAINT_DRAFT_DECISION) and status in office.DRAFTABLE,
        decide=_can(principal, Permission.COMPLAINT_COMPLAINT_DECIDE, status, ComplaintAction.DECIDE),
        close=_can(principal, Permission.COMPLAINT_COMPLAINT_CLOSE, status, ComplaintAction.CLOSE),
        forward=_can(principal, Permission.COMPLAINT_COMPLAINT_TRIAGE, status, ComplaintAction.FORWARD),
        withdraw=_can(principal, Permission.COMPLAINT_COMPLAINT_TRIAGE, status, ComplaintAction.WITHDRAW),
        message=principal.has(Permission.COMPLAINT_COMPLAINT_MESSAGE),
    )


def _moment(day: dt.date) -> dt.datetime:
    # A date without a time sorts after the events with a time on the same (office) day.
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=OFFICE_TIMEZONE)


def _timeline(
    detail: schemas.ComplaintDetail, messages: Sequence[schemas.OfficeMessage], units: dict[str, str]
) -> list[dict[str, Any]]:
    """What happened when, newest last: receipt, statement requests, messages, draft, decision, end."""
    events: list[dict[str, Any]] = [
        {"at": detail.received_at, "key": N_("complaint.timeline.received"), "channel": detail.channel}
    ]
    for request in detail.statement_requests:
        unit = units.get(str(request.unit_id), "")
        events.append(
            {
                "at": _moment(request.requested_on),
                "date_only": True,
                "key": N_("complaint.timeline.requested"),
                "unit": unit,
            }
        )
        if request.disclosure_approved_at:
            events.append(
                {
                    "at": request.disclosure_approved_at,
                    "key": N_("complaint.timeline.disclosed"),
                    "unit": unit,
                }
            )
        if request.answered_at:
            events.append({"at": request.answered_at, "key": N_("complaint.timeline.answered"), "unit": unit})
    for message in messages:
        if message.author_kind == "complainant":
            key = N_("complaint.timeline.message_in")
        elif message.visibility is MessageVisibility.COMPLAINANT:
            key = N_("complaint.timeline.message_out")
        else:
            key = N_("complaint.timeline.note")
        events.append({"at": message.created_at, "key": key})
    if detail.draft and detail.draft.drafted_at:
        events.append({"at": detail.draft.drafted_at, "key": N_("complaint.timeline.draft")})
    if detail.decided_at:
        events.append(
            {"at": detail.decided_at, "key": N_("complaint.timeline.decided"), "outcome": detail.outcome}
        )
    if detail.closed_at:
        events.append({"at": detail.closed_at, "key": f"complaint.timeline.end.{detail.status}"})
    return sorted(events, key=lambda event: event["at"])


async def _office_page(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    ctx: ComplaintContext,
    principal: Principal,
    complaint_id: uuid.UUID,
    *,
    data: FormInput | None = None,
    status_code: int = 200,
) -> Response[Any]:
    detail = await office.read(session, ctx, principal, complaint_id)
    messages = await office.messages(session, ctx, principal, complaint_id)
    actions = _office_actions(principal, detail)
    units = await _police_units(session, principal)
    unit_names = {unit.id: unit.name for unit in units}
    members: list[tuple[str, str]] = []
    if actions.assign:
        users = await identity_service.list_users(session, principal, unit_id=principal.unit_id, active=True)
        members = [(str(view.user.id), view.user.display_name) for view in users if view.roles & OFFICE_ROLES]
    values: dict[str, Any] = {
        "category": detail.category.value,
        "police_unit_id": str(detail.police_unit_id) if detail.police_unit_id else "",
        "identity_confidential": detail.identity_confidential,
        "complete": True,
        "unit_id": str(detail.police_unit_id) if detail.police_unit_id else "",
        "visibility": MessageVisibility.COMPLAINANT.value,
    }
    if detail.draft:
        values.update(
            outcome=detail.draft.outcome.value,
            no_decision_reason=detail.draft.no_decision_reason.value
            if detail.draft.no_decision_reason
            else "",
            criminal_investigation=detail.draft.criminal_investigation,
            disciplinary_proceedings=detail.draft.disciplinary_proceedings,
            reply=detail.draft.reply or "",
        )
    if data is not None:
        values.update(data.values)
    return page(
        request,
        "complaints/office_case.html",
        status_code=status_code,
        context={
            "complaint": detail,
            "messages": messages,
            "timeline": _timeline(detail, messages, unit_names),
            "actions": actions,
            "unit_names": unit_names,
            "police_units": _unit_options(units),
            "members": members,
            "categories": _options("complaint.category", list(Category)),
            "outcomes": _options("complaint.outcome", list(Outcome)),
            "no_decision_reasons": _options("complaint.no_decision_reason", list(NoDecisionReason)),
            "forward_reasons": _options("complaint.forward_reason", list(ForwardReason)),
            "visibilities": _options("complaint.visibility", list(MessageVisibility)),
            "errors": data.errors if data else {},
            "values": values,
        },
    )


async def _office_action(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    ctx: ComplaintContext,
    principal: Principal,
    complaint_id: uuid.UUID,
    *,
    action: str,
    read: Callable[[FormInput], Any],
    run: Callable[[Any], Awaitable[object]],
    notice: str,
    error_fields: dict[str, str] | None = None,
) -> Response[Any]:
    """Read the action's form, run the use case, and go back to the case page (notice or errors)."""
    data = await form_input(request)
    argument = read(data)
    status_code = 422
    if data.ok:
        try:
            await run(argument)
        except DomainError as exc:
            if exc.kind.value == 404:
                raise
            await session.rollback()
            # Next to the field the refusal concerns: by error code, or by the field the service names.
            fields = error_fields or {}
            named = exc.extra.get("errors")
            field = fields.get(exc.code) or next(
                (fields[str(item.get("field"))] for item in named or [] if str(item.get("field")) in fields),
                f"action-{action}",
            )
            data.error(field, _error_key(request, exc))
            status_code = exc.kind.value
        else:
            return see_other(f"{OFFICE_AREA.path}/beschwerden/{complaint_id}", notice=notice)
    return await _office_page(
        request, session, ctx, principal, complaint_id, data=data, status_code=status_code
    )


class OfficePages(Controller):
    """The complaints office: queue with deadlines, case page with timeline and workflow."""

    path = OFFICE_AREA.path
    include_in_schema = False
    exception_handlers = PAGE_EXCEPTION_HANDLERS

    @get("", opt=requires(Permission.COMPLAINT_COMPLAINT_LIST))
    async def queue(
        self,
        request: Request[Any, Any, Any],
        db_session: Session,
        complaint_context: Context,
        principal: Caller,
    ) -> Response[Any]:
        query = request.query_params
        overdue_only = query.get("ueberfaellig") == "1"
        wanted = query.get("status")
        status = ComplaintStatus(wanted) if wanted in {s.value for s in ComplaintStatus} else None
        rows = await office.list_queue(
            db_session,
            complaint_context,
            principal,
            status=status,
            overdue=overdue_only,
            limit=LIST_LIMIT,
            offset=0,
        )
        open_rows = sorted(
            (row for row in rows if row.status in OPEN_STATES),
            key=lambda row: (not row.overdue, row.deadline or dt.date.max, row.received_at),
        )
        done_rows = [row for row in rows if row.status not in OPEN_STATES]
        members = await identity_service.list_users(db_session, principal, unit_id=principal.unit_id)
        return page(
            request,
            "complaints/office_queue.html",
            context={
                "open_rows": open_rows,
                "done_rows": done_rows,
                "members": {view.user.id: view.user.display_name for view in members},
                "statuses": _options("complaint.status", list(ComplaintStatus)),
                "values": {"status": wanted or "", "ueberfaellig": overdue_only},
                "filtered": overdue_only or status is not None,
            },
        )

    @get("/beschwerden/{complaint_id:uuid}", opt=requires(Permission.COMPLAINT_COMPLAINT_READ))
    async def case(
        self,
        request: Request[Any, Any, Any],
        db_session: Session,
        complaint_context: Context,
        principal: Caller,
        complaint_id: Id,
    ) -> Response[Any]:
        return await _office_page(request, db_session, complaint_context, principal, complaint_id)

    @post(
        "/beschwerden/{complaint_id:uuid}/zuweisen",
        opt=requires(Permission.COMPLAINT_COMPLAINT_ASSIGN),
        status_code=200,
    )
    async def assign(
        self,
        request: Request[Any, Any, Any],
        db_session: Session,
        complaint_context: Context,
        principal: Caller,
        complaint_id: Id,
    ) -> Response[Any]:
        return await _office_action(
            request,
            db_session,
            complaint_context,
            principal,
            complaint_id,
            action="assign",
            read=lambda data: _read_uuid(data, "assignee_id"),
            run=lambda assignee: office.assign(
                db_session, complaint_context, principal, complaint_id, assignee
            ),
            notice="beschwerde_zugewiesen",
            error_fields={"complaint.invalid_assignee": "assignee_id"},
        )

    @post(
        "/beschwerden/{complaint_id:uuid}/erstbewertung",
        opt=requires(Permission.COMPLAINT_COMPLAINT_TRIAGE),
        status_code=200,
    )
    async def triage(
        self,
        request: Request[Any, Any, Any],
        db_session: Session,
        complaint_context: Context,
        principal: Caller,
        complaint_id: Id,
    ) -> Response[Any]:
        def read(data: FormInput) -> schemas.TriageUpdate:
            return schemas.TriageUpdate(
                category=data.choice("category", Category, required=False),
                police_unit_id=_read_uuid(data, "police_unit_id", required=False),
                identity_confidential=data.flag("identity_confidential"),
                complete=data.flag("complete"),
            )

        return await _office_action(
            request,
            db_session,
            complaint_context,
            principal,
            complaint_id,
            action="triage",
            read=read,
            run=lambda update: office.triage(db_session, complaint_context, principal, complaint_id, update),
            notice="erstbewertung",
            error_fields={"complaint.unknown_police_unit": "police_unit_id"},
        )

    @post(
        "/beschwerden/{complaint_id:uuid}/stellungnahme-anfordern",
        opt=requires(Permission.COMPLAINT_COMPLAINT_REQUEST_STATEMENT),
        status_code=200,
    )
    async def request_statement(
        self,
        request: Request[Any, Any, Any],
        db_session: Session,
        complaint_context: Context,
        principal: Caller,
        complaint_id: Id,
    ) -> Response[Any]:
        def read(data: FormInput) -> schemas.StatementRequestCreate | None:
            unit_id = _read_uuid(data, "unit_id", required=False)
            question = data.text("question", required=True, max_length=schemas.MAX_TEXT)
            facts = data.text("released_facts", max_length=schemas.MAX_TEXT) or ""
            deadline = data.date("deadline")
            if question is None:
                return None
            return schemas.StatementRequestCreate(
                unit_id=unit_id, question=question, released_facts=facts, deadline=deadline
            )

        return await _office_action(
            request,
            db_session,
            complaint_context,
            principal,
            complaint_id,
            action="request_statement",
            read=read,
            run=lambda create: statements.request_statement(
                db_session, complaint_context, principal, complaint_id, create
            ),
            notice="stellungnahme_angefordert",
            error_fields={
                "complaint.unknown_police_unit": "unit_id",
                "complaint.invalid": "unit_id",
                "deadline": "deadline",
                "unit_id": "unit_id",
            },
        )

    @post(
        "/beschwerden/{complaint_id:uuid}/offenlegung",
        opt=requires(Permission.COMPLAINT_COMPLAINT_APPROVE_DISCLOSURE),
        status_code=200,
    )
    async def approve_disclosure(
        self,
        request: Request[Any, Any, Any],
        db_session: Session,
        complaint_context: Context,
        principal: Caller,
        complaint_id: Id,
    ) -> Response[Any]:
        return await _office_action(
            request,
            db_session,
            complaint_context,
            principal,
            complaint_id,
            action="disclosure",
            read=lambda data: _read_uuid(data, "statement_request_id"),
            run=lambda request_id: statements.approve_disclosure(
                db_session, complaint_context, principal, complaint_id, request_id
            ),
            notice="offenlegung",
        )

    @post(
        "/beschwerden/{complaint_id:uuid}/fortsetzen",
        opt=requires(Permission.COMPLAINT_COMPLAINT_TRIAGE),
        status_code=200,
    )
    async def resume(
        self,
        request: Request[Any, Any, Any],
        db_session: Session,
        complaint_context: Context,
        principal: Caller,
        complaint_id: Id,
    ) -> Response[Any]:
        return await _office_action(
            request,
            db_session,
            complaint_context,
            principal,
            complaint_id,
            action="resume",
            read=lambda data: None,
            run=lambda _: office.resume(db_session, complaint_context, principal, complaint_id),
            notice="fortgesetzt",
        )

    @post(
        "/beschwerden/{complaint_id:uuid}/entscheidung",
        opt=requires(Permission.COMPLAINT_COMPLAINT_DRAFT_DECISION),
        status_code=200,
    )
    async def decide(
        self,
        request: Request[Any, Any, Any],
        db_session: Session,
        complaint_context: Context,
        principal: Caller,
        complaint_id: Id,
    ) -> Response[Any]:
        final = (await form_input(request)).form.get("final") == "1"

        def read(data: FormInput) -> schemas.DecisionCreate | None:
            outcome = data.choice("outcome", Outcome)
            reason = data.choice("no_decision_reason", NoDecisionReason, required=False)
            reply = data.text("reply", max_length=schemas.MAX_TEXT)
            criminal = data.flag("criminal_investigation")
            disciplinary = data.flag("disciplinary_proceedings")
            if outcome is None:
                return None
            return schemas.DecisionCreate(
                outcome=outcome,
                no_decision_reason=reason,
                criminal_investigation=criminal,
                disciplinary_proceedings=disciplinary,
                reply=reply,
                final=final,
            )

        return await _office_action(
            request,
            db_session,
            complaint_context,
            principal,
            complaint_id,
            action="decision",
            read=read,
            run=lambda decision: office.decide(
                db_session, complaint_context, principal, complaint_id, decision
            ),
            notice="entschieden" if final else "entwurf_gespeichert",
            error_fields={"no_decision_reason": "no_decision_reason"},
        )

    @post(
        "/beschwerden/{complaint_id:uuid}/abschliessen",
        opt=requires(Permission.COMPLAINT_COMPLAINT_CLOSE),
        status_code=200,
    )
    async def close(
        self,
        request: Request[Any, Any, Any],
        db_session: Session,
        complaint_context: Context,
        principal: Caller,
        complaint_id: Id,
    ) -> Response[Any]:
        return await _office_action(
            request,
            db_session,
            complaint_context,
            principal,
            complaint_id,
            action="close",
            read=lambda data: None,
            run=lambda _: office.close(db_session, complaint_context, principal, complaint_id),
            notice="beschwerde_abgeschlossen",
        )

    @post(
        "/beschwerden/{complaint_id:uuid}/abgeben",
        opt=requires(Permission.COMPLAINT_COMPLAINT_TRIAGE),
        status_code=200,
    )
    async def forward(
        self,
        request: Request[Any, Any, Any],
        db_session: Session,
        complaint_context: Context,
        principal: Caller,
        complaint_id: Id,
    ) -> Response[Any]:
        def read(data: FormInput) -> schemas.ForwardCreate | None:
            reason = data.choice("forward_reason", ForwardReason)
            return schemas.ForwardCreate(reason=reason) if reason else None

        return await _office_action(
            request,
            db_session,
            complaint_context,
            principal,
            complaint_id,
            action="forward",
            read=read,
            run=lambda forwarding: office.forward(
                db_session, complaint_context, principal, complaint_id, forwarding
            ),
            notice="abgegeben",
        )

    @post(
        "/beschwerden/{complaint_id:uuid}/zuruecknahme",
        opt=requires(Permission.COMPLAINT_COMPLAINT_TRIAGE),
        status_code=200,
    )
    async def withdraw(
        self,
        request: Request[Any, Any, Any],
        db_session: Session,
        complaint_context: Context,
        principal: Caller,
        complaint_id: Id,
    ) -> Response[Any]:
        def read(data: FormInput) -> None:
            if not data.flag("confirm_withdrawal"):
                data.error("confirm_withdrawal", N_("complaint.error.confirm_withdrawal"))

        return await _office_action(
            request,
            db_session,
            complaint_context,
            principal,
            complaint_id,
            action="withdraw",
            read=read,
            run=lambda _: office.withdraw(db_session, complaint_context, principal, complaint_id),
            notice="zurueckgenommen",
        )

    @post(
        "/beschwerden/{complaint_id:uuid}/nachricht",
        opt=requires(Permission.COMPLAINT_COMPLAINT_MESSAGE),
        status_code=200,
    )
    async def message(
        self,
        request: Request[Any, Any, Any],
        db_session: Session,
        complaint_context: Context,
        principal: Caller,
        complaint_id: Id,
    ) -> Response[Any]:
        def read(data: FormInput) -> schemas.OfficeMessageCreate | None:
            body = data.text("message_body", required=True, max_length=schemas.MAX_TEXT)
            visibility = data.choice("visibility", MessageVisibility)
            return (
                schemas.OfficeMessageCreate(body=body, visibility=visibility) if body and visibility else None
            )

        return await _office_action(
            request,
            db_session,
            complaint_context,
            principal,
            complaint_id,
            action="message",
            read=read,
            run=lambda message: office.post_message(
                db_session, complaint_context, principal, complaint_id, message
            ),
            notice="nachricht_gespeichert",
        )


class ComplaintsReportPage(Controller):
    """The complaints office's annual report as a page."""

    path = REPORT_AREA.path
    include_in_schema = False
    exception_handlers = PAGE_EXCEPTION_HANDLERS

    @get("", opt=requires(Permission.REPORT_COMPLAINTS_ANNUAL_READ))
    async def report(
        self, request: Request[Any, Any, Any], db_session: Session, principal: Caller
    ) -> Response[Any]:
        return await report_page(
            request,
            db_session,
            principal,
            complaints_annual_report,
            kind=REPORT_KIND,
            title_key=N_("report.complaints.title"),
            path=REPORT_AREA.path,
            api_path="/api/v1/reports/complaints-annual",
        )


# --- statement requests of police units -------------------------------------------------------------


class StatementRequestPages(Controller):
    """What a police supervisor sees of the statement requests addressed to their unit."""

    path = STATEMENTS_AREA.path
    include_in_schema = False
    exception_handlers = PAGE_EXCEPTION_HANDLERS

    @get("", opt=requires(Permission.COMPLAINT_STATEMENT_REQUEST_READ))
    async def requests(
        self,
        request: Request[Any, Any, Any],
        db_session: Session,
        complaint_context: Context,
        principal: Caller,
    ) -> Response[Any]:
        rows = await statements.list_for_unit(
            db_session, complaint_context, principal, open_only=False, limit=LIST_LIMIT, offset=0
        )
        return page(
            request,
            "complaints/statements_list.html",
            context={
                "open_rows": sorted((r for r in rows if r.answered_at is None), key=lambda r: r.deadline),
                "done_rows": [r for r in rows if r.answered_at is not None],
            },
        )

    @get("/{request_id:uuid}", opt=requires(Permission.COMPLAINT_STATEMENT_REQUEST_READ))
    async def statement_request(
        self,
        request: Request[Any, Any, Any],
        db_session: Session,
        complaint_context: Context,
        principal: Caller,
        request_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        return await self._page(request, db_session, complaint_context, principal, request_id)

    async def _page(
        self,
        request: Request[Any, Any, Any],
        session: AsyncSession,
        ctx: ComplaintContext,
        principal: Principal,
        request_id: uuid.UUID,
        *,
        data: FormInput | None = None,
        status_code: int = 200,
    ) -> Response[Any]:
        view = await statements.read_for_unit(session, ctx, principal, request_id)
        return page(
            request,
            "complaints/statement_request.html",
            status_code=status_code,
            context={
                "item": view,
                "can_answer": view.answered_at is None
                and principal.has(Permission.COMPLAINT_STATEMENT_REQUEST_ANSWER),
                "errors": data.errors if data else {},
                "values": data.values if data else {},
            },
        )

    @post(
        "/{request_id:uuid}/antwort",
        opt=requires(Permission.COMPLAINT_STATEMENT_REQUEST_ANSWER),
        status_code=200,
    )
    async def answer(
        self,
        request: Request[Any, Any, Any],
        db_session: Session,
        complaint_context: Context,
        principal: Caller,
        request_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        data = await form_input(request)
        text = data.text("answer", required=True, max_length=schemas.MAX_TEXT)
        if text is not None:
            try:
                await statements.answer(db_session, complaint_context, principal, request_id, text)
            except DomainError as exc:
                if exc.kind.value == 404:
                    raise
                await db_session.rollback()
                data.error("answer", _error_key(request, exc))
                return await self._page(
                    request,
                    db_session,
                    complaint_context,
                    principal,
                    request_id,
                    data=data,
                    status_code=exc.kind.value,
                )
            return see_other(f"{STATEMENTS_AREA.path}/{request_id}", notice="stellungnahme_gesendet")
        return await self._page(
            request, db_session, complaint_context, principal, request_id, data=data, status_code=422
        )


async def _posts_only(request: Request[Any, Any, Any]) -> bool:
    return request.method == "POST"


async def _all_but_the_access_form(request: Request[Any, Any, Any]) -> bool:
    return not (request.method == "GET" and request.url.path == STATUS_PATH)


def complaint_page_routers(config: ComplaintsConfig) -> list[Router]:
    """The complaint pages, counted against the API's rate limits (same stores, same budgets)."""
    context = {"complaint_context": context_dependency(config)}
    intake_limit = RateLimitConfig(
        rate_limit=config.intake_rate_limit,
        store=config.intake_rate_limit_store,
        check_throttle_handler=_posts_only,
    )
    access_limit = RateLimitConfig(
        rate_limit=config.access_rate_limit,
        store=config.access_rate_limit_store,
        check_throttle_handler=_all_but_the_access_form,
    )
    return [
        Router(
            "/",
            route_handlers=[PublicComplaintPages],
            dependencies=context,
            middleware=[intake_limit.middleware],
            request_max_body_size=config.max_json_body_bytes,
        ),
        Router(
            "/",
            route_handlers=[ComplainantPages],
            dependencies=context,
            middleware=[access_limit.middleware],
            request_max_body_size=config.max_json_body_bytes,
        ),
        Router(
            "/",
            route_handlers=[OfficePages, StatementRequestPages, ComplaintsReportPage],
            dependencies=context,
            request_max_body_size=config.max_json_body_bytes,
        ),
    ]


__all__ = ["AREAS", "complaint_page_routers"]
