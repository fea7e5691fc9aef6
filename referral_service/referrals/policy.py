"""Deadlines, consent rules and who may see which part of a referral."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum

from referral_service.db import utcnow
from referral_service.identity.principal import Principal
from referral_service.identity.roles import Role
from referral_service.referrals.domain import (
    CONTACT_DEADLINE_STATES,
    Deadline,
    DeadlineState,
    EscalationLevel,
    ReferralStatus,
)
from referral_service.referrals.models import Referral
from referral_service.referrals.schemas import Deadlines
from referral_service.retention.policy import retention_period
from referral_service.settings import LOCAL_TIMEZONE, int_variable


@dataclass(frozen=True, slots=True)
class ReferralPolicy:
    # accept within 24 h, first contact within 72 h of submission (the Bavarian model's 3 days).
    accept_within: dt.timedelta = dt.timedelta(hours=24)
    contact_within: dt.timedelta = dt.timedelta(hours=72)
    # A deadline this close is "due soon" in the lists.
    due_soon_within: dt.timedelta = dt.timedelta(hours=12)
    # Whoever must act is reminded this long before a deadline passes; by default when the lists
    # start to show it as due soon.
    remind_within: dt.timedelta = dt.timedelta(hours=12)
    # Consent is documented at the time of the referral; older than this, the officer must confirm it anew.
    consent_max_age: dt.timedelta = dt.timedelta(days=30)
    # Personal data of a closed or withdrawn referral is erased this long after it ended.
    retention_period: dt.timedelta = dt.timedelta(days=365)
    clock: Callable[[], dt.datetime] = field(default=utcnow)

    def today(self) -> dt.date:
        """The local date now: an incident "today" shortly after midnight is not in the future."""
        return self.clock().astimezone(LOCAL_TIMEZONE).date()

    @property
    def contact_deadline_hours(self) -> int:
        """The contact deadline as readers are told it (feedback, report)."""
        return int(self.contact_within / dt.timedelta(hours=1))

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ReferralPolicy:
        """What operators configure: REFERRAL_ACCEPT_DEADLINE_HOURS, REFERRAL_CONTACT_DEADLINE_HOURS,
        REFERRAL_DEADLINE_REMIND_HOURS and REFERRAL_RETENTION_REFERRAL_DAYS; the referral domain's
        settings (`Domain.load_settings`)."""
        return cls(
            accept_within=dt.timedelta(
                hours=int_variable(environ, "ACCEPT_DEADLINE_HOURS", 24, minimum=1, maximum=720)
            ),
            contact_within=dt.timedelta(
                hours=int_variable(environ, "CONTACT_DEADLINE_HOURS", 72, minimum=1, maximum=2160)
            ),
            remind_within=dt.timedelta(
                hours=int_variable(environ, "DEADLINE_REMIND_HOURS", 12, minimum=1, maximum=720)
            ),
            retention_period=retention_period(environ, "RETENTION_REFERRAL_DAYS", 365),
        )


class ContentAccess(Enum):
    NONE = "none"
    WITHOUT_CONTACT_DATA = "without_contact_data"  # branch inbox: enough to decide, not to reach the victim
    FULL = "full"


# What identifies or reaches the victim; withheld in the branch inbox until someone accepts the case.
CONTACT_FIELDS = frozenset(
    {
        "victim_name",
        "date_of_birth",
        "phone",
        "email",
        "street_address",
        "postcode",
        "city",
        "preferred_channel",
        "contact_preferences",
        "case_number",
    }
)


def content_access(principal: Principal, referral: Referral) -> ContentAccess:
    """How much of a referral (already known to be in scope) the principal may read."""
    status = ReferralStatus(referral.status)
    if status is ReferralStatus.WITHDRAWN:
        return ContentAccess.NONE
    if principal.has_role(Role.POLICE_OFFICER, Role.POLICE_SUPERVISOR):
        # Content only until a branch has taken the case; then status feedback only.
        return ContentAccess.FULL if status is ReferralStatus.SUBMITTED else ContentAccess.NONE
    if principal.has_role(Role.WR_VOLUNTEER) and referral.assignee_id == principal.user_id:
        return ContentAccess.FULL
    if principal.has_role(Role.WR_BRANCH_LEAD) and referral.branch_id == principal.unit_id:
        return ContentAccess.FULL
    if principal.has_role(Role.WR_STATE_OFFICE) and (
        referral.branch_id is None or referral.escalation_level >= EscalationLevel.STATE_OFFICE
    ):
        return ContentAccess.FULL
    if (
        principal.has_role(Role.WR_VOLUNTEER)
        and referral.branch_id == principal.unit_id
        and status is ReferralStatus.SUBMITTED
    ):
        return ContentAccess.WITHOUT_CONTACT_DATA
    return ContentAccess.NONE


def deadlines(referral: Referral, policy: ReferralPolicy, now: dt.datetime) -> Deadlines:
    accept_by = referral.submitted_at + policy.accept_within
    first_contact_by = referral.submitted_at + policy.contact_within
    status = ReferralStatus(referral.status)
    return Deadlines(
        accept_by=accept_by,
        first_contact_by=first_contact_by,
        accept_overdue=status is ReferralStatus.SUBMITTED and now > accept_by,
        first_contact_overdue=(
            referral.first_contact_at is None and status in CONTACT_DEADLINE_STATES and now > first_contact_by
        ),
        escalation_level=referral.escalation_level,
    )


def deadline_state(referral: Referral, policy: ReferralPolicy, now: dt.datetime) -> DeadlineState:
    """Overdue, due soon, running, or none; `repository.deadline_condition` asks the same in SQL."""
    status = ReferralStatus(referral.status)
    open_deadlines = []
    if status is ReferralStatus.SUBMITTED:
        open_deadlines.append(referral.submitted_at + policy.accept_within)
    if status in CONTACT_DEADLINE_STATES and referral.first_contact_at is None:
        open_deadlines.append(referral.submitted_at + policy.contact_within)
    if not open_deadlines:
        return DeadlineState.NONE
    first = min(open_deadlines)
    if now > first:
        return DeadlineState.OVERDUE
    if now > first - policy.due_soon_within:
        return DeadlineState.DUE_SOON
    return DeadlineState.RUNNING


def approaching_deadlines(
    referral: Referral, policy: ReferralPolicy, now: dt.datetime
) -> list[tuple[Deadline, dt.datetime]]:
    """The open deadlines that pass after `now` and within the policy's `remind_within`, each with the
    time it passes; `repository.due_for_reminder` asks the same in SQL."""
    status = ReferralStatus(referral.status)
    due = deadlines(referral, policy, now)
    open_deadlines: list[tuple[Deadline, dt.datetime]] = []
    if status is ReferralStatus.SUBMITTED:
        open_deadlines.append((Deadline.ACCEPT, due.accept_by))
    if status in CONTACT_DEADLINE_STATES and referral.first_contact_at is None:
        open_deadlines.append((Deadline.FIRST_CONTACT, due.first_contact_by))
    return [(name, at) for name, at in open_deadlines if now < at <= now + policy.remind_within]


def contacted_within_deadline(referral: Referral, policy: ReferralPolicy, now: dt.datetime) -> bool | None:
    """Whether the first contact came within the contact deadline: the station's feedback asks the
    same question as the escalation (`deadlines`) and the cooperation report. None while still open."""
    first_contact_by = referral.submitted_at + policy.contact_within
    if referral.first_contact_at is not None:
        return referral.first_contact_at <= first_contact_by
    if now > first_contact_by:
        return False
    return None


def escalation_due(referral: Referral, policy: ReferralPolicy, now: dt.datetime) -> int:
    """The escalation level the referral should have now (never lower than it has)."""
    due = deadlines(referral, policy, now)
    level = referral.escalation_level
    if due.accept_overdue:
        level = max(level, EscalationLevel.BRANCH_LEAD)
    if due.first_contact_overdue:
        level = max(level, EscalationLevel.STATE_OFFICE)
    return level
