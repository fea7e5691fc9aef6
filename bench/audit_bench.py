"""Audit verification rate on PostgreSQL over 1,000,000 events (target: >= 200,000 events/s).

Loads the events with COPY (as the sequencer would have written them: leaf hashes and position MACs
computed by the same code), signs a checkpoint, then times `verify_log` end to end: streaming rows
from PostgreSQL, recomputing every leaf, MAC and the Merkle tree, and checking the checkpoint.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import asyncpg

from bench._report import write_section
from bench.pg_scratch import scratch_database
from referral_service.audit.keys import load_audit_keys
from referral_service.audit.merkle import leaf_hash
from referral_service.audit.recorder import EVENT_COLUMN_ORDER, canonical_event_bytes
from referral_service.audit.service import create_checkpoint, verify_log
from referral_service.db import create_database_engine
from referral_service.settings import load_settings

TARGET = 200_000


def event_rows(count: int) -> list[tuple[object, ...]]:
    base = 1_790_000_000_000_000
    return [
        (
            i + 1,
            base + i * 1000,
            "referral:referral:read",
            "success",
            "user",
            f"u-{i % 500}",
            "wr_volunteer",
            f"wr-branch-{i % 20}",
            "referral",
            f"0193{i:028x}"[:32],
            f"req{i:029x}",
            f"{i:032x}",
            '{"fields":["victim_name","phone"]}',
        )
        for i in range(count)
    ]


async def load(dsn: str, rows: list[tuple[object, ...]], keys: object) -> None:
    mac = keys.position_mac  # type: ignore[attr-defined]
    log_rows = []
    for seq, row in enumerate(rows):
        leaf = leaf_hash(canonical_event_bytes(row))
        log_rows.append((seq, row[0], leaf, mac(seq, leaf), 1))
    connection = await asyncpg.connect(dsn)
    try:
        await connection.copy_records_to_table(
            "audit_events",
            records=rows,
            columns=list(EVENT_COLUMN_ORDER),
        )
        await connection.copy_records_to_table(
            "audit_log", records=log_rows, columns=["seq", "event_id", "leaf_hash", "mac", "sequenced_at_us"]
        )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


async def main(count: int, runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        keys = load_audit_keys(load_settings({"REFERRAL_VAR_DIR": str(Path(tmp))}))
        async with scratch_database("audit") as (url, dsn):
            print(f"loading {count:,} events ...")
            await load(dsn, event_rows(count), keys)
            engine = create_database_engine(url)
            try:
                await create_checkpoint(engine, keys)
                timings = []
                for _ in range(runs):
                    started = time.perf_counter()
                    report = await verify_log(engine, keys)
                    timings.append(time.perf_counter() - started)
                    assert report.ok, report.problems
                    assert report.tree_size == count
                    print(f"verified {count:,} in {timings[-1]:.2f} s")
            finally:
                await engine.dispose()
    best = min(timings)
    rate = count / best
    verdict = "met" if rate >= TARGET else "NOT met"
    write_section(
        "audit",
        "Audit log verification (PostgreSQL)",
        f"""`referral-service audit verify` logic (`verify_log`) over {count:,} events on PostgreSQL: stream
rows, recompute every leaf hash and position MAC, rebuild the RFC 9162 tree, check the signed checkpoint.
Best of {runs} runs.

| events | time (s) | events/s |
|---:|---:|---:|
| {count:,} | {best:.2f} | {rate:,.0f} |

Target >= {TARGET:,} events/s: **{verdict}**.""",
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.events, args.runs))
