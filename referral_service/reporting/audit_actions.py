"""What the reporting area records in the audit log. Each report's own `report:<kind>:read` is
declared by the domain that provides the report."""

from __future__ import annotations

from referral_service.audit.actions import AuditAction


class ReportingAuditAction(AuditAction):
    ACTIVITY_CREATE = "report:activity:create"
    ACTIVITY_DELETE = "report:activity:delete"
    ACTIVITY_READ = "report:activity:read"
