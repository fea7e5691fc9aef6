"""The public complaint: the form (with attachments) and the receipt that shows the access code once.

The receipt answers the post itself: the access code must not travel in a URL, and it cannot be shown
again (only its hash is stored). Files are checked with the attachment service's limits before the
complaint is stored, and stored in the same transaction, so a refused file leaves nothing behind.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from litestar import Controller, Request, Response, get, post
from sqlmodel.ext.asyncio.session import AsyncSession

from complaints import schemas
from complaints.config import ComplaintsConfig
from complaints.domain import Channel
from complaints.errors import (
    AttachmentLimitError,
    AttachmentTooLargeError,
    AttachmentTypeError,
    UnknownPoliceUnitError,
)
from complaints.pages import forms
from complaints.pages.common import Context, Session, error_key, police_units, unit_options
from complaints.pages.receipt import receipt_context
from complaints.pages.uploads import (
    ATTACHMENTS,
    UploadedFile,
    attachment_limits,
    check_files,
    read_posted_form,
)
from complaints.service import access, intake
from complaints.service.common import ComplaintContext
from referral_service.identity.http import PUBLIC
from referral_service.validation import RequestValidationError
from referral_service.web.errors import PAGE_EXCEPTION_HANDLERS
from referral_service.web.forms import FormInput, refusable
from referral_service.web.i18n import language_of
from referral_service.web.render import page
from referral_service.web.security import check_public_form_token

# Refusals shown on the form: of the complaint (next to its fields) and of a file (next to the files).
_INTAKE_REFUSALS = (RequestValidationError, UnknownPoliceUnitError)
_ATTACHMENT_REFUSALS = (AttachmentTooLargeError, AttachmentTypeError, AttachmentLimitError)


async def _form_page(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    config: ComplaintsConfig,
    data: FormInput | None,
    *,
    status_code: int = 200,
    files_dropped: bool = False,
) -> Response[Any]:
    units = unit_options(await police_units(session, None))
    return page(
        request,
        "complaints/public_form.html",
        status_code=status_code,
        context={
            **forms.intake_form_context(units, data),
            "attachment_limits": attachment_limits(request, config),
            # A browser cannot be told to keep the chosen files; the form says so.
            "files_dropped": files_dropped,
        },
    )


async def _attach(
    ctx: ComplaintContext, complaint_id: uuid.UUID, files: Sequence[UploadedFile]
) -> list[schemas.AttachmentInfo]:
    return [
        await access.attach_on_submission(
            ctx,
            complaint_id,
            content=item.content,
            declared_type=item.content_type,
            filename=item.filename,
        )
        for item in files
    ]


class PublicComplaintPages(Controller):
    """The complaint form and its submission (rate limited together with the API's intake)."""

    path = "/beschwerde"
    include_in_schema = False
    exception_handlers = PAGE_EXCEPTION_HANDLERS
    opt = PUBLIC

    @get("")
    async def complaint_form(
        self, request: Request[Any, Any, Any], db_session: Session, complaint_context: Context
    ) -> Response[Any]:
        return await _form_page(request, db_session, complaint_context.config, None)

    @post("", status_code=200)
    async def submit(
        self, request: Request[Any, Any, Any], db_session: Session, complaint_context: Context
    ) -> Response[Any]:
        posted = await read_posted_form(request)
        await check_public_form_token(request, posted.fields)
        data = FormInput(posted.fields)
        create = forms.read_complaint(data, complaint_context.config.today(), language=language_of(request))
        files = posted.files_of(ATTACHMENTS)
        files_ok = check_files(request, data, ATTACHMENTS, files, complaint_context.config)
        if create is not None and files_ok:
            async with refusable(db_session, *_INTAKE_REFUSALS, *_ATTACHMENT_REFUSALS) as refused:
                submitted = await intake.submit(complaint_context, create, channel=Channel.WEB)
                attached = await _attach(complaint_context, submitted.complaint.id, files)
            if isinstance(refused.error, _INTAKE_REFUSALS):
                forms.note_intake_refusal(data, refused.error, forms.PUBLIC_INTAKE_ERRORS)
            elif refused.error is not None:
                data.error(ATTACHMENTS, error_key(request, refused.error))
            else:
                return page(
                    request,
                    "complaints/public_receipt.html",
                    status_code=201,
                    context={
                        **receipt_context(
                            request,
                            complaint_context.config.office,
                            reference=submitted.complaint.reference,
                            access_code=submitted.access_code,
                            received_at=submitted.complaint.received_at,
                        ),
                        "attachments": attached,
                        "answer_days": complaint_context.config.answer_deadline_working_days,
                    },
                )
        return await _form_page(
            request,
            db_session,
            complaint_context.config,
            data,
            status_code=422,
            files_dropped=bool(files),
        )
