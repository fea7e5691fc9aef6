"""The complaints pages name the working days their settings give, not a fixed number: "due soon" in the
queue's filter and the lead's workload, the default deadline of a statement, the answer time on the
receipt; one working day in the singular."""

from __future__ import annotations

import re

import pytest

from complaints.config import ComplaintsConfig
from referral_service.identity.roles import Role
from tests.complaints.support import OFFICE, complaints_test_config
from tests.conftest import Kept
from tests.identity.support import AuthHeaders, DemoDirectory, FakeClock
from tests.web.complaint_support import REFERENCE, submit
from tests.web.support import Client, assert_html, get_page, sign_in, text_of

# Each setting a number of its own, none the default, so that each text shows which one it reads.
PLURAL = {
    "due_soon_working_days": 3,
    "statement_deadline_working_days": 7,
    "answer_deadline_working_days": 15,
}
SINGULAR = dict.fromkeys(PLURAL, 1)


@pytest.fixture
def complaints_config(
    request: pytest.FixtureRequest, complaints_clock: FakeClock, kept: Kept
) -> ComplaintsConfig:
    days: dict[str, int] = request.param
    return kept.get(
        ("complaints_config_working_days", *sorted(days.items())),
        lambda: complaints_test_config(complaints_clock, **days),
    )


@pytest.mark.parametrize(
    ("complaints_config", "texts"),
    [
        (
            PLURAL,
            {
                "receipt": "antwortet in der Regel innerhalb von 15 Arbeitstagen.",
                "filter": "in den nächsten 3 Arbeitstagen fällig",
                "workload": "in 3 Arbeitstagen fällig",
                "hint": "Leer lassen für 7 Arbeitstage.",
            },
        ),
        (
            SINGULAR,
            {
                "receipt": "antwortet in der Regel innerhalb von einem Arbeitstag.",
                "filter": "bis zum nächsten Arbeitstag fällig",
                "workload": "bis zum nächsten Arbeitstag fällig",
                "hint": "Leer lassen für 1 Arbeitstag.",
            },
        ),
    ],
    indirect=["complaints_config"],
    ids=["plural", "singular"],
)
async def test_the_texts_name_the_configured_working_days(
    https_client: Client,
    auth_headers: AuthHeaders,
    demo_directory: DemoDirectory,
    identity_clock: FakeClock,
    texts: dict[str, str],
) -> None:
    receipt = await submit(https_client)
    assert_html(receipt, 201)
    assert texts["receipt"] in text_of(receipt.text)
    found = REFERENCE.search(receipt.text)
    assert found
    lead = await auth_headers("complaints.lead")
    [item] = (await https_client.get(OFFICE, headers=lead, params={"reference": found.group(0)})).json()
    triaged = await https_client.post(f"{OFFICE}/{item['id']}/triage", json={"complete": True}, headers=lead)
    assert triaged.status_code == 200, triaged.text

    await sign_in(https_client, demo_directory, Role.COMPLAINTS_LEAD, identity_clock)
    queue = await get_page(https_client, "/beschwerdestelle")
    assert_html(queue)
    assert f'<option value="due_soon">{texts["filter"]}</option>' in squeezed(queue.text)
    assert f'<th scope="col">{texts["workload"]}</th>' in queue.text
    case = await get_page(https_client, f"/beschwerdestelle/beschwerden/{item['id']}")
    assert_html(case)
    assert texts["hint"] in text_of(case.text)


def squeezed(page_html: str) -> str:
    """The markup without the white space between tags and inside an option."""
    return re.sub(r">\s+", ">", re.sub(r"\s+<", "<", page_html))
