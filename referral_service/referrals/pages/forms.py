"""Reading the referral forms into the service's input types, with a message per field on bad input.

The readers validate field by field (so the page can say what is wrong where); the schema types then
check the whole once more. A reader returns None when something is missing or invalid.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import msgspec

from referral_service.referrals import schemas
from referral_service.referrals.domain import (
    CloseOutcome,
    ConsentForm,
    ConsentGiver,
    ConsentScope,
    ContactChannel,
    DeclineReason,
    OffenceCategory,
    SupportKind,
    Urgency,
)
from referral_service.referrals.pages.common import options
from referral_service.referrals.service import intake
from referral_service.referrals.service.common import ReferralContext
from referral_service.web.formatting import local_input_value
from referral_service.web.forms import FormInput
from referral_service.web.i18n import N_

# Languages offered in the form; the API takes any ISO 639 code.
VICTIM_LANGUAGES = ("de", "en", "ar", "fa", "fr", "pl", "ro", "ru", "tr", "uk", "vi")
_PHONE = r"[0-9+()/ .\-]{4,32}"
_EMAIL = r"[^@\s]{1,64}@[^@\s]{1,255}"
# Form field -> the victim's field in the schema, where the names differ.
_VICTIM_FIELD = {"victim_name": "name"}


# --- the consent step and the referral form ---------------------------------------------------------


def read_consent(data: FormInput, ctx: ReferralContext) -> schemas.Consent | None:
    given_by = data.choice("consent_given_by", ConsentGiver)
    given_at = data.local_datetime("consent_given_at", required=True)
    form = data.choice("consent_form", ConsentForm)
    if not data.flag("consent_scope"):
        data.error("consent_scope", N_("referral.error.consent_scope"))
    if given_at is not None:
        # Early feedback only; the service decides (and says so with ConsentInvalidError).
        now = ctx.now()
        if given_at > now + dt.timedelta(minutes=5):
            data.error("consent_given_at", N_("referral.error.consent_future"))
        elif given_at < now - ctx.policy.consent_max_age:
            data.error("consent_given_at", N_("referral.error.consent_too_old"))
    if given_by is None or given_at is None or form is None or not data.ok:
        return None
    return schemas.Consent(
        given_by=given_by,
        given_at=given_at,
        form=form,
        scope=ConsentScope.TRANSFER_TO_WR_FOR_CONTACT_AND_SUPPORT,
    )


def _victim_fields(data: FormInput) -> dict[str, Any]:
    """The victim's fields that the police enter and may correct, by form field name."""
    return {
        "victim_name": data.text("victim_name", required=True),
        "postcode": data.text("postcode", required=True, pattern=r"[0-9]{5}"),
        "phone": data.text("phone", max_length=32, pattern=_PHONE),
        "email": data.text("email", max_length=254, pattern=_EMAIL),
        "street_address": data.text("street_address"),
        "city": data.text("city"),
        "date_of_birth": data.date("date_of_birth"),
        "contact_preferences": data.text("contact_preferences"),
        "accessibility_needs": data.text("accessibility_needs"),
    }


def _offence_fields(data: FormInput) -> dict[str, Any]:
    return {
        "offence_category": data.choice("offence_category", OffenceCategory),
        "hate_crime": data.flag("hate_crime"),
        "incident_month": data.month("incident_month", required=True),
        "incident_date": data.date("incident_date"),
        "case_number": data.text("case_number", max_length=40, pattern=r".{3,40}"),
        "circumstances": data.text("circumstances", required=True, max_length=10_000),
        "requested_support": data.choices("requested_support", SupportKind),
        "urgency": data.choice("urgency", Urgency),
    }


def _victim(fields: dict[str, Any]) -> dict[str, Any]:
    return {_VICTIM_FIELD.get(name, name): value for name, value in fields.items()}


def read_referral(data: FormInput, consent: schemas.Consent | None) -> schemas.ReferralCreate | None:
    victim = {
        **_victim(_victim_fields(data)),
        "language": data.text("language", max_length=3, pattern=r"[a-z]{2,3}") or "de",
        "interpreter_needed": data.flag("interpreter_needed"),
    }
    fields = _offence_fields(data)
    if not data.ok or consent is None:
        return None
    payload = {
        "victim": {k: v for k, v in victim.items() if v is not None},
        "consent": consent,
        **{k: v for k, v in fields.items() if v is not None},
    }
    try:
        return msgspec.convert(payload, schemas.ReferralCreate)
    except msgspec.ValidationError:
        data.error("form", N_("referral.error.invalid"))
        return None


def form_context(data: FormInput | None, ctx: ReferralContext, **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"urgency": Urgency.NORMAL.value, "language": "de"}
    if data is None:
        values["consent_given_at"] = local_input_value(ctx.now())
    else:
        values.update(data.values)
    return {
        "values": values,
        "errors": data.errors if data else {},
        "consent_givers": options("referral.consent_giver", list(ConsentGiver)),
        "consent_forms": options("referral.consent_form", list(ConsentForm)),
        **content_options(),
        "victim_languages": options("language", VICTIM_LANGUAGES),
        **extra,
    }


def content_options() -> dict[str, list[tuple[str, str]]]:
    """The choices of the content fields, shared by the new referral and the correction."""
    return {
        "offences": options("referral.offence", list(OffenceCategory)),
        "supports": options("referral.support", list(SupportKind)),
        "urgencies": options("referral.urgency", list(Urgency)),
    }


# --- the correction by the police ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Correction:
    """What the officer changed: new values, and optional fields they emptied."""

    update: schemas.ReferralUpdate
    clear: frozenset[str]

    @property
    def empty(self) -> bool:
        return not self.clear and not msgspec.to_builtins(self.update)


def correction_values(current: schemas.ReferralDetail) -> dict[str, Any]:
    """The current content as the correction form's values (what `FormInput.values` holds after a post)."""
    victim = current.victim
    return {
        "victim_name": victim.name or "",
        "postcode": victim.postcode or "",
        "phone": victim.phone or "",
        "email": victim.email or "",
        "street_address": victim.street_address or "",
        "city": victim.city or "",
        "date_of_birth": victim.date_of_birth or "",
        "contact_preferences": victim.contact_preferences or "",
        "accessibility_needs": victim.accessibility_needs or "",
        "offence_category": current.offence_category.value,
        "hate_crime": current.hate_crime,
        "incident_month": current.incident_month,
        "incident_date": current.incident_date or "",
        "case_number": current.case_number or "",
        "circumstances": current.circumstances or "",
        "requested_support": [kind.value for kind in current.requested_support],
        "urgency": current.urgency.value,
    }


def _same(posted: Any, current: Any) -> bool:
    if isinstance(posted, list) and isinstance(current, list):
        return set(posted) == set(current)
    return bool(posted == current)


def read_correction(data: FormInput, current: schemas.ReferralDetail) -> Correction | None:
    """The fields the officer changed against the current content; only those are sent, so a field
    left as it was (e.g. the postcode, which routes the referral) is not written again."""
    victim = _victim_fields(data)
    content = _offence_fields(data)
    if not data.ok:
        return None
    before = correction_values(current)
    changed = {name for name in [*victim, *content] if not _same(data.values.get(name), before.get(name))}
    # The optional fields are named as their columns; an emptied one is cleared, not left as it was.
    clear = frozenset(
        name for name in changed & intake.CLEARABLE_FIELDS if (victim | content).get(name) is None
    )
    payload: dict[str, Any] = {
        name: value for name, value in content.items() if name in changed and value is not None
    }
    victim_changes = _victim(
        {name: value for name, value in victim.items() if name in changed and value is not None}
    )
    if victim_changes:
        payload["victim"] = victim_changes
    try:
        return Correction(msgspec.convert(payload, schemas.ReferralUpdate), clear)
    except msgspec.ValidationError:
        data.error("form", N_("referral.error.invalid"))
        return None


# --- the WEISSER RING's steps on a case ------------------------------------------------------------


def _uuid_choice(data: FormInput, name: str) -> uuid.UUID | None:
    text = data.text(name, required=True, max_length=36)
    try:
        return uuid.UUID(text) if text else None
    except ValueError:
        data.error(name, N_("form.error.choose"))
        return None


def read_assignee(data: FormInput) -> uuid.UUID | None:
    return _uuid_choice(data, "assignee_id")


def read_branch(data: FormInput) -> uuid.UUID | None:
    return _uuid_choice(data, "branch_id")


def read_decline_reason(data: FormInput) -> DeclineReason | None:
    return data.choice("decline_reason", DeclineReason)


def read_contact_attempt(data: FormInput) -> schemas.ContactAttemptCreate | None:
    channel = data.choice("attempt_channel", ContactChannel)
    at = data.local_datetime("attempted_at")
    return schemas.ContactAttemptCreate(channel=channel, attempted_at=at) if channel else None


def read_first_contact(data: FormInput) -> schemas.FirstContact | None:
    channel = data.choice("contact_channel", ContactChannel)
    at = data.local_datetime("contacted_at")
    return schemas.FirstContact(channel=channel, contacted_at=at) if channel else None


def read_close(data: FormInput) -> schemas.Close | None:
    outcome = data.choice("outcome", CloseOutcome)
    support = data.choices("support_given", SupportKind)
    return schemas.Close(outcome=outcome, support_given=support) if outcome and data.ok else None


def read_withdrawal(data: FormInput) -> bool:
    """Consent withdrawal destroys the data: the form must confirm it."""
    if not data.flag("confirm"):
        data.error("confirm", N_("referral.error.confirm_withdrawal"))
    return True
