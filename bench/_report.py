"""Write one benchmark's section into docs/performance.md, with the machine and the date.

Each benchmark owns the text between `<!-- bench:NAME:start -->` and `<!-- bench:NAME:end -->`;
re-running it replaces only its own section, so results of different benchmarks live side by side.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import sys
from pathlib import Path

PERFORMANCE_MD = Path(__file__).resolve().parent.parent / "docs" / "performance.md"

_HEADER = """# Performance

Figures written by the benchmarks under `bench/` (`make bench`). Each section names the machine and the
date it was measured on; numbers from another machine are not comparable. Targets come from the issues.
"""


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f", {int(line.split()[1]) // (1024 * 1024)} GiB RAM"
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores{mem}; {platform.system()} {platform.release()}; "
        f"Python {sys.version.split()[0]}"
    )


def write_section(name: str, title: str, body: str) -> None:
    """Replace (or append) the section `name` of docs/performance.md with `body`."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = (
        f"<!-- bench:{name}:start -->\n## {title}\n\n"
        f"Measured {stamp} on {machine_description()}.\n\n{body.strip()}\n<!-- bench:{name}:end -->"
    )
    text = PERFORMANCE_MD.read_text() if PERFORMANCE_MD.exists() else _HEADER
    pattern = re.compile(
        rf"<!-- bench:{re.escape(name)}:start -->.*?<!-- bench:{re.escape(name)}:end -->", re.DOTALL
    )
    if pattern.search(text):
        text = pattern.sub(lambda _m: section, text)
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    PERFORMANCE_MD.parent.mkdir(parents=True, exist_ok=True)
    PERFORMANCE_MD.write_text(text)
    print(section)
