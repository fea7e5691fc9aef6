"""Referral errors with stable codes; the kind decides the HTTP status (referral_service/problems.py)."""

from __future__ import annotations

from referral_service.problems import DomainError, ErrorKind


class ReferralNotFoundError(DomainError):
    code = "referral.not_found"
    kind = ErrorKind.NOT_FOUND
    title = "Referral not found"


class InvalidTransitionError(DomainError):
    code = "referral.invalid_transition"
    kind = ErrorKind.CONFLICT
    title = "This step is not possible in the referral's current state"


class ConsentInvalidError(DomainError):
    code = "referral.consent_invalid"
    kind = ErrorKind.INVALID
    title = "The consent record is missing or not valid"


class ReferralInvalidError(DomainError):
    code = "referral.invalid"
    kind = ErrorKind.INVALID
    title = "The referral contains invalid values"


class InvalidAssigneeError(DomainError):
    code = "referral.invalid_assignee"
    kind = ErrorKind.INVALID
    title = "The assignee does not work cases in this branch"


class UnknownBranchError(DomainError):
    code = "referral.unknown_branch"
    kind = ErrorKind.INVALID
    title = "No such WEISSER RING branch"


class SupportRequiredError(DomainError):
    code = "referral.support_required"
    kind = ErrorKind.INVALID
    title = "Closing as supported requires the support given"


class InvalidFilterError(DomainError):
    code = "referral.filter_invalid"
    kind = ErrorKind.INVALID
    title = "A list filter has a value that is not valid"
