"""Audit actions are declared once, as enum members, and nothing records anything else."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from complaints.audit_actions import TRANSITION_ACTIONS as COMPLAINT_TRANSITION_ACTIONS
from complaints.domain import ComplaintAction
from referral_service.audit import actions_doc
from referral_service.audit.actions import ACTION_PATTERN, AuditAction
from referral_service.domains import installed_domains
from referral_service.referrals.audit_actions import TRANSITION_ACTIONS as REFERRAL_TRANSITION_ACTIONS
from referral_service.referrals.domain import ReferralAction

ROOT = Path(__file__).resolve().parents[2]
# Where `<scope>:<resource>:<action>` strings may stand: the permission enum and the action enums.
DECLARATIONS = {"referral_service/identity/permissions.py", "referral_service/audit/actions.py"}


def _sources() -> list[Path]:
    return sorted([*(ROOT / "referral_service").rglob("*.py"), *(ROOT / "complaints").rglob("*.py")])


def test_no_action_is_spelt_outside_its_declaration() -> None:
    found = []
    for path in _sources():
        name = str(path.relative_to(ROOT))
        if name in DECLARATIONS or path.name == "audit_actions.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=name)):
            value = node.value if isinstance(node, ast.Constant) else None
            if isinstance(value, str) and ACTION_PATTERN.match(value):
                found.append(f"{name}:{node.lineno} {value}")
    assert not found


def test_every_transition_has_its_action() -> None:
    assert set(REFERRAL_TRANSITION_ACTIONS) == set(ReferralAction)
    assert set(COMPLAINT_TRANSITION_ACTIONS) == set(ComplaintAction)
    for transition, action in [*REFERRAL_TRANSITION_ACTIONS.items(), *COMPLAINT_TRANSITION_ACTIONS.items()]:
        assert action.value.endswith(f":{transition.value}")


def test_a_value_is_declared_by_one_area_only() -> None:
    with pytest.raises(ValueError, match="declared by another area"):

        class Copy(AuditAction):
            READ = "audit:event:read"


def test_the_documented_list_is_current() -> None:
    committed = actions_doc.DOC_PATH.read_text(encoding="utf-8")
    assert committed == actions_doc.render(committed), (
        "docs/security/audit.md is stale: run `python -m referral_service.audit.actions_doc`"
    )
    assert actions_doc.main(["--check"]) == 0


def test_each_installed_report_and_erasure_records_its_own_action() -> None:
    for domain in installed_domains():
        for report in domain.reports(domain.load_settings({})):
            assert isinstance(report.read_action, AuditAction)
            assert report.read_action.value == f"report:{report.kind}:read"
        for provider in domain.retention(domain.load_settings({})):
            assert isinstance(provider.erase_action, AuditAction)
            assert provider.erase_action.value == f"retention:{provider.case_kind}:erase"
