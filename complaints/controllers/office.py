"""`/api/v1/complaints`: the complaints office's queue and workflow. HTTP only; see `complaints.service`.

`forward`, `withdraw` and `resume` are declared with `complaint:complaint:triage`: they move a complaint
the way a triage outcome does, and both office roles may record them.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from sqlmodel.ext.asyncio.session import AsyncSession

from complaints import schemas
from complaints.controllers.dependencies import NO_STORE
from complaints.domain import ComplaintStatus, PublicStatus
from complaints.service import intake, office, statements
from complaints.service.common import ComplaintContext
from complaints.service.views import summary
from referral_service.identity.http import requires
from referral_service.identity.permissions import Permission
from referral_service.identity.principal import Principal

P = Permission
_ONE = "/{complaint_id:uuid}"
_EXTENSION = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}

Session = NamedDependency[AsyncSession]
Context = NamedDependency[ComplaintContext]
Caller = NamedDependency[Principal]
ComplaintId = FromPath[uuid.UUID]


class ComplaintOfficeController(Controller):
    path = "/"
    tags = ["complaints (office)"]

    @get("", opt=requires(P.COMPLAINT_COMPLAINT_LIST), summary="The caller's queue (leads: all)")
    async def list_complaints(
        self,
        complaint_context: Context,
        status: FromQuery[ComplaintStatus | None] = None,
        overdue: FromQuery[bool] = False,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> list[schemas.ComplaintSummary]:
        return await office.list_queue(
            complaint_context,
            status=status,
            overdue=overdue,
            limit=limit,
            offset=offset,
        )

    @post(
        "",
        opt=requires(P.COMPLAINT_COMPLAINT_CREATE_STAFF),
        summary="Enter a complaint received by letter, e-mail, phone or in person",
    )
    async def create(
        self,
        complaint_context: Context,
        data: JSONBody[schemas.StaffComplaintCreate],
    ) -> Response[schemas.SubmissionReceipt]:
        submitted = await intake.submit(complaint_context, data, channel=data.channel)
        receipt = schemas.SubmissionReceipt(
            reference=submitted.complaint.reference,
            access_code=submitted.access_code,
            received_at=submitted.complaint.received_at,
            status=PublicStatus.RECEIVED,
        )
        return Response(receipt, status_code=201, headers=NO_STORE)

    @get(_ONE, opt=requires(P.COMPLAINT_COMPLAINT_READ), summary="One complaint, decrypted (audited)")
    async def get_complaint(
        self, complaint_context: Context, complaint_id: ComplaintId
    ) -> Response[schemas.ComplaintDetail]:
        detail = await office.read(complaint_context, complaint_id)
        return Response(detail, headers=NO_STORE)

    @post(_ONE + "/assign", opt=requires(P.COMPLAINT_COMPLAINT_ASSIGN), status_code=200)
    async def assign(
        self,
        complaint_context: Context,
        complaint_id: ComplaintId,
        data: JSONBody[schemas.AssignmentCreate],
    ) -> schemas.ComplaintSummary:
        complaint = await office.assign(complaint_context, complaint_id, data.assignee_id)
        return summary(complaint, complaint_context)

    @post(_ONE + "/triage", opt=requires(P.COMPLAINT_COMPLAINT_TRIAGE), status_code=200)
    async def triage(
        self,
        complaint_context: Context,
        complaint_id: ComplaintId,
        data: JSONBody[schemas.TriageUpdate],
    ) -> schemas.ComplaintSummary:
        complaint = await office.triage(complaint_context, complaint_id, data)
        return summary(complaint, complaint_context)

    @post(
        _ONE + "/statement-requests",
        opt=requires(P.COMPLAINT_COMPLAINT_REQUEST_STATEMENT),
        summary="Ask the police unit concerned for a statement (pauses the answer deadline)",
    )
    async def request_statement(
        self,
        complaint_context: Context,
        complaint_id: ComplaintId,
        data: JSONBody[schemas.StatementRequestCreate],
    ) -> Response[schemas.ComplaintSummary]:
        request = await statements.request_statement(complaint_context, complaint_id, data)
        complaint = await office.load(complaint_context, request.complaint_id)
        return Response(
            summary(complaint, complaint_context),
            status_code=201,
            headers={"Location": f"/api/v1/complaints/{complaint_id}#statement-request-{request.id}"},
        )

    @post(
        _ONE + "/decision",
        opt=requires(P.COMPLAINT_COMPLAINT_DRAFT_DECISION),
        status_code=200,
        summary="Save a decision draft, or decide (final: true, leads only)",
    )
    async def decide(
        self,
        complaint_context: Context,
        complaint_id: ComplaintId,
        data: JSONBody[schemas.DecisionCreate],
    ) -> schemas.ComplaintSummary:
        complaint = await office.decide(complaint_context, complaint_id, data)
        return summary(complaint, complaint_context)

    @post(_ONE + "/close", opt=requires(P.COMPLAINT_COMPLAINT_CLOSE), status_code=200)
    async def close(self, complaint_context: Context, complaint_id: ComplaintId) -> schemas.ComplaintSummary:
        complaint = await office.close(complaint_context, complaint_id)
        return summary(complaint, complaint_context)

    @post(_ONE + "/forward", opt=requires(P.COMPLAINT_COMPLAINT_TRIAGE), status_code=200)
    async def forward(
        self,
        complaint_context: Context,
        complaint_id: ComplaintId,
        data: JSONBody[schemas.ForwardCreate],
    ) -> schemas.ComplaintSummary:
        complaint = await office.forward(complaint_context, complaint_id, data)
        return summary(complaint, complaint_context)

    @post(
        _ONE + "/resume",
        opt=requires(P.COMPLAINT_COMPLAINT_TRIAGE),
        status_code=200,
        summary="Continue working after the statements arrived (statement_received -> in_progress)",
    )
    async def resume(self, complaint_context: Context, complaint_id: ComplaintId) -> schemas.ComplaintSummary:
        complaint = await office.resume(complaint_context, complaint_id)
        return summary(complaint, complaint_context)

    @post(_ONE + "/withdraw", opt=requires(P.COMPLAINT_COMPLAINT_TRIAGE), status_code=200)
    async def withdraw(
        self, complaint_context: Context, complaint_id: ComplaintId
    ) -> schemas.ComplaintSummary:
        complaint = await office.withdraw(complaint_context, complaint_id)
        return summary(complaint, complaint_context)

    @get(_ONE + "/messages", opt=requires(P.COMPLAINT_COMPLAINT_READ), summary="All messages (audited)")
    async def messages(
        self, complaint_context: Context, complaint_id: ComplaintId
    ) -> Response[list[schemas.OfficeMessage]]:
        found = await office.messages(complaint_context, complaint_id)
        return Response(found, headers=NO_STORE)

    @post(
        _ONE + "/messages",
        opt=requires(P.COMPLAINT_COMPLAINT_MESSAGE),
        summary="A reply to the complainant (visibility complainant) or an internal note",
    )
    async def post_message(
        self,
        complaint_context: Context,
        complaint_id: ComplaintId,
        data: JSONBody[schemas.OfficeMessageCreate],
    ) -> Response[schemas.OfficeMessage]:
        message = await office.post_message(complaint_context, complaint_id, data)
        return Response(message, status_code=201, headers=NO_STORE)

    @post(
        _ONE + "/disclosure-approval",
        opt=requires(P.COMPLAINT_COMPLAINT_APPROVE_DISCLOSURE),
        status_code=200,
        summary="Release the complainant's identity to the unit of one statement request (audited)",
    )
    async def approve_disclosure(
        self,
        complaint_context: Context,
        complaint_id: ComplaintId,
        data: JSONBody[schemas.DisclosureApprovalCreate],
    ) -> schemas.ComplaintSummary:
        await statements.approve_disclosure(complaint_context, complaint_id, data.statement_request_id)
        return summary(await office.load(complaint_context, complaint_id), complaint_context)

    @get(
        _ONE + "/attachments/{attachment_id:uuid}",
        opt=requires(P.COMPLAINT_COMPLAINT_READ),
        summary="Download an attachment (decrypted, audited)",
    )
    async def attachment(
        self,
        complaint_context: Context,
        complaint_id: ComplaintId,
        attachment_id: FromPath[uuid.UUID],
    ) -> Response[bytes]:
        row, content = await office.attachment_content(complaint_context, complaint_id, attachment_id)
        return Response(
            content,
            media_type=row.content_type,
            headers={
                **NO_STORE,
                # The stored file name is personal data; the download is named by id and type.
                "Content-Disposition": f'attachment; filename="{row.id}{_EXTENSION[row.content_type]}"',
                "X-Content-Type-Options": "nosniff",
            },
        )
