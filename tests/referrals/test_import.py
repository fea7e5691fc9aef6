"""`referral-service import referrals FILE`: earlier years from CSV and XLSX, all or nothing, once."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from pathlib import Path

from click.testing import CliRunner, Result
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.cli import main
from referral_service.identity.roles import Role
from referral_service.keys.fields import open_fields
from referral_service.keys.service import CaseKeys, load_key_provider
from referral_service.referrals.models import Referral, ReferralReferenceCounter, ReferralTransition
from referral_service.settings import Settings
from tests.complaints.support import audit_events, count_rows
from tests.identity.support import DemoDirectory
from tests.plaintext_scan import assert_nowhere_stored
from tests.referrals.support import CASE_NUMBER, CIRCUMSTANCES, VICTIM_EMAIL, VICTIM_NAME, VICTIM_PHONE

TABLES = ("referrals", "data_keys", "referral_transitions", "referral_imports")

GOOD_CSV = (
    "Aktenzeichen;Eingang;Dienststelle;Außenstelle;Status;Angenommen;Erstkontakt;Abschluss;Ergebnis;"
    "Deliktsbereich;Tatdatum;Einwilligung durch;Einwilligungsform;Gewünschte Hilfe;Geleistete Hilfe;"
    "Name;Telefon;E-Mail;PLZ;Sachverhalt;Vorgangsnummer;Widerruf\n"
    # Closed after support, routed to the branch the file names; sealed personal data.
    "VM-2019-000040;14.03.2019 10:30;rev-dresden-nord;wr-meissen;closed;2019-03-15;2019-03-16;2019-05-02;"
    "supported;sexual_offence_unspecified;2019-03;victim;written;personal_support|financial_aid;"
    f"financial_aid;{VICTIM_NAME};{VICTIM_PHONE};{VICTIM_EMAIL};01099;{CIRCUMSTANCES};{CASE_NUMBER};\n"
    # Still waiting, no branch: routed by postcode like intake (01099 -> wr-dresden).
    ";2019-06-01;rev-leipzig-zentrum;;submitted;;;;;child_sexual_abuse;2019-05-30;legal_representative;"
    "oral;;;;;;01099;;;\n"
    # Withdrawn: no personal data, no key.
    ";2019-02-01;rev-bautzen;wr-bautzen;withdrawn;;;;;bodily_harm;2019-01;victim;oral;;;;;;;;;2019-02-10\n"
)


def _invoke(settings: Settings, *args: str) -> Result:
    env = {
        "REFERRAL_DATABASE_URL": settings.database_url,
        "REFERRAL_VAR_DIR": str(settings.var_dir),
        "REFERRAL_REFERRALS_STARTED_ON": "2016-01-01",
    }
    return CliRunner().invoke(main, ["import", "referrals", *args], env=env)


async def _run(settings: Settings, recorded_by: str, *args: str) -> Result:
    # The command runs its own event loop (as on a terminal), so not on the test's.
    return await asyncio.to_thread(_invoke, settings, "--recorded-by", recorded_by, *args)


def _reported(output: str) -> set[tuple[int, str, str]]:
    return {
        (int(row), column, code)
        for row, column, code in re.findall(r"^row (\d+), (\S+): (\S+) ", output, flags=re.MULTILINE)
    }


async def test_csv_and_xlsx_import_sealed_routed_once_and_dry_run_writes_nothing(
    settings: Settings, engine: AsyncEngine, routed: DemoDirectory, tmp_path: Path
) -> None:
    admin = routed.account(Role.ADMIN).username
    good = tmp_path / "2019.csv"
    good.write_bytes(b"\xef\xbb\xbf" + GOOD_CSV.encode())

    dry = await _run(settings, admin, str(good), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "3 referrals would be imported" in dry.output
    assert await count_rows(engine, *TABLES) == dict.fromkeys(TABLES, 0)

    done = await _run(settings, admin, str(good))
    assert done.exit_code == 0, done.output
    async with AsyncSession(engine) as session:
        stored = {r.reference: r for r in (await session.execute(select(Referral))).scalars()}
        timeline = (await session.execute(select(ReferralTransition))).scalars().all()
        counter = await session.get(ReferralReferenceCounter, 2019)
    # The file's reference is kept; the others follow it, in order of submission.
    assert sorted(stored) == ["VM-2019-000040", "VM-2019-000041", "VM-2019-000042"]
    assert counter is not None
    assert counter.last_value == 42
    closed, withdrawn, waiting = (stored[f"VM-2019-0000{n}"] for n in (40, 41, 42))
    assert (closed.status, closed.close_outcome, closed.support_given) == (
        "closed",
        "supported",
        "financial_aid",
    )
    assert closed.offence_category == "sexual_offence_unspecified"  # the legacy area, for old data
    assert closed.submitted_at == dt.datetime(2019, 3, 14, 9, 30, tzinfo=dt.UTC)  # 10:30 in Dresden
    assert closed.branch_id == routed.unit("wr-meissen").id
    assert closed.referring_station_id == routed.unit("rev-dresden-nord").id
    assert (waiting.status, waiting.branch_id, waiting.incident_month) == (
        "submitted",
        routed.unit("wr-dresden").id,
        "2019-05",
    )
    assert (withdrawn.status, withdrawn.data_key_id, withdrawn.victim_name) == ("withdrawn", None, None)
    assert {(t.referral_id, t.action, t.to_status) for t in timeline} == {
        (r.id, "import", r.status) for r in stored.values()
    }
    # Sealed like a referral entered by hand: ciphertext under its own key, and blind-indexed.
    assert closed.data_key_id is not None
    assert closed.case_number_index is not None
    keys = CaseKeys(lambda: load_key_provider(settings))
    async with AsyncSession(engine) as session:
        key = await keys.get(session, closed.data_key_id)
        assert open_fields(closed, key, ["victim_name", "circumstances", "incident_date"]) == {
            "victim_name": VICTIM_NAME,
            "circumstances": CIRCUMSTANCES,
            "incident_date": None,  # the month only
        }
    await assert_nowhere_stored(engine, VICTIM_NAME, CIRCUMSTANCES, VICTIM_EMAIL, CASE_NUMBER, "5550123")

    again = await _run(settings, admin, str(good))
    assert again.exit_code == 0, again.output
    assert "already imported" in again.output
    [event] = await audit_events(engine, "referral:referral:import")
    assert json.loads(event.details) == {
        "referrals": 3,
        "references_kept": 1,
        "status_closed": 1,
        "status_submitted": 1,
        "status_withdrawn": 1,
        "years": ["2019"],
    }
    assert event.actor_kind == "system"

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(
        [
            *("submitted_at", "station", "status", "accepted_at", "offence_category", "incident_date"),
            *("consent_given_by", "consent_form"),
        ]
    )
    sheet.append(
        [
            *(dt.datetime(2020, 2, 1, 9), "rev-zwickau", "accepted", dt.date(2020, 2, 2)),
            *("rape_sexual_assault", dt.date(2020, 1, 30), "victim", "electronic"),
        ]
    )
    book = tmp_path / "more.xlsx"
    workbook.save(book)
    more = await _run(settings, admin, str(book), "--import-id", "archive-2020")
    assert more.exit_code == 0, more.output
    async with AsyncSession(engine) as session:
        references = set((await session.execute(select(Referral.reference))).scalars())
    assert references == set(stored) | {"VM-2020-000001"}


async def test_malformed_files_are_refused_row_by_row_and_nothing_is_written(
    settings: Settings, engine: AsyncEngine, demo_directory: DemoDirectory, tmp_path: Path
) -> None:
    admin = demo_directory.account(Role.ADMIN).username
    header = (
        "reference,submitted_at,station,branch,status,accepted_at,first_contact_at,closed_at,"
        "close_outcome,offence_category,incident_date,consent_given_by,consent_form,victim_name,email\n"
    )
    fine = ",2019-03-01,rev-meissen,,submitted,,,,,fraud,2019-02,victim,oral,,\n"
    first = tmp_path / "first.csv"
    first.write_text(header + "VM-2019-000003" + fine, encoding="utf-8")
    assert (await _run(settings, admin, str(first))).exit_code == 0
    before = await count_rows(engine, *TABLES, "audit_events", "referral_reference_counters")

    bad = tmp_path / "bad.csv"
    bad.write_text(
        header
        + "VM-2019-000003"
        + fine  # row 2: stored already
        + ",2099-01-01,rev-meissen,,submitted,,,,,fraud,2019-02,victim,oral,,\n"  # 3: future
        + ",2019-03-01,rev-atlantis,,submitted,,,,,fraud,2019-02,victim,oral,,\n"  # 4: no such station
        + ",2019-03-01,rev-meissen,,accepted,,,,,fraud,2019-02,victim,oral,,\n"  # 5: accepted without date
        + ",2019-03-01,rev-meissen,,closed,2019-03-02,,2019-03-01,supported,fraud,2019-02,victim,oral,,\n"
        # 6: closed before accepted, support without contact
        + f",2019-03-01,rev-meissen,,withdrawn,,,,,fraud,2019-02,victim,oral,{VICTIM_NAME},\n"  # 7
        + ",2019-03-01,rev-meissen,,submitted,,,,,pferdediebstahl,2019-04,victim,oral,,kein@\n"  # 8
        + ",2019-03-01,rev-meissen,,submitted,,,,,fraud,31.02.2019,victim,oral,,\n"  # 9: no such day
        + fine  # 10: fine
        + ",2015-12-31,rev-meissen,,submitted,,,,,fraud,2015-12,victim,oral,,\n",  # 11: before the start
        encoding="utf-8",
    )
    for args in ([str(bad), "--dry-run"], [str(bad)]):
        refused = await _run(settings, admin, *args)
        assert refused.exit_code == 1
        assert _reported(refused.output) == {
            (2, "reference", "import.reference_taken"),
            (3, "submitted_at", "import.date_in_future"),
            (4, "station", "import.unknown_unit"),
            (5, "accepted_at", "value.required"),
            (6, "closed_at", "import.date_order"),
            (6, "first_contact_at", "value.required"),
            (7, "victim_name", "import.withdrawn_personal"),
            (7, "withdrawn_at", "value.required"),
            (8, "offence_category", "import.unknown_code"),
            (8, "incident_date", "import.date_order"),
            (8, "email", "value.email"),
            (9, "incident_date", "value.day_or_month"),
            (11, "submitted_at", "import.before_start"),
        }
        assert "Quast" not in refused.output
        assert "pferde" not in refused.output

    nobody = await _run(settings, "niemand", str(first), "--import-id", "x")
    assert nobody.exit_code == 2
    assert await count_rows(engine, *TABLES, "audit_events", "referral_reference_counters") == before
