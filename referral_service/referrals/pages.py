"""Web pages of the referral domain: the police station's referrals and the WEISSER RING's cases.

HTTP and presentation only, like `controllers.py`: every read and change goes through `service`, which
applies the caller's scope and content rules and audits the reads of personal data, so a page never
shows more than the API would show the same person. Forms post back here; on success the browser is
sent on (Post/Redirect/Get) with a confirmation code, on failure the page comes back with the messages
next to the fields. A failed use case rolls the request's transaction back before the page is drawn.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.identity import service as identity_service
from referral_service.identity.http import requires
from referral_service.identity.permissions import Permission
from referral_service.identity.principal import Principal
from referral_service.identity.roles import Role, UnitKind
from referral_service.problems import DomainError
from referral_service.referrals import schemas, service
from referral_service.referrals.controllers import detail, feedback, provide_referral_context, summary
from referral_service.referrals.domain import (
    CLOSE_FROM,
    OPEN_STATES,
    TRANSITIONS,
    CloseOutcome,
    ConsentForm,
    ConsentGiver,
    ConsentScope,
    ContactChannel,
    DeclineReason,
    OffenceCategory,
    ReferralAction,
    ReferralStatus,
    SupportKind,
    Urgency,
)
from referral_service.referrals.errors import ConsentInvalidError, ReferralInvalidError
from referral_service.referrals.models import Referral
from referral_service.referrals.reports import KIND as REPORT_KIND
from referral_service.referrals.reports import cooperation_report
from referral_service.web.errors import PAGE_EXCEPTION_HANDLERS
from referral_service.web.formatting import local_input_value
from referral_service.web.forms import FormInput, form_input
from referral_service.web.i18n import N_, translator_for
from referral_service.web.render import Area, page, see_other
from referral_service.web.reports import report_page

POLICE_ROLES = frozenset({Role.POLICE_OFFICER, Role.POLICE_SUPERVISOR})
WR_CASE_ROLES = frozenset({Role.WR_VOLUNTEER, Role.WR_BRANCH_LEAD})

POLICE_AREA = Area("/polizei", N_("area.police"), POLICE_ROLES)
WR_AREA = Area("/weisser-ring", N_("area.wr"), WR_CASE_ROLES)
STATE_OFFICE_AREA = Area(
    "/weisser-ring/landesbuero", N_("area.wr_state_office"), frozenset({Role.WR_STATE_OFFICE})
)
REPORT_AREA = Area(
    "/berichte/kooperation",
    N_("area.report_cooperation"),
    frozenset({Role.WR_STATE_OFFICE, Role.AUDITOR}),
    home=False,
)
AREAS = [POLICE_AREA, WR_AREA, STATE_OFFICE_AREA, REPORT_AREA]

# Languages offered in the form; the API takes any ISO 639 code.
VICTIM_LANGUAGES = ("de", "en", "ar", "fa", "fr", "pl", "ro", "ru", "tr", "uk", "vi")
LIST_LIMIT = 300

Ctx = NamedDependency[service.ReferralContext]
_PHONE = r"[0-9+()/ .\-]{4,32}"
_EMAIL = r"[^@\s]{1,64}@[^@\s]{1,255}"


def _options(prefix: str, values: Sequence[Any]) -> list[tuple[str, str]]:
    """(value, catalogue key) pairs; the template translates the key."""
    return [(str(value), f"{prefix}.{value}") for value in values]


def _is_police(principal: Principal) -> bool:
    return principal.has_role(*POLICE_ROLES)


async def _unit_names(ctx: service.ReferralContext, kind: UnitKind | None = None) -> dict[uuid.UUID, str]:
    units = await identity_service.list_units(ctx.session, ctx.principal, kind=kind)
    return {unit.id: unit.name for unit in units}


# --- the consent step and the referral form --------------------------------------------------------


def _read_consent(data: FormInput, ctx: service.ReferralContext) -> schemas.Consent | None:
    given_by = data.choice("consent_given_by", ConsentGiver)
    given_at = data.local_datetime("consent_given_at", required=True)
    form = data.choice("consent_form", ConsentForm)
    if not data.flag("consent_scope"):
        data.error("consent_scope", N_("referral.error.consent_scope"))
    if given_at is not None:
        # Early feedback only; the service decides (and says so with ConsentInvalidError).
        now = ctx.now()
        if given_at > now + dt.timedelta(minutes=5):
            data.error("consent_given_at", N_("referral.error.consent_future"))
        elif given_at < now - ctx.policy.consent_max_age:
            data.error("consent_given_at", N_("referral.error.consent_too_old"))
    if given_by is None or given_at is None or form is None or not data.ok:
        return None
    return schemas.Consent(
        given_by=given_by,
        given_at=given_at,
        form=form,
        scope=ConsentScope.TRANSFER_TO_WR_FOR_CONTACT_AND_SUPPORT,
    )


def _read_referral(data: FormInput, consent: schemas.Consent | None) -> schemas.ReferralCreate | None:
    victim = {
        "name": data.text("victim_name", required=True),
        "postcode": data.text("postcode", required=True, pattern=r"[0-9]{5}"),
        "phone": data.text("phone", max_length=32, pattern=_PHONE),
        "email": data.text("email", max_length=254, pattern=_EMAIL),
        "street_address": data.text("street_address"),
        "city": data.text("city"),
        "date_of_birth": data.date("date_of_birth"),
        "contact_preferences": data.text("contact_preferences"),
        "accessibility_needs": data.text("accessibility_needs"),
        "language": data.text("language", max_length=3, pattern=r"[a-z]{2,3}") or "de",
        "interpreter_needed": data.flag("interpreter_needed"),
    }
    fields = {
        "offence_category": data.choice("offence_category", OffenceCategory),
        "hate_crime": data.flag("hate_crime"),
        "incident_month": data.month("incident_month", required=True),
        "incident_date": data.date("incident_date"),
        "case_number": data.text("case_number", max_length=40, pattern=r".{3,40}"),
        "circumstances": data.text("circumstances", required=True, max_length=10_000),
        "requested_support": data.choices("requested_support", SupportKind),
        "urgency": data.choice("urgency", Urgency),
    }
    if not data.ok or consent is None:
        return None
    payload = {
        "victim": {k: v for k, v in victim.items() if v is not None},
        "consent": consent,
        **{k: v for k, v in fields.items() if v is not None},
    }
    try:
        return msgspec.convert(payload, schemas.ReferralCreate)
    except msgspec.ValidationError:
        data.error("form", N_("referral.error.invalid"))
        return None


def _form_context(data: FormInput | None, ctx: service.ReferralContext, **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"urgency": Urgency.NORMAL.value, "language": "de"}
    if data is None:
        values["consent_given_at"] = local_input_value(ctx.now())
    else:
        values.update(data.values)
    return {
        "values": values,
        "errors": data.errors if data else {},
        "consent_givers": _options("referral.consent_giver", list(ConsentGiver)),
        "consent_forms": _options("referral.consent_form", list(ConsentForm)),
        "offences": _options("referral.offence", list(OffenceCategory)),
        "supports": _options("referral.support", list(SupportKind)),
        "urgencies": _options("referral.urgency", list(Urgency)),
        "victim_languages": _options("language", VICTIM_LANGUAGES),
        **extra,
    }


# --- the WEISSER RING case page --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CaseActions:
    """Which forms the case page offers this user now (the service checks again on submit)."""

    accept: bool
    decline: bool
    assign: bool
    contact: bool
    close_outcomes: list[CloseOutcome]
    route: bool
    withdraw: bool


def _allowed(referral: Referral, action: ReferralAction) -> bool:
    return ReferralStatus(referral.status) in TRANSITIONS[action][0]


def _case_actions(principal: Principal, referral: Referral) -> CaseActions:
    own_branch = referral.branch_id is not None and referral.branch_id == principal.unit_id
    status = ReferralStatus(referral.status)
    can_close = principal.has(Permission.REFERRAL_REFERRAL_CLOSE) and _allowed(referral, ReferralAction.CLOSE)
    return CaseActions(
        accept=own_branch
        and principal.has(Permission.REFERRAL_REFERRAL_ACCEPT)
        and _allowed(referral, ReferralAction.ACCEPT),
        decline=own_branch
        and principal.has(Permission.REFERRAL_REFERRAL_DECLINE)
        and _allowed(referral, ReferralAction.DECLINE),
        assign=own_branch
        and principal.has(Permission.REFERRAL_REFERRAL_ASSIGN)
        and _allowed(referral, ReferralAction.ASSIGN),
        contact=principal.has(Permission.REFERRAL_REFERRAL_RECORD_CONTACT)
        and _allowed(referral, ReferralAction.RECORD_FIRST_CONTACT),
        close_outcomes=[o for o in CloseOutcome if status in CLOSE_FROM[o]] if can_close else [],
        route=principal.has(Permission.REFERRAL_REFERRAL_ROUTE) and _allowed(referral, ReferralAction.ROUTE),
        withdraw=principal.has(Permission.REFERRAL_REFERRAL_WITHDRAW_CONSENT) and status in OPEN_STATES,
    )


async def _case_page(
    request: Request[Any, Any, Any],
    ctx: service.ReferralContext,
    referral_id: uuid.UUID,
    *,
    data: FormInput | None = None,
    status_code: int = 200,
) -> Response[Any]:
    opened = await service.open_referral(ctx, referral_id)
    referral = opened.referral
    actions = _case_actions(ctx.principal, referral)
    members: list[tuple[str, str]] = []
    if actions.assign:
        users = await identity_service.list_users(
            ctx.session, ctx.principal, unit_id=referral.branch_id, active=True
        )
        members = [
            (str(view.user.id), view.user.display_name) for view in users if view.roles & WR_CASE_ROLES
        ]
    branches = sorted(
        (await _unit_names(ctx, UnitKind.WR_BRANCH)).items() if actions.route else [],
        key=lambda item: item[1],
    )
    return page(
        request,
        "referrals/wr_case.html",
        status_code=status_code,
        context={
            "case": detail(opened, ctx.principal, ctx.policy),
            "actions": actions,
            "members": members,
            "branches": [(str(unit_id), name) for unit_id, name in branches],
            "assigned_to_me": referral.assignee_id == ctx.principal.user_id,
            "channels": _options("referral.channel", list(ContactChannel)),
            "outcomes": _options("referral.outcome", actions.close_outcomes),
            "supports": _options("referral.support", list(SupportKind)),
            "decline_reasons": _options("referral.decline_reason", list(DeclineReason)),
            "errors": data.errors if data else {},
            "values": data.values if data else {},
        },
    )


async def _perform(
    request: Request[Any, Any, Any],
    ctx: service.ReferralContext,
    referral_id: uuid.UUID,
    *,
    action: str,
    read: Callable[[FormInput], Any],
    run: Callable[[Any], Awaitable[object]],
    notice: str,
    done_path: str | None = None,
    error_fields: dict[str, str] | None = None,
) -> Response[Any]:
    """Read the action's form, run the use case, and go back to the case page (with a notice or errors).

    A refusal by the service is shown next to the field it concerns (`error_fields`: error code ->
    field), else at the action's form; its text comes from the catalogue by the error's stable code.
    """
    data = await form_input(request)
    argument = read(data)
    status_code = 422
    if data.ok:
        try:
            await run(argument)
        except DomainError as exc:
            if exc.kind.value == 404:
                raise
            await ctx.session.rollback()
            key = f"referral.error.{exc.code}"
            field = (error_fields or {}).get(exc.code, f"action-{action}")
            data.error(field, key if translator_for(request).has(key) else N_("referral.error.generic"))
            status_code = exc.kind.value
        else:
            return see_other(done_path or f"/weisser-ring/faelle/{referral_id}", notice=notice)
    return await _case_page(request, ctx, referral_id, data=data, status_code=status_code)


def _optional_moment(data: FormInput, name: str) -> dt.datetime | None:
    return data.local_datetime(name)


class PolicePages(Controller):
    """The referring station: new referrals with the consent step, and status feedback."""

    path = "/polizei"
    include_in_schema = False
    exception_handlers = PAGE_EXCEPTION_HANDLERS
    dependencies = {"ctx": Provide(provide_referral_context)}

    @get("", opt=requires(Permission.REFERRAL_REFERRAL_LIST))
    async def station(self, request: Request[Any, Any, Any], ctx: Ctx) -> Response[Any]:
        if not _is_police(ctx.principal):
            return see_other(WR_AREA.path)
        referrals = await service.list_referrals(ctx, None, LIST_LIMIT, 0)
        stations = await _unit_names(ctx)
        rows = [
            {
                "summary": summary(referral, ctx.policy),
                "feedback": feedback(referral, ctx.policy),
                "station": stations.get(referral.referring_station_id, ""),
            }
            for referral in referrals
        ]
        return page(
            request,
            "referrals/police_list.html",
            context={
                "rows": rows,
                "show_station": len({row["station"] for row in rows}) > 1
                or ctx.principal.has_role(Role.POLICE_SUPERVISOR),
                "unit_name": stations.get(ctx.principal.unit_id, ""),
            },
        )

    @get("/vermittlungen/neu", opt=requires(Permission.REFERRAL_REFERRAL_CREATE))
    async def consent_step(self, request: Request[Any, Any, Any], ctx: Ctx) -> Response[Any]:
        return page(request, "referrals/new_consent.html", context=_form_context(None, ctx))

    @post(
        "/vermittlungen/neu/einwilligung", opt=requires(Permission.REFERRAL_REFERRAL_CREATE), status_code=200
    )
    async def consent_given(self, request: Request[Any, Any, Any], ctx: Ctx) -> Response[Any]:
        data = await form_input(request)
        consent = _read_consent(data, ctx)
        if consent is None:
            return page(
                request, "referrals/new_consent.html", status_code=422, context=_form_context(data, ctx)
            )
        return page(
            request,
            "referrals/new_details.html",
            context=_form_context(data, ctx, consent=consent, consent_editable=False),
        )

    @post("/vermittlungen", opt=requires(Permission.REFERRAL_REFERRAL_CREATE), status_code=200)
    async def create(self, request: Request[Any, Any, Any], ctx: Ctx) -> Response[Any]:
        data = await form_input(request)
        consent = _read_consent(data, ctx)
        create = _read_referral(data, consent)
        if create is not None:
            try:
                referral = await service.create_referral(ctx, create)
            except ConsentInvalidError:
                await ctx.session.rollback()
                data.error("consent_given_at", N_("referral.error.consent_invalid"))
            except ReferralInvalidError:
                await ctx.session.rollback()
                data.error("incident_month", N_("referral.error.incident"))
            else:
                notice = "vermittlung_aussenstelle" if referral.branch_id else "vermittlung_landesbuero"
                return see_other(POLICE_AREA.path, notice=notice)
        consent_editable = consent is None or any(name.startswith("consent_") for name in data.errors)
        return page(
            request,
            "referrals/new_details.html",
            status_code=422,
            context=_form_context(data, ctx, consent=consent, consent_editable=consent_editable),
        )

    @get("/vermittlungen/{referral_id:uuid}", opt=requires(Permission.REFERRAL_FEEDBACK_READ))
    async def referral(
        self, request: Request[Any, Any, Any], ctx: Ctx, referral_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        return await self._referral_page(request, ctx, referral_id)

    @post(
        "/vermittlungen/{referral_id:uuid}/einwilligung-widerrufen",
        opt=requires(Permission.REFERRAL_REFERRAL_WITHDRAW_CONSENT),
        status_code=200,
    )
    async def withdraw_consent(
        self, request: Request[Any, Any, Any], ctx: Ctx, referral_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        data = await form_input(request)
        if not data.flag("confirm"):
            data.error("confirm", N_("referral.error.confirm_withdrawal"))
            return await self._referral_page(request, ctx, referral_id, data=data, status_code=422)
        try:
            await service.withdraw_consent(ctx, referral_id)
        except DomainError as exc:
            if exc.kind.value == 404:
                raise
            await ctx.session.rollback()
            data.error("confirm", f"referral.error.{exc.code}")
            return await self._referral_page(request, ctx, referral_id, data=data, status_code=exc.kind.value)
        return see_other(f"/polizei/vermittlungen/{referral_id}", notice="einwilligung_widerrufen")

    async def _referral_page(
        self,
        request: Request[Any, Any, Any],
        ctx: service.ReferralContext,
        referral_id: uuid.UUID,
        *,
        data: FormInput | None = None,
        status_code: int = 200,
    ) -> Response[Any]:
        referral = await service.feedback(ctx, referral_id)
        content = None
        if ReferralStatus(referral.status) is ReferralStatus.SUBMITTED:
            # Until a branch accepts, the station may still read (and check) what it sent; audited.
            content = detail(await service.open_referral(ctx, referral_id), ctx.principal, ctx.policy)
        return page(
            request,
            "referrals/police_detail.html",
            status_code=status_code,
            context={
                "summary": summary(referral, ctx.policy),
                "feedback": feedback(referral, ctx.policy),
                "content": content,
                "can_withdraw": ctx.principal.has(Permission.REFERRAL_REFERRAL_WITHDRAW_CONSENT)
                and ReferralStatus(referral.status) in OPEN_STATES,
                "errors": data.errors if data else {},
                "values": data.values if data else {},
            },
        )


def _inbox_rows(referrals: Sequence[Referral], ctx: service.ReferralContext) -> list[dict[str, Any]]:
    rows = [{"summary": summary(r, ctx.policy), "referral": r} for r in referrals]

    def urgency(row: dict[str, Any]) -> tuple[int, int, dt.datetime]:
        due = row["summary"].deadlines
        overdue = due.accept_overdue or due.first_contact_overdue
        return (
            0 if overdue else 1,
            0 if row["summary"].urgency is Urgency.HIGH else 1,
            row["summary"].submitted_at,
        )

    return sorted(rows, key=urgency)


class WeisserRingPages(Controller):
    """Branch inbox, case page with its actions, and the state office's queue."""

    path = "/weisser-ring"
    include_in_schema = False
    exception_handlers = PAGE_EXCEPTION_HANDLERS
    dependencies = {"ctx": Provide(provide_referral_context)}

    @get("", opt=requires(Permission.REFERRAL_REFERRAL_LIST))
    async def inbox(self, request: Request[Any, Any, Any], ctx: Ctx) -> Response[Any]:
        if _is_police(ctx.principal):
            return see_other(POLICE_AREA.path)
        if not ctx.principal.has_role(*WR_CASE_ROLES):
            return see_other(STATE_OFFICE_AREA.path)
        referrals = await service.list_referrals(ctx, None, LIST_LIMIT, 0)
        by_status: dict[str, list[Referral]] = {"new": [], "open": [], "done": []}
        for referral in referrals:
            status = ReferralStatus(referral.status)
            group = (
                "new" if status is ReferralStatus.SUBMITTED else "open" if status in OPEN_STATES else "done"
            )
            by_status[group].append(referral)
        members: dict[uuid.UUID, str] = {}
        if ctx.principal.has_role(Role.WR_BRANCH_LEAD):
            users = await identity_service.list_users(
                ctx.session, ctx.principal, unit_id=ctx.principal.unit_id
            )
            members = {view.user.id: view.user.display_name for view in users}
        context = {
            "new_rows": _inbox_rows(by_status["new"], ctx),
            "open_rows": _inbox_rows(by_status["open"], ctx),
            "done_rows": [{"summary": summary(r, ctx.policy), "referral": r} for r in by_status["done"]],
            "members": members,
            "unit_names": await _unit_names(ctx),
        }
        template = (
            "referrals/_wr_inbox.html"
            if request.headers.get("hx-request") == "true"
            else "referrals/wr_inbox.html"
        )
        return page(request, template, context=context)

    @get("/landesbuero", opt=requires(Permission.REFERRAL_REFERRAL_ROUTE))
    async def state_office(self, request: Request[Any, Any, Any], ctx: Ctx) -> Response[Any]:
        referrals = await service.list_referrals(ctx, [ReferralStatus(s) for s in OPEN_STATES], LIST_LIMIT, 0)
        return page(
            request,
            "referrals/state_office.html",
            context={"rows": _inbox_rows(referrals, ctx), "unit_names": await _unit_names(ctx)},
        )

    @get("/faelle/{referral_id:uuid}", opt=requires(Permission.REFERRAL_REFERRAL_READ))
    async def case(
        self, request: Request[Any, Any, Any], ctx: Ctx, referral_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        if _is_police(ctx.principal):
            return see_other(f"/polizei/vermittlungen/{referral_id}")
        return await _case_page(request, ctx, referral_id)

    @post(
        "/faelle/{referral_id:uuid}/annehmen",
        opt=requires(Permission.REFERRAL_REFERRAL_ACCEPT),
        status_code=200,
    )
    async def accept(
        self, request: Request[Any, Any, Any], ctx: Ctx, referral_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        return await _perform(
            request,
            ctx,
            referral_id,
            action="accept",
            read=lambda data: None,
            run=lambda _: service.accept(ctx, referral_id),
            notice="angenommen",
        )

    @post(
        "/faelle/{referral_id:uuid}/ablehnen",
        opt=requires(Permission.REFERRAL_REFERRAL_DECLINE),
        status_code=200,
    )
    async def decline(
        self, request: Request[Any, Any, Any], ctx: Ctx, referral_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        return await _perform(
            request,
            ctx,
            referral_id,
            action="decline",
            read=lambda data: data.choice("decline_reason", DeclineReason),
            run=lambda reason: service.decline(ctx, referral_id, reason),
            notice="abgelehnt",
            done_path=WR_AREA.path,
        )

    @post(
        "/faelle/{referral_id:uuid}/zuweisen",
        opt=requires(Permission.REFERRAL_REFERRAL_ASSIGN),
        status_code=200,
    )
    async def assign(
        self, request: Request[Any, Any, Any], ctx: Ctx, referral_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        def read(data: FormInput) -> uuid.UUID | None:
            text = data.text("assignee_id", required=True, max_length=36)
            try:
                return uuid.UUID(text) if text else None
            except ValueError:
                data.error("assignee_id", N_("form.error.choose"))
                return None

        return await _perform(
            request,
            ctx,
            referral_id,
            action="assign",
            read=read,
            run=lambda assignee: service.assign(ctx, referral_id, assignee),
            notice="zugewiesen",
            error_fields={"referral.invalid_assignee": "assignee_id"},
        )

    @post(
        "/faelle/{referral_id:uuid}/kontaktversuch",
        opt=requires(Permission.REFERRAL_REFERRAL_RECORD_CONTACT),
        status_code=200,
    )
    async def contact_attempt(
        self, request: Request[Any, Any, Any], ctx: Ctx, referral_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        def read(data: FormInput) -> schemas.ContactAttemptCreate | None:
            channel = data.choice("attempt_channel", ContactChannel)
            at = _optional_moment(data, "attempted_at")
            return schemas.ContactAttemptCreate(channel=channel, attempted_at=at) if channel else None

        return await _perform(
            request,
            ctx,
            referral_id,
            action="contact_attempt",
            read=read,
            run=lambda attempt: service.record_contact_attempt(ctx, referral_id, attempt),
            notice="kontaktversuch",
        )

    @post(
        "/faelle/{referral_id:uuid}/erstkontakt",
        opt=requires(Permission.REFERRAL_REFERRAL_RECORD_CONTACT),
        status_code=200,
    )
    async def first_contact(
        self, request: Request[Any, Any, Any], ctx: Ctx, referral_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        def read(data: FormInput) -> schemas.FirstContact | None:
            channel = data.choice("contact_channel", ContactChannel)
            at = _optional_moment(data, "contacted_at")
            return schemas.FirstContact(channel=channel, contacted_at=at) if channel else None

        return await _perform(
            request,
            ctx,
            referral_id,
            action="first_contact",
            read=read,
            run=lambda contact: service.record_first_contact(ctx, referral_id, contact),
            notice="erstkontakt",
        )

    @post(
        "/faelle/{referral_id:uuid}/abschliessen",
        opt=requires(Permission.REFERRAL_REFERRAL_CLOSE),
        status_code=200,
    )
    async def close(
        self, request: Request[Any, Any, Any], ctx: Ctx, referral_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        def read(data: FormInput) -> schemas.Close | None:
            outcome = data.choice("outcome", CloseOutcome)
            support = data.choices("support_given", SupportKind)
            return schemas.Close(outcome=outcome, support_given=support) if outcome and data.ok else None

        return await _perform(
            request,
            ctx,
            referral_id,
            action="close",
            read=read,
            run=lambda closing: service.close(ctx, referral_id, closing),
            notice="abgeschlossen",
            error_fields={"referral.support_required": "support_given"},
        )

    @post(
        "/faelle/{referral_id:uuid}/weiterleiten",
        opt=requires(Permission.REFERRAL_REFERRAL_ROUTE),
        status_code=200,
    )
    async def route(
        self, request: Request[Any, Any, Any], ctx: Ctx, referral_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        def read(data: FormInput) -> uuid.UUID | None:
            text = data.text("branch_id", required=True, max_length=36)
            try:
                return uuid.UUID(text) if text else None
            except ValueError:
                data.error("branch_id", N_("form.error.choose"))
                return None

        return await _perform(
            request,
            ctx,
            referral_id,
            action="route",
            read=read,
            run=lambda branch: service.route(ctx, referral_id, branch),
            notice="weitergeleitet",
            done_path=STATE_OFFICE_AREA.path,
            error_fields={"referral.unknown_branch": "branch_id"},
        )

    @post(
        "/faelle/{referral_id:uuid}/einwilligung-widerrufen",
        opt=requires(Permission.REFERRAL_REFERRAL_WITHDRAW_CONSENT),
        status_code=200,
    )
    async def withdraw_consent(
        self, request: Request[Any, Any, Any], ctx: Ctx, referral_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        def read(data: FormInput) -> bool:
            if not data.flag("confirm"):
                data.error("confirm", N_("referral.error.confirm_withdrawal"))
            return True

        return await _perform(
            request,
            ctx,
            referral_id,
            action="withdraw",
            read=read,
            run=lambda _: service.withdraw_consent(ctx, referral_id),
            notice="einwilligung_widerrufen",
        )


class CooperationReportPage(Controller):
    """The cooperation-agreement report (police and WEISSER RING) as a page."""

    path = REPORT_AREA.path
    include_in_schema = False
    exception_handlers = PAGE_EXCEPTION_HANDLERS

    @get("", opt=requires(Permission.REPORT_COOPERATION_READ))
    async def report(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Response[Any]:
        return await report_page(
            request,
            db_session,
            principal,
            cooperation_report,
            kind=REPORT_KIND,
            title_key=N_("report.cooperation.title"),
            path=REPORT_AREA.path,
            api_path="/api/v1/reports/cooperation",
        )


def referral_page_handlers() -> list[type[Controller]]:
    return [PolicePages, WeisserRingPages, CooperationReportPage]
