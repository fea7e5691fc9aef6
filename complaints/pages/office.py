"""The complaints office: the queue with deadlines, the case page and every step on a complaint, and
the download of attachments.

Every read and change goes through `complaints.service`, which applies scope, identity rules and
audit, so a page never shows more than the API shows the same caller.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from litestar import Controller, Request, Response, get, post

from complaints import paths, repository
from complaints.attachments import AttachmentType
from complaints.domain import (
    OPEN_STATES,
    TERMINAL_STATES,
    Category,
    Channel,
    ComplaintStatus,
    DeadlineFilter,
)
from complaints.pages import forms
from complaints.pages.case import (
    CLOSED_ON,
    DECIDED_ON,
    CaseCall,
    case_page,
    close_question,
    decide_question,
    forward_question,
    office_action,
    withdraw_question,
)
from complaints.pages.common import (
    ALL,
    ASSIGNEE,
    CURSOR,
    DEADLINE,
    OFFICE_AREA,
    STATUS,
    Caller,
    Context,
    Id,
    PoliceUnit,
    Session,
    police_units,
    read_assignee,
    read_states,
    unit_options,
)
from complaints.references import normalise_reference
from complaints.service import office, queue, statements
from complaints.service.queue import QueueFilter
from referral_service.identity.http import requires
from referral_service.identity.permissions import Permission
from referral_service.identity.principal import Principal
from referral_service.listing import (
    PAGE_SIZE,
    AssigneeKeyword,
    InvalidCursorError,
    InvalidRangeError,
    csv_response,
    url_with,
)
from referral_service.validation import FieldError, RequestValidationError
from referral_service.web.errors import PAGE_EXCEPTION_HANDLERS
from referral_service.web.forms import FormInput, refusable
from referral_service.web.i18n import N_, Translator, translator_for
from referral_service.web.render import page, see_other
from referral_service.web.work import counted

_ONE = "/beschwerden/{complaint_id:uuid}"
_EXTENSIONS = {AttachmentType.PDF: ".pdf", AttachmentType.PNG: ".png", AttachmentType.JPEG: ".jpg"}
P = Permission
EXPORT_PATH = OFFICE_AREA.path + "/export.csv"

# The queue's status filter: a state, or a group of them; without one the page shows the open complaints.
_STATUS_GROUPS = {"open": OPEN_STATES, "done": TERMINAL_STATES, ALL: frozenset(ComplaintStatus)}
_FILTER_NAMES = (
    STATUS,
    "kategorie",
    "eingangsweg",
    "dienststelle",
    ASSIGNEE,
    DEADLINE,
    "eingang_von",
    "eingang_bis",
    "aktenzeichen",
)
# Where a refused list request is shown on the filter form.
_REFUSED_FIELD = {InvalidCursorError.code: CURSOR, InvalidRangeError.code: "eingang_bis"}


def read_queue_filter(request: Request[Any, Any, Any]) -> tuple[FormInput, QueueFilter, str | None]:
    """The queue's filters from the page's query; every wrong value is an error next to its field."""
    data = FormInput(request.query_params)
    statuses = read_states(data, ComplaintStatus, _STATUS_GROUPS, default="open")
    category = data.choice("kategorie", Category, required=False)
    channel = data.choice("eingangsweg", Channel, required=False)
    unit = data.uuid_choice("dienststelle", required=False)
    assignee, assignee_id = read_assignee(data)
    deadline = data.choice(DEADLINE, DeadlineFilter, required=False)
    received_from = data.date("eingang_von")
    received_until = data.date("eingang_bis")
    reference_text = data.text("aktenzeichen", max_length=32)
    reference = normalise_reference(reference_text) if reference_text else None
    if reference_text and reference is None:
        data.error("aktenzeichen", N_("office.queue.error.reference"))
    after = data.text(CURSOR, max_length=512)
    wanted = QueueFilter(
        statuses=statuses,
        category=category,
        channel=channel,
        police_unit_id=unit,
        assignee=assignee,
        assignee_id=assignee_id,
        deadline=deadline,
        received_from=received_from,
        received_until=received_until,
        reference=reference,
    )
    return data, wanted, after


def _filter_options(
    t: Translator,
    members: Sequence[tuple[uuid.UUID, str, bool]],
    units: Sequence[PoliceUnit],
    principal: Principal,
    is_lead: bool,
    due_soon_days: int,
) -> dict[str, list[tuple[str, str]]]:
    """The filter form's choices as (value, text) pairs."""
    colleagues = [
        (str(user_id), name) for user_id, name, active in members if active and user_id != principal.user_id
    ]

    def deadline(code: DeadlineFilter) -> str:
        key = f"office.queue.deadline.{code}"
        # "Due soon" spans a configured number of working days (singular and plural).
        return counted(t, key, due_soon_days) if code is DeadlineFilter.DUE_SOON else t(key)

    return {
        STATUS: [
            *((group, t(f"office.queue.status.{group}")) for group in _STATUS_GROUPS),
            *((state, t(f"complaint.status.{state}")) for state in ComplaintStatus),
        ],
        "kategorie": [(code, t(f"complaint.category.{code}")) for code in Category],
        "eingangsweg": [(code, t(f"complaint.channel.{code}")) for code in Channel],
        DEADLINE: [(code, deadline(code)) for code in DeadlineFilter],
        ASSIGNEE: [(code, t(f"office.queue.assignee.{code}")) for code in AssigneeKeyword],
        "colleagues": colleagues if is_lead else [],
        "dienststelle": unit_options(units),
    }


class OfficePages(Controller):
    """The complaints office: queue with deadlines, case page with timeline and workflow."""

    path = OFFICE_AREA.path
    include_in_schema = False
    exception_handlers = PAGE_EXCEPTION_HANDLERS

    @get("", opt=requires(P.COMPLAINT_COMPLAINT_LIST))
    async def queue(
        self,
        request: Request[Any, Any, Any],
        db_session: Session,
        complaint_context: Context,
        principal: Caller,
    ) -> Response[Any]:
        data, wanted, after = read_queue_filter(request)
        found = None
        if data.ok:
            async with refusable(db_session, InvalidCursorError, InvalidRangeError) as refused:
                found = await queue.list_page(complaint_context, wanted, after=after, limit=PAGE_SIZE)
            if refused.error is not None:
                data.error(_REFUSED_FIELD[refused.error.code], f"office.queue.error.{refused.error.code}")
        members = await repository.office_members(db_session)
        units = await police_units(db_session, principal)
        is_lead = principal.has(P.COMPLAINT_COMPLAINT_ASSIGN)
        due_soon_days = complaint_context.config.due_soon_working_days
        return page(
            request,
            "complaints/office_queue.html",
            status_code=200 if data.ok else 400,
            context={
                "rows": found.items if found else [],
                "next_url": url_with(request, **{CURSOR: found.next_cursor})
                if found and found.next_cursor
                else None,
                "first_url": url_with(request, **{CURSOR: None}) if after or not data.ok else None,
                "export_url": url_with(request, **{CURSOR: None}).replace(OFFICE_AREA.path, EXPORT_PATH, 1)
                if principal.has(P.COMPLAINT_COMPLAINT_EXPORT) and data.ok
                else None,
                "members": {user_id: name for user_id, name, _ in members},
                "unit_names": {unit.id: unit.name for unit in units},
                "workload": await queue.workload(complaint_context) if is_lead else None,
                "me": principal.user_id,
                "can_take": principal.has(P.COMPLAINT_COMPLAINT_TRIAGE),
                "can_open_all": repository.sees_all_complaints(principal),
                "filters": _filter_options(
                    translator_for(request), members, units, principal, is_lead, due_soon_days
                ),
                "due_soon_days": due_soon_days,
                "values": data.values,
                # A broken cursor has no field: the page says so with the way back to the first page.
                "errors": {name: key for name, key in data.errors.items() if name != CURSOR},
                "cursor_invalid": CURSOR in data.errors,
                "filtered": any(name in request.query_params for name in _FILTER_NAMES),
                "can_enter": principal.has(P.COMPLAINT_COMPLAINT_CREATE_STAFF),
            },
        )

    @get("/export.csv", opt=requires(P.COMPLAINT_COMPLAINT_EXPORT))
    async def export(self, request: Request[Any, Any, Any], complaint_context: Context) -> Response[Any]:
        """The list as the queue page shows it with the same filters, as CSV (audited)."""
        data, wanted, _ = read_queue_filter(request)
        if not data.ok:
            raise RequestValidationError(
                [FieldError(name, "value.invalid", "invalid filter") for name in data.errors]
            )
        text = await queue.export_csv(complaint_context, wanted, translator_for(request))
        return csv_response(text, "beschwerden.csv")

    @post(_ONE + "/uebernehmen", opt=requires(P.COMPLAINT_COMPLAINT_TRIAGE), status_code=200)
    async def take(
        self,
        request: Request[Any, Any, Any],
        db_session: Session,
        complaint_context: Context,
        complaint_id: Id,
    ) -> Response[Any]:
        """Take a free complaint from the queue, then open it. One taken meanwhile by somebody else is out
        of a handler's scope (404, like any other); one the lead cannot take goes back to the queue."""
        async with refusable(db_session) as refused:
            await office.take(complaint_context, complaint_id)
        if refused.error is None:
            return see_other(paths.case_page(complaint_id), notice="beschwerde_uebernommen")
        return see_other(OFFICE_AREA.path, notice="beschwerde_nicht_frei")

    @get(_ONE, opt=requires(P.COMPLAINT_COMPLAINT_READ))
    async def case(
        self,
        request: Request[Any, Any, Any],
        db_session: Session,
        complaint_context: Context,
        principal: Caller,
        complaint_id: Id,
    ) -> Response[Any]:
        return await case_page(request, db_session, complaint_context, principal, complaint_id)

    @get(_ONE + "/anlagen/{attachment_id:uuid}", opt=requires(P.COMPLAINT_COMPLAINT_READ))
    async def attachment(
        self,
        complaint_context: Context,
        complaint_id: Id,
        attachment_id: Id,
    ) -> Response[bytes]:
        """The file, decrypted (audited), as a download named by its id: its name is personal data."""
        row, content = await office.attachment_content(complaint_context, complaint_id, attachment_id)
        kind = AttachmentType(row.content_type)
        return Response(
            content,
            media_type=kind.value,
            headers={
                "Cache-Control": "no-store",
                "Content-Disposition": f'attachment; filename="{row.id}{_EXTENSIONS[kind]}"',
                # Should it ever be opened in place, it runs nothing and loads nothing.
                "Content-Security-Policy": "default-src 'none'; sandbox",
            },
        )

    @post(_ONE + "/zuweisen", opt=requires(P.COMPLAINT_COMPLAINT_ASSIGN), status_code=200)
    async def assign(
        self,
        request: Request[Any, Any, Any],
        db_session: Session,
        complaint_context: Context,
        principal: Caller,
        complaint_id: Id,
    ) -> Response[Any]:
        return await office_action(
            CaseCall(request, db_session, complaint_context, principal, complaint_id),
            action="assign",
            read=lambda data: data.uuid_choice("assignee_id"),
            run=lambda assignee: office.assign(complaint_context, complaint_id, assignee),
            notice="beschwerde_zugewiesen",
            error_fields={"complaint.invalid_assignee": "assignee_id"},
        )

    @post(_ONE + "/erstbewertung", opt=requires(P.COMPLAINT_COMPLAINT_TRIAGE), status_code=200)
    async def triage(
        self,
        request: Request[Any, Any, Any],
        db_session: Session,
        complaint_context: Context,
        principal: Caller,
        complaint_id: Id,
    ) -> Response[Any]:
        return await office_action(
            CaseCall(request, db_session, complaint_context, principal, complaint_id),
            action="triage",
            read=forms.read_triage,
            run=lambda update: office.triage(complaint_context, complaint_id, update),
            notice="erstbewertung",
            error_fields={"complaint.unknown_police_unit": "police_unit_id"},
        )

    @post(
        _ONE + "/stellungnahme-anfordern",
        opt=requires(P.COMPLAINT_COMPLAINT_REQUEST_STATEMENT),
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
        return await office_action(
            CaseCall(request, db_session, complaint_context, principal, complaint_id),
            action="request_statement",
            read=lambda data: forms.read_statement_request(data, complaint_context.config.today()),
            run=lambda create: statements.request_statement(complaint_context, complaint_id, create),
            notice="stellungnahme_angefordert",
            error_fields={
                "complaint.unknown_police_unit": "unit_id",
                "deadline": "deadline",
                "unit_id": "unit_id",
            },
        )

    @post(_ONE + "/offenlegung", opt=requires(P.COMPLAINT_COMPLAINT_APPROVE_DISCLOSURE), status_code=200)
    async def approve_disclosure(
        self,
        request: Request[Any, Any, Any],
        db_session: Session,
        complaint_context: Context,
        principal: Caller,
        complaint_id: Id,
    ) -> Response[Any]:
        return await office_action(
            CaseCall(request, db_session, complaint_context, principal, complaint_id),
            action="disclosure",
            read=lambda data: data.uuid_choice("statement_request_id"),
            run=lambda request_id: statements.approve_disclosure(complaint_context, complaint_id, request_id),
            notice="offenlegung",
        )

    @post(_ONE + "/fortsetzen", opt=requires(P.COMPLAINT_COMPLAINT_TRIAGE), status_code=200)
    async def resume(
        self,
        request: Request[Any, Any, Any],
        db_session: Session,
        complaint_context: Context,
        principal: Caller,
        complaint_id: Id,
    ) -> Response[Any]:
        return await office_action(
            CaseCall(request, db_session, complaint_context, principal, complaint_id),
            action="resume",
            read=forms.no_input,
            run=lambda _: office.resume(complaint_context, complaint_id),
            notice="fortgesetzt",
        )

    @post(_ONE + "/entscheidung", opt=requires(P.COMPLAINT_COMPLAINT_DRAFT_DECISION), status_code=200)
    async def decide(
        self,
        request: Request[Any, Any, Any],
        db_session: Session,
        complaint_context: Context,
        principal: Caller,
        complaint_id: Id,
    ) -> Response[Any]:
        return await office_action(
            CaseCall(request, db_session, complaint_context, principal, complaint_id),
            action="decision",
            read=forms.read_decision,
            run=lambda decision: office.decide(complaint_context, complaint_id, decision),
            notice=lambda decision: "entschieden" if decision.final else "entwurf_gespeichert",
            error_fields={"no_decision_reason": "no_decision_reason", "decided_at": "decided_at"},
            question=decide_question,
            dated=DECIDED_ON,
        )

    @post(_ONE + "/abschliessen", opt=requires(P.COMPLAINT_COMPLAINT_CLOSE), status_code=200)
    async def close(
        self,
        request: Request[Any, Any, Any],
        db_session: Session,
        complaint_context: Context,
        principal: Caller,
        complaint_id: Id,
    ) -> Response[Any]:
        return await office_action(
            CaseCall(request, db_session, complaint_context, principal, complaint_id),
            action="close",
            read=forms.read_close,
            run=lambda closing: office.close(complaint_context, complaint_id, closing),
            notice="beschwerde_abgeschlossen",
            error_fields={"closed_at": "closed_at"},
            question=close_question,
            dated=CLOSED_ON,
        )

    @post(_ONE + "/abgeben", opt=requires(P.COMPLAINT_COMPLAINT_TRIAGE), status_code=200)
    async def forward(
        self,
        request: Request[Any, Any, Any],
        db_session: Session,
        complaint_context: Context,
        principal: Caller,
        complaint_id: Id,
    ) -> Response[Any]:
        return await office_action(
            CaseCall(request, db_session, complaint_context, principal, complaint_id),
            action="forward",
            read=forms.read_forwarding,
            run=lambda forwarding: office.forward(complaint_context, complaint_id, forwarding),
            notice="abgegeben",
            question=forward_question,
        )

    @post(_ONE + "/zuruecknahme", opt=requires(P.COMPLAINT_COMPLAINT_TRIAGE), status_code=200)
    async def withdraw(
        self,
        request: Request[Any, Any, Any],
        db_session: Session,
        complaint_context: Context,
        principal: Caller,
        complaint_id: Id,
    ) -> Response[Any]:
        return await office_action(
            CaseCall(request, db_session, complaint_context, principal, complaint_id),
            action="withdraw",
            read=forms.no_input,
            run=lambda _: office.withdraw(complaint_context, complaint_id),
            notice="zurueckgenommen",
            question=withdraw_question,
        )

    @post(_ONE + "/nachricht", opt=requires(P.COMPLAINT_COMPLAINT_MESSAGE), status_code=200)
    async def message(
        self,
        request: Request[Any, Any, Any],
        db_session: Session,
        complaint_context: Context,
        principal: Caller,
        complaint_id: Id,
    ) -> Response[Any]:
        return await office_action(
            CaseCall(request, db_session, complaint_context, principal, complaint_id),
            action="message",
            read=forms.read_office_message,
            run=lambda message: office.post_message(complaint_context, complaint_id, message),
            notice="nachricht_gespeichert",
        )
