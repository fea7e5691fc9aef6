"""Referral use cases: the state machine, consent, routing, encryption and audit.

Every use case runs in the request's transaction: the change, its transition record and its audit
event commit together or not at all. Transitions lock the referral row first (PostgreSQL `FOR UPDATE`,
SQLite's database write lock), so of concurrent attempts exactly one sees the old state.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from crypto import KeyDestroyedError, normalise_email, normalise_phone
from referral_service.audit.recorder import Actor, record_event
from referral_service.identity.principal import Principal
from referral_service.identity.roles import Role, UnitKind
from referral_service.keys.fields import encrypted_columns, erase_fields, open_fields, seal
from referral_service.keys.service import CaseKeys
from referral_service.referrals import repository
from referral_service.referrals.domain import (
    CLOSE_FROM,
    TRANSITIONS,
    CloseOutcome,
    ContactChannel,
    ReferralAction,
    ReferralStatus,
)
from referral_service.referrals.errors import (
    ConsentInvalidError,
    InvalidAssigneeError,
    InvalidTransitionError,
    ReferralInvalidError,
    ReferralNotFoundError,
    SupportRequiredError,
    UnknownBranchError,
)
from referral_service.referrals.models import ContactAttempt, Referral, ReferralTransition
from referral_service.referrals.policy import CONTACT_FIELDS, ContentAccess, ReferralPolicy, content_access
from referral_service.referrals.schemas import (
    Close,
    ContactAttemptCreate,
    FirstContact,
    ReferralCreate,
    ReferralUpdate,
    Victim,
    VictimUpdate,
)

CASE_KIND = "referral"
TARGET = "referral"
# Optional content a correction may empty (column names); the rest is required or not personal data.
CLEARABLE_FIELDS = frozenset(
    {
        "phone",
        "email",
        "street_address",
        "city",
        "date_of_birth",
        "contact_preferences",
        "accessibility_needs",
        "incident_date",
        "case_number",
    }
)


@dataclass(frozen=True, slots=True)
class ReferralContext:
    """Everything a use case needs besides its input: who acts, in which transaction, with which keys."""

    session: AsyncSession
    principal: Principal
    keys: CaseKeys
    policy: ReferralPolicy
    audit: Mapping[str, Any]

    def now(self) -> dt.datetime:
        return self.policy.clock()


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


# --- creating and correcting ---------------------------------------------------------------------


async def create_referral(ctx: ReferralContext, data: ReferralCreate) -> Referral:
    now = ctx.now()
    _check_consent(data, ctx.policy, now)
    _check_incident(data.incident_month, data.incident_date, now)
    branch_id = await repository.branch_for_postcode(ctx.session, data.victim.postcode)
    referral = Referral(
        status=ReferralStatus.SUBMITTED,
        referring_station_id=ctx.principal.unit_id,
        referring_officer_id=ctx.principal.user_id,
        branch_id=branch_id,
        offence_category=data.offence_category,
        hate_crime=data.hate_crime,
        incident_month=data.incident_month,
        requested_support=_codes(data.requested_support),
        urgency=data.urgency,
        language=data.victim.language,
        interpreter_needed=data.victim.interpreter_needed,
        consent_given_by=data.consent.given_by,
        consent_given_at=data.consent.given_at,
        consent_form=data.consent.form,
        consent_scope=data.consent.scope,
        consent_recorded_by_id=ctx.principal.user_id,
        submitted_at=now,
        updated_at=now,
    )
    key = await ctx.keys.create(ctx.session, CASE_KIND)
    seal(referral, key, **_victim_values(data.victim))
    seal(
        referral,
        key,
        circumstances=data.circumstances,
        incident_date=_iso(data.incident_date),
        case_number=data.case_number,
    )
    _index(referral, ctx.keys, phone=data.victim.phone, email=data.victim.email, case_number=data.case_number)
    referral.repeat_of_id = await _repeat_of(ctx, referral, data.victim.phone, data.victim.email)
    ctx.session.add(referral)
    await ctx.session.flush()
    await _record_transition(ctx, referral, "submit", "", now)
    await _audit(
        ctx,
        "create",
        referral,
        routed_to="branch" if branch_id else "state_office",
        repeat_hint=referral.repeat_of_id is not None,
    )
    return referral


def correctable(referral: Referral) -> bool:
    """Whether the referring station may still correct the referral: until a branch accepts it."""
    return ReferralStatus(referral.status) is ReferralStatus.SUBMITTED


async def update_referral(
    ctx: ReferralContext,
    referral_id: uuid.UUID,
    data: ReferralUpdate,
    *,
    clear: Collection[str] = (),
) -> Referral:
    """The police correct a referral; possible only until a branch accepts it.

    `clear` names optional fields (see CLEARABLE_FIELDS) to empty; the pages send it for a field the
    officer emptied, since in `ReferralUpdate` an absent value means "unchanged".
    """
    if set(clear) - CLEARABLE_FIELDS or set(clear) & _given_fields(data):
        raise ReferralInvalidError("Only optional fields that are not also given can be cleared.")
    referral = await _locked(ctx, referral_id)
    if not correctable(referral):
        raise InvalidTransitionError("A referral can be corrected only until it has been accepted.")
    now = ctx.now()
    key = await ctx.keys.get(ctx.session, _key_id(referral))
    changed: list[str] = []
    victim = data.victim or VictimUpdate()
    sealed: dict[str, str | None] = {
        name: value for name, value in _victim_values(victim).items() if value is not None
    }
    for name, value in (
        ("circumstances", data.circumstances),
        ("incident_date", _iso(data.incident_date)),
        ("case_number", data.case_number),
    ):
        if value is not None:
            sealed[name] = value
    sealed.update(dict.fromkeys(clear))
    if sealed:
        seal(referral, key, **sealed)
        changed += sorted(sealed)
        _index(
            referral,
            ctx.keys,
            phone=victim.phone,
            email=victim.email,
            case_number=data.case_number,
            only_given=True,
        )
        for name in {"phone", "email", "case_number"} & set(clear):
            setattr(referral, f"{name}_index", None)
    plain: dict[str, Any] = {
        "offence_category": data.offence_category,
        "incident_month": data.incident_month,
        "urgency": data.urgency,
        "hate_crime": data.hate_crime,
        "requested_support": None if data.requested_support is None else _codes(data.requested_support),
    }
    for name, value in plain.items():
        if value is not None:
            setattr(referral, name, value)
            changed.append(name)
    if data.incident_month is not None or data.incident_date is not None:
        current_date = open_fields(referral, key, ["incident_date"])["incident_date"]
        _check_incident(referral.incident_month, _date(current_date), now)
    if victim.postcode is not None:
        # A corrected postcode may belong to another branch; nobody has accepted the case yet.
        referral.branch_id = await repository.branch_for_postcode(ctx.session, victim.postcode)
    referral.updated_at = now
    await _audit(ctx, "update", referral, fields=sorted(set(changed)))
    return referral


# --- reading -------------------------------------------------------------------------------------


async def open_referral(ctx: ReferralContext, referral_id: uuid.UUID) -> OpenedReferral:
    """A referral with the personal data the principal may see, decrypted; the read is audited."""
    referral = await repository.get_visible(ctx.session, ctx.principal, referral_id)
    if referral is None:
        raise ReferralNotFoundError()
    access = content_access(ctx.principal, referral)
    if access is ContentAccess.NONE:
        if ReferralStatus(referral.status) is ReferralStatus.WITHDRAWN and not ctx.principal.has_role(
            *repository.POLICE_ROLES
        ):
            # The WEISSER RING side keeps seeing that its case ended, with nothing left to read.
            return OpenedReferral(referral, access, {})
        # In scope for feedback, but not for content (e.g. the police after acceptance).
        raise ReferralNotFoundError()
    names = [
        name
        for name in encrypted_columns(Referral)
        if access is ContentAccess.FULL or name not in CONTACT_FIELDS
    ]
    try:
        key = await ctx.keys.get(ctx.session, _key_id(referral))
    except KeyDestroyedError:
        return OpenedReferral(referral, ContentAccess.NONE, {})
    values = open_fields(referral, key, names)
    await _audit(ctx, "read", referral, fields=sorted(name for name in names if values.get(name) is not None))
    return OpenedReferral(referral, access, values)


async def list_referrals(
    ctx: ReferralContext, statuses: list[ReferralStatus] | None, limit: int, offset: int
) -> list[Referral]:
    return list(
        await repository.list_visible(
            ctx.session, ctx.principal, statuses=statuses, limit=limit, offset=offset
        )
    )


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


# --- the WEISSER RING side -------------------------------------------------------------------------


async def accept(ctx: ReferralContext, referral_id: uuid.UUID) -> Referral:
    referral = await _for_action(ctx, referral_id, ReferralAction.ACCEPT)
    if referral.branch_id != ctx.principal.unit_id:
        raise InvalidTransitionError("Only the branch the referral is routed to can accept it.")
    now = ctx.now()
    referral.assignee_id = ctx.principal.user_id
    referral.accepted_at = now
    await _move(ctx, referral, ReferralAction.ACCEPT, ReferralStatus.ACCEPTED, now)
    return referral


async def assign(ctx: ReferralContext, referral_id: uuid.UUID, assignee_id: uuid.UUID) -> Referral:
    """The branch lead gives the case to a volunteer of the branch (accepting it, if still open)."""
    referral = await _for_action(ctx, referral_id, ReferralAction.ASSIGN)
    if referral.branch_id != ctx.principal.unit_id:
        raise ReferralNotFoundError()
    if not await repository.is_active_branch_member(ctx.session, assignee_id, referral.branch_id):
        raise InvalidAssigneeError()
    now = ctx.now()
    referral.assignee_id = assignee_id
    if referral.status == ReferralStatus.SUBMITTED:
        referral.accepted_at = now
        await _move(
            ctx, referral, ReferralAction.ASSIGN, ReferralStatus.ACCEPTED, now, assignee=str(assignee_id)
        )
    else:
        await _move(ctx, referral, ReferralAction.ASSIGN, None, now, assignee=str(assignee_id))
    return referral


async def decline(ctx: ReferralContext, referral_id: uuid.UUID, reason: str) -> Referral:
    """The branch cannot take the case: it goes back to the state office for routing."""
    referral = await _for_action(ctx, referral_id, ReferralAction.DECLINE)
    if referral.branch_id != ctx.principal.unit_id:
        raise InvalidTransitionError("Only the branch the referral is routed to can decline it.")
    now = ctx.now()
    referral.declined_by_branch_id = referral.branch_id
    referral.branch_id = None
    referral.assignee_id = None
    referral.decline_reason = reason
    referral.declined_at = now
    await _move(ctx, referral, ReferralAction.DECLINE, ReferralStatus.DECLINED_BY_BRANCH, now, reason=reason)
    return referral


async def route(ctx: ReferralContext, referral_id: uuid.UUID, branch_id: uuid.UUID) -> Referral:
    """The state office sends an unrouted, declined or escalated referral to a branch."""
    referral = await _for_action(ctx, referral_id, ReferralAction.ROUTE)
    if not await repository.is_unit_of_kind(ctx.session, branch_id, UnitKind.WR_BRANCH):
        raise UnknownBranchError()
    now = ctx.now()
    referral.branch_id = branch_id
    referral.assignee_id = None
    referral.escalation_level = 0
    await _move(ctx, referral, ReferralAction.ROUTE, ReferralStatus.SUBMITTED, now, branch=str(branch_id))
    return referral


async def record_contact_attempt(
    ctx: ReferralContext, referral_id: uuid.UUID, data: ContactAttemptCreate
) -> Referral:
    referral = await _for_action(ctx, referral_id, ReferralAction.RECORD_CONTACT_ATTEMPT)
    now = ctx.now()
    at = _not_in_future(data.attempted_at or now, now, "attempted_at")
    await _record_contact(ctx, referral, data.channel, at, reached=False)
    await _move(
        ctx,
        referral,
        ReferralAction.RECORD_CONTACT_ATTEMPT,
        ReferralStatus.CONTACT_ATTEMPTED,
        now,
        channel=data.channel,
    )
    return referral


async def record_first_contact(ctx: ReferralContext, referral_id: uuid.UUID, data: FirstContact) -> Referral:
    referral = await _for_action(ctx, referral_id, ReferralAction.RECORD_FIRST_CONTACT)
    now = ctx.now()
    at = _not_in_future(data.contacted_at or now, now, "contacted_at")
    if at < referral.submitted_at:
        raise ReferralInvalidError("The first contact cannot precede the referral.")
    referral.first_contact_at = at
    await _record_contact(ctx, referral, data.channel, at, reached=True)
    await _move(
        ctx,
        referral,
        ReferralAction.RECORD_FIRST_CONTACT,
        ReferralStatus.IN_CONTACT,
        now,
        channel=data.channel,
    )
    return referral


async def _record_contact(
    ctx: ReferralContext, referral: Referral, channel: str, at: dt.datetime, *, reached: bool
) -> None:
    await repository.add_contact_attempt(
        ctx.session,
        ContactAttempt(
            referral_id=referral.id,
            attempted_at=at,
            channel=channel,
            reached=reached,
            recorded_by_id=ctx.principal.user_id,
        ),
    )


async def close(ctx: ReferralContext, referral_id: uuid.UUID, data: Close) -> Referral:
    referral = await _for_action(ctx, referral_id, ReferralAction.CLOSE)
    if ReferralStatus(referral.status) not in CLOSE_FROM[data.outcome]:
        raise InvalidTransitionError(
            f"A referral in state '{referral.status}' cannot be closed as '{data.outcome.value}'."
        )
    if data.outcome is CloseOutcome.SUPPORTED and not data.support_given:
        raise SupportRequiredError()
    now = ctx.now()
    referral.close_outcome = data.outcome
    referral.support_given = _codes(data.support_given)
    referral.closed_at = now
    await _move(ctx, referral, ReferralAction.CLOSE, ReferralStatus.CLOSED, now, outcome=data.outcome)
    return referral


# --- consent withdrawal ----------------------------------------------------------------------------


async def withdraw_consent(ctx: ReferralContext, referral_id: uuid.UUID) -> Referral:
    """Consent withdrawn (Art. 7(3) GDPR): destroy the case key and every ciphertext; keep statistics."""
    referral = await _for_action(ctx, referral_id, ReferralAction.WITHDRAW_CONSENT)
    now = ctx.now()
    await ctx.keys.destroy(ctx.session, _key_id(referral))
    erased = erase_fields(referral)
    referral.withdrawn_at = now
    await _move(
        ctx, referral, ReferralAction.WITHDRAW_CONSENT, ReferralStatus.WITHDRAWN, now, erased=sorted(erased)
    )
    return referral


# --- helpers --------------------------------------------------------------------------------------


async def _locked(ctx: ReferralContext, referral_id: uuid.UUID) -> Referral:
    referral = await repository.get_visible(ctx.session, ctx.principal, referral_id, for_update=True)
    if referral is None:
        raise ReferralNotFoundError()
    return referral


async def _for_action(ctx: ReferralContext, referral_id: uuid.UUID, action: ReferralAction) -> Referral:
    referral = await _locked(ctx, referral_id)
    allowed_from, _ = TRANSITIONS[action]
    if ReferralStatus(referral.status) not in allowed_from:
        raise InvalidTransitionError(
            f"'{action.value}' is not possible for a referral in state '{referral.status}'.",
            extra={"status": referral.status, "action": action.value},
        )
    return referral


async def _move(
    ctx: ReferralContext,
    referral: Referral,
    action: ReferralAction,
    to_status: ReferralStatus | None,
    now: dt.datetime,
    **details: Any,
) -> None:
    from_status = referral.status
    if to_status is not None:
        referral.status = to_status
    referral.updated_at = now
    await _record_transition(ctx, referral, action.value, from_status, now)
    await _audit(ctx, action.value, referral, from_status=from_status, to_status=referral.status, **details)


async def _record_transition(
    ctx: ReferralContext, referral: Referral, action: str, from_status: str, now: dt.datetime
) -> None:
    await repository.add_transition(
        ctx.session,
        ReferralTransition(
            referral_id=referral.id,
            action=action,
            from_status=from_status,
            to_status=referral.status,
            actor_id=ctx.principal.user_id,
            at=now,
        ),
    )


async def _audit(ctx: ReferralContext, action: str, referral: Referral, **details: Any) -> None:
    await audit_referral(ctx.session, ctx.principal.actor, action, referral, ctx.audit, **details)


async def audit_referral(
    session: AsyncSession,
    actor: Actor,
    action: str,
    referral: Referral,
    audit: Mapping[str, Any],
    **details: Any,
) -> None:
    await record_event(
        session,
        action=f"referral:referral:{action}",
        actor=actor,
        target_type=TARGET,
        target_id=str(referral.id),
        details=details,
        **audit,
    )


def _key_id(referral: Referral) -> uuid.UUID:
    if referral.data_key_id is None:
        raise KeyDestroyedError("referral has no data key")
    return referral.data_key_id


def _check_consent(data: ReferralCreate, policy: ReferralPolicy, now: dt.datetime) -> None:
    given_at = data.consent.given_at
    if given_at.tzinfo is None:
        raise ConsentInvalidError("The time of consent must include a time zone.")
    if given_at > now + dt.timedelta(minutes=5):
        raise ConsentInvalidError("Consent cannot be given in the future.")
    if given_at < now - policy.consent_max_age:
        raise ConsentInvalidError("The consent is too old; please record the victim's consent anew.")


def _check_incident(month: str, day: dt.date | None, now: dt.datetime) -> None:
    if month > now.strftime("%Y-%m"):
        raise ReferralInvalidError("The incident month lies in the future.")
    if day is not None and (day > now.date() or day.strftime("%Y-%m") != month):
        raise ReferralInvalidError("The incident date must lie in the incident month and not in the future.")


def _not_in_future(at: dt.datetime, now: dt.datetime, name: str) -> dt.datetime:
    if at.tzinfo is None:
        raise ReferralInvalidError(f"{name} must include a time zone.")
    if at > now + dt.timedelta(minutes=5):
        raise ReferralInvalidError(f"{name} lies in the future.")
    return at


def _victim_values(victim: Victim | VictimUpdate) -> dict[str, str | None]:
    return {
        "victim_name": victim.name,
        "postcode": victim.postcode,
        "phone": victim.phone,
        "email": victim.email,
        "street_address": victim.street_address,
        "city": victim.city,
        "date_of_birth": _iso(victim.date_of_birth),
        "contact_preferences": victim.contact_preferences,
        "accessibility_needs": victim.accessibility_needs,
    }


def _index(
    referral: Referral,
    keys: CaseKeys,
    *,
    phone: str | None,
    email: str | None,
    case_number: str | None,
    only_given: bool = False,
) -> None:
    blind = keys.blind_index
    if phone is not None or not only_given:
        referral.phone_index = blind.index_phone(phone) if phone else None
    if email is not None or not only_given:
        referral.email_index = blind.index_email(email) if email else None
    if case_number is not None or not only_given:
        referral.case_number_index = blind.index_case_number(case_number) if case_number else None


async def _repeat_of(
    ctx: ReferralContext, referral: Referral, phone: str | None, email: str | None
) -> uuid.UUID | None:
    """An open referral of the same victim (same phone or e-mail), confirmed after decryption because
    a truncated blind index can match by chance."""
    candidates = await repository.open_referrals_matching(
        ctx.session, phone_index=referral.phone_index, email_index=referral.email_index, exclude=referral.id
    )
    for candidate in candidates:
        try:
            key = await ctx.keys.get(ctx.session, _key_id(candidate))
        except KeyDestroyedError:
            continue
        values = open_fields(candidate, key, ["phone", "email"])
        if (phone and values["phone"] and normalise_phone(values["phone"]) == normalise_phone(phone)) or (
            email and values["email"] and normalise_email(values["email"]) == normalise_email(email)
        ):
            return candidate.id
    return None


def _given_fields(data: ReferralUpdate) -> set[str]:
    victim = _victim_values(data.victim or VictimUpdate())
    given = {name for name, value in victim.items() if value is not None}
    given.update(
        name for name in ("circumstances", "incident_date", "case_number") if getattr(data, name) is not None
    )
    return given


def _codes(values: list[Any]) -> str:
    return ",".join(sorted({str(value) for value in values}))


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def _date(text: str | None) -> dt.date | None:
    return None if text is None else dt.date.fromisoformat(text)
