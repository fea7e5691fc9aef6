"""HTTP for referrals. Translation only: the use cases live in `referral_service.referrals.service`."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.params import JSONBody as Body
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.identity.http import audit_fields, requires
from referral_service.identity.permissions import Permission
from referral_service.identity.principal import Principal
from referral_service.listing import MAX_PAGE_SIZE, PAGE_SIZE, csv_columns, csv_response, link_header
from referral_service.referrals import repository, schemas
from referral_service.referrals.domain import (
    CloseOutcome,
    ContactChannel,
    DeadlineState,
    DeclineReason,
    OffenceCategory,
    ReferralStatus,
    SupportKind,
    Urgency,
)
from referral_service.referrals.models import Referral
from referral_service.referrals.policy import (
    ContentAccess,
    ReferralPolicy,
    contacted_within_deadline,
    deadline_state,
    deadlines,
)
from referral_service.referrals.service import intake, views, workflow
from referral_service.referrals.service.common import ReferralContext

_ID = "/{referral_id:uuid}"


async def provide_referral_context(
    request: Request[Any, Any, Any],
    state: State,
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
) -> ReferralContext:
    """Who acts, in the request's transaction, with the service's keys and policy: every handler's input."""
    return ReferralContext(
        session=db_session,
        principal=principal,
        keys=state.case_keys,
        policy=state.referral_policy,
        audit=audit_fields(request),
    )


async def provide_filters(
    ctx: NamedDependency[ReferralContext],
    status: FromQuery[list[ReferralStatus] | None] = None,
    offence_category: FromQuery[OffenceCategory | None] = None,
    urgency: FromQuery[Urgency | None] = None,
    branch_id: FromQuery[uuid.UUID | None] = None,
    assignee: Annotated[
        str | None,
        QueryParameter(description="`me`, `none` (nobody assigned) or a user id", max_length=36),
    ] = None,
    deadline: FromQuery[DeadlineState | None] = None,
    submitted_from: Annotated[
        dt.date | None, QueryParameter(description="First local day of submission (inclusive)")
    ] = None,
    submitted_until: Annotated[
        dt.date | None, QueryParameter(description="Last local day of submission (inclusive)")
    ] = None,
    reference: Annotated[
        str | None, QueryParameter(description="VM-2026-000123, or 2026-123", max_length=24)
    ] = None,
    routed: Annotated[
        bool | None,
        QueryParameter(
            description="State office: true lists the cases it routed that left its queue, false its queue"
        ),
    ] = None,
) -> repository.ReferralFilters:
    """The list filters of the query, shared by the list and its export."""
    return views.build_filters(
        ctx,
        statuses=status or (),
        offence_category=offence_category,
        urgency=urgency,
        branch_id=branch_id,
        assignee=assignee,
        deadline=deadline,
        submitted_from=submitted_from,
        submitted_until=submitted_until,
        reference=reference,
        routed=routed,
    )


@dataclass(frozen=True, slots=True)
class _ExportRow:
    summary: schemas.ReferralSummary
    branch: str
    assignee: str


# The export's columns: plain list columns only, never decrypted fields.
EXPORT_COLUMNS: list[tuple[str, Callable[[_ExportRow], object]]] = [
    ("reference", lambda row: row.summary.reference),
    ("submitted_at", lambda row: row.summary.submitted_at),
    ("status", lambda row: row.summary.status.value),
    ("offence_category", lambda row: row.summary.offence_category.value),
    ("urgency", lambda row: row.summary.urgency.value),
    ("deadline_state", lambda row: row.summary.deadline_state.value),
    ("branch", lambda row: row.branch),
    ("assignee", lambda row: row.assignee),
    ("language", lambda row: row.summary.language),
    ("interpreter_needed", lambda row: row.summary.interpreter_needed),
]


async def export_response(ctx: ReferralContext, filters: repository.ReferralFilters) -> Response[str]:
    """The filtered list as a CSV download (the export is audited by the use case)."""
    referrals = await views.export(ctx, filters)
    names = await views.list_names(ctx, referrals)
    rows = [
        _ExportRow(
            summary=summary(referral, ctx.policy),
            branch=names.branches.get(referral.branch_id, "") if referral.branch_id else "",
            assignee=names.users.get(referral.assignee_id, "") if referral.assignee_id else "",
        )
        for referral in referrals
    ]
    return csv_response(csv_columns(EXPORT_COLUMNS, rows), "vermittlungen.csv")


def _codes(text: str) -> list[SupportKind]:
    return [SupportKind(code) for code in text.split(",") if code]


def _channel(value: str | None) -> ContactChannel | None:
    return ContactChannel(value) if value else None


def summary(referral: Referral, policy: ReferralPolicy) -> schemas.ReferralSummary:
    now = policy.clock()
    return schemas.ReferralSummary(
        id=referral.id,
        reference=referral.reference,
        status=ReferralStatus(referral.status),
        offence_category=OffenceCategory(referral.offence_category),
        urgency=Urgency(referral.urgency),
        incident_date=referral.incident_month,
        submitted_at=referral.submitted_at,
        branch_id=referral.branch_id,
        assignee_id=referral.assignee_id,
        deadlines=deadlines(referral, policy, now),
        deadline_state=deadline_state(referral, policy, now),
        hate_crime=referral.hate_crime,
        language=referral.language,
        interpreter_needed=referral.interpreter_needed,
        queue_reason=views.queue_reason(referral),
        declined_by_branch_id=referral.declined_by_branch_id,
        decline_reason=DeclineReason(referral.decline_reason) if referral.decline_reason else None,
        routed_at=referral.routed_at,
    )


def detail(
    opened: views.OpenedReferral, principal: Principal, policy: ReferralPolicy
) -> schemas.ReferralDetail:
    referral, values = opened.referral, opened.values
    return schemas.ReferralDetail(
        id=referral.id,
        reference=referral.reference,
        status=ReferralStatus(referral.status),
        offence_category=OffenceCategory(referral.offence_category),
        hate_crime=referral.hate_crime,
        # The day when it was given (and may be read), else the month.
        incident_date=values.get("incident_date") or referral.incident_month,
        urgency=Urgency(referral.urgency),
        requested_support=_codes(referral.requested_support),
        circumstances=values.get("circumstances"),
        case_number=values.get("case_number"),
        victim=schemas.VictimOut(
            name=values.get("victim_name"),
            postcode=values.get("postcode"),
            phone=values.get("phone"),
            email=values.get("email"),
            street_address=values.get("street_address"),
            city=values.get("city"),
            preferred_channel=_channel(values.get("preferred_channel")),
            date_of_birth=values.get("date_of_birth"),
            contact_preferences=values.get("contact_preferences"),
            accessibility_needs=values.get("accessibility_needs"),
            language=referral.language,
            interpreter_needed=referral.interpreter_needed,
        ),
        contact_data_withheld=opened.access is not ContentAccess.FULL,
        referring_station_id=referral.referring_station_id,
        branch_id=referral.branch_id,
        assignee_id=referral.assignee_id,
        submitted_at=referral.submitted_at,
        accepted_at=referral.accepted_at,
        first_contact_at=referral.first_contact_at,
        closed_at=referral.closed_at,
        close_outcome=CloseOutcome(referral.close_outcome) if referral.close_outcome else None,
        support_given=_codes(referral.support_given),
        decline_reason=DeclineReason(referral.decline_reason) if referral.decline_reason else None,
        deadlines=deadlines(referral, policy, policy.clock()),
        repeat_of_id=referral.repeat_of_id if views.repeat_hint_visible(principal, referral) else None,
    )


def feedback(referral: Referral, policy: ReferralPolicy) -> schemas.Feedback:
    return schemas.Feedback(
        id=referral.id,
        reference=referral.reference,
        status=ReferralStatus(referral.status),
        submitted_at=referral.submitted_at,
        accepted_at=referral.accepted_at,
        first_contact_at=referral.first_contact_at,
        closed_at=referral.closed_at,
        withdrawn_at=referral.withdrawn_at,
        close_outcome=CloseOutcome(referral.close_outcome) if referral.close_outcome else None,
        support_given=_codes(referral.support_given),
        contacted_within_deadline=contacted_within_deadline(referral, policy, policy.clock()),
        contact_deadline_hours=policy.contact_deadline_hours,
    )


class ReferralController(Controller):
    path = "/api/v1/referrals"
    dependencies = {"ctx": Provide(provide_referral_context)}
    tags = ["referrals"]

    @post("", opt=requires(Permission.REFERRAL_REFERRAL_CREATE), summary="Refer a victim (with consent)")
    async def create(
        self,
        ctx: NamedDependency[ReferralContext],
        data: Body[schemas.ReferralCreate],
    ) -> schemas.ReferralSummary:
        return summary(await intake.create_referral(ctx, data), ctx.policy)

    @get(
        "",
        opt=requires(Permission.REFERRAL_REFERRAL_LIST),
        dependencies={"filters": Provide(provide_filters)},
        summary="Referrals visible to the caller, newest first",
        description=(
            "Filtered and paged by keyset: the next page, if any, is named in the `Link` header "
            '(`rel="next"`) and asked for with `after`.'
        ),
    )
    async def list_referrals(
        self,
        ctx: NamedDependency[ReferralContext],
        filters: NamedDependency[repository.ReferralFilters],
        request: Request[Any, Any, Any],
        after: Annotated[
            str | None, QueryParameter(description="The cursor of the page", max_length=200)
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE_SIZE)] = PAGE_SIZE,
    ) -> Response[list[schemas.ReferralSummary]]:
        listed = await views.list_page(ctx, filters, after=after, limit=limit)
        return Response([summary(r, ctx.policy) for r in listed.items], headers=link_header(request, listed))

    @get(
        "/export.csv",
        opt=requires(Permission.REFERRAL_REFERRAL_EXPORT),
        dependencies={"filters": Provide(provide_filters)},
        summary="The filtered list as CSV (audited)",
        media_type="text/csv",
    )
    async def export(
        self, ctx: NamedDependency[ReferralContext], filters: NamedDependency[repository.ReferralFilters]
    ) -> Response[str]:
        return await export_response(ctx, filters)

    @post(
        "/search",
        status_code=200,
        opt=requires(Permission.REFERRAL_REFERRAL_LIST),
        summary="Referrals with a police case number (in the body: it is personal data)",
    )
    async def search(
        self, ctx: NamedDependency[ReferralContext], data: Body[schemas.CaseNumberSearch]
    ) -> list[schemas.ReferralSummary]:
        found = await views.search_case_number(ctx, data.case_number, limit=MAX_PAGE_SIZE)
        return [summary(r, ctx.policy) for r in found.items]

    @get(
        _ID,
        opt=requires(Permission.REFERRAL_REFERRAL_READ),
        summary="One referral, as far as the caller may see it",
        description=(
            "The referral's content as far as the caller may read it. The referring police station, "
            "once a branch has accepted the case (or consent was withdrawn), gets the status feedback "
            "instead, as from `/feedback`: never the content."
        ),
    )
    async def read(
        self,
        ctx: NamedDependency[ReferralContext],
        referral_id: FromPath[uuid.UUID],
    ) -> schemas.ReferralDetail | schemas.Feedback:
        read = await views.read_referral(ctx, referral_id)
        if isinstance(read, views.OpenedReferral):
            return detail(read, ctx.principal, ctx.policy)
        return feedback(read, ctx.policy)

    @patch(
        _ID, opt=requires(Permission.REFERRAL_REFERRAL_UPDATE), summary="Correct a referral before acceptance"
    )
    async def update(
        self,
        ctx: NamedDependency[ReferralContext],
        referral_id: FromPath[uuid.UUID],
        data: Body[schemas.ReferralUpdate],
    ) -> schemas.ReferralSummary:
        return summary(await intake.update_referral(ctx, referral_id, data), ctx.policy)

    @get(_ID + "/feedback", opt=requires(Permission.REFERRAL_FEEDBACK_READ), summary="Status feedback")
    async def feedback(
        self,
        ctx: NamedDependency[ReferralContext],
        referral_id: FromPath[uuid.UUID],
    ) -> schemas.Feedback:
        return feedback(await views.feedback(ctx, referral_id), ctx.policy)

    @post(
        _ID + "/accept", status_code=200, opt=requires(Permission.REFERRAL_REFERRAL_ACCEPT), summary="Accept"
    )
    async def accept(
        self,
        ctx: NamedDependency[ReferralContext],
        referral_id: FromPath[uuid.UUID],
    ) -> schemas.ReferralSummary:
        return summary(await workflow.accept(ctx, referral_id), ctx.policy)

    @post(
        _ID + "/assign", status_code=200, opt=requires(Permission.REFERRAL_REFERRAL_ASSIGN), summary="Assign"
    )
    async def assign(
        self,
        ctx: NamedDependency[ReferralContext],
        referral_id: FromPath[uuid.UUID],
        data: Body[schemas.Assign],
    ) -> schemas.ReferralSummary:
        return summary(await workflow.assign(ctx, referral_id, data.assignee_id), ctx.policy)

    @post(
        _ID + "/decline",
        status_code=200,
        opt=requires(Permission.REFERRAL_REFERRAL_DECLINE),
        summary="Decline",
    )
    async def decline(
        self,
        ctx: NamedDependency[ReferralContext],
        referral_id: FromPath[uuid.UUID],
        data: Body[schemas.Decline],
    ) -> schemas.ReferralSummary:
        return summary(await workflow.decline(ctx, referral_id, data.reason), ctx.policy)

    @post(_ID + "/route", status_code=200, opt=requires(Permission.REFERRAL_REFERRAL_ROUTE), summary="Route")
    async def route(
        self,
        ctx: NamedDependency[ReferralContext],
        referral_id: FromPath[uuid.UUID],
        data: Body[schemas.Route],
    ) -> schemas.ReferralSummary:
        return summary(await workflow.route(ctx, referral_id, data.branch_id), ctx.policy)

    @post(
        _ID + "/contact-attempts",
        status_code=200,
        opt=requires(Permission.REFERRAL_REFERRAL_RECORD_CONTACT),
        summary="Record a contact attempt",
    )
    async def contact_attempt(
        self,
        ctx: NamedDependency[ReferralContext],
        referral_id: FromPath[uuid.UUID],
        data: Body[schemas.ContactAttemptCreate],
    ) -> schemas.ReferralSummary:
        return summary(await workflow.record_contact_attempt(ctx, referral_id, data), ctx.policy)

    @post(
        _ID + "/first-contact",
        status_code=200,
        opt=requires(Permission.REFERRAL_REFERRAL_RECORD_CONTACT),
        summary="Record the first contact",
    )
    async def first_contact(
        self,
        ctx: NamedDependency[ReferralContext],
        referral_id: FromPath[uuid.UUID],
        data: Body[schemas.FirstContact],
    ) -> schemas.ReferralSummary:
        return summary(await workflow.record_first_contact(ctx, referral_id, data), ctx.policy)

    @post(_ID + "/close", status_code=200, opt=requires(Permission.REFERRAL_REFERRAL_CLOSE), summary="Close")
    async def close(
        self,
        ctx: NamedDependency[ReferralContext],
        referral_id: FromPath[uuid.UUID],
        data: Body[schemas.Close],
    ) -> schemas.ReferralSummary:
        return summary(await workflow.close(ctx, referral_id, data), ctx.policy)

    @post(
        _ID + "/withdraw-consent",
        status_code=200,
        opt=requires(Permission.REFERRAL_REFERRAL_WITHDRAW_CONSENT),
        summary="Record consent withdrawal: the personal data is destroyed",
    )
    async def withdraw_consent(
        self,
        ctx: NamedDependency[ReferralContext],
        referral_id: FromPath[uuid.UUID],
    ) -> schemas.ReferralSummary:
        return summary(await workflow.withdraw_consent(ctx, referral_id), ctx.policy)
