"""Browser tests: a real `referral-service serve`, Debian's Chromium driven by Playwright, axe-core.

The server runs as a subprocess on a fresh SQLite database in development mode, so it seeds the Saxon
demo organisation; logins come from `demo_logins(DEVELOPMENT_SECRET_KEY)`. The browser reaches it as
`http://localhost:PORT`: Chromium accepts Secure `__Host-` cookies over plain http only for localhost.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from referral_service.identity import totp
from referral_service.identity.demo import DemoLogin, demo_logins
from referral_service.settings import DEVELOPMENT_SECRET_KEY
from tests.components import BROWSER

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("REFERRAL_TEST_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


DEV_INSTALL = "python3 dev.py test (reinstalls .venv with the dev dependencies)"


def skip_unless_ready() -> None:
    """Skip (in CI: fail) when Chromium, Playwright or axe-core is missing."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        BROWSER.skip_or_fail("Playwright is not installed", DEV_INSTALL)
    if not CHROMIUM.exists():
        BROWSER.skip_or_fail(f"Chromium missing at {CHROMIUM}")
    if axe_script() is None:
        BROWSER.skip_or_fail("axe-core (axe-playwright-python) is not installed", DEV_INSTALL)


def axe_script() -> Path | None:
    """axe.min.js as shipped by the axe-playwright-python package (a dev dependency)."""
    try:
        import axe_playwright_python
    except ImportError:
        return None
    path = Path(axe_playwright_python.__file__).parent / "axe.min.js"
    return path if path.exists() else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    base_url: str
    logins: dict[str, DemoLogin]
    log_path: Path
    # The server's environment and command line, for running CLI commands against its database.
    env: dict[str, str] = field(default_factory=dict)
    command: list[str] = field(default_factory=list)
    _used_steps: dict[str, int] = field(default_factory=dict)

    def cli(self, *args: str) -> str:
        """Run `referral-service <args>` on the server's database (e.g. `audit checkpoint`); its output."""
        done = subprocess.run(
            [*self.command[:-1], *args],
            env=self.env,
            cwd=self.log_path.parent,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return done.stdout

    def url(self, path: str) -> str:
        return self.base_url + path

    def password(self, username: str) -> str:
        return self.logins[username].password

    def totp_code(self, username: str) -> str | None:
        """A one-time code the service accepts now: it takes codes of the neighbouring steps (clock
        drift) but each step only once and only later than the last one used, so up to three sign-ins
        per 30 seconds need no waiting; a fourth waits for the next step."""
        secret = self.logins[username].totp_secret
        if secret is None:
            return None
        while True:
            now = dt.datetime.now(dt.UTC)
            current = totp.time_step(now)
            # The previous step only while it cannot expire before the form is sent.
            earliest = current - 1 if now.timestamp() % totp.STEP_SECONDS < 20 else current
            step = max(self._used_steps.get(username, earliest - 1) + 1, earliest)
            if step <= current + 1:
                self._used_steps[username] = step
                return totp.code_at_step(totp.from_base32(secret), step)
            time.sleep(0.2)  # polls the wall clock: the server's clock is real, not controllable


def _wait_until_live(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited: {log_path.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url + "/health/live", timeout=2) as response:  # noqa: S310 - our own server
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the server did not start: {log_path.read_text(errors='replace')[-3000:]}")


@contextmanager
def live_server(
    workdir: Path, *, port: int | None = None, environ: Mapping[str, str] | None = None
) -> Iterator[LiveServer]:
    """The server on `port` (default: a free one), with `environ` added to its settings (e.g. an OpenID
    providers file, whose redirect URIs must name the port before the server starts)."""
    port = port or free_port()
    var_dir = workdir / "var"
    env = {
        **os.environ,
        "REFERRAL_ENV": "development",
        "REFERRAL_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'browser.sqlite3'}",
        "REFERRAL_VAR_DIR": str(var_dir),
        "REFERRAL_HOST": "127.0.0.1",
        "REFERRAL_PORT": str(port),
        "REFERRAL_BACKGROUND_JOBS": "false",
        "REFERRAL_LOG_FORMAT": "json",
        **(environ or {}),
    }
    for name in ("REFERRAL_SECRET_KEY", "REFERRAL_KEYRING_PATH", "REFERRAL_AUDIT_SIGNING_KEY_PATH"):
        env.pop(name, None)
    script = Path(sys.executable).parent / "referral-service"
    command = (
        [str(script), "serve"] if script.exists() else [sys.executable, "-m", "referral_service.cli", "serve"]
    )
    log_path = workdir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    try:
        base_url = f"http://localhost:{port}"
        _wait_until_live(f"http://127.0.0.1:{port}", process, log_path)
        logins = {login.username: login for login in demo_logins(DEVELOPMENT_SECRET_KEY)}
        yield LiveServer(base_url, logins, log_path, env=env, command=command)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(log_path, ARTIFACTS / "server.log")


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / (re.sub(r"[^A-Za-z0-9_.-]+", "-", name) + ".png")


SERIOUS = {"serious", "critical"}


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.1 A/AA rules on the current page; the serious and critical violations."""
    # axe.min.js is half a megabyte: sent and compiled again only when the document is a new one (a
    # check after a form sent in place or a change of width finds it still loaded).
    if not page.evaluate("() => typeof axe === 'object'"):
        page.add_script_tag(path=str(axe_script()))
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {
                runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
                resultTypes: ["violations"],
            });
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                         nodes: v.nodes.slice(0, 5).map(n => n.target.join(" "))}));
        }"""
    )
    return [v for v in result if v["impact"] in SERIOUS]


# Screenshots are evidence for a person to look at, not checks, and a full-page one costs about as much
# as the axe run: taken on every check only when asked for, and always when a check fails.
SCREENSHOTS = os.environ.get("REFERRAL_TEST_SCREENSHOTS", "") == "1"


def keep_screenshot(target: Any, name: str, *, always: bool = False) -> None:
    """A screenshot of a page (whole) or a locator in `test-artifacts/browser/`, if asked for."""
    if not (SCREENSHOTS or always):
        return
    if hasattr(target, "goto"):
        target.screenshot(path=str(artifact(name)), full_page=True)
    else:
        target.screenshot(path=str(artifact(name)))


def assert_accessible(page: Any, name: str) -> None:
    """Fail on serious or critical axe violations (with a screenshot of the page as it was)."""
    violations = axe_violations(page)
    keep_screenshot(page, name, always=bool(violations))
    assert not violations, f"{name} ({page.url}): " + json.dumps(violations, ensure_ascii=False, indent=1)


# "phone": the 320 CSS pixels of WCAG 1.4.10 (Reflow), where nothing may scroll sideways.
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 320, "height": 640}


def scrolls_sideways(page: Any) -> bool:
    return bool(
        page.evaluate("() => document.documentElement.scrollWidth > document.documentElement.clientWidth")
    )


class AtBothWidths:
    """The states of one walk through a page, each checked at desktop and at phone width.

    Every state must fit 320 CSS pixels without sideways scrolling; axe runs at the two widths in turn
    (the rules read the same markup at either width, and one walk costs half of walking twice). The
    walk itself goes on at desktop width."""

    def __init__(self, page: Any, name: str) -> None:
        self.page = page
        self.name = name
        self.checked = 0

    def check(self, state: str) -> None:
        on_phone = self.checked % 2 == 1
        self.checked += 1
        self.page.set_viewport_size(PHONE)
        # The page's resize handlers run before the next frame is drawn: check what a user then sees.
        self.page.evaluate("() => new Promise(done => requestAnimationFrame(() => done()))")
        try:
            assert not scrolls_sideways(self.page), f"{self.name}-{state} scrolls sideways at phone width"
            if on_phone:
                assert_accessible(self.page, f"{self.name}-phone-{state}")
        finally:
            self.page.set_viewport_size(DESKTOP)
        if not on_phone:
            assert_accessible(self.page, f"{self.name}-desktop-{state}")
