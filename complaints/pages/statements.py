"""What a police supervisor sees of the statement requests addressed to their unit, and the answer."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post

from complaints import paths, schemas
from complaints.domain import DeadlineFilter, StatementRequestState
from complaints.pages.common import (
    ALL,
    CURSOR,
    DEADLINE,
    STATEMENTS_AREA,
    STATUS,
    Caller,
    Context,
    Id,
    Session,
    error_key,
    read_states,
)
from complaints.service import statements
from complaints.service.common import ComplaintContext
from referral_service.identity.http import requires
from referral_service.identity.permissions import Permission
from referral_service.identity.principal import Principal
from referral_service.listing import PAGE_SIZE, InvalidCursorError, url_with
from referral_service.web.errors import PAGE_EXCEPTION_HANDLERS
from referral_service.web.forms import FormInput, form_input, refusable
from referral_service.web.i18n import N_
from referral_service.web.render import page, see_other

# The list's status filter: a state, or all of them; open ones unless asked otherwise.
_STATUS_GROUPS = {ALL: frozenset(StatementRequestState)}


async def _request_page(
    request: Request[Any, Any, Any],
    ctx: ComplaintContext,
    principal: Principal,
    request_id: uuid.UUID,
    *,
    data: FormInput | None = None,
    status_code: int = 200,
) -> Response[Any]:
    view = await statements.read_for_unit(ctx, request_id)
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
    ) -> Response[Any]:
        """The unit's requests, nearest deadline first, 50 a page; open ones unless asked otherwise."""
        data = FormInput(request.query_params)
        states = read_states(data, StatementRequestState, _STATUS_GROUPS, default=StatementRequestState.OPEN)
        # Of the deadline filters only "overdue" applies: a request's deadline does not pause.
        deadline = data.choice(DEADLINE, DeadlineFilter, required=False)
        if deadline not in (None, DeadlineFilter.OVERDUE):
            data.error(DEADLINE, N_("form.error.choose"))
        after = data.text(CURSOR, max_length=512)
        found = None
        if data.ok:
            async with refusable(db_session, InvalidCursorError) as refused:
                found = await statements.list_for_unit(
                    complaint_context,
                    state=next(iter(states)) if len(states) == 1 else None,
                    overdue=deadline is DeadlineFilter.OVERDUE,
                    after=after,
                    limit=PAGE_SIZE,
                )
            if refused.error is not None:
                data.error(CURSOR, N_("office.queue.error.list.cursor_invalid"))
        return page(
            request,
            "complaints/statements_list.html",
            status_code=200 if data.ok else 400,
            context={
                "rows": found.items if found else [],
                "next_url": url_with(request, **{CURSOR: found.next_cursor})
                if found and found.next_cursor
                else None,
                "first_url": url_with(request, **{CURSOR: None}) if after else None,
                "states": [(code, f"statements.state.{code}") for code in [*StatementRequestState, ALL]],
                "deadlines": [(DeadlineFilter.OVERDUE, f"office.queue.deadline.{DeadlineFilter.OVERDUE}")],
                "filtered": any(name in request.query_params for name in (STATUS, DEADLINE)),
                "values": data.values,
                "errors": {name: key for name, key in data.errors.items() if name != CURSOR},
                "cursor_invalid": CURSOR in data.errors,
            },
        )

    @get("/{request_id:uuid}", opt=requires(Permission.COMPLAINT_STATEMENT_REQUEST_READ))
    async def statement_request(
        self,
        request: Request[Any, Any, Any],
        complaint_context: Context,
        principal: Caller,
        request_id: Id,
    ) -> Response[Any]:
        return await _request_page(request, complaint_context, principal, request_id)

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
        request_id: Id,
    ) -> Response[Any]:
        data = await form_input(request)
        text = data.text("answer", required=True, max_length=schemas.MAX_TEXT)
        status_code = 422
        if text is not None:
            async with refusable(db_session) as refused:
                await statements.answer(complaint_context, request_id, text)
            if refused.error is None:
                return see_other(paths.statement_request_page(request_id), notice="stellungnahme_gesendet")
            data.error("answer", error_key(request, refused.error))
            status_code = refused.error.kind.value
        return await _request_page(
            request, complaint_context, principal, request_id, data=data, status_code=status_code
        )
