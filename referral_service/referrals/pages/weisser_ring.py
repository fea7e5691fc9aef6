"""The WEISSER RING's pages: the branch inbox, the state office's queue, and the case page with its
timeline and the forms for the next steps (each a `Step`: the service checks scope and state again)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import Provide
from litestar.params import FromPath

from referral_service.identity import service as identity_service
from referral_service.identity.http import requires
from referral_service.identity.permissions import Permission
from referral_service.identity.principal import Principal
from referral_service.identity.roles import Role, UnitKind
from referral_service.listing import PAGE_SIZE, AssigneeKeyword, Page
from referral_service.referrals import schemas
from referral_service.referrals.controllers import detail, provide_referral_context
from referral_service.referrals.domain import (
    CLOSE_FROM,
    WORKFLOW,
    CloseOutcome,
    ContactChannel,
    DeadlineState,
    DeclineReason,
    ReferralAction,
    ReferralStatus,
    SupportKind,
)
from referral_service.referrals.models import Referral
from referral_service.referrals.pages import forms
from referral_service.referrals.pages.common import (
    CURSOR_PARAMETER,
    POLICE_AREA,
    STATE_OFFICE_AREA,
    WR_AREA,
    WR_CASE_ROLES,
    Ctx,
    ListPage,
    ListQuery,
    Step,
    export_url,
    filter_options,
    is_police,
    list_page,
    options,
    read_list_query,
    step_handler,
    unit_names,
    withdrawal_question,
)
from referral_service.referrals.service import views, workflow
from referral_service.referrals.service.common import ReferralContext
from referral_service.web.confirmation import Confirmation
from referral_service.web.errors import PAGE_EXCEPTION_HANDLERS
from referral_service.web.forms import FormInput
from referral_service.web.i18n import N_
from referral_service.web.render import page, see_other

_CASE = "/faelle/{referral_id:uuid}"


@dataclass(frozen=True, slots=True)
class CaseActions:
    """Which forms the case page offers this user now (the service checks again on submit): the names
    of their steps, the usual next step first, as the transition table lists the state's actions."""

    forms: list[str]
    close_outcomes: list[CloseOutcome]

    @property
    def next(self) -> str | None:
        """The step shown first and open; the others are folded away below it."""
        return self.forms[0] if self.forms else None


# Steps only the branch the case is routed to takes (the others are the case's scope's, see the service).
_OWN_BRANCH_ACTIONS = frozenset({ReferralAction.ACCEPT, ReferralAction.DECLINE, ReferralAction.ASSIGN})


def _may(principal: Principal, referral: Referral, action: ReferralAction) -> bool:
    if views.routed_only(principal, referral):
        return False  # the state office's sight of a case it routed is read-only
    if action in _OWN_BRANCH_ACTIONS and (
        referral.branch_id is None or referral.branch_id != principal.unit_id
    ):
        return False
    return principal.has(STEPS[action].permission)


def _case_actions(principal: Principal, referral: Referral) -> CaseActions:
    status = ReferralStatus(referral.status)
    forms = [
        STEPS[action].name for action in WORKFLOW.actions_from(status) if _may(principal, referral, action)
    ]
    return CaseActions(
        forms=forms,
        close_outcomes=[o for o in CloseOutcome if status in CLOSE_FROM[o]] if CLOSE.name in forms else [],
    )


def _posted_form(errors: dict[str, str]) -> str | None:
    """The form the shown errors belong to (one form is sent at a time)."""
    for name, fields in _FORM_FIELDS.items():
        if f"action-{name}" in errors or any(field in errors for field in fields):
            return name
    return None


async def case_page(
    request: Request[Any, Any, Any],
    ctx: ReferralContext,
    referral_id: uuid.UUID,
    *,
    data: FormInput | None = None,
    status_code: int = 200,
) -> Response[Any]:
    opened = await views.open_referral(ctx, referral_id)
    referral = opened.referral
    actions = _case_actions(ctx.principal, referral)
    members: list[tuple[str, str]] = []
    if ASSIGN.name in actions.forms:
        users = await identity_service.list_users(
            ctx.session, ctx.principal, unit_id=referral.branch_id, active=True
        )
        members = [
            (str(view.user.id), view.user.display_name) for view in users if view.roles & WR_CASE_ROLES
        ]
    branches = sorted(
        (await unit_names(ctx, UnitKind.WR_BRANCH)).items() if ROUTE.name in actions.forms else [],
        key=lambda item: item[1],
    )
    return page(
        request,
        "referrals/wr_case.html",
        status_code=status_code,
        context={
            "case": detail(opened, ctx.principal, ctx.policy),
            "timeline": await views.timeline(ctx, referral_id),
            "actions": actions,
            # A folded form that comes back with errors is shown unfolded, with its messages.
            "unfold": _posted_form(data.errors if data else {}) not in (None, actions.next),
            "members": members,
            "branches": [(str(unit_id), name) for unit_id, name in branches],
            "assigned_to_me": referral.assignee_id == ctx.principal.user_id,
            "read_only": views.routed_only(ctx.principal, referral),
            "channels": options("referral.channel", list(ContactChannel)),
            "outcomes": options("referral.outcome", actions.close_outcomes),
            "supports": options("referral.support", list(SupportKind)),
            "decline_reasons": options("referral.decline_reason", list(DeclineReason)),
            "errors": data.errors if data else {},
            "values": data.values if data else {},
        },
    )


_CLOSE_TITLES = {
    CloseOutcome.SUPPORTED: N_("wr.case.close.confirm_title.supported"),
    CloseOutcome.DECLINED_BY_VICTIM: N_("wr.case.close.confirm_title.declined_by_victim"),
    CloseOutcome.UNREACHABLE: N_("wr.case.close.confirm_title.unreachable"),
}


def close_question(referral: Referral, back: str, close: schemas.Close | None) -> Confirmation | None:
    """A closed case cannot be opened again: the second step names the outcome and says so first. Not
    asked when the service refuses anyway (outcome not possible in this state, support given missing),
    so that its message comes at once, next to the field."""
    if close is None:
        return None
    outcome = CloseOutcome(close.outcome)
    if ReferralStatus(referral.status) not in CLOSE_FROM[outcome]:
        return None
    if outcome is CloseOutcome.SUPPORTED and not close.support_given:
        return None
    return Confirmation(
        title=_CLOSE_TITLES[outcome],
        consequences=[N_("wr.case.close.consequence")],
        submit=N_("wr.case.close.confirm_submit"),
        cancel_path=back,
    )


# The next steps on a case, one form each.
ACCEPT = Step(
    name="accept",
    path=_CASE + "/annehmen",
    permission=Permission.REFERRAL_REFERRAL_ACCEPT,
    run=lambda ctx, referral_id, _: workflow.accept(ctx, referral_id),
    notice="angenommen",
)
DECLINE = Step(
    name="decline",
    path=_CASE + "/ablehnen",
    permission=Permission.REFERRAL_REFERRAL_DECLINE,
    read=forms.read_decline_reason,
    run=workflow.decline,
    notice="abgelehnt",
    done=WR_AREA.path,
)
ASSIGN = Step(
    name="assign",
    path=_CASE + "/zuweisen",
    permission=Permission.REFERRAL_REFERRAL_ASSIGN,
    read=forms.read_assignee,
    run=workflow.assign,
    notice="zugewiesen",
    error_fields={"referral.invalid_assignee": "assignee_id"},
)
CONTACT_ATTEMPT = Step(
    name="contact_attempt",
    path=_CASE + "/kontaktversuch",
    permission=Permission.REFERRAL_REFERRAL_RECORD_CONTACT,
    read=forms.read_contact_attempt,
    run=workflow.record_contact_attempt,
    notice="kontaktversuch",
)
FIRST_CONTACT = Step(
    name="first_contact",
    path=_CASE + "/erstkontakt",
    permission=Permission.REFERRAL_REFERRAL_RECORD_CONTACT,
    read=forms.read_first_contact,
    run=workflow.record_first_contact,
    notice="erstkontakt",
)
CLOSE = Step(
    name="close",
    path=_CASE + "/abschliessen",
    permission=Permission.REFERRAL_REFERRAL_CLOSE,
    read=forms.read_close,
    run=workflow.close,
    notice="abgeschlossen",
    error_fields={"referral.support_required": "support_given"},
    question=close_question,
)
ROUTE = Step(
    name="route",
    path=_CASE + "/weiterleiten",
    permission=Permission.REFERRAL_REFERRAL_ROUTE,
    read=forms.read_branch,
    run=workflow.route,
    notice="weitergeleitet",
    done=STATE_OFFICE_AREA.path,
    error_fields={"referral.unknown_branch": "branch_id"},
)
WITHDRAW = Step(
    name="withdraw",
    path=_CASE + "/einwilligung-widerrufen",
    permission=Permission.REFERRAL_REFERRAL_WITHDRAW_CONSENT,
    read=forms.read_withdrawal,
    run=lambda ctx, referral_id, _: workflow.withdraw_consent(ctx, referral_id),
    notice="einwilligung_widerrufen",
    question=withdrawal_question,
)

# The form of each action on the case page.
STEPS: dict[ReferralAction, Step] = {
    ReferralAction.ACCEPT: ACCEPT,
    ReferralAction.ASSIGN: ASSIGN,
    ReferralAction.DECLINE: DECLINE,
    ReferralAction.ROUTE: ROUTE,
    ReferralAction.RECORD_CONTACT_ATTEMPT: CONTACT_ATTEMPT,
    ReferralAction.RECORD_FIRST_CONTACT: FIRST_CONTACT,
    ReferralAction.CLOSE: CLOSE,
    ReferralAction.WITHDRAW_CONSENT: WITHDRAW,
}
# Each form's fields (template wr_case.html), to tell which form the errors on a page belong to.
_FORM_FIELDS: dict[str, tuple[str, ...]] = {
    ACCEPT.name: (),
    ASSIGN.name: ("assignee_id",),
    DECLINE.name: ("decline_reason",),
    ROUTE.name: ("branch_id",),
    CONTACT_ATTEMPT.name: ("attempt_channel", "attempted_at"),
    FIRST_CONTACT.name: ("contact_channel", "contacted_at"),
    CLOSE.name: ("outcome", "support_given"),
    WITHDRAW.name: ("confirm",),
}


# The state office's page shows its queue, or with `?ansicht=vermittelt` the cases it routed.
VIEW_PARAMETER = "ansicht"
ROUTED_VIEW = "vermittelt"


def _list_context(
    request: Request[Any, Any, Any],
    ctx: ReferralContext,
    listed: ListQuery,
    shown: ListPage,
    *,
    routed: bool | None = None,
) -> dict[str, Any]:
    errors = dict(listed.errors)
    if shown.cursor_invalid:
        errors[CURSOR_PARAMETER] = N_("referral.list.error.nach")
    return {
        "rows": shown.rows,
        "paging": shown,
        "list": listed,
        "values": listed.values,
        "errors": errors,
        "export_url": export_url(request, routed=routed)
        if ctx.principal.has(Permission.REFERRAL_REFERRAL_EXPORT)
        else None,
        **filter_options(),
    }


def _status(listed: ListQuery, shown: ListPage) -> int:
    """A filter or cursor that cannot be read: the page says so, with the API's status."""
    return 422 if listed.errors or shown.cursor_invalid else 200


class WeisserRingPages(Controller):
    """Branch inbox, case page with its steps, and the state office's queue."""

    path = "/weisser-ring"
    include_in_schema = False
    exception_handlers = PAGE_EXCEPTION_HANDLERS
    dependencies = {"ctx": Provide(provide_referral_context)}

    @get("", opt=requires(Permission.REFERRAL_REFERRAL_LIST))
    async def inbox(self, request: Request[Any, Any, Any], ctx: Ctx) -> Response[Any]:
        if is_police(ctx.principal):
            return see_other(POLICE_AREA.path)
        if not ctx.principal.has_role(*WR_CASE_ROLES):
            return see_other(STATE_OFFICE_AREA.path)
        listed = read_list_query(request, ctx)
        shown = await list_page(request, ctx, listed)
        overdue: Page[Referral] | None = None
        if not listed.filtered and listed.after is None:
            # Newest first keeps paging simple; what is overdue is announced on top instead, with
            # the filter that lists it (docs/adr/0005).
            overdue = await views.list_page(
                ctx, views.build_filters(ctx, deadline=DeadlineState.OVERDUE), after=None, limit=PAGE_SIZE
            )
        assignees = [
            (AssigneeKeyword.ME.value, N_("referral.list.assignee_me")),
            (AssigneeKeyword.NONE.value, N_("referral.list.assignee_none")),
        ]
        if ctx.principal.has_role(Role.WR_BRANCH_LEAD):
            users = await identity_service.list_users(
                ctx.session, ctx.principal, unit_id=ctx.principal.unit_id
            )
            assignees += [
                (str(view.user.id), view.user.display_name)
                for view in users
                if view.roles & WR_CASE_ROLES and view.user.id != ctx.principal.user_id
            ]
        context = {
            **_list_context(request, ctx, listed, shown),
            # Counted on the unfiltered first page only: elsewhere the page says what it shows itself.
            "overdue_counted": overdue is not None,
            "overdue_count": len(overdue.items) if overdue else 0,
            "overdue_more": overdue is not None and overdue.next_cursor is not None,
            "assignee_options": assignees,
            "unit_names": await unit_names(ctx),
        }
        template = (
            "referrals/_wr_inbox.html"
            if request.headers.get("hx-request") == "true"
            else "referrals/wr_inbox.html"
        )
        return page(request, template, status_code=_status(listed, shown), context=context)

    @get("/landesbuero", opt=requires(Permission.REFERRAL_REFERRAL_ROUTE))
    async def state_office(self, request: Request[Any, Any, Any], ctx: Ctx) -> Response[Any]:
        routed_view = request.query_params.get(VIEW_PARAMETER) == ROUTED_VIEW
        listed = read_list_query(request, ctx, routed=routed_view, default_open=not routed_view)
        shown = await list_page(request, ctx, listed)
        branches = sorted((await unit_names(ctx, UnitKind.WR_BRANCH)).items(), key=lambda item: item[1])
        return page(
            request,
            "referrals/state_office.html",
            status_code=_status(listed, shown),
            context={
                **_list_context(request, ctx, listed, shown, routed=routed_view),
                "routed_view": routed_view,
                "branch_options": [(str(unit_id), name) for unit_id, name in branches],
            },
        )

    @get(_CASE, opt=requires(Permission.REFERRAL_REFERRAL_READ))
    async def case(
        self, request: Request[Any, Any, Any], ctx: Ctx, referral_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        if is_police(ctx.principal):
            return see_other(f"/polizei/vermittlungen/{referral_id}")
        return await case_page(request, ctx, referral_id)

    accept = step_handler(ACCEPT, case_page)
    decline = step_handler(DECLINE, case_page)
    assign = step_handler(ASSIGN, case_page)
    contact_attempt = step_handler(CONTACT_ATTEMPT, case_page)
    first_contact = step_handler(FIRST_CONTACT, case_page)
    close = step_handler(CLOSE, case_page)
    route = step_handler(ROUTE, case_page)
    withdraw_consent = step_handler(WITHDRAW, case_page)
