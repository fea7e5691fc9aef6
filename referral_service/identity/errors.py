"""Identity errors with stable codes. None of them ever carries a password, token, code or username."""

from __future__ import annotations

from typing import Any

from referral_service.problems import DomainError, ErrorKind


class InvalidCredentialsError(DomainError):
    # One answer for unknown user, wrong password, disabled account and missing or wrong one-time
    # code, so that the answer never tells which part was right.
    code = "auth.invalid_credentials"
    kind = ErrorKind.UNAUTHENTICATED
    title = "Invalid credentials"

    def __init__(self) -> None:
        super().__init__("The username, password or one-time code is not correct.")


class LoginThrottledError(DomainError):
    code = "auth.throttled"
    kind = ErrorKind.RATE_LIMITED
    title = "Too many failed sign-in attempts"

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__("Sign-in is locked for a while after repeated failures. Please try again later.")
        self.headers["Retry-After"] = str(max(1, retry_after_seconds))


class NotAuthenticatedError(DomainError):
    code = "auth.unauthenticated"
    kind = ErrorKind.UNAUTHENTICATED
    title = "Authentication required"

    def __init__(self, detail: str | None = None, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail, extra=extra)
        self.headers["WWW-Authenticate"] = 'Bearer realm="referral-service"'


class ForbiddenError(DomainError):
    code = "auth.forbidden"
    kind = ErrorKind.FORBIDDEN
    title = "Not permitted"


class CsrfError(DomainError):
    code = "auth.csrf"
    kind = ErrorKind.FORBIDDEN
    title = "Missing or invalid CSRF token"


class WrongCredentialKindError(DomainError):
    code = "auth.wrong_credential_kind"
    kind = ErrorKind.INVALID
    title = "This request needs a different kind of credential"


class ReauthenticationError(DomainError):
    code = "auth.reauthentication_failed"
    kind = ErrorKind.INVALID
    title = "The current password is not correct"


class TotpCodeError(DomainError):
    code = "auth.totp_invalid"
    kind = ErrorKind.INVALID
    title = "The one-time code is not correct"


class TotpNotPendingError(DomainError):
    code = "auth.totp_not_pending"
    kind = ErrorKind.CONFLICT
    title = "No second-factor enrolment is in progress"


class PasswordPolicyError(DomainError):
    code = "identity.password_policy"
    kind = ErrorKind.INVALID
    title = "The password does not meet the policy"


class UserNotFoundError(DomainError):
    code = "identity.user_not_found"
    kind = ErrorKind.NOT_FOUND
    title = "User not found"


class UnitNotFoundError(DomainError):
    code = "identity.unit_not_found"
    kind = ErrorKind.NOT_FOUND
    title = "Organisation unit not found"


class UsernameTakenError(DomainError):
    code = "identity.username_taken"
    kind = ErrorKind.CONFLICT
    title = "The username is already taken"


class UnitCodeTakenError(DomainError):
    code = "identity.unit_code_taken"
    kind = ErrorKind.CONFLICT
    title = "The unit code is already taken"


class InvalidParentError(DomainError):
    code = "identity.invalid_parent"
    kind = ErrorKind.INVALID
    title = "A unit of this kind cannot be placed there"


class RoleUnitMismatchError(DomainError):
    code = "identity.role_unit_mismatch"
    kind = ErrorKind.INVALID
    title = "The role cannot be held in a unit of this kind"


class RoleConflictError(DomainError):
    code = "identity.role_conflict"
    kind = ErrorKind.CONFLICT
    title = "The roles cannot be combined"


class RoleNotHeldError(DomainError):
    code = "identity.role_not_held"
    kind = ErrorKind.CONFLICT
    title = "The user does not hold this role"


class LastRoleError(DomainError):
    code = "identity.last_role"
    kind = ErrorKind.CONFLICT
    title = "A user keeps at least one role; disable the account instead"


class SelfAdministrationError(DomainError):
    # Not 403: the caller holds the permission; the object (themselves) is what is refused.
    code = "identity.self_administration"
    kind = ErrorKind.CONFLICT
    title = "Administrators cannot change their own account this way"


class InvalidUsernameError(DomainError):
    code = "identity.invalid_username"
    kind = ErrorKind.INVALID
    title = "Usernames are 3 to 64 characters: lower-case letters, digits, '.', '_' and '-'"


class InvalidUnitCodeError(DomainError):
    code = "identity.invalid_unit_code"
    kind = ErrorKind.INVALID
    title = "Unit codes are 2 to 32 characters: lower-case letters, digits and '-'"
