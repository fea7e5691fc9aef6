"""`AuditAction`: the base of every audit action enum.

Each area declares the actions it records in its own subclass, next to its permissions, with values
named `"<scope>:<resource>:<action>"` like `Permission`. `record_event` accepts only members, so a
misspelt action is a type error instead of a silent new action in the log. The values are stored in
the log and leaves commit to them: a value, once recorded, never changes.
"""

from __future__ import annotations

import importlib
import re
from enum import StrEnum
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

ACTION_PATTERN = re.compile(r"^[a-z][a-z0-9_]*:[a-z][a-z0-9_]*:[a-z][a-z0-9_]*$")
# The group under which domains register themselves (see referral_service.domains).
_DOMAIN_GROUP = "referral_service.domains"
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


def _area_packages() -> list[str]:
    domains = {point.value.split(":")[0].split(".")[0] for point in entry_points(group=_DOMAIN_GROUP)}
    return sorted({"referral_service", *domains})


def load_all_areas() -> list[AuditAction]:
    """Every member declared by the kernel and the installed domains, whatever else is imported.

    Every area declares its actions in a module named `audit_actions` (the audit log's own here); they
    are found on disk, in the kernel and in each installed domain, so this module names none of them."""
    modules = {AuditAction.__module__}
    for package in _area_packages():
        root = Path(importlib.import_module(package).__file__ or "").parent
        for path in sorted(root.rglob("audit_actions.py")):
            modules.add(".".join(path.relative_to(root.parent).with_suffix("").parts))
    for module in sorted(modules):
        importlib.import_module(module)
    return [action for action in all_audit_actions() if type(action).__module__ in modules]


@cache
def declared_actions() -> dict[str, AuditAction]:
    """Every declared action by its value (loaded once per process): what a search may ask for."""
    return {action.value: action for action in load_all_areas()}


def label_key(action: str) -> str:
    """The catalogue key of an action's label, in the catalogue of the area that declares it."""
    return f"audit.action.{action}"


def scope_key(action: str) -> str:
    """The catalogue key of the group an action is listed under: its scope (`referral`, `identity`)."""
    return f"audit.scope.{action.partition(':')[0]}"


class AuditLogAction(AuditAction):
    """Reading the audit log is itself audited."""

    CHECKPOINT_READ = "audit:checkpoint:read"
    EVENT_EXPORT = "audit:event:export"
    EVENT_READ = "audit:event:read"
    LOG_VERIFY = "audit:log:verify"
    PROOF_READ = "audit:proof:read"
