"""Object scope as SQL filters, for use inside repository queries.

A record outside the caller's scope must be "not found", never "forbidden": put the filter into the
same WHERE clause that looks the record up, so there is no code path that loads it first.

    stmt = select(Referral).where(Referral.id == referral_id,
                                  in_unit_subtree(principal, Referral.station_id))

Units form a tree with materialised paths ("/sn/pd-dresden/rev-dresden-nord/"): a unit's subtree is
every unit whose path starts with its path, including itself. Unknown scopes fail closed.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, false, true
from sqlmodel import col, select

from referral_service.identity.models import OrgUnit
from referral_service.identity.principal import Principal

# A model attribute such as `Referral.station_id` (mypy sees its Python type) or a Core column;
# `col()` checks at run time that it really is a column.
ColumnLike = Any


class UnitScope(StrEnum):
    NONE = "none"
    OWN_UNIT = "own_unit"
    SUBTREE = "subtree"
    GLOBAL = "global"


def in_own_unit(principal: Principal, unit_id_column: ColumnLike) -> ColumnElement[bool]:
    """Records that belong to the caller's own unit."""
    return col(unit_id_column) == principal.unit_id


def path_in_subtree(principal: Principal, path_column: ColumnLike) -> ColumnElement[bool]:
    """Rows with a unit path (such as `OrgUnit.path`) inside the caller's subtree."""
    return col(path_column).startswith(principal.unit_path, autoescape=True)


def subtree_unit_ids(unit_path: str) -> Any:
    """A subquery of the ids of every unit at or below `unit_path`."""
    return select(OrgUnit.id).where(col(OrgUnit.path).startswith(unit_path, autoescape=True))


def in_unit_subtree(principal: Principal, unit_id_column: ColumnLike) -> ColumnElement[bool]:
    """Records whose unit id lies in the caller's unit or any unit below it."""
    return col(unit_id_column).in_(subtree_unit_ids(principal.unit_path))


def in_units(unit_id_column: ColumnLike, unit_ids: set[uuid.UUID]) -> ColumnElement[bool]:
    return col(unit_id_column).in_(unit_ids) if unit_ids else false()


def unit_filter(principal: Principal, scope: UnitScope, unit_id_column: ColumnLike) -> ColumnElement[bool]:
    """The filter for `scope`; anything unrecognised matches nothing."""
    if scope is UnitScope.GLOBAL:
        return true()
    if scope is UnitScope.SUBTREE:
        return in_unit_subtree(principal, unit_id_column)
    if scope is UnitScope.OWN_UNIT:
        return in_own_unit(principal, unit_id_column)
    return false()
