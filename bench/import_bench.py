"""Bulk import of earlier years on PostgreSQL: 10,000 complaints from a CSV file (target: >= 1,000/s).

Times what `referral-service import complaints FILE` does after start-up: read the file, check every
row, make a data key per complaint, seal the personal fields, take the references and insert everything
in one transaction, and commit. Every row carries name, e-mail, phone, address, description and place,
so each complaint costs six encryptions, as a fully filled historical entry would.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import io
import random
import tempfile
import time
from pathlib import Path

from bench._report import write_section
from bench.pg_scratch import demo_database
from complaints.config import ComplaintsConfig
from complaints.importer import rows
from complaints.importer.service import import_sheet
from referral_service.db import create_engine, create_session_factory
from referral_service.keys.service import CaseKeys, load_key_provider

TARGET = 1_000
COLUMNS = [
    "type", "complainant_kind", "channel", "categories", "received_at", "decided_at", "closed_at", "outcome",
    "police_unit", "name", "email", "phone", "address", "description", "place",
]  # fmt: skip


def complaints_csv(count: int, seed: int) -> str:
    chance = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(COLUMNS)
    start = dt.date(2017, 1, 2)
    for i in range(count):
        received = start + dt.timedelta(days=chance.randrange(0, 3 * 365))
        decided = received + dt.timedelta(days=chance.randrange(5, 90))
        writer.writerow(
            [
                "complaint",
                "citizen",
                chance.choice(["email", "letter", "fax", "phone", "in_person"]),
                chance.choice(
                    ["criminal_prosecution|conduct_on_duty", "danger_prevention", "traffic_policing"]
                ),
                received.isoformat(),
                decided.isoformat(),
                (decided + dt.timedelta(days=3)).isoformat(),
                chance.choice(["justified", "partly_justified", "unjustified"]),
                chance.choice(["rev-dresden-nord", "pd-leipzig", ""]),
                f"Person {i}",
                f"person{i}@example.org",
                f"+49 351 {1_000_000 + i}",
                f"Musterstraße {i % 200}, 01099 Dresden",
                "Beschreibung des Vorfalls " * 20,
                "Albertplatz",
            ]
        )
    return out.getvalue()


async def main(count: int, runs: int) -> None:
    timings: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        async with demo_database("import") as settings:
            config = ComplaintsConfig.from_environ(settings.environ)
            keys = CaseKeys(lambda: load_key_provider(settings))
            engine = create_engine(settings)
            try:
                for run in range(runs):
                    path = Path(tmp) / f"run{run}.csv"
                    path.write_text(complaints_csv(count, run), encoding="utf-8")
                    started = time.perf_counter()
                    sheet, errors = rows.read_sheet(path)
                    assert sheet is not None, errors
                    async with create_session_factory(engine)() as session, session.begin():
                        result = await import_sheet(session, keys, config, sheet, import_id=f"bench-{run}")
                    timings.append(time.perf_counter() - started)
                    assert result.written, result.errors[:5]
                    print(f"imported {count:,} in {timings[-1]:.2f} s")
            finally:
                await engine.dispose()
    best = min(timings)
    rate = count / best
    verdict = "met" if rate >= TARGET else "NOT met"
    write_section(
        "import",
        "Bulk import of complaints (PostgreSQL)",
        f"""`referral-service import complaints FILE` logic (`complaints.importer`) for {count:,} complaints
from a CSV file, every personal field filled: read, check every row, a data key per complaint, six sealed
fields each, references, one transaction. Best of {runs} runs (`make bench-import`).

| complaints | time (s) | complaints/s |
|---:|---:|---:|
| {count:,} | {best:.2f} | {rate:,.0f} |

Target >= {TARGET:,} complaints/s: **{verdict}**.""",
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--complaints", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.complaints, args.runs))
