"""Rows for report tests, inserted directly (plain columns only, encrypted columns NULL) so that every
timestamp is exactly what the test says."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from complaints.models import Complaint
from referral_service.referrals.models import Referral
from tests.identity.support import DemoDirectory

UTC = dt.UTC
_sequence = itertools.count(1)


def referral(
    directory: DemoDirectory,
    *,
    station: str,
    submitted_at: dt.datetime,
    category: str = "bodily_harm",
    accepted_after: dt.timedelta | None = None,
    contact_after: dt.timedelta | None = None,
    status: str | None = None,
    declined: bool = False,
    withdrawn: bool = False,
    closed_with: str | None = None,
    support_given: str = "",
) -> Referral:
    officer = directory.account("officer.dresden").user_id
    accepted_at = submitted_at + accepted_after if accepted_after is not None else None
    first_contact_at = submitted_at + contact_after if contact_after is not None else None
    if status is None:
        status = "submitted"
        if accepted_at is not None:
            status = "accepted"
        if first_contact_at is not None:
            status = "in_contact"
        if closed_with is not None:
            status = "closed"
        if withdrawn:
            status = "withdrawn"
    later = max(t for t in (submitted_at, accepted_at, first_contact_at) if t is not None)
    return Referral(
        reference=f"VM-{submitted_at.year}-{next(_sequence):06d}",
        status=status,
        referring_station_id=directory.unit(station).id,
        referring_officer_id=officer,
        branch_id=directory.unit("wr-dresden").id,
        offence_category=category,
        incident_month=submitted_at.strftime("%Y-%m"),
        consent_given_by="victim",
        consent_given_at=submitted_at,
        consent_form="written",
        consent_scope="transfer_to_wr_for_contact_and_support",
        consent_recorded_by_id=officer,
        submitted_at=submitted_at,
        accepted_at=accepted_at,
        first_contact_at=first_contact_at,
        declined_at=submitted_at + dt.timedelta(hours=1) if declined else None,
        declined_by_branch_id=directory.unit("wr-meissen").id if declined else None,
        withdrawn_at=later + dt.timedelta(hours=1) if withdrawn else None,
        closed_at=later + dt.timedelta(days=3) if closed_with else None,
        close_outcome=closed_with,
        support_given=support_given,
        updated_at=later,
    )


def complaint(
    *,
    received_at: dt.datetime,
    channel: str = "web",
    category: str = "conduct_on_duty",
    police_staff: bool = False,
    status: str = "received",
    outcome: str | None = None,
    decided_after: dt.timedelta | None = None,
    closed_after: dt.timedelta | None = None,
    criminal: bool = False,
    disciplinary: bool = False,
    police_unit_id: uuid.UUID | None = None,
    **extra: Any,
) -> Complaint:
    sequence = next(_sequence)
    decided_at = received_at + decided_after if decided_after is not None else None
    closed_at = received_at + closed_after if closed_after is not None else None
    return Complaint(
        reference=f"BS-{received_at.year}-{sequence:06d}",
        year=received_at.year,
        sequence=sequence,
        access_code_hash="not-a-real-hash",
        complaint_type="complaint",
        complainant_kind="police_employee" if police_staff else "citizen",
        from_police_staff=police_staff,
        channel=channel,
        category=category,
        status=status,
        police_unit_id=police_unit_id,
        received_at=received_at,
        received_on=received_at.date(),
        outcome=outcome,
        no_decision_reason="facts_not_established" if outcome == "no_decision" else None,
        criminal_investigation=criminal,
        disciplinary_proceedings=disciplinary,
        decided_at=decided_at,
        closed_at=closed_at,
        updated_at=received_at,
        **extra,
    )


async def insert(engine: AsyncEngine, rows: Iterable[Any]) -> None:
    async with AsyncSession(engine, expire_on_commit=False) as session:
        session.add_all(list(rows))
        await session.commit()


def at(text: str) -> dt.datetime:
    """An ISO timestamp, read as UTC."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def hours(value: float) -> dt.timedelta:
    return dt.timedelta(hours=value)
