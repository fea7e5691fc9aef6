"""`referral-service report ...`: the same reports on the command line, audited with the system as actor."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path

import openpyxl
from click.testing import CliRunner
from sqlalchemy import select
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.audit.models import AuditEvent
from referral_service.cli import main
from referral_service.db import create_database_engine
from referral_service.settings import load_settings
from tests.identity.support import FAST_HASHING, FakeClock, seed_demo_directory, test_identity_config
from tests.reporting.support import insert
from tests.reporting.test_complaints_annual_report import saxony_2023
from tests.reporting.test_cooperation_report import second_quarter_2025


def _env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {"REFERRAL_DATABASE_URL": database_url, "REFERRAL_VAR_DIR": str(tmp_path / "var")}


def _seed(database_url: str, tmp_path: Path) -> None:
    async def run() -> None:
        engine = create_database_engine(database_url)
        try:
            settings = load_settings(_env(database_url, tmp_path))
            directory = await seed_demo_directory(
                engine, test_identity_config(FakeClock()), settings.secret_key
            )
            await insert(engine, second_quarter_2025(directory))
            await insert(engine, saxony_2023())
        finally:
            await engine.dispose()

    asyncio.run(run())


def _audited(database_url: str) -> list[tuple[str, str, dict[str, object]]]:
    async def run() -> list[tuple[str, str, dict[str, object]]]:
        engine = create_database_engine(database_url)
        try:
            async with AsyncSession(engine) as session:
                stmt = select(AuditEvent).where(AuditEvent.action.startswith("report:"))  # type: ignore[attr-defined]
                rows = (await session.execute(stmt)).scalars().all()
                return [(e.action, e.actor_kind, json.loads(e.details)) for e in rows]
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_reports_as_json_and_csv_files(database_url: str, tmp_path: Path) -> None:
    assert FAST_HASHING  # the demo directory is seeded with cheap hashes
    _seed(database_url, tmp_path)
    env = _env(database_url, tmp_path)
    runner = CliRunner()

    cooperation = runner.invoke(main, ["report", "cooperation", "--year", "2025", "--quarter", "2"], env=env)
    assert cooperation.exit_code == 0, cooperation.output
    body = json.loads(cooperation.output)
    assert body["period"]["label"] == "2025-Q2"
    processing = next(t for t in body["tables"] if t["key"] == "processing")
    assert processing["rows"][0]["values"] == {"count": 30, "share": 1.0}

    target = tmp_path / "annual.csv"
    annual = runner.invoke(
        main,
        ["report", "complaints-annual", "--year", "2023", "--format", "csv", "--output", str(target)],
        env=env,
    )
    assert annual.exit_code == 0, annual.output
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8"))))
    outcome_counts = {r[1]: r[5] for r in rows if r[0] == "outcomes" and r[3] == "count"}
    assert outcome_counts == {
        "justified": "19",
        "partly_justified": "80",
        "unjustified": "108",
        "no_decision": "49",
        "decided": "256",
        "forwarded": ".",
        "withdrawn": "0",
        "in_progress": ".",
        "total": "258",
    }

    unknown = runner.invoke(
        main, ["report", "cooperation", "--year", "2025", "--directorate", "pd-x"], env=env
    )
    assert unknown.exit_code != 0
    assert "No police directorate has this code" in unknown.output

    assert _audited(database_url) == [
        ("report:cooperation:read", "system", {"format": "json", "period": "2025-Q2", "scope": "state"}),
        ("report:complaints_annual:read", "system", {"format": "csv", "period": "2023", "scope": "state"}),
    ]


def test_the_threshold_is_configured_per_report_with_a_floor(database_url: str, tmp_path: Path) -> None:
    _seed(database_url, tmp_path)
    env = _env(database_url, tmp_path)
    runner = CliRunner()
    args = ["report", "cooperation", "--year", "2025", "--quarter", "2"]

    # At 3 the cooperation report publishes the 3 legal-advice vouchers (of 6 cases closed with support);
    # the 2 withdrawn consents stay withheld.
    lower = runner.invoke(main, args, env={**env, "REFERRAL_REPORT_THRESHOLD_COOPERATION": "3"})
    assert lower.exit_code == 0, lower.output
    body = json.loads(lower.output)
    assert body["suppression"]["threshold"] == 3
    support = next(t for t in body["tables"] if t["key"] == "support_given")
    voucher = next(r for r in support["rows"] if r["key"] == "legal_advice_voucher")
    assert voucher["values"] == {"count": 3, "share": 0.5}
    processing = next(t for t in body["tables"] if t["key"] == "processing")
    withdrawn = next(r for r in processing["rows"] if r["key"] == "consent_withdrawn")
    assert withdrawn["values"]["count"] is None

    # Below the floor of 3 no report is made, and the message names the variable.
    for name in ("REFERRAL_REPORT_THRESHOLD", "REFERRAL_REPORT_THRESHOLD_COOPERATION"):
        refused = runner.invoke(main, args, env={**env, name: "2"})
        assert refused.exit_code != 0
        assert name in refused.output

    # A quarter without accepted cases: the median is not applicable ("x"), not withheld (".").
    target = tmp_path / "q1.xlsx"
    first = runner.invoke(
        main,
        [
            "report",
            "cooperation",
            "--year",
            "2025",
            "--quarter",
            "1",
            "--format",
            "xlsx",
            "--output",
            str(target),
        ],
        env=env,
    )
    assert first.exit_code == 0, first.output
    durations = openpyxl.load_workbook(target)["durations"]
    assert [cell.value for cell in durations[3]] == ["bis zur Annahme", 0, "x"]
    first_json = runner.invoke(main, ["report", "cooperation", "--year", "2025", "--quarter", "1"], env=env)
    table = next(t for t in json.loads(first_json.output)["tables"] if t["key"] == "durations")
    assert table["rows"][0]["values"]["median_hours"] is None
    assert table["rows"][0]["absent"] == {"median_hours": "not_applicable"}
    assert [details["format"] for _, _, details in _audited(database_url)] == ["json", "xlsx", "json"]
