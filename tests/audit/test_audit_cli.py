"""`referral-service audit ...` as an auditor runs it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import text

from referral_service.audit.merkle import verify_inclusion
from referral_service.cli import main
from referral_service.db import create_database_engine
from tests.audit.test_log import tamper, write_events


def _env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {"REFERRAL_DATABASE_URL": database_url, "REFERRAL_VAR_DIR": str(tmp_path / "var")}


def _seed(database_url: str, count: int) -> None:
    async def run() -> None:
        engine = create_database_engine(database_url)
        try:
            await write_events(engine, count)
        finally:
            await engine.dispose()

    asyncio.run(run())


def test_checkpoint_verify_prove_export(database_url: str, tmp_path: Path) -> None:
    env = _env(database_url, tmp_path)
    runner = CliRunner()
    _seed(database_url, 30)

    checkpoint = runner.invoke(main, ["audit", "checkpoint"], env=env)
    assert checkpoint.exit_code == 0, checkpoint.output
    assert "referral-service/audit\n30\n" in checkpoint.output

    verified = runner.invoke(main, ["audit", "verify"], env=env)
    assert verified.exit_code == 0, verified.output
    assert "audit log intact: 30 entries, 1 signed checkpoints verified" in verified.output

    proved = runner.invoke(main, ["audit", "prove", "17"], env=env)
    assert proved.exit_code == 0, proved.output
    proof = json.loads(proved.output)
    assert verify_inclusion(
        bytes.fromhex(proof["leaf_hash"]),
        17,
        proof["tree_size"],
        [bytes.fromhex(node) for node in proof["proof"]],
        bytes.fromhex(proof["root_hash"]),
    )

    exported = runner.invoke(main, ["audit", "export"], env=env)
    assert exported.exit_code == 0
    assert exported.output.count("— referral-service-audit ") == 1

    key = runner.invoke(main, ["audit", "verifier-key"], env=env)
    assert key.output.startswith("referral-service-audit+")


def test_verify_names_the_first_bad_position_and_fails(database_url: str, tmp_path: Path) -> None:
    env = _env(database_url, tmp_path)
    runner = CliRunner()
    _seed(database_url, 10)
    assert runner.invoke(main, ["audit", "checkpoint"], env=env).exit_code == 0

    async def damage() -> None:
        engine = create_database_engine(database_url)
        try:
            async with engine.connect() as connection:
                event_id = (
                    await connection.execute(text("SELECT event_id FROM audit_log WHERE seq = 7"))
                ).scalar_one()
            await tamper(engine, f"UPDATE audit_events SET outcome = 'denied' WHERE id = {event_id}")
        finally:
            await engine.dispose()

    asyncio.run(damage())
    result = runner.invoke(main, ["audit", "verify", "--json"], env=env)
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["ok"] is False
    assert report["first_bad_position"] == 7


def test_prove_without_checkpoint_is_a_clear_error(database_url: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["audit", "prove", "0"], env=_env(database_url, tmp_path))
    assert result.exit_code != 0
    assert "no checkpoint covers position 0" in result.output
