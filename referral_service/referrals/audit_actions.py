"""What the referral domain records in the audit log; each state transition has its own action."""

from __future__ import annotations

from collections.abc import Mapping

from referral_service.audit.actions import AuditAction
from referral_service.referrals.domain import ReferralAction


class ReferralAuditAction(AuditAction):
    REFERRAL_ACCEPT = "referral:referral:accept"
    REFERRAL_ASSIGN = "referral:referral:assign"
    REFERRAL_CLOSE = "referral:referral:close"
    REFERRAL_CREATE = "referral:referral:create"
    REFERRAL_DECLINE = "referral:referral:decline"
    REFERRAL_ESCALATE = "referral:referral:escalate"
    # Earlier years loaded from a file (counts per status in the details; `referral-service import`).
    REFERRAL_IMPORT = "referral:referral:import"
    # A list page opened the recognition fields of its rows (ids and field names in the details).
    REFERRAL_LIST_READ = "referral:referral:list_read"
    # A filtered list was downloaded as CSV (filter names and row count in the details).
    REFERRAL_LIST_EXPORT = "referral:referral:list_export"
    REFERRAL_READ = "referral:referral:read"
    REFERRAL_RECORD_CONTACT_ATTEMPT = "referral:referral:record_contact_attempt"
    REFERRAL_RECORD_FIRST_CONTACT = "referral:referral:record_first_contact"
    REFERRAL_ROUTE = "referral:referral:route"
    REFERRAL_UPDATE = "referral:referral:update"
    REFERRAL_WITHDRAW_CONSENT = "referral:referral:withdraw_consent"
    REPORT_READ = "report:cooperation:read"
    RETENTION_ERASE = "retention:referral:erase"


_A = ReferralAuditAction
TRANSITION_ACTIONS: Mapping[ReferralAction, ReferralAuditAction] = {
    ReferralAction.ACCEPT: _A.REFERRAL_ACCEPT,
    ReferralAction.ASSIGN: _A.REFERRAL_ASSIGN,
    ReferralAction.DECLINE: _A.REFERRAL_DECLINE,
    ReferralAction.ROUTE: _A.REFERRAL_ROUTE,
    ReferralAction.RECORD_CONTACT_ATTEMPT: _A.REFERRAL_RECORD_CONTACT_ATTEMPT,
    ReferralAction.RECORD_FIRST_CONTACT: _A.REFERRAL_RECORD_FIRST_CONTACT,
    ReferralAction.CLOSE: _A.REFERRAL_CLOSE,
    ReferralAction.WITHDRAW_CONSENT: _A.REFERRAL_WITHDRAW_CONSENT,
}
