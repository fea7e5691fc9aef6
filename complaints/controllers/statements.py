"""`/api/v1/statement-requests`: what a police unit sees of the statement requests addressed to it.

Only supervisors of the addressed unit: every other police user gets 404 (out of scope), every role
without the permission 403 (the guard).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from complaints import schemas
from complaints.controllers.dependencies import NO_STORE
from complaints.domain import StatementRequestState
from complaints.service import statements
from complaints.service.common import ComplaintContext
from referral_service import listing
from referral_service.identity.http import requires
from referral_service.identity.permissions import Permission
from referral_service.validation import FieldError, RequestValidationError

_ONE = "/{request_id:uuid}"


class StatementRequestController(Controller):
    path = "/"
    tags = ["statement requests (police units)"]

    @get(
        "",
        opt=requires(Permission.COMPLAINT_STATEMENT_REQUEST_READ),
        summary="Statement requests addressed to the caller's unit, nearest deadline first, paged",
    )
    async def list_requests(
        self,
        request: Request[Any, Any, Any],
        complaint_context: NamedDependency[ComplaintContext],
        status: FromQuery[StatementRequestState | None] = None,
        open_only: Annotated[
            bool, QueryParameter(description="Same as status=open (kept for old clients)")
        ] = False,
        overdue: Annotated[
            bool, QueryParameter(description="Only unanswered ones past their deadline")
        ] = False,
        after: Annotated[str | None, QueryParameter(max_length=512)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=listing.MAX_PAGE_SIZE)] = listing.PAGE_SIZE,
    ) -> Response[list[schemas.UnitStatementRequestSummary]]:
        if open_only and status is StatementRequestState.ANSWERED:
            raise RequestValidationError(
                [FieldError("open_only", "value.invalid", "open_only=true contradicts status=answered")]
            )
        found = await statements.list_for_unit(
            complaint_context,
            state=StatementRequestState.OPEN if open_only else status,
            overdue=overdue,
            after=after,
            limit=limit,
        )
        return Response(list(found.items), headers=listing.link_header(request, found))

    @get(
        _ONE,
        opt=requires(Permission.COMPLAINT_STATEMENT_REQUEST_READ),
        summary="One statement request: question, released facts, deadline (audited)",
    )
    async def get_request(
        self,
        complaint_context: NamedDependency[ComplaintContext],
        request_id: FromPath[uuid.UUID],
    ) -> Response[schemas.UnitStatementRequest]:
        view = await statements.read_for_unit(complaint_context, request_id)
        return Response(view, headers=NO_STORE)

    @post(
        _ONE + "/statement",
        opt=requires(Permission.COMPLAINT_STATEMENT_REQUEST_ANSWER),
        status_code=200,
        summary="Answer the request (once)",
    )
    async def answer(
        self,
        complaint_context: NamedDependency[ComplaintContext],
        request_id: FromPath[uuid.UUID],
        data: JSONBody[schemas.StatementAnswerCreate],
    ) -> schemas.UnitStatementRequestSummary:
        return await statements.answer(complaint_context, request_id, data.answer)
