"""The dependency direction (docs/architecture.md), checked on the import statements of every module.

crypto <- kernel (referral_service.*) <- domains (referral_service.referrals, complaints) <- app.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOMAINS = ("referral_service.referrals", "complaints")
ALL_IMPORTERS = ("referral_service.app", "referral_service.cli")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


@pytest.mark.parametrize("path", _sources("crypto"), ids=lambda p: str(p.relative_to(ROOT)))
def test_crypto_imports_nothing_of_ours(path: Path) -> None:
    ours = {m for m in _imports(path) if m.split(".")[0] in {"referral_service", "complaints", "migrations"}}
    assert not ours


@pytest.mark.parametrize(
    "path", _sources("referral_service") + _sources("complaints"), ids=lambda p: str(p.relative_to(ROOT))
)
def test_layers(path: Path) -> None:
    module = _module_name(path)
    imported = _imports(path)
    if module in ALL_IMPORTERS:
        return
    own_domain = next((d for d in DOMAINS if _within(module, d)), None)
    for target in imported:
        for domain in DOMAINS:
            if _within(target, domain) and domain != own_domain:
                kind = "domain" if own_domain else "kernel module"
                pytest.fail(f"{kind} {module} imports {target}")
        assert not _within(target, "referral_service.app"), f"{module} imports the app"
        assert not _within(target, "migrations") or module == "referral_service.schema"
