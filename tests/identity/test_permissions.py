"""The permission vocabulary and the role grants: well-formed, complete, documented."""

from __future__ import annotations

import re

from referral_service.identity import permissions_doc
from referral_service.identity.permissions import ROLE_GRANTS, Permission, permissions_for
from referral_service.identity.roles import (
    ROLE_FAMILIES,
    ROLE_UNIT_KINDS,
    TOTP_REQUIRED_ROLES,
    Role,
    role_conflicts,
)

NAME = re.compile(r"^[a-z][a-z0-9_]*:[a-z][a-z0-9_]*:[a-z][a-z0-9_]*$")


def test_permissions_are_named_domain_resource_action_and_kept_sorted() -> None:
    values = [permission.value for permission in Permission]
    assert all(NAME.match(value) for value in values)
    assert values == sorted(values)
    for permission in Permission:
        assert permission.name == permission.value.replace(":", "_").upper()


def test_every_domain_of_the_design_has_its_permissions() -> None:
    domains = {permission.domain for permission in Permission}
    assert domains == {"audit", "complaint", "identity", "referral", "report"}
    for required in (
        "referral:referral:withdraw_consent",
        "complaint:complaint:approve_disclosure",
        "complaint:statement_request:answer",
        "audit:log:verify",
        "report:activity:manage",
        "identity:key:rotate",
        "identity:session:read_own",
    ):
        assert Permission(required)


def test_every_role_has_grants_and_every_permission_a_holder() -> None:
    assert set(ROLE_GRANTS) == set(Role)
    assert set(ROLE_FAMILIES) == set(Role) == set(ROLE_UNIT_KINDS)
    held = set().union(*ROLE_GRANTS.values())
    assert held == set(Permission)


def test_everyone_may_see_and_end_their_own_session() -> None:
    for role in Role:
        assert Permission.IDENTITY_SESSION_READ_OWN in ROLE_GRANTS[role]
        assert Permission.IDENTITY_SESSION_MANAGE_OWN in ROLE_GRANTS[role]


def test_administrators_manage_identity_and_nothing_else() -> None:
    assert ROLE_GRANTS[Role.ADMIN] == {p for p in Permission if p.domain == "identity"}


def test_auditors_read_the_audit_log_and_reports_only() -> None:
    domains = {p.domain for p in ROLE_GRANTS[Role.AUDITOR]}
    assert domains == {"audit", "report", "identity"}
    assert {p for p in ROLE_GRANTS[Role.AUDITOR] if p.domain == "report"} == {
        Permission.REPORT_COOPERATION_READ,
        Permission.REPORT_COMPLAINTS_ANNUAL_READ,
    }
    # Reading, verifying and exporting what they read: never a change.
    assert all(
        p.value.endswith((":read", ":verify", ":export", ":read_own", ":manage_own"))
        for p in ROLE_GRANTS[Role.AUDITOR]
    )


def test_second_factor_is_required_where_the_design_says() -> None:
    assert {Role.ADMIN, Role.AUDITOR, Role.COMPLAINTS_LEAD, Role.WR_STATE_OFFICE} == TOTP_REQUIRED_ROLES


def test_permissions_for_is_the_union_of_the_grants() -> None:
    combined = permissions_for([Role.WR_VOLUNTEER, Role.WR_BRANCH_LEAD])
    assert combined == ROLE_GRANTS[Role.WR_VOLUNTEER] | ROLE_GRANTS[Role.WR_BRANCH_LEAD]
    assert permissions_for([]) == frozenset()


def test_role_families_keep_duties_apart() -> None:
    assert not role_conflicts([Role.WR_VOLUNTEER, Role.WR_BRANCH_LEAD])
    assert role_conflicts([Role.POLICE_OFFICER, Role.COMPLAINTS_HANDLER])
    assert role_conflicts([Role.ADMIN, Role.AUDITOR])
    assert role_conflicts([Role.ADMIN, Role.POLICE_OFFICER])


def test_docs_permissions_md_is_generated_from_the_code() -> None:
    committed = permissions_doc.DOC_PATH.read_text(encoding="utf-8")
    assert committed == permissions_doc.render(), (
        "docs/permissions.md is stale: run `python -m referral_service.identity.permissions_doc`"
    )
    assert permissions_doc.main(["--check"]) == 0
