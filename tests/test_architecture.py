"""The dependency direction (docs/architecture.md), checked on the import statements of every module.

crypto <- kernel (referral_service.*, the app and the command line too) <- domains
(referral_service.referrals, complaints). The kernel finds the domains through entry points only.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from referral_service.domains import ENTRY_POINT_GROUP, installed_domains

ROOT = Path(__file__).resolve().parent.parent
DOMAINS = ("referral_service.referrals", "complaints")


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
    own_domain = next((d for d in DOMAINS if _within(module, d)), None)
    for target in imported:
        for domain in DOMAINS:
            if _within(target, domain) and domain != own_domain:
                kind = "domain" if own_domain else "kernel module"
                pytest.fail(f"{kind} {module} imports {target}")
        # Only `serve` builds the application.
        assert not _within(target, "referral_service.app") or module == "referral_service.cli", (
            f"{module} imports the app"
        )
        assert not _within(target, "migrations") or module == "referral_service.schema"


def test_every_installed_domain_is_checked_above() -> None:
    from importlib.metadata import entry_points

    points = entry_points(group=ENTRY_POINT_GROUP)
    assert sorted(point.name for point in points) == sorted(domain.name for domain in installed_domains())
    for point in points:
        assert any(_within(point.module, domain) for domain in DOMAINS), f"add {point.module} to DOMAINS"


# The kernel's own order, lowest first: a module may import its own layer and the layers before it,
# never a later one. Domains, `app` and `cli` stand above all of it (checked above).
KERNEL_LAYERS: tuple[tuple[str, ...], ...] = (
    ("settings", "values"),
    ("logging", "db", "stores", "cli_support"),
    ("problems", "request_context", "jobs", "leadership", "schema", "references", "validation", "listing"),
    ("audit",),
    ("keys",),
    ("identity",),
    ("notifications", "reporting", "retention", "health", "workflow", "openapi", "importing", "metrics"),
    # A domain's declaration names the web areas it brings; the translations read its catalogues.
    ("web", "domains"),
)
KERNEL_TOP = ("app", "cli")
_LAYER_OF = {name: index for index, layer in enumerate(KERNEL_LAYERS) for name in layer}


def _kernel_unit(module: str) -> str | None:
    """`referral_service.audit.service` -> "audit"; None outside the kernel (domains, other packages)."""
    parts = module.split(".")
    if parts[0] != "referral_service" or len(parts) < 2 or any(_within(module, d) for d in DOMAINS):
        return None
    return parts[1]


def _imported_modules(path: Path) -> set[str]:
    """Every module imported anywhere in the file (under TYPE_CHECKING and inside functions too), with
    `from package import module` resolved to the module."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _kernel_sources() -> list[Path]:
    return [p for p in _sources("referral_service") if _kernel_unit(_module_name(p)) is not None]


def test_every_kernel_package_has_a_layer() -> None:
    units = {_kernel_unit(_module_name(path)) for path in _kernel_sources()}
    unplaced = sorted(unit for unit in units if unit and unit not in _LAYER_OF and unit not in KERNEL_TOP)
    assert not unplaced, f"add {unplaced} to KERNEL_LAYERS"


@pytest.mark.parametrize("path", _kernel_sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_kernel_layers_import_only_downwards(path: Path) -> None:
    unit = _kernel_unit(_module_name(path))
    if unit is None or unit not in _LAYER_OF:
        return
    upward = sorted(
        target
        for target in _imported_modules(path)
        if (other := _kernel_unit(target)) is not None
        and (other in KERNEL_TOP or _LAYER_OF.get(other, -1) > _LAYER_OF[unit])
    )
    assert not upward, f"{unit} (layer {_LAYER_OF[unit]}) imports a later layer: {upward}"
