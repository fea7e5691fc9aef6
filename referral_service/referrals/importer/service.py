"""Running an import: check every row, then write all of them in the caller's transaction, or nothing.

Each referral gets a data key of its own and its personal fields are sealed with `keys.fields.seal`
and blind-indexed with intake's `_index`, the code path of a referral entered by hand, so an imported
referral is read, erased and shredded like any other. What intake does row by row is done here in bulk:
the data keys are made in memory (`CaseKeys.new_record`), the routing table is read once, the
references of a year are taken in one statement, and each table gets one multi-row insert per chunk.
A withdrawn referral keeps no personal data, so it gets no key. Imported referrals send no
notifications and start no deadline reminders of their own; their dates and status say what happened.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service import importing, references
from referral_service.audit.recorder import SYSTEM, record_event
from referral_service.identity.roles import UnitKind
from referral_service.importing import RowError, Sheet, local_date
from referral_service.keys.fields import seal
from referral_service.keys.service import CaseKeys
from referral_service.referrals.audit_actions import ReferralAuditAction
from referral_service.referrals.domain import ConsentScope, ReferralStatus
from referral_service.referrals.importer import repository, rows
from referral_service.referrals.importer.rows import ImportRow
from referral_service.referrals.models import (
    Referral,
    ReferralImport,
    ReferralReferenceCounter,
    ReferralTransition,
)
from referral_service.referrals.service.common import CASE_KIND, codes
from referral_service.referrals.service.intake import REFERENCE_PREFIX, _index

CHUNK = 1000
# The timeline's first entry of an imported referral (intake writes "submit").
IMPORT_ACTION = "import"


@dataclass(frozen=True, slots=True)
class ImportResult:
    import_id: str
    # The referrals the file holds (checked), and whether they were written.
    referrals: int = 0
    written: bool = False
    already_imported: bool = False
    errors: Sequence[RowError] = ()
    statuses: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ImportOptions:
    import_id: str
    # The user the imported referrals are recorded by (referring officer and recorder of the consent:
    # the old records name people who have no account here).
    recorded_by: uuid.UUID
    now: dt.datetime
    started_on: dt.date | None = None
    dry_run: bool = False


async def import_sheet(
    session: AsyncSession,
    keys: CaseKeys,
    sheet: Sheet,
    options: ImportOptions,
    *,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Check `sheet` and, unless a dry run or any row has an error, write it in `session`'s transaction."""
    import_id = options.import_id
    columns, errors = rows.columns_of(sheet.header)
    if errors:
        return ImportResult(import_id, errors=errors)
    if await repository.is_recorded(session, import_id):
        return ImportResult(import_id, already_imported=True)
    stations = await repository.unit_ids(session, UnitKind.POLICE_STATION)
    branches = await repository.unit_ids(session, UnitKind.WR_BRANCH)
    limits = rows.Limits(
        now=options.now,
        started_on=options.started_on,
        stations=stations,
        branches=branches,
        taken=await repository.taken_references(session, rows.references_in(sheet, columns)),
    )
    records, errors = rows.check_rows(sheet, columns, limits)
    statuses = dict(Counter(record.status.value for record in records))
    if errors or options.dry_run:
        return ImportResult(import_id, referrals=len(records), errors=errors, statuses=statuses)
    routes = await repository.postcode_routes(session)
    await repository.record(
        session, ReferralImport(id=import_id, imported_at=options.now, referrals=len(records))
    )
    numbers = await _references(session, records)
    for start in range(0, len(records), CHUNK):
        chunk = records[start : start + CHUNK]
        key_rows: list[dict[str, Any]] = []
        referral_rows: list[dict[str, Any]] = []
        transition_rows: list[dict[str, Any]] = []
        for record in chunk:
            referral = _referral(record, numbers[record.row], stations, branches, routes, options)
            if record.status is not ReferralStatus.WITHDRAWN:
                key, key_record = keys.new_record(CASE_KIND)
                key_rows.append(importing.values_of(key_record))
                day = record.incident if len(record.incident) == len("YYYY-MM-DD") else None
                seal(referral, key, **record.personal, incident_date=day)
                _index(
                    referral,
                    keys,
                    phone=record.personal.get("phone"),
                    email=record.personal.get("email"),
                    case_number=record.personal.get("case_number"),
                )
            referral_rows.append(importing.values_of(referral))
            transition_rows.append(
                importing.values_of(
                    ReferralTransition(
                        referral_id=referral.id,
                        action=IMPORT_ACTION,
                        from_status="",
                        to_status=referral.status,
                        actor_id=options.recorded_by,
                        at=record.submitted_at,
                    )
                )
            )
        await repository.insert_chunk(session, key_rows, referral_rows, transition_rows)
        if progress is not None:
            progress(len(chunk))
    await record_event(
        session,
        action=ReferralAuditAction.REFERRAL_IMPORT,
        actor=SYSTEM,
        target_type="referral_import",
        target_id=import_id,
        # Counts and codes only: per status, and the years submitted.
        details={
            "referrals": len(records),
            **{f"status_{status}": count for status, count in sorted(statuses.items())},
            "years": sorted({str(local_date(record.submitted_at).year) for record in records}),
            "references_kept": sum(record.reference is not None for record in records),
        },
    )
    return ImportResult(import_id, referrals=len(records), written=True, statuses=statuses)


async def _references(session: AsyncSession, records: Sequence[ImportRow]) -> dict[int, tuple[int, str]]:
    """Numbers in the year of submission."""

    async def allocate(year: int, count: int, after: int) -> int:
        return await references.allocate_block(session, ReferralReferenceCounter, year, count, after=after)

    return await importing.number_rows(
        records,
        moment=lambda record: record.submitted_at,
        year=lambda record: local_date(record.submitted_at).year,
        allocate=allocate,
        reference=lambda year, sequence: references.format_reference(REFERENCE_PREFIX, year, sequence),
    )


def _route(routes: Sequence[tuple[str, str, uuid.UUID]], postcode: str | None) -> uuid.UUID | None:
    """The branch serving `postcode`, as intake's routing picks it (the range with the highest start
    that holds it), or None: the state office's queue."""
    if postcode is None:
        return None
    for low, high, branch in routes:
        if low <= postcode <= high:
            return branch
    return None


def _referral(
    record: ImportRow,
    number: tuple[int, str],
    stations: Mapping[str, uuid.UUID],
    branches: Mapping[str, uuid.UUID],
    routes: Sequence[tuple[str, str, uuid.UUID]],
    options: ImportOptions,
) -> Referral:
    branch = branches[record.branch] if record.branch is not None else None
    declined = record.status is ReferralStatus.DECLINED_BY_BRANCH
    if branch is None:
        branch = _route(routes, record.personal.get("postcode"))
    return Referral(
        id=uuid.uuid4(),
        reference=number[1],
        status=record.status.value,
        referring_station_id=stations[record.station],
        referring_officer_id=options.recorded_by,
        # A declined referral waits for the state office; the branch is the one that declined it.
        branch_id=None if declined else branch,
        declined_by_branch_id=branch if declined else None,
        decline_reason=record.decline_reason.value if record.decline_reason is not None else None,
        offence_category=record.offence.value,
        hate_crime=record.hate_crime,
        incident_month=record.incident[:7],
        requested_support=codes(list(record.requested_support)),
        urgency=record.urgency.value,
        language=record.language,
        interpreter_needed=record.interpreter_needed,
        consent_given_by=record.consent_given_by.value,
        consent_given_at=record.consent_given_at,
        consent_form=record.consent_form.value,
        consent_scope=ConsentScope.TRANSFER_TO_WR_FOR_CONTACT_AND_SUPPORT.value,
        consent_recorded_by_id=options.recorded_by,
        close_outcome=record.close_outcome.value if record.close_outcome is not None else None,
        support_given=codes(list(record.support_given)),
        submitted_at=record.submitted_at,
        accepted_at=record.accepted_at,
        first_contact_at=record.first_contact_at,
        closed_at=record.closed_at,
        withdrawn_at=record.withdrawn_at,
        declined_at=record.declined_at,
        updated_at=options.now,
    )
