"""Report scope: the whole state, or one police directorate, and the police units a report lists.

The state report has a row per police directorate (its stations and the directorate's own units
counted together); a directorate report has a row per station, plus one for cases entered at the
directorate itself. Unit names and codes are organisation data, not personal data.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.identity.models import OrgUnit
from referral_service.identity.roles import UnitKind
from referral_service.problems import DomainError, ErrorKind
from referral_service.reporting import repository


class UnknownDirectorateError(DomainError):
    code = "report.unknown_directorate"
    kind = ErrorKind.INVALID
    title = "No police directorate has this code"


class ScopeKind(StrEnum):
    STATE = "state"
    DIRECTORATE = "directorate"


@dataclass(frozen=True, slots=True)
class ScopeRow:
    """One row of a per-unit table: a directorate (state scope) or a station (directorate scope)."""

    key: str
    label: str
    unit_ids: frozenset[uuid.UUID]


@dataclass(frozen=True, slots=True)
class ReportScope:
    kind: ScopeKind
    code: str
    name: str
    # Materialised path of the directorate ("/sn/pd-dresden/"); None for the whole state.
    path: str | None
    rows: tuple[ScopeRow, ...]

    @property
    def unit_ids(self) -> frozenset[uuid.UUID]:
        return frozenset(unit_id for row in self.rows for unit_id in row.unit_ids)

    def row_keys_by_unit(self) -> dict[uuid.UUID, str]:
        return {unit_id: row.key for row in self.rows for unit_id in row.unit_ids}

    def unit_ids_query(self) -> Select[tuple[uuid.UUID]]:
        """The same units as `unit_ids`, as a subquery: a semi-join is cheaper than a long IN list
        when a million rows are filtered."""
        query = select(OrgUnit.id).where(col(OrgUnit.kind).in_(repository.POLICE_KINDS))
        if self.path is not None:
            query = query.where(col(OrgUnit.path).startswith(self.path, autoescape=True))
        return query  # type: ignore[return-value]

    @property
    def label(self) -> str:
        """Audit-safe scope name: "state" or the directorate's code."""
        return "state" if self.kind is ScopeKind.STATE else self.code


async def resolve_scope(session: AsyncSession, directorate_code: str | None) -> ReportScope:
    units = await repository.police_units(session)
    directorates = sorted(
        (u for u in units if u.kind == UnitKind.POLICE_DIRECTORATE.value), key=lambda u: u.name
    )
    stations = [u for u in units if u.kind == UnitKind.POLICE_STATION.value]
    if directorate_code is None:
        state = await repository.state_unit(session)
        rows = tuple(
            ScopeRow(
                key=d.code,
                label=d.name,
                unit_ids=frozenset({d.id} | {s.id for s in stations if s.parent_id == d.id}),
            )
            for d in directorates
        )
        return ReportScope(
            kind=ScopeKind.STATE,
            code=state.code if state else "state",
            name=state.name if state else "Land",
            path=None,
            rows=rows,
        )
    directorate = next((d for d in directorates if d.code == directorate_code), None)
    if directorate is None:
        raise UnknownDirectorateError()
    own = sorted((s for s in stations if s.parent_id == directorate.id), key=lambda s: s.name)
    rows = (
        *(ScopeRow(key=s.code, label=s.name, unit_ids=frozenset({s.id})) for s in own),
        ScopeRow(
            key=directorate.code,
            label=f"{directorate.name} (Direktion selbst)",
            unit_ids=frozenset({directorate.id}),
        ),
    )
    return ReportScope(
        kind=ScopeKind.DIRECTORATE,
        code=directorate.code,
        name=directorate.name,
        path=directorate.path,
        rows=rows,
    )
