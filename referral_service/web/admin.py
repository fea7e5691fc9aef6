"""Administrator pages: users (list, create, disable/enable) and organisation units (list, create).

Administrators see no case content; these pages show the staff directory only, through the identity
service, which scopes, checks and audits every change exactly as the `/api/v1/users` and
`/api/v1/org-units` routes do.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.identity import service, totp
from referral_service.identity.http import audit_fields, identity_config, requires, secret_key
from referral_service.identity.permissions import Permission
from referral_service.identity.principal import Principal
from referral_service.identity.roles import Role, UnitKind
from referral_service.problems import DomainError
from referral_service.web.errors import PAGE_EXCEPTION_HANDLERS
from referral_service.web.forms import FormInput, form_input
from referral_service.web.i18n import N_, translator_for
from referral_service.web.render import Area, page, parse_uuid, see_other

ADMIN_AREA = Area("/verwaltung", N_("area.admin"), frozenset({Role.ADMIN}))

# The identity service's refusals, shown next to the field they concern.
_USER_ERROR_FIELDS = {
    "identity.invalid_username": "username",
    "identity.username_taken": "username",
    "identity.password_policy": "password",
    "identity.role_unit_mismatch": "role",
    "identity.role_conflict": "role",
    "identity.unit_not_found": "unit_id",
}
_UNIT_ERROR_FIELDS = {
    "identity.invalid_unit_code": "code",
    "identity.unit_code_taken": "code",
    "identity.invalid_parent": "parent_id",
    "identity.unit_not_found": "parent_id",
}

Session = NamedDependency[AsyncSession]
Caller = NamedDependency[Principal]


def _refusal(
    request: Request[Any, Any, Any], data: FormInput, exc: DomainError, fields: dict[str, str]
) -> None:
    key = f"admin.error.{exc.code}"
    data.error(
        fields.get(exc.code, "form"), key if translator_for(request).has(key) else N_("admin.error.generic")
    )


async def _users_page(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    principal: Principal,
    *,
    data: FormInput | None = None,
    status_code: int = 200,
) -> Response[Any]:
    users = await service.list_users(session, principal, limit=500)
    units = await service.list_units(session, principal)
    return page(
        request,
        "admin/users.html",
        status_code=status_code,
        context={
            "users": users,
            "unit_names": {unit.id: unit.name for unit in units},
            "unit_options": [(str(unit.id), unit.name) for unit in units],
            "role_options": [(role.value, f"role.{role.value}") for role in Role],
            # Auditors read the directory too; only administrators change it.
            "can_create": principal.has(Permission.IDENTITY_USER_CREATE),
            "can_update": principal.has(Permission.IDENTITY_USER_UPDATE),
            "errors": data.errors if data else {},
            "values": {k: v for k, v in data.values.items() if k != "password"} if data else {},
        },
    )


async def _units_page(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    principal: Principal,
    *,
    data: FormInput | None = None,
    status_code: int = 200,
) -> Response[Any]:
    units = await service.list_units(session, principal)
    return page(
        request,
        "admin/units.html",
        status_code=status_code,
        context={
            "units": units,
            "unit_options": [(str(unit.id), unit.name) for unit in units],
            "kind_options": [(kind.value, f"unit_kind.{kind.value}") for kind in UnitKind],
            "can_manage": principal.has(Permission.IDENTITY_UNIT_MANAGE),
            "errors": data.errors if data else {},
            "values": data.values if data else {},
        },
    )


class AdminPages(Controller):
    path = ADMIN_AREA.path
    include_in_schema = False
    exception_handlers = PAGE_EXCEPTION_HANDLERS

    @get("", opt=requires(Permission.IDENTITY_USER_READ))
    async def users(
        self, request: Request[Any, Any, Any], db_session: Session, principal: Caller
    ) -> Response[Any]:
        return await _users_page(request, db_session, principal)

    @post("/benutzer", opt=requires(Permission.IDENTITY_USER_CREATE), status_code=200)
    async def create_user(
        self, request: Request[Any, Any, Any], state: State, db_session: Session, principal: Caller
    ) -> Response[Any]:
        data = await form_input(request)
        username = data.text("username", required=True, max_length=64)
        display_name = data.text("display_name", required=True)
        unit_id = parse_uuid(data.text("unit_id", required=True, max_length=36))
        role = data.choice("role", Role)
        raw_password = data.form.get("password")
        password = raw_password if isinstance(raw_password, str) else ""
        if not password:
            data.error("password", N_("form.error.required"))
        if data.ok and (unit_id is None or username is None or display_name is None or role is None):
            data.error("unit_id", N_("form.error.choose"))
        if not data.ok or unit_id is None or username is None or display_name is None or role is None:
            return await _users_page(request, db_session, principal, data=data, status_code=422)
        config = identity_config(state)
        try:
            view = await service.create_user(
                db_session,
                principal,
                username=username,
                display_name=display_name,
                unit_id=unit_id,
                roles=[role],
                password=password,
                config=config,
                secret=secret_key(state),
                audit=audit_fields(request),
            )
        except DomainError as exc:
            await db_session.rollback()
            _refusal(request, data, exc, _USER_ERROR_FIELDS)
            return await _users_page(request, db_session, principal, data=data, status_code=exc.kind.value)
        secret = view.new_totp_secret
        # Answered directly, not redirected: the second-factor secret is shown once and never in a URL.
        return page(
            request,
            "admin/user_created.html",
            status_code=201,
            context={
                "user": view.user,
                "roles": sorted(view.roles),
                "totp_secret": totp.to_base32(secret) if secret else None,
                "totp_uri": totp.provisioning_uri(secret, view.user.username, config.totp_issuer)
                if secret
                else None,
            },
        )

    @post("/benutzer/{user_id:uuid}/aktiv", opt=requires(Permission.IDENTITY_USER_UPDATE), status_code=200)
    async def set_active(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: Session,
        principal: Caller,
        user_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        data = await form_input(request)
        active = data.form.get("active") == "1"
        try:
            await service.set_active(
                db_session,
                principal,
                user_id,
                active,
                config=identity_config(state),
                audit=audit_fields(request),
            )
        except DomainError as exc:
            if exc.kind.value == 404:
                raise
            await db_session.rollback()
            _refusal(request, data, exc, {})
            return await _users_page(request, db_session, principal, data=data, status_code=exc.kind.value)
        return see_other(ADMIN_AREA.path, notice="benutzer_aktiviert" if active else "benutzer_deaktiviert")

    @get("/einheiten", opt=requires(Permission.IDENTITY_UNIT_READ))
    async def units(
        self, request: Request[Any, Any, Any], db_session: Session, principal: Caller
    ) -> Response[Any]:
        return await _units_page(request, db_session, principal)

    @post("/einheiten", opt=requires(Permission.IDENTITY_UNIT_MANAGE), status_code=200)
    async def create_unit(
        self, request: Request[Any, Any, Any], state: State, db_session: Session, principal: Caller
    ) -> Response[Any]:
        data = await form_input(request)
        code = data.text("code", required=True, max_length=32)
        name = data.text("name", required=True)
        kind = data.choice("kind", UnitKind)
        parent_id = parse_uuid(data.text("parent_id", max_length=36))
        if not data.ok or code is None or name is None or kind is None:
            return await _units_page(request, db_session, principal, data=data, status_code=422)
        try:
            await service.create_unit(
                db_session,
                principal,
                code=code,
                name=name,
                kind=kind,
                parent_id=parent_id,
                config=identity_config(state),
                audit=audit_fields(request),
            )
        except DomainError as exc:
            await db_session.rollback()
            _refusal(request, data, exc, _UNIT_ERROR_FIELDS)
            return await _units_page(request, db_session, principal, data=data, status_code=exc.kind.value)
        return see_other(f"{ADMIN_AREA.path}/einheiten", notice="einheit_angelegt")


__all__ = ["ADMIN_AREA", "AdminPages"]
