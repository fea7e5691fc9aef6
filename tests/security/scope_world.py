"""Objects for the generated scope checks, built through the API the way users build them.

`World` makes a referral, complaint, statement request or attachment in the state a route needs and
returns its path parameters; objects that no check changes are built once and shared (`once`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from html.parser import HTMLParser
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.complaints.support import OFFICE, PUBLIC, QUESTION, anonymous_payload, named_payload
from tests.identity.support import AuthHeaders, DemoDirectory
from tests.referrals.support import referral_payload
from tests.web.complaint_support import PNG, anonymous_form
from tests.web.support import HTML, csrf_of, get_page

Params = dict[str, str]
REFERRALS = "/api/v1/referrals"
STATEMENTS = "/api/v1/statement-requests"


class _FormFields(HTMLParser):
    """The values a browser would send back for the form posting to `action`, unchanged."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action = action
        self.inside = False
        self.values: dict[str, Any] = {}
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.inside = a.get("action") == self.action
        elif not self.inside or "name" not in a:
            if tag == "option" and self._select and "selected" in a:
                self.values[self._select] = a.get("value", "")
        elif tag == "input" and (a.get("type") not in {"checkbox", "radio"} or "checked" in a):
            self.values[a["name"]] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a["name"]
            self.values[a["name"]] = ""
        elif tag == "select":
            self._select = a["name"]

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.values[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None


class World:
    def __init__(
        self, client: AsyncTestClient[Litestar], auth: AuthHeaders, directory: DemoDirectory
    ) -> None:
        self.client = client
        self.directory = directory
        self._auth = auth
        self._headers: dict[str, dict[str, str]] = {}
        self._shared: dict[str, Params] = {}

    async def headers(self, who: str) -> dict[str, str]:
        if who not in self._headers:
            self._headers[who] = await self._auth(who)
        return self._headers[who]

    async def call(self, who: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """An API call that must succeed: building the world is not what is being tested."""
        response = await self.client.request(method, path, json=body, headers=await self.headers(who))
        assert 200 <= response.status_code < 300, (method, path, response.status_code, response.text)
        return response.json()

    async def form_values(self, who: str, path: str) -> dict[str, Any]:
        page = await self.client.get(path, headers={**HTML, **await self.headers(who)})
        assert page.status_code == 200, (path, page.status_code)
        parser = _FormFields(path)
        parser.feed(page.text)
        assert parser.values, f"no form posting to {path}"
        return parser.values

    async def once(self, name: str, build: Callable[[], Awaitable[Params]]) -> Params:
        if name not in self._shared:
            self._shared[name] = await build()
        return self._shared[name]

    def unit(self, code: str) -> str:
        return str(self.directory.unit(code).id)

    def user(self, username: str) -> str:
        return str(self.directory.account(username).user_id)

    # Referrals

    async def submitted(self, officer: str = "officer.dresden", postcode: str = "01099") -> Params:
        created = await self.call(officer, "POST", REFERRALS, referral_payload(postcode=postcode))
        return {"referral_id": created["id"]}

    async def accepted(self) -> Params:
        """Accepted by volunteer.dresden, who now owns the case."""
        params = await self.submitted()
        await self.call("volunteer.dresden", "POST", f"{REFERRALS}/{params['referral_id']}/accept")
        return params

    async def contacted(self) -> Params:
        params = await self.accepted()
        path = f"{REFERRALS}/{params['referral_id']}/first-contact"
        await self.call("volunteer.dresden", "POST", path, {"channel": "phone"})
        return params

    async def unrouted(self) -> Params:
        """No branch covers the postcode: the state office's queue."""
        return await self.submitted(postcode="99999")

    async def dresden_referral(self) -> Params:
        return await self.once("dresden_referral", self.submitted)

    async def leipzig_referral(self) -> Params:
        return await self.once("leipzig_referral", lambda: self.submitted("officer.leipzig", "04109"))

    async def accepted_referral(self) -> Params:
        return await self.once("accepted_referral", self.accepted)

    # Complaints (the handler's scope: complaints assigned to them; the lead sees all)

    async def complaint(
        self, *, assigned: bool = True, triaged: bool = False, requested: bool = False, named: bool = False
    ) -> Params:
        station = self.unit("rev-dresden-nord")
        payload = (
            named_payload(police_unit_id=station) if named else anonymous_payload(police_unit_id=station)
        )
        receipt = await self.client.post(PUBLIC, json=payload)
        assert receipt.status_code == 201, receipt.text
        listed = await self.call("complaints.lead", "GET", OFFICE)
        found = next(str(c["id"]) for c in listed if c["reference"] == receipt.json()["reference"])
        params = {"complaint_id": found}
        if assigned:
            body = {"assignee_id": self.user("complaints.handler")}
            await self.call("complaints.lead", "POST", f"{OFFICE}/{found}/assign", body)
        if triaged:
            await self.call("complaints.handler", "POST", f"{OFFICE}/{found}/triage", {})
        if requested:
            body = {"question": QUESTION}
            await self.call("complaints.handler", "POST", f"{OFFICE}/{found}/statement-requests", body)
            detail = await self.call("complaints.handler", "GET", f"{OFFICE}/{found}")
            params["request_id"] = str(detail["statement_requests"][0]["id"])
        return params

    async def unassigned(self) -> Params:
        return await self.complaint(assigned=False)

    async def in_progress(self) -> Params:
        return await self.complaint(triaged=True)

    async def paused(self) -> Params:
        """Waiting for a statement from Polizeirevier Dresden-Nord."""
        return await self.complaint(triaged=True, requested=True)

    async def answered(self) -> Params:
        params = await self.paused()
        path = f"{STATEMENTS}/{params['request_id']}/statement"
        await self.call("supervisor.dresden", "POST", path, {"answer": "Stellungnahme"})
        return params

    async def decided(self) -> Params:
        params = await self.in_progress()
        body = {"outcome": "unjustified", "reply": "Entschieden.", "final": True}
        await self.call("complaints.lead", "POST", f"{OFFICE}/{params['complaint_id']}/decision", body)
        return params

    async def disclosure_pending(self) -> Params:
        """A named complaint with a statement request whose disclosure the lead may approve."""
        return await self.complaint(triaged=True, requested=True, named=True)

    async def assigned_complaint(self) -> Params:
        return await self.once("assigned_complaint", self.in_progress)

    async def foreign_complaint(self) -> Params:
        """Assigned to nobody: outside the handler's scope."""
        return await self.once("foreign_complaint", lambda: self.complaint(assigned=False, triaged=False))

    async def dresden_request(self) -> Params:
        return await self.once("dresden_request", self.paused)

    async def leipzig_request(self) -> Params:
        async def build() -> Params:
            params = await self.in_progress()
            body = {"question": QUESTION, "unit_id": self.unit("rev-leipzig-zentrum")}
            path = f"{OFFICE}/{params['complaint_id']}/statement-requests"
            await self.call("complaints.handler", "POST", path, body)
            detail = await self.call("complaints.handler", "GET", f"{OFFICE}/{params['complaint_id']}")
            return {"request_id": str(detail["statement_requests"][0]["id"])}

        return await self.once("leipzig_request", build)

    async def _with_attachment(self, *, assigned: bool) -> Params:
        # Files come only through the public form (multipart), which is protected by its form cookie.
        form = await get_page(self.client, "/beschwerde")
        data = {"_csrf": csrf_of(form.text), **anonymous_form()}
        files = [("attachments", ("foto.png", PNG, "image/png"))]
        receipt = await self.client.post("/beschwerde", data=data, files=files, headers=HTML)
        assert receipt.status_code == 201, receipt.text
        listed = await self.call("complaints.lead", "GET", OFFICE)
        complaint_id = str(max(listed, key=lambda c: str(c["reference"]))["id"])
        if assigned:
            body = {"assignee_id": self.user("complaints.handler")}
            await self.call("complaints.lead", "POST", f"{OFFICE}/{complaint_id}/assign", body)
        detail = await self.call("complaints.lead", "GET", f"{OFFICE}/{complaint_id}")
        return {"complaint_id": complaint_id, "attachment_id": str(detail["attachments"][0]["id"])}

    async def attachment(self) -> Params:
        return await self.once("attachment", lambda: self._with_attachment(assigned=True))

    async def foreign_attachment(self) -> Params:
        return await self.once("foreign_attachment", lambda: self._with_attachment(assigned=False))

    # Directory and reports

    async def activity(self) -> Params:
        body = {
            "held_on": "2025-04-15",
            "kind": "training",
            "participants": 10,
            "organising_unit_ids": [self.unit("wr-dresden")],
        }
        created = await self.call("stateoffice.sachsen", "POST", "/api/v1/reports/activities", body)
        return {"activity_id": str(created["id"])}

    async def _second_role(self, username: str, role: str) -> Params:
        """A user given `role` besides their own, so that taking it away leaves them one."""
        await self.call("admin.sachsen", "POST", f"/api/v1/users/{self.user(username)}/roles", {"role": role})
        return {"user_id": self.user(username), "role": role}

    async def second_role_api(self) -> Params:
        return await self._second_role("volunteer.leipzig", "wr_branch_lead")

    async def second_role_page(self) -> Params:
        return {"user_id": (await self._second_role("branchlead.leipzig", "wr_volunteer"))["user_id"]}

    async def first_event(self) -> Params:
        return {"seq": "1"}

    async def prepare_shared(self) -> None:
        """The shared objects first: later checks change users (password, roles) their builders sign in as."""
        for build in (
            self.dresden_referral,
            self.leipzig_referral,
            self.accepted_referral,
            self.assigned_complaint,
            self.foreign_complaint,
            self.dresden_request,
            self.leipzig_request,
            self.attachment,
            self.foreign_attachment,
        ):
            await build()
