"""Every route of the real app x every role and anonymous callers, checked against ROLE_GRANTS.

Generic on purpose: routes that other domains add later are covered without touching this file.
"Allowed" means the guard let the request through and the handler answered (any status but 401, 403
and 5xx: the handler may still reject the dummy input with 404 or 422); "denied" means 403
`auth.forbidden` for a signed-in caller and 401 `auth.unauthenticated` for an anonymous one. Public
routes are open to everybody. A 5xx is never a pass: nonsense input must get a 4xx problem answer.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from referral_service.identity.guards import route_declaration
from referral_service.identity.permissions import ROLE_GRANTS, Permission
from referral_service.identity.roles import Role
from tests.identity.support import AuthHeaders
from tests.security.conftest import CREDENTIAL_PATHS

_DUMMY_BY_TYPE: dict[type, str] = {
    uuid.UUID: "00000000-0000-4000-8000-000000000000",
    int: "1",
    float: "1.5",
    Decimal: "1.5",
    str: "x",
    Path: "x",
    dt.date: "2026-01-01",
    dt.datetime: "2026-01-01T00:00:00Z",
    dt.time: "00:00:00",
    dt.timedelta: "60",
}


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # with dummy path parameters filled in
    template: str
    declared: Permission | str | None


def endpoints(app: Litestar) -> Iterator[Endpoint]:
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        path = route.path_format
        for name, definition in route.path_parameters.items():
            path = path.replace("{" + name + "}", _DUMMY_BY_TYPE.get(definition.type, "x"))
        for handler in route.route_handlers:
            for method in sorted(handler.http_methods):
                yield Endpoint(method, path, route.path, route_declaration(handler))


def expected_status_kind(endpoint: Endpoint, role: Role | None) -> str:
    if endpoint.declared == "public":
        return "allowed"
    if role is None:
        return "unauthenticated"
    assert isinstance(endpoint.declared, Permission)
    return "allowed" if endpoint.declared in ROLE_GRANTS[role] else "forbidden"


def observed_status_kind(response: Any) -> str:
    if response.status_code >= 500:
        return "server-error"
    if response.status_code == 401:
        return "unauthenticated" if response.json().get("code") == "auth.unauthenticated" else "401-other"
    if response.status_code == 403:
        return "forbidden" if response.json().get("code") == "auth.forbidden" else "403-other"
    return "allowed"


@CREDENTIAL_PATHS
async def test_every_route_for_every_role_matches_the_grants(
    https_client: AsyncTestClient[Litestar],
    identity_app: Litestar,
    auth_headers: AuthHeaders,
) -> None:
    all_endpoints = list(endpoints(identity_app))
    assert any(e.template.startswith("/api/v1/users") for e in all_endpoints)  # the walk found routes
    assert all(e.declared is not None for e in all_endpoints)

    mismatches = []
    checked = 0
    credentials: dict[Role, dict[str, str]] = {}
    for endpoint in all_endpoints:
        for role in [None, *Role]:
            headers = {}
            if role is not None:
                # A fresh credential after any request that may change state (logout and token
                # revocation end the caller's); a read leaves it usable, and minting costs a write.
                if role not in credentials:
                    credentials[role] = await auth_headers(role)
                headers = dict(credentials[role])
                if endpoint.method not in {"GET", "HEAD", "OPTIONS"}:
                    del credentials[role]
            body = {} if endpoint.method in {"POST", "PUT", "PATCH"} else None
            # Not followed: a redirect is the handler's answer, and where it leads is another route here.
            response = await https_client.request(
                endpoint.method, endpoint.path, headers=headers, json=body, follow_redirects=False
            )
            expected, observed = expected_status_kind(endpoint, role), observed_status_kind(response)
            checked += 1
            if expected != observed:
                who = role.value if role else "anonymous"
                mismatches.append(
                    f"{endpoint.method} {endpoint.template} as {who}: expected {expected}, "
                    f"got {response.status_code} {observed}"
                )
    assert not mismatches, "\n".join(mismatches)
    assert checked == len(all_endpoints) * (len(Role) + 1)


def test_administrators_and_auditors_hold_no_case_content_permission() -> None:
    for role in (Role.ADMIN, Role.AUDITOR):
        case_permissions = {p for p in ROLE_GRANTS[role] if p.domain in {"referral", "complaint"}}
        assert not case_permissions, (role, case_permissions)


def test_referral_staff_hold_no_complaint_permissions_and_vice_versa() -> None:
    referral_roles = {
        Role.POLICE_OFFICER,
        Role.WR_VOLUNTEER,
        Role.WR_BRANCH_LEAD,
        Role.WR_STATE_OFFICE,
    }
    for role in referral_roles:
        assert not {p for p in ROLE_GRANTS[role] if p.domain == "complaint"}, role
    # The supervisor answers statement requests addressed to their unit, and nothing else of complaints.
    assert {p for p in ROLE_GRANTS[Role.POLICE_SUPERVISOR] if p.domain == "complaint"} == {
        Permission.COMPLAINT_STATEMENT_REQUEST_READ,
        Permission.COMPLAINT_STATEMENT_REQUEST_ANSWER,
    }
    for role in (Role.COMPLAINTS_HANDLER, Role.COMPLAINTS_LEAD):
        assert not {p for p in ROLE_GRANTS[role] if p.domain == "referral"}, role
