"""Audit actions are declared once, as enum members, and nothing records anything else."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pytest

from complaints.audit_actions import TRANSITION_ACTIONS as COMPLAINT_TRANSITION_ACTIONS
from complaints.domain import ComplaintAction
from referral_service.audit import actions_doc
from referral_service.audit.actions import ACTION_PATTERN, AuditAction, label_key, load_all_areas, scope_key
from referral_service.domains import installed_domains
from referral_service.referrals.audit_actions import TRANSITION_ACTIONS as REFERRAL_TRANSITION_ACTIONS
from referral_service.referrals.domain import ReferralAction
from referral_service.web.i18n import LANGUAGES, Translator, catalogue

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


def _catalogue_folder(action: AuditAction) -> Path:
    """The catalogue folder of the area that declares `action`: its domain's, else the kernel's."""
    source = Path(sys.modules[type(action).__module__].__file__ or "").resolve()
    for domain in installed_domains():
        if domain.locales is not None and source.is_relative_to(domain.locales.parent.resolve()):
            return domain.locales
    return ROOT / "referral_service" / "web" / "locales"


def _keys_in(folder: Path, language: str) -> set[str]:
    return {key for path in (folder / language).glob("*.json") for key in json.loads(path.read_text("utf-8"))}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_action_is_labelled_in_the_catalogue_of_its_area(language: str) -> None:
    """The auditor's search shows actions in words: a new action without a label in German and English
    fails here. The label lives with the area that declares the action, so the kernel names none of a
    domain's (`audit.action.<code>`, and `audit.scope.<scope>` for the group it is listed under)."""
    missing = []
    for action in load_all_areas():
        folder = _catalogue_folder(action)
        keys = _keys_in(folder, language)
        missing += [
            f"{key} in {folder.relative_to(ROOT)}/{language}"
            for key in (label_key(action.value),)
            if key not in keys
        ]
        if scope_key(action.value) not in catalogue(language):
            missing.append(f"{scope_key(action.value)} ({language})")
    assert missing == []
    assert Translator(language)(label_key("identity:session:login")) != label_key("identity:session:login")
