"""Attachment checks and encryption: PDF, PNG and JPEG only, recognised by their bytes, sealed whole.

The declared content type and the file name's extension are only accepted when they agree with what
the bytes are; a PNG sent as "application/pdf" or "scan.pdf" is refused (415), as is anything else.
The content is encrypted as one AES-256-GCM value under the complaint's data key, bound to its row and
column like every other field; the file name is encrypted too (it often carries a name).
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum

from complaints.errors import AttachmentTooLargeError, AttachmentTypeError
from complaints.models import ComplaintAttachment
from crypto import DataKey, FieldCipher, FieldContext
from referral_service.keys.fields import seal


class AttachmentType(StrEnum):
    PDF = "application/pdf"
    PNG = "image/png"
    JPEG = "image/jpeg"


_EXTENSIONS: dict[AttachmentType, frozenset[str]] = {
    AttachmentType.PDF: frozenset({".pdf"}),
    AttachmentType.PNG: frozenset({".png"}),
    AttachmentType.JPEG: frozenset({".jpg", ".jpeg"}),
}
_DECLARED_ALIASES = {"image/jpg": AttachmentType.JPEG, "image/pjpeg": AttachmentType.JPEG}
MAX_FILENAME_CHARS = 200


def detect_type(data: bytes) -> AttachmentType | None:
    """What the bytes are, by their signature, or None for anything we do not accept."""
    if data.startswith(b"%PDF-"):
        return AttachmentType.PDF
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return AttachmentType.PNG
    if data.startswith(b"\xff\xd8\xff"):
        return AttachmentType.JPEG
    return None


def clean_filename(raw: str | None) -> str:
    """The file name without any path, control characters or excess length ("" if nothing is left)."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C")
    return name.strip()[:MAX_FILENAME_CHARS]


def check_attachment(data: bytes, declared_type: str | None, filename: str, max_bytes: int) -> AttachmentType:
    """The detected type, or an error: too large (413), empty, unknown or mislabelled (415)."""
    if len(data) > max_bytes:
        raise AttachmentTooLargeError(f"Each file may have at most {max_bytes // (1024 * 1024)} MB.")
    detected = detect_type(data)
    if detected is None:
        raise AttachmentTypeError("The file is not a PDF, PNG or JPEG file.")
    declared = (declared_type or "").split(";", 1)[0].strip().lower()
    try:
        declared_as: AttachmentType | None = AttachmentType(declared)
    except ValueError:
        declared_as = _DECLARED_ALIASES.get(declared)
    if declared and declared != "application/octet-stream" and declared_as is not detected:
        raise AttachmentTypeError("The file's declared type does not match its content.")
    dot = filename.rfind(".")
    extension = filename[dot:].lower() if dot > 0 else ""
    if extension and extension not in _EXTENSIONS[detected]:
        raise AttachmentTypeError("The file name's extension does not match its content.")
    return detected


def _context(row: ComplaintAttachment) -> FieldContext:
    return FieldContext(ComplaintAttachment.__tablename__, "content", str(row.id))


def seal_attachment(row: ComplaintAttachment, key: DataKey, *, content: bytes, filename: str) -> None:
    seal(row, key, filename=filename or None)
    row.content = FieldCipher.encrypt(key, content, _context(row))


def open_attachment(row: ComplaintAttachment, key: DataKey) -> bytes:
    if row.content is None:
        return b""
    return FieldCipher.decrypt(key, row.content, _context(row))
