"""What notifications record in the audit log: a staff member's address changed, an address decrypted
for sending, an administrator's "send again". Sending itself is not an access to a case and is not
recorded; the notification row keeps its own state."""

from __future__ import annotations

from referral_service.audit.actions import AuditAction


class NotificationAuditAction(AuditAction):
    # A user set or removed their address for notifications, or their e-mail language.
    CONTACT_UPDATE = "notifications:contact:update"
    # The sender decrypted a recipient's address (a complainant's from the complaint, a staff member's).
    ADDRESS_READ = "notifications:address:read"
    # An administrator released a dead or uncertain e-mail for one more attempt.
    EMAIL_RESEND = "notifications:email:resend"
    # A user changed which notifications they get, and how.
    PREFERENCES_UPDATE = "notifications:preferences:update"
