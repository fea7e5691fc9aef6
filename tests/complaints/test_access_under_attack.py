"""A stranger who hammers a complaint's reference with wrong codes slows only themselves: the
complainant, from their own address, still opens their complaint with the right code, through the API
and through the status page."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from litestar.testing import transport as litestar_transport

from tests.complaints.support import (
    FREE_FAILURES_PER_ADDRESS,
    PUBLIC,
    Client,
    comparable,
    complainant_headers,
    submit,
    wrong,
)
from tests.web.support import csrf_of, get_page, post_form

SESSION = f"{PUBLIC}/session"
ATTACKER = ("203.0.113.66", 41234)
# The pages set `Secure` cookies, so the complainant's browser speaks https.
BROWSER = "https://testserver.local"


class _FromAddress(litestar_transport.TestClientTransport[Client]):
    """The test client's transport (same application, same event loop), from another client address."""

    def __init__(self, client: Client, address: tuple[str, int]) -> None:
        super().__init__(client=client)
        self.address = address

    def parse_request(self, request: httpx.Request) -> dict[str, Any]:
        return {**super().parse_request(request), "client": self.address}


@pytest.fixture
def attacker(client: Client) -> httpx.AsyncClient:
    # Not closed: the transport holds nothing of its own, the test client owns the application.
    transport = _FromAddress(client, ATTACKER)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver.local")  # type: ignore[arg-type]


async def test_the_owner_opens_their_complaint_while_a_stranger_guesses_its_code(
    client: Client, attacker: httpx.AsyncClient
) -> None:
    receipt = await submit(client)
    reference, code = receipt["reference"], receipt["access_code"]

    # To the stranger, a wrong code for a real reference looks like a reference that does not exist.
    guessed = await attacker.post(SESSION, json={"reference": reference, "access_code": wrong(code)})
    unknown = await attacker.post(SESSION, json={"reference": "BS-2026-000999", "access_code": wrong(code)})
    assert comparable(guessed) == comparable(unknown)
    assert guessed.status_code == 404

    # Far more wrong codes than any lock would allow; the stranger's own address gets locked.
    answers = [
        (await attacker.post(SESSION, json={"reference": reference, "access_code": wrong(code)})).status_code
        for _ in range(FREE_FAILURES_PER_ADDRESS + 10)
    ]
    assert set(answers[: FREE_FAILURES_PER_ADDRESS - 2]) == {404}
    assert set(answers[FREE_FAILURES_PER_ADDRESS - 2 :]) == {429}
    # Even the right code does not pass from the locked address.
    stolen = await attacker.post(SESSION, json={"reference": reference, "access_code": code})
    assert stolen.status_code == 429

    # The complainant, from their own address, is not kept out: through the API ...
    headers = await complainant_headers(client, reference, code)
    me = await client.get(f"{PUBLIC}/me", headers=headers)
    assert (me.status_code, me.json()["reference"]) == (200, reference)

    # ... and through the status page.
    form = await get_page(client, f"{BROWSER}/beschwerde/status")
    opened = await post_form(
        client,
        f"{BROWSER}/beschwerde/status",
        {"_csrf": csrf_of(form.text), "reference": reference, "access_code": code},
    )
    assert (opened.status_code, opened.headers["location"]) == (303, "/beschwerde/meine")
    page = await get_page(client, f"{BROWSER}/beschwerde/meine")
    assert page.status_code == 200
    assert reference in page.text
