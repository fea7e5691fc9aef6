"""The receipt of a new complaint, the citizen's and the office's: the access code in groups, the status
page's full address, the office's contact, and all of it as a text file to keep.

The access code exists in clear only in the answer to the post that created it (only its hash is
stored), so the file is built into that answer as a `data:` URL behind a link with the `download`
attribute: saving it sends nothing to the server, so the code is in no address the browser requests
and in no log line.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from litestar import Request

from complaints.access_codes import GROUP
from complaints.config import OfficeContact
from complaints.pages.complainant import STATUS_PATH
from referral_service.web import formatting
from referral_service.web.i18n import Translator, translator_for


def status_url(request: Request[Any, Any, Any]) -> str:
    """Where complainants check their complaint, as a full address (to write down or print): the
    address this request came in on, so each deployment names itself."""
    return str(request.base_url).rstrip("/") + STATUS_PATH


def code_groups(access_code: str) -> list[str]:
    """The code's groups of four ("7KQ2-M9XD-…"), each shown unbroken."""
    symbols = access_code.replace("-", "")
    return [symbols[i : i + GROUP] for i in range(0, len(symbols), GROUP)]


def receipt_text(
    t: Translator,
    *,
    reference: str,
    access_code: str,
    received_at: dt.datetime,
    status_address: str,
    office: OfficeContact,
) -> str:
    lines = [
        t("complaint.receipt.file.title"),
        "",
        f"{t('complaint.reference')}: {reference}",
        f"{t('complaint.access_code')}: {access_code}",
        f"{t('complaint.receipt.received')}: {formatting.format_datetime(received_at, t)}",
        f"{t('complaint.receipt.status_address')}: {status_address}",
        "",
        f"{t('complaint.receipt.office_title')}:",
        office.name,
        *office.address,
        f"{t('contact.email')} {office.email}",
        *([f"{t('contact.phone')} {office.phone}"] if office.phone else []),
        "",
        t("complaint.receipt.file.keep"),
    ]
    return "\n".join(lines) + "\n"


def receipt_context(
    request: Request[Any, Any, Any],
    office: OfficeContact,
    *,
    reference: str,
    access_code: str,
    received_at: dt.datetime,
) -> dict[str, Any]:
    """What both receipt templates show (see `complaints/_receipt.html`)."""
    t = translator_for(request)
    address = status_url(request)
    text = receipt_text(
        t,
        reference=reference,
        access_code=access_code,
        received_at=received_at,
        status_address=address,
        office=office,
    )
    return {
        "reference": reference,
        "access_code_groups": code_groups(access_code),
        "received_at": received_at,
        "status_url": address,
        "office": office,
        "download_href": "data:text/plain;charset=utf-8," + quote(text, safe=""),
        "download_name": t("complaint.receipt.file.name", reference=reference),
    }
