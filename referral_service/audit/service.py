"""Sequencing, checkpoints, inclusion proofs and verification of the audit log.

Writers only insert events in their own transactions; nobody waits on a log-wide lock across a commit.
A single sequencer at a time (PostgreSQL advisory lock; SQLite's write lock) then appends the committed
events to `audit_log` with consecutive positions, their leaf hashes and position MACs, in short
transactions of its own. Every instance runs the sequencer loop; whichever holds the lock does the work.

Auditors search events (`search_events`, newest first, paged by `listing`), export them as CSV
(`export_events`) and check single positions (`check_inclusion`) through this
module, from the API and from the pages alike; reading the log is itself audited.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.audit import repository
from referral_service.audit.actions import AuditLogAction
from referral_service.audit.checkpoint import Checkpoint, CheckpointError
from referral_service.audit.keys import LOG_ORIGIN, AuditKeys
from referral_service.audit.merkle import TreeBuilder, inclusion_proof, leaf_hash, root_of, verify_inclusion
from referral_service.audit.models import AuditEvent
from referral_service.audit.recorder import (
    EVENT_COLUMN_ORDER,
    Actor,
    canonical_event_bytes,
    event_values,
    from_us,
    now_us,
    record_event,
    to_us,
)
from referral_service.audit.schemas import AuditEventOut, AuditEventPage
from referral_service.db import create_session_factory
from referral_service.leadership import take_leadership
from referral_service.listing import PAGE_SIZE, Page, fetch_export, fetch_page
from referral_service.problems import DomainError, ErrorKind

T = TypeVar("T")
# Sequencing and checkpointing share one leadership: both extend or sign the one log.
SEQUENCER_JOB = "audit-sequencer"


async def sequence_pending(engine: AsyncEngine, keys: AuditKeys, *, batch_size: int = 5_000) -> int:
    """Append every committed, not yet sequenced event to the log. Returns how many were appended."""
    factory = create_session_factory(engine)
    total = 0
    while True:
        async with factory() as session, session.begin():
            if not await take_leadership(session, SEQUENCER_JOB):
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
        if not await take_leadership(session, SEQUENCER_JOB):
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
class EventQuery:
    """An auditor's search: every criterion is optional. A time without zone is read as UTC; `until` is
    exclusive. Results come newest first, `limit` at a time, continued from the cursor `after`; with
    `after_id` (the API's earlier paging) instead oldest first, from the next larger id."""

    actor_ids: tuple[str, ...] | None = None
    action: str | None = None
    outcome: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    after: str | None = None
    after_id: int | None = None
    limit: int = PAGE_SIZE

    def criteria(self) -> repository.EventFilter:
        return repository.EventFilter(
            actor_ids=self.actor_ids,
            action=self.action,
            outcome=self.outcome,
            target_type=self.target_type,
            target_id=self.target_id,
            since_us=_moment_us(self.since),
            until_us=_moment_us(self.until),
        )


def _moment_us(moment: dt.datetime | None) -> int | None:
    if moment is None:
        return None
    return to_us(moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC))


def _event_out(row: Sequence[Any], seq: int | None) -> AuditEventOut:
    """An event row (columns in `EVENT_COLUMN_ORDER`) as the API and the pages show it."""
    values = dict(zip(EVENT_COLUMN_ORDER, row, strict=True))
    return AuditEventOut(
        id=values["id"],
        seq=seq,
        occurred_at=from_us(values["occurred_at_us"]),
        action=values["action"],
        outcome=values["outcome"],
        actor_kind=values["actor_kind"],
        actor_id=values["actor_id"],
        actor_roles=[role for role in values["actor_roles"].split(",") if role],
        actor_unit_id=values["actor_unit_id"],
        target_type=values["target_type"],
        target_id=values["target_id"],
        request_id=values["request_id"],
        client_hash=values["client_hash"],
        details=json.loads(values["details"]),
    )


async def _with_positions(session: AsyncSession, found: Sequence[AuditEvent]) -> list[AuditEventOut]:
    positions = await repository.positions_of(session, [event.id for event in found if event.id is not None])
    return [_event_out(event_values(event), positions.get(event.id or 0)) for event in found]


async def search_events(
    session: AsyncSession, query: EventQuery, *, actor: Actor, audit: Mapping[str, Any]
) -> AuditEventPage:
    """The events matching `query`; the search is recorded as `audit:event:read` (which criteria were
    used, not their values)."""
    criteria = query.criteria()
    next_after_id = None
    next_after = None
    if query.after_id is not None:
        found = await repository.events_after_id(session, criteria, query.after_id, query.limit)
        next_after_id = found[-1].id if len(found) == query.limit else None
    else:
        page: Page[AuditEvent] = await fetch_page(
            session,
            repository.events_matching(criteria),
            repository.EVENT_ORDER,
            after=query.after,
            limit=query.limit,
        )
        found, next_after = page.items, page.next_cursor
    events = await _with_positions(session, found)
    paging = [name for name in ("after", "after_id") if getattr(query, name) is not None]
    await record_event(
        session,
        action=AuditLogAction.EVENT_READ,
        actor=actor,
        details={"returned": len(events), "filtered_by": sorted([*criteria.used(), *paging])},
        **audit,
    )
    return AuditEventPage(events=events, next_after_id=next_after_id, next_after=next_after)


async def export_events(
    session: AsyncSession, query: EventQuery, *, actor: Actor, audit: Mapping[str, Any]
) -> list[AuditEventOut]:
    """Every event matching `query` (paging aside), newest first, for a CSV export: at most
    `EXPORT_LIMIT` (else `ExportTooLargeError`). Recorded as `audit:event:export` with the criteria's
    names and the number of events, never their values."""
    criteria = query.criteria()
    found: Sequence[AuditEvent] = await fetch_export(
        session, repository.events_matching(criteria), repository.EVENT_ORDER
    )
    events = await _with_positions(session, found)
    await record_event(
        session,
        action=AuditLogAction.EVENT_EXPORT,
        actor=actor,
        details={"returned": len(events), "filtered_by": criteria.used()},
        **audit,
    )
    return events


@dataclass(frozen=True, slots=True)
class InclusionProof:
    seq: int
    leaf_hash: bytes
    tree_size: int
    root_hash: bytes
    proof: list[bytes]
    checkpoint: str


class ProofUnavailableError(DomainError):
    """No checkpoint covers the position yet, or the position does not exist."""

    code = "audit.proof_unavailable"
    kind = ErrorKind.NOT_FOUND
    title = "No inclusion proof for this position"

    def __init__(self, seq: int) -> None:
        super().__init__("No signed checkpoint covers this position yet, or the position does not exist.")
        self.seq = seq


class LogDamagedError(ProofUnavailableError):
    """The log no longer holds every entry the newest checkpoint signed: no proof can be computed
    (`verify_log` names the first bad position)."""


async def _covering_tree(
    session: AsyncSession, seq: int
) -> tuple[repository.AuditCheckpointRow, list[bytes]]:
    """The newest checkpoint, if it covers `seq`, and the stored leaf hashes of its tree."""
    latest = await repository.checkpoints_in_order(session, newest_first=True, limit=1)
    if not latest or seq < 0 or seq >= latest[0].tree_size:
        raise ProofUnavailableError(seq)
    checkpoint = latest[0]
    return checkpoint, await repository.leaf_hashes(session, checkpoint.tree_size)


async def prove_inclusion(session: AsyncSession, seq: int) -> InclusionProof:
    """Inclusion proof of log position `seq` against the newest checkpoint that covers it."""
    checkpoint, leaves = await _covering_tree(session, seq)
    if len(leaves) != checkpoint.tree_size:
        raise LogDamagedError(seq)
    proof = inclusion_proof(seq, leaves)
    if not verify_inclusion(leaves[seq], seq, checkpoint.tree_size, proof, checkpoint.root_hash):
        # The stored leaves no longer produce the signed root: the log was tampered with.
        raise ProofUnavailableError(seq)
    return InclusionProof(
        seq, leaves[seq], checkpoint.tree_size, checkpoint.root_hash, proof, checkpoint.signed_text
    )


@dataclass(frozen=True, slots=True)
class InclusionCheck:
    """One position checked against the newest signed checkpoint, with each step's result, so that an
    auditor sees not only whether the proof holds but which part fails."""

    proof: InclusionProof
    # The event stored at the position now; None when it was deleted.
    event: AuditEventOut | None
    # When the checkpoint was signed (from its signed text); None when the signature does not hold.
    signed_at: dt.datetime | None
    # The checkpoint text carries a valid signature of the audit key and states the stored size and root.
    signature_valid: bool
    # The entry's leaf hash and the proof path give the checkpoint's root hash.
    path_valid: bool
    # The entry's position MAC holds: it was neither forged nor moved to another position.
    entry_authentic: bool
    # The event, hashed now, still gives the entry's leaf hash: it was not modified.
    event_unchanged: bool

    @property
    def verified(self) -> bool:
        return self.signature_valid and self.path_valid and self.entry_authentic and self.event_unchanged


async def check_inclusion(session: AsyncSession, seq: int, keys: AuditKeys) -> InclusionCheck:
    """Prove and check log position `seq` against the newest checkpoint, as an outside auditor would with
    the verifier key: signature, proof path, position MAC and the event's own hash.

    Raises `ProofUnavailableError` when no checkpoint covers `seq`, and its subclass `LogDamagedError`
    when entries the checkpoint signed are gone."""
    checkpoint, leaves = await _covering_tree(session, seq)
    entry = await repository.entry_at(session, seq)
    if entry is None or len(leaves) != checkpoint.tree_size:
        raise LogDamagedError(seq)
    width = len(EVENT_COLUMN_ORDER)
    event_row, stored_leaf, mac = entry[:width], bytes(entry[width]), bytes(entry[width + 1])
    try:
        signed: Checkpoint | None = keys.verifier.verify(checkpoint.signed_text)
    except CheckpointError:
        signed = None
    signature_valid = (
        signed is not None
        and signed.origin == LOG_ORIGIN
        and signed.tree_size == checkpoint.tree_size
        and signed.root_hash == checkpoint.root_hash
    )
    proof = inclusion_proof(seq, leaves)
    event = None if event_row[0] is None else _event_out(event_row, seq)
    return InclusionCheck(
        proof=InclusionProof(
            seq, stored_leaf, checkpoint.tree_size, checkpoint.root_hash, proof, checkpoint.signed_text
        ),
        event=event,
        signed_at=signed.timestamp if signature_valid and signed is not None else None,
        signature_valid=signature_valid,
        path_valid=verify_inclusion(stored_leaf, seq, checkpoint.tree_size, proof, checkpoint.root_hash),
        entry_authentic=hmac.compare_digest(keys.position_mac(seq, stored_leaf), mac),
        event_unchanged=event is not None and leaf_hash(canonical_event_bytes(event_row)) == stored_leaf,
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
