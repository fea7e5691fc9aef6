"""Creating and correcting a referral: consent, the incident date, how to reach the victim, routing by
postcode, encryption.

The rules that need the clock or several fields (an incident date not in the future, at least one way to
reach the victim, an offence area that can still be chosen) are checked here, for the API and the pages
alike, and refused as field errors (`RequestValidationError`, 422 with `errors`), all found at once.
`contact_errors`, `offence_errors` and `incident_errors` are pure, so that a page can show them together
with its own messages before anything is sent.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Mapping
from typing import Any

from crypto import KeyDestroyedError, normalise_email, normalise_phone
from referral_service import references
from referral_service.keys.fields import open_fields, seal
from referral_service.keys.service import CaseKeys
from referral_service.referrals import notifications, repository
from referral_service.referrals.audit_actions import ReferralAuditAction
from referral_service.referrals.domain import (
    SELECTABLE_OFFENCES,
    ContactChannel,
    OffenceCategory,
    ReferralStatus,
)
from referral_service.referrals.errors import (
    ConsentInvalidError,
    InvalidTransitionError,
    ReferralInvalidError,
)
from referral_service.referrals.models import Referral, ReferralReferenceCounter, ReferralTransition
from referral_service.referrals.policy import ReferralPolicy
from referral_service.referrals.schemas import ReferralCreate, ReferralUpdate, Victim, VictimUpdate
from referral_service.referrals.service.common import (
    CASE_KIND,
    ReferralContext,
    audit,
    codes,
    key_id,
    locked,
)
from referral_service.validation import FieldError, RequestValidationError
from referral_service.values import DAY_OR_MONTH

# Optional content a correction may empty (column names); the rest is required or not personal data.
CLEARABLE_FIELDS = frozenset(
    {
        "phone",
        "email",
        "street_address",
        "city",
        "preferred_channel",
        "date_of_birth",
        "contact_preferences",
        "accessibility_needs",
        "case_number",
    }
)

# The ways to reach the victim (column names). A postal address counts when street and city are given:
# the postcode is always there (it routes the referral), and a letter or a visit needs all three.
CONTACT_FIELDS = ("phone", "email", "street_address", "city")
_ADDRESS = ("street_address", "city")
# What a preferred channel needs the victim to have given.
CHANNEL_NEEDS: Mapping[ContactChannel, tuple[str, ...]] = {
    ContactChannel.PHONE: ("phone",),
    ContactChannel.SMS: ("phone",),
    ContactChannel.EMAIL: ("email",),
    ContactChannel.LETTER: _ADDRESS,
    ContactChannel.VISIT: _ADDRESS,
}
CONTACT_REQUIRED = "referral.contact_required"
CHANNEL_NOT_GIVEN = "referral.preferred_channel_not_given"
INCIDENT_IN_FUTURE = "referral.incident_in_future"
OFFENCE_NOT_SELECTABLE = "referral.offence_not_selectable"
# References people can quote: "VM-2026-000123" ("Vermittlung"), numbered per year in German time.
REFERENCE_PREFIX = "VM"


def contact_errors(values: Mapping[str, str | None], prefix: str = "victim.") -> list[FieldError]:
    """What is wrong with how the victim can be reached (`values` by column name, None or "" for not
    given): no phone, no e-mail and no complete address names every empty contact field; a preferred
    channel the victim gave no means for names `preferred_channel`."""

    def given(name: str) -> bool:
        return bool(values.get(name))

    errors: list[FieldError] = []
    if not (given("phone") or given("email") or all(map(given, _ADDRESS))):
        errors += [
            FieldError(
                prefix + name,
                CONTACT_REQUIRED,
                "Give at least one way to reach the victim: phone, e-mail, or street, postcode and city.",
            )
            for name in CONTACT_FIELDS
            if not given(name)
        ]
    preferred = values.get("preferred_channel")
    if preferred and not all(map(given, CHANNEL_NEEDS[ContactChannel(preferred)])):
        errors.append(
            FieldError(
                prefix + "preferred_channel",
                CHANNEL_NOT_GIVEN,
                "The preferred channel must be one the victim gave: phone or SMS need a phone number, "
                "e-mail an e-mail address, letter or visit street, postcode and city.",
            )
        )
    return errors


def incident_errors(incident_date: str | None, today: dt.date) -> list[FieldError]:
    """An incident date (`YYYY-MM-DD`, or `YYYY-MM` when the day is not known) after `today` is refused;
    a month is compared as a month (ISO texts of the same length sort as the dates do)."""
    if incident_date is None:
        return []
    if not DAY_OR_MONTH.accepts(incident_date):
        # The request type's pattern lets a day the calendar lacks through (2026-02-30); it is no date.
        return [FieldError("incident_date", DAY_OR_MONTH.code, "Expected a date as YYYY-MM-DD or YYYY-MM")]
    if incident_date > today.isoformat()[: len(incident_date)]:
        return [
            FieldError("incident_date", INCIDENT_IN_FUTURE, "The incident date must not lie in the future.")
        ]
    return []


def offence_errors(offence: OffenceCategory | None) -> list[FieldError]:
    """The legacy area "sexual offence, not further specified" only describes referrals recorded before
    the split; the officer knows which of the three sexual offence areas applies, so it is refused."""
    if offence is None or offence in SELECTABLE_OFFENCES:
        return []
    return [
        FieldError(
            "offence_category",
            OFFENCE_NOT_SELECTABLE,
            "Please choose sexual abuse of children, rape or sexual assault, or another sexual offence.",
        )
    ]


def _split_incident(incident_date: str) -> tuple[str, str | None]:
    """Stored as the month (plain, for the statistics) and the day if known (encrypted)."""
    return incident_date[:7], incident_date if len(incident_date) == len("YYYY-MM-DD") else None


async def create_referral(ctx: ReferralContext, data: ReferralCreate) -> Referral:
    now = ctx.now()
    _check_consent(data, ctx.policy, now)
    errors = (
        contact_errors(_victim_values(data.victim))
        + offence_errors(data.offence_category)
        + incident_errors(data.incident_date, ctx.policy.today())
    )
    if errors:
        raise RequestValidationError(errors)
    incident_month, incident_day = _split_incident(data.incident_date)
    branch_id = await repository.branch_for_postcode(ctx.session, data.victim.postcode)
    referral = Referral(
        reference="",  # taken last, just before the insert (below)
        status=ReferralStatus.SUBMITTED,
        referring_station_id=ctx.principal.unit_id,
        referring_officer_id=ctx.principal.user_id,
        branch_id=branch_id,
        offence_category=data.offence_category,
        hate_crime=data.hate_crime,
        incident_month=incident_month,
        requested_support=codes(data.requested_support),
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
        incident_date=incident_day,
        case_number=data.case_number,
    )
    _index(referral, ctx.keys, phone=data.victim.phone, email=data.victim.email, case_number=data.case_number)
    referral.repeat_of_id = await _repeat_of(ctx, referral, data.victim.phone, data.victim.email)
    # Last before the insert: concurrent creations wait for each other's counter row until commit.
    year = ctx.policy.today().year
    sequence = await references.allocate_next(ctx.session, ReferralReferenceCounter, year)
    referral.reference = references.format_reference(REFERENCE_PREFIX, year, sequence)
    ctx.session.add(referral)
    await ctx.session.flush()
    # The first entry of the timeline; not a step of the state machine, so no `move`.
    await repository.add_transition(
        ctx.session,
        ReferralTransition(
            referral_id=referral.id,
            action="submit",
            from_status="",
            to_status=referral.status,
            actor_id=ctx.principal.user_id,
            at=now,
        ),
    )
    await audit(
        ctx,
        ReferralAuditAction.REFERRAL_CREATE,
        referral,
        routed_to="branch" if branch_id else "state_office",
        repeat_hint=referral.repeat_of_id is not None,
    )
    await notifications.arrived(ctx.session, referral, now=now, actor_id=ctx.principal.user_id)
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
    referral = await locked(ctx, referral_id)
    if not correctable(referral):
        raise InvalidTransitionError("A referral can be corrected only until it has been accepted.")
    now = ctx.now()
    key = await ctx.keys.get(ctx.session, key_id(referral))
    victim = data.victim or VictimUpdate()
    given = {name: value for name, value in _victim_values(victim).items() if value is not None}
    errors = offence_errors(data.offence_category) + incident_errors(data.incident_date, ctx.policy.today())
    if (set(given) | set(clear)) & {*CONTACT_FIELDS, "preferred_channel"}:
        # How the victim can be reached once the correction is made: emptying the last way is refused.
        after = {
            **open_fields(referral, key, [*CONTACT_FIELDS, "preferred_channel"]),
            **given,
            **dict.fromkeys(clear),
        }
        errors = contact_errors(after) + errors
    if errors:
        raise RequestValidationError(errors)
    changed: list[str] = []
    sealed: dict[str, str | None] = dict(given)
    for name, value in (("circumstances", data.circumstances), ("case_number", data.case_number)):
        if value is not None:
            sealed[name] = value
    if data.incident_date is not None:
        referral.incident_month, sealed["incident_date"] = _split_incident(data.incident_date)
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
        "urgency": data.urgency,
        "hate_crime": data.hate_crime,
        "requested_support": None if data.requested_support is None else codes(data.requested_support),
    }
    for name, value in plain.items():
        if value is not None:
            setattr(referral, name, value)
            changed.append(name)
    moved = False
    if victim.postcode is not None:
        # A corrected postcode may belong to another branch; nobody has accepted the case yet.
        branch_id = await repository.branch_for_postcode(ctx.session, victim.postcode)
        moved = branch_id != referral.branch_id
        referral.branch_id = branch_id
    referral.updated_at = now
    await audit(ctx, ReferralAuditAction.REFERRAL_UPDATE, referral, fields=sorted(set(changed)))
    if moved:
        await notifications.arrived(ctx.session, referral, now=now, actor_id=ctx.principal.user_id)
    return referral


def _check_consent(data: ReferralCreate, policy: ReferralPolicy, now: dt.datetime) -> None:
    given_at = data.consent.given_at
    if given_at.tzinfo is None:
        raise ConsentInvalidError("The time of consent must include a time zone.")
    if given_at > now + dt.timedelta(minutes=5):
        raise ConsentInvalidError("Consent cannot be given in the future.")
    if given_at < now - policy.consent_max_age:
        raise ConsentInvalidError("The consent is too old; please record the victim's consent anew.")


def _victim_values(victim: Victim | VictimUpdate) -> dict[str, str | None]:
    return {
        "victim_name": victim.name,
        "postcode": victim.postcode,
        "phone": victim.phone,
        "email": victim.email,
        "street_address": victim.street_address,
        "city": victim.city,
        "preferred_channel": None if victim.preferred_channel is None else str(victim.preferred_channel),
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
            key = await ctx.keys.get(ctx.session, key_id(candidate))
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


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()
