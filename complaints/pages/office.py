"""The complaints office: the queue with deadlines, the case page and every step on a complaint, and
the download of attachments.

Every read and change goes through `complaints.service`, which applies scope, identity rules and
audit, so a page never shows more than the API shows the same caller.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, Response, get, post

from complaints.attachments import AttachmentType
from complaints.domain import OPEN_STATES, ComplaintStatus
from complaints.pages import forms
from complaints.pages.case import (
    CaseCall,
    case_page,
    close_question,
    decide_question,
    forward_question,
    office_action,
    withdraw_question,
)
from complaints.pages.common import LIST_LIMIT, OFFICE_AREA, Caller, Context, Id, Session, options
from complaints.service import office, statements
from referral_service.identity import service as identity_service
from referral_service.identity.http import requires
from referral_service.identity.permissions import Permission
from referral_service.web.errors import PAGE_EXCEPTION_HANDLERS
from referral_service.web.render import page

_ONE = "/beschwerden/{complaint_id:uuid}"
_EXTENSIONS = {AttachmentType.PDF: ".pdf", AttachmentType.PNG: ".png", AttachmentType.JPEG: ".jpg"}
P = Permission


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
        query = request.query_params
        overdue_only = query.get("ueberfaellig") == "1"
        wanted = query.get("status")
        status = ComplaintStatus(wanted) if wanted in {s.value for s in ComplaintStatus} else None
        rows = await office.list_queue(
            complaint_context,
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
                "statuses": options("complaint.status", list(ComplaintStatus)),
                "values": {"status": wanted or "", "ueberfaellig": overdue_only},
                "filtered": overdue_only or status is not None,
                "can_enter": principal.has(P.COMPLAINT_COMPLAINT_CREATE_STAFF),
            },
        )

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
            error_fields={"no_decision_reason": "no_decision_reason"},
            question=decide_question,
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
            read=forms.no_input,
            run=lambda _: office.close(complaint_context, complaint_id),
            notice="beschwerde_abgeschlossen",
            question=close_question,
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
