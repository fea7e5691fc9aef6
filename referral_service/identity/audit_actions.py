"""What the identity area records in the audit log: sign-in, accounts, units, roles, access denials."""

from __future__ import annotations

from referral_service.audit.actions import AuditAction


class IdentityAuditAction(AuditAction):
    ACCESS_DENIED = "identity:access:denied"
    # Sign-in through an OpenID provider (details: provider key and method or refusal reason, never a
    # claim), the end of its sessions by the provider's back-channel logout, and binding a user to a
    # provider's subject (CLI).
    OIDC_BIND = "identity:oidc:bind"
    OIDC_LOGIN = "identity:oidc:login"
    OIDC_LOGOUT = "identity:oidc:logout"
    OIDC_UNBIND = "identity:oidc:unbind"
    ROLE_GRANT = "identity:role:grant"
    ROLE_REVOKE = "identity:role:revoke"
    SESSION_LOGIN = "identity:session:login"
    SESSION_LOGOUT = "identity:session:logout"
    TOKEN_ISSUE = "identity:token:issue"
    TOKEN_REVOKE = "identity:token:revoke"
    TOTP_ENROL = "identity:totp:enrol"
    TOTP_ENROL_START = "identity:totp:enrol_start"
    UNIT_CREATE = "identity:unit:create"
    UNIT_UPDATE = "identity:unit:update"
    USER_CHANGE_PASSWORD = "identity:user:change_password"
    USER_CREATE = "identity:user:create"
    USER_DISABLE = "identity:user:disable"
    USER_ENABLE = "identity:user:enable"
    USER_RESET_PASSWORD = "identity:user:reset_password"
    USER_UPDATE = "identity:user:update"
