"""`/api/v1/public/complaints`: submitting a complaint without an account, and the complainant's access.

All routes are public (the staff guard lets them through); the complainant's routes under `/me` are
authenticated by the complainant session dependency instead. Rate limits and body-size caps are set
on the routers that mount these controllers (see `complaints.controllers.complaint_routers`).
"""

from __future__ import annotations

import email.message
from typing import Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from complaints import schemas
from complaints.controllers.dependencies import NO_STORE
from complaints.domain import CATEGORY_LABELS, Channel, PublicStatus
from complaints.errors import AttachmentMissingError
from complaints.service import access, intake, views
from complaints.service.access import ComplainantAccess
from complaints.service.common import ComplaintContext
from referral_service.identity.http import PUBLIC
from referral_service.problems import problems

# A reference and access code (or a session) that do not match answer as if no complaint existed.
SESSION_PROBLEMS = problems(404)


class PublicIntakeController(Controller):
    path = "/"
    tags = ["complaints (public)"]
    opt = PUBLIC

    @post("", summary="Submit a complaint (no account needed); returns the reference and access code")
    async def submit(
        self,
        complaint_context: NamedDependency[ComplaintContext],
        data: JSONBody[schemas.ComplaintCreate],
    ) -> Response[schemas.SubmissionReceipt]:
        submitted = await intake.submit(complaint_context, data, channel=Channel.WEB)
        receipt = schemas.SubmissionReceipt(
            reference=submitted.complaint.reference,
            access_code=submitted.access_code,
            received_at=submitted.complaint.received_at,
            status=PublicStatus.RECEIVED,
        )
        return Response(receipt, status_code=201, headers=NO_STORE)

    @get("/categories", summary="The complaint categories, with their German labels")
    async def categories(self) -> list[schemas.CategoryOption]:
        return [schemas.CategoryOption(value=value, label=label) for value, label in CATEGORY_LABELS.items()]


class ComplainantAccessController(Controller):
    path = "/"
    tags = ["complaints (public)"]
    opt = PUBLIC

    @post(
        "/session", summary="Open a short session with reference and access code", responses=SESSION_PROBLEMS
    )
    async def open_session(
        self,
        complaint_context: NamedDependency[ComplaintContext],
        data: JSONBody[schemas.AccessRequest],
    ) -> Response[schemas.ComplainantSessionStarted]:
        opened = await access.open_session(
            complaint_context, reference=data.reference, access_code=data.access_code
        )
        started = schemas.ComplainantSessionStarted(
            token=opened.token,
            token_type="Bearer",  # noqa: S106 - the scheme's name, not a secret
            expires_at=opened.expires_at,
        )
        return Response(started, status_code=201, headers=NO_STORE)

    @delete("/session", summary="End the complainant's session", responses=SESSION_PROBLEMS)
    async def end_session(
        self,
        complaint_context: NamedDependency[ComplaintContext],
        complainant: NamedDependency[ComplainantAccess],
    ) -> None:
        await access.end_session(complaint_context, complainant)

    @get(
        "/me",
        summary="Status, dates and replies of the complainant's own complaint",
        responses=SESSION_PROBLEMS,
    )
    async def me(
        self,
        complaint_context: NamedDependency[ComplaintContext],
        complainant: NamedDependency[ComplainantAccess],
    ) -> Response[schemas.ComplainantView]:
        view = await views.complainant_view(complaint_context, complainant)
        return Response(view, headers=NO_STORE)

    @get(
        "/me/messages", summary="Messages between the complainant and the office", responses=SESSION_PROBLEMS
    )
    async def messages(
        self,
        complaint_context: NamedDependency[ComplaintContext],
        complainant: NamedDependency[ComplainantAccess],
    ) -> Response[list[schemas.PublicMessage]]:
        found = await views.complainant_messages(complaint_context, complainant)
        return Response(found, headers=NO_STORE)

    @post("/me/messages", summary="Write to the office", responses=SESSION_PROBLEMS)
    async def post_message(
        self,
        complaint_context: NamedDependency[ComplaintContext],
        complainant: NamedDependency[ComplainantAccess],
        data: JSONBody[schemas.MessageCreate],
    ) -> Response[schemas.PublicMessage]:
        message = await access.post_message(complaint_context, complainant, data.body)
        return Response(message, status_code=201, headers=NO_STORE)


def _filename(content_disposition: str | None) -> str | None:
    """The file name of `Content-Disposition: attachment; filename*=UTF-8''…` (RFC 6266 / 2231)."""
    if not content_disposition:
        return None
    header = email.message.Message()
    header["content-disposition"] = content_disposition
    return header.get_filename()


class ComplainantAttachmentController(Controller):
    path = "/"
    tags = ["complaints (public)"]
    opt = PUBLIC

    @post(
        "/me/attachments",
        summary="Attach one file (PDF, PNG or JPEG; the raw bytes as the body, its type as Content-Type, "
        "its name in Content-Disposition)",
        responses={**SESSION_PROBLEMS, **problems(409, 415, 422)},  # too many files, wrong type, empty
    )
    async def attach(
        self,
        request: Request[Any, Any, Any],
        complaint_context: NamedDependency[ComplaintContext],
        complainant: NamedDependency[ComplainantAccess],
    ) -> Response[schemas.AttachmentInfo]:
        # The raw body, held in memory only (bounded by the router's size cap): a multipart parser would
        # spool larger files to a temporary file on disk, in plaintext.
        content = await request.body()
        if not content:
            raise AttachmentMissingError("Send the file's bytes as the request body.")
        attachment = await access.add_attachment(
            complaint_context,
            complainant,
            content=content,
            declared_type=request.headers.get("content-type"),
            filename=_filename(request.headers.get("content-disposition")),
        )
        return Response(attachment, status_code=201, headers=NO_STORE)
