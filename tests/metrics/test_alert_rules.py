"""The example alert rules (deploy/prometheus/alerts.yaml): valid for Prometheus, doing what their unit
tests say, and naming only metrics the service exports."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from litestar import Litestar
from litestar.testing import AsyncTestClient
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service.jobs import PeriodicJob
from referral_service.metrics.collector import SnapshotCollector
from referral_service.metrics.server import METRICS_STATE
from referral_service.metrics.state import MetricsState
from tests.components import PROMTOOL

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("promtool")
    if tool is None:
        PROMTOOL.skip_or_fail("promtool missing")
    return subprocess.run([tool, *args], cwd=RULES, capture_output=True, text=True, timeout=60, check=False)


def test_rules_are_valid() -> None:
    checked = promtool("check", "rules", "alerts.yaml")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_rules_fire_as_their_unit_tests_expect() -> None:
    tested = promtool("test", "rules", "alerts.test.yaml")
    assert tested.returncode == 0, tested.stdout + tested.stderr


async def test_rules_name_only_exported_metrics(
    app: Litestar, client: AsyncTestClient[Litestar], engine: AsyncEngine
) -> None:
    assert (await client.get("/health/ready")).status_code == 200
    state: MetricsState = app.state[METRICS_STATE]
    await state.refresh(engine)
    ran = state.observed(PeriodicJob("example", 60, lambda: _nothing()))
    await ran.run()
    registry = CollectorRegistry()
    registry.register(SnapshotCollector(state))
    families = [
        family
        for text in (generate_latest(registry).decode(), generate_latest(REGISTRY).decode())
        for family in text_string_to_metric_families(text)
    ]
    # A gauge without values (no overdue referral here) is still declared, by its family's name.
    exported = {family.name for family in families} | {
        sample.name for family in families for sample in family.samples
    }
    named = set(re.findall(r"\breferral_service_[a-z_]+", (RULES / "alerts.yaml").read_text()))
    assert named
    assert named <= exported, sorted(named - exported)


async def _nothing() -> None:
    return None
