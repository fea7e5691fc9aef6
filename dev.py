#!/usr/bin/env python3
"""The README's two commands, on a fresh clone with nothing but Python 3.11+.

    python3 dev.py serve   # the service on the embedded default (SQLite, development keyring, demo data)
    python3 dev.py test    # the whole test suite

Creates `.venv/` on first use and reinstalls only when pyproject.toml changes. Extra arguments are
passed on (`python3 dev.py test -k audit`, `python3 dev.py serve --port 8080`); `python3 dev.py cli ...`
runs any `referral-service` command.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")


def ensure_environment() -> None:
    if sys.version_info < (3, 11):
        sys.exit("Python 3.11 or newer is required")
    stamp = VENV / ".installed"
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        print("creating .venv ...", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--disable-pip-version-check"]
    print("upgrading pip in .venv ...", file=sys.stderr)
    subprocess.run([*pip, "--quiet", "--upgrade", "pip"], check=True)
    # pip's own progress (one line per package), so a first install of a few minutes is not silent.
    print("installing the service and its dev dependencies into .venv ...", file=sys.stderr)
    subprocess.run([*pip, "--progress-bar", "off", "--editable", f"{ROOT}[dev]"], check=True)
    stamp.write_text(wanted)
    print("installed; later runs reuse .venv until pyproject.toml changes", file=sys.stderr)


def test_defaults(argv: list[str]) -> list[str]:
    """The suite runs on every core (pytest-xdist); the browser tests stay on one worker, which
    starts the one live server they share. `-n 0`, `-n 1` or `-p no:xdist` run it in one process."""
    if argv[0] != "test":
        return []
    chosen = ("-n", "--numprocesses", "no:xdist", "-pno:xdist")
    if any(arg.startswith(chosen) for arg in argv[1:]):
        return []
    return ["-n", "auto", "--dist", "loadgroup"]


def main(argv: list[str]) -> int:
    commands = {
        "serve": [str(BIN / "referral-service"), "serve"],
        "test": [str(BIN / "python"), "-m", "pytest"],
        "cli": [str(BIN / "referral-service")],
    }
    if not argv or argv[0] not in commands:
        print(__doc__, file=sys.stderr)
        return 2
    ensure_environment()
    os.chdir(ROOT)
    command = [*commands[argv[0]], *test_defaults(argv), *argv[1:]]
    sys.stdout.flush()
    sys.stderr.flush()
    # Become the command (no child process): signals sent to dev.py, e.g. SIGTERM, reach the server.
    os.execv(command[0], command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
