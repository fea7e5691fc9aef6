"""Historical entry: the dates a complaint was received, decided and closed, given in the past.

The office enters earlier years (letters, files) so that their annual reports can be produced; those
complaints were received, decided and closed back then, and the reports count by these dates. Only
holders of `complaint:complaint:backdate` (the lead) may give them: a past date changes what a year's
published figures say. A given date is never in the future, never before the office opened
(`ComplaintsConfig.office_opened_on`, in the office's calendar), and the dates keep their order
received <= decided <= closed. What was refused is refused as field errors (422 with `errors`), before
anything is written.

A given date counts as back-dated (even one a minute ago): the audit event of the step then carries
`backdated: true` and the names of the back-dated fields, never the dates themselves (they are on the
complaint), and never free text. The transition rows and `updated_at` keep the moment of entry: they
tell when the office recorded the step, the complaint's dates when it happened.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from complaints.config import ComplaintsConfig
from complaints.errors import LeadOnlyError
from complaints.service.common import ComplaintContext
from referral_service.identity.permissions import Permission
from referral_service.validation import FieldError, RequestValidationError

DATE_IN_FUTURE = "complaint.date_in_future"
BEFORE_OFFICE_OPENED = "complaint.before_office_opened"
DATE_ORDER = "complaint.date_order"


def require_permission(ctx: ComplaintContext, given: Sequence[str]) -> None:
    """Refuse past dates (403) unless the caller may back-date; `given` names the fields that carry one."""
    if given and not ctx.staff.has(Permission.COMPLAINT_COMPLAINT_BACKDATE):
        raise LeadOnlyError("Only the lead of the office enters past dates.")


def date_errors(
    config: ComplaintsConfig,
    field: str,
    moment: dt.datetime,
    *,
    not_before: tuple[str, dt.datetime] | None = None,
) -> list[FieldError]:
    """What is wrong with a back-dated `moment` for `field`: in the future, before the office opened, or
    before the date it follows (`not_before`: that field's name and value). Pure, for forms and the API."""
    errors: list[FieldError] = []
    if moment > config.now():
        errors.append(FieldError(field, DATE_IN_FUTURE, "The date must not lie in the future."))
    if config.local_date(moment) < config.office_opened_on:
        errors.append(
            FieldError(
                field,
                BEFORE_OFFICE_OPENED,
                f"The date must not lie before the office opened ({config.office_opened_on.isoformat()}).",
            )
        )
    if not_before is not None and moment < not_before[1]:
        errors.append(FieldError(field, DATE_ORDER, f"The date must not lie before {not_before[0]}."))
    return errors


def checked(
    ctx: ComplaintContext,
    field: str,
    moment: dt.datetime | None,
    *,
    not_before: tuple[str, dt.datetime] | None = None,
) -> dt.datetime:
    """The moment to store for `field`: the given past one, checked (403 without the permission, 422
    when wrong), or now when none is given."""
    if moment is None:
        return ctx.config.now()
    require_permission(ctx, [field])
    errors = date_errors(ctx.config, field, moment, not_before=not_before)
    if errors:
        raise RequestValidationError(errors)
    return moment.astimezone(dt.UTC)


def audit_details(given: Sequence[str]) -> dict[str, Any]:
    """What a step's audit event says about back-dating: nothing when no date was given."""
    return {"backdated": True, "backdated_fields": sorted(given)} if given else {}
