"""What the referral pages share: their areas, the referral context, and the shape of a form that runs
one use case on a referral (`Step`): read the form, run the use case, then send the browser on with a
confirmation (Post/Redirect/Get) or show the page again with the messages next to the fields."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlencode

from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath

from referral_service.identity import service as identity_service
from referral_service.identity.http import requires
from referral_service.identity.permissions import Permission
from referral_service.identity.principal import Principal
from referral_service.identity.roles import Role, UnitKind
from referral_service.listing import PAGE_SIZE, InvalidCursorError, InvalidRangeError, url_with
from referral_service.referrals import repository
from referral_service.referrals.controllers import feedback, summary
from referral_service.referrals.domain import (
    OPEN_STATES,
    DeadlineState,
    OffenceCategory,
    ReferralStatus,
    Urgency,
)
from referral_service.referrals.errors import InvalidFilterError
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

Ctx = NamedDependency[ReferralContext]

# The lists' filters by their query names on the pages (German, like the other pages), each with the
# API's name for it: the export link asks the API for the same list.
LIST_PARAMETERS = {
    "status": "status",
    "delikt": "offence_category",
    "dringlichkeit": "urgency",
    "aussenstelle": "branch_id",
    "zustaendig": "assignee",
    "frist": "deadline",
    "von": "submitted_from",
    "bis": "submitted_until",
    "kennung": "reference",
}
CURSOR_PARAMETER = "nach"
EXPORT_PATH = "/api/v1/referrals/export.csv"


@dataclass(frozen=True, slots=True)
class ListQuery:
    """A list page's query, read: the filters (None when a value cannot be read), the values to show in
    the filter form again, the messages for the values that could not be read, and the cursor."""

    filters: repository.ReferralFilters | None
    values: dict[str, str]
    errors: dict[str, str]
    after: str | None

    @property
    def filtered(self) -> bool:
        return any(self.values.values())


def read_list_query(
    request: Request[Any, Any, Any],
    ctx: ReferralContext,
    *,
    routed: bool | None = None,
    default_open: bool = False,
) -> ListQuery:
    """The page's filters from its query; a value that cannot be read is named, never a 500."""
    query = request.query_params
    values = {name: (query.get(name) or "").strip() for name in LIST_PARAMETERS}
    errors: dict[str, str] = {}

    def read(name: str, parse: Callable[[str], Any]) -> Any:
        if not values[name]:
            return None
        try:
            return parse(values[name])
        except ValueError:
            errors[name] = f"referral.list.error.{name}"
            return None

    statuses: list[ReferralStatus] = []
    for raw in query.getall("status", []):
        if raw:
            try:
                statuses.append(ReferralStatus(raw))
            except ValueError:
                errors["status"] = "referral.list.error.status"
    offence = read("delikt", OffenceCategory)
    urgency = read("dringlichkeit", Urgency)
    branch = read("aussenstelle", uuid.UUID)
    deadline = read("frist", DeadlineState)
    since = read("von", dt.date.fromisoformat)
    until = read("bis", dt.date.fromisoformat)
    filters = None
    if not errors:
        try:
            filters = views.build_filters(
                ctx,
                statuses=statuses or (sorted(OPEN_STATES) if default_open else ()),
                offence_category=offence,
                urgency=urgency,
                branch_id=branch,
                assignee=values["zustaendig"] or None,
                deadline=deadline,
                submitted_from=since,
                submitted_until=until,
                reference=values["kennung"] or None,
                routed=routed,
            )
        except InvalidRangeError:
            errors["bis"] = "referral.list.error.range"
        except InvalidFilterError as exc:
            field = {"assignee": "zustaendig", "reference": "kennung"}.get(
                str(exc.extra.get("field")), "status"
            )
            errors[field] = f"referral.list.error.{field}"
    return ListQuery(
        filters=None if errors else filters,
        values=values,
        errors=errors,
        after=query.get(CURSOR_PARAMETER) or None,
    )


def export_url(request: Request[Any, Any, Any], *, routed: bool | None = None) -> str:
    """The API's export of the list the page shows: the same filters under the API's names."""
    params = [
        (LIST_PARAMETERS[name], value)
        for name, value in request.query_params.multi_items()
        if name in LIST_PARAMETERS and value
    ]
    if routed is not None:
        params.append(("routed", "true" if routed else "false"))
    return f"{EXPORT_PATH}?{urlencode(params)}" if params else EXPORT_PATH


@dataclass(frozen=True, slots=True)
class ListPage:
    rows: list[dict[str, Any]]
    next_url: str | None  # None on the last page
    first_url: str | None  # None on the first page
    cursor_invalid: bool = False


async def list_page(request: Request[Any, Any, Any], ctx: ReferralContext, listed: ListQuery) -> ListPage:
    """One page of rows: the plain columns, the names of branches and assignees, and the few decrypted
    values by which the caller recognises a case (one query per kind, whatever the number of rows)."""
    if listed.filters is None:
        return ListPage(rows=[], next_url=None, first_url=None)
    try:
        found = await views.list_page(ctx, listed.filters, after=listed.after, limit=PAGE_SIZE)
    except InvalidCursorError:
        return ListPage(
            rows=[],
            next_url=None,
            first_url=url_with(request, **{CURSOR_PARAMETER: None}),
            cursor_invalid=True,
        )
    rows = await list_rows(ctx, found.items)
    return ListPage(
        rows=rows,
        next_url=url_with(request, **{CURSOR_PARAMETER: found.next_cursor}) if found.next_cursor else None,
        first_url=url_with(request, **{CURSOR_PARAMETER: None}) if listed.after else None,
    )


async def list_rows(ctx: ReferralContext, referrals: Sequence[Referral]) -> list[dict[str, Any]]:
    names = await views.list_names(ctx, referrals)
    recognised = await views.recognition(ctx, referrals)
    return [
        {
            "summary": summary(referral, ctx.policy),
            "feedback": feedback(referral, ctx.policy),
            "branch": names.branches.get(referral.branch_id) if referral.branch_id else None,
            "declined_by": names.branches.get(referral.declined_by_branch_id)
            if referral.declined_by_branch_id
            else None,
            "assignee": names.users.get(referral.assignee_id) if referral.assignee_id else None,
            "recognition": recognised.get(referral.id, {}),
            "station_id": referral.referring_station_id,
        }
        for referral in referrals
    ]


def filter_options() -> dict[str, list[tuple[str, str]]]:
    """The choices of the filter form (the template translates the keys)."""
    return {
        "status_options": options("referral.status", list(ReferralStatus)),
        "offence_options": options("referral.offence", list(OffenceCategory)),
        "urgency_options": options("referral.urgency", list(Urgency)),
        "deadline_options": options("referral.deadline_state", list(DeadlineState)),
    }


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
