"""What the complaints domain records in the audit log; each state transition has its own action."""

from __future__ import annotations

from collections.abc import Mapping

from complaints.domain import ComplaintAction
from referral_service.audit.actions import AuditAction


class ComplaintAuditAction(AuditAction):
    ACCESS_CLOSE = "complaint:access:close"
    ACCESS_OPEN = "complaint:access:open"
    ATTACHMENT_CREATE = "complaint:attachment:create"
    ATTACHMENT_READ = "complaint:attachment:read"
    COMPLAINT_ASSIGN = "complaint:complaint:assign"
    COMPLAINT_CLOSE = "complaint:complaint:close"
    COMPLAINT_COMPLETE_TRIAGE = "complaint:complaint:complete_triage"
    COMPLAINT_CREATE = "complaint:complaint:create"
    COMPLAINT_DECIDE = "complaint:complaint:decide"
    COMPLAINT_EXPORT = "complaint:complaint:export"
    COMPLAINT_FORWARD = "complaint:complaint:forward"
    COMPLAINT_IMPORT = "complaint:complaint:import"
    COMPLAINT_READ = "complaint:complaint:read"
    COMPLAINT_RECEIVE_STATEMENT = "complaint:complaint:receive_statement"
    COMPLAINT_REQUEST_STATEMENT = "complaint:complaint:request_statement"
    COMPLAINT_RESUME = "complaint:complaint:resume"
    COMPLAINT_START_TRIAGE = "complaint:complaint:start_triage"
    COMPLAINT_SUBMIT = "complaint:complaint:submit"
    COMPLAINT_TRIAGE = "complaint:complaint:triage"
    COMPLAINT_WITHDRAW = "complaint:complaint:withdraw"
    DECISION_DRAFT = "complaint:decision:draft"
    MESSAGE_CREATE = "complaint:message:create"
    MESSAGE_READ = "complaint:message:read"
    REPORT_READ = "report:complaints_annual:read"
    RETENTION_ERASE = "retention:complaint:erase"
    STATEMENT_REQUEST_ANSWER = "complaint:statement_request:answer"
    STATEMENT_REQUEST_APPROVE_DISCLOSURE = "complaint:statement_request:approve_disclosure"
    STATEMENT_REQUEST_CREATE = "complaint:statement_request:create"
    STATEMENT_REQUEST_READ = "complaint:statement_request:read"


_A = ComplaintAuditAction
TRANSITION_ACTIONS: Mapping[ComplaintAction, ComplaintAuditAction] = {
    ComplaintAction.START_TRIAGE: _A.COMPLAINT_START_TRIAGE,
    ComplaintAction.COMPLETE_TRIAGE: _A.COMPLAINT_COMPLETE_TRIAGE,
    ComplaintAction.REQUEST_STATEMENT: _A.COMPLAINT_REQUEST_STATEMENT,
    ComplaintAction.RECEIVE_STATEMENT: _A.COMPLAINT_RECEIVE_STATEMENT,
    ComplaintAction.RESUME: _A.COMPLAINT_RESUME,
    ComplaintAction.DECIDE: _A.COMPLAINT_DECIDE,
    ComplaintAction.CLOSE: _A.COMPLAINT_CLOSE,
    ComplaintAction.FORWARD: _A.COMPLAINT_FORWARD,
    ComplaintAction.WITHDRAW: _A.COMPLAINT_WITHDRAW,
}
