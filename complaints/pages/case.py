"""The office's case page: what the caller may do, the timeline, and one helper for every action on it.

Every action form posts to its own route; `office_action` reads the form, runs the use case and goes
back to the case page with a confirmation, or shows the case page again with the refusal next to the
field (or the action) it concerns. The irreversible ones (decide, close, forward, withdraw) ask first,
on a second step that states the consequence (`referral_service.web.confirmation`).

Historical entry: the lead may give the day a complaint was decided or closed (`PastDate`). A day
stands for its start in the office's calendar, as on the entry page, or for the moment of the step
before when that lies later on the same day (a complaint received at 10:00 and decided "that day"); today
is no past day: the step happens now, as without a date, and the complainant hears of a decision as
usual. The back-dating rules (future, before the office opened, before the step before) are checked
before the second step, so that their errors stand at the field at once. Someone without
`complaint:complaint:backdate` is not offered the field; a date they post anyway is refused next to the
action, and nothing is written.

The page shows the next sensible step first and folds the others away (`arrange`): the step of the
transition table that moves the complaint on from its status (`complaints.domain.steps_on`), so the
page follows the table rather than a list of its own.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Request, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from complaints import paths, schemas
from complaints.config import OFFICE_TIMEZONE
from complaints.domain import (
    OPEN_STATES,
    Category,
    ComplaintAction,
    ComplaintStatus,
    ForwardReason,
    MessageVisibility,
    NoDecisionReason,
    Outcome,
    allows,
    steps_on,
)
from complaints.models import Complaint
from complaints.pages import forms
from complaints.pages.common import (
    OFFICE_ROLES,
    error_key,
    options,
    police_units,
    size_text,
    unit_options,
)
from complaints.service import backdating, office
from complaints.service.common import ComplaintContext
from referral_service.identity import service as identity_service
from referral_service.identity.permissions import Permission
from referral_service.identity.principal import Principal
from referral_service.problems import DomainError
from referral_service.web.confirmation import Answer, Confirmation, answer, confirmation_page
from referral_service.web.formatting import format_date
from referral_service.web.forms import FormInput, form_input, refusable
from referral_service.web.i18n import N_, Translator, language_of, translator_for
from referral_service.web.render import page, see_other

case_path = paths.case_page


@dataclass(frozen=True, slots=True)
class OfficeActions:
    assign: bool
    triage: bool
    request_statement: bool
    approve_disclosure: bool
    resume: bool
    draft: bool
    decide: bool
    close: bool
    forward: bool
    withdraw: bool
    message: bool

    @property
    def decision(self) -> bool:
        return self.draft or self.decide


# The case page's action sections, in the order they stand when none comes first, and the section by
# the step of the transition table it takes (receiving a statement is the police unit's step).
SECTIONS = (
    "triage",
    "assign",
    "request_statement",
    "resume",
    "decision",
    "close",
    "message",
    "forward",
    "withdraw",
)
SECTION_OF_STEP: Mapping[ComplaintAction, str] = {
    ComplaintAction.START_TRIAGE: "triage",
    ComplaintAction.COMPLETE_TRIAGE: "triage",
    ComplaintAction.REQUEST_STATEMENT: "request_statement",
    ComplaintAction.RESUME: "resume",
    ComplaintAction.DECIDE: "decision",
    ComplaintAction.CLOSE: "close",
    ComplaintAction.FORWARD: "forward",
    ComplaintAction.WITHDRAW: "withdraw",
}


@dataclass(frozen=True, slots=True)
class Arrangement:
    """The action sections the caller can use: those shown first, and the rest (folded away)."""

    first: list[str]
    more: list[str]


def arrange(detail: schemas.ComplaintDetail, can: OfficeActions) -> Arrangement:
    """The next sensible step first: the first step on from the status that the caller can take; a
    message while the office waits (for a statement) or when nothing is left to do. A new complaint
    nobody works on yet is also assigned first."""
    offered = [name for name in SECTIONS if getattr(can, name)]
    steps = [SECTION_OF_STEP.get(step) for step in steps_on(detail.status)]
    first = next(([name] for name in steps if name in offered), ["message"] if can.message else [])
    if detail.status is ComplaintStatus.RECEIVED and detail.assignee_id is None and can.assign:
        first.append("assign")
    if not first:
        return Arrangement(first=offered, more=[])
    return Arrangement(first=first, more=[name for name in offered if name not in first])


def _can(
    principal: Principal, permission: Permission, status: ComplaintStatus, action: ComplaintAction
) -> bool:
    return principal.has(permission) and allows(status, action)


def office_actions(principal: Principal, detail: schemas.ComplaintDetail) -> OfficeActions:
    status = detail.status
    is_open = status in OPEN_STATES
    return OfficeActions(
        assign=principal.has(Permission.COMPLAINT_COMPLAINT_ASSIGN) and is_open,
        triage=principal.has(Permission.COMPLAINT_COMPLAINT_TRIAGE)
        and status in {ComplaintStatus.RECEIVED, ComplaintStatus.TRIAGE},
        request_statement=_can(
            principal,
            Permission.COMPLAINT_COMPLAINT_REQUEST_STATEMENT,
            status,
            ComplaintAction.REQUEST_STATEMENT,
        ),
        approve_disclosure=principal.has(Permission.COMPLAINT_COMPLAINT_APPROVE_DISCLOSURE)
        and is_open
        and detail.complainant is not None,
        resume=_can(principal, Permission.COMPLAINT_COMPLAINT_TRIAGE, status, ComplaintAction.RESUME),
        draft=principal.has(Permission.COMPLAINT_COMPLAINT_DRAFT_DECISION) and status in office.DRAFTABLE,
        decide=_can(principal, Permission.COMPLAINT_COMPLAINT_DECIDE, status, ComplaintAction.DECIDE),
        close=_can(principal, Permission.COMPLAINT_COMPLAINT_CLOSE, status, ComplaintAction.CLOSE),
        forward=_can(principal, Permission.COMPLAINT_COMPLAINT_TRIAGE, status, ComplaintAction.FORWARD),
        withdraw=_can(principal, Permission.COMPLAINT_COMPLAINT_TRIAGE, status, ComplaintAction.WITHDRAW),
        message=principal.has(Permission.COMPLAINT_COMPLAINT_MESSAGE),
    )


def _moment(day: dt.date) -> dt.datetime:
    # A date without a time sorts after the events with a time on the same (office) day.
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=OFFICE_TIMEZONE)


def timeline(
    detail: schemas.ComplaintDetail, messages: Sequence[schemas.OfficeMessage], units: dict[str, str]
) -> list[dict[str, Any]]:
    """What happened when, newest last: receipt, statement requests, messages, draft, decision, end."""
    events: list[dict[str, Any]] = [
        {"at": detail.received_at, "key": N_("complaint.timeline.received"), "channel": detail.channel}
    ]
    for request in detail.statement_requests:
        unit = units.get(str(request.unit_id), "")
        events.append(
            {
                "at": _moment(request.requested_on),
                "date_only": True,
                "key": N_("complaint.timeline.requested"),
                "unit": unit,
            }
        )
        if request.disclosure_approved_at:
            events.append(
                {
                    "at": request.disclosure_approved_at,
                    "key": N_("complaint.timeline.disclosed"),
                    "unit": unit,
                }
            )
        if request.answered_at:
            events.append({"at": request.answered_at, "key": N_("complaint.timeline.answered"), "unit": unit})
    for message in messages:
        if message.author_kind == "complainant":
            key = N_("complaint.timeline.message_in")
        elif message.visibility is MessageVisibility.COMPLAINANT:
            key = N_("complaint.timeline.message_out")
        else:
            key = N_("complaint.timeline.note")
        events.append({"at": message.created_at, "key": key})
    if detail.draft and detail.draft.drafted_at:
        events.append({"at": detail.draft.drafted_at, "key": N_("complaint.timeline.draft")})
    if detail.decided_at:
        events.append(
            {"at": detail.decided_at, "key": N_("complaint.timeline.decided"), "outcome": detail.outcome}
        )
    if detail.closed_at:
        events.append({"at": detail.closed_at, "key": f"complaint.timeline.end.{detail.status}"})
    return sorted(events, key=lambda event: event["at"])


def _form_values(detail: schemas.ComplaintDetail) -> dict[str, Any]:
    """The action forms prefilled from the complaint (and its decision draft)."""
    values: dict[str, Any] = {
        "category": detail.category.value,
        "further_categories": [category.value for category in detail.further_categories],
        "police_unit_id": str(detail.police_unit_id) if detail.police_unit_id else "",
        "identity_confidential": detail.identity_confidential,
        "complete": True,
        "unit_id": str(detail.police_unit_id) if detail.police_unit_id else "",
        # A note stays internal unless the author chooses to write to the complainant: a careless
        # click must not send the office's internal reasoning out.
        "visibility": MessageVisibility.INTERNAL.value,
    }
    if detail.draft:
        values.update(
            outcome=detail.draft.outcome.value,
            no_decision_reason=detail.draft.no_decision_reason.value
            if detail.draft.no_decision_reason
            else "",
            criminal_investigation=detail.draft.criminal_investigation,
            disciplinary_proceedings=detail.draft.disciplinary_proceedings,
            reply=detail.draft.reply or "",
        )
    return values


async def case_page(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    ctx: ComplaintContext,
    principal: Principal,
    complaint_id: uuid.UUID,
    *,
    data: FormInput | None = None,
    status_code: int = 200,
    open_section: str | None = None,
) -> Response[Any]:
    """The case page; with `data`, the form of `open_section` came back with its input (and errors)
    and stands open, also when it is one of the folded steps."""
    detail = await office.read(ctx, complaint_id)
    messages = await office.messages(ctx, complaint_id)
    actions = office_actions(principal, detail)
    units = await police_units(session, principal)
    unit_names = {unit.id: unit.name for unit in units}
    members: list[tuple[str, str]] = []
    if actions.assign:
        users = await identity_service.list_users(session, principal, unit_id=principal.unit_id, active=True)
        members = [(str(view.user.id), view.user.display_name) for view in users if view.roles & OFFICE_ROLES]
    values = _form_values(detail)
    if data is not None:
        values.update(data.values)
    return page(
        request,
        "complaints/office_case.html",
        status_code=status_code,
        context={
            "complaint": detail,
            "messages": messages,
            "timeline": timeline(detail, messages, unit_names),
            "actions": actions,
            "arrangement": arrange(detail, actions),
            "open_section": open_section,
            "unit_names": unit_names,
            "police_units": unit_options(units),
            "members": members,
            "statement_days": ctx.config.statement_deadline_working_days,
            "categories": options("complaint.category", list(Category)),
            "outcomes": options("complaint.outcome", list(Outcome)),
            "no_decision_reasons": options("complaint.no_decision_reason", list(NoDecisionReason)),
            "forward_reasons": options("complaint.forward_reason", list(ForwardReason)),
            # The safe choice first, as it is the default.
            "visibilities": options(
                "complaint.visibility", [MessageVisibility.INTERNAL, MessageVisibility.COMPLAINANT]
            ),
            "fmt_size": lambda size: size_text(size, language_of(request)),
            "errors": data.errors if data else {},
            "values": values,
            "may_backdate": principal.has(Permission.COMPLAINT_COMPLAINT_BACKDATE),
        },
    )


@dataclass(frozen=True, slots=True)
class CaseCall:
    """Who acts on which complaint: what every action handler passes on."""

    request: Request[Any, Any, Any]
    session: AsyncSession
    ctx: ComplaintContext
    principal: Principal
    complaint_id: uuid.UUID


# Builds the second step's question for an action's input, or None when it needs none (a draft, or an
# action the caller cannot take here: the service's refusal then says why).
Question = Callable[[Translator, Any, OfficeActions, schemas.ComplaintDetail], Confirmation | None]


def decide_question(
    t: Translator,
    decision: schemas.DecisionCreate | None,
    can: OfficeActions,
    detail: schemas.ComplaintDetail,
) -> Confirmation | None:
    if decision is None or not decision.final or not can.decide:
        return None
    office.check_decision(decision)  # an inconsistent decision comes back with its error, unasked
    reply = N_("office.confirm.decide.reply") if decision.reply else N_("office.confirm.decide.no_reply")
    consequences = [N_("office.confirm.decide.final"), reply]
    if decision.decided_at is not None:
        consequences.append(N_("office.confirm.decide.past_date"))
    return Confirmation(
        title=N_("office.confirm.decide.title"),
        consequences=consequences,
        submit=N_("office.confirm.decide.submit"),
        cancel_path=case_path(detail.id),
        params={
            "reference": detail.reference,
            "outcome": t(f"complaint.outcome.{decision.outcome}"),
            "day": format_date(decision.decided_at, t),
        },
        back_with_input=True,
    )


def close_question(
    t: Translator, closing: schemas.CloseCreate, can: OfficeActions, detail: schemas.ComplaintDetail
) -> Confirmation | None:
    if not can.close:
        return None
    dated = closing.closed_at is not None
    consequences = [N_("office.confirm.close.final")]
    if dated:
        consequences.append(N_("office.confirm.close.past_date"))
    return Confirmation(
        title=N_("office.confirm.close.title"),
        consequences=consequences,
        submit=N_("office.confirm.close.submit"),
        cancel_path=case_path(detail.id),
        params={"reference": detail.reference, "day": format_date(closing.closed_at, t)},
        # A typed date goes back with the form; a mere button by a link.
        back_with_input=dated,
    )


def forward_question(
    t: Translator, forwarding: schemas.ForwardCreate, can: OfficeActions, detail: schemas.ComplaintDetail
) -> Confirmation | None:
    if not can.forward:
        return None
    return Confirmation(
        title=N_("office.confirm.forward.title"),
        consequences=[N_("office.confirm.forward.final"), N_("office.confirm.forward.complainant")],
        submit=N_("office.confirm.forward.submit"),
        cancel_path=case_path(detail.id),
        params={
            "reference": detail.reference,
            "reason": t(f"complaint.forward_reason.{forwarding.reason}"),
        },
        back_with_input=True,
    )


def withdraw_question(
    t: Translator, _: None, can: OfficeActions, detail: schemas.ComplaintDetail
) -> Confirmation | None:
    if not can.withdraw:
        return None
    return Confirmation(
        title=N_("office.confirm.withdraw.title"),
        consequences=[N_("office.confirm.withdraw.final"), N_("office.confirm.withdraw.complainant")],
        submit=N_("office.confirm.withdraw.submit"),
        cancel_path=case_path(detail.id),
        params={"reference": detail.reference},
    )


@dataclass(frozen=True, slots=True)
class PastDate:
    """A step's date in the past (historical entry): the form's field (named as the service names it),
    the complaint's moment it must not lie before, and the message when it does."""

    field: str
    follows: Callable[[Complaint], dt.datetime]
    before_message: str
    # Whether the form's input takes a date at all (a decision's draft does not), and why not.
    takes_date: Callable[[Any], bool] = lambda _: True
    no_date_message: str = ""


DECIDED_ON = PastDate(
    "decided_at",
    lambda complaint: complaint.received_at,
    N_("office.past_date.error.before_received"),
    # A draft has no date yet: the date is the decision's, given when deciding.
    takes_date=lambda decision: decision is None or decision.final,
    no_date_message=N_("office.past_date.error.draft"),
)
CLOSED_ON = PastDate(
    "closed_at",
    lambda complaint: complaint.decided_at or complaint.received_at,
    N_("office.past_date.error.before_decided"),
)


async def _with_past_date(
    call: CaseCall, data: FormInput, argument: Any, dated: PastDate, action: str
) -> Any:
    """The action's argument with the moment the typed day stands for, or with the day's errors noted.

    The rules are the service's (`backdating.date_errors`), asked here too so that they are answered
    before the second step, at the field; the service checks them again when it acts."""
    day = data.date(dated.field)
    config = call.ctx.config
    if day is None or day == config.today():
        return argument
    if not call.principal.has(Permission.COMPLAINT_COMPLAINT_BACKDATE):
        # Refused rather than dropped: a date silently replaced by today would count the step in the
        # wrong year's report.
        data.error(f"action-{action}", N_("office.past_date.error.lead_only"))
        return argument
    if not dated.takes_date(argument):
        data.error(dated.field, dated.no_date_message)
        return argument
    complaint = await office.load(call.ctx, call.complaint_id)
    follows = dated.follows(complaint)
    moment = forms.start_of_day(day)
    if config.local_date(follows) == day:
        moment = max(moment, follows)
    errors = backdating.date_errors(config, dated.field, moment, not_before=("the step before", follows))
    forms.show_field_errors(
        data, errors, {**forms.PAST_DATE_ERRORS, backdating.DATE_ORDER: dated.before_message}
    )
    if errors or argument is None:
        return argument
    return msgspec.structs.replace(argument, **{dated.field: moment})


async def _second_step(
    call: CaseCall, data: FormInput, argument: Any, question: Question, action: str
) -> Response[Any] | None:
    """The question (or the form again, to change it) until the user confirms; None to act now."""
    detail = await office.read(call.ctx, call.complaint_id)
    can = office_actions(call.principal, detail)
    asked = question(translator_for(call.request), argument, can, detail)
    said = answer(data.form, asked) if asked is not None else Answer.CONFIRMED
    if asked is not None and said is Answer.ASK:
        return confirmation_page(call.request, data.form, asked)
    if said is Answer.CHANGE:
        return await case_page(
            call.request,
            call.session,
            call.ctx,
            call.principal,
            call.complaint_id,
            data=data,
            open_section=action,
        )
    return None


async def office_action(
    call: CaseCall,
    *,
    action: str,
    read: Callable[[FormInput], Any],
    run: Callable[[Any], Awaitable[object]],
    notice: str | Callable[[Any], str],
    error_fields: Mapping[str, str] | None = None,
    question: Question | None = None,
    dated: PastDate | None = None,
) -> Response[Any]:
    """Read the action's form, run the use case, and go back to the case page (notice or errors).

    With a `question`, a complete form is first answered with the second step (nothing changes) until
    it comes back confirmed; the complaint is read in the caller's scope first, so a complaint out of
    scope is "not found" on the first step as on the second.

    `read` returns the use case's argument (None for a mere button); `run` is only called when the form
    was complete, so it may rely on what `read` checked.

    A refusal is shown next to a field: by its error code, or by the fields the service names in its
    `errors` (each with the message for its own code, `complaint.error.<code>`), as `error_fields` maps
    them; otherwise next to the action (`action-<name>`).

    With `dated`, the form may carry the step's day in the past (see the module's docstring).
    """
    data = await form_input(call.request)
    argument = read(data)
    if dated is not None:
        argument = await _with_past_date(call, data, argument, dated, action)
    status_code = 422
    if data.ok:
        shown: Response[Any] | None = None
        async with refusable(call.session) as refused:
            shown = await _second_step(call, data, argument, question, action) if question else None
            if shown is None:
                await run(argument)
        if shown is not None and refused.error is None:
            return shown
        if refused.error is None:
            confirmation = notice if isinstance(notice, str) else notice(argument)
            return see_other(case_path(call.complaint_id), notice=confirmation)
        _show_refusal(call.request, data, refused.error, action, error_fields or {})
        status_code = refused.error.kind.value
    return await case_page(
        call.request,
        call.session,
        call.ctx,
        call.principal,
        call.complaint_id,
        data=data,
        status_code=status_code,
        open_section=action,
    )


def _show_refusal(
    request: Request[Any, Any, Any], data: FormInput, exc: DomainError, action: str, fields: Mapping[str, str]
) -> None:
    """The refusal next to the field its code names, or next to each field its `errors` name (all of
    them: the service reports every error at once), else next to the action."""
    if exc.code in fields:
        data.error(fields[exc.code], error_key(request, exc))
        return
    named = [item for item in exc.extra.get("errors") or [] if str(item.get("field")) in fields]
    for item in named:
        key = f"complaint.error.{item.get('code')}"
        has = translator_for(request).has(key)
        data.error(fields[str(item["field"])], key if has else error_key(request, exc))
    if not named:
        data.error(f"action-{action}", error_key(request, exc))
