"""Generated scope checks for every object route (tests/security/object_routes.py declares them).

For each route: a caller without the permission gets 403 on an object they could otherwise name, the
caller with the permission gets 404 for an object outside their scope and the route's success for one
inside it, and nobody ever gets a 5xx. The objects that no check changes are built once per engine;
routes that change their object get a fresh one in the state they need.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from complaints.config import ComplaintsConfig
from referral_service.app import create_app
from referral_service.audit.service import create_checkpoint
from referral_service.db import create_session_factory
from referral_service.identity.config import IdentityConfig
from referral_service.identity.guards import is_automatic_options, route_declaration
from referral_service.identity.permissions import ROLE_GRANTS, Permission
from referral_service.identity.roles import Role
from referral_service.referrals.routing import seed_demo_routes
from referral_service.settings import Settings, load_settings
from tests.complaints.conftest import MONDAY_MORNING
from tests.complaints.support import complaints_test_config
from tests.identity.support import AuthHeaders, DemoDirectory, FakeClock
from tests.security.conftest import CREDENTIAL_PATHS, OPENID
from tests.security.object_routes import EXEMPT, OBJECT_ROUTES, ObjectRoute
from tests.security.scope_world import World
from tests.web.support import HTML

_PARAMETER = re.compile(r"\{(\w+):\w+\}")

# Who is asked without the permission: someone of another domain first, so the 403 is about the role.
_OUTSIDERS = (
    "admin.sachsen",
    "complaints.handler",
    "officer.dresden",
    "volunteer.dresden",
    "auditor.sachsen",
)


def object_routes(app: Litestar) -> Iterator[tuple[str, str, Permission | str | None]]:
    """(method, path template, declaration) of every handler on a path with parameters."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path_parameters:
            continue
        for handler in route.route_handlers:
            if is_automatic_options(handler):
                continue
            for method in sorted(handler.http_methods):
                yield method, route.path, route_declaration(handler)


def test_every_object_route_is_checked_or_exempt_with_a_reason(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "REFERRAL_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'unused.sqlite3'}",
            "REFERRAL_VAR_DIR": str(tmp_path / "var"),
            "REFERRAL_BACKGROUND_JOBS": "false",
        }
    )
    found = {(method, path): declared for method, path, declared in object_routes(create_app(settings))}
    unchecked = sorted(key for key in found if key not in OBJECT_ROUTES and key not in EXEMPT)
    assert not unchecked, f"object routes without a scope check (add them to object_routes.py): {unchecked}"
    stale = sorted(key for key in [*OBJECT_ROUTES, *EXEMPT] if key not in found)
    assert not stale, f"entries for routes the app does not have: {stale}"
    assert all(found[key] == "public" for key in EXEMPT), "an exempt route must be public"
    for key, entry in OBJECT_ROUTES.items():
        declared = found[key]
        assert isinstance(declared, Permission), key
        # Someone to refuse, unless every role holds the permission (a user's own notifications).
        assert outsider(declared) or all(declared in grants for grants in ROLE_GRANTS.values()), key
        assert declared in ROLE_GRANTS[Role(_role_of(entry.caller))], key


def outsider(permission: Permission) -> str | None:
    """Someone without the permission; None when every role holds it, and scope alone decides."""
    return next((who for who in _OUTSIDERS if permission not in ROLE_GRANTS[Role(_role_of(who))]), None)


def _role_of(username: str) -> str:
    from referral_service.identity.demo import DEMO_USERS

    return next(user.role.value for user in DEMO_USERS if user.username == username)


@pytest.fixture
def identity_app(
    settings: Settings, identity_config: IdentityConfig, credential_path: str, request: pytest.FixtureRequest
) -> Litestar:
    # Generous intake limits: the check submits a few dozen complaints from one address.
    config: ComplaintsConfig = complaints_test_config(FakeClock(MONDAY_MORNING))
    providers = request.getfixturevalue("oidc_config") if credential_path == OPENID else None
    return create_app(
        settings,
        identity_config=identity_config,
        oidc_config=providers,
        domain_overrides={"complaints": config},
    )


def _fill(template: str, params: dict[str, str]) -> str:
    return _PARAMETER.sub(lambda found: params[found.group(1)], template)


async def _ask(world: World, who: str, method: str, template: str, params: dict[str, str], body: Any) -> Any:
    path = _fill(template, params)
    headers = await world.headers(who)
    if template.startswith("/api/"):
        sends_body = method in {"POST", "PUT", "PATCH"}
        return await world.client.request(method, path, json=body if sends_body else None, headers=headers)
    return await world.client.request(
        method, path, data=body or None, headers={**HTML, **headers}, follow_redirects=False
    )


@CREDENTIAL_PATHS
async def test_every_object_route_answers_by_scope_and_permission(
    https_client: AsyncTestClient[Litestar],
    identity_app: Litestar,
    engine: AsyncEngine,
    demo_directory: DemoDirectory,
    auth_headers: AuthHeaders,
) -> None:
    async with create_session_factory(engine)() as session, session.begin():
        await seed_demo_routes(session)
    world = World(https_client, auth_headers, demo_directory)
    await world.prepare_shared()
    # A signed checkpoint, so that the first audit events have an inclusion proof to show.
    await create_checkpoint(engine, identity_app.state.audit_keys)
    declared = {(m, p): d for m, p, d in object_routes(identity_app)}
    failures: list[str] = []

    def expect(key: tuple[str, str], who: str, response: Any, wanted: str) -> None:
        status = response.status_code
        # The API names its refusal; a page answers with the HTML page of that status.
        api = key[1].startswith("/api/")
        code = str(response.json().get("code", "")) if api and status >= 400 else ""
        ok = {
            "forbidden": status == 403 and (not api or code == "auth.forbidden"),
            "not found": status == 404 and (not api or code.endswith("not_found")),
            "success": 200 <= status < 300 or status == 303,
        }[wanted]
        if not ok or status >= 500:
            got = f"{status} {response.text[:200]}"
            failures.append(f"{key[0]} {key[1]} as {who}: expected {wanted}, got {got}")

    for key, entry in OBJECT_ROUTES.items():
        permission = declared[key]
        assert isinstance(permission, Permission)
        await _check(world, key, entry, outsider(permission), expect)
    assert not failures, "\n".join(failures)


async def _check(
    world: World, key: tuple[str, str], entry: ObjectRoute, outsider_name: str | None, expect: Any
) -> None:
    method, template = key
    params = await entry.in_scope(world)
    body = await entry.body(world, params)
    if outsider_name is not None:
        response = await _ask(world, outsider_name, method, template, params, body)
        expect(key, outsider_name, response, "forbidden")
    if entry.out_of_scope is not None:
        foreign = await entry.out_of_scope(world)
        response = await _ask(world, entry.caller, method, template, {**params, **foreign}, body)
        expect(key, entry.caller, response, "not found")
    expect(key, entry.caller, await _ask(world, entry.caller, method, template, params, body), "success")
