"""Helpers for the sign-in tests: one browser round trip through the real provider, audit look-ups."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.audit.models import AuditEvent
from tests.oidc.provider import OidcProvider
from tests.web.support import HTML

Client = httpx.AsyncClient  # the test client, or a plain one on the same application


def local(url: str) -> str:
    """Path and query of a URL of this service (the test client's base is https://testserver.local)."""
    parts = urlsplit(url)
    assert parts.netloc == "testserver.local", "the provider sent the browser elsewhere"
    return parts.path + (f"?{parts.query}" if parts.query else "")


async def provider_callback(
    client: Client,
    provider: OidcProvider,
    key: str,
    account: str,
    *,
    acr: str | None = None,
    amr: list[str] | None = None,
    jar: httpx.Cookies | None = None,
) -> str:
    """Start the sign-in with `key`, sign in as `account` at the provider: the callback path to open."""
    started = await client.get(f"/anmelden/mit/{key}", headers=HTML, follow_redirects=False)
    assert started.status_code == 303, started.text
    # The provider runs in its own process: a blocking call here cannot hold up the application.
    return local(
        provider.complete_authorization(started.headers["location"], account, acr=acr, amr=amr, jar=jar)
    )


async def sign_in_with(
    client: Client, provider: OidcProvider, key: str, account: str, **options: Any
) -> tuple[Any, str]:
    """The callback's answer and the callback path (to replay it)."""
    callback = await provider_callback(client, provider, key, account, **options)
    return await client.get(callback, headers=HTML, follow_redirects=False), callback


async def audit_events(engine: AsyncEngine, action: str) -> list[tuple[str, dict[str, Any]]]:
    """(outcome, details) of each event of `action`, oldest first."""
    async with AsyncSession(engine) as session:
        rows = (await session.exec(select(AuditEvent).where(AuditEvent.action == action))).all()
    return [(row.outcome, json.loads(row.details or "{}")) for row in sorted(rows, key=lambda r: r.id or 0)]


async def me(client: Client) -> Any:
    return await client.get("/api/v1/auth/me")
