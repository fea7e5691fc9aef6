"""Forms with files (`multipart/form-data`), read in memory, and the attachment checks before storing.

Litestar's form parser spools a file larger than 1 MiB to a temporary file on disk, where it would
lie in plaintext; attachments are personal data and only ever stored encrypted. These
forms are therefore read whole into memory, bounded by the body cap of the router that mounts them,
and split into fields and files here. The form token is then checked against the fields read here
(`check_public_form_token(request, form.fields)`), never by a second parse of the body.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from litestar import Request
from litestar.datastructures import FormMultiDict
from litestar.exceptions import ClientException
from multipart import (  # type: ignore[import-untyped]
    MultipartSegment,
    ParserError,
    ParserLimitReached,
    PushMultipartParser,
)

from complaints.attachments import check_attachment, clean_filename
from complaints.config import ComplaintsConfig
from complaints.errors import AttachmentLimitError
from complaints.pages.common import error_key, size_text
from referral_service.problems import DomainError
from referral_service.web.forms import FormInput
from referral_service.web.i18n import language_of
from referral_service.web.security import FORM_COOKIE, FormTokenError

MULTIPART = "multipart/form-data"
# The file input of the complaint form and of the complainant's page.
ATTACHMENTS = "attachments"
# A complaint form has about fifteen fields; anything far beyond is not one of our forms.
_MAX_PARTS = 64
# What a part's headers and boundaries add to a file's bytes (for the routers' body caps).
PART_OVERHEAD_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class UploadedFile:
    filename: str  # as the browser sent it; the service cleans it
    content_type: str | None
    content: bytes


@dataclass(frozen=True, slots=True)
class PostedForm:
    fields: FormMultiDict
    files: dict[str, list[UploadedFile]] = field(default_factory=dict)

    def files_of(self, name: str) -> list[UploadedFile]:
        """The files chosen in one file input (a browser sends an empty part when none is chosen)."""
        return [item for item in self.files.get(name, []) if item.content or item.filename]


async def read_posted_form(request: Request[Any, Any, Any]) -> PostedForm:
    """The posted fields and files; a form without files (URL-encoded) reads as usual."""
    content_type, params = request.content_type
    if content_type != MULTIPART:
        return PostedForm(await request.form())
    boundary = params.get("boundary")
    if not boundary:
        raise ClientException("multipart boundary missing in Content-Type")
    if not request.cookies.get(FORM_COOKIE):
        # No form cookie, no valid token: refuse before reading up to the body cap into memory.
        raise FormTokenError()
    fields: list[tuple[str, Any]] = []
    files: dict[str, list[UploadedFile]] = {}
    try:
        with PushMultipartParser(boundary.encode("latin-1"), max_segment_count=_MAX_PARTS) as parser:
            segment: MultipartSegment | None = None
            content = bytearray()
            # Fed as it arrives. Litestar enforces the router's body cap on the stream and ends it
            # with an empty chunk, which is what tells the parser the input is complete.
            async for chunk in request.stream():
                for part in parser.parse(chunk):
                    if isinstance(part, MultipartSegment):
                        segment, content = part, bytearray()
                    elif part is not None:
                        content += part
                    elif segment is not None and segment.name:  # the end of a part
                        if segment.filename is not None:
                            item = UploadedFile(segment.filename, segment.content_type, bytes(content))
                            files.setdefault(segment.name, []).append(item)
                        else:
                            # Always UTF-8, whatever charset a part claims: an exotic codec could
                            # smuggle in text (lone surrogates) that breaks later steps.
                            fields.append((segment.name, content.decode("utf-8")))
    except (ParserError, ParserLimitReached, UnicodeError, LookupError, ValueError) as exc:
        raise ClientException("Invalid multipart/form-data") from exc
    return PostedForm(FormMultiDict(fields), files)


def attachment_limits(request: Request[Any, Any, Any], config: ComplaintsConfig) -> dict[str, Any]:
    """The attachment service's limits, for the hint next to a file input."""
    return {
        "count": config.max_attachments,
        "size": size_text(config.max_attachment_bytes, language_of(request)),
    }


def check_files(
    request: Request[Any, Any, Any],
    data: FormInput,
    name: str,
    files: Sequence[UploadedFile],
    config: ComplaintsConfig,
) -> bool:
    """The attachment service's own checks (count, size, type) on the files of a new complaint, before
    anything is written; a refusal goes next to the file input."""
    try:
        if len(files) > config.max_attachments:
            raise AttachmentLimitError()
        for item in files:
            check_attachment(
                item.content, item.content_type, clean_filename(item.filename), config.max_attachment_bytes
            )
    except DomainError as exc:
        data.error(name, error_key(request, exc))
        return False
    return True
