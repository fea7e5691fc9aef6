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
    print("installing dependencies into .venv ...", file=sys.stderr)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "--editable", f"{ROOT}[dev]"], check=True)
    stamp.write_text(wanted)


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
    return subprocess.call([*commands[argv[0]], *argv[1:]])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
