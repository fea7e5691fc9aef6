"""Sequencing, checkpoints, inclusion proofs and verification of the audit log (DESIGN §6).

Writers only insert events in their own transactions; nobody waits on a log-wide lock across a commit.
A single sequencer at a time (PostgreSQL advisory lock; SQLite's write lock) then appends the committed
events to `audit_log` with consecutive positions, their leaf hashes and position MACs, in short
transactions of its own. Every instance runs the sequencer loop; whichever holds the lock does the work.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.audit import repository
from referral_service.audit.checkpoint import Checkpoint, CheckpointError
from referral_service.audit.keys import LOG_ORIGIN, AuditKeys
from referral_service.audit.merkle import TreeBuilder, inclusion_proof, leaf_hash, root_of, verify_inclusion
from referral_service.audit.recorder import canonical_event_bytes, now_us
from referral_service.db import create_session_factory

T = TypeVar("T")


async def sequence_pending(engine: AsyncEngine, keys: AuditKeys, *, batch_size: int = 5_000) -> int:
    """Append every committed, not yet sequenced event to the log. Returns how many were appended."""
    factory = create_session_factory(engine)
    total = 0
    while True:
        async with factory() as session, session.begin():
            if not await repository.try_lead_sequencer(session):
                return total
            pending = await repository.unsequenced_events(session, batch_size)
            if not pending:
                return total
            seq = await repository.log_size(session)
            stamp = now_us()
            entries: list[dict[str, object]] = []
            for row in pending:
                leaf = leaf_hash(canonical_event_bytes(row))
                entries.append(
                    {
                        "seq": seq,
                        "event_id": row[0],
                        "leaf_hash": leaf,
                        "mac": keys.position_mac(seq, leaf),
                        "sequenced_at_us": stamp,
                    }
                )
                seq += 1
            await repository.append_log_entries(session, entries)
        total += len(entries)
        if len(pending) < batch_size:
            return total


async def create_checkpoint(engine: AsyncEngine, keys: AuditKeys) -> repository.AuditCheckpointRow | None:
    """Sequence what is pending, then sign the current tree head. None when nothing changed since the last."""
    await sequence_pending(engine, keys)
    factory = create_session_factory(engine)
    async with factory() as session, session.begin():
        if not await repository.try_lead_sequencer(session):
            return None
        size = await repository.log_size(session)
        latest = await repository.checkpoints_in_order(session, newest_first=True, limit=1)
        if size == 0 or (latest and latest[0].tree_size == size):
            return None
        root = root_of(await repository.leaf_hashes(session, size))
        moment = dt.datetime.now(dt.UTC).replace(microsecond=0)
        signed = keys.signer.sign(Checkpoint(LOG_ORIGIN, size, root, moment))
        row = repository.AuditCheckpointRow(size, root, now_us(), signed)
        await repository.insert_checkpoint(session, row)
        return row


@dataclass(frozen=True, slots=True)
class InclusionProof:
    seq: int
    leaf_hash: bytes
    tree_size: int
    root_hash: bytes
    proof: list[bytes]
    checkpoint: str


class ProofUnavailableError(LookupError):
    """No checkpoint covers the position yet, or the position does not exist."""


async def prove_inclusion(session: AsyncSession, seq: int) -> InclusionProof:
    """Inclusion proof of log position `seq` against the newest checkpoint that covers it."""
    latest = await repository.checkpoints_in_order(session, newest_first=True, limit=1)
    if not latest or seq < 0 or seq >= latest[0].tree_size:
        raise ProofUnavailableError(seq)
    checkpoint = latest[0]
    leaves = await repository.leaf_hashes(session, checkpoint.tree_size)
    proof = inclusion_proof(seq, leaves)
    if not verify_inclusion(leaves[seq], seq, checkpoint.tree_size, proof, checkpoint.root_hash):
        # The stored leaves no longer produce the signed root: the log was tampered with.
        raise ProofUnavailableError(seq)
    return InclusionProof(
        seq, leaves[seq], checkpoint.tree_size, checkpoint.root_hash, proof, checkpoint.signed_text
    )


@dataclass(slots=True)
class VerificationReport:
    """What `verify` found. `first_bad_position` is None for an intact log."""

    tree_size: int = 0
    checkpoints_checked: int = 0
    unsequenced_events: int = 0
    first_bad_position: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def fail_in_range(self, start: int, end: int, problem: str) -> None:
        """A problem known only to lie in [start, end): counts unless an exact position there is known."""
        if self.first_bad_position is not None and self.first_bad_position < end:
            if len(self.problems) < 100:
                self.problems.append(f"positions {start}..{end - 1}: {problem}")
            return
        self.fail(start, f"{problem} (somewhere in positions {start}..{end - 1})")

    def fail(self, position: int, problem: str) -> None:
        if self.first_bad_position is None or position < self.first_bad_position:
            self.first_bad_position = position
        if len(self.problems) < 100:
            self.problems.append(f"position {position}: {problem}")


async def verify_log(
    engine: AsyncEngine,
    keys: AuditKeys,
    *,
    progress: Callable[[int], None] | None = None,
    chunk_size: int = 25_000,
) -> VerificationReport:
    """Recompute every leaf and the tree, check every position MAC and every signed checkpoint.

    Detects a modified field (leaf differs from the stored one, or stored leaf no longer matches its
    MAC), a deleted event or entry (missing event, gap in positions), an inserted or moved entry (MAC
    under another position), and a cut tail (a signed checkpoint larger than the log).

    The log (by position) and the events (by id) are read as two streams on two connections, each with
    its next chunk already requested while this loop hashes the current one, so the database and the
    hashing run side by side. The sequencer appends events in nearly id order, so few events wait for
    their position in `waiting`.
    """
    report = VerificationReport()
    concurrent = engine.dialect.name == "postgresql"
    async with contextlib.AsyncExitStack() as stack:
        log_connection = await stack.enter_async_context(engine.connect())
        # SQLite serialises transactions: one connection, read in turn. PostgreSQL: one per stream.
        event_connection = await stack.enter_async_context(engine.connect()) if concurrent else log_connection
        checkpoints = await repository.checkpoints_in_order(log_connection)
        verified = _verified_checkpoints(checkpoints, keys, report)
        last_seq = await repository.max_seq(log_connection)
        last_event = await repository.max_event_id(event_connection)
        log_raw = await repository.raw_postgres_connection(log_connection)
        event_raw = await repository.raw_postgres_connection(event_connection)

        async def fetch_log(start: int, end: int) -> list[repository.LogRecord]:
            return await repository.log_chunk(log_connection, log_raw, start, end)

        async def fetch_events(start: int, end: int) -> tuple[int, dict[int, bytes]]:
            return end, await repository.event_chunk(event_connection, event_raw, start, end)

        event_chunks = _chunks(fetch_events, _ranges(1, last_event + 1, chunk_size), ahead=concurrent)
        waiting: dict[int, bytes] = {}
        events_read_below = 1
        matched = 0
        pending = iter(verified)
        next_checkpoint = next(pending, None)
        previous_size = 0
        builder = TreeBuilder()
        append = builder.append
        position_mac = keys.position_mac
        sha256 = hashlib.sha256
        expected = 0
        async for records in _chunks(fetch_log, _ranges(0, last_seq + 1, chunk_size), ahead=concurrent):
            for seq, event_id, stored_leaf, mac in records:
                if seq != expected:
                    report.fail(expected, "entry missing (positions are not consecutive)")
                    expected = seq
                while event_id >= events_read_below:
                    try:
                        events_read_below, chunk = await anext(event_chunks)
                    except StopAsyncIteration:
                        break
                    waiting.update(chunk)
                event = waiting.pop(event_id, None)
                if event is None:
                    report.fail(seq, "event deleted (or listed twice)")
                    leaf = stored_leaf
                else:
                    matched += 1
                    leaf = sha256(b"\x00" + event).digest()
                    if leaf != stored_leaf:
                        report.fail(seq, "event modified (leaf hash differs)")
                if position_mac(seq, stored_leaf) != mac:
                    report.fail(seq, "log entry not authentic at this position (forged, moved or altered)")
                append(leaf)
                expected += 1
                while next_checkpoint is not None and next_checkpoint[0] == expected:
                    report.checkpoints_checked += 1
                    if builder.root() != next_checkpoint[1]:
                        report.fail_in_range(previous_size, expected, "tree differs from signed checkpoint")
                    previous_size = next_checkpoint[0]
                    next_checkpoint = next(pending, None)
            if progress is not None:
                progress(len(records))
        report.tree_size = expected
        while next_checkpoint is not None:
            if next_checkpoint[0] > expected:
                report.fail(
                    expected, f"log ends before signed checkpoint of size {next_checkpoint[0]} (truncated)"
                )
            next_checkpoint = next(pending, None)
        await event_chunks.aclose()
        report.unsequenced_events = await repository.count_events(event_connection) - matched
    return report


def _verified_checkpoints(
    checkpoints: list[repository.AuditCheckpointRow], keys: AuditKeys, report: VerificationReport
) -> list[tuple[int, bytes]]:
    """(size, root) of every checkpoint whose signature holds; the others are reported."""
    verified: list[tuple[int, bytes]] = []
    for stored in checkpoints:
        try:
            signed = keys.verifier.verify(stored.signed_text)
        except CheckpointError as exc:
            report.fail(stored.tree_size, f"checkpoint signature invalid ({exc})")
            continue
        if signed.origin != LOG_ORIGIN:
            report.fail(stored.tree_size, f"checkpoint is of another log ({signed.origin})")
            continue
        if signed.tree_size != stored.tree_size or signed.root_hash != stored.root_hash:
            report.fail(stored.tree_size, "checkpoint columns differ from its signed text")
        verified.append((signed.tree_size, signed.root_hash))
    return verified


def _ranges(start: int, end: int, step: int) -> list[tuple[int, int]]:
    return [(low, min(low + step, end)) for low in range(start, end, step)]


async def _chunks(
    fetch: Callable[[int, int], Awaitable[T]], ranges: list[tuple[int, int]], *, ahead: bool
) -> AsyncGenerator[T, None]:
    """Results of `fetch` over `ranges` in order; with `ahead`, the next request is always already sent."""
    if not ahead:
        for low, high in ranges:
            yield await fetch(low, high)
        return
    if not ranges:
        return
    in_flight = asyncio.ensure_future(fetch(*ranges[0]))
    try:
        for following in ranges[1:]:
            result = await in_flight
            in_flight = asyncio.ensure_future(fetch(*following))
            await asyncio.sleep(0)  # let the request reach the database before the caller computes
            yield result
        yield await in_flight
    finally:
        if not in_flight.done():
            in_flight.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await in_flight
