"""`referral-service import complaints FILE`: earlier years from CSV and XLSX, all or nothing, once."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from complaints.importer import rows
from complaints.models import Complaint, ComplaintCategory, ComplaintReferenceCounter
from referral_service.cli import main
from referral_service.keys.fields import open_fields
from referral_service.keys.service import CaseKeys, load_key_provider
from referral_service.settings import Settings
from tests.complaints.support import audit_events, count_rows
from tests.identity.support import DemoDirectory
from tests.plaintext_scan import assert_nowhere_stored

CANARY_NAME = "Kunigunde Kanarienvogel"
CANARY_TEXT = "Der Kanarienvogel-Vorfall am Zwinger"
TABLES = ("complaints", "data_keys", "complaint_categories", "complaint_imports")

GOOD_CSV = (
    "Aktenzeichen;Art;Beschwerdeführer;Eingangsweg;Beschwerdeinhalte;Eingang;Entscheidung;Abschluss;"
    "Ergebnis;Strafverfahren;Dienststelle;Folgebeschwerde zu;Name;E-Mail;Sachverhalt\n"
    f"BS-2017-000050;complaint;citizen;email;criminal_prosecution|conduct_on_duty;14.03.2017;"
    f"2017-04-02 10:30;05.04.2017;partly_justified;ja;rev-dresden-nord;;{CANARY_NAME};"
    f"kunigunde@example.org;{CANARY_TEXT}\n"
    ";follow_up;anonymous;fax;other;2017-05-02;;;;;;bs-2017-50;;;\n"
    ";complaint;police_employee;letter;conduct_off_duty;2017-04-20;;2017-05-10;;nein;;;;;\n"
)


def _invoke(settings: Settings, *args: str) -> Result:
    env = {"REFERRAL_DATABASE_URL": settings.database_url, "REFERRAL_VAR_DIR": str(settings.var_dir)}
    return CliRunner().invoke(main, ["import", "complaints", *args], env=env)


async def _run(settings: Settings, *args: str) -> Result:
    # The command runs its own event loop (as on a terminal), so not on the test's.
    return await asyncio.to_thread(_invoke, settings, *args)


def _reported(output: str) -> set[tuple[int, str, str]]:
    return {
        (int(row), column, code)
        for row, column, code in re.findall(r"^row (\d+), (\S+): (\S+) ", output, flags=re.MULTILINE)
    }


async def test_csv_and_xlsx_import_sealed_once_and_dry_run_writes_nothing(
    settings: Settings, engine: AsyncEngine, demo_directory: DemoDirectory, tmp_path: Path
) -> None:
    good = tmp_path / "2017.csv"
    good.write_bytes(b"\xef\xbb\xbf" + GOOD_CSV.encode())  # as German spreadsheets save it

    dry = await _run(settings, str(good), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "3 complaints would be imported" in dry.output
    assert await count_rows(engine, *TABLES) == dict.fromkeys(TABLES, 0)

    done = await _run(settings, str(good))
    assert done.exit_code == 0, done.output
    async with AsyncSession(engine) as session:
        stored = {c.reference: c for c in (await session.execute(select(Complaint))).scalars()}
        mentions = {
            (m.complaint_id, m.category, m.is_primary)
            for m in (await session.execute(select(ComplaintCategory))).scalars()
        }
        counter = await session.get(ComplaintReferenceCounter, 2017)
    # The file's reference is kept; the others follow it, in order of receipt.
    assert sorted(stored) == ["BS-2017-000050", "BS-2017-000051", "BS-2017-000052"]
    assert counter is not None
    assert counter.last_value == 52
    closed, withdrawn, follow_up = (stored[f"BS-2017-0000{n}"] for n in (50, 51, 52))
    assert (closed.status, closed.outcome, closed.criminal_investigation) == (
        "closed",
        "partly_justified",
        True,
    )
    assert closed.received_on == dt.date(2017, 3, 14)
    assert closed.decided_at == dt.datetime(2017, 4, 2, 8, 30, tzinfo=dt.UTC)  # 10:30 in Dresden
    assert closed.police_unit_id == demo_directory.unit("rev-dresden-nord").id
    assert (withdrawn.status, withdrawn.from_police_staff, withdrawn.identity_confidential) == (
        "withdrawn",
        True,
        True,
    )
    assert (follow_up.status, follow_up.follow_up_of_id, follow_up.channel) == (
        "in_progress",
        closed.id,
        "fax",
    )
    assert follow_up.deadline_on is not None  # still being examined: overdue in the queue
    assert mentions >= {
        (closed.id, "criminal_prosecution", True),
        (closed.id, "conduct_on_duty", False),
    }
    assert len(mentions) == 4
    # Sealed like a complaint entered by hand: ciphertext under its own key, readable with it.
    assert closed.name is not None
    assert CANARY_NAME.encode() not in closed.name
    keys = CaseKeys(lambda: load_key_provider(settings))
    async with AsyncSession(engine) as session:
        assert closed.data_key_id is not None
        key = await keys.get(session, closed.data_key_id)
        assert open_fields(closed, key, ["name", "description"]) == {
            "name": CANARY_NAME,
            "description": CANARY_TEXT,
        }
    await assert_nowhere_stored(engine, CANARY_NAME, CANARY_TEXT, "kunigunde@example.org")

    again = await _run(settings, str(good))
    assert again.exit_code == 0, again.output
    assert "already imported" in again.output
    [event] = await audit_events(engine, "complaint:complaint:import")
    details = json.loads(event.details)
    assert details == {
        "complaints": 3,
        "references_kept": 1,
        "status_closed": 1,
        "status_in_progress": 1,
        "status_withdrawn": 1,
        "years": ["2017"],
    }
    assert event.actor_kind == "system"
    assert "Kanarien" not in event.details

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(
        ["Art", "Beschwerdeführer", "Eingangsweg", "Beschwerdeinhalte", "Eingang", "Entscheidung", "Ergebnis"]
    )
    sheet.append(
        ["complaint", "citizen", "phone", "traffic_policing", dt.datetime(2018, 2, 1, 9), None, None]
    )
    sheet.append(
        [
            "complaint",
            "organisation",
            "in_person",
            "other",
            dt.date(2017, 6, 1),
            dt.date(2017, 7, 1),
            "justified",
        ]
    )
    book = tmp_path / "more.xlsx"
    workbook.save(book)
    more = await _run(settings, str(book), "--import-id", "archive-2017-2018")
    assert more.exit_code == 0, more.output
    async with AsyncSession(engine) as session:
        references = set((await session.execute(select(Complaint.reference))).scalars())
    assert references >= {"BS-2017-000053", "BS-2018-000001"}
    assert len(references) == 5


async def test_malformed_files_are_refused_row_by_row_and_nothing_is_written(
    settings: Settings,
    engine: AsyncEngine,
    demo_directory: DemoDirectory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    header = (
        "reference,type,complainant_kind,channel,categories,received_at,decided_at,outcome,police_unit,"
        "name,email\n"
    )
    first = tmp_path / "first.csv"
    first.write_text(
        header + "BS-2018-000003,complaint,citizen,email,other,2018-01-10,,,,,\n", encoding="utf-8"
    )
    assert (await _run(settings, str(first))).exit_code == 0
    before = await count_rows(engine, *TABLES, "audit_events", "complaint_reference_counters")

    wrong_columns = tmp_path / "columns.csv"
    wrong_columns.write_text("reference,typ,complainant_kind,channel,categories,received_at\n;x;y;z;w;v\n")
    refused = await _run(settings, str(wrong_columns))
    assert refused.exit_code == 1
    assert _reported(refused.output) == {
        (1, "B", "import.unknown_column"),
        (1, "type", "import.missing_column"),
    }

    bad = tmp_path / "bad.csv"
    bad.write_text(
        header
        + "BS-2018-000003,complaint,citizen,email,other,2018-01-10,,,,,\n"  # row 2: stored already
        + ",complaint,citizen,email,other,31.02.2018,,,,,\n"  # 3: no such day
        + ",complaint,citizen,email,other,2099-01-01,,,,,\n"  # 4: in the future
        + ",complaint,citizen,email,other,2015-12-31,,,,,\n"  # 5: before the office opened
        + ",complaint,citizen,email,other,2018-03-01,2018-02-01,justified,,,\n"  # 6: decided before received
        + f",complaint,citizen,brieftaube,other,2018-03-01,,,,,{CANARY_NAME}@\n"  # 7: code, address
        + "BS-2018-000007,complaint,citizen,email,other,2018-03-01,,,,,\n"  # 8: fine
        + "BS-2018-000007,complaint,citizen,email,other,2018-03-02,,,,,\n"  # 9: the same reference again
        + ",complaint,citizen,email,other,2018-03-01,,,rev-atlantis,,\n"  # 10: no such unit
        + f",complaint,anonymous,email,other,2018-03-01,,,,{CANARY_NAME},\n"  # 11: anonymous with a name
        + ",complaint,citizen,email,other,2018-03-01,,,rev-dresden-nord,,\n",  # 12: fine
        encoding="utf-8",
    )
    for args in ([str(bad), "--dry-run"], [str(bad)]):
        refused = await _run(settings, *args)
        assert refused.exit_code == 1
        assert _reported(refused.output) == {
            (2, "reference", "import.reference_taken"),
            (3, "received_at", "import.bad_date"),
            (4, "received_at", "complaint.date_in_future"),
            (5, "received_at", "complaint.before_office_opened"),
            (6, "decided_at", "complaint.date_order"),
            (7, "channel", "import.unknown_code"),
            (7, "email", "value.email"),
            (9, "reference", "import.duplicate_reference"),
            (10, "police_unit", "import.unknown_unit"),
            (11, "name", "complaint.anonymous_identity"),
        }
        assert "Kanarien" not in refused.output
        assert "brieftaube" not in refused.output

    monkeypatch.setattr(rows, "MAX_ROWS", 10)
    too_many = await _run(settings, str(bad))
    assert too_many.exit_code == 1
    assert "file: import.too_many_rows" in too_many.output
    monkeypatch.setattr(rows, "MAX_FILE_BYTES", 100)
    too_large = await _run(settings, str(first))
    assert too_large.exit_code == 1
    assert "file: import.file_too_large" in too_large.output

    assert await count_rows(engine, *TABLES, "audit_events", "complaint_reference_counters") == before
