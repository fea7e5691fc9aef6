"""Running an import: check every row, then write all of them in the caller's transaction, or nothing.

Each complaint gets a data key of its own and its personal fields are sealed with `keys.fields.seal`,
the code path of a complaint entered by hand, so an imported complaint is read, erased and shredded like
any other. What intake does row by row is done here in bulk: the data keys are made in memory
(`CaseKeys.new_record`), the references of a year are taken in one statement, and each table gets one
multi-row insert per chunk. Imported complaints have no access code (their complainants never got
one), no assignee and no transitions; their dates and status say what happened to them.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from complaints import references
from complaints.audit_actions import ComplaintAuditAction
from complaints.config import ComplaintsConfig
from complaints.deadlines import answer_deadline
from complaints.domain import DEADLINE_STATES, ComplainantKind
from complaints.importer import repository, rows
from complaints.importer.rows import ImportRow
from complaints.models import Complaint, ComplaintCategory, ComplaintImport
from complaints.service.common import CASE_KIND
from referral_service import importing
from referral_service.audit.recorder import SYSTEM, record_event
from referral_service.importing import RowError, Sheet
from referral_service.keys.fields import seal
from referral_service.keys.service import CaseKeys

# Stored instead of an access code's hash: in neither format of complaints.access_codes, so no typed
# code ever opens an imported complaint.
NO_ACCESS_CODE = "imported"
CHUNK = 1000


@dataclass(frozen=True, slots=True)
class ImportResult:
    import_id: str
    # The complaints the file holds (checked), and whether they were written.
    complaints: int = 0
    written: bool = False
    already_imported: bool = False
    errors: Sequence[RowError] = ()
    statuses: Mapping[str, int] = field(default_factory=dict)


async def import_sheet(
    session: AsyncSession,
    keys: CaseKeys,
    config: ComplaintsConfig,
    sheet: Sheet,
    *,
    import_id: str,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Check `sheet` and, unless `dry_run` or any row has an error, write it in `session`'s transaction."""
    columns, errors = rows.columns_of(sheet.header)
    if errors:
        return ImportResult(import_id, errors=errors)
    if await repository.is_recorded(session, import_id):
        return ImportResult(import_id, already_imported=True)
    known = await repository.ids_by_reference(session, rows.references_in(sheet, columns))
    units = await repository.police_unit_ids(session)
    limits = rows.Limits(config=config, police_units=units, taken=known)
    records, errors = rows.check_rows(sheet, columns, limits)
    statuses = dict(Counter(record.status.value for record in records))
    if errors or dry_run:
        return ImportResult(import_id, complaints=len(records), errors=errors, statuses=statuses)
    await _write(session, keys, config, records, import_id, known, units, progress)
    await record_event(
        session,
        action=ComplaintAuditAction.COMPLAINT_IMPORT,
        actor=SYSTEM,
        target_type="complaint_import",
        target_id=import_id,
        # Counts and codes only (the audit log takes no mappings): per status, and the years received.
        details={
            "complaints": len(records),
            **{f"status_{status}": count for status, count in sorted(statuses.items())},
            "years": sorted({str(config.local_date(record.received_at).year) for record in records}),
            "references_kept": sum(record.reference is not None for record in records),
        },
    )
    return ImportResult(import_id, complaints=len(records), written=True, statuses=statuses)


async def _write(
    session: AsyncSession,
    keys: CaseKeys,
    config: ComplaintsConfig,
    records: Sequence[ImportRow],
    import_id: str,
    known: Mapping[str, uuid.UUID],
    units: Mapping[str, uuid.UUID],
    progress: Callable[[int], None] | None,
) -> None:
    now = config.now()
    await repository.record(session, ComplaintImport(id=import_id, imported_at=now, complaints=len(records)))
    numbers = await _references(session, config, records)
    ids = {record.row: uuid.uuid4() for record in records}
    in_file = {record.reference: ids[record.row] for record in records if record.reference is not None}
    links: list[tuple[uuid.UUID, uuid.UUID]] = []
    for start in range(0, len(records), CHUNK):
        chunk = records[start : start + CHUNK]
        key_rows: list[dict[str, Any]] = []
        complaint_rows: list[dict[str, Any]] = []
        category_rows: list[dict[str, Any]] = []
        for record in chunk:
            key, key_record = keys.new_record(CASE_KIND)
            complaint = _complaint(config, record, ids[record.row], numbers[record.row], units, now)
            seal(complaint, key, **record.personal)
            if record.follow_up_of is not None:
                if record.follow_up_of in in_file:
                    links.append((complaint.id, in_file[record.follow_up_of]))
                else:
                    complaint.follow_up_of_id = known.get(record.follow_up_of)
            key_rows.append(repository.values_of(key_record))
            complaint_rows.append(repository.values_of(complaint))
            category_rows += [
                repository.values_of(
                    ComplaintCategory(
                        complaint_id=complaint.id, category=category.value, is_primary=index == 0
                    )
                )
                for index, category in enumerate(record.categories)
            ]
        await repository.insert_chunk(session, key_rows, complaint_rows, category_rows)
        if progress is not None:
            progress(len(chunk))
    await repository.link_follow_ups(session, links)


async def _references(
    session: AsyncSession, config: ComplaintsConfig, records: Sequence[ImportRow]
) -> dict[int, tuple[int, str]]:
    """Numbers in the year of receipt."""

    async def allocate(year: int, count: int, after: int) -> int:
        return await references.allocate_block(session, year, count, after=after)

    return await importing.number_rows(
        records,
        moment=lambda record: record.received_at,
        year=lambda record: config.local_date(record.received_at).year,
        allocate=allocate,
        reference=references.format_reference,
    )


def _complaint(
    config: ComplaintsConfig,
    record: ImportRow,
    complaint_id: uuid.UUID,
    number: tuple[int, str],
    units: Mapping[str, uuid.UUID],
    now: Any,
) -> Complaint:
    received_on = config.local_date(record.received_at)
    status = record.status
    police_staff = record.complainant_kind is ComplainantKind.POLICE_EMPLOYEE
    return Complaint(
        id=complaint_id,
        reference=number[1],
        year=received_on.year,
        sequence=number[0],
        access_code_hash=NO_ACCESS_CODE,
        complaint_type=record.complaint_type.value,
        complainant_kind=record.complainant_kind.value,
        from_police_staff=police_staff,
        channel=record.channel.value,
        category=record.categories[0].value,
        status=status.value,
        incident_date=record.incident_date,
        police_unit_id=units[record.police_unit] if record.police_unit is not None else None,
        follow_up_reference=record.follow_up_of,
        identity_confidential=police_staff,
        received_at=record.received_at,
        received_on=received_on,
        deadline_on=answer_deadline(config, received_on, []) if status in DEADLINE_STATES else None,
        outcome=record.outcome.value if record.outcome is not None else None,
        no_decision_reason=record.no_decision_reason.value if record.no_decision_reason is not None else None,
        criminal_investigation=record.criminal_investigation,
        disciplinary_proceedings=record.disciplinary_proceedings,
        forward_reason=record.forward_reason.value if record.forward_reason is not None else None,
        decided_at=record.decided_at,
        closed_at=record.closed_at,
        updated_at=now,
    )
