"""`/api/v1/org-units`: the organisation tree, as a list (sorted by path) or nested."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.identity import schemas, service
from referral_service.identity.controllers.convert import unit_out
from referral_service.identity.http import audit_fields, identity_config, requires
from referral_service.identity.models import OrgUnit
from referral_service.identity.permissions import Permission
from referral_service.identity.principal import Principal
from referral_service.identity.roles import UnitKind


def build_tree(units: list[OrgUnit]) -> list[schemas.OrgUnitNode]:
    """Nest units by parent; a unit whose parent the caller cannot see becomes a root."""
    nodes = {
        unit.id: schemas.OrgUnitNode(
            id=unit.id, code=unit.code, name=unit.name, kind=UnitKind(unit.kind), path=unit.path, children=[]
        )
        for unit in units
    }
    roots: list[schemas.OrgUnitNode] = []
    for unit in units:  # sorted by path, so parents come before their children
        parent = nodes.get(unit.parent_id) if unit.parent_id is not None else None
        (parent.children if parent is not None else roots).append(nodes[unit.id])
    return roots


class OrgUnitController(Controller):
    path = "/api/v1/org-units"
    tags = ["organisation units"]

    @get("", opt=requires(Permission.IDENTITY_UNIT_READ), summary="Units visible to the caller, by path")
    async def list_units(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        kind: FromQuery[UnitKind | None] = None,
    ) -> list[schemas.OrgUnit]:
        return [unit_out(unit) for unit in await service.list_units(db_session, principal, kind=kind)]

    @get("/tree", opt=requires(Permission.IDENTITY_UNIT_READ), summary="Units visible to the caller, nested")
    async def tree(
        self, db_session: NamedDependency[AsyncSession], principal: NamedDependency[Principal]
    ) -> list[schemas.OrgUnitNode]:
        return build_tree(list(await service.list_units(db_session, principal)))

    @post("", opt=requires(Permission.IDENTITY_UNIT_MANAGE), summary="Create a unit")
    async def create_unit(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[schemas.OrgUnitCreate],
    ) -> schemas.OrgUnit:
        unit = await service.create_unit(
            db_session,
            principal,
            code=data.code,
            name=data.name,
            kind=data.kind,
            parent_id=data.parent_id,
            config=identity_config(state),
            audit=audit_fields(request),
        )
        return unit_out(unit)

    @get("/{unit_id:uuid}", opt=requires(Permission.IDENTITY_UNIT_READ), summary="One unit")
    async def get_unit(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        unit_id: FromPath[uuid.UUID],
    ) -> schemas.OrgUnit:
        return unit_out(await service.get_unit(db_session, principal, unit_id))
