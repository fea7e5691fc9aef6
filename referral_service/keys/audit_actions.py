"""What key management records in the audit log. The values keep the `identity:` scope of the
permission that allows rotation (`identity:key:rotate`)."""

from __future__ import annotations

from referral_service.audit.actions import AuditAction


class KeyAuditAction(AuditAction):
    KEY_RETIRE = "identity:key:retire"
    KEY_ROTATE = "identity:key:rotate"
