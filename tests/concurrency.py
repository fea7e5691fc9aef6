"""Requests that really run at the same time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from litestar import Litestar


@asynccontextmanager
async def overlapping_client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose requests really run at the same time, for tests of concurrent requests.

    Litestar's test client runs each request to its end in a blocking portal, so `asyncio.gather` over
    its calls sends them one after another; httpx's ASGI transport runs the application on the test's
    own loop, where the requests interleave at every database wait."""
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]  # ASGI app typed narrower
    async with (
        app.lifespan(),
        httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c,
    ):
        yield c
