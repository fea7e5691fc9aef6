"""Reading the referral forms into the service's input types, with a message per field on bad input.

The readers validate field by field, in the order the fields stand on the page (the error summary lists
the messages in the order they were found), with the value kinds the API applies too, and they apply the
service's own rules that need the clock or several fields (`intake.contact_errors`,
`intake.incident_errors`) so that every error is shown at once. The schema types then check the whole
once more, and the service once again. A reader returns None when something is missing or invalid.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import msgspec

from referral_service.referrals import schemas
from referral_service.referrals.domain import (
    SELECTABLE_OFFENCES,
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
from referral_service.validation import FieldError
from referral_service.values import DAY_OR_MONTH, EMAIL, PHONE, POSTCODE
from referral_service.web.formatting import local_input_value
from referral_service.web.forms import FormInput
from referral_service.web.i18n import N_

# Languages offered in the form; the API takes any ISO 639 code.
VICTIM_LANGUAGES = ("de", "en", "ar", "fa", "fr", "pl", "ro", "ru", "tr", "uk", "vi")
# Form field -> the victim's field in the schema, where the names differ.
_VICTIM_FIELD = {"victim_name": "name"}
# The ways to reach the victim form one group on the page (`contact`), which carries the message when
# none is given; the preferred channel is chosen in the same group.
CONTACT_GROUP = "contact"
# The forms' fields in page order (templates `_consent_fields.html` and `_referral_fields.html`): the
# error summary lists messages in this order, also those the service adds after the readers.
CONSENT_FIELDS = ("consent_given_by", "consent_given_at", "consent_form", "consent_scope")
VICTIM_FIELDS = (
    "victim_name",
    CONTACT_GROUP,
    "street_address",
    "postcode",
    "city",
    "phone",
    "email",
    "preferred_channel",
    "contact_preferences",
    "date_of_birth",
    "language",
    "interpreter_needed",
    "accessibility_needs",
)
CONTENT_FIELDS = (
    "offence_category",
    "hate_crime",
    "incident_date",
    "case_number",
    "circumstances",
    "requested_support",
    "urgency",
)
PAGE_ORDER = ("form", *CONSENT_FIELDS, *VICTIM_FIELDS, *CONTENT_FIELDS)


# --- the consent step and the referral form ---------------------------------------------------------


def read_consent(data: FormInput, ctx: ReferralContext) -> schemas.Consent | None:
    given_by = data.choice("consent_given_by", ConsentGiver)
    given_at = data.local_datetime("consent_given_at", required=True)
    if given_at is not None:
        # Early feedback only; the service decides (and says so with ConsentInvalidError).
        now = ctx.now()
        if given_at > now + dt.timedelta(minutes=5):
            data.error("consent_given_at", N_("referral.error.consent_future"))
        elif given_at < now - ctx.policy.consent_max_age:
            data.error("consent_given_at", N_("referral.error.consent_too_old"))
    form = data.choice("consent_form", ConsentForm)
    if not data.flag("consent_scope"):
        data.error("consent_scope", N_("referral.error.consent_scope"))
    if given_by is None or given_at is None or form is None or not data.ok:
        return None
    return schemas.Consent(
        given_by=given_by,
        given_at=given_at,
        form=form,
        scope=ConsentScope.TRANSFER_TO_WR_FOR_CONTACT_AND_SUPPORT,
    )


def _victim_fields(data: FormInput) -> dict[str, Any]:
    """The victim's fields that the police enter and may correct, by form field name, in page order."""
    fields: dict[str, Any] = {
        "victim_name": data.text("victim_name", required=True),
        "street_address": data.text("street_address"),
        "postcode": data.value("postcode", POSTCODE, required=True),
        "city": data.text("city"),
        "phone": data.value("phone", PHONE),
        "email": data.value("email", EMAIL),
        "preferred_channel": data.choice("preferred_channel", ContactChannel, required=False),
    }
    # The service's rule, on what was typed: a wrongly written phone number is a phone number given (its
    # own message says what is wrong), not a missing way to reach the victim.
    typed = {name: data.values.get(name) for name in intake.CONTACT_FIELDS}
    show_field_errors(
        data, intake.contact_errors({**typed, "preferred_channel": fields["preferred_channel"]}, "")
    )
    fields |= {
        "contact_preferences": data.text("contact_preferences"),
        "date_of_birth": data.date("date_of_birth"),
    }
    return fields


def _language_fields(data: FormInput) -> dict[str, Any]:
    return {
        "language": data.text("language", max_length=3, pattern=r"[a-z]{2,3}") or "de",
        "interpreter_needed": data.flag("interpreter_needed"),
    }


def _offence_fields(data: FormInput, ctx: ReferralContext) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "offence_category": data.choice("offence_category", OffenceCategory),
        "hate_crime": data.flag("hate_crime"),
    }
    fields["incident_date"] = incident_date = data.value("incident_date", DAY_OR_MONTH, required=True)
    show_field_errors(data, intake.incident_errors(incident_date, ctx.policy.today()))
    return fields | {
        "case_number": data.text("case_number", max_length=40, pattern=r".{3,40}"),
        "circumstances": data.text("circumstances", required=True, max_length=10_000),
        "requested_support": data.choices("requested_support", SupportKind),
        "urgency": data.choice("urgency", Urgency),
    }


def _victim(fields: dict[str, Any]) -> dict[str, Any]:
    return {_VICTIM_FIELD.get(name, name): value for name, value in fields.items()}


def read_referral(
    data: FormInput, consent: schemas.Consent | None, ctx: ReferralContext
) -> schemas.ReferralCreate | None:
    victim_fields = _victim_fields(data)
    victim = _victim(
        victim_fields | _language_fields(data) | {"accessibility_needs": data.text("accessibility_needs")}
    )
    fields = _offence_fields(data, ctx)
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


def page_field(api_field: str) -> str:
    """The form field an API field error concerns: `victim.name` -> `victim_name`, `victim.city` -> `city`."""
    name = api_field.removeprefix("victim.")
    return next((page for page, schema in _VICTIM_FIELD.items() if schema == name), name)


def show_field_errors(data: FormInput, errors: Iterable[FieldError]) -> None:
    """The service's field errors next to the page's fields (a missing way to reach the victim at the
    group of contact fields), with the catalogue's message by the error's code."""
    for error in errors:
        name = CONTACT_GROUP if error.code == intake.CONTACT_REQUIRED else page_field(error.field)
        data.error(name, f"referral.error.{error.code}")


def in_page_order(errors: dict[str, str]) -> dict[str, str]:
    """The messages as the fields stand on the page, for the error summary: a refusal by the service
    comes after the readers' messages, but its field may stand before theirs."""
    rank = {name: index for index, name in enumerate(PAGE_ORDER)}
    return dict(sorted(errors.items(), key=lambda item: rank.get(item[0], len(rank))))


def form_context(data: FormInput | None, ctx: ReferralContext, **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"urgency": Urgency.NORMAL.value, "language": "de"}
    if data is None:
        values["consent_given_at"] = local_input_value(ctx.now())
    else:
        values.update(data.values)
    return {
        "values": values,
        "errors": in_page_order(data.errors) if data else {},
        "consent_givers": options("referral.consent_giver", list(ConsentGiver)),
        "consent_forms": options("referral.consent_form", list(ConsentForm)),
        **content_options(),
        "victim_languages": options("language", VICTIM_LANGUAGES),
        **extra,
    }


def content_options(offence: str | None = None) -> dict[str, list[tuple[str, str]]]:
    """The choices of the content fields, shared by the new referral and the correction. `offence` is the
    correction's current area: a referral recorded before the split keeps its legacy area offered, so
    correcting another field does not force a choice the officer may not be able to make."""
    offences = [*SELECTABLE_OFFENCES]
    if offence == OffenceCategory.SEXUAL_OFFENCE_UNSPECIFIED:
        offences.append(OffenceCategory.SEXUAL_OFFENCE_UNSPECIFIED)
    return {
        "channels": options("referral.channel", PREFERRED_CHANNELS),
        "offences": options("referral.offence", offences),
        "supports": options("referral.support", list(SupportKind)),
        "urgencies": options("referral.urgency", list(Urgency)),
    }


# The preferred channels offered, in the order of the contact fields they need.
PREFERRED_CHANNELS = (
    ContactChannel.LETTER,
    ContactChannel.VISIT,
    ContactChannel.PHONE,
    ContactChannel.SMS,
    ContactChannel.EMAIL,
)


# --- the correction by the police ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Correction:
    """What the officer changed: new values, and optional fields they emptied."""

    update: schemas.ReferralUpdate
    clear: frozenset[str]

    @property
    def empty(self) -> bool:
        return not self.clear and not msgspec.to_builtins(self.update)


def german_day_or_month(value: str) -> str:
    """`2026-11-14` -> `14.11.2026`, `2026-11` -> `11.2026`: as the form's hint asks for it."""
    return ".".join(reversed(value.split("-")))


def correction_values(current: schemas.ReferralDetail) -> dict[str, Any]:
    """The current content as the correction form's values (what `FormInput.values` holds after a post)."""
    victim = current.victim
    return {
        "victim_name": victim.name or "",
        "street_address": victim.street_address or "",
        "postcode": victim.postcode or "",
        "city": victim.city or "",
        "phone": victim.phone or "",
        "email": victim.email or "",
        "preferred_channel": victim.preferred_channel.value if victim.preferred_channel else "",
        "contact_preferences": victim.contact_preferences or "",
        "date_of_birth": victim.date_of_birth or "",
        "accessibility_needs": victim.accessibility_needs or "",
        "offence_category": current.offence_category.value,
        "hate_crime": current.hate_crime,
        "incident_date": german_day_or_month(current.incident_date),
        "case_number": current.case_number or "",
        "circumstances": current.circumstances or "",
        "requested_support": [kind.value for kind in current.requested_support],
        "urgency": current.urgency.value,
    }


def _same(posted: Any, current: Any) -> bool:
    if isinstance(posted, list) and isinstance(current, list):
        return set(posted) == set(current)
    return bool(posted == current)


def read_correction(
    data: FormInput, current: schemas.ReferralDetail, ctx: ReferralContext
) -> Correction | None:
    """The fields the officer changed against the current content; only those are sent, so a field
    left as it was (e.g. the postcode, which routes the referral) is not written again."""
    victim = _victim_fields(data) | {"accessibility_needs": data.text("accessibility_needs")}
    content = _offence_fields(data, ctx)
    if not data.ok:
        return None
    before = correction_values(current)
    changed = {name for name in [*victim, *content] if not _same(data.values.get(name), before.get(name))}
    if content["incident_date"] == current.incident_date:
        changed.discard("incident_date")  # the same date, written another way (`2026-11-14`)
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


def read_assignee(data: FormInput) -> uuid.UUID | None:
    return data.uuid_choice("assignee_id")


def read_branch(data: FormInput) -> uuid.UUID | None:
    return data.uuid_choice("branch_id")


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
