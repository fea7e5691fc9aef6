"""Reading referrals: the decrypted case as far as the reader may see it, lists, feedback, timeline."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from crypto import KeyDestroyedError
from referral_service.audit.recorder import record_event
from referral_service.identity import repository as identity
from referral_service.identity.principal import Principal
from referral_service.identity.roles import Role
from referral_service.keys.fields import encrypted_columns, open_fields
from referral_service.listing import (
    AssigneeKeyword,
    Page,
    check_range,
    day_start,
    next_day_start,
    read_assignee,
)
from referral_service.references import normalise
from referral_service.referrals import repository
from referral_service.referrals.audit_actions import ReferralAuditAction
from referral_service.referrals.domain import (
    ContactChannel,
    DeadlineState,
    EscalationLevel,
    OffenceCategory,
    QueueReason,
    ReferralAction,
    ReferralStatus,
    Urgency,
)
from referral_service.referrals.errors import InvalidFilterError, ReferralNotFoundError
from referral_service.referrals.models import Referral
from referral_service.referrals.policy import CONTACT_FIELDS, ContentAccess, content_access
from referral_service.referrals.service.common import TARGET, ReferralContext, audit, key_id
from referral_service.referrals.service.intake import REFERENCE_PREFIX


@dataclass(frozen=True, slots=True)
class OpenedReferral:
    referral: Referral
    access: ContentAccess
    values: dict[str, str | None]


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """A state change: when, which step, and who acted, as a role (`ACTOR_*` or a `Role` value)."""

    at: dt.datetime
    action: str  # "submit" or a ReferralAction value
    to_status: ReferralStatus
    actor: str


@dataclass(frozen=True, slots=True)
class ContactAttemptEntry:
    at: dt.datetime
    channel: ContactChannel
    reached: bool
    actor: str


@dataclass(frozen=True, slots=True)
class Timeline:
    entries: list[TimelineEntry]
    contact_attempts: list[ContactAttemptEntry]


# Who acted, as far as the viewer may know it; the WEISSER RING side also sees the role within it.
ACTOR_POLICE = "police"
ACTOR_WR = "wr"
ACTOR_SYSTEM = "system"
ACTOR_UNKNOWN = "unknown"  # the account no longer holds a referral role
_WR_ACTOR_ROLES = (Role.WR_STATE_OFFICE, Role.WR_BRANCH_LEAD, Role.WR_VOLUNTEER)


# Steps recorded at the same moment (only under a stopped clock: each request has its own moment) are
# listed in the usual order of the process.
_PROCESS_ORDER = {
    name: rank
    for rank, name in enumerate(
        [
            "submit",
            ReferralAction.ROUTE,
            ReferralAction.DECLINE,
            ReferralAction.ACCEPT,
            ReferralAction.ASSIGN,
            ReferralAction.RECORD_CONTACT_ATTEMPT,
            ReferralAction.RECORD_FIRST_CONTACT,
            ReferralAction.CLOSE,
            ReferralAction.WITHDRAW_CONSENT,
        ]
    )
}


async def open_referral(ctx: ReferralContext, referral_id: uuid.UUID) -> OpenedReferral:
    """A referral with the personal data the principal may see, decrypted; the read is audited."""
    read = await read_referral(ctx, referral_id)
    if not isinstance(read, OpenedReferral):
        # In scope for feedback, but not for content (the police after acceptance).
        raise ReferralNotFoundError()
    return read


async def read_referral(ctx: ReferralContext, referral_id: uuid.UUID) -> OpenedReferral | Referral:
    """What the referral's address shows the principal: its content as far as they may read it, or,
    for the referring station once a branch has the case, the bare referral for its status feedback -
    the case stays in the station's list, so its address must not answer "not found"."""
    referral = await repository.get_visible(ctx.session, ctx.principal, referral_id)
    if referral is None:
        raise ReferralNotFoundError()
    access = content_access(ctx.principal, referral)
    if access is ContentAccess.NONE:
        if ctx.principal.has_role(*repository.POLICE_ROLES):
            return referral
        if ReferralStatus(referral.status) is ReferralStatus.WITHDRAWN or routed_only(
            ctx.principal, referral
        ):
            # The WEISSER RING side keeps seeing that its case ended, and the state office the cases it
            # routed, with nothing personal left to read.
            return OpenedReferral(referral, access, {})
        raise ReferralNotFoundError()
    names = [
        name
        for name in encrypted_columns(Referral)
        if access is ContentAccess.FULL or name not in CONTACT_FIELDS
    ]
    try:
        key = await ctx.keys.get(ctx.session, key_id(referral))
    except KeyDestroyedError:
        return OpenedReferral(referral, ContentAccess.NONE, {})
    values = open_fields(referral, key, names)
    await audit(
        ctx,
        ReferralAuditAction.REFERRAL_READ,
        referral,
        fields=sorted(name for name in names if values.get(name) is not None),
    )
    return OpenedReferral(referral, access, values)


def routed_only(principal: Principal, referral: Referral) -> bool:
    """The state office sees a case it routed that is no longer in its queue: read-only, no content."""
    return (
        principal.has_role(Role.WR_STATE_OFFICE)
        and referral.routed_by_unit_id == principal.unit_id
        and not in_state_office_queue(referral)
    )


def in_state_office_queue(referral: Referral) -> bool:
    """`repository.in_state_office_queue` for one loaded referral."""
    return referral.branch_id is None or referral.escalation_level >= EscalationLevel.STATE_OFFICE


def queue_reason(referral: Referral) -> QueueReason | None:
    """Why the case is in the state office's queue, the strongest reason first; None when it is not."""
    if referral.escalation_level >= EscalationLevel.STATE_OFFICE:
        return QueueReason.ESCALATED
    if referral.branch_id is not None:
        return None
    if referral.declined_by_branch_id is not None:
        return QueueReason.DECLINED
    return QueueReason.NO_BRANCH


def windows(ctx: ReferralContext) -> repository.DeadlineWindows:
    return repository.DeadlineWindows(
        now=ctx.now(),
        accept_within=ctx.policy.accept_within,
        contact_within=ctx.policy.contact_within,
        due_soon_within=ctx.policy.due_soon_within,
    )


def build_filters(
    ctx: ReferralContext,
    *,
    statuses: Sequence[ReferralStatus] = (),
    offence_category: OffenceCategory | None = None,
    urgency: Urgency | None = None,
    branch_id: uuid.UUID | None = None,
    assignee: str | None = None,
    deadline: DeadlineState | None = None,
    submitted_from: dt.date | None = None,
    submitted_until: dt.date | None = None,
    reference: str | None = None,
    routed: bool | None = None,
) -> repository.ReferralFilters:
    """The filters of a list from what the caller asked; `InvalidFilterError` (naming the field, never
    echoing the value) for what cannot be read."""
    check_range(submitted_from, submitted_until)
    assignee_id, unassigned = _assignee(ctx.principal, assignee)
    return repository.ReferralFilters(
        statuses=tuple(dict.fromkeys(statuses)),
        offence_category=offence_category,
        urgency=urgency,
        branch_id=branch_id,
        assignee_id=assignee_id,
        unassigned=unassigned,
        deadline=deadline,
        submitted_from=day_start(submitted_from) if submitted_from else None,
        submitted_before=next_day_start(submitted_until) if submitted_until else None,
        reference=_reference(reference),
        routed=routed,
    )


def _assignee(principal: Principal, raw: str | None) -> tuple[uuid.UUID | None, bool]:
    """The assignee filter as (user id, unassigned only)."""
    try:
        keyword, user_id = read_assignee(raw)
    except ValueError:
        raise InvalidFilterError(
            "assignee must be 'me', 'none' or a user id.", extra={"field": "assignee"}
        ) from None
    if keyword is AssigneeKeyword.ME:
        return principal.user_id, False
    return user_id, keyword is AssigneeKeyword.NONE


def _reference(raw: str | None) -> str | None:
    """ "VM-2026-000123", also typed without the prefix or the leading zeros ("2026-123")."""
    if raw is None or not raw.strip():
        return None
    typed = raw.strip()
    if typed[:1].isdigit():
        typed = f"{REFERENCE_PREFIX}-{typed}"
    reference = normalise(REFERENCE_PREFIX, typed)
    if reference is None:
        raise InvalidFilterError("reference must look like VM-2026-000123.", extra={"field": "reference"})
    return reference


async def list_page(
    ctx: ReferralContext, filters: repository.ReferralFilters, *, after: str | None, limit: int
) -> Page[Referral]:
    """One page of the caller's referrals that pass `filters`, newest first (plain columns only)."""
    return await repository.list_page(
        ctx.session, ctx.principal, filters, windows(ctx), after=after, limit=limit
    )


async def search_case_number(ctx: ReferralContext, case_number: str, *, limit: int) -> Page[Referral]:
    """The caller's referrals with this police case number, found by its blind index (never decrypted).
    The number itself goes nowhere: not into the audit log, not into a URL."""
    index = ctx.keys.blind_index.index_case_number(case_number)
    if index is None:
        raise InvalidFilterError("case_number is empty.", extra={"field": "case_number"})
    filters = repository.ReferralFilters(case_number_index=index)
    return await repository.list_page(
        ctx.session, ctx.principal, filters, windows(ctx), after=None, limit=limit
    )


async def export(ctx: ReferralContext, filters: repository.ReferralFilters) -> Sequence[Referral]:
    """Every referral of the filtered list (up to the export limit), audited with the filter names."""
    rows = await repository.list_export(ctx.session, ctx.principal, filters, windows(ctx))
    await record_event(
        ctx.session,
        action=ReferralAuditAction.REFERRAL_LIST_EXPORT,
        actor=ctx.principal.actor,
        target_type=TARGET,
        details={"filters": filters.names(), "rows": len(rows)},
        **ctx.audit,
    )
    return rows


@dataclass(frozen=True, slots=True)
class ListNames:
    """Names a list shows for the ids of its rows: branches (and declining branches), assignees."""

    branches: dict[uuid.UUID, str]
    users: dict[uuid.UUID, str]


async def list_names(ctx: ReferralContext, referrals: Sequence[Referral]) -> ListNames:
    """The names for one page (or export) of rows, two queries whatever the number of rows. Names of
    units and colleagues are not personal data of the victim; the rows are already in scope."""
    units = {r.branch_id for r in referrals if r.branch_id} | {
        r.declined_by_branch_id for r in referrals if r.declined_by_branch_id
    }
    users = {r.assignee_id for r in referrals if r.assignee_id}
    return ListNames(
        branches={
            unit_id: unit.name for unit_id, unit in (await identity.units_by_ids(ctx.session, units)).items()
        },
        users={
            user_id: user.display_name
            for user_id, user in (await identity.users_by_ids(ctx.session, users)).items()
        },
    )


# What a list row shows a role to recognise a case (decision in docs/adr/0005): the police their
# Vorgangsnummer, the WEISSER RING the postcode and town.
POLICE_RECOGNITION = ("case_number",)
WR_RECOGNITION = ("postcode", "city")


def recognition_fields(principal: Principal) -> tuple[str, ...]:
    if principal.has_role(*repository.POLICE_ROLES):
        return POLICE_RECOGNITION
    if principal.has_role(Role.WR_VOLUNTEER, Role.WR_BRANCH_LEAD, Role.WR_STATE_OFFICE):
        return WR_RECOGNITION
    return ()


async def recognition(
    ctx: ReferralContext, referrals: Sequence[Referral]
) -> dict[uuid.UUID, dict[str, str | None]]:
    """The few personal values by which the caller recognises the cases of one list page, decrypted
    with the page's data keys fetched in one query; one audit event names the referrals and fields
    opened (never the values)."""
    names = recognition_fields(ctx.principal)
    wanted = [r for r in referrals if r.data_key_id is not None and any(getattr(r, n) for n in names)]
    if not wanted:
        return {}
    keys = await ctx.keys.get_many(ctx.session, {key_id(r) for r in wanted})
    values: dict[uuid.UUID, dict[str, str | None]] = {}
    for referral in wanted:
        key = keys.get(key_id(referral))
        if key is not None:
            values[referral.id] = open_fields(referral, key, names)
    if values:
        opened = sorted({name for row in values.values() for name, value in row.items() if value is not None})
        await record_event(
            ctx.session,
            action=ReferralAuditAction.REFERRAL_LIST_READ,
            actor=ctx.principal.actor,
            target_type=TARGET,
            details={"referrals": sorted(str(referral_id) for referral_id in values), "fields": opened},
            **ctx.audit,
        )
    return values


async def newest_submitted(ctx: ReferralContext) -> Referral | None:
    """The referral the acting officer submitted last (plain columns only: not audited, like a list)."""
    return await repository.newest_by(ctx.session, ctx.principal)


async def feedback(ctx: ReferralContext, referral_id: uuid.UUID) -> Referral:
    referral = await repository.get_visible(ctx.session, ctx.principal, referral_id)
    if referral is None:
        raise ReferralNotFoundError()
    return referral


async def timeline(ctx: ReferralContext, referral_id: uuid.UUID) -> Timeline:
    """The referral's history without personal data or notes: its state changes with time and acting
    role, and, for the WEISSER RING, the contact attempts. The referring station sees the changes of
    status only (no re-assignment within a branch, no contact attempts), and the WEISSER RING as one."""
    referral = await repository.get_visible(ctx.session, ctx.principal, referral_id)
    if referral is None:
        raise ReferralNotFoundError()
    police = ctx.principal.has_role(*repository.POLICE_ROLES)
    entries = [
        TimelineEntry(
            at=transition.at,
            action=transition.action,
            to_status=ReferralStatus(transition.to_status),
            actor=_actor(transition.actor_id, roles, for_police=police),
        )
        for transition, roles in await repository.transitions_with_roles(ctx.session, referral.id)
        if not police or transition.from_status != transition.to_status
    ]
    entries.sort(key=lambda entry: (entry.at, _PROCESS_ORDER.get(entry.action, len(_PROCESS_ORDER))))
    attempts = (
        []
        if police
        else [
            ContactAttemptEntry(
                at=attempt.attempted_at,
                channel=ContactChannel(attempt.channel),
                reached=attempt.reached,
                actor=_actor(attempt.recorded_by_id, roles, for_police=False),
            )
            for attempt, roles in await repository.contact_attempts_with_roles(ctx.session, referral.id)
        ]
    )
    return Timeline(entries, attempts)


def _actor(user_id: uuid.UUID | None, roles: frozenset[str], *, for_police: bool) -> str:
    if user_id is None:
        return ACTOR_SYSTEM
    if roles & set(repository.POLICE_ROLES):
        return ACTOR_POLICE
    held = [role for role in _WR_ACTOR_ROLES if role in roles]
    if not held:
        return ACTOR_UNKNOWN
    return ACTOR_WR if for_police else held[0].value


def repeat_hint_visible(principal: Principal, referral: Referral) -> bool:
    """Only the receiving branch learns that the victim has another open referral."""
    return (
        principal.has_role(Role.WR_VOLUNTEER, Role.WR_BRANCH_LEAD) and referral.branch_id == principal.unit_id
    )
