"""Create-referral throughput and latency on PostgreSQL with 32 concurrent clients.

Three targets in one run, each loaded the same way for the same number of requests:
1. the service (`referral-service serve`, one process): token auth, guard, validation, routing,
   repeat-victim check, a new data key, field encryption, the reference counter, four inserts and an
   audit event per request;
2. a bare Litestar app decoding the same JSON into the same type (framework and HTTP cost only);
3. raw asyncpg: the same rows (data key, reference counter, referral, transition, audit event) in one
   transaction per referral over 32 connections, without HTTP.
Target: the service reaches at least 50% of the raw asyncpg rate.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import httpx
import msgspec

from bench._report import write_section
from bench.pg_scratch import scratch_database
from referral_service.identity.demo import demo_logins
from referral_service.settings import DEVELOPMENT_SECRET_KEY
from tests.referrals.support import referral_payload

CONCURRENCY = 32
YEAR = time.localtime().tm_year
WORKERS = int(os.environ.get("REFERRAL_BENCH_WORKERS", "2"))
TARGET_SHARE = 0.5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(command: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"server exited: {process.stderr.read().decode()[-2000:] if process.stderr else ''}"
            )
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=1).status_code < 500:
                return process
        except httpx.TransportError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("server did not start")


async def load(send: Callable[[int], Awaitable[None]], seconds: int) -> dict[str, float | str]:
    """Call `send` from CONCURRENCY workers for `seconds`; rate and latency percentiles."""
    latencies: list[float] = []
    counter = itertools.count(1)
    started = time.perf_counter()
    deadline = started + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline:
            begun = time.perf_counter()
            await send(next(counter))
            latencies.append((time.perf_counter() - begun) * 1000)

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "rate": len(ordered) / elapsed,
        "p50": statistics.median(ordered),
        "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
    }


WRK_SCRIPT = """
counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
%(auth)s
request = function()
  counter = counter + 1
  return wrk.format(nil, "/api/v1/referrals", nil, string.format(%(template)s, counter))
end
"""


def wrk_load(base: str, headers: dict[str, str], seconds: int) -> dict[str, float | str]:
    """Load with wrk (C, so the load generator takes little of the machine); distinct bodies per request."""
    payload = referral_payload(email=None)
    payload["victim"]["phone"] = "0351 7%d"
    template = msgspec.json.encode(payload).decode().replace("%", "%%").replace("%%d", "%d")
    auth = "".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in headers.items())
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % {"auth": auth, "template": "[[" + template + "]]"})
    output = subprocess.run(
        ["wrk", "-t2", f"-c{CONCURRENCY}", f"-d{seconds}s", "--latency", "-s", script.name, base],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(script.name)
    if "Non-2xx" in output:
        raise RuntimeError("wrk saw failed requests:\n" + output)
    values: dict[str, float | str] = {}
    for line in output.splitlines():
        parts = line.split()
        if line.startswith("Requests/sec:"):
            values["rate"] = float(parts[1])
        elif len(parts) == 2 and parts[0] in {"50%", "99%"}:
            values["p50" if parts[0] == "50%" else "p99"] = _ms(parts[1])
    return values


def _ms(text: str) -> float:
    for unit, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    return float(text)


async def httpx_load(base: str, headers: dict[str, str], seconds: int) -> dict[str, float | str]:
    """Fallback load generator where wrk is not installed (it costs the server more CPU)."""
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=60) as client:

        async def send(index: int) -> None:
            body = referral_payload(phone=f"0351 7{index}", email=None)
            response = await client.post("/api/v1/referrals", json=body)
            if response.status_code not in {200, 201}:
                raise RuntimeError(f"{response.status_code}: {response.text[:300]}")

        await send(0)  # warm-up: first-use costs (statement cache, key cache) outside the timing
        return await load(send, seconds)


async def http_load(base: str, headers: dict[str, str], seconds: int) -> dict[str, float | str]:
    if shutil.which("wrk"):
        await asyncio.to_thread(wrk_load, base, headers, 2)  # warm-up
        return await asyncio.to_thread(wrk_load, base, headers, seconds)
    return await httpx_load(base, headers, seconds)


async def raw_load(
    dsn: str, seconds: int, station: uuid.UUID, officer: uuid.UUID, branch: uuid.UUID
) -> dict[str, float | str]:
    pool = await asyncpg.create_pool(dsn, min_size=CONCURRENCY, max_size=CONCURRENCY)
    blob = os.urandom

    async def send(index: int) -> None:
        key_id, referral_id = uuid.uuid4(), uuid.uuid4()
        now = time.time()
        async with pool.acquire() as connection, connection.transaction():
            await connection.execute(
                "INSERT INTO data_keys (id, case_kind, kek_version, wrapped, created_at) "
                "VALUES ($1, 'referral', 1, $2, now())",
                key_id,
                blob(60),
            )
            # The reference, as the service takes it: last before the insert, from the year's counter row.
            sequence = await connection.fetchval(
                "INSERT INTO referral_reference_counters (year, last_value) VALUES ($1, 1) "
                "ON CONFLICT (year) DO UPDATE SET last_value = referral_reference_counters.last_value + 1 "
                "RETURNING last_value",
                YEAR,
            )
            await connection.execute(
                "INSERT INTO referrals (id, reference, data_key_id, status, referring_station_id, "
                "referring_officer_id, branch_id, offence_category, hate_crime, incident_month, "
                "requested_support, urgency, language, interpreter_needed, consent_given_by, consent_given_at, "
                "consent_form, consent_scope, consent_recorded_by_id, victim_name, date_of_birth, phone, email, "
                "street_address, postcode, city, "
                "contact_preferences, case_number, circumstances, phone_index, case_number_index, support_given, "
                "submitted_at, escalation_level, updated_at) VALUES ($1, $18, $2, 'submitted', $3, $4, $5, "
                "'bodily_harm', false, '2026-11', 'accompaniment,personal_support', 'high', 'de', false, 'victim', "
                "now(), 'written', 'transfer_to_wr_for_contact_and_support', $4, $6, $7, $8, $9, $10, $11, $12, "
                "$13, $14, $15, $16, $17, '', now(), 0, now())",
                referral_id,
                key_id,
                station,
                officer,
                branch,
                blob(62),
                blob(56),
                blob(61),
                blob(67),
                blob(63),
                blob(51),
                blob(53),
                blob(80),
                blob(58),
                blob(110),
                blob(8),
                blob(8),
                f"VM-{YEAR}-{sequence:06d}",
            )
            await connection.execute(
                "INSERT INTO referral_transitions (id, referral_id, action, from_status, to_status, actor_id, at) "
                "VALUES ($1, $2, 'submit', '', 'submitted', $3, now())",
                uuid.uuid4(),
                referral_id,
                officer,
            )
            await connection.execute(
                "INSERT INTO audit_events (occurred_at_us, action, outcome, actor_kind, actor_id, actor_roles, "
                "actor_unit_id, target_type, target_id, request_id, client_hash, details) VALUES ($1, "
                "'referral:referral:create', 'success', 'user', $2, 'police_officer', $3, 'referral', $4, $5, $6, "
                '\'{"repeat_hint":false,"routed_to":"branch"}\')',
                int(now * 1e6),
                str(officer),
                str(station),
                str(referral_id),
                uuid.uuid4().hex,
                uuid.uuid4().hex,
            )

    try:
        await send(0)
        return await load(send, seconds)
    finally:
        await pool.close()


def named(name: str, values: dict[str, float | str]) -> dict[str, float | str]:
    return {"name": name, **values}


async def main(seconds: int) -> None:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        async with scratch_database("referral") as (url, dsn):
            port = free_port()
            env = {k: v for k, v in os.environ.items() if not k.startswith("REFERRAL_")}
            env.update(
                {
                    "REFERRAL_DATABASE_URL": url,
                    "REFERRAL_VAR_DIR": str(Path(tmp) / "var"),
                    "REFERRAL_PORT": str(port),
                    "REFERRAL_LOG_LEVEL": "WARNING",
                    "REFERRAL_BACKGROUND_JOBS": "false",
                }
            )
            # Development `serve` migrates, seeds the demo organisation and routing table, then serves.
            server = start_server(
                [sys.executable, "-m", "referral_service.cli", "serve", "--workers", str(WORKERS)], env, port
            )
            try:
                password = next(
                    login.password
                    for login in demo_logins(DEVELOPMENT_SECRET_KEY)
                    if login.username == "officer.dresden"
                )
                token = httpx.post(
                    f"http://127.0.0.1:{port}/api/v1/auth/token",
                    json={"username": "officer.dresden", "password": password},
                ).json()["token"]
                print(f"service: {seconds} s ...")
                auth = {"Authorization": f"Bearer {token}"}
                results.append(
                    named("service (full stack)", await http_load(f"http://127.0.0.1:{port}", auth, seconds))
                )
            finally:
                server.terminate()
                server.wait(timeout=30)

            connection = await asyncpg.connect(dsn)
            try:
                station = await connection.fetchval(
                    "SELECT id FROM org_units WHERE code = 'rev-dresden-nord'"
                )
                branch = await connection.fetchval("SELECT id FROM org_units WHERE code = 'wr-dresden'")
                officer = await connection.fetchval("SELECT id FROM users WHERE username = 'officer.dresden'")
            finally:
                await connection.close()
            print(f"raw asyncpg: {seconds} s ...")
            raw = await raw_load(dsn, seconds, station, officer, branch)
            results.append(named("raw asyncpg inserts, same rows", raw))

        port = free_port()
        bare = start_server(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench.bare_app:app",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
            port,
        )
        try:
            print(f"bare Litestar: {seconds} s ...")
            results.append(
                named("bare Litestar JSON POST", await http_load(f"http://127.0.0.1:{port}", {}, seconds))
            )
        finally:
            bare.terminate()
            bare.wait(timeout=30)

    generator = "wrk" if shutil.which("wrk") else "Python httpx, as wrk is not installed"
    service, raw = results[0], results[1]
    share = float(service["rate"]) / float(raw["rate"])
    rows = "\n".join(
        f"| {r['name']} | {float(r['rate']):,.0f} | {float(r['p50']):.1f} | {float(r['p99']):.1f} |"
        for r in results
    )
    write_section(
        "referral",
        "Create referral (PostgreSQL, 32 concurrent clients)",
        f"""`make bench-referral`: {seconds} s per target, {CONCURRENCY} concurrent clients ({generator}; on the
same 2-core machine as the server and PostgreSQL). The service runs as
`referral-service serve --workers {WORKERS}` and does per request: bearer-token authentication, permission
guard, validation, postcode routing, repeat-victim lookup, a new per-case data key, encryption of 12
fields, blind indexes, four inserts and the audit event, in one transaction.

| target | referrals/s | p50 ms | p99 ms |
|---|---:|---:|---:|
{rows}

Service rate / raw asyncpg rate: **{share:.0%}** (target >= {TARGET_SHARE:.0%}: **{"met" if share >= TARGET_SHARE else "NOT met"}**).

Where the time goes (py-spy on the two workers under this load, 2026-11-21): the workers are CPU-bound
(about 65% of a core each, PostgreSQL backends together about half a core). Per request the service runs
about 5,700 Python function calls: the ORM unit of work (three flushes and the commit) about a third,
building the ORM objects and sealing 12 fields about a fifth, the credential lookup (one query since
2026-11-21, previously three) and the audit event most of the rest; Litestar and uvicorn are a small
share (the bare endpoint is 35 times faster). Two transactions per request (the guard's and the
handler's) each cost a pool checkout with a liveness ping, `BEGIN` and `COMMIT`. The raw baseline runs
six round trips and almost no Python; the service runs about fifteen. Reaching half the raw rate
would need about 1 ms of CPU per request on this 2-core machine, which the fixed stack (SQLModel ORM,
SQLAlchemy's async layer, Litestar) does not reach on this path; the remaining levers (one transaction
shared by the guard and the handler, SQLAlchemy Core inserts instead of the unit of work on the create
path) are worth an estimated 1.5x, not the three- to fivefold needed.""",
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=int, default=20)
    asyncio.run(main(parser.parse_args().seconds))
