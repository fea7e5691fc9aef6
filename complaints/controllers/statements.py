"""`/api/v1/statement-requests`: what a police unit sees of the statement requests addressed to it.

Only supervisors of the addressed unit: every other police user gets 404 (out of scope), every role
without the permission 403 (the guard).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from complaints import schemas
from complaints.controllers.dependencies import NO_STORE
from complaints.service import statements
from complaints.service.common import ComplaintContext
from referral_service.identity.http import requires
from referral_service.identity.permissions import Permission

_ONE = "/{request_id:uuid}"


class StatementRequestController(Controller):
    path = "/"
    tags = ["statement requests (police units)"]

    @get(
        "",
        opt=requires(Permission.COMPLAINT_STATEMENT_REQUEST_READ),
        summary="Statement requests addressed to the caller's unit",
    )
    async def list_requests(
        self,
        complaint_context: NamedDependency[ComplaintContext],
        open_only: FromQuery[bool] = False,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> list[schemas.UnitStatementRequestSummary]:
        return await statements.list_for_unit(
            complaint_context, open_only=open_only, limit=limit, offset=offset
        )

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
