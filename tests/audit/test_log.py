"""The audit log on both engines: append-only tables, gapless sequencing, and tamper detection."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service.audit import repository
from referral_service.audit.actions import AuditAction
from referral_service.audit.keys import AuditKeys, load_audit_keys
from referral_service.audit.merkle import verify_inclusion
from referral_service.audit.recorder import (
    SYSTEM,
    Actor,
    ActorKind,
    AuditDetailError,
    record_event,
)
from referral_service.audit.service import (
    create_checkpoint,
    prove_inclusion,
    sequence_pending,
    verify_log,
)
from referral_service.db import create_database_engine, create_session_factory
from referral_service.referrals.audit_actions import ReferralAuditAction
from referral_service.settings import load_settings

OFFICER = Actor(ActorKind.USER, user_id="u-17", roles=("police_officer",), unit_id="rev-dresden-nord")


@pytest.fixture
def keys(tmp_path: Path) -> AuditKeys:
    return load_audit_keys(load_settings({"REFERRAL_VAR_DIR": str(tmp_path)}))


async def write_events(engine: AsyncEngine, count: int, *, prefix: str = "r") -> None:
    factory = create_session_factory(engine)
    for index in range(count):
        async with factory() as session, session.begin():
            await record_event(
                session,
                action=ReferralAuditAction.REFERRAL_READ,
                actor=OFFICER,
                target_type="referral",
                target_id=f"{prefix}-{index}",
                details={"fields": ["victim_name", "phone"]},
                request_id=f"req-{prefix}-{index}",
            )


@pytest.fixture
async def log_with_checkpoints(engine: AsyncEngine, keys: AuditKeys) -> AsyncEngine:
    """20 events, checkpoints at sizes 8 and 20."""
    await write_events(engine, 8)
    assert await create_checkpoint(engine, keys) is not None
    await write_events(engine, 12, prefix="s")
    assert await create_checkpoint(engine, keys) is not None
    return engine


async def tamper(engine: AsyncEngine, *statements: str) -> None:
    """Change the tables the way a database superuser could, with triggers and foreign keys out of the way."""
    if engine.dialect.name == "postgresql":
        async with engine.begin() as connection:
            await connection.execute(text("SET LOCAL session_replication_role = replica"))
            for statement in statements:
                await connection.execute(text(statement))
        return
    # SQLite: whoever can write the file can do anything; open it directly, without our engine's settings.
    database = sqlite3.connect(str(engine.url.database), isolation_level=None)
    try:
        database.execute("PRAGMA foreign_keys = OFF")
        database.execute("BEGIN")
        for table in ("audit_events", "audit_log", "audit_checkpoints"):
            for operation in ("update", "delete"):
                database.execute(f"DROP TRIGGER IF EXISTS {table}_no_{operation}")
        for statement in statements:
            database.execute(statement)
        database.execute("COMMIT")
    finally:
        database.close()


async def seq_of_event(engine: AsyncEngine, target_id: str) -> tuple[int, int]:
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    "SELECT l.seq, e.id FROM audit_log l JOIN audit_events e ON e.id = l.event_id "
                    "WHERE e.target_id = :t"
                ),
                {"t": target_id},
            )
        ).one()
    return int(row[0]), int(row[1])


async def test_untouched_log_verifies(log_with_checkpoints: AsyncEngine, keys: AuditKeys) -> None:
    report = await verify_log(log_with_checkpoints, keys)
    assert report.ok, report.problems
    assert report.tree_size == 20
    assert report.checkpoints_checked == 2
    assert report.first_bad_position is None


async def test_events_commit_and_roll_back_with_their_transaction(
    engine: AsyncEngine, keys: AuditKeys
) -> None:
    factory = create_session_factory(engine)

    async def failing_change() -> None:
        async with factory() as session, session.begin():
            await record_event(
                session, action=ReferralAuditAction.REFERRAL_CREATE, actor=OFFICER, target_id="gone"
            )
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        await failing_change()
    await write_events(engine, 1)
    assert await sequence_pending(engine, keys) == 1
    async with engine.connect() as connection:
        targets = (await connection.execute(text("SELECT target_id FROM audit_events"))).scalars().all()
    assert targets == ["r-0"]


@pytest.mark.parametrize(
    ("statement", "table"),
    [
        ("UPDATE audit_events SET outcome = 'failure'", "audit_events"),
        ("DELETE FROM audit_events", "audit_events"),
        ("UPDATE audit_log SET seq = seq + 100", "audit_log"),
        ("DELETE FROM audit_log", "audit_log"),
        ("UPDATE audit_checkpoints SET tree_size = 1", "audit_checkpoints"),
        ("DELETE FROM audit_checkpoints", "audit_checkpoints"),
    ],
)
async def test_database_refuses_update_and_delete(
    log_with_checkpoints: AsyncEngine, statement: str, table: str
) -> None:
    with pytest.raises(DBAPIError, match="append-only"):
        async with log_with_checkpoints.begin() as connection:
            await connection.execute(text(statement))


@pytest.mark.parametrize("table", ["audit_events", "audit_log", "audit_checkpoints"])
async def test_postgresql_refuses_truncate(log_with_checkpoints: AsyncEngine, table: str) -> None:
    if log_with_checkpoints.dialect.name != "postgresql":
        pytest.skip("TRUNCATE exists only on PostgreSQL")
    with pytest.raises(DBAPIError, match="append-only"):
        async with log_with_checkpoints.begin() as connection:
            await connection.execute(text(f"TRUNCATE {table} CASCADE"))


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("occurred_at_us", "occurred_at_us + 1"),
        ("action", "'referral:referral:list'"),
        ("outcome", "'denied'"),
        ("actor_kind", "'system'"),
        ("actor_id", "'u-99'"),
        ("actor_roles", "'admin'"),
        ("actor_unit_id", "'elsewhere'"),
        ("target_type", "'complaint'"),
        ("target_id", "'r-999'"),
        ("request_id", "NULL"),
        ("client_hash", "'abc'"),
        ("details", "'{}'"),
    ],
)
async def test_changing_any_field_of_one_event_is_found_at_its_position(
    log_with_checkpoints: AsyncEngine, keys: AuditKeys, column: str, value: str
) -> None:
    seq, event_id = await seq_of_event(log_with_checkpoints, "r-5")
    await tamper(log_with_checkpoints, f"UPDATE audit_events SET {column} = {value} WHERE id = {event_id}")
    report = await verify_log(log_with_checkpoints, keys)
    assert not report.ok
    assert report.first_bad_position == seq == 5


async def test_changing_an_event_and_its_stored_leaf_is_found(
    log_with_checkpoints: AsyncEngine, keys: AuditKeys
) -> None:
    seq, event_id = await seq_of_event(log_with_checkpoints, "s-3")
    await tamper(
        log_with_checkpoints,
        f"UPDATE audit_events SET outcome = 'failure' WHERE id = {event_id}",
        # a forged leaf of the right length; the position MAC no longer matches it
        f"UPDATE audit_log SET leaf_hash = (SELECT leaf_hash FROM audit_log WHERE seq = 0) WHERE seq = {seq}",
    )
    report = await verify_log(log_with_checkpoints, keys)
    assert report.first_bad_position == seq


async def test_deleting_an_event_is_found(log_with_checkpoints: AsyncEngine, keys: AuditKeys) -> None:
    seq, event_id = await seq_of_event(log_with_checkpoints, "s-2")
    await tamper(
        log_with_checkpoints,
        f"DELETE FROM audit_log WHERE event_id = {event_id}",
        f"DELETE FROM audit_events WHERE id = {event_id}",
    )
    report = await verify_log(log_with_checkpoints, keys)
    assert report.first_bad_position == seq


async def test_deleting_only_the_event_row_is_found(
    log_with_checkpoints: AsyncEngine, keys: AuditKeys
) -> None:
    seq, event_id = await seq_of_event(log_with_checkpoints, "r-1")
    await tamper(log_with_checkpoints, f"DELETE FROM audit_events WHERE id = {event_id}")
    report = await verify_log(log_with_checkpoints, keys)
    assert report.first_bad_position == seq
    assert "event deleted" in report.problems[0]


async def test_inserting_a_forged_event_is_found(log_with_checkpoints: AsyncEngine, keys: AuditKeys) -> None:
    # Make room at position 4 by shifting later entries, then put a forged event there.
    await tamper(
        log_with_checkpoints,
        "UPDATE audit_log SET seq = -seq - 1 WHERE seq >= 4",
        "UPDATE audit_log SET seq = -seq WHERE seq < 0",
        "INSERT INTO audit_events (id, occurred_at_us, action, outcome, actor_kind, actor_roles, details) "
        "VALUES (900, 1, 'referral:referral:read', 'success', 'system', '', '{}')",
        "INSERT INTO audit_log (seq, event_id, leaf_hash, mac, sequenced_at_us) "
        "SELECT 4, 900, leaf_hash, mac, 1 FROM audit_log WHERE seq = 3",
    )
    report = await verify_log(log_with_checkpoints, keys)
    assert report.first_bad_position == 4


async def test_appending_a_forged_entry_is_found(log_with_checkpoints: AsyncEngine, keys: AuditKeys) -> None:
    await tamper(
        log_with_checkpoints,
        "INSERT INTO audit_events (id, occurred_at_us, action, outcome, actor_kind, actor_roles, details) "
        "VALUES (901, 1, 'referral:referral:read', 'success', 'system', '', '{}')",
        "INSERT INTO audit_log (seq, event_id, leaf_hash, mac, sequenced_at_us) "
        "SELECT 20, 901, leaf_hash, mac, 1 FROM audit_log WHERE seq = 19",
    )
    report = await verify_log(log_with_checkpoints, keys)
    assert report.first_bad_position == 20


async def test_swapping_two_events_is_found(log_with_checkpoints: AsyncEngine, keys: AuditKeys) -> None:
    await tamper(
        log_with_checkpoints,
        "UPDATE audit_log SET seq = -1 WHERE seq = 6",
        "UPDATE audit_log SET seq = 6 WHERE seq = 11",
        "UPDATE audit_log SET seq = 11 WHERE seq = -1",
    )
    report = await verify_log(log_with_checkpoints, keys)
    assert report.first_bad_position == 6


async def test_cutting_the_tail_after_a_checkpoint_is_found(
    log_with_checkpoints: AsyncEngine, keys: AuditKeys
) -> None:
    await tamper(
        log_with_checkpoints,
        "DELETE FROM audit_events WHERE id IN (SELECT event_id FROM audit_log WHERE seq >= 15)",
        "DELETE FROM audit_log WHERE seq >= 15",
    )
    report = await verify_log(log_with_checkpoints, keys)
    assert report.first_bad_position == 15
    assert any("truncated" in problem for problem in report.problems)


async def test_a_forged_checkpoint_is_found(log_with_checkpoints: AsyncEngine, keys: AuditKeys) -> None:
    await tamper(
        log_with_checkpoints,
        "UPDATE audit_checkpoints SET signed_text = replace(signed_text, '\n8\n', '\n7\n') "
        "WHERE tree_size = 8",
    )
    report = await verify_log(log_with_checkpoints, keys)
    assert not report.ok
    assert any("checkpoint" in problem for problem in report.problems)


async def test_inclusion_proof_verifies_against_the_signed_root(
    log_with_checkpoints: AsyncEngine, keys: AuditKeys
) -> None:
    async with create_session_factory(log_with_checkpoints)() as session:
        proof = await prove_inclusion(session, 13)
    assert proof.tree_size == 20
    assert keys.verifier.verify(proof.checkpoint).root_hash == proof.root_hash
    assert verify_inclusion(proof.leaf_hash, 13, proof.tree_size, proof.proof, proof.root_hash)
    assert not verify_inclusion(proof.leaf_hash, 12, proof.tree_size, proof.proof, proof.root_hash)


async def test_no_new_checkpoint_without_new_events(
    log_with_checkpoints: AsyncEngine, keys: AuditKeys
) -> None:
    assert await create_checkpoint(log_with_checkpoints, keys) is None


@pytest.mark.slow
async def test_two_concurrent_writers_produce_one_gapless_verifiable_log(
    database_url: str, keys: AuditKeys
) -> None:
    """Two instances (own engines), 1,000 events each, with a sequencer running beside each writer."""
    first, second = create_database_engine(database_url), create_database_engine(database_url)
    try:
        stop = asyncio.Event()

        async def sequencer(engine: AsyncEngine) -> None:
            while not stop.is_set():
                await sequence_pending(engine, keys)
                await asyncio.sleep(0.01)

        sequencers = [asyncio.create_task(sequencer(e)) for e in (first, second)]
        await asyncio.gather(write_events(first, 1000, prefix="a"), write_events(second, 1000, prefix="b"))
        stop.set()
        await asyncio.gather(*sequencers)
        await sequence_pending(first, keys)
        await create_checkpoint(first, keys)
        async with first.connect() as connection:
            seqs = (await connection.execute(text("SELECT seq FROM audit_log ORDER BY seq"))).scalars().all()
            assert await repository.count_unsequenced(connection) == 0
        assert seqs == list(range(2000))
        report = await verify_log(first, keys)
        assert report.ok, report.problems
        assert report.tree_size == 2000
    finally:
        await first.dispose()
        await second.dispose()


@pytest.mark.parametrize(
    "details",
    [
        {"name": "Erika Mustermann"},
        {"email": "erika@example.org"},
        {"note": "wohnt Hauptstr. 5"},
        {"fields": ["victim_name", "Erika Mustermann"]},
        {"Bad Key": "x"},
    ],
)
async def test_free_text_is_refused_in_details(engine: AsyncEngine, details: dict[str, object]) -> None:
    async with create_session_factory(engine)() as session:
        with pytest.raises(AuditDetailError) as caught:
            await record_event(
                session, action=ReferralAuditAction.REFERRAL_READ, actor=SYSTEM, details=details
            )
    assert "Erika" not in str(caught.value)


async def test_only_declared_actions_are_recorded(engine: AsyncEngine) -> None:
    async with create_session_factory(engine)() as session:
        with pytest.raises(TypeError):
            await record_event(session, action="referral:referral:read", actor=SYSTEM)  # type: ignore[arg-type]
        assert not session.new


def test_an_action_must_have_three_parts() -> None:
    with pytest.raises(ValueError, match="<scope>:<resource>:<action>"):

        class Misnamed(AuditAction):
            READ = "read"


async def test_every_instance_runs_the_sequencer_in_the_background(database_url: str, tmp_path: Path) -> None:
    from litestar.testing import AsyncTestClient

    from referral_service.app import create_app

    settings = load_settings({"REFERRAL_DATABASE_URL": database_url, "REFERRAL_VAR_DIR": str(tmp_path / "v")})
    assert settings.background_jobs
    engine = create_database_engine(database_url)
    try:
        await write_events(engine, 3)
        async with AsyncTestClient(app=create_app(settings)):
            for _ in range(100):
                async with engine.connect() as connection:
                    if await repository.log_size(connection) == 3:
                        break
                await asyncio.sleep(0.05)
        async with engine.connect() as connection:
            assert await repository.log_size(connection) == 3
    finally:
        await engine.dispose()
