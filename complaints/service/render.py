"""Small renderers shared by the views and the services that answer with what they just stored."""

from __future__ import annotations

from complaints import schemas
from complaints.attachments import AttachmentType
from complaints.domain import AuthorKind
from complaints.models import ComplaintAttachment, ComplaintMessage
from crypto import DataKey
from referral_service.keys.fields import open_fields


def public_message(message: ComplaintMessage, key: DataKey) -> schemas.PublicMessage:
    return schemas.PublicMessage(
        id=message.id,
        author="complainant" if message.author_kind == AuthorKind.COMPLAINANT.value else "office",
        body=open_fields(message, key, ["body"])["body"] or "",
        created_at=message.created_at,
    )


def attachment_info(row: ComplaintAttachment, key: DataKey) -> schemas.AttachmentInfo:
    return schemas.AttachmentInfo(
        id=row.id,
        filename=open_fields(row, key, ["filename"])["filename"] or "",
        content_type=AttachmentType(row.content_type).value,
        size_bytes=row.size_bytes,
        uploaded_at=row.uploaded_at,
    )
