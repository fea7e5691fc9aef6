"""Submitting complaints: bad input is refused with problem details and leaves nothing behind;
attachments are checked by their bytes and stored encrypted; follow-ups; staff entry; rate limits."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from complaints.config import ComplaintsConfig
from referral_service.app import create_app
from referral_service.identity.config import IdentityConfig
from referral_service.identity.roles import Role
from referral_service.settings import Settings
from tests.complaints.support import (
    OFFICE,
    PUBLIC,
    Client,
    anonymous_payload,
    assigned_to_handler,
    audit_events,
    complainant_headers,
    count_rows,
    named_payload,
    problem,
    submit,
)
from tests.identity.support import AuthHeaders, DemoDirectory
from tests.plaintext_scan import assert_nowhere_stored

TABLES = (
    "complaints",
    "data_keys",
    "complaint_attachments",
    "complaint_reference_counters",
    "complaint_messages",
)
PDF = b"%PDF-1.4\n% Geheimes Beweisfoto 4711\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
MB = 1024 * 1024


BAD_SUBMISSIONS: list[tuple[str, dict[str, Any], tuple[int, str]]] = [
    ("oversized description", {"description": "x" * 20_001}, (422, "request.validation")),
    ("empty description", {"description": ""}, (422, "request.validation")),
    ("unknown category", {"category": "brutality"}, (422, "request.validation")),
    ("German label instead of the code", {"category": "Verhalten im Dienst"}, (422, "request.validation")),
    ("wrong type", {"complainant_kind": 5}, (422, "request.validation")),
    ("not a date", {"incident_date": "last tuesday"}, (422, "request.validation")),
    ("not a unit id", {"police_unit_id": "rev-dresden-nord"}, (422, "request.validation")),
    ("unknown field", {"password": "x"}, (422, "request.validation")),
    (
        "bad e-mail",
        {"complainant_kind": "citizen", "name": "A", "email": "no-at"},
        (422, "request.validation"),
    ),
    ("anonymous with a name", {"name": "Erika Mustermann"}, (422, "request.validation")),
    ("anonymous with a phone", {"phone": "0351 1234567"}, (422, "request.validation")),
    (
        "citizen without a name",
        {"complainant_kind": "citizen", "email": "a@b.de"},
        (422, "request.validation"),
    ),
    ("incident tomorrow", {"incident_date": "2026-11-24"}, (422, "request.validation")),
    ("unknown police unit", {"police_unit_id": str(uuid.uuid4())}, (422, "complaint.unknown_police_unit")),
    ("follow-up without reference", {"complaint_type": "follow_up"}, (422, "request.validation")),
    (
        "follow-up with a malformed reference",
        {"complaint_type": "follow_up", "follow_up_of": "Beschwerde vom Mai"},
        (422, "request.validation"),
    ),
    ("reference on a plain complaint", {"follow_up_of": "BS-2026-000001"}, (422, "request.validation")),
]


def field_errors(response: Any) -> list[tuple[str, str]]:
    """(field, code) of each error of a 422 `request.validation`, in the order the API lists them."""
    assert problem(response) == (422, "request.validation")
    return [(error["field"], error["code"]) for error in response.json()["errors"]]


@pytest.mark.parametrize(
    ("change", "expected"), [(c, e) for _, c, e in BAD_SUBMISSIONS], ids=[n for n, _, _ in BAD_SUBMISSIONS]
)
async def test_bad_submissions_are_refused_and_store_nothing(
    client: Client, engine: AsyncEngine, change: dict[str, Any], expected: tuple[int, str]
) -> None:
    before = await count_rows(engine, *TABLES)
    response = await client.post(PUBLIC, json=anonymous_payload(**change))
    assert problem(response) == expected
    assert "Mustermann" not in response.text
    assert await count_rows(engine, *TABLES) == before


async def test_every_intake_rule_is_reported_at_once(client: Client, engine: AsyncEngine) -> None:
    before = await count_rows(engine, *TABLES)
    anonymous = await client.post(
        PUBLIC,
        json=anonymous_payload(
            follow_up_of="BS-2026-000001",
            name="Erika Mustermann",
            phone="0351 1234567",
            incident_date="2026-11-24",
        ),
    )
    assert field_errors(anonymous) == [
        ("follow_up_of", "complaint.not_a_follow_up"),
        ("name", "complaint.anonymous_identity"),
        ("phone", "complaint.anonymous_identity"),
        ("incident_date", "complaint.incident_in_future"),
    ]
    nameless = await client.post(
        PUBLIC,
        json=named_payload(
            name=None, complaint_type="follow_up", follow_up_of=None, incident_date="2027-01-01"
        ),
    )
    assert field_errors(nameless) == [
        ("follow_up_of", "complaint.follow_up_reference"),
        ("name", "complaint.name_required"),
        ("incident_date", "complaint.incident_in_future"),
    ]
    assert await count_rows(engine, *TABLES) == before


async def test_a_body_missing_most_fields_names_every_missing_field(
    client: Client, engine: AsyncEngine, auth_headers: AuthHeaders
) -> None:
    before = await count_rows(engine, *TABLES)
    public = await client.post(PUBLIC, json={"place": "Albertplatz"})
    assert field_errors(public) == [
        ("complainant_kind", "value.required"),
        ("category", "value.required"),
        ("description", "value.required"),
    ]
    handler = await auth_headers("complaints.handler")
    staff = await client.post(OFFICE, json={"email": "erika@example"}, headers=handler)
    assert field_errors(staff) == [
        ("complainant_kind", "value.required"),
        ("email", "value.email"),
        ("category", "value.required"),
        ("description", "value.required"),
        ("channel", "value.required"),
    ]
    assert await count_rows(engine, *TABLES) == before


@pytest.mark.parametrize(
    "address", ["anna.schmidt@web", "erika@example", "erika@example.d", "anna schmidt@web.de", "@web.de"]
)
async def test_an_e_mail_address_without_a_proper_domain_is_refused(client: Client, address: str) -> None:
    refused = await client.post(PUBLIC, json=named_payload(email=address))
    assert field_errors(refused) == [("email", "value.email")]


async def test_a_proper_e_mail_address_is_accepted(client: Client) -> None:
    accepted = await client.post(PUBLIC, json=named_payload(email="anna.schmidt@web.de"))
    assert accepted.status_code == 201, accepted.text


async def test_non_police_units_cannot_be_named_and_malformed_or_huge_bodies_are_refused(
    client: Client, engine: AsyncEngine, demo_directory: DemoDirectory
) -> None:
    before = await count_rows(engine, *TABLES)
    for code in ("zbs-sn", "wr-dresden", "sn"):
        unit = str(demo_directory.unit(code).id)
        response = await client.post(PUBLIC, json=anonymous_payload(police_unit_id=unit))
        assert problem(response) == (422, "complaint.unknown_police_unit")
    malformed = await client.post(
        PUBLIC, content=b'{"category": ', headers={"Content-Type": "application/json"}
    )
    assert problem(malformed) == (400, "request.malformed")
    huge = await client.post(PUBLIC, json=anonymous_payload(description="y" * (600 * 1024)))
    assert problem(huge) == (413, "request.too_large")
    assert await count_rows(engine, *TABLES) == before


async def test_a_complaint_about_a_directorate_is_accepted(
    client: Client, demo_directory: DemoDirectory
) -> None:
    unit = str(demo_directory.unit("pd-leipzig").id)
    assert (await client.post(PUBLIC, json=anonymous_payload(police_unit_id=unit))).status_code == 201


# Attachments


def upload_headers(session: dict[str, str], content_type: str, filename: str | None = None) -> dict[str, str]:
    headers = {**session, "Content-Type": content_type}
    if filename is not None:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return headers


async def test_attachments_are_checked_by_their_bytes_and_nothing_is_kept_on_failure(
    client: Client, engine: AsyncEngine
) -> None:
    receipt = await submit(client)
    session = await complainant_headers(client, receipt["reference"], receipt["access_code"])
    url = f"{PUBLIC}/me/attachments"
    before = await count_rows(engine, *TABLES)
    refused = [
        (PNG, upload_headers(session, "application/pdf", "scan.pdf"), (415, "complaint.attachment_type")),
        (PDF, upload_headers(session, "application/pdf", "scan.png"), (415, "complaint.attachment_type")),
        (JPEG, upload_headers(session, "image/png"), (415, "complaint.attachment_type")),
        (
            b"Hallo, anbei mein Text",
            upload_headers(session, "text/plain", "a.txt"),
            (415, "complaint.attachment_type"),
        ),
        (
            b"MZ\x90\x00",
            upload_headers(session, "application/octet-stream", "tool.exe"),
            (415, "complaint.attachment_type"),
        ),
        (b"", upload_headers(session, "application/pdf", "a.pdf"), (422, "complaint.attachment_missing")),
        (
            PDF + b"\x00" * (10 * MB),
            upload_headers(session, "application/pdf"),
            (413, "complaint.attachment_too_large"),
        ),
        (PDF + b"\x00" * (11 * MB), upload_headers(session, "application/pdf"), (413, "request.too_large")),
    ]
    for content, headers, expected in refused:
        assert problem(await client.post(url, content=content, headers=headers)) == expected
    assert await count_rows(engine, *TABLES) == before
    # Without a session nothing can be attached.
    anonymous = await client.post(url, content=PDF, headers={"Content-Type": "application/pdf"})
    assert problem(anonymous) == (404, "complaint.session_invalid")


async def test_up_to_five_attachments_stored_encrypted_and_readable_by_the_office(
    client: Client, engine: AsyncEngine, auth_headers: AuthHeaders, demo_directory: DemoDirectory
) -> None:
    receipt = await submit(client)
    session = await complainant_headers(client, receipt["reference"], receipt["access_code"])
    url = f"{PUBLIC}/me/attachments"
    files = [
        (PDF, "application/pdf", "Anzeige Kallweit.pdf"),
        (PNG, "image/png", "foto.png"),
        (JPEG, "image/jpeg", "foto.JPG"),
        (JPEG, "image/jpg", None),
        (PDF, "application/octet-stream", "scan.pdf"),  # a client that does not know the type
    ]
    for content, content_type, filename in files:
        response = await client.post(
            url, content=content, headers=upload_headers(session, content_type, filename)
        )
        assert response.status_code == 201, response.text
        assert response.json()["size_bytes"] == len(content)
    too_many = await client.post(url, content=PDF, headers=upload_headers(session, "application/pdf"))
    assert problem(too_many) == (409, "complaint.attachment_limit")
    assert (await count_rows(engine, "complaint_attachments"))["complaint_attachments"] == 5

    mine = (await client.get(f"{PUBLIC}/me", headers=session)).json()["attachments"]
    assert [a["content_type"] for a in mine] == [
        "application/pdf",
        "image/png",
        "image/jpeg",
        "image/jpeg",
        "application/pdf",
    ]
    assert mine[0]["filename"] == "Anzeige Kallweit.pdf"
    await assert_nowhere_stored(engine, "Geheimes Beweisfoto", "Anzeige Kallweit")

    complaint = await assigned_to_handler(client, auth_headers, demo_directory, receipt["reference"])
    handler = await auth_headers("complaints.handler")
    downloaded = await client.get(f"{OFFICE}/{complaint}/attachments/{mine[0]['id']}", headers=handler)
    assert downloaded.status_code == 200
    assert downloaded.content == PDF
    assert downloaded.headers["content-type"] == "application/pdf"
    assert "Kallweit" not in downloaded.headers["content-disposition"]
    reads = await audit_events(engine, "complaint:attachment:read")
    assert [event.target_id for event in reads] == [mine[0]["id"]]
    missing = await client.get(f"{OFFICE}/{complaint}/attachments/{uuid.uuid4()}", headers=handler)
    assert problem(missing) == (404, "complaint.attachment_not_found")


# Follow-ups


async def test_public_follow_ups_are_accepted_alike_and_linked_only_to_existing_references(
    client: Client, auth_headers: AuthHeaders
) -> None:
    earlier = await submit(client)
    linked = await client.post(
        PUBLIC, json=anonymous_payload(complaint_type="follow_up", follow_up_of=earlier["reference"].lower())
    )
    unmatched = await client.post(
        PUBLIC, json=anonymous_payload(complaint_type="follow_up", follow_up_of="BS-2025-000042")
    )
    # The same answer either way: the form tells nobody which references exist.
    assert linked.status_code == unmatched.status_code == 201
    assert set(linked.json()) == set(unmatched.json())

    lead = await auth_headers("complaints.lead")
    queue = {item["reference"]: item["id"] for item in (await client.get(OFFICE, headers=lead)).json()}
    linked_detail = (await client.get(f"{OFFICE}/{queue[linked.json()['reference']]}", headers=lead)).json()
    unmatched_detail = (
        await client.get(f"{OFFICE}/{queue[unmatched.json()['reference']]}", headers=lead)
    ).json()
    assert linked_detail["follow_up_of_id"] == queue[earlier["reference"]]
    assert linked_detail["follow_up_reference"] == earlier["reference"]
    assert unmatched_detail["follow_up_of_id"] is None
    assert unmatched_detail["follow_up_reference"] == "BS-2025-000042"


# Staff entry


async def test_the_office_enters_a_letter_and_the_complainant_gets_reference_and_code(
    client: Client, engine: AsyncEngine, auth_headers: AuthHeaders, demo_directory: DemoDirectory
) -> None:
    handler = await auth_headers("complaints.handler")
    entered = await client.post(OFFICE, json=named_payload(channel="letter"), headers=handler)
    assert entered.status_code == 201, entered.text
    receipt = entered.json()
    queue = (await client.get(OFFICE, headers=handler)).json()
    assert [(item["reference"], item["channel"]) for item in queue] == [(receipt["reference"], "letter")]
    assert queue[0]["assignee_id"] == str(demo_directory.account("complaints.handler").user_id)
    # The code printed on the reply letter opens the complaint like any other.
    session = await complainant_headers(client, receipt["reference"], receipt["access_code"])
    assert (await client.get(f"{PUBLIC}/me", headers=session)).json()["status"] == "received"
    created = await audit_events(engine, "complaint:complaint:create")
    assert len(created) == 1
    assert created[0].actor_id == str(demo_directory.account("complaints.handler").user_id)

    web = await client.post(OFFICE, json=named_payload(channel="web"), headers=handler)
    assert field_errors(web) == [("channel", "complaint.staff_channel")]
    unknown = await client.post(
        OFFICE,
        json=named_payload(channel="phone", complaint_type="follow_up", follow_up_of="BS-2026-009999"),
        headers=handler,
    )
    assert problem(unknown) == (422, "complaint.unknown_reference")
    refused = await client.post(
        OFFICE, json=named_payload(channel="letter"), headers=await auth_headers(Role.POLICE_SUPERVISOR)
    )
    assert problem(refused) == (403, "auth.forbidden")


# Rate limits


@pytest.fixture
def limited_app(
    settings: Settings, identity_config: IdentityConfig, complaints_config: ComplaintsConfig
) -> Litestar:
    limited = dataclasses.replace(
        complaints_config, intake_rate_limit=("minute", 2), access_rate_limit=("minute", 3)
    )
    return create_app(settings, identity_config=identity_config, domain_overrides={"complaints": limited})


async def test_public_routes_are_rate_limited_per_client_address(
    limited_app: Litestar, engine: AsyncEngine, auth_headers: AuthHeaders
) -> None:
    async with AsyncTestClient(app=limited_app) as client:
        first = await submit(client)
        await submit(client)
        third = await client.post(PUBLIC, json=anonymous_payload())
        assert problem(third) == (429, "request.rate_limited")
        assert third.headers["ratelimit-limit"] == "2"
        # The complainant's access has its own budget, and staff routes none.
        for _ in range(3):
            bad = {"reference": first["reference"], "access_code": "0000-0000-0000-0000-0000-0000"}
            assert (await client.post(f"{PUBLIC}/session", json=bad)).status_code == 404
        assert problem(await client.post(f"{PUBLIC}/session", json=bad)) == (429, "request.rate_limited")
        lead = await auth_headers("complaints.lead")
        for _ in range(5):
            assert (await client.get(OFFICE, headers=lead)).status_code == 200
    assert (await count_rows(engine, "complaints"))["complaints"] == 2
