"""The complainant's own access: reference + access code -> a short session; status, replies, messages,
attachments.

A refused attempt must leave its trace although the request fails, so the failure path counts it,
audits it, commits the caller's transaction and only then raises (as staff sign-in does). Unknown
reference, malformed reference and wrong code give one answer after the same work (one keyed hash).

Failures are throttled per client address only. A lock per reference would let anyone who can count
(references are sequential) keep a complainant out of their own case with five wrong codes, and it
buys nothing: 120-bit codes are not guessed however many attempts are allowed (the threat model says
why).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from complaints import access_codes, notifications, repository, schemas
from complaints.attachments import check_attachment, clean_filename, seal_attachment
from complaints.audit_actions import ComplaintAuditAction
from complaints.domain import TERMINAL_STATES, AuthorKind, ComplaintStatus, MessageVisibility
from complaints.errors import (
    AccessDeniedError,
    AccessThrottledError,
    AttachmentLimitError,
    ComplainantSessionError,
    InvalidTransitionError,
)
from complaints.models import ComplainantSession, Complaint, ComplaintAttachment, ComplaintMessage
from complaints.references import normalise_reference
from complaints.service.common import COMPLAINANT, ComplaintContext, audit
from complaints.service.render import attachment_info, public_message
from referral_service.audit.recorder import ANONYMOUS, AuditOutcome
from referral_service.identity import throttle
from referral_service.keys.fields import seal


@dataclass(frozen=True, slots=True)
class ComplainantAccess:
    """The complaint a complainant's session opens (the `complainant` dependency)."""

    session_id: uuid.UUID
    complaint_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class OpenedSession:
    token: str  # returned once; only its SHA-256 is stored
    expires_at: dt.datetime


def _throttle_keys(ctx: ComplaintContext) -> list[throttle.ThrottleKey]:
    # The kernel's throttle (shared with staff sign-in), in a namespace of its own: guessing complaint
    # codes and guessing staff passwords are counted apart.
    client_hash = ctx.audit.get("client_hash")
    if not client_hash:
        return []
    return [throttle.client_key(client_hash, ctx.config.client_throttle, prefix="complaint-client")]


async def open_session(ctx: ComplaintContext, *, reference: str, access_code: str) -> OpenedSession:
    canonical = normalise_reference(reference)
    keys = _throttle_keys(ctx)
    now = ctx.config.now()
    lock = await throttle.remaining_lock(ctx.session, keys, now)
    if lock is not None:
        # This address has failed too often: its code is not even checked, right and wrong get the
        # same answer. Other addresses, the complainant's among them, are not affected.
        await audit(
            ctx,
            action=ComplaintAuditAction.ACCESS_OPEN,
            actor=ANONYMOUS,
            outcome=AuditOutcome.FAILURE,
            details={"reason": "throttled"},
        )
        await ctx.session.commit()
        raise AccessThrottledError(throttle.retry_after_seconds(lock))

    complaint = await repository.complaint_by_reference(ctx.session, canonical) if canonical else None
    ok = await access_codes.verify_access_code(
        complaint.access_code_hash if complaint else None, access_code, ctx.secret
    )
    if complaint is None or not ok:
        for key in keys:
            await throttle.record_failure(ctx.session, key, now)
        await audit(
            ctx,
            action=ComplaintAuditAction.ACCESS_OPEN,
            actor=ANONYMOUS,
            outcome=AuditOutcome.FAILURE,
            target_id=complaint.id if complaint else None,
            details={"reason": "wrong_code" if complaint else "unknown_reference"},
        )
        await ctx.session.commit()
        raise AccessDeniedError()

    # The client key is not cleared: it decays on its own, so a guesser cannot reset it with a code of
    # their own complaint.
    upgraded = not access_codes.is_current(complaint.access_code_hash)
    if upgraded:  # stored before the keyed hash: re-store it now that the code is known
        complaint.access_code_hash = access_codes.hash_access_code(access_code, ctx.secret)
        ctx.session.add(complaint)
    await repository.delete_expired_sessions(ctx.session, complaint.id, now)
    token = access_codes.new_session_token()
    expires_at = now + ctx.config.session_lifetime
    opened = ComplainantSession(
        token_hash=access_codes.token_digest(token),
        complaint_id=complaint.id,
        created_at=now,
        expires_at=expires_at,
    )
    await repository.add(ctx.session, opened)
    await audit(
        ctx,
        action=ComplaintAuditAction.ACCESS_OPEN,
        actor=COMPLAINANT,
        target_id=complaint.id,
        details={"session_id": str(opened.id), **({"access_code_rehashed": True} if upgraded else {})},
    )
    return OpenedSession(token=token, expires_at=expires_at)


async def resolve_session(ctx: ComplaintContext, token: str | None) -> ComplainantAccess:
    if not token or not token.startswith(access_codes.SESSION_PREFIX) or len(token) > 128:
        raise ComplainantSessionError()
    found = await repository.active_complainant_session(
        ctx.session, access_codes.token_digest(token), ctx.config.now()
    )
    if found is None:
        raise ComplainantSessionError()
    return ComplainantAccess(session_id=found.id, complaint_id=found.complaint_id)


async def end_session(ctx: ComplaintContext, access: ComplainantAccess) -> None:
    await repository.delete_session(ctx.session, access.session_id)
    await audit(
        ctx,
        action=ComplaintAuditAction.ACCESS_CLOSE,
        actor=COMPLAINANT,
        target_id=access.complaint_id,
        details={"session_id": str(access.session_id)},
    )


async def own_complaint(
    ctx: ComplaintContext, access: ComplainantAccess, *, for_update: bool = False
) -> Complaint:
    complaint = await repository.get_complaint_unscoped(
        ctx.session, access.complaint_id, for_update=for_update
    )
    if complaint is None:  # pragma: no cover - sessions belong to existing complaints
        raise ComplainantSessionError()
    return complaint


def _refuse_when_finished(complaint: Complaint, action: str) -> None:
    if ComplaintStatus(complaint.status) in TERMINAL_STATES:
        raise InvalidTransitionError(
            "The complaint is finished; please submit a follow-up complaint instead.",
            extra={"current_status": complaint.status, "action": action},
        )


async def post_message(ctx: ComplaintContext, access: ComplainantAccess, body: str) -> schemas.PublicMessage:
    complaint = await own_complaint(ctx, access)
    _refuse_when_finished(complaint, "message")
    key = await ctx.key_of(complaint)
    message = ComplaintMessage(
        complaint_id=complaint.id,
        visibility=MessageVisibility.COMPLAINANT.value,
        author_kind=AuthorKind.COMPLAINANT.value,
        created_at=ctx.config.now(),
    )
    seal(message, key, body=body)
    await repository.add(ctx.session, message)
    await audit(
        ctx,
        action=ComplaintAuditAction.MESSAGE_CREATE,
        actor=COMPLAINANT,
        target_id=complaint.id,
        details={"message_id": str(message.id), "visibility": message.visibility},
    )
    await notifications.complainant_wrote(ctx.session, complaint, now=message.created_at)
    return public_message(message, key)


@dataclass(frozen=True, slots=True)
class Upload:
    """A file as the complainant sent it: its bytes, and the type and name their client declared."""

    content: bytes
    declared_type: str | None
    filename: str | None


async def add_attachments(
    ctx: ComplaintContext, access: ComplainantAccess, uploads: Sequence[Upload]
) -> list[schemas.AttachmentInfo]:
    """Files sent together (the page's form takes several). Each is checked before it is stored, and a
    refused one fails the whole call: the caller's transaction undoes the ones before it. The office
    is told once for all of them."""
    complaint = await own_complaint(ctx, access, for_update=True)
    attached = [
        await _attach(
            ctx,
            complaint,
            content=upload.content,
            declared_type=upload.declared_type,
            filename=upload.filename,
        )
        for upload in uploads
    ]
    # Not for the files sent with the form (`attach_on_submission`): those arrive with the complaint.
    if attached:
        await notifications.complainant_wrote(ctx.session, complaint, now=ctx.config.now())
    return attached


async def add_attachment(
    ctx: ComplaintContext,
    access: ComplainantAccess,
    *,
    content: bytes,
    declared_type: str | None,
    filename: str | None,
) -> schemas.AttachmentInfo:
    """One file (the API's upload); a refused file leaves nothing behind."""
    [attached] = await add_attachments(ctx, access, [Upload(content, declared_type, filename)])
    return attached


async def attach_on_submission(
    ctx: ComplaintContext,
    complaint_id: uuid.UUID,
    *,
    content: bytes,
    declared_type: str | None,
    filename: str | None,
) -> schemas.AttachmentInfo:
    """A file sent with the public form, in the submission's transaction (no complainant session exists
    yet); stored as the complainant's own, under the same checks as `add_attachment`."""
    complaint = await repository.get_complaint_unscoped(ctx.session, complaint_id, for_update=True)
    if complaint is None:  # pragma: no cover - called right after the complaint was stored
        raise ComplainantSessionError()
    return await _attach(ctx, complaint, content=content, declared_type=declared_type, filename=filename)


async def _attach(
    ctx: ComplaintContext,
    complaint: Complaint,
    *,
    content: bytes,
    declared_type: str | None,
    filename: str | None,
) -> schemas.AttachmentInfo:
    _refuse_when_finished(complaint, "attach")
    name = clean_filename(filename)
    detected = check_attachment(content, declared_type, name, ctx.config.max_attachment_bytes)
    if await repository.count_attachments(ctx.session, complaint.id) >= ctx.config.max_attachments:
        raise AttachmentLimitError(f"A complaint can have at most {ctx.config.max_attachments} attachments.")
    key = await ctx.key_of(complaint)
    attachment = ComplaintAttachment(
        complaint_id=complaint.id,
        content_type=detected.value,
        size_bytes=len(content),
        uploaded_by_kind=AuthorKind.COMPLAINANT.value,
        uploaded_at=ctx.config.now(),
    )
    seal_attachment(attachment, key, content=content, filename=name)
    await repository.add(ctx.session, attachment)
    await audit(
        ctx,
        action=ComplaintAuditAction.ATTACHMENT_CREATE,
        actor=COMPLAINANT,
        target_id=complaint.id,
        details={
            "attachment_id": str(attachment.id),
            "content_type": detected.value,
            "size_bytes": len(content),
        },
    )
    return attachment_info(attachment, key)
