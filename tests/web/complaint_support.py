"""Helpers of the complaint page tests: the public form (with or without files), the receipt, the
complainant's page, counting what was stored."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from complaints.models import Complaint, ComplaintAttachment
from tests.complaints.support import DESCRIPTION, PLACE
from tests.web.support import HTML, Client, assert_html, csrf_of, get_page, post_form

REFERENCE = re.compile(r"BS-\d{4}-\d{6}")
CODE = re.compile(r"[0-9A-Z]{4}(?:-[0-9A-Z]{4}){5}")
CASE_LINK = re.compile(r'href="(/beschwerdestelle/beschwerden/[0-9a-f-]{36})"')

# Small files of the accepted kinds, recognisable by their bytes.
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64 + b"Beweisfoto-Albertplatz-4711"
PDF = b"%PDF-1.4\n% Schreiben der Zeugin 0815\n"


def anonymous_form(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "complaint_type": "complaint",
        "complainant_kind": "anonymous",
        "category": "conduct_on_duty",
        "description": DESCRIPTION,
        "incident_date": "2026-11-20",
        "place": PLACE,
    }
    values.update(overrides)
    return values


async def count(engine: AsyncEngine, table: type[Complaint] | type[ComplaintAttachment] = Complaint) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(table))).scalar_one())


async def submit(
    client: Client, *, files: list[tuple[str, tuple[str, bytes, str]]] | None = None, **overrides: Any
) -> Any:
    """The public form as a browser sends it: URL-encoded, or multipart with files."""
    form = await get_page(client, "/beschwerde")
    assert_html(form)
    data = {"_csrf": csrf_of(form.text), **anonymous_form(**overrides)}
    if files is None:
        return await post_form(client, "/beschwerde", data)
    return await client.post("/beschwerde", data=data, files=files, headers=HTML, follow_redirects=False)


async def submitted(client: Client, **overrides: Any) -> tuple[str, str]:
    """Submit; returns (reference, access code) as the receipt shows them."""
    receipt = await submit(client, **overrides)
    assert_html(receipt, 201)
    return receipt_data(receipt.text)


def receipt_data(page_html: str) -> tuple[str, str]:
    reference = REFERENCE.search(page_html)
    code = CODE.search(page_html)
    assert reference
    assert code
    return reference.group(0), code.group(0)


async def open_my_complaint(client: Client, reference: str, code: str) -> Any:
    form = await get_page(client, "/beschwerde/status")
    return await post_form(
        client,
        "/beschwerde/status",
        {"_csrf": csrf_of(form.text), "reference": reference, "access_code": code},
    )
