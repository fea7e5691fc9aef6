"""Run a command; if it prints nothing for too long, show where its processes are, stop it, and run it
once more.

Why: with branch coverage on (CI only), about one run in three of the suite has hung after its last
tests: one pytest-xdist worker spins inside a weak-reference callback under coverage's tracer with
greenlet support, never in a run without coverage (docs/development.md, "Known problems"). A hang is
not a test result; a failing test still fails the run at once, since only silence triggers a retry.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import threading
import time


def _dump_stacks(pid: int) -> None:
    """Where every process of the run is, if py-spy is at hand (diagnosis only)."""
    # The repository's virtual environment has it (a dev dependency); the run created it by now.
    spy = shutil.which("py-spy") or os.path.join(os.path.dirname(__file__), "..", ".venv", "bin", "py-spy")
    if not os.path.exists(spy):
        print("(py-spy is not installed: no stacks)", flush=True)
        return
    children = subprocess.run(["pgrep", "-g", str(pid)], capture_output=True, text=True).stdout.split()
    for child in children:
        # With the C frames if the platform allows: the suspected spin is below the Python frame.
        native = subprocess.run([spy, "dump", "--native", "--pid", child], timeout=120, check=False)
        if native.returncode != 0:
            subprocess.run([spy, "dump", "--pid", child], timeout=60, check=False)


def run_once(command: list[str], quiet_limit: float) -> int | None:
    """The command's exit status, or None when it stayed silent for `quiet_limit` seconds."""
    # Unbuffered: into a pipe, Python would otherwise hold pytest's progress back for kilobytes.
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    last_output = time.monotonic()

    def pump() -> None:
        nonlocal last_output
        assert process.stdout is not None
        for chunk in iter(lambda: process.stdout.read1(4096), b""):  # type: ignore[union-attr]
            sys.stdout.buffer.write(chunk)
            sys.stdout.flush()
            last_output = time.monotonic()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    while process.poll() is None:
        if time.monotonic() - last_output > quiet_limit:
            print(f"\n== watchdog: no output for {quiet_limit:.0f} s; where the processes are:", flush=True)
            _dump_stacks(process.pid)
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            reader.join(timeout=5)
            return None
        time.sleep(1)
    reader.join(timeout=5)
    return process.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quiet-limit", type=float, default=300, help="seconds without output")
    parser.add_argument("--retries", type=int, default=1, help="runs after a hang")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    arguments = parser.parse_args()
    command = arguments.command[1:] if arguments.command[:1] == ["--"] else arguments.command
    for attempt in range(arguments.retries + 1):
        status = run_once(command, arguments.quiet_limit)
        if status is not None:
            return status
        print(f"== watchdog: the run hung (attempt {attempt + 1}); ", end="", flush=True)
        print("running it again" if attempt < arguments.retries else "giving up", flush=True)
    return 124


if __name__ == "__main__":
    sys.exit(main())
