"""The office's case page: the next sensible step first and the others folded away, every form's errors
named by the field's own label, the office's own wording, and a second step before forwarding and
withdrawing (which, like deciding and closing, cannot be undone)."""

from __future__ import annotations

import re
from typing import Any

from complaints.domain import ComplaintStatus
from referral_service.identity.roles import Role
from referral_service.web.i18n import catalogue
from tests.complaints.support import ANSWER, OFFICE, PUBLIC, QUESTION, STATEMENTS, anonymous_payload
from tests.identity.support import AuthHeaders, DemoDirectory, FakeClock
from tests.web.support import (
    Client,
    assert_error_summary,
    assert_html,
    csrf_of,
    get_page,
    post_form,
    sign_in,
    text_of,
)

S = ComplaintStatus
_SECTION = re.compile(r'<section class="panel" id="f-action-(\w+)"')
_FOLD = '<details class="more-steps"'
_STATUS = re.compile(r'<span class="badge badge-(\w+)">')
TODAY = "2026-11-23"  # the complaints clock's Monday


class Office:
    """A complaint moved along by the lead through the API, and looked at on the lead's case page."""

    def __init__(self, client: Client, auth_headers: AuthHeaders, directory: DemoDirectory) -> None:
        self.client = client
        self.auth_headers = auth_headers
        self.directory = directory
        self.id = ""
        self.reference = ""

    @property
    def path(self) -> str:
        return f"/beschwerdestelle/beschwerden/{self.id}"

    async def submit(self, *, with_unit: bool = True) -> None:
        unit = {"police_unit_id": str(self.directory.unit("rev-dresden-nord").id)} if with_unit else {}
        receipt = await self.client.post(PUBLIC, json=anonymous_payload(**unit))
        assert receipt.status_code == 201, receipt.text
        listed = await self.client.get(OFFICE, headers=await self.auth_headers("complaints.lead"))
        reference = receipt.json()["reference"]
        self.id = next(item["id"] for item in listed.json() if item["reference"] == reference)
        self.reference = reference

    async def api(
        self, step: str, body: dict[str, Any] | None = None, *, who: str = "complaints.lead"
    ) -> Any:
        response = await self.client.post(
            f"{OFFICE}/{self.id}/{step}", json=body, headers=await self.auth_headers(who)
        )
        assert response.status_code < 300, response.text
        return response

    async def answer_statement(self) -> None:
        supervisor = await self.auth_headers("supervisor.dresden")
        listed = (await self.client.get(STATEMENTS, headers=supervisor)).json()
        [request] = [item for item in listed if item["complaint_reference"] == self.reference]
        answered = await self.client.post(
            f"{STATEMENTS}/{request['id']}/statement", json={"answer": ANSWER}, headers=supervisor
        )
        assert answered.status_code == 200, answered.text

    async def move_to(self, status: ComplaintStatus) -> None:
        """From `received` along the main path (or out by a side exit) up to `status`."""
        path = [S.TRIAGE, S.IN_PROGRESS, S.STATEMENT_REQUESTED, S.STATEMENT_RECEIVED, S.DECISION, S.CLOSED]
        steps = {
            S.TRIAGE: lambda: self.api("triage", {"complete": False}),
            S.IN_PROGRESS: lambda: self.api("triage", {}),
            S.STATEMENT_REQUESTED: lambda: self.api("statement-requests", {"question": QUESTION}),
            S.STATEMENT_RECEIVED: self.answer_statement,
            S.DECISION: lambda: self.api("decision", {"outcome": "justified", "final": True}),
            S.CLOSED: lambda: self.api("close"),
        }
        for reached in path[: path.index(status) + 1] if status in path else []:
            await steps[reached]()

    async def case(self) -> Any:
        case = await get_page(self.client, self.path)
        assert_html(case)
        return case

    async def status(self) -> str:
        found = _STATUS.search((await self.case()).text)
        assert found
        return found.group(1)


def layout(page_html: str) -> tuple[list[str], list[str]]:
    """The action sections shown first, and those in the fold, in page order."""
    fold = page_html.find(_FOLD)
    sections = [(found.start(), found.group(1)) for found in _SECTION.finditer(page_html)]
    first = [name for at, name in sections if fold < 0 or at < fold]
    return first, [name for at, name in sections if fold >= 0 and at > fold]


def fold_is_open(page_html: str) -> bool:
    found = re.search(r'<details class="more-steps"( open)?>', page_html)
    assert found, "no fold on the page"
    return found.group(1) is not None


async def lead_office(
    client: Client, auth_headers: AuthHeaders, directory: DemoDirectory, clock: FakeClock, **submit: Any
) -> Office:
    office = Office(client, auth_headers, directory)
    await office.submit(**submit)
    await sign_in(client, directory, Role.COMPLAINTS_LEAD, clock)
    return office


# The lead's case page, status by status: the step first that moves the complaint on.
EXPECTED: list[tuple[ComplaintStatus, list[str], list[str]]] = [
    (S.RECEIVED, ["triage", "assign"], ["message", "forward", "withdraw"]),
    (S.TRIAGE, ["triage"], ["assign", "message", "forward", "withdraw"]),
    (S.IN_PROGRESS, ["request_statement"], ["assign", "decision", "message", "forward", "withdraw"]),
    (S.STATEMENT_REQUESTED, ["message"], ["assign", "request_statement", "decision", "forward", "withdraw"]),
    (
        S.STATEMENT_RECEIVED,
        ["decision"],
        ["assign", "request_statement", "resume", "message", "forward", "withdraw"],
    ),
    (S.DECISION, ["close"], ["assign", "message"]),
    (S.CLOSED, ["message"], []),
]


async def test_the_case_page_shows_the_next_step_first_and_folds_the_others(
    https_client: Client, auth_headers: AuthHeaders, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    office = Office(https_client, auth_headers, demo_directory)
    await sign_in(https_client, demo_directory, Role.COMPLAINTS_LEAD, identity_clock)
    for status, first, more in EXPECTED:
        await office.submit()  # a new complaint, moved on to the status
        await office.move_to(status)
        case = await office.case()
        assert _STATUS.findall(case.text)[0] == status.value
        assert layout(case.text) == (first, more), status
        if more:
            assert not fold_is_open(case.text), status
            summary = re.search(r"<summary>(.*?)</summary>", case.text, re.S)
            assert summary
            assert summary.group(1).startswith("Weitere Schritte: "), status
        else:
            assert _FOLD not in case.text


async def test_a_form_that_comes_back_with_errors_opens_the_fold(
    https_client: Client, auth_headers: AuthHeaders, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    office = await lead_office(https_client, auth_headers, demo_directory, identity_clock)
    await office.move_to(S.IN_PROGRESS)
    token = csrf_of((await office.case()).text)
    empty = await post_form(https_client, office.path + "/entscheidung", {"_csrf": token, "final": "0"})
    assert_html(empty, 422)
    assert layout(empty.text)[0] == ["request_statement"]
    assert "decision" in layout(empty.text)[1]
    assert fold_is_open(empty.text)
    assert_error_summary(empty.text, expected={"outcome"})
    assert "Ergebnis: Bitte wählen Sie eine der Möglichkeiten aus." in text_of(empty.text)


async def test_the_office_assigns_its_own_case_handlers_and_is_asked_to_choose_one(
    https_client: Client, auth_headers: AuthHeaders, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    office = await lead_office(https_client, auth_headers, demo_directory, identity_clock)
    case = await office.case()
    assert "Ehrenamtliche Person" not in case.text  # a WEISSER RING term
    assert re.search(r'<label for="f-assignee_id">Sachbearbeitung <span class="required">', case.text)
    assert "Sachbearbeitung zuweisen" in text_of(case.text)
    nobody = await post_form(https_client, office.path + "/zuweisen", {"_csrf": csrf_of(case.text)})
    assert_html(nobody, 422)
    assert_error_summary(nobody.text, expected={"assignee_id"})
    shown = text_of(nobody.text)
    assert "Sachbearbeitung: Bitte wählen Sie eine der Möglichkeiten aus." in shown
    assert "Bitte füllen Sie dieses Feld aus" not in shown
    assert "Ehrenamtliche Person" not in nobody.text
    # WEISSER RING keeps its own wording.
    assert catalogue("de")["wr.case.assign.assignee"] == "Ehrenamtliche Person"
    assert catalogue("de")["field.assignee_id"] == "Ehrenamtliche Person"


async def test_the_case_page_forms_report_every_error_at_once_with_their_labels(
    https_client: Client, auth_headers: AuthHeaders, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    office = await lead_office(https_client, auth_headers, demo_directory, identity_clock)
    await office.move_to(S.IN_PROGRESS)
    token = csrf_of((await office.case()).text)
    request = await post_form(
        https_client,
        office.path + "/stellungnahme-anfordern",
        {"_csrf": token, "unit_id": "rev-dresden-nord", "question": "", "deadline": TODAY},
    )
    assert_html(request, 422)
    assert_error_summary(request.text, expected={"unit_id", "question", "deadline"})
    shown = text_of(request.text)
    assert "Frist: Die Frist muss nach dem heutigen Tag liegen." in shown
    assert "Dienststelle: Bitte wählen Sie eine der Möglichkeiten aus." in shown
    for path, expected in (
        ("/nachricht", {"message_body"}),
        ("/abgeben", {"forward_reason"}),
        ("/entscheidung", {"outcome"}),
    ):
        refused = await post_form(
            https_client, office.path + path, {"_csrf": token, "visibility": "internal"}
        )
        assert_html(refused, 422)
        assert_error_summary(refused.text, expected=expected)
    assert await office.status() == S.IN_PROGRESS.value


async def test_a_statement_request_without_a_unit_is_refused_at_the_unit(
    https_client: Client, auth_headers: AuthHeaders, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    office = await lead_office(https_client, auth_headers, demo_directory, identity_clock, with_unit=False)
    await office.move_to(S.IN_PROGRESS)
    token = csrf_of((await office.case()).text)
    refused = await post_form(
        https_client,
        office.path + "/stellungnahme-anfordern",
        {"_csrf": token, "question": QUESTION, "deadline": "01.12.2026"},
    )
    assert_html(refused, 422)
    assert_error_summary(refused.text, expected={"unit_id"})
    assert "Dienststelle: Die Beschwerde nennt keine Dienststelle." in text_of(refused.text)
    assert await office.status() == S.IN_PROGRESS.value
    # The API says the same, with every error at once.
    api = await https_client.post(
        f"{OFFICE}/{office.id}/statement-requests",
        json={"question": QUESTION, "deadline": TODAY},
        headers=await auth_headers("complaints.lead"),
    )
    assert api.status_code == 422
    assert [(e["field"], e["code"]) for e in api.json()["errors"]] == [
        ("unit_id", "complaint.unit_required"),
        ("deadline", "complaint.deadline_not_after_today"),
    ]


async def test_forwarding_asks_first_and_says_what_follows(
    https_client: Client, auth_headers: AuthHeaders, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    office = await lead_office(https_client, auth_headers, demo_directory, identity_clock)
    await office.move_to(S.IN_PROGRESS)
    form = {"_csrf": csrf_of((await office.case()).text), "forward_reason": "to_prosecutor"}
    asked = await post_form(https_client, office.path + "/abgeben", form)
    assert_html(asked)
    said = text_of(asked.text)
    assert "abgeben?" in said
    assert "wird abgegeben (Abgabe an die Staatsanwaltschaft)" in said
    assert "lässt sich nicht wieder öffnen" in said
    assert 'name="confirmed" value="1"' in asked.text
    assert 'name="forward_reason" value="to_prosecutor"' in asked.text
    assert await office.status() == S.IN_PROGRESS.value  # nothing changed yet

    back = await post_form(https_client, office.path + "/abgeben", {**form, "confirmed": "0"})
    assert_html(back)
    assert '<option value="to_prosecutor" selected>' in back.text  # the choice is kept
    assert fold_is_open(back.text)
    assert await office.status() == S.IN_PROGRESS.value

    done = await post_form(https_client, office.path + "/abgeben", {**form, "confirmed": "1"})
    assert done.headers["location"] == office.path + "?meldung=abgegeben"
    assert await office.status() == S.FORWARDED.value


async def test_recording_a_withdrawal_asks_first_and_says_what_follows(
    https_client: Client, auth_headers: AuthHeaders, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    office = await lead_office(https_client, auth_headers, demo_directory, identity_clock)
    token = csrf_of((await office.case()).text)
    asked = await post_form(https_client, office.path + "/zuruecknahme", {"_csrf": token})
    assert_html(asked)
    said = text_of(asked.text)
    assert "Rücknahme der Beschwerde" in said
    assert "gilt dann als zurückgenommen" in said
    assert "lässt sich nicht wieder öffnen" in said
    assert f'href="{office.path}"' in asked.text  # the way back without withdrawing
    assert await office.status() == S.RECEIVED.value  # nothing changed yet

    done = await post_form(https_client, office.path + "/zuruecknahme", {"_csrf": token, "confirmed": "1"})
    assert done.headers["location"] == office.path + "?meldung=zurueckgenommen"
    assert await office.status() == S.WITHDRAWN.value


async def test_the_unit_s_answer_form_names_its_error_by_the_field_s_label(
    https_client: Client, auth_headers: AuthHeaders, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    office = Office(https_client, auth_headers, demo_directory)
    await office.submit()
    await office.move_to(S.STATEMENT_REQUESTED)
    await sign_in(https_client, demo_directory, Role.POLICE_SUPERVISOR, identity_clock)
    listed = await get_page(https_client, "/stellungnahmen")
    found = re.search(r'href="(/stellungnahmen/[0-9a-f-]{36})"', listed.text)
    assert found
    item = await get_page(https_client, found.group(1))
    empty = await post_form(
        https_client, found.group(1) + "/antwort", {"_csrf": csrf_of(item.text), "answer": ""}
    )
    assert_html(empty, 422)
    assert_error_summary(empty.text, expected={"answer"})
