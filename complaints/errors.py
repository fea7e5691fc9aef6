"""Complaint errors with stable codes. None of them ever carries a reference, access code or content."""

from __future__ import annotations

from referral_service.problems import DomainError, ErrorKind


class ComplaintNotFoundError(DomainError):
    # Also the answer for a complaint outside the caller's scope: "not found", never "forbidden".
    code = "complaint.not_found"
    kind = ErrorKind.NOT_FOUND
    title = "Complaint not found"


class StatementRequestNotFoundError(DomainError):
    code = "complaint.statement_request_not_found"
    kind = ErrorKind.NOT_FOUND
    title = "Statement request not found"


class AttachmentNotFoundError(DomainError):
    code = "complaint.attachment_not_found"
    kind = ErrorKind.NOT_FOUND
    title = "Attachment not found"


class InvalidTransitionError(DomainError):
    code = "complaint.invalid_transition"
    kind = ErrorKind.CONFLICT
    title = "This step is not possible in the complaint's current state"


class StatementAlreadyAnsweredError(DomainError):
    code = "complaint.statement_already_answered"
    kind = ErrorKind.CONFLICT
    title = "The statement request has already been answered"


class InvalidComplaintError(DomainError):
    """Input that is well-formed but not acceptable (anonymous with a name, a future incident date)."""

    code = "complaint.invalid"
    kind = ErrorKind.INVALID
    title = "The complaint contains invalid values"


class UnknownPoliceUnitError(DomainError):
    code = "complaint.unknown_police_unit"
    kind = ErrorKind.INVALID
    title = "The police unit is not known"


class UnknownReferenceError(DomainError):
    # Staff entry only: the public intake never tells whether a reference exists.
    code = "complaint.unknown_reference"
    kind = ErrorKind.INVALID
    title = "No complaint has this reference"


class InvalidAssigneeError(DomainError):
    code = "complaint.invalid_assignee"
    kind = ErrorKind.INVALID
    title = "Complaints can only be assigned to active staff of the complaints office"


class AlreadyAssignedError(DomainError):
    # Taking is for complaints nobody holds; moving one from a colleague is the lead's assignment.
    code = "complaint.already_assigned"
    kind = ErrorKind.CONFLICT
    title = "The complaint is already assigned to somebody else"


class LeadOnlyError(DomainError):
    # Not the guard's `auth.forbidden`: the route is open to the caller, this one step is not.
    code = "complaint.lead_only"
    kind = ErrorKind.FORBIDDEN
    title = "Only the lead of the complaints office may do this"


class AccessDeniedError(DomainError):
    # One answer for an unknown reference, a malformed one and a wrong access code.
    code = "complaint.access_denied"
    kind = ErrorKind.NOT_FOUND
    title = "No complaint matches this reference and access code"

    def __init__(self) -> None:
        super().__init__("Please check the reference and the access code.")


class AccessThrottledError(DomainError):
    code = "complaint.access_throttled"
    kind = ErrorKind.RATE_LIMITED
    title = "Too many attempts"

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__("Access is locked for a while after repeated failures. Please try again later.")
        self.headers["Retry-After"] = str(max(1, retry_after_seconds))


class ComplainantSessionError(DomainError):
    # Not 401: 401 and 403 belong to the staff guard (see docs/complaints.md).
    code = "complaint.session_invalid"
    kind = ErrorKind.NOT_FOUND
    title = "No complaint is open in this session"

    def __init__(self) -> None:
        super().__init__("Open your complaint again with its reference and access code.")


class AttachmentTooLargeError(DomainError):
    code = "complaint.attachment_too_large"
    kind = ErrorKind.TOO_LARGE
    title = "The attachment is too large"


class AttachmentTypeError(DomainError):
    code = "complaint.attachment_type"
    kind = ErrorKind.UNSUPPORTED_MEDIA_TYPE
    title = "Only PDF, PNG and JPEG files are accepted, and the file must be what it claims to be"


class AttachmentLimitError(DomainError):
    code = "complaint.attachment_limit"
    kind = ErrorKind.CONFLICT
    title = "The complaint already has the maximum number of attachments"


class AttachmentMissingError(DomainError):
    code = "complaint.attachment_missing"
    kind = ErrorKind.INVALID
    title = "Send the file's bytes as the request body"
