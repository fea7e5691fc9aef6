"""Every permission of the service, and the one mapping that grants them to roles.

Permissions are named `"<domain>:<resource>:<action>"` and kept sorted by value (a test checks it).
Every route declares the one permission it needs (`opt={"permission": Permission.X}`) or is marked
public; object scope (which records) is applied separately, inside the repository query.

`docs/permissions.md` is generated from this module (`python -m referral_service.identity.permissions_doc`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

from referral_service.identity.roles import Role


class Permission(StrEnum):
    AUDIT_CHECKPOINT_READ = "audit:checkpoint:read"
    AUDIT_EVENT_EXPORT = "audit:event:export"
    AUDIT_EVENT_READ = "audit:event:read"
    AUDIT_LOG_VERIFY = "audit:log:verify"
    AUDIT_PROOF_READ = "audit:proof:read"
    COMPLAINT_COMPLAINT_APPROVE_DISCLOSURE = "complaint:complaint:approve_disclosure"
    COMPLAINT_COMPLAINT_ASSIGN = "complaint:complaint:assign"
    COMPLAINT_COMPLAINT_BACKDATE = "complaint:complaint:backdate"
    COMPLAINT_COMPLAINT_CLOSE = "complaint:complaint:close"
    COMPLAINT_COMPLAINT_CREATE_STAFF = "complaint:complaint:create_staff"
    COMPLAINT_COMPLAINT_DECIDE = "complaint:complaint:decide"
    COMPLAINT_COMPLAINT_DRAFT_DECISION = "complaint:complaint:draft_decision"
    COMPLAINT_COMPLAINT_EXPORT = "complaint:complaint:export"
    COMPLAINT_COMPLAINT_LIST = "complaint:complaint:list"
    COMPLAINT_COMPLAINT_MESSAGE = "complaint:complaint:message"
    COMPLAINT_COMPLAINT_READ = "complaint:complaint:read"
    COMPLAINT_COMPLAINT_REQUEST_STATEMENT = "complaint:complaint:request_statement"
    COMPLAINT_COMPLAINT_TRIAGE = "complaint:complaint:triage"
    COMPLAINT_STATEMENT_REQUEST_ANSWER = "complaint:statement_request:answer"
    COMPLAINT_STATEMENT_REQUEST_READ = "complaint:statement_request:read"
    IDENTITY_ACCOUNT_MANAGE_OWN = "identity:account:manage_own"
    IDENTITY_KEY_ROTATE = "identity:key:rotate"
    IDENTITY_NOTIFICATION_MANAGE_OWN = "identity:notification:manage_own"
    IDENTITY_NOTIFICATION_EMAIL_READ = "identity:notification_email:read"
    IDENTITY_NOTIFICATION_EMAIL_RELEASE = "identity:notification_email:release"
    IDENTITY_SESSION_MANAGE_OWN = "identity:session:manage_own"
    IDENTITY_SESSION_READ_OWN = "identity:session:read_own"
    IDENTITY_UNIT_MANAGE = "identity:unit:manage"
    IDENTITY_UNIT_READ = "identity:unit:read"
    IDENTITY_USER_CREATE = "identity:user:create"
    IDENTITY_USER_READ = "identity:user:read"
    IDENTITY_USER_UPDATE = "identity:user:update"
    REFERRAL_FEEDBACK_READ = "referral:feedback:read"
    REFERRAL_REFERRAL_ACCEPT = "referral:referral:accept"
    REFERRAL_REFERRAL_ASSIGN = "referral:referral:assign"
    REFERRAL_REFERRAL_CLOSE = "referral:referral:close"
    REFERRAL_REFERRAL_CREATE = "referral:referral:create"
    REFERRAL_REFERRAL_DECLINE = "referral:referral:decline"
    REFERRAL_REFERRAL_EXPORT = "referral:referral:export"
    REFERRAL_REFERRAL_LIST = "referral:referral:list"
    REFERRAL_REFERRAL_READ = "referral:referral:read"
    REFERRAL_REFERRAL_RECORD_CONTACT = "referral:referral:record_contact"
    REFERRAL_REFERRAL_ROUTE = "referral:referral:route"
    REFERRAL_REFERRAL_UPDATE = "referral:referral:update"
    REFERRAL_REFERRAL_WITHDRAW_CONSENT = "referral:referral:withdraw_consent"
    REFERRAL_STATISTICS_READ = "referral:statistics:read"
    REPORT_ACTIVITY_MANAGE = "report:activity:manage"
    REPORT_COMPLAINTS_ANNUAL_READ = "report:complaints_annual:read"
    REPORT_COOPERATION_READ = "report:cooperation:read"

    @property
    def domain(self) -> str:
        return self.value.split(":", 1)[0]


P = Permission

# Every signed-in user may see who they are, end their own session or token, manage their own
# password and second factor, and read and set up their own notifications.
_OWN_ACCOUNT = frozenset(
    {
        P.IDENTITY_SESSION_READ_OWN,
        P.IDENTITY_SESSION_MANAGE_OWN,
        P.IDENTITY_ACCOUNT_MANAGE_OWN,
        P.IDENTITY_NOTIFICATION_MANAGE_OWN,
    }
)

_POLICE_REFERRAL = frozenset(
    {
        P.REFERRAL_REFERRAL_CREATE,
        P.REFERRAL_REFERRAL_LIST,
        P.REFERRAL_REFERRAL_READ,
        P.REFERRAL_REFERRAL_UPDATE,
        P.REFERRAL_REFERRAL_WITHDRAW_CONSENT,
        P.REFERRAL_FEEDBACK_READ,
    }
)

_WR_CASEWORK = frozenset(
    {
        P.REFERRAL_REFERRAL_LIST,
        P.REFERRAL_REFERRAL_READ,
        P.REFERRAL_REFERRAL_ACCEPT,
        P.REFERRAL_REFERRAL_DECLINE,
        P.REFERRAL_REFERRAL_RECORD_CONTACT,
        P.REFERRAL_REFERRAL_CLOSE,
        # the victim may withdraw consent towards WEISSER RING as well as the police.
        P.REFERRAL_REFERRAL_WITHDRAW_CONSENT,
    }
)

_COMPLAINT_CASEWORK = frozenset(
    {
        P.COMPLAINT_COMPLAINT_CREATE_STAFF,
        P.COMPLAINT_COMPLAINT_LIST,
        P.COMPLAINT_COMPLAINT_READ,
        P.COMPLAINT_COMPLAINT_TRIAGE,
        P.COMPLAINT_COMPLAINT_REQUEST_STATEMENT,
        P.COMPLAINT_COMPLAINT_DRAFT_DECISION,
        P.COMPLAINT_COMPLAINT_MESSAGE,
        P.IDENTITY_UNIT_READ,
    }
)

_AUDIT = frozenset(p for p in Permission if p.domain == "audit")
_REPORT_READS = frozenset({P.REPORT_COOPERATION_READ, P.REPORT_COMPLAINTS_ANNUAL_READ})
_IDENTITY_ADMINISTRATION = frozenset(p for p in Permission if p.domain == "identity")

ROLE_GRANTS: Mapping[Role, frozenset[Permission]] = {
    Role.POLICE_OFFICER: _OWN_ACCOUNT | _POLICE_REFERRAL,
    # As an officer for the station or directorate below, plus statistics, plus the statement
    # requests addressed to their unit: the only complaint permissions any police role holds.
    Role.POLICE_SUPERVISOR: _OWN_ACCOUNT
    | _POLICE_REFERRAL
    | {
        P.REFERRAL_STATISTICS_READ,
        P.REFERRAL_REFERRAL_EXPORT,
        P.COMPLAINT_STATEMENT_REQUEST_READ,
        P.COMPLAINT_STATEMENT_REQUEST_ANSWER,
        P.IDENTITY_USER_READ,
        P.IDENTITY_UNIT_READ,
    },
    Role.WR_VOLUNTEER: _OWN_ACCOUNT | _WR_CASEWORK,
    # The lead assigns within the branch, so sees the branch's volunteers (own subtree only).
    Role.WR_BRANCH_LEAD: _OWN_ACCOUNT
    | _WR_CASEWORK
    | {P.REFERRAL_REFERRAL_ASSIGN, P.REFERRAL_REFERRAL_EXPORT, P.IDENTITY_USER_READ, P.IDENTITY_UNIT_READ},
    Role.WR_STATE_OFFICE: _OWN_ACCOUNT
    | {
        P.REFERRAL_REFERRAL_LIST,
        P.REFERRAL_REFERRAL_READ,
        P.REFERRAL_REFERRAL_ROUTE,
        P.REFERRAL_REFERRAL_EXPORT,
        P.REFERRAL_STATISTICS_READ,
        P.REPORT_COOPERATION_READ,
        P.REPORT_ACTIVITY_MANAGE,
        P.IDENTITY_USER_READ,
        P.IDENTITY_UNIT_READ,
    },
    Role.COMPLAINTS_HANDLER: _OWN_ACCOUNT | _COMPLAINT_CASEWORK,
    Role.COMPLAINTS_LEAD: _OWN_ACCOUNT
    | _COMPLAINT_CASEWORK
    | {
        P.COMPLAINT_COMPLAINT_ASSIGN,
        # Entering past years (received, decided, closed dates in the past) changes what the published
        # reports of those years say, so only the lead, who answers for them, may.
        P.COMPLAINT_COMPLAINT_BACKDATE,
        P.COMPLAINT_COMPLAINT_DECIDE,
        P.COMPLAINT_COMPLAINT_CLOSE,
        P.COMPLAINT_COMPLAINT_APPROVE_DISCLOSURE,
        P.COMPLAINT_COMPLAINT_EXPORT,
        P.REPORT_COMPLAINTS_ANNUAL_READ,
    },
    # Never case content: the audit log, aggregated reports, and the directory to interpret the log.
    Role.AUDITOR: _OWN_ACCOUNT | _AUDIT | _REPORT_READS | {P.IDENTITY_USER_READ, P.IDENTITY_UNIT_READ},
    # Never case content: organisations, users and keys, and the state of the notification e-mails.
    Role.ADMIN: _IDENTITY_ADMINISTRATION,
}


def permissions_for(roles: Iterable[Role]) -> frozenset[Permission]:
    granted: set[Permission] = set()
    for role in roles:
        granted |= ROLE_GRANTS[role]
    return frozenset(granted)
