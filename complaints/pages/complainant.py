"""The complainant's own pages: reference + access code -> status, replies, messages, attachments.

The complainant's session token (what the API hands out as a bearer token) lives in a `__Host-`
cookie (Secure, HttpOnly, SameSite=Strict) for the pages; the access code is never put in a URL or a
cookie. Reference and code are posted, so that neither appears in a URL or a server log.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie

from complaints import paths, schemas
from complaints.domain import PublicStatus
from complaints.errors import AccessDeniedError, AccessThrottledError, ComplainantSessionError
from complaints.pages.common import Context, Session, error_key
from complaints.pages.uploads import ATTACHMENTS, attachment_limits, read_posted_form
from complaints.service import access, views
from complaints.service.access import ComplainantAccess
from complaints.service.common import ComplaintContext
from referral_service.identity.http import PUBLIC
from referral_service.web.errors import PAGE_EXCEPTION_HANDLERS
from referral_service.web.forms import FormInput, form_input, refusable
from referral_service.web.i18n import N_
from referral_service.web.render import page, see_other
from referral_service.web.security import check_public_form_token

COMPLAINANT_COOKIE = "__Host-rs_complainant"
STATUS_PATH = paths.COMPLAINANT_ACCESS
MY_COMPLAINT_PATH = "/beschwerde/meine"
# The complainant can still write (and add files) until the complaint is finished.
_WRITABLE = {PublicStatus.RECEIVED, PublicStatus.IN_PROGRESS, PublicStatus.DECIDED}


def _complainant_cookie(token: str, max_age: int) -> Cookie:
    return Cookie(
        key=COMPLAINANT_COOKIE,
        value=token,
        path="/",
        max_age=max_age,
        secure=True,
        httponly=True,
        samesite="strict",
    )


async def _complainant(request: Request[Any, Any, Any], ctx: ComplaintContext) -> ComplainantAccess | None:
    try:
        return await access.resolve_session(ctx, request.cookies.get(COMPLAINANT_COOKIE))
    except ComplainantSessionError:
        return None


def _ended() -> Response[Any]:
    return see_other(f"{STATUS_PATH}?abgelaufen=1", cookies=[_complainant_cookie("", 0)])


async def _view(
    request: Request[Any, Any, Any],
    ctx: ComplaintContext,
    complainant: ComplainantAccess,
    *,
    data: FormInput | None = None,
    status_code: int = 200,
) -> Response[Any]:
    view = await views.complainant_view(ctx, complainant)
    return page(
        request,
        "complaints/public_view.html",
        status_code=status_code,
        context={
            "view": view,
            "can_write": view.status in _WRITABLE,
            "can_attach": view.status in _WRITABLE and len(view.attachments) < ctx.config.max_attachments,
            "attachment_limits": attachment_limits(request, ctx.config),
            "files_required": True,
            "errors": data.errors if data else {},
            "values": data.values if data else {},
        },
    )


class ComplainantPages(Controller):
    """Reference + access code -> the complainant's page: status, replies, messages."""

    path = "/beschwerde"
    include_in_schema = False
    exception_handlers = PAGE_EXCEPTION_HANDLERS
    opt = PUBLIC

    @get("/status")
    async def access_form(self, request: Request[Any, Any, Any]) -> Response[Any]:
        query = request.query_params
        return page(
            request,
            "complaints/public_access.html",
            context={"ended": query.get("abgelaufen") == "1", "signed_out": query.get("abgemeldet") == "1"},
        )

    @post("/status", status_code=200)
    async def open_session(
        self, request: Request[Any, Any, Any], complaint_context: Context
    ) -> Response[Any]:
        """A POST form, so that neither reference nor code ever appears in a URL or a server log."""
        await check_public_form_token(request)
        data = await form_input(request)
        reference = data.text("reference", required=True, max_length=32)
        code = data.text("access_code", required=True, max_length=64)
        error: str | None = None
        status_code = 422
        if reference and code:
            try:
                opened = await access.open_session(complaint_context, reference=reference, access_code=code)
            except AccessDeniedError:
                error = N_("complaint.access.denied")
            except AccessThrottledError:
                error, status_code = N_("complaint.access.throttled"), 429
            else:
                max_age = int(complaint_context.config.session_lifetime.total_seconds())
                return see_other(MY_COMPLAINT_PATH, cookies=[_complainant_cookie(opened.token, max_age)])
        return page(
            request,
            "complaints/public_access.html",
            status_code=status_code,
            context={
                "ended": False,
                "signed_out": False,
                "access_error": error,
                "errors": data.errors,
                "values": {"reference": reference or ""},  # never the code
            },
        )

    @get("/meine")
    async def my_complaint(
        self, request: Request[Any, Any, Any], complaint_context: Context
    ) -> Response[Any]:
        complainant = await _complainant(request, complaint_context)
        if complainant is None:
            return _ended()
        return await _view(request, complaint_context, complainant)

    @post("/meine/nachricht", status_code=200)
    async def write(
        self, request: Request[Any, Any, Any], db_session: Session, complaint_context: Context
    ) -> Response[Any]:
        await check_public_form_token(request)
        complainant = await _complainant(request, complaint_context)
        if complainant is None:
            return _ended()
        data = await form_input(request)
        body = data.text("body", required=True, max_length=schemas.MAX_TEXT)
        if body is not None:
            async with refusable(db_session) as refused:
                await access.post_message(complaint_context, complainant, body)
            if refused.error is None:
                return see_other(MY_COMPLAINT_PATH, notice="nachricht_gesendet")
            data.error("body", error_key(request, refused.error))
        return await _view(request, complaint_context, complainant, data=data, status_code=422)

    @post("/meine/abmelden", status_code=200)
    async def sign_out(self, request: Request[Any, Any, Any], complaint_context: Context) -> Response[Any]:
        await check_public_form_token(request)
        complainant = await _complainant(request, complaint_context)
        if complainant is not None:
            await access.end_session(complaint_context, complainant)
        return see_other(f"{STATUS_PATH}?abgemeldet=1", cookies=[_complainant_cookie("", 0)])


class ComplainantAttachmentPages(Controller):
    """Files added later from the complainant's page (a router of its own: a larger body cap)."""

    path = "/beschwerde"
    include_in_schema = False
    exception_handlers = PAGE_EXCEPTION_HANDLERS
    opt = PUBLIC

    @post("/meine/anhang", status_code=200)
    async def attach(
        self, request: Request[Any, Any, Any], db_session: Session, complaint_context: Context
    ) -> Response[Any]:
        if not request.cookies.get(COMPLAINANT_COOKIE):
            return _ended()  # before reading up to 50 MB of files for nobody
        posted = await read_posted_form(request)
        await check_public_form_token(request, posted.fields)
        complainant = await _complainant(request, complaint_context)
        if complainant is None:
            return _ended()
        data = FormInput(posted.fields)
        files = posted.files_of(ATTACHMENTS)
        status_code = 422
        if not files:
            data.error(ATTACHMENTS, N_("complaint.error.no_file"))
        else:
            # One transaction: a refused file also undoes the ones before it.
            async with refusable(db_session) as refused:
                await access.add_attachments(
                    complaint_context,
                    complainant,
                    [access.Upload(item.content, item.content_type, item.filename) for item in files],
                )
            if refused.error is None:
                notice = "anhang_gespeichert" if len(files) == 1 else "anhaenge_gespeichert"
                return see_other(MY_COMPLAINT_PATH, notice=notice)
            data.error(ATTACHMENTS, error_key(request, refused.error))
            status_code = refused.error.kind.value
        return await _view(request, complaint_context, complainant, data=data, status_code=status_code)
