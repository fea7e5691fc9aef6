"""Every object route of the app, declared once: who may use it, on which object, with what input.

An object route is a route with a path parameter. Each is either an `ObjectRoute` (checked by
tests/security/test_object_scope.py: in scope it succeeds, out of scope it is 404, without the
permission 403, never a 5xx) or listed in `EXEMPT` with the reason it names no object. A route that is
in neither fails that test, so a new object route cannot escape the check.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from tests.complaints.support import QUESTION
from tests.notifications.outbox_rows import dead_email
from tests.notifications.support import foreign_notification, own_notification
from tests.security.scope_world import Params, World

Build = Callable[[World], Awaitable[Params]]
Body = Callable[[World, Params], Awaitable[dict[str, Any]]]

# Why a route has no out-of-scope object: its permission is only held by a role that sees everything.
LEAD_SEES_ALL = "only the complaints lead holds the permission, and the lead sees every complaint"
ADMIN_SEES_ALL = "only administrators hold the permission, and they administer the whole directory"


def fixed(**values: Any) -> Body:
    async def body(world: World, params: Params) -> dict[str, Any]:
        return dict(values)

    return body


async def no_body(world: World, params: Params) -> dict[str, Any]:
    return {}


def of(function: Callable[[World, Params], dict[str, Any]]) -> Body:
    async def body(world: World, params: Params) -> dict[str, Any]:
        return function(world, params)

    return body


def unit(code: str) -> Build:
    async def build(world: World) -> Params:
        return {"unit_id": world.unit(code)}

    return build


def user(username: str, **extra: str) -> Build:
    async def build(world: World) -> Params:
        return {"user_id": world.user(username), **extra}

    return build


@dataclass(frozen=True)
class ObjectRoute:
    caller: str  # a demo user holding the route's permission, whose scope holds `in_scope`
    in_scope: Build  # the object (path parameters) in the state the route needs; may be changed
    out_of_scope: Build | None  # for the same caller; None when the caller's scope is everything
    body: Body = no_body  # JSON for the API, form fields for pages
    unscoped_because: str = ""

    def __post_init__(self) -> None:
        assert (self.out_of_scope is None) == bool(self.unscoped_because), "say why a route is unscoped"


# No object behind the parameter: a file name, a language, a schema format.
EXEMPT: dict[tuple[str, str], str] = {
    ("GET", "/static/{file_path:path}"): "public static files",
    ("HEAD", "/static/{file_path:path}"): "public static files",
    ("GET", "/sprache/{language:str}"): "public language choice",
    ("GET", "/leichte-sprache/{slug:str}"): "public Leichte Sprache text of a domain",
    ("GET", "/schema/{path:str}"): "public API schema",
    ("GET", "/anmelden/mit/{key:str}"): "public sign-in start; the key names a configured provider",
    ("GET", "/anmelden/mit/{key:str}/zurueck"): "public sign-in callback of a configured provider",
    ("POST", "/api/v1/auth/oidc/{provider:str}/backchannel-logout"): "provider's logout",
}

W = World
REF = "/api/v1/referrals/{referral_id:uuid}"
COMPLAINT = "/api/v1/complaints/{complaint_id:uuid}"
REQUEST = "/api/v1/statement-requests/{request_id:uuid}"
USER = "/api/v1/users/{user_id:uuid}"
POLICE = "/polizei/vermittlungen/{referral_id:uuid}"
CASE = "/weisser-ring/faelle/{referral_id:uuid}"
OFFICE = "/beschwerdestelle/beschwerden/{complaint_id:uuid}"
ADMIN_USER = "/verwaltung/benutzer/{user_id:uuid}"

_volunteer_assignee = of(lambda w, _: {"assignee_id": w.user("volunteer.dresden")})
_handler_assignee = of(lambda w, _: {"assignee_id": w.user("complaints.handler")})
_leipzig_branch = of(lambda w, _: {"branch_id": w.unit("wr-leipzig")})
_disclosure = of(lambda _, params: {"statement_request_id": params["request_id"]})


async def _correction(world: World, params: Params) -> dict[str, Any]:
    """The correction form sent back unchanged: the page's own values and version."""
    path = f"/polizei/vermittlungen/{params['referral_id']}/korrigieren"
    return await world.form_values("officer.dresden", path)


_REFERRAL_API: dict[tuple[str, str], ObjectRoute] = {
    ("GET", REF): ObjectRoute("officer.dresden", W.dresden_referral, W.leipzig_referral),
    ("PATCH", REF): ObjectRoute("officer.dresden", W.submitted, W.leipzig_referral, fixed(urgency="normal")),
    ("GET", REF + "/feedback"): ObjectRoute("officer.dresden", W.dresden_referral, W.leipzig_referral),
    ("POST", REF + "/withdraw-consent"): ObjectRoute("officer.dresden", W.submitted, W.leipzig_referral),
    ("POST", REF + "/accept"): ObjectRoute("volunteer.dresden", W.submitted, W.leipzig_referral),
    ("POST", REF + "/decline"): ObjectRoute(
        "branchlead.dresden", W.submitted, W.leipzig_referral, fixed(reason="no_capacity")
    ),
    ("POST", REF + "/assign"): ObjectRoute(
        "branchlead.dresden", W.submitted, W.leipzig_referral, _volunteer_assignee
    ),
    ("POST", REF + "/contact-attempts"): ObjectRoute(
        "volunteer.dresden", W.accepted_referral, W.leipzig_referral, fixed(channel="phone")
    ),
    ("POST", REF + "/first-contact"): ObjectRoute(
        "volunteer.dresden", W.accepted, W.leipzig_referral, fixed(channel="phone")
    ),
    ("POST", REF + "/close"): ObjectRoute(
        "volunteer.dresden",
        W.contacted,
        W.leipzig_referral,
        fixed(outcome="supported", support_given=["personal_support"]),
    ),
    # A routed, timely referral is none of the state office's business.
    ("POST", REF + "/route"): ObjectRoute(
        "stateoffice.sachsen", W.unrouted, W.dresden_referral, _leipzig_branch
    ),
}

_REFERRAL_PAGES: dict[tuple[str, str], ObjectRoute] = {
    ("GET", POLICE): ObjectRoute("officer.dresden", W.dresden_referral, W.leipzig_referral),
    ("GET", POLICE + "/korrigieren"): ObjectRoute("officer.dresden", W.dresden_referral, W.leipzig_referral),
    ("POST", POLICE + "/korrigieren"): ObjectRoute(
        "officer.dresden", W.submitted, W.leipzig_referral, _correction
    ),
    ("POST", POLICE + "/einwilligung-widerrufen"): ObjectRoute(
        "officer.dresden", W.submitted, W.leipzig_referral, fixed(confirm="on", confirmed="1")
    ),
    ("GET", CASE): ObjectRoute("volunteer.dresden", W.dresden_referral, W.leipzig_referral),
    ("POST", CASE + "/annehmen"): ObjectRoute("volunteer.dresden", W.submitted, W.leipzig_referral),
    ("POST", CASE + "/ablehnen"): ObjectRoute(
        "branchlead.dresden", W.submitted, W.leipzig_referral, fixed(decline_reason="no_capacity")
    ),
    ("POST", CASE + "/zuweisen"): ObjectRoute(
        "branchlead.dresden", W.submitted, W.leipzig_referral, _volunteer_assignee
    ),
    ("POST", CASE + "/kontaktversuch"): ObjectRoute(
        "volunteer.dresden", W.accepted_referral, W.leipzig_referral, fixed(attempt_channel="phone")
    ),
    ("POST", CASE + "/erstkontakt"): ObjectRoute(
        "volunteer.dresden", W.accepted, W.leipzig_referral, fixed(contact_channel="phone")
    ),
    ("POST", CASE + "/abschliessen"): ObjectRoute(
        "volunteer.dresden",
        W.contacted,
        W.leipzig_referral,
        fixed(outcome="supported", support_given="personal_support", confirmed="1"),
    ),
    ("POST", CASE + "/weiterleiten"): ObjectRoute(
        "stateoffice.sachsen", W.unrouted, W.dresden_referral, _leipzig_branch
    ),
    ("POST", CASE + "/einwilligung-widerrufen"): ObjectRoute(
        "volunteer.dresden", W.accepted, W.leipzig_referral, fixed(confirm="on", confirmed="1")
    ),
}

_H = "complaints.handler"


async def _held_by_the_lead(world: World) -> Params:
    """Taken by the lead: no longer free, so nothing a handler may take."""

    async def build() -> Params:
        params = await world.complaint(assigned=False)
        body = {"assignee_id": world.user("complaints.lead")}
        await world.call(
            "complaints.lead", "POST", f"/api/v1/complaints/{params['complaint_id']}/assign", body
        )
        return params

    return await world.once("held_by_the_lead", build)


_COMPLAINT_API: dict[tuple[str, str], ObjectRoute] = {
    ("GET", COMPLAINT): ObjectRoute(_H, W.assigned_complaint, W.foreign_complaint),
    ("GET", COMPLAINT + "/messages"): ObjectRoute(_H, W.assigned_complaint, W.foreign_complaint),
    ("POST", COMPLAINT + "/messages"): ObjectRoute(
        _H, W.assigned_complaint, W.foreign_complaint, fixed(body="Notiz", visibility="internal")
    ),
    ("POST", COMPLAINT + "/triage"): ObjectRoute(_H, W.complaint, W.foreign_complaint),
    ("POST", COMPLAINT + "/take"): ObjectRoute(_H, W.unassigned, _held_by_the_lead),
    ("POST", COMPLAINT + "/statement-requests"): ObjectRoute(
        _H, W.in_progress, W.foreign_complaint, fixed(question=QUESTION)
    ),
    ("POST", COMPLAINT + "/resume"): ObjectRoute(_H, W.answered, W.foreign_complaint),
    ("POST", COMPLAINT + "/decision"): ObjectRoute(
        _H, W.assigned_complaint, W.foreign_complaint, fixed(outcome="justified")
    ),
    ("POST", COMPLAINT + "/forward"): ObjectRoute(
        _H, W.in_progress, W.foreign_complaint, fixed(reason="to_prosecutor")
    ),
    ("POST", COMPLAINT + "/withdraw"): ObjectRoute(_H, W.in_progress, W.foreign_complaint),
    ("GET", COMPLAINT + "/attachments/{attachment_id:uuid}"): ObjectRoute(
        _H, W.attachment, W.foreign_attachment
    ),
    ("POST", COMPLAINT + "/assign"): ObjectRoute(
        "complaints.lead", W.unassigned, None, _handler_assignee, LEAD_SEES_ALL
    ),
    ("POST", COMPLAINT + "/close"): ObjectRoute("complaints.lead", W.decided, None, no_body, LEAD_SEES_ALL),
    ("POST", COMPLAINT + "/disclosure-approval"): ObjectRoute(
        "complaints.lead", W.disclosure_pending, None, _disclosure, LEAD_SEES_ALL
    ),
    ("GET", REQUEST): ObjectRoute("supervisor.dresden", W.dresden_request, W.leipzig_request),
    ("POST", REQUEST + "/statement"): ObjectRoute(
        "supervisor.dresden", W.paused, W.leipzig_request, fixed(answer="Stellungnahme")
    ),
}

_COMPLAINT_PAGES: dict[tuple[str, str], ObjectRoute] = {
    ("GET", OFFICE): ObjectRoute(_H, W.assigned_complaint, W.foreign_complaint),
    ("GET", OFFICE + "/anlagen/{attachment_id:uuid}"): ObjectRoute(_H, W.attachment, W.foreign_attachment),
    ("POST", OFFICE + "/nachricht"): ObjectRoute(
        _H, W.assigned_complaint, W.foreign_complaint, fixed(message_body="Notiz", visibility="internal")
    ),
    ("POST", OFFICE + "/erstbewertung"): ObjectRoute(
        _H, W.complaint, W.foreign_complaint, fixed(category="conduct_on_duty", complete="on")
    ),
    ("POST", OFFICE + "/stellungnahme-anfordern"): ObjectRoute(
        _H, W.in_progress, W.foreign_complaint, fixed(question=QUESTION)
    ),
    ("POST", OFFICE + "/fortsetzen"): ObjectRoute(_H, W.answered, W.foreign_complaint),
    ("POST", OFFICE + "/uebernehmen"): ObjectRoute(_H, W.unassigned, _held_by_the_lead),
    ("POST", OFFICE + "/entscheidung"): ObjectRoute(
        _H, W.assigned_complaint, W.foreign_complaint, fixed(outcome="justified", confirmed="1")
    ),
    ("POST", OFFICE + "/abgeben"): ObjectRoute(
        _H, W.in_progress, W.foreign_complaint, fixed(forward_reason="to_prosecutor", confirmed="1")
    ),
    ("POST", OFFICE + "/zuruecknahme"): ObjectRoute(
        _H, W.in_progress, W.foreign_complaint, fixed(confirmed="1")
    ),
    ("POST", OFFICE + "/zuweisen"): ObjectRoute(
        "complaints.lead", W.unassigned, None, _handler_assignee, LEAD_SEES_ALL
    ),
    ("POST", OFFICE + "/abschliessen"): ObjectRoute(
        "complaints.lead", W.decided, None, fixed(confirmed="1"), LEAD_SEES_ALL
    ),
    ("POST", OFFICE + "/offenlegung"): ObjectRoute(
        "complaints.lead", W.disclosure_pending, None, _disclosure, LEAD_SEES_ALL
    ),
    ("GET", "/stellungnahmen/{request_id:uuid}"): ObjectRoute(
        "supervisor.dresden", W.dresden_request, W.leipzig_request
    ),
    ("POST", "/stellungnahmen/{request_id:uuid}/antwort"): ObjectRoute(
        "supervisor.dresden", W.paused, W.leipzig_request, fixed(answer="Stellungnahme")
    ),
}

_A = "admin.sachsen"
_DIRECTORY: dict[tuple[str, str], ObjectRoute] = {
    ("GET", "/api/v1/org-units/{unit_id:uuid}"): ObjectRoute(
        "branchlead.dresden", unit("wr-dresden"), unit("wr-leipzig")
    ),
    ("GET", USER): ObjectRoute("branchlead.dresden", user("volunteer.dresden"), user("volunteer.leipzig")),
    ("PATCH", USER): ObjectRoute(_A, user("officer.leipzig"), None, fixed(active=True), ADMIN_SEES_ALL),
    ("POST", USER + "/roles"): ObjectRoute(
        _A, user("officer.leipzig"), None, fixed(role="police_officer"), ADMIN_SEES_ALL
    ),
    ("POST", USER + "/reset-password"): ObjectRoute(
        _A, user("officer.leipzig"), None, fixed(password="Ein-neues-Passwort-2026"), ADMIN_SEES_ALL
    ),
    ("DELETE", USER + "/roles/{role:str}"): ObjectRoute(_A, W.second_role_api, None, no_body, ADMIN_SEES_ALL),
    ("GET", "/verwaltung/einheiten/{unit_id:uuid}"): ObjectRoute(
        "branchlead.dresden", unit("wr-dresden"), unit("wr-leipzig")
    ),
    ("GET", ADMIN_USER): ObjectRoute(
        "branchlead.dresden", user("volunteer.dresden"), user("volunteer.leipzig")
    ),
    ("POST", "/verwaltung/einheiten/{unit_id:uuid}/name"): ObjectRoute(
        _A, unit("wr-leipzig"), None, fixed(name="WEISSER RING Außenstelle Leipzig"), ADMIN_SEES_ALL
    ),
    ("POST", ADMIN_USER + "/name"): ObjectRoute(
        _A, user("officer.leipzig"), None, fixed(display_name="Demo Streife Leipzig"), ADMIN_SEES_ALL
    ),
    ("POST", ADMIN_USER + "/aktiv"): ObjectRoute(
        _A, user("officer.leipzig"), None, fixed(active="1"), ADMIN_SEES_ALL
    ),
    ("POST", ADMIN_USER + "/rollen"): ObjectRoute(
        _A, user("officer.leipzig"), None, fixed(role="police_officer"), ADMIN_SEES_ALL
    ),
    ("POST", ADMIN_USER + "/rollen/entziehen"): ObjectRoute(
        _A, W.second_role_page, None, fixed(revoke_role="wr_volunteer", confirmed="1"), ADMIN_SEES_ALL
    ),
    ("POST", ADMIN_USER + "/passwort"): ObjectRoute(
        _A, user("officer.leipzig"), None, fixed(confirmed="1"), ADMIN_SEES_ALL
    ),
    ("GET", "/api/v1/audit/events/{seq:int}/proof"): ObjectRoute(
        "auditor.sachsen", W.first_event, None, no_body, "the audit log is one chain, read whole by auditors"
    ),
    ("DELETE", "/api/v1/reports/activities/{activity_id:uuid}"): ObjectRoute(
        "stateoffice.sachsen", W.activity, None, no_body, "the register is the state office's as a whole"
    ),
}

# A user's own notifications: every role may use these routes, so there is nobody to be refused (403);
# another user's notification is outside the caller's scope (404).
_NOTIFICATIONS: dict[tuple[str, str], ObjectRoute] = {
    ("POST", "/api/v1/notifications/{notification_id:uuid}/read"): ObjectRoute(
        "volunteer.dresden", own_notification, foreign_notification
    ),
    ("POST", "/benachrichtigungen/{notification_id:uuid}/gelesen"): ObjectRoute(
        "volunteer.dresden", own_notification, foreign_notification
    ),
    ("POST", "/verwaltung/benachrichtigungen/{notification_id:uuid}/erneut-senden"): ObjectRoute(
        _A, dead_email, None, fixed(confirmed="1"), "only administrators hold it, for every e-mail"
    ),
}

OBJECT_ROUTES: dict[tuple[str, str], ObjectRoute] = {
    **_REFERRAL_API,
    **_REFERRAL_PAGES,
    **_COMPLAINT_API,
    **_COMPLAINT_PAGES,
    **_DIRECTORY,
    **_NOTIFICATIONS,
}
