"""Fuzz the running service against its own OpenAPI document (Schemathesis), anonymous and as every role.

    .venv/bin/python -m tests.contract.fuzz                      # SQLite, the embedded default
    .venv/bin/python -m tests.contract.fuzz --database postgres  # a scratch PostgreSQL database

Starts `referral-service serve` (development: migrated, demo organisation seeded) on a free port, signs
in one demo user per role through the API, and runs `st run` over the whole document once per caller
with a bounded number of examples per operation. Fails (exit 1) on any server error, response that
violates its schema, status code or header the document does not declare, or an Allow header that
does not list the documented methods. Prints per caller: requests, 5xx, failures by check, and how
many referrals the fuzzer got accepted. CI runs it as a step of its own (`.ci/run`), apart from the
pytest suite's wall time.

A role run leaves out signing itself out (`/auth/logout`, `/auth/token`): the token would be gone for
the rest of the run. The anonymous run covers them. The administrator runs last, since it may
disable or reset the other demo users.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from referral_service.db import utcnow
from referral_service.identity import totp
from referral_service.identity.demo import demo_logins
from referral_service.identity.roles import Role
from referral_service.settings import DEVELOPMENT_SECRET_KEY

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "response_schema_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "allow_header_conformance",
)
# Operations a signed-in run leaves out (see the module docstring).
SIGN_OUT = r"^/api/v1/auth/(logout|token)$"
ACCEPTED_REFERRALS = "POST /api/v1/referrals 201"
ADMIN_DSN = os.environ.get("REFERRAL_CONTRACT_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(url: str, timeout: float = 5) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - our own server
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def post_json(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 - our own server
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return dict(json.load(response))


@contextmanager
def postgres_database() -> Iterator[str]:
    """A scratch PostgreSQL database (empty: `serve` migrates it), dropped afterwards."""
    import asyncpg

    name = f"contract_fuzz_{os.getpid()}"

    async def admin(statement: str) -> None:
        connection = await asyncpg.connect(ADMIN_DSN)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield ADMIN_DSN.rpartition("/")[0].replace("postgresql://", "postgresql+asyncpg://", 1) + "/" + name
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def running_service(workdir: Path, database_url: str | None) -> Iterator[tuple[str, Path]]:
    port = free_port()
    env = {
        **os.environ,
        "REFERRAL_VAR_DIR": str(workdir / "var"),
        "REFERRAL_PORT": str(port),
        "REFERRAL_LOG_FORMAT": "json",
    }
    if database_url:
        env["REFERRAL_DATABASE_URL"] = database_url
    log_path = workdir / "service.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen([str(BIN / "referral-service"), "serve"], env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while get(base + "/health/ready", timeout=1) != 200:
            if server.poll() is not None or time.monotonic() > deadline:
                sys.stdout.write(log_path.read_text(errors="replace")[-4000:])
                raise SystemExit("the service did not start")
            time.sleep(0.1)
        yield base, log_path
    finally:
        server.terminate()
        server.wait(timeout=30)


def tokens(base: str) -> dict[str, str]:
    """A bearer token for the first demo user of each role, the administrator last."""
    found: dict[str, str] = {}
    for login in sorted(demo_logins(DEVELOPMENT_SECRET_KEY), key=lambda item: item.role is Role.ADMIN):
        if login.role.value in found:
            continue
        body = {"username": login.username, "password": login.password}
        if login.totp_secret:
            body["totp_code"] = totp.current_code(totp.from_base32(login.totp_secret), utcnow())
        found[login.role.value] = post_json(base + "/api/v1/auth/token", body)["token"]
    return found


def fuzz(
    base: str, workdir: Path, caller: str, token: str | None, args: argparse.Namespace
) -> dict[str, Any]:
    report, statuses = workdir / f"{caller}.json", workdir / f"{caller}.statuses.json"
    command = [
        str(BIN / "st"),
        "run",
        base + "/schema/openapi.json",
        "--checks",
        ",".join(CHECKS),
        "--phases",
        args.phases,
        "--max-examples",
        str(args.examples),
        "--seed",
        str(args.seed),
        # One worker: Schemathesis's workers are threads, and Python 3.11 before 3.11.8 keeps the AST
        # parser's recursion count per process, so two threads describing strategies at once (Hypothesis
        # parses lambdas) can fail with "AST constructor recursion depth mismatch" (CPython gh-106905).
        "--workers",
        "1",
        "--no-shrink",
        "--no-color",
        "--generation-database",
        "none",
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    if token is not None:
        command += ["--header", f"Authorization: Bearer {token}", "--exclude-path-regex", SIGN_OUT]
    # From the working directory: Schemathesis keeps its replay store (`.schemathesis/`) where it runs.
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SCHEMATHESIS_HOOKS": "tests.contract.hooks",
        "CONTRACT_STATUS_FILE": str(statuses),
    }
    started = time.monotonic()
    finished = subprocess.run(command, env=env, cwd=workdir, capture_output=True, text=True, check=False)
    (workdir / f"{caller}.txt").write_text(finished.stdout + finished.stderr)
    counts: Counter[str] = Counter(json.loads(statuses.read_text()) if statuses.exists() else {})
    summary = json.loads(report.read_text()) if report.exists() else {}
    failures = {f"{item['code']} {item['title']}": item["count"] for item in summary.get("failures", [])}
    return {
        "caller": caller,
        "seconds": round(time.monotonic() - started, 1),
        "requests": sum(counts.values()),
        "server_errors": sum(n for key, n in counts.items() if int(key.rsplit(" ", 1)[1]) >= 500),
        "accepted_referrals": counts.get(ACCEPTED_REFERRALS, 0),
        "failures": failures,
        "errors": len(summary.get("errors", [])),
        "exit_code": finished.returncode,
        "output": workdir / f"{caller}.txt",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--examples", type=int, default=10, help="test cases per operation and phase")
    parser.add_argument("--phases", default="examples,fuzzing")
    parser.add_argument("--seed", type=int, default=20261204)
    parser.add_argument("--keep", action="store_true", help="keep the working directory (reports, log)")
    args = parser.parse_args(argv)
    with ExitStack() as stack:
        workdir = Path(tempfile.mkdtemp(prefix="contract-fuzz-"))
        database_url = stack.enter_context(postgres_database()) if args.database == "postgres" else None
        base, log_path = stack.enter_context(running_service(workdir, database_url))
        callers: list[tuple[str, str | None]] = [("anonymous", None), *tokens(base).items()]
        results = [fuzz(base, workdir, caller, token, args) for caller, token in callers]
    server_failures = sum(
        1 for line in log_path.read_text(errors="replace").splitlines() if '"request.failed"' in line
    )
    print(f"{'caller':<20}{'requests':>9}{'5xx':>5}{'accepted referrals':>20}{'seconds':>9}  failures")
    for result in results:
        failures = ", ".join(f"{name}: {count}" for name, count in result["failures"].items()) or "none"
        print(
            f"{result['caller']:<20}{result['requests']:>9}{result['server_errors']:>5}"
            f"{result['accepted_referrals']:>20}{result['seconds']:>9}  {failures}"
        )
    print(f"service log: {server_failures} request.failed")
    failed = [r for r in results if r["exit_code"] != 0 or r["server_errors"] or r["errors"]]
    for result in failed:
        print(f"--- {result['caller']} (exit {result['exit_code']}): {result['output']}")
        print(Path(result["output"]).read_text()[-6000:])
    if not any(result["accepted_referrals"] for result in results):
        print("the fuzzer got no referral accepted (POST /api/v1/referrals 201)")
        failed.append(results[0])
    if not args.keep and not failed:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed or server_failures else 0


if __name__ == "__main__":
    sys.exit(main())
