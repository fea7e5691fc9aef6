"""Reading referrals: the decrypted case as far as the reader may see it, lists, feedback, timeline."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from crypto import KeyDestroyedError
from referral_service.identity.principal import Principal
from referral_service.identity.roles import Role
from referral_service.keys.fields import encrypted_columns, open_fields
from referral_service.referrals import repository
from referral_service.referrals.audit_actions import ReferralAuditAction
from referral_service.referrals.domain import ContactChannel, ReferralAction, ReferralStatus
from referral_service.referrals.errors import ReferralNotFoundError
from referral_service.referrals.models import Referral
from referral_service.referrals.policy import CONTACT_FIELDS, ContentAccess, content_access
from referral_service.referrals.service.common import ReferralContext, audit, key_id


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
        if ReferralStatus(referral.status) is ReferralStatus.WITHDRAWN:
            # The WEISSER RING side keeps seeing that its case ended, with nothing left to read.
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


async def list_referrals(
    ctx: ReferralContext, statuses: list[ReferralStatus] | None, limit: int, offset: int
) -> list[Referral]:
    return list(
        await repository.list_visible(
            ctx.session, ctx.principal, statuses=statuses, limit=limit, offset=offset
        )
    )


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
