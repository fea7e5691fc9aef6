"""Complaints that arrive by letter, e-mail, phone or in person, entered by the office ("Beschwerde
erfassen"): the public form's fields plus the channel.

As on the public form, the answer to the post shows the new reference and access code once, here for
the office to pass on to the complainant (by letter, for instance); only their hash is stored. The
complaint is assigned to whoever entered it, who can open it from there.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from sqlmodel.ext.asyncio.session import AsyncSession

from complaints.errors import UnknownPoliceUnitError, UnknownReferenceError
from complaints.pages import forms
from complaints.pages.case import case_path
from complaints.pages.common import OFFICE_AREA, Caller, Context, Session, police_units, unit_options
from complaints.pages.receipt import receipt_context
from complaints.service import intake
from referral_service.identity.http import requires
from referral_service.identity.permissions import Permission
from referral_service.identity.principal import Principal
from referral_service.validation import RequestValidationError
from referral_service.web.errors import PAGE_EXCEPTION_HANDLERS
from referral_service.web.forms import FormInput, form_input, refusable
from referral_service.web.render import page

ENTRY_PATH = OFFICE_AREA.path + "/erfassen"


async def _entry_form(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    principal: Principal,
    data: FormInput | None,
    *,
    status_code: int = 200,
) -> Response[Any]:
    units = unit_options(await police_units(session, principal))
    return page(
        request,
        "complaints/office_entry.html",
        status_code=status_code,
        context={
            **forms.intake_form_context(units, data, staff=True),
            "may_backdate": principal.has(Permission.COMPLAINT_COMPLAINT_BACKDATE),
        },
    )


class OfficeEntryPages(Controller):
    """The office's entry form for complaints received by other channels than the web form."""

    path = ENTRY_PATH
    include_in_schema = False
    exception_handlers = PAGE_EXCEPTION_HANDLERS

    @get("", opt=requires(Permission.COMPLAINT_COMPLAINT_CREATE_STAFF))
    async def entry_form(
        self, request: Request[Any, Any, Any], db_session: Session, principal: Caller
    ) -> Response[Any]:
        return await _entry_form(request, db_session, principal, None)

    @post("", opt=requires(Permission.COMPLAINT_COMPLAINT_CREATE_STAFF), status_code=200)
    async def enter(
        self,
        request: Request[Any, Any, Any],
        db_session: Session,
        complaint_context: Context,
        principal: Caller,
    ) -> Response[Any]:
        data = await form_input(request)
        create = forms.read_staff_complaint(data, complaint_context.config.today())
        if create is not None:
            async with refusable(
                db_session, RequestValidationError, UnknownPoliceUnitError, UnknownReferenceError
            ) as refused:
                submitted = await intake.submit(complaint_context, create, channel=create.channel)
            if refused.error is not None:
                forms.note_intake_refusal(data, refused.error, forms.STAFF_INTAKE_ERRORS)
            else:
                complaint = submitted.complaint
                return page(
                    request,
                    "complaints/office_entry_receipt.html",
                    status_code=201,
                    context={
                        **receipt_context(
                            request,
                            complaint_context.config.office,
                            reference=complaint.reference,
                            access_code=submitted.access_code,
                            received_at=complaint.received_at,
                        ),
                        "channel": create.channel,
                        "case_path": case_path(complaint.id),
                    },
                )
        return await _entry_form(request, db_session, principal, data, status_code=422)
