"""The referring station's pages: the list with status feedback, a new referral with the consent step,
a referral's page (feedback, its timeline, and the content until a branch accepts it), the correction of
the content before acceptance, and the record of a consent withdrawal."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from litestar.params import FromPath

from referral_service.identity.http import requires
from referral_service.identity.permissions import Permission
from referral_service.identity.roles import Role
from referral_service.listing import PAGE_SIZE
from referral_service.problems import ErrorKind
from referral_service.referrals.controllers import detail, feedback, provide_referral_context, summary
from referral_service.referrals.domain import OPEN_STATES, ReferralStatus
from referral_service.referrals.errors import ConsentInvalidError
from referral_service.referrals.models import Referral
from referral_service.referrals.pages import forms
from referral_service.referrals.pages.common import (
    CURSOR_PARAMETER,
    POLICE_AREA,
    WR_AREA,
    Ctx,
    Step,
    export_url,
    filter_options,
    is_police,
    list_page,
    list_rows,
    read_list_query,
    step_handler,
    unit_names,
    withdrawal_question,
)
from referral_service.referrals.service import intake, views, workflow
from referral_service.referrals.service.common import ReferralContext
from referral_service.validation import RequestValidationError
from referral_service.web.errors import PAGE_EXCEPTION_HANDLERS
from referral_service.web.forms import FormInput, form_input, refusable
from referral_service.web.i18n import N_, translator_for
from referral_service.web.render import NOTICE_PARAMETER, page, see_other

_REFERRAL = "/vermittlungen/{referral_id:uuid}"
# The form carries the moment of the content it showed, so that a correction made meanwhile by a
# colleague is not silently overwritten.
VERSION_FIELD = "stand"
# After a new referral the list names it by its reference. The redirect carries only the notice's code;
# the reference is read back as the officer's newest referral, so nothing of the case is in the URL.
SENT_NOTICES = {
    "vermittlung_aussenstelle": N_("police.list.sent_branch"),
    "vermittlung_landesbuero": N_("police.list.sent_state_office"),
}


SEARCH_FIELD = "vorgangsnummer"


async def station_page(
    request: Request[Any, Any, Any],
    ctx: ReferralContext,
    *,
    search: FormInput | None = None,
    found: list[dict[str, Any]] | None = None,
    status_code: int = 200,
) -> Response[Any]:
    """The station's list, filtered and paged, and the result of a case number search if one was sent."""
    listed = read_list_query(request, ctx)
    shown = await list_page(request, ctx, listed)
    stations = await unit_names(ctx)
    for row in [*shown.rows, *(found or [])]:
        row["station"] = stations.get(row["station_id"], "")
    errors = dict(listed.errors)
    if shown.cursor_invalid:
        errors[CURSOR_PARAMETER] = N_("referral.list.error.nach")
    context: dict[str, Any] = {
        "rows": shown.rows,
        "paging": shown,
        "list": listed,
        "values": {**listed.values, **(search.values if search else {})},
        "errors": {**errors, **(search.errors if search else {})},
        "found": found,
        "show_station": ctx.principal.has_role(Role.POLICE_SUPERVISOR),
        "unit_name": stations.get(ctx.principal.unit_id, ""),
        "export_url": export_url(request) if ctx.principal.has(Permission.REFERRAL_REFERRAL_EXPORT) else None,
        **filter_options(),
    }
    sent = SENT_NOTICES.get(request.query_params.get(NOTICE_PARAMETER, ""))
    if sent is not None and (newest := await views.newest_submitted(ctx)) is not None:
        context["notice"] = translator_for(request)(sent, reference=newest.reference)
    if errors and status_code == 200:
        status_code = 422
    return page(request, "referrals/police_list.html", status_code=status_code, context=context)


def _version(referral: Referral) -> str:
    return referral.updated_at.isoformat()


async def referral_page(
    request: Request[Any, Any, Any],
    ctx: ReferralContext,
    referral_id: uuid.UUID,
    *,
    data: FormInput | None = None,
    status_code: int = 200,
    refusal: str | None = None,
) -> Response[Any]:
    referral = await views.feedback(ctx, referral_id)
    correctable = intake.correctable(referral)
    content = None
    if correctable:
        # Until a branch accepts, the station may still read (and correct) what it sent; audited.
        content = detail(await views.open_referral(ctx, referral_id), ctx.principal, ctx.policy)
    return page(
        request,
        "referrals/police_detail.html",
        status_code=status_code,
        context={
            "summary": summary(referral, ctx.policy),
            "feedback": feedback(referral, ctx.policy),
            "timeline": await views.timeline(ctx, referral_id),
            "content": content,
            "can_correct": correctable and ctx.principal.has(Permission.REFERRAL_REFERRAL_UPDATE),
            "can_withdraw": ctx.principal.has(Permission.REFERRAL_REFERRAL_WITHDRAW_CONSENT)
            and ReferralStatus(referral.status) in OPEN_STATES,
            "refusal": refusal,
            "errors": data.errors if data else {},
            "values": data.values if data else {},
        },
    )


def _correction_page(
    request: Request[Any, Any, Any],
    referral_id: uuid.UUID,
    version: str,
    values: dict[str, Any],
    *,
    data: FormInput | None = None,
    status_code: int = 200,
) -> Response[Any]:
    return page(
        request,
        "referrals/correction.html",
        status_code=status_code,
        context={
            "referral_id": referral_id,
            "version": version,
            "values": values,
            "errors": forms.in_page_order(data.errors) if data else {},
            **forms.content_options(values.get("offence_category")),
        },
    )


async def _refused(
    request: Request[Any, Any, Any], ctx: ReferralContext, referral_id: uuid.UUID
) -> Response[Any]:
    """No longer correctable (accepted or withdrawn meanwhile): the page says so, with the API's 409."""
    return await referral_page(
        request,
        ctx,
        referral_id,
        status_code=ErrorKind.CONFLICT.value,
        refusal=N_("police.correct.refused"),
    )


WITHDRAW = Step(
    name="withdraw",
    path=_REFERRAL + "/einwilligung-widerrufen",
    permission=Permission.REFERRAL_REFERRAL_WITHDRAW_CONSENT,
    read=forms.read_withdrawal,
    run=lambda ctx, referral_id, _: workflow.withdraw_consent(ctx, referral_id),
    notice="einwilligung_widerrufen",
    question=withdrawal_question,
    done="/polizei/vermittlungen/{id}",
    error_field="confirm",
)


class PolicePages(Controller):
    """The referring station: new referrals with the consent step, status feedback, corrections."""

    path = "/polizei"
    include_in_schema = False
    exception_handlers = PAGE_EXCEPTION_HANDLERS
    dependencies = {"ctx": Provide(provide_referral_context)}

    @get("", opt=requires(Permission.REFERRAL_REFERRAL_LIST))
    async def station(self, request: Request[Any, Any, Any], ctx: Ctx) -> Response[Any]:
        if not is_police(ctx.principal):
            return see_other(WR_AREA.path)
        return await station_page(request, ctx)

    @post("/suche", opt=requires(Permission.REFERRAL_REFERRAL_LIST), status_code=200)
    async def search(self, request: Request[Any, Any, Any], ctx: Ctx) -> Response[Any]:
        """Search by the police case number: posted, and answered directly, so that the number (personal
        data) appears in no URL, neither in this request nor in a redirect."""
        if not is_police(ctx.principal):
            return see_other(WR_AREA.path)
        data = await form_input(request)
        case_number = data.text(SEARCH_FIELD, required=True, max_length=40)
        if case_number is not None and len(case_number) < 3:
            data.error(SEARCH_FIELD, N_("police.search.too_short"))
        if not data.ok or case_number is None:
            return await station_page(request, ctx, search=data, status_code=422)
        found = await views.search_case_number(ctx, case_number, limit=PAGE_SIZE)
        return await station_page(request, ctx, search=data, found=await list_rows(ctx, found.items))

    @get("/vermittlungen/neu", opt=requires(Permission.REFERRAL_REFERRAL_CREATE))
    async def consent_step(self, request: Request[Any, Any, Any], ctx: Ctx) -> Response[Any]:
        return page(request, "referrals/new_consent.html", context=forms.form_context(None, ctx))

    @post(
        "/vermittlungen/neu/einwilligung", opt=requires(Permission.REFERRAL_REFERRAL_CREATE), status_code=200
    )
    async def consent_given(self, request: Request[Any, Any, Any], ctx: Ctx) -> Response[Any]:
        data = await form_input(request)
        consent = forms.read_consent(data, ctx)
        if consent is None:
            return page(
                request, "referrals/new_consent.html", status_code=422, context=forms.form_context(data, ctx)
            )
        return page(
            request,
            "referrals/new_details.html",
            context=forms.form_context(data, ctx, consent=consent, consent_editable=False),
        )

    @post("/vermittlungen", opt=requires(Permission.REFERRAL_REFERRAL_CREATE), status_code=200)
    async def create(self, request: Request[Any, Any, Any], ctx: Ctx) -> Response[Any]:
        data = await form_input(request)
        consent = forms.read_consent(data, ctx)
        create = forms.read_referral(data, consent, ctx)
        if create is not None:
            async with refusable(ctx.session, ConsentInvalidError, RequestValidationError) as refused:
                referral = await intake.create_referral(ctx, create)
            if refused.error is None:
                notice = "vermittlung_aussenstelle" if referral.branch_id else "vermittlung_landesbuero"
                return see_other(POLICE_AREA.path, notice=notice)
            if isinstance(refused.error, RequestValidationError):
                forms.show_field_errors(data, refused.error.errors)
            else:
                data.error("consent_given_at", N_("referral.error.consent_invalid"))
        consent_editable = consent is None or any(name.startswith("consent_") for name in data.errors)
        return page(
            request,
            "referrals/new_details.html",
            status_code=422,
            context=forms.form_context(data, ctx, consent=consent, consent_editable=consent_editable),
        )

    @get(_REFERRAL, opt=requires(Permission.REFERRAL_FEEDBACK_READ))
    async def referral(
        self, request: Request[Any, Any, Any], ctx: Ctx, referral_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        return await referral_page(request, ctx, referral_id)

    @get(_REFERRAL + "/korrigieren", opt=requires(Permission.REFERRAL_REFERRAL_UPDATE))
    async def correction_form(
        self, request: Request[Any, Any, Any], ctx: Ctx, referral_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        referral = await views.feedback(ctx, referral_id)
        if not intake.correctable(referral):
            return await _refused(request, ctx, referral_id)
        opened = await views.open_referral(ctx, referral_id)
        current = detail(opened, ctx.principal, ctx.policy)
        return _correction_page(
            request, referral_id, _version(opened.referral), forms.correction_values(current)
        )

    @post(_REFERRAL + "/korrigieren", opt=requires(Permission.REFERRAL_REFERRAL_UPDATE), status_code=200)
    async def correct(
        self, request: Request[Any, Any, Any], ctx: Ctx, referral_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        data = await form_input(request)
        referral = await views.feedback(ctx, referral_id)
        if not intake.correctable(referral):
            return await _refused(request, ctx, referral_id)
        opened = await views.open_referral(ctx, referral_id)  # audited: what the changes are taken against
        current = detail(opened, ctx.principal, ctx.policy)
        version = _version(opened.referral)
        if data.form.get(VERSION_FIELD) != version:
            data.error("form", N_("police.correct.stale"))
            values = forms.correction_values(current)
            return _correction_page(request, referral_id, version, values, data=data, status_code=409)
        correction = forms.read_correction(data, current, ctx)
        if correction is not None and correction.empty:
            return see_other(f"/polizei/vermittlungen/{referral_id}", notice="keine_aenderung")
        if correction is not None:
            # A refused correction is undone; the audited read above is kept.
            async with refusable(ctx.session, keep_prior_work=True) as refused:
                await intake.update_referral(ctx, referral_id, correction.update, clear=correction.clear)
            if refused.error is None:
                return see_other(f"/polizei/vermittlungen/{referral_id}", notice="angaben_korrigiert")
            if refused.error.kind is ErrorKind.CONFLICT:
                return await _refused(request, ctx, referral_id)
            if isinstance(refused.error, RequestValidationError):
                forms.show_field_errors(data, refused.error.errors)
            else:
                data.error("form", N_("referral.error.invalid"))
        return _correction_page(request, referral_id, version, data.values, data=data, status_code=422)

    withdraw_consent = step_handler(WITHDRAW, referral_page)
