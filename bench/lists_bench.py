"""Lists, search and counts under realistic volume (target: p95 under 100 ms per page).

A scratch PostgreSQL database gets the demo organisation and 100,000 referrals, 20,000 complaints and
300,000 audit events (bench/volume.py); the application runs in this process with production settings
and answers requests through httpx's ASGI transport, signed in as each role the way a browser is (the
sign-in page, the session cookie). Each route is called N times one after the other; the figure is the
wall time per request as the client sees it (application, driver and PostgreSQL, no HTTP parsing).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import logging
import re
import statistics
import time
from typing import Any

import httpx
from litestar import Litestar

from bench._report import write_section
from bench.pg_scratch import demo_database
from bench.public_bench import Lifespan
from bench.volume import Volume, seed_volume
from referral_service.app import create_app
from referral_service.db import create_database_engine
from referral_service.identity import totp
from referral_service.identity.demo import demo_logins
from referral_service.keys.service import CaseKeys, load_key_provider
from referral_service.settings import Settings

TARGET_MS = 100.0
HTML = {"accept": "text/html"}
_CSRF = re.compile(r'name="_csrf" value="([^"]+)"')


@dataclasses.dataclass(frozen=True, slots=True)
class Route:
    name: str
    user: str
    path: str
    # A POST form (the case-number search keeps the number out of the URL).
    form: dict[str, str] | None = None
    api: bool = False
    # Measure the page after the first one (the cursor taken from the first page's next link).
    follow_next: bool = False


# What each role opens every day, plain and filtered, first page and a later one.
ROUTES = [
    Route("start page, volunteer", "volunteer.dresden", "/"),
    Route("start page, branch lead", "branchlead.dresden", "/"),
    Route("start page, state office", "stateoffice.sachsen", "/"),
    Route("start page, police supervisor", "supervisor.dresden", "/"),
    Route("start page, complaints handler", "complaints.handler", "/"),
    Route("start page, complaints lead", "complaints.lead", "/"),
    Route("volunteer inbox", "volunteer.dresden", "/weisser-ring"),
    Route("branch lead inbox", "branchlead.dresden", "/weisser-ring"),
    Route("branch lead inbox, next page", "branchlead.dresden", "/weisser-ring", follow_next=True),
    Route("branch lead inbox, overdue", "branchlead.dresden", "/weisser-ring?frist=overdue"),
    Route(
        "branch lead inbox, closed in 2025",
        "branchlead.dresden",
        "/weisser-ring?status=closed&von=2025-01-01&bis=2025-12-31",
    ),
    Route("state office queue", "stateoffice.sachsen", "/weisser-ring/landesbuero"),
    Route(
        "state office, routed cases", "stateoffice.sachsen", "/weisser-ring/landesbuero?ansicht=vermittelt"
    ),
    Route("police list (station)", "officer.dresden", "/polizei"),
    Route("police list, next page", "officer.dresden", "/polizei", follow_next=True),
    Route(
        "police list, supervisor, rape and sexual assault",
        "supervisor.dresden",
        "/polizei?delikt=rape_sexual_assault",
    ),
    Route(
        "police search by case number",
        "officer.dresden",
        "/polizei/suche",
        form={"vorgangsnummer": "123/2026/456789"},
    ),
    Route(
        "API referrals, state office, status + offence",
        "stateoffice.sachsen",
        "/api/v1/referrals?status=submitted&offence_category=bodily_harm&limit=50",
        api=True,
    ),
    Route(
        "API referrals, branch lead, next page",
        "branchlead.dresden",
        "/api/v1/referrals?limit=50",
        api=True,
        follow_next=True,
    ),
    Route(
        "API referrals by reference",
        "branchlead.dresden",
        "/api/v1/referrals?reference=VM-2026-000123",
        api=True,
    ),
    Route("complaints queue, lead", "complaints.lead", "/beschwerdestelle"),
    Route("complaints queue, lead, next page", "complaints.lead", "/beschwerdestelle", follow_next=True),
    Route("complaints queue, lead, overdue", "complaints.lead", "/beschwerdestelle?frist=overdue"),
    Route("complaints queue, handler", "complaints.handler", "/beschwerdestelle"),
    Route("complaints queue, handler, unassigned", "complaints.handler", "/beschwerdestelle?zustaendig=none"),
    Route(
        "API complaints, category + channel",
        "complaints.lead",
        "/api/v1/complaints?category=conduct_on_duty&channel=web&limit=50",
        api=True,
    ),
    Route("API complaints workload", "complaints.lead", "/api/v1/complaints/workload", api=True),
    Route("statement requests, supervisor", "supervisor.dresden", "/stellungnahmen"),
    Route(
        "API audit events, one action",
        "auditor.sachsen",
        "/api/v1/audit/events?action=referral:referral:read&limit=50",
        api=True,
    ),
    Route(
        "API audit events, next page",
        "auditor.sachsen",
        "/api/v1/audit/events?limit=50",
        api=True,
        follow_next=True,
    ),
]


@dataclasses.dataclass(frozen=True, slots=True)
class Result:
    route: Route
    status: int
    p50: float
    p95: float
    worst: float


_sign_ins: dict[str, int] = {}


def _fresh_code(username: str, secret: str) -> str:
    """A one-time code not used before: a second sign-in of the same user within 30 seconds takes the
    next time step (accepted as clock drift), since a code once used is refused."""
    _sign_ins[username] = _sign_ins.get(username, -1) + 1
    step = totp.time_step(dt.datetime.now(dt.UTC)) + _sign_ins[username]
    return totp.code_at_step(totp.from_base32(secret), step)


async def signed_in(app: Litestar, settings: Settings, username: str) -> httpx.AsyncClient:
    """A client with the user's session cookie, signed in through the sign-in page."""
    login = next(entry for entry in demo_logins(settings.secret_key) if entry.username == username)
    client = httpx.AsyncClient(transport=_transport(app), base_url="https://bench.local")
    form = await client.get("/anmelden", headers=HTML)
    match = _CSRF.search(form.text)
    if match is None:
        raise RuntimeError("no sign-in form")
    data = {"_csrf": match.group(1), "username": username, "password": login.password}
    if login.totp_secret is not None:
        data["totp_code"] = _fresh_code(username, login.totp_secret)
    answer = await client.post("/anmelden", data=data, headers=HTML)
    if answer.status_code != 303:
        raise RuntimeError(f"sign-in of {username}: {answer.status_code}")
    return client


async def bearer(app: Litestar, settings: Settings, username: str) -> httpx.AsyncClient:
    login = next(entry for entry in demo_logins(settings.secret_key) if entry.username == username)
    client = httpx.AsyncClient(transport=_transport(app), base_url="https://bench.local")
    body: dict[str, Any] = {"username": username, "password": login.password}
    if login.totp_secret is not None:
        body["totp_code"] = _fresh_code(username, login.totp_secret)
    answer = await client.post("/api/v1/auth/token", json=body)
    if answer.status_code != 200:
        raise RuntimeError(f"token of {username}: {answer.status_code} {answer.text[:200]}")
    client.headers["authorization"] = f"Bearer {answer.json()['token']}"
    return client


def _transport(app: Litestar) -> httpx.ASGITransport:
    return httpx.ASGITransport(app=app)  # type: ignore[arg-type]


_NEXT_LINK = re.compile(r'href="([^"]*[?&]nach=[^"]*)"')


async def next_page(client: httpx.AsyncClient, route: Route) -> str:
    """The address of the second page, as the first page names it (Link header, or the page's link)."""
    first = await client.get(route.path, headers=None if route.api else HTML)
    if route.api:
        link = first.headers.get("link", "")
        return link.partition("<")[2].partition(">")[0] or route.path
    match = _NEXT_LINK.search(first.text)
    return match.group(1).replace("&amp;", "&") if match else route.path


async def measure(client: httpx.AsyncClient, route: Route, requests: int) -> Result:
    path = await next_page(client, route) if route.follow_next else route.path
    if route.follow_next and path == route.path:
        raise RuntimeError(f"{route.name}: the first page has no next page")

    async def send() -> httpx.Response:
        if route.form is not None:
            data = {**route.form, "_csrf": csrf}
            return await client.post(route.path, data=data, headers=HTML)
        return await client.get(path, headers=None if route.api else HTML)

    csrf = ""
    if route.form is not None:
        match = _CSRF.search((await client.get("/", headers=HTML)).text)
        csrf = match.group(1) if match else ""

    first = await send()
    for _ in range(4):  # warm-up: statement caches, key cache, templates
        await send()
    times: list[float] = []
    for _ in range(requests):
        started = time.perf_counter()
        answer = await send()
        times.append((time.perf_counter() - started) * 1000)
        if answer.status_code != first.status_code:
            raise RuntimeError(f"{route.name}: {answer.status_code}")
    times.sort()
    return Result(
        route,
        first.status_code,
        statistics.median(times),
        times[max(0, int(len(times) * 0.95) - 1)],
        times[-1],
    )


async def main(requests: int, volume: Volume) -> None:
    async with demo_database("lists") as settings:
        engine = create_database_engine(settings.database_url)
        try:
            started = time.perf_counter()
            seeded = await seed_volume(
                engine,
                CaseKeys(lambda: load_key_provider(settings)),
                referrals=volume.referrals,
                complaints=volume.complaints,
                audit_events=volume.audit_events,
            )
            async with engine.connect() as connection:
                await connection.exec_driver_sql("ANALYZE")
            seconds = time.perf_counter() - started
        finally:
            await engine.dispose()
        print(f"seeded {seeded} in {seconds:.0f} s", flush=True)
        app = create_app(settings)
        results: list[Result] = []
        async with Lifespan(app):
            clients: dict[tuple[str, bool], httpx.AsyncClient] = {}
            for route in ROUTES:
                key = (route.user, route.api)
                if key not in clients:
                    make = bearer if route.api else signed_in
                    clients[key] = await make(app, settings, route.user)
                result = await measure(clients[key], route, requests)
                print(f"{route.name}: {result.status} p95 {result.p95:.1f} ms", flush=True)
                results.append(result)
            for client in clients.values():
                await client.aclose()

    rows = "\n".join(
        f"| {r.route.name} | `{r.route.path}`{' (page 2)' if r.route.follow_next else ''} | {r.status} | {r.p50:.1f} | {r.p95:.1f} | {r.worst:.1f} |"
        for r in results
    )
    over = [r.route.name for r in results if r.p95 >= TARGET_MS or r.status >= 400]
    verdict = "met" if not over else "NOT met: " + ", ".join(over)
    write_section(
        "lists",
        "Lists, search and counts with 100,000 referrals (PostgreSQL)",
        f"""`make bench-lists`: a scratch PostgreSQL database with the demo organisation and
{seeded.referrals:,} referrals, {seeded.complaints:,} complaints and {seeded.audit_events:,} audit events
(bench/volume.py: real data keys and sealed fields; three years, most cases closed; seeded in {seconds:.0f} s);
the application in this process, production settings, each page requested {requests} times in a row by a
signed-in user through httpx's ASGI transport (pages with the session cookie, API with a token). Wall
time per request in ms.

| what | request | status | p50 | p95 | worst |
|---|---|---:|---:|---:|---:|
{rows}

Target (p95 under {TARGET_MS:.0f} ms for every list page, search and start page): **{verdict}**.""",
    )


if __name__ == "__main__":
    logging.getLogger("httpx").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=200, help="requests per route")
    parser.add_argument("--referrals", type=int, default=100_000)
    parser.add_argument("--complaints", type=int, default=20_000)
    parser.add_argument("--audit-events", type=int, default=300_000)
    arguments = parser.parse_args()
    asyncio.run(
        main(
            arguments.requests,
            Volume(arguments.referrals, arguments.complaints, arguments.audit_events),
        )
    )
