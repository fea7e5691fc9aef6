"""Small helpers every controller uses: route declarations, the principal dependency, audit fields."""

from __future__ import annotations

import re
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import State

from referral_service.audit.recorder import request_audit_fields
from referral_service.identity.config import IdentityConfig
from referral_service.identity.errors import NotAuthenticatedError
from referral_service.identity.permissions import Permission
from referral_service.identity.principal import Credential, Principal
from referral_service.settings import Settings

# Route options: `@get("/x", opt=requires(Permission.REFERRAL_REFERRAL_READ))` or `opt=PUBLIC`.
PUBLIC: dict[str, Any] = {"public": True}


def requires(permission: Permission) -> dict[str, Any]:
    return {"permission": permission}


def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    """The `principal` dependency: the caller the guard authenticated for this request."""
    user = request.scope.get("user")
    if not isinstance(user, Principal):
        # Only reachable on a public route that asks for a principal: a programming error, so refuse.
        raise NotAuthenticatedError()
    return user


def provide_credential(request: Request[Any, Any, Any]) -> Credential:
    credential = request.scope.get("auth")
    if not isinstance(credential, Credential):
        raise NotAuthenticatedError()
    return credential


def audit_fields(connection: ASGIConnection[Any, Any, Any, Any]) -> dict[str, Any]:
    """`request_id` and `client_hash` for `record_event(...)`, from the current request."""
    settings: Settings = connection.app.state.settings
    return request_audit_fields(
        connection.scope.get("state", {}),
        connection.client.host if connection.client else None,
        settings.secret_key,
    )


def identity_config(state: State) -> IdentityConfig:
    config: IdentityConfig = state.identity
    return config


def secret_key(state: State) -> bytes:
    settings: Settings = state.settings
    return settings.secret_key


_PARAMETER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::[^}]*)?\}")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.:/+\-]")


def route_template(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The matched route as an audit-safe id: "/api/v1/users/{user_id}" -> "/api/v1/users/:user_id"."""
    template = str(connection.scope.get("path_template") or "")
    return _UNSAFE.sub("_", _PARAMETER.sub(r":\1", template))[:128]
