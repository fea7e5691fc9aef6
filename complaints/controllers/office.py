"""`/api/v1/complaints`: the complaints office's queue and workflow. HTTP only; see `complaints.service`.

`forward`, `withdraw` and `resume` are declared with `complaint:complaint:triage`: they move a complaint
the way a triage outcome does, and both office roles may record them. So is `take` (a member of the
office assigns a free complaint to themselves): it is the first step of the triage. The workload per
handler is declared with `complaint:complaint:assign`: it is what the one who distributes work needs.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Annotated, Any, TypeVar

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from sqlmodel.ext.asyncio.session import AsyncSession

from complaints import schemas
from complaints.controllers.dependencies import NO_STORE
from complaints.domain import Category, Channel, ComplaintStatus, DeadlineFilter, PublicStatus
from complaints.service import intake, office, queue, statements
from complaints.service.common import ComplaintContext
from complaints.service.queue import QueueFilter
from complaints.service.views import summary
from referral_service import listing
from referral_service.identity.http import requires
from referral_service.identity.permissions import Permission
from referral_service.identity.principal import Principal
from referral_service.validation import RequestValidationError, UnsupportedMediaTypeError, field_errors
from referral_service.web.i18n import translator_for

P = Permission
_JSON = re.compile(r"^application/(?:[a-z0-9!#$&^_.-]+\+)?json$")
_ONE = "/{complaint_id:uuid}"
_EXTENSION = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}

Session = NamedDependency[AsyncSession]
Context = NamedDependency[ComplaintContext]
Caller = NamedDependency[Principal]
ComplaintId = FromPath[uuid.UUID]
Cursor = Annotated[
    str | None, QueryParameter(max_length=512, description="The `next` cursor of a Link header")
]
Limit = Annotated[int, QueryParameter(ge=1, le=listing.MAX_PAGE_SIZE)]


def read_queue_filter(
    status: FromQuery[list[ComplaintStatus] | None] = None,
    category: FromQuery[Category | None] = None,
    channel: FromQuery[Channel | None] = None,
    police_unit_id: FromQuery[uuid.UUID | None] = None,
    assignee: Annotated[
        str | None, QueryParameter(max_length=64, description="me, none or a user id")
    ] = None,
    deadline: FromQuery[DeadlineFilter | None] = None,
    overdue: Annotated[
        bool, QueryParameter(description="Same as deadline=overdue (kept for old clients)")
    ] = False,
    received_from: FromQuery[dt.date | None] = None,
    received_until: FromQuery[dt.date | None] = None,
    reference: Annotated[str | None, QueryParameter(max_length=32)] = None,
) -> QueueFilter:
    if overdue and deadline not in (None, DeadlineFilter.OVERDUE):
        raise queue.invalid("overdue", "overdue=true contradicts the deadline filter")
    keyword, assignee_id = queue.read_assignee(assignee)
    return QueueFilter(
        statuses=frozenset(status or ()),
        category=category,
        channel=channel,
        police_unit_id=police_unit_id,
        assignee=keyword,
        assignee_id=assignee_id,
        deadline=DeadlineFilter.OVERDUE if overdue else deadline,
        received_from=received_from,
        received_until=received_until,
        reference=queue.read_reference(reference),
    )


QUEUE_FILTER = {"queue_filter": Provide(read_queue_filter, sync_to_thread=False)}


class ComplaintOfficeController(Controller):
    path = "/"
    tags = ["complaints (office)"]

    @get(
        "",
        opt=requires(P.COMPLAINT_COMPLAINT_LIST),
        dependencies=QUEUE_FILTER,
        summary="The caller's queue (leads: all; handlers: theirs and the free ones), filtered and paged",
        description="Sorted by deadline (paused ones after the running deadlines), then arrival, then id. "
        'The next page is named in a `Link: <...>; rel="next"` header.',
    )
    async def list_complaints(
        self,
        request: Request[Any, Any, Any],
        complaint_context: Context,
        queue_filter: NamedDependency[QueueFilter],
        after: Cursor = None,
        limit: Limit = listing.PAGE_SIZE,
    ) -> Response[list[schemas.ComplaintSummary]]:
        found = await queue.list_page(complaint_context, queue_filter, after=after, limit=limit)
        return Response(list(found.items), headers=listing.link_header(request, found))

    @get(
        "/export.csv",
        opt=requires(P.COMPLAINT_COMPLAINT_EXPORT),
        dependencies=QUEUE_FILTER,
        summary="The filtered queue as CSV (list columns only; audited)",
        media_type=listing.CSV_MEDIA_TYPE,
    )
    async def export(
        self,
        request: Request[Any, Any, Any],
        complaint_context: Context,
        queue_filter: NamedDependency[QueueFilter],
    ) -> Response[str]:
        text = await queue.export_csv(complaint_context, queue_filter, translator_for(request))
        return listing.csv_response(text, "beschwerden.csv")

    @get(
        "/workload",
        opt=requires(P.COMPLAINT_COMPLAINT_ASSIGN),
        summary="Open, overdue and soon-due complaints per member of the office (lead)",
    )
    async def workload(self, complaint_context: Context) -> list[schemas.HandlerWorkload]:
        return await queue.workload(complaint_context)

    @post(
        "",
        opt=requires(P.COMPLAINT_COMPLAINT_CREATE_STAFF),
        summary="Enter a complaint received by letter, e-mail, fax, phone or in person",
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

    @post(
        _ONE + "/take",
        opt=requires(P.COMPLAINT_COMPLAINT_TRIAGE),
        status_code=200,
        summary="Take a complaint nobody holds: assign it to oneself (audited)",
    )
    async def take(self, complaint_context: Context, complaint_id: ComplaintId) -> schemas.ComplaintSummary:
        complaint = await office.take(complaint_context, complaint_id)
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

    @post(
        _ONE + "/close",
        opt=requires(P.COMPLAINT_COMPLAINT_CLOSE),
        status_code=200,
        summary="Close a decided complaint (optional body: a past closed_at, historical entry)",
    )
    async def close(
        self,
        complaint_context: Context,
        complaint_id: ComplaintId,
        request: Request[Any, Any, Any],
    ) -> schemas.ComplaintSummary:
        data = await _optional_body(request, schemas.CloseCreate)
        complaint = await office.close(complaint_context, complaint_id, data)
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


Body = TypeVar("Body", bound=msgspec.Struct)


async def _optional_body(request: Request[Any, Any, Any], struct: type[Body]) -> Body | None:
    """The body of a step that is usually sent without one (`close`): none, or JSON refused the way the
    kernel refuses a declared body (415 when not declared JSON, 422 with every field error). Declaring it
    as `data` would make the kernel demand a JSON content type of the bodiless posts too."""
    if not (await request.body()).strip():
        return None
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if not _JSON.match(media_type):
        raise UnsupportedMediaTypeError("Send the body as JSON, with Content-Type: application/json.")
    raw = await request.json()
    try:
        return msgspec.convert(raw, struct, strict=False, str_keys=True)
    except msgspec.ValidationError:
        raise RequestValidationError(field_errors(raw, struct)) from None
