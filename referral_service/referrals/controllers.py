"""HTTP for referrals. Translation only: the use cases live in `referral_service.referrals.service`."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, get, patch, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.params import JSONBody as Body
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.identity.http import audit_fields, requires
from referral_service.identity.permissions import Permission
from referral_service.identity.principal import Principal
from referral_service.referrals import schemas
from referral_service.referrals.domain import (
    CloseOutcome,
    ContactChannel,
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


def _codes(text: str) -> list[SupportKind]:
    return [SupportKind(code) for code in text.split(",") if code]


def _channel(value: str | None) -> ContactChannel | None:
    return ContactChannel(value) if value else None


def summary(referral: Referral, policy: ReferralPolicy) -> schemas.ReferralSummary:
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
        deadlines=deadlines(referral, policy, policy.clock()),
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

    @get("", opt=requires(Permission.REFERRAL_REFERRAL_LIST), summary="Referrals visible to the caller")
    async def list_referrals(
        self,
        ctx: NamedDependency[ReferralContext],
        status: FromQuery[list[ReferralStatus] | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> list[schemas.ReferralSummary]:
        return [summary(r, ctx.policy) for r in await views.list_referrals(ctx, status, limit, offset)]

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
