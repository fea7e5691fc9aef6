"""The report endpoints: who may read them, JSON and CSV, audit, and no personal values in them."""

from __future__ import annotations

import csv
import io
import json

import openpyxl
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.audit.models import AuditEvent
from referral_service.db import create_session_factory
from referral_service.identity.permissions import ROLE_GRANTS, Permission
from referral_service.identity.roles import Role
from referral_service.referrals.routing import seed_demo_routes
from referral_service.reporting.xlsx import XLSX_MEDIA_TYPE
from tests.complaints import support as complaint_support
from tests.identity.support import AuthHeaders, DemoDirectory
from tests.referrals import support as referral_support
from tests.reporting.support import insert
from tests.reporting.test_complaints_annual_report import saxony_2023
from tests.reporting.test_cooperation_report import second_quarter_2025

Client = AsyncTestClient[Litestar]

ENDPOINTS = {
    "/api/v1/reports/cooperation?year=2025": Permission.REPORT_COOPERATION_READ,
    "/api/v1/reports/complaints-annual?year=2025": Permission.REPORT_COMPLAINTS_ANNUAL_READ,
    "/api/v1/reports/activities?year=2025": Permission.REPORT_COOPERATION_READ,
}


async def report_events(engine: AsyncEngine, prefix: str = "report:") -> list[AuditEvent]:
    async with AsyncSession(engine) as session:
        stmt = select(AuditEvent).where(AuditEvent.action.startswith(prefix)).order_by(AuditEvent.id)  # type: ignore[attr-defined]
        return list((await session.execute(stmt)).scalars().all())


async def test_only_the_granted_roles_read_reports(client: Client, auth_headers: AuthHeaders) -> None:
    allowed_somewhere = set()
    for path, permission in ENDPOINTS.items():
        anonymous = await client.get(path)
        assert (anonymous.status_code, anonymous.json()["code"]) == (401, "auth.unauthenticated")
        for role in Role:
            response = await client.get(path, headers=await auth_headers(role))
            if permission in ROLE_GRANTS[role]:
                assert response.status_code == 200, (path, role, response.text)
                allowed_somewhere.add((path, role))
            else:
                assert (response.status_code, response.json()["code"]) == (403, "auth.forbidden"), (
                    path,
                    role,
                )
    # The grants as they stand: the WEISSER RING state office and auditors read the cooperation report,
    # the complaints lead and auditors the annual report.
    assert {role for path, role in allowed_somewhere if "cooperation" in path} == {
        Role.WR_STATE_OFFICE,
        Role.AUDITOR,
    }
    assert {role for path, role in allowed_somewhere if "complaints-annual" in path} == {
        Role.COMPLAINTS_LEAD,
        Role.AUDITOR,
    }


async def test_json_csv_and_the_audit_event(
    client: Client, auth_headers: AuthHeaders, engine: AsyncEngine, demo_directory: DemoDirectory
) -> None:
    await insert(engine, second_quarter_2025(demo_directory))
    headers = await auth_headers(Role.WR_STATE_OFFICE)
    url = "/api/v1/reports/cooperation"

    as_json = await client.get(url, params={"year": 2025, "quarter": 2}, headers=headers)
    assert as_json.status_code == 200, as_json.text
    assert as_json.headers["content-type"].startswith("application/json")
    assert as_json.headers["cache-control"] == "no-store"
    body = as_json.json()
    assert body["report"] == "cooperation"
    assert body["period"] == {
        "label": "2025-Q2",
        "year": 2025,
        "quarter": 2,
        "first_day": "2025-04-01",
        "last_day": "2025-06-30",
    }
    assert body["scope"]["kind"] == "state"
    assert body["suppression"]["threshold"] == 5
    by_unit = next(t for t in body["tables"] if t["key"] == "referrals_by_unit")
    dresden = next(r for r in by_unit["rows"] if r["key"] == "pd-dresden")
    assert dresden["values"]["stalking"] is None
    assert dresden["absent"]["stalking"] == "withheld"
    assert "total" not in dresden["absent"]
    assert dresden["values"]["total"] == 18

    as_csv = await client.get(url, params={"year": 2025, "quarter": 2, "format": "csv"}, headers=headers)
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert as_csv.headers["content-disposition"] == 'attachment; filename="cooperation-2025-Q2-state.csv"'
    lines = list(csv.reader(io.StringIO(as_csv.text)))
    assert lines[0] == ["table", "row", "row_label", "column", "column_label", "value"]
    cells = {(t, r, c): v for t, r, _, c, _, v in lines[1:]}
    assert cells[("report", "period", "")] == "2025-Q2"
    assert cells[("referrals_by_unit", "pd-dresden", "stalking")] == "."
    assert cells[("referrals_by_unit", "pd-dresden", "total")] == "18"
    assert cells[("processing", "contacted_within_deadline", "share")] == "0.3"
    assert cells[("durations", "to_acceptance", "median_hours")] == "12.0"

    by_accept = await client.get(
        url, params={"year": 2025, "directorate": "pd-dresden"}, headers={**headers, "Accept": "text/csv"}
    )
    assert by_accept.headers["content-type"] == "text/csv; charset=utf-8"
    assert "cooperation-2025-pd-dresden.csv" in by_accept.headers["content-disposition"]

    # CSV for German spreadsheets, read as such a spreadsheet would: BOM, semicolons, decimal comma.
    as_csv_de = await client.get(
        url, params={"year": 2025, "quarter": 2, "format": "csv-de"}, headers=headers
    )
    assert as_csv_de.status_code == 200
    assert as_csv_de.headers["content-type"].startswith("text/csv")
    assert 'filename="cooperation-2025-Q2-state.de.csv"' in as_csv_de.headers["content-disposition"]
    assert as_csv_de.content.startswith(b"\xef\xbb\xbf")
    german = list(csv.reader(io.StringIO(as_csv_de.content.decode("utf-8-sig")), delimiter=";"))
    assert german[0] == lines[0]
    de_cells = {(t, r, c): v for t, r, _, c, _, v in german[1:]}
    assert de_cells[("processing", "contacted_within_deadline", "share")] == "0,3"
    assert de_cells[("durations", "to_acceptance", "median_hours")] == "12,0"
    assert float(de_cells[("processing", "accepted", "share")].replace(",", ".")) == 0.6667
    assert de_cells[("referrals_by_unit", "pd-dresden", "stalking")] == "."
    assert de_cells[("referrals_by_unit", "pd-dresden", "total")] == "18"

    as_xlsx = await client.get(url, params={"year": 2025, "quarter": 2, "format": "xlsx"}, headers=headers)
    assert as_xlsx.status_code == 200
    assert as_xlsx.headers["content-type"].startswith(XLSX_MEDIA_TYPE)
    workbook = openpyxl.load_workbook(io.BytesIO(as_xlsx.content))
    # A first sheet describing the report, then one sheet per table.
    assert workbook.sheetnames == ["Bericht", *(table["key"] for table in body["tables"])]
    sheet = workbook["processing"]
    assert [cell.value for cell in sheet[2]] == [None, "Anzahl", "Anteil"]
    assert [cell.value for cell in sheet[3]] == ["übermittelte Fälle", 30, 1]
    assert sheet["C6"].value == 0.3  # a number, shown as a percentage
    assert sheet["C6"].number_format == "0.0%"
    assert [cell.value for cell in sheet[7]] == ["von einer Außenstelle abgegeben", ".", "."]

    events = await report_events(engine)
    assert [(e.action, json.loads(e.details)) for e in events] == [
        ("report:cooperation:read", {"format": "json", "period": "2025-Q2", "scope": "state"}),
        ("report:cooperation:read", {"format": "csv", "period": "2025-Q2", "scope": "state"}),
        ("report:cooperation:read", {"format": "csv", "period": "2025", "scope": "pd-dresden"}),
        ("report:cooperation:read", {"format": "csv-de", "period": "2025-Q2", "scope": "state"}),
        ("report:cooperation:read", {"format": "xlsx", "period": "2025-Q2", "scope": "state"}),
    ]
    office = demo_directory.account(Role.WR_STATE_OFFICE)
    assert {e.actor_id for e in events} == {str(office.user_id)}
    assert all(e.request_id for e in events)


async def test_complaints_annual_report_through_the_api(
    client: Client, auth_headers: AuthHeaders, engine: AsyncEngine, demo_directory: DemoDirectory
) -> None:
    await insert(engine, saxony_2023())
    response = await client.get(
        "/api/v1/reports/complaints-annual",
        params={"year": 2023},
        headers=await auth_headers("complaints.lead"),
    )
    assert response.status_code == 200, response.text
    outcomes = next(t for t in response.json()["tables"] if t["key"] == "outcomes")
    # begründet ... keine Entscheidung, entschieden, abgegeben, zurückgenommen, in Bearbeitung, insgesamt
    assert [r["values"]["count"] for r in outcomes["rows"]] == [19, 80, 108, 49, 256, None, 0, None, 258]
    events = await report_events(engine)
    assert [(e.action, json.loads(e.details)) for e in events] == [
        ("report:complaints_annual:read", {"format": "json", "period": "2023", "scope": "state"}),
    ]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, "request.validation"),
        ({"year": 1999}, "request.validation"),
        ({"year": 2025, "quarter": 5}, "request.validation"),
        ({"year": 2025, "format": "xml"}, "request.validation"),
        ({"year": 2025, "directorate": "rev-dresden-nord"}, "report.unknown_directorate"),
        ({"year": 2025, "directorate": "pd-atlantis"}, "report.unknown_directorate"),
    ],
)
async def test_invalid_requests_are_refused_with_a_stable_code(
    client: Client, auth_headers: AuthHeaders, params: dict[str, object], code: str
) -> None:
    response = await client.get(
        "/api/v1/reports/cooperation", params=params, headers=await auth_headers(Role.AUDITOR)
    )
    assert response.status_code in {400, 422}, response.text
    assert response.json()["code"] == code


async def test_reports_hold_no_personal_values(
    client: Client, auth_headers: AuthHeaders, engine: AsyncEngine, demo_directory: DemoDirectory
) -> None:
    async with create_session_factory(engine)() as session, session.begin():
        await seed_demo_routes(session)
    # A real referral and a real complaint, with recognisable names, through the API.
    created = await referral_support.submit(client, auth_headers)
    volunteer = await auth_headers("volunteer.dresden")
    await client.post(f"/api/v1/referrals/{created['id']}/accept", headers=volunteer)
    receipt = await complaint_support.submit(
        client,
        complaint_support.named_payload(police_unit_id=str(demo_directory.unit("rev-dresden-nord").id)),
    )
    assert receipt["reference"]
    year = created["submitted_at"][:4]
    secrets = (*referral_support.SECRET_VALUES, *complaint_support.SECRET_VALUES)
    auditor = await auth_headers(Role.AUDITOR)
    bodies = []
    for path in ("/api/v1/reports/cooperation", "/api/v1/reports/complaints-annual"):
        for params in ({"year": year}, {"year": year, "directorate": "pd-dresden"}):
            for fmt in ("json", "csv"):
                response = await client.get(path, params={**params, "format": fmt}, headers=auditor)
                assert response.status_code == 200, response.text
                bodies.append(response.text)
    for body in bodies:
        for secret in secrets:
            assert secret not in body
            assert secret.lower() not in body.lower()
