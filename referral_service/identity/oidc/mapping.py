"""A provider's claims -> the unit and roles a person holds here, under the provider's limits.

The unit must exist and lie in the provider's subtree (`root_unit`); claim values the provider config
does not map are ignored; the roles must obey the same rules as roles an administrator grants (unit
kind, one family). Anything else is refused with a one-word reason, never with a claim value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.identity import repository
from referral_service.identity.errors import RoleConflictError, RoleUnitMismatchError
from referral_service.identity.models import OrgUnit
from referral_service.identity.oidc.config import OidcProvider
from referral_service.identity.roles import Role
from referral_service.identity.service import check_roles


class ClaimsRefusedError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Mapped:
    unit: OrgUnit
    roles: frozenset[Role]


def _values(claim: Any) -> list[str]:
    if isinstance(claim, str):
        return [claim]
    if isinstance(claim, list):
        return [value for value in claim if isinstance(value, str)]
    return []


async def map_claims(session: AsyncSession, provider: OidcProvider, claims: Mapping[str, Any]) -> Mapped:
    unit_value = claims.get(provider.unit_claim)
    code = provider.unit_code(unit_value) if isinstance(unit_value, str) else None
    unit = await repository.get_unit_by_code(session, code) if code is not None else None
    if unit is None:
        raise ClaimsRefusedError("unit")
    root = await repository.get_unit_by_code(session, provider.root_unit)
    if root is None or not unit.path.startswith(root.path):
        raise ClaimsRefusedError("unit_outside_provider")
    values = _values(claims.get(provider.role_claim))
    roles = frozenset(provider.roles[value] for value in values if value in provider.roles)
    if not roles:
        raise ClaimsRefusedError("no_roles")
    try:
        check_roles(roles, unit)
    except (RoleUnitMismatchError, RoleConflictError) as error:
        raise ClaimsRefusedError("role_rules") from error
    return Mapped(unit=unit, roles=roles)
