"""What the complaint pages share: their areas, dependency types, option lists, police units, and the
reading of the lists' filters."""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from litestar import Request
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlmodel.ext.asyncio.session import AsyncSession

from complaints import paths
from complaints.service import queue
from complaints.service.common import ComplaintContext
from referral_service.identity import service as identity_service
from referral_service.identity.principal import Principal
from referral_service.identity.roles import Role, UnitKind
from referral_service.listing import AssigneeKeyword
from referral_service.problems import DomainError
from referral_service.validation import RequestValidationError
from referral_service.web.forms import FormInput, refusal_message
from referral_service.web.i18n import N_
from referral_service.web.render import Area

OFFICE_ROLES = frozenset({Role.COMPLAINTS_HANDLER, Role.COMPLAINTS_LEAD})
OFFICE_AREA = Area(paths.OFFICE, N_("area.complaints_office"), OFFICE_ROLES)
STATEMENTS_AREA = Area(paths.STATEMENTS, N_("area.statement_requests"), frozenset({Role.POLICE_SUPERVISOR}))
REPORT_AREA = Area(
    "/berichte/beschwerden",
    N_("area.report_complaints"),
    frozenset({Role.COMPLAINTS_LEAD, Role.AUDITOR}),
    home=False,
)
AREAS = [OFFICE_AREA, STATEMENTS_AREA, REPORT_AREA]


Session = NamedDependency[AsyncSession]
Context = NamedDependency[ComplaintContext]
Caller = NamedDependency[Principal]
Id = FromPath[uuid.UUID]

E = TypeVar("E", bound=StrEnum)

# The lists' filters on the pages: German names, the API's codes as values (docs/adr/0005), so that a
# link means the same on a page and in the API.
ASSIGNEE = "zustaendig"
DEADLINE = "frist"
STATUS = "status"
CURSOR = "nach"
# The status value of a list's group of states ("open", "done") or of all of them.
ALL = "all"


def options(prefix: str, values: Sequence[Any]) -> list[tuple[str, str]]:
    """(value, catalogue key) pairs for the `options()` of the templates."""
    return [(str(value), f"{prefix}.{value}") for value in values]


def error_key(request: Request[Any, Any, Any], exc: DomainError) -> str:
    """The catalogue's message for a refusal, by its stable code, or a generic one."""
    return refusal_message(request, exc, "complaint.error", N_("complaint.error.generic"))


def size_text(size_bytes: int, language: str) -> str:
    """A file's size as people read it: "480 KB", "2,4 MB" (German decimal comma)."""
    if size_bytes < 1024 * 1024:
        return f"{max(1, math.ceil(size_bytes / 1024))} KB"
    megabytes = size_bytes / (1024 * 1024)
    text = f"{megabytes:.0f}" if megabytes.is_integer() else f"{megabytes:.1f}"
    return (text.replace(".", ",") if language == "de" else text) + " MB"


@dataclass(frozen=True, slots=True)
class PoliceUnit:
    id: str
    name: str
    is_station: bool


async def police_units(session: AsyncSession, principal: Principal | None) -> list[PoliceUnit]:
    """Police directorates and stations, in tree order, for "police unit concerned"."""
    units = await identity_service.list_units(session, principal)
    kinds = {UnitKind.POLICE_DIRECTORATE.value, UnitKind.POLICE_STATION.value}
    return [
        PoliceUnit(str(unit.id), unit.name, unit.kind == UnitKind.POLICE_STATION.value)
        for unit in units
        if unit.kind in kinds
    ]


def unit_options(units: Sequence[PoliceUnit]) -> list[tuple[str, str]]:
    # Stations indented under their directorate (no-break spaces: screen readers do not read them).
    return [(unit.id, ("\N{NO-BREAK SPACE}" * 4 if unit.is_station else "") + unit.name) for unit in units]


def read_states(
    data: FormInput, enum: type[E], groups: Mapping[str, frozenset[E]], default: str
) -> frozenset[E]:
    """A list's `status` filter: state codes (repeatable) or the name of a group of states; none is the
    `default` group. One chosen value is shown in the form again; a wrong one is an error next to it."""
    chosen = [value for value in data.form.getall(STATUS, []) if isinstance(value, str) and value]
    data.values[STATUS] = chosen[0] if len(chosen) == 1 else ("" if chosen else default)
    states: set[E] = set()
    for value in chosen or [default]:
        if value in groups:
            states |= groups[value]
            continue
        try:
            states.add(enum(value))
        except ValueError:
            data.error(STATUS, N_("form.error.choose"))
    return frozenset(states)


def read_assignee(data: FormInput) -> tuple[AssigneeKeyword | None, uuid.UUID | None]:
    """`me`, `none` or a user id, read as the API reads `assignee`; an error next to the field else."""
    try:
        return queue.read_assignee(data.text(ASSIGNEE, max_length=40), ASSIGNEE)
    except RequestValidationError:
        data.error(ASSIGNEE, N_("form.error.choose"))
        return None, None
