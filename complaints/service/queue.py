"""The office's lists: the queue with its filters and keyset paging, its CSV export, and the lead's
workload per handler.

The filters arrive the same from the API and the pages (`QueueFilter`); `resolve` turns them into what
the database compares. Scope stays in the query's WHERE clause (`repository.queue_scope`), so neither
a filter nor a made-up cursor reaches a complaint outside it. Lists carry plain columns only: nothing
here decrypts.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, fields

from complaints import repository, schemas
from complaints.audit_actions import ComplaintAuditAction
from complaints.deadlines import due_soon_until
from complaints.domain import Category, Channel, ComplaintStatus, DeadlineFilter
from complaints.errors import LeadOnlyError
from complaints.models import Complaint
from complaints.references import normalise_reference
from complaints.service.common import ComplaintContext, audit
from complaints.service.views import summary
from referral_service import listing
from referral_service.identity import repository as identity
from referral_service.listing import AssigneeKeyword
from referral_service.validation import FieldError, RequestValidationError


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """The queue's filters as a caller states them (the API's and the pages' query parameters)."""

    statuses: frozenset[ComplaintStatus] = frozenset()
    category: Category | None = None
    channel: Channel | None = None
    police_unit_id: uuid.UUID | None = None
    # `assignee=me|none` or `assignee=<user id>`: two fields, so that the type stays one a request's
    # signature can hold.
    assignee: AssigneeKeyword | None = None
    assignee_id: uuid.UUID | None = None
    deadline: DeadlineFilter | None = None
    received_from: dt.date | None = None
    received_until: dt.date | None = None
    reference: str | None = None

    def names(self) -> list[str]:
        """The filters in use, by name: what an export's audit event records (never their values)."""
        return [item.name for item in fields(self) if getattr(self, item.name) not in (None, frozenset())]


def invalid(field: str, message: str) -> RequestValidationError:
    return RequestValidationError([FieldError(field, "value.invalid", message)])


def read_assignee(
    raw: str | None, field: str = "assignee"
) -> tuple[AssigneeKeyword | None, uuid.UUID | None]:
    """`me`, `none` or a user id, as (keyword, id)."""
    try:
        return listing.read_assignee(raw)
    except ValueError:
        raise invalid(field, "Expected 'me', 'none' or a user id") from None


def read_reference(raw: str | None, field: str = "reference") -> str | None:
    """A typed reference in its canonical form ("bs-2026-123" -> "BS-2026-000123")."""
    if raw is None or not raw.strip():
        return None
    canonical = normalise_reference(raw)
    if canonical is None:
        raise invalid(field, "Expected a reference such as BS-2026-000123")
    return canonical


def resolve(ctx: ComplaintContext, wanted: QueueFilter) -> repository.ComplaintQuery:
    listing.check_range(wanted.received_from, wanted.received_until)
    today = ctx.config.today()
    return repository.ComplaintQuery(
        statuses=wanted.statuses,
        category=wanted.category.value if wanted.category else None,
        channel=wanted.channel.value if wanted.channel else None,
        police_unit_id=wanted.police_unit_id,
        assignee_id=ctx.staff.user_id if wanted.assignee is AssigneeKeyword.ME else wanted.assignee_id,
        unassigned=wanted.assignee is AssigneeKeyword.NONE,
        overdue_before=today if wanted.deadline is DeadlineFilter.OVERDUE else None,
        due_between=(today, due_soon_until(ctx.config, today))
        if wanted.deadline is DeadlineFilter.DUE_SOON
        else None,
        paused=wanted.deadline is DeadlineFilter.PAUSED,
        received_since=listing.day_start(wanted.received_from) if wanted.received_from else None,
        received_before=listing.next_day_start(wanted.received_until) if wanted.received_until else None,
        reference=wanted.reference,
    )


async def list_page(
    ctx: ComplaintContext, wanted: QueueFilter, *, after: str | None, limit: int
) -> listing.Page[schemas.ComplaintSummary]:
    """One page of the caller's queue: deadline first (paused ones after the running deadlines), then
    arrival, then id."""
    query = repository.queue_query(ctx.staff, resolve(ctx, wanted))
    found = await listing.fetch_page(ctx.session, query, repository.QUEUE_ORDER, after=after, limit=limit)
    return listing.Page(items=[summary(row, ctx) for row in found.items], next_cursor=found.next_cursor)


Label = Callable[[str], str]


async def export_csv(ctx: ComplaintContext, wanted: QueueFilter, label: Label) -> str:
    """The filtered queue as CSV (list columns only, never decrypted text), audited with the names of
    the filters used and the row count. `label` words headers and codes (the caller's language)."""
    query = repository.queue_query(ctx.staff, resolve(ctx, wanted))
    rows = await listing.fetch_export(ctx.session, query, repository.QUEUE_ORDER)
    names = {user_id: name for user_id, name, _ in await repository.office_members(ctx.session)}
    concerned = await identity.units_by_ids(
        ctx.session, {row.police_unit_id for row in rows if row.police_unit_id}
    )
    units = {unit_id: unit.name for unit_id, unit in concerned.items()}
    columns: list[tuple[str, Callable[[Complaint], object]]] = [
        (label("complaint.reference"), lambda row: row.reference),
        (label("office.queue.received"), lambda row: row.received_at),
        (label("office.queue.channel"), lambda row: label(f"complaint.channel.{row.channel}")),
        (label("complaint.form.category"), lambda row: label(f"complaint.category.{row.category}")),
        (label("office.status"), lambda row: label(f"complaint.status.{row.status}")),
        (label("office.queue.deadline"), lambda row: row.deadline_on),
        (label("office.assignee"), lambda row: names.get(row.assignee_id) if row.assignee_id else None),
        (
            label("office.queue.unit"),
            lambda row: units.get(row.police_unit_id) if row.police_unit_id else None,
        ),
        (label("office.from_police_staff"), lambda row: row.from_police_staff),
        (label("office.queue.follow_up"), lambda row: row.complaint_type == "follow_up"),
    ]
    text = listing.csv_columns(columns, rows)
    await audit(
        ctx,
        action=ComplaintAuditAction.COMPLAINT_EXPORT,
        actor=ctx.staff.actor,
        details={"filters": wanted.names(), "rows": len(rows)},
    )
    return text


async def workload(ctx: ComplaintContext) -> list[schemas.HandlerWorkload]:
    """Open, overdue and soon-due complaints per member of the office (the lead's view): every active
    member, anybody inactive who still holds open complaints, and those nobody has taken."""
    if not repository.sees_all_complaints(ctx.staff):
        raise LeadOnlyError("The workload of the office is the lead's view.")
    today = ctx.config.today()
    counted = {
        row.assignee_id: row
        for row in await repository.workload(
            ctx.session, today=today, due_until=due_soon_until(ctx.config, today)
        )
    }
    result = []
    for user_id, name, active in await repository.office_members(ctx.session):
        row = counted.pop(user_id, None)
        if active or row is not None:
            result.append(_workload(user_id, name, row))
    free = counted.pop(None, None)
    # Left over: complaints assigned to somebody who holds no office role any more.
    result += [_workload(user_id, None, row) for user_id, row in counted.items()]
    result.append(_workload(None, None, free))
    return result


def _workload(
    user_id: uuid.UUID | None, name: str | None, row: repository.Workload | None
) -> schemas.HandlerWorkload:
    return schemas.HandlerWorkload(
        assignee_id=user_id,
        name=name,
        open=row.open if row else 0,
        overdue=row.overdue if row else 0,
        due_soon=row.due_soon if row else 0,
    )
