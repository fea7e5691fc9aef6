"""Components the suite cannot install itself, all Debian packages: Chromium, PostgreSQL, Redis, podman,
Patroni, promtool, node and npm (which fetch the OpenID provider from the npm registry).

Without one, its tests skip with a reason in one shape, and the run closes with one line that names
what was skipped and the command that installs it, so a green run never hides missing tests. With
REFERRAL_TEST_REQUIRE_<NAME>=1 (CI) a missing component fails its tests instead.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

# A skip reason that reads well in pytest's own summary and can be taken apart for the closing line.
_REASON = re.compile(r"(?P<tests>[\w ]+ tests) skipped: (?P<why>.+) \[install: (?P<install>[^\]]+)\]$")


@dataclass(frozen=True)
class Component:
    tests: str  # whose tests need it, e.g. "browser tests"
    require_env: str  # turns the skip into a failure
    install: str  # the one command that installs it

    def required(self) -> bool:
        return os.environ.get(self.require_env, "").lower() in {"1", "true", "yes"}

    def skip_or_fail(self, why: str, install: str | None = None) -> NoReturn:
        """Skip (or, when required, fail) the current test; `install` overrides the usual command."""
        command = install or self.install
        if self.required():
            pytest.fail(f"{why} ({command}); {self.require_env} is set")
        pytest.skip(f"{self.tests} skipped: {why} [install: {command}]")


POSTGRES = Component("PostgreSQL tests", "REFERRAL_TEST_REQUIRE_POSTGRES", "apt-get install postgresql")
REDIS = Component("Redis tests", "REFERRAL_TEST_REQUIRE_REDIS", "apt-get install redis-server")
BROWSER = Component("browser tests", "REFERRAL_TEST_REQUIRE_BROWSER", "apt-get install chromium")
CONTAINER = Component(
    "container tests", "REFERRAL_TEST_REQUIRE_CONTAINER", "apt-get install podman buildah runc mmdebstrap"
)
FAILOVER = Component(
    "failover tests", "REFERRAL_TEST_REQUIRE_FAILOVER", "apt-get install patroni etcd-server etcd-client"
)
PROMTOOL = Component("alert rule tests", "REFERRAL_TEST_REQUIRE_PROMTOOL", "apt-get install prometheus")
OIDC = Component("OpenID provider tests", "REFERRAL_TEST_REQUIRE_OIDC", "apt-get install nodejs npm")


def _reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    # (path, line, message); a list when the report came back from an xdist worker
    if isinstance(longrepr, tuple | list) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


def closing_line(reports: list[pytest.TestReport]) -> str | None:
    """`SKIPPED COMPONENTS: browser tests (142) - Chromium missing: apt-get install chromium; ...`"""
    counts: Counter[tuple[str, str, str]] = Counter()
    for report in reports:
        found = _REASON.search(_reason(report))
        if found is not None:
            counts[(found["tests"].strip(), found["why"], found["install"])] += 1
    if not counts:
        return None
    parts = [f"{tests} ({count}) - {why}: {install}" for (tests, why, install), count in counts.items()]
    return "SKIPPED COMPONENTS: " + "; ".join(parts)


def postgres_server_binaries() -> Path:
    """The directory holding `initdb` and `pg_ctl`, for tests that run a PostgreSQL of their own (to
    stop and start it, which the shared one must never be); skips or fails like the other components."""
    candidates = []
    if (pg_config := shutil.which("pg_config")) is not None:
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(Path(found.stdout.strip()))
    # Debian's layout, newest version first (numerically: 15 before 9.6).
    versions = Path("/usr/lib/postgresql").glob("*/bin")
    candidates += sorted(versions, key=lambda b: [int(n) for n in b.parent.name.split(".") if n.isdigit()])[
        ::-1
    ]
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    POSTGRES.skip_or_fail("PostgreSQL server binaries (initdb, pg_ctl) missing")
