"""What the referral pages share: their areas, the referral context, and the shape of a form that runs
one use case on a referral (`Step`): read the form, run the use case, then send the browser on with a
confirmation (Post/Redirect/Get) or show the page again with the messages next to the fields."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath

from referral_service.identity import service as identity_service
from referral_service.identity.http import requires
from referral_service.identity.permissions import Permission
from referral_service.identity.principal import Principal
from referral_service.identity.roles import Role, UnitKind
from referral_service.referrals.domain import OPEN_STATES, ReferralStatus
from referral_service.referrals.models import Referral
from referral_service.referrals.service import views
from referral_service.referrals.service.common import ReferralContext
from referral_service.web.confirmation import Answer, Confirmation, answer, confirmation_page
from referral_service.web.forms import FormInput, form_input, refusable, refusal_message
from referral_service.web.i18n import N_
from referral_service.web.render import Area, see_other

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

LIST_LIMIT = 300
Ctx = NamedDependency[ReferralContext]


def options(prefix: str, values: Sequence[Any]) -> list[tuple[str, str]]:
    """(value, catalogue key) pairs; the template translates the key."""
    return [(str(value), f"{prefix}.{value}") for value in values]


def is_police(principal: Principal) -> bool:
    return principal.has_role(*POLICE_ROLES)


async def unit_names(ctx: ReferralContext, kind: UnitKind | None = None) -> dict[uuid.UUID, str]:
    units = await identity_service.list_units(ctx.session, ctx.principal, kind=kind)
    return {unit.id: unit.name for unit in units}


class PageRenderer(Protocol):
    """Draws a referral's page again, with the form's values and messages."""

    def __call__(
        self,
        request: Request[Any, Any, Any],
        ctx: ReferralContext,
        referral_id: uuid.UUID,
        *,
        data: FormInput | None = None,
        status_code: int = 200,
    ) -> Awaitable[Response[Any]]: ...


def _nothing(data: FormInput) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Step:
    """A form on a referral's page that runs one use case (the service checks scope and state again)."""

    name: str  # the form's section on the page is `f-action-<name>`
    path: str  # relative to the controller, with `{referral_id:uuid}`
    permission: Permission
    run: Callable[[ReferralContext, uuid.UUID, Any], Awaitable[object]]
    notice: str  # the confirmation shown after the redirect
    read: Callable[[FormInput], Any] = _nothing  # the use case's input, or None with errors in the form
    done: str = "/weisser-ring/faelle/{id}"  # where the browser goes on success
    error_fields: Mapping[str, str] = field(default_factory=dict)  # refusal code -> field it concerns
    error_field: str = ""  # where other refusals are shown; default `action-<name>`
    # An irreversible step asks first: the question for the referral, the page to go back to and what
    # `read` returned, or None when the step cannot be taken in its state (the service's refusal then
    # says why).
    question: Callable[[Referral, str, Any], Confirmation | None] | None = None


def withdrawal_question(referral: Referral, back: str, _: object = None) -> Confirmation | None:
    """Recording a consent withdrawal destroys the data at once: the second step says so first."""
    if ReferralStatus(referral.status) not in OPEN_STATES:
        return None
    return Confirmation(
        title=N_("referral.withdraw.confirm_title"),
        consequences=[N_("referral.withdraw.consequence")],
        submit=N_("referral.withdraw.confirm_submit"),
        cancel_path=back,
    )


async def perform(
    request: Request[Any, Any, Any],
    ctx: ReferralContext,
    referral_id: uuid.UUID,
    step: Step,
    render: PageRenderer,
) -> Response[Any]:
    """Read the step's form, run its use case, and go on (with a notice) or back to the page (with errors).

    A refusal by the service is shown next to the field it concerns, else at the step's form; its text
    comes from the catalogue by the error's stable code. "Not found" stays a 404 page.
    """
    data = await form_input(request)
    argument = step.read(data)
    status_code = 422
    if data.ok and step.question is not None:
        # Read in the caller's scope first: out of scope stays "not found" on the first step too.
        referral = await views.feedback(ctx, referral_id)
        asked = step.question(referral, step.done.format(id=referral_id), argument)
        if asked is not None and answer(data.form, asked) is not Answer.CONFIRMED:
            return confirmation_page(request, data.form, asked)
    if data.ok:
        async with refusable(ctx.session) as refused:
            await step.run(ctx, referral_id, argument)
        if refused.error is None:
            return see_other(step.done.format(id=referral_id), notice=step.notice)
        where = step.error_fields.get(refused.error.code, step.error_field or f"action-{step.name}")
        message = refusal_message(request, refused.error, "referral.error", N_("referral.error.generic"))
        data.error(where, message)
        status_code = refused.error.kind.value
    return await render(request, ctx, referral_id, data=data, status_code=status_code)


def step_handler(step: Step, render: PageRenderer) -> HTTPRouteHandler:
    """The POST route of a step, declaring the step's permission."""

    async def handler(
        self: Controller, request: Request[Any, Any, Any], ctx: Ctx, referral_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        return await perform(request, ctx, referral_id, step, render)

    handler.__name__ = handler.__qualname__ = step.name
    return post(step.path, opt=requires(step.permission), status_code=200)(handler)
