"""Administrator pages: users (list, create, rename, roles, password reset, disable/enable) and
organisation units (list, create, rename).

Administrators see no case content; these pages show the staff directory only, through the identity
service, which scopes, checks and audits every change exactly as the `/api/v1/users` and
`/api/v1/org-units` routes do. Its rules (roles fit the unit kind and come from one family, nobody
administers their own account here) come back as messages on the page.

New credentials (a reset password, a second-factor secret) are shown once, in the answer to the form
itself and never in a URL; the administrator hands them over on a secure channel.

Deactivating an account, revoking a role and resetting a password take effect at once for the person
concerned: each asks on a second page first, which states that consequence (web/confirmation.py).
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.identity import service
from referral_service.identity.http import audit_fields, identity_config, requires, secret_key
from referral_service.identity.passwords import generate_password
from referral_service.identity.permissions import Permission
from referral_service.identity.principal import Principal
from referral_service.identity.roles import ROLE_UNIT_KINDS, Role, UnitKind, requires_totp, role_conflicts
from referral_service.problems import DomainError
from referral_service.web.account import totp_provisioning
from referral_service.web.confirmation import Answer, Confirmation, answer, confirmation_page
from referral_service.web.errors import PAGE_EXCEPTION_HANDLERS
from referral_service.web.forms import FormInput, form_input, refusable, refusal_message
from referral_service.web.i18n import N_, translator_for
from referral_service.web.render import Area, page, parse_uuid, see_other

ADMIN_AREA = Area("/verwaltung", N_("area.admin"), frozenset({Role.ADMIN}))
USERS_PATH = f"{ADMIN_AREA.path}/benutzer"
UNITS_PATH = f"{ADMIN_AREA.path}/einheiten"
_USER = "/benutzer/{user_id:uuid}"
_UNIT = "/einheiten/{unit_id:uuid}"

# The identity service's refusals, shown next to the field they concern.
_USER_ERROR_FIELDS = {
    "identity.invalid_username": "username",
    "identity.username_taken": "username",
    "identity.password_policy": "password",
    "identity.role_unit_mismatch": "role",
    "identity.role_conflict": "role",
    "identity.unit_not_found": "unit_id",
}
# On a user's page each form has its own place for messages (see admin/user.html).
_GRANT_ERROR_FIELDS = {
    "identity.role_unit_mismatch": "role",
    "identity.role_conflict": "role",
    "identity.self_administration": "role",
}
_REVOKE_ERROR_FIELDS = {
    "identity.role_not_held": "revoke_role",
    "identity.last_role": "revoke_role",
    "identity.self_administration": "revoke_role",
}
_RESET_ERROR_FIELDS = {"identity.self_administration": "reset", "identity.password_policy": "reset"}
_ACTIVE_ERROR_FIELDS = {"identity.self_administration": "active"}
_UNIT_ERROR_FIELDS = {
    "identity.invalid_unit_code": "code",
    "identity.unit_code_taken": "code",
    "identity.invalid_parent": "parent_id",
    "identity.unit_not_found": "parent_id",
}

# The create-user form's first step (a GET form): the unit, before the roles that fit it are offered.
UNIT_PARAMETER = "einheit"

Session = NamedDependency[AsyncSession]
Caller = NamedDependency[Principal]


def _refusal(
    request: Request[Any, Any, Any], data: FormInput, exc: DomainError, fields: dict[str, str]
) -> int:
    """The service's refusal as a message next to the field (or form) it concerns; returns the status
    to show the page again with."""
    data.error(
        fields.get(exc.code, "form"), refusal_message(request, exc, "admin.error", N_("admin.error.generic"))
    )
    return exc.kind.value


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
    # A new account is created in two steps: first the unit, then only the roles that fit its kind.
    # Offering every role and refusing a mismatch afterwards let the administrator choose wrong; a list
    # grouped by unit kind would still allow it. After a refused POST the form stays at its unit.
    wanted = data.values.get("unit_id") if data else request.query_params.get(UNIT_PARAMETER)
    chosen = next((unit for unit in units if str(unit.id) == wanted), None)
    if wanted and chosen is None and data is None:
        # An address with a unit that is not (or no longer) in the directory: say so at the first step.
        data = FormInput(request.query_params, errors={UNIT_PARAMETER: N_("form.error.choose")})
        status_code = 422
    if data is not None and chosen is None and data.errors:
        # The unit of a refused POST is missing or gone: the page shows the first step only, so the
        # message belongs to its field (the second step's fields are not on the page to correct).
        data.errors = {UNIT_PARAMETER: data.errors.get("unit_id", N_("form.error.choose"))}
    return page(
        request,
        "admin/users.html",
        status_code=status_code,
        context={
            "users": users,
            "unit_names": {unit.id: unit.name for unit in units},
            "unit_options": [(str(unit.id), unit.name) for unit in units],
            "chosen_unit": chosen,
            "role_options": [
                (role.value, f"role.{role.value}")
                for role in (grantable_roles(frozenset(), UnitKind(chosen.kind)) if chosen else [])
            ],
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


def grantable_roles(held: frozenset[Role], unit_kind: UnitKind) -> list[Role]:
    """The roles the service would grant on top of `held` in a unit of this kind (offered in the form;
    the service checks again)."""
    return [
        role
        for role in Role
        if role not in held and unit_kind in ROLE_UNIT_KINDS[role] and not role_conflicts(held | {role})
    ]


async def _user_page(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    principal: Principal,
    user_id: uuid.UUID,
    *,
    data: FormInput | None = None,
    status_code: int = 200,
) -> Response[Any]:
    view = await service.get_user(session, principal, user_id)
    unit = await service.get_unit(session, principal, view.user.unit_id)
    values: dict[str, Any] = {"display_name": view.user.display_name}
    if data is not None:
        values.update({k: v for k, v in data.values.items() if k not in {"password"}})
    return page(
        request,
        "admin/user.html",
        status_code=status_code,
        context={
            "view": view,
            "u": view.user,
            "unit": unit,
            "roles": sorted(view.roles),
            "grantable": [
                (role.value, f"role.{role.value}")
                for role in grantable_roles(view.roles, UnitKind(unit.kind))
            ],
            "is_self": view.user.id == principal.user_id,
            "can_update": principal.has(Permission.IDENTITY_USER_UPDATE),
            "errors": data.errors if data else {},
            "values": values,
        },
    )


async def _unit_page(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    principal: Principal,
    unit_id: uuid.UUID,
    *,
    data: FormInput | None = None,
    status_code: int = 200,
) -> Response[Any]:
    unit = await service.get_unit(session, principal, unit_id)
    parent = None
    if unit.parent_id is not None:
        visible = {u.id: u for u in await service.list_units(session, principal)}
        parent = visible.get(unit.parent_id)
    can_read_users = principal.has(Permission.IDENTITY_USER_READ)
    users = await service.list_users(session, principal, unit_id=unit.id, limit=500) if can_read_users else []
    values: dict[str, Any] = {"name": unit.name}
    if data is not None:
        values.update(data.values)
    return page(
        request,
        "admin/unit.html",
        status_code=status_code,
        context={
            "unit": unit,
            "parent": parent,
            "users": users,
            "can_read_users": can_read_users,
            "can_manage": principal.has(Permission.IDENTITY_UNIT_MANAGE),
            "errors": data.errors if data else {},
            "values": values,
        },
    )


def _revocable(principal: Principal, target: service.UserView, role: Role) -> bool:
    """Whether the service would take `role` away: only then is it worth asking first (its refusals,
    one's own account, a role not held, the last role, come at once, next to the roles)."""
    return target.user.id != principal.user_id and role in target.roles and target.roles != {role}


def _reset_question(target: service.UserView, *, reset_totp: bool) -> Confirmation:
    """A reset signs the person out everywhere and voids the password (and second factor) in use."""
    consequences = [N_("admin.confirm.reset.consequence")]
    if reset_totp:
        consequences.append(
            N_("admin.confirm.reset.totp_new")
            if requires_totp(target.roles)
            else N_("admin.confirm.reset.totp_removed")
        )
    return Confirmation(
        title=N_("admin.confirm.reset.title"),
        consequences=consequences,
        submit=N_("admin.confirm.reset.submit"),
        cancel_path=f"{USERS_PATH}/{target.user.id}",
        params={"username": target.user.username},
    )


def _shown_once(
    request: Request[Any, Any, Any],
    template: str,
    view: service.UserView,
    state: State,
    *,
    status_code: int = 200,
    extra: dict[str, Any] | None = None,
) -> Response[Any]:
    """A page that shows a new credential once: answered directly, never redirected, never stored."""
    secret = view.new_totp_secret
    context: dict[str, Any] = {"user": view.user, "roles": sorted(view.roles), **(extra or {})}
    if secret is not None:
        context.update(totp_provisioning(secret, view.user.username, identity_config(state).totp_issuer))
    return page(request, template, status_code=status_code, context=context)


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
        # In the order the fields stand on the page (the error summary lists them in reading order).
        unit_id = parse_uuid(data.text("unit_id", required=True, max_length=36))
        username = data.text("username", required=True, max_length=64)
        display_name = data.text("display_name", required=True, max_length=120)
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
        # An unknown unit is the form's choice, not the page's record: shown next to the field.
        async with refusable(db_session, not_found_is_refusal=True) as refused:
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
        if refused.error is not None:
            status_code = _refusal(request, data, refused.error, _USER_ERROR_FIELDS)
            return await _users_page(request, db_session, principal, data=data, status_code=status_code)
        # Answered directly, not redirected: the second-factor secret is shown once and never in a URL.
        return _shown_once(request, "admin/user_created.html", view, state, status_code=201)

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
        # The form on a user's own page sends its answer back there; the one in the list to the list.
        from_user_page = data.form.get("zurueck") == "benutzer"
        if not active:
            # Signing someone out everywhere at once asks first; looked up in scope, so a user out of
            # scope is "not found" on this step as on the next. One's own account is refused below.
            target = await service.get_user(db_session, principal, user_id)
            question = Confirmation(
                title=N_("admin.confirm.deactivate.title"),
                consequences=[N_("admin.confirm.deactivate.consequence")],
                submit=N_("admin.confirm.deactivate.submit"),
                cancel_path=f"{USERS_PATH}/{user_id}" if from_user_page else ADMIN_AREA.path,
                params={"username": target.user.username},
            )
            if target.user.id != principal.user_id and answer(data.form, question) is not Answer.CONFIRMED:
                return confirmation_page(request, data.form, question)
        async with refusable(db_session) as refused:
            await service.set_active(
                db_session,
                principal,
                user_id,
                active,
                config=identity_config(state),
                audit=audit_fields(request),
            )
        if refused.error is not None and from_user_page:
            status_code = _refusal(request, data, refused.error, _ACTIVE_ERROR_FIELDS)
            return await _user_page(
                request, db_session, principal, user_id, data=data, status_code=status_code
            )
        if refused.error is not None:
            status_code = _refusal(request, data, refused.error, {})
            return await _users_page(request, db_session, principal, data=data, status_code=status_code)
        notice = "benutzer_aktiviert" if active else "benutzer_deaktiviert"
        return see_other(f"{USERS_PATH}/{user_id}" if from_user_page else ADMIN_AREA.path, notice=notice)

    @get(_USER, opt=requires(Permission.IDENTITY_USER_READ))
    async def user(
        self,
        request: Request[Any, Any, Any],
        db_session: Session,
        principal: Caller,
        user_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        return await _user_page(request, db_session, principal, user_id)

    @post(_USER + "/name", opt=requires(Permission.IDENTITY_USER_UPDATE), status_code=200)
    async def rename_user(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: Session,
        principal: Caller,
        user_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        data = await form_input(request)
        display_name = data.text("display_name", required=True, max_length=120)
        if display_name is None:
            return await _user_page(request, db_session, principal, user_id, data=data, status_code=422)
        await service.rename(
            db_session,
            principal,
            user_id,
            display_name,
            config=identity_config(state),
            audit=audit_fields(request),
        )
        return see_other(f"{USERS_PATH}/{user_id}", notice="name_geaendert")

    @post(_USER + "/rollen", opt=requires(Permission.IDENTITY_USER_UPDATE), status_code=200)
    async def grant_role(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: Session,
        principal: Caller,
        user_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        data = await form_input(request)
        role = data.choice("role", Role)
        if role is None:
            return await _user_page(request, db_session, principal, user_id, data=data, status_code=422)
        async with refusable(db_session) as refused:
            view = await service.grant_role(
                db_session,
                principal,
                user_id,
                role,
                config=identity_config(state),
                secret=secret_key(state),
                audit=audit_fields(request),
            )
        if refused.error is not None:
            status_code = _refusal(request, data, refused.error, _GRANT_ERROR_FIELDS)
            return await _user_page(
                request, db_session, principal, user_id, data=data, status_code=status_code
            )
        if view.new_totp_secret is not None:
            # The role needs a second factor the user did not have yet: shown once, here.
            return _shown_once(request, "admin/role_granted.html", view, state, extra={"granted": role})
        return see_other(f"{USERS_PATH}/{user_id}", notice="rolle_erteilt")

    @post(_USER + "/rollen/entziehen", opt=requires(Permission.IDENTITY_USER_UPDATE), status_code=200)
    async def revoke_role(
        self,
        request: Request[Any, Any, Any],
        db_session: Session,
        principal: Caller,
        user_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        data = await form_input(request)
        role = data.choice("revoke_role", Role)
        if role is None:
            return await _user_page(request, db_session, principal, user_id, data=data, status_code=422)
        # Looked up in scope first: a user out of scope is "not found" on this step as on the next.
        target = await service.get_user(db_session, principal, user_id)
        if _revocable(principal, target, role):
            question = Confirmation(
                title=N_("admin.confirm.revoke.title"),
                consequences=[N_("admin.confirm.revoke.consequence")],
                submit=N_("admin.confirm.revoke.submit"),
                cancel_path=f"{USERS_PATH}/{user_id}",
                params={"username": target.user.username, "role": translator_for(request)(f"role.{role}")},
            )
            if answer(data.form, question) is not Answer.CONFIRMED:
                return confirmation_page(request, data.form, question)
        async with refusable(db_session) as refused:
            await service.revoke_role(db_session, principal, user_id, role, audit=audit_fields(request))
        if refused.error is not None:
            status_code = _refusal(request, data, refused.error, _REVOKE_ERROR_FIELDS)
            return await _user_page(
                request, db_session, principal, user_id, data=data, status_code=status_code
            )
        return see_other(f"{USERS_PATH}/{user_id}", notice="rolle_entzogen")

    @post(_USER + "/passwort", opt=requires(Permission.IDENTITY_USER_UPDATE), status_code=200)
    async def reset_password(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: Session,
        principal: Caller,
        user_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        data = await form_input(request)
        reset_totp = data.flag("reset_totp")
        target = await service.get_user(db_session, principal, user_id)
        if target.user.id != principal.user_id:  # one's own password: the service refuses below
            question = _reset_question(target, reset_totp=reset_totp)
            if answer(data.form, question) is not Answer.CONFIRMED:
                return confirmation_page(request, data.form, question)
        password = generate_password(username=target.user.username)
        async with refusable(db_session) as refused:
            view = await service.reset_password(
                db_session,
                principal,
                user_id,
                password,
                reset_totp=reset_totp,
                config=identity_config(state),
                secret=secret_key(state),
                audit=audit_fields(request),
            )
        if refused.error is not None:
            status_code = _refusal(request, data, refused.error, _RESET_ERROR_FIELDS)
            return await _user_page(
                request, db_session, principal, user_id, data=data, status_code=status_code
            )
        # Answered directly, not redirected: the new password is shown once and never in a URL.
        return _shown_once(
            request,
            "admin/password_reset.html",
            view,
            state,
            extra={"new_password": password, "totp_reset": reset_totp},
        )

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
        # In the order the fields stand on the page (the error summary lists them in reading order).
        name = data.text("name", required=True)
        code = data.text("code", required=True, max_length=32)
        kind = data.choice("kind", UnitKind)
        parent_id = parse_uuid(data.text("parent_id", max_length=36))
        if not data.ok or code is None or name is None or kind is None:
            return await _units_page(request, db_session, principal, data=data, status_code=422)
        # An unknown parent is the form's choice, not the page's record: shown next to the field.
        async with refusable(db_session, not_found_is_refusal=True) as refused:
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
        if refused.error is not None:
            status_code = _refusal(request, data, refused.error, _UNIT_ERROR_FIELDS)
            return await _units_page(request, db_session, principal, data=data, status_code=status_code)
        return see_other(UNITS_PATH, notice="einheit_angelegt")

    @get(_UNIT, opt=requires(Permission.IDENTITY_UNIT_READ))
    async def unit(
        self,
        request: Request[Any, Any, Any],
        db_session: Session,
        principal: Caller,
        unit_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        return await _unit_page(request, db_session, principal, unit_id)

    @post(_UNIT + "/name", opt=requires(Permission.IDENTITY_UNIT_MANAGE), status_code=200)
    async def rename_unit(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: Session,
        principal: Caller,
        unit_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        data = await form_input(request)
        name = data.text("name", required=True)
        if name is None:
            return await _unit_page(request, db_session, principal, unit_id, data=data, status_code=422)
        await service.rename_unit(
            db_session,
            principal,
            unit_id,
            name,
            config=identity_config(state),
            audit=audit_fields(request),
        )
        return see_other(f"{UNITS_PATH}/{unit_id}", notice="einheit_umbenannt")


__all__ = ["ADMIN_AREA", "AdminPages", "grantable_roles"]
