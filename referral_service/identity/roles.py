"""Roles and organisation-unit kinds, and the rules that tie them together.

The rules here are separation-of-duty safeguards, checked whenever a role is granted:

- a role may only be held by a user of a matching unit kind (a volunteer belongs to a WR branch);
- one user's roles come from one family only, so nobody holds referral and complaint roles at once, and
  administrators and auditors hold nothing else (the administrator must not audit their own actions,
  and neither may see case content through a second role).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum


class UnitKind(StrEnum):
    STATE = "state"
    POLICE_DIRECTORATE = "police_directorate"  # Polizeidirektion
    POLICE_STATION = "police_station"  # Polizeirevier
    WR_STATE_OFFICE = "wr_state_office"  # WEISSER RING Landesbüro
    WR_BRANCH = "wr_branch"  # WEISSER RING Außenstelle
    COMPLAINTS_OFFICE = "complaints_office"  # Zentrale Beschwerdestelle


# The kinds a unit's parent may have; None means "a root of the tree". The state unit is the root of
# one state's deployment; the WR state office and the complaints office hang below it so that a
# state's whole organisation is one subtree.
UNIT_PARENT_KINDS: Mapping[UnitKind, frozenset[UnitKind | None]] = {
    UnitKind.STATE: frozenset({None}),
    UnitKind.POLICE_DIRECTORATE: frozenset({UnitKind.STATE}),
    UnitKind.POLICE_STATION: frozenset({UnitKind.POLICE_DIRECTORATE}),
    UnitKind.WR_STATE_OFFICE: frozenset({UnitKind.STATE}),
    UnitKind.WR_BRANCH: frozenset({UnitKind.WR_STATE_OFFICE}),
    UnitKind.COMPLAINTS_OFFICE: frozenset({UnitKind.STATE}),
}


class Role(StrEnum):
    POLICE_OFFICER = "police_officer"
    POLICE_SUPERVISOR = "police_supervisor"
    WR_VOLUNTEER = "wr_volunteer"
    WR_BRANCH_LEAD = "wr_branch_lead"
    WR_STATE_OFFICE = "wr_state_office"
    COMPLAINTS_HANDLER = "complaints_handler"
    COMPLAINTS_LEAD = "complaints_lead"
    AUDITOR = "auditor"
    ADMIN = "admin"


# a second factor is mandatory for the roles with the widest view or the most power.
TOTP_REQUIRED_ROLES: frozenset[Role] = frozenset(
    {Role.ADMIN, Role.AUDITOR, Role.COMPLAINTS_LEAD, Role.WR_STATE_OFFICE}
)

_ANY_KIND = frozenset(UnitKind)

ROLE_UNIT_KINDS: Mapping[Role, frozenset[UnitKind]] = {
    Role.POLICE_OFFICER: frozenset({UnitKind.POLICE_STATION, UnitKind.POLICE_DIRECTORATE}),
    Role.POLICE_SUPERVISOR: frozenset({UnitKind.POLICE_STATION, UnitKind.POLICE_DIRECTORATE}),
    Role.WR_VOLUNTEER: frozenset({UnitKind.WR_BRANCH}),
    Role.WR_BRANCH_LEAD: frozenset({UnitKind.WR_BRANCH}),
    Role.WR_STATE_OFFICE: frozenset({UnitKind.WR_STATE_OFFICE}),
    Role.COMPLAINTS_HANDLER: frozenset({UnitKind.COMPLAINTS_OFFICE}),
    Role.COMPLAINTS_LEAD: frozenset({UnitKind.COMPLAINTS_OFFICE}),
    Role.AUDITOR: _ANY_KIND,
    Role.ADMIN: _ANY_KIND,
}

ROLE_FAMILIES: Mapping[Role, str] = {
    Role.POLICE_OFFICER: "police",
    Role.POLICE_SUPERVISOR: "police",
    Role.WR_VOLUNTEER: "weisser_ring",
    Role.WR_BRANCH_LEAD: "weisser_ring",
    Role.WR_STATE_OFFICE: "weisser_ring",
    Role.COMPLAINTS_HANDLER: "complaints",
    Role.COMPLAINTS_LEAD: "complaints",
    Role.AUDITOR: "audit",
    Role.ADMIN: "administration",
}

# Who sees the whole staff directory (users) and the whole unit tree; everyone else with the read
# permission sees only their own unit's subtree. Auditors need the directory to read the audit log
# (events name user and unit ids); complaints staff name any police unit as "unit concerned".
GLOBAL_USER_DIRECTORY_ROLES: frozenset[Role] = frozenset({Role.ADMIN, Role.AUDITOR})
GLOBAL_UNIT_DIRECTORY_ROLES: frozenset[Role] = frozenset(
    {Role.ADMIN, Role.AUDITOR, Role.COMPLAINTS_HANDLER, Role.COMPLAINTS_LEAD}
)


def requires_totp(roles: Iterable[Role]) -> bool:
    return any(role in TOTP_REQUIRED_ROLES for role in roles)


def role_conflicts(roles: Iterable[Role]) -> bool:
    """True when the roles span more than one family (see the module docstring)."""
    return len({ROLE_FAMILIES[role] for role in roles}) > 1
