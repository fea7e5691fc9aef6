"""Deny by default: a route that declares neither a permission nor that it is public cannot ship."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Controller, Litestar, WebSocket, asgi, get, websocket
from litestar.testing import AsyncTestClient
from litestar.types import Receive, Scope, Send
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

import referral_service.app as app_module
from referral_service.app import create_app
from referral_service.audit.models import AuditEvent
from referral_service.health.controllers import HealthController
from referral_service.identity.guards import (
    RouteDeclarationError,
    check_route_declarations,
    undeclared_routes,
)
from referral_service.identity.http import PUBLIC, requires
from referral_service.identity.permissions import Permission
from referral_service.settings import Settings


@get("/undeclared", sync_to_thread=False)
def undeclared() -> dict[str, str]:
    return {"secret": "case content"}


@get("/both", opt={"public": True, "permission": Permission.AUDIT_EVENT_READ}, sync_to_thread=False)
def both() -> dict[str, str]:
    return {}


@get("/stringly", opt={"permission": "audit:event:read"}, sync_to_thread=False)
def stringly() -> dict[str, str]:
    return {}


@get("/declared", opt=requires(Permission.AUDIT_EVENT_READ), sync_to_thread=False)
def declared() -> dict[str, str]:
    return {}


@get("/open", opt=PUBLIC, sync_to_thread=False)
def open_route() -> dict[str, str]:
    return {}


def test_the_check_names_every_undeclared_route() -> None:
    app = Litestar(route_handlers=[undeclared, both, stringly, declared, open_route], openapi_config=None)
    # Declaring both, or a plain string instead of a Permission, counts as declaring nothing.
    assert undeclared_routes(app) == ["GET /both", "GET /stringly", "GET /undeclared"]
    with pytest.raises(RouteDeclarationError, match="GET /undeclared"):
        check_route_declarations(app)


def test_the_check_passes_when_every_route_declares_access() -> None:
    check_route_declarations(Litestar(route_handlers=[declared, open_route], openapi_config=None))


@websocket("/live", opt=requires(Permission.AUDIT_EVENT_READ))
async def declared_socket(socket: WebSocket[Any, Any, Any]) -> None:
    await socket.close()


@websocket("/live-undeclared")
async def undeclared_socket(socket: WebSocket[Any, Any, Any]) -> None:
    await socket.close()


@asgi("/mounted", copy_scope=True)
async def undeclared_mount(scope: Scope, receive: Receive, send: Send) -> None:
    return None


def test_websocket_and_mounted_routes_must_declare_access_too() -> None:
    app = Litestar(
        route_handlers=[declared, declared_socket, undeclared_socket, undeclared_mount], openapi_config=None
    )
    assert undeclared_routes(app) == ["ASGI /mounted", "WEBSOCKET /live-undeclared"]


def test_the_real_app_declares_every_route(app: Litestar) -> None:
    assert undeclared_routes(app) == []


def test_create_app_refuses_to_build_with_an_undeclared_route(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    class HealthWithAForgottenRoute(HealthController):
        @get("/forgotten")
        async def forgotten(self) -> dict[str, str]:
            return {}

    # The health controller declares `public` for the whole controller; a controller without it:
    class Forgotten(Controller):
        path = "/forgotten"

        @get("/")
        async def forgotten(self) -> dict[str, str]:
            return {}

    monkeypatch.setattr(app_module, "HealthController", Forgotten)
    with pytest.raises(RouteDeclarationError, match="GET /forgotten"):
        create_app(settings)
    # A route inherits the controller's declaration: still fine.
    monkeypatch.setattr(app_module, "HealthController", HealthWithAForgottenRoute)
    create_app(settings)


async def test_a_route_registered_after_start_up_is_still_denied(
    identity_app: Litestar, engine: AsyncEngine, auth_headers: Any
) -> None:
    identity_app.register(undeclared)
    async with AsyncTestClient(app=identity_app) as client:
        anonymous = await client.get("/undeclared")
        admin = await client.get("/undeclared", headers=await auth_headers("admin.sachsen"))
    for response in (anonymous, admin):
        assert response.status_code == 403
        assert response.json()["code"] == "auth.forbidden"
        assert "case content" not in response.text
    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                select(AuditEvent.details).where(AuditEvent.action == "identity:access:denied")
            )
        ).all()  # type: ignore[arg-type]
    assert len(rows) == 2
    assert all('"reason":"undeclared_route"' in row[0] for row in rows)
