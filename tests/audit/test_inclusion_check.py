"""The auditor's inclusion check of one position (`check_inclusion`), on both engines. (The event
search: test_event_search.py.)"""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service.audit.keys import AuditKeys
from referral_service.audit.merkle import verify_inclusion
from referral_service.audit.service import (
    LogDamagedError,
    ProofUnavailableError,
    check_inclusion,
    prove_inclusion,
)
from referral_service.db import create_session_factory
from tests.audit.test_log import keys, log_with_checkpoints, tamper, write_events

__all__ = ["keys", "log_with_checkpoints"]  # fixtures used below


async def test_an_intact_position_passes_every_step(
    log_with_checkpoints: AsyncEngine, keys: AuditKeys
) -> None:
    async with create_session_factory(log_with_checkpoints)() as session:
        check = await check_inclusion(session, 13, keys)
        proved = await prove_inclusion(session, 13)
    assert check.verified
    assert (check.signature_valid, check.path_valid, check.entry_authentic, check.event_unchanged) == (
        True,
        True,
        True,
        True,
    )
    # The same proof as the API and the CLI give, against the newest checkpoint (20 entries).
    assert check.proof == proved
    assert check.proof.tree_size == 20
    assert verify_inclusion(check.proof.leaf_hash, 13, 20, check.proof.proof, check.proof.root_hash)
    assert check.event is not None
    assert (check.event.seq, check.event.target_id, check.event.action) == (
        13,
        "s-5",
        "referral:referral:read",
    )
    assert check.signed_at is not None


async def test_a_modified_event_fails_only_its_own_hash(
    log_with_checkpoints: AsyncEngine, keys: AuditKeys
) -> None:
    await tamper(
        log_with_checkpoints,
        "UPDATE audit_events SET target_id = 's-forged' "
        "WHERE id = (SELECT event_id FROM audit_log WHERE seq = 13)",
    )
    async with create_session_factory(log_with_checkpoints)() as session:
        check = await check_inclusion(session, 13, keys)
    assert not check.verified
    assert not check.event_unchanged
    assert (check.signature_valid, check.path_valid, check.entry_authentic) == (True, True, True)
    assert check.event is not None
    assert check.event.target_id == "s-forged"


async def test_a_swapped_leaf_fails_path_and_position(
    log_with_checkpoints: AsyncEngine, keys: AuditKeys
) -> None:
    await tamper(
        log_with_checkpoints,
        "UPDATE audit_log SET leaf_hash = (SELECT l.leaf_hash FROM audit_log l WHERE l.seq = 12) "
        "WHERE seq = 13",
    )
    async with create_session_factory(log_with_checkpoints)() as session:
        check = await check_inclusion(session, 13, keys)
        with pytest.raises(ProofUnavailableError):
            await prove_inclusion(session, 13)
    assert not check.verified
    assert not check.path_valid
    assert not check.entry_authentic
    assert not check.event_unchanged
    assert check.signature_valid


async def test_a_forged_checkpoint_fails_the_signature(
    log_with_checkpoints: AsyncEngine, keys: AuditKeys
) -> None:
    await tamper(
        log_with_checkpoints,
        "UPDATE audit_checkpoints SET signed_text = replace(signed_text, '\n20\n', '\n21\n') "
        "WHERE tree_size = 20",
    )
    async with create_session_factory(log_with_checkpoints)() as session:
        check = await check_inclusion(session, 3, keys)
    assert not check.verified
    assert not check.signature_valid
    assert check.signed_at is None
    assert (check.path_valid, check.event_unchanged) == (True, True)


async def test_positions_without_proof_and_a_damaged_log(
    log_with_checkpoints: AsyncEngine, keys: AuditKeys
) -> None:
    await write_events(log_with_checkpoints, 2, prefix="t")  # not covered by any checkpoint yet
    async with create_session_factory(log_with_checkpoints)() as session:
        for seq in (-1, 20, 21, 10**15):
            with pytest.raises(ProofUnavailableError) as raised:
                await check_inclusion(session, seq, keys)
            assert not isinstance(raised.value, LogDamagedError)
    await tamper(log_with_checkpoints, "DELETE FROM audit_log WHERE seq = 4")
    async with create_session_factory(log_with_checkpoints)() as session:
        for seq in (4, 5):
            with pytest.raises(LogDamagedError):
                await check_inclusion(session, seq, keys)
