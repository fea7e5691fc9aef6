"""`AuditAction`: the base of every audit action enum.

Each area declares the actions it records in its own subclass, next to its permissions, with values
named `"<scope>:<resource>:<action>"` like `Permission`. `record_event` accepts only members, so a
misspelt action is a type error instead of a silent new action in the log. The values are stored in
the log and leaves commit to them: a value, once recorded, never changes.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

ACTION_PATTERN = re.compile(r"^[a-z][a-z0-9_]*:[a-z][a-z0-9_]*:[a-z][a-z0-9_]*$")
# Every area's enum, in declaration order; a refused declaration never gets here.
_AREAS: list[type[AuditAction]] = []


class AuditAction(StrEnum):
    """No members of its own: subclass it per area (`class ComplaintAuditAction(AuditAction)`)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # A module imported again (importlib.reload) replaces its own earlier declaration.
        others = [area for area in _AREAS if _name(area) != _name(cls)]
        declared = {action.value for area in others for action in area}
        for member in cls.__members__.values():
            if not ACTION_PATTERN.match(member.value):
                raise ValueError(f"audit action {member.value!r} is not '<scope>:<resource>:<action>'")
            if member.value in declared:
                raise ValueError(f"audit action {member.value!r} is declared by another area")
        _AREAS[:] = [*others, cls]


def _name(area: type[AuditAction]) -> str:
    return f"{area.__module__}.{area.__qualname__}"


def all_audit_actions() -> list[AuditAction]:
    """Every member of every area's enum imported so far, sorted by value."""
    return sorted((action for area in _AREAS for action in area), key=lambda action: action.value)


class AuditLogAction(AuditAction):
    """Reading the audit log is itself audited."""

    CHECKPOINT_READ = "audit:checkpoint:read"
    EVENT_READ = "audit:event:read"
    LOG_VERIFY = "audit:log:verify"
    PROOF_READ = "audit:proof:read"
