"""Own-account pages for every signed-in user ("Mein Konto"): who they are, a new password, a new
authenticator.

Every change goes through `referral_service.identity.account` exactly as `/api/v1/auth/password` and
`/api/v1/auth/totp` do: the current password is asked for again (a stolen session alone is not
enough), wrong guesses count towards the sign-in throttle, and a change signs out every other session.

A new second-factor secret is shown once, in the answer to the form (never in a URL), as text, as an
`otpauth://` address and as a QR code drawn on the server (an SVG `data:` image, which the
Content-Security-Policy's `img-src 'self' data:` allows). If the confirmation code is wrong, the
secret is not shown again: whoever holds only the session must not be able to read it back.
"""

from __future__ import annotations

from typing import Any

import segno
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.identity import account, totp
from referral_service.identity.errors import (
    LoginThrottledError,
    PasswordPolicyError,
    ReauthenticationError,
    TotpCodeError,
    TotpNotPendingError,
)
from referral_service.identity.http import audit_fields, identity_config, requires, secret_key
from referral_service.identity.passwords import check_policy
from referral_service.identity.permissions import Permission
from referral_service.identity.principal import Credential, Principal
from referral_service.web.errors import PAGE_EXCEPTION_HANDLERS
from referral_service.web.forms import FormInput, form_input, refusable
from referral_service.web.i18n import N_
from referral_service.web.render import page, see_other

ACCOUNT_PATH = "/konto"

Session = NamedDependency[AsyncSession]
Caller = NamedDependency[Principal]


def qr_code_data_uri(text: str) -> str:
    """`text` as a QR code, an SVG `data:` URI for an `<img>` (dark on light, whatever the page's
    colours, with the quiet zone that scanners need)."""
    code = segno.make(text, error="m", micro=False)
    return code.svg_data_uri(scale=5, border=4, dark="#000000", light="#ffffff")


def totp_provisioning(secret: bytes, username: str, issuer: str) -> dict[str, str]:
    """What the page shows for a new second factor: the secret in groups of four, the address and
    the QR code of the address."""
    text = totp.to_base32(secret)
    uri = totp.provisioning_uri(secret, username, issuer)
    return {
        "totp_secret": " ".join(text[i : i + 4] for i in range(0, len(text), 4)),
        "totp_uri": uri,
        "totp_qr": qr_code_data_uri(uri),
    }


def _password_field(data: FormInput, name: str) -> str:
    """A password exactly as typed (never stripped, never echoed back)."""
    raw = data.form.get(name)
    value = raw if isinstance(raw, str) else ""
    if not value:
        data.error(name, N_("form.error.required"))
    elif len(value) > 1024:
        data.error(name, N_("form.error.too_long"))
    return value


def _credential(request: Request[Any, Any, Any]) -> Credential:
    credential = request.scope.get("auth")
    assert isinstance(credential, Credential)  # the guard put it there
    return credential


async def _account_page(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    principal: Principal,
    *,
    data: FormInput | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    own = await account.own_account(session, principal)
    return page(
        request,
        "account/overview.html",
        status_code=status_code,
        headers=headers,
        context={
            "account": own,
            "roles": sorted(own.roles),
            "can_change": principal.has(Permission.IDENTITY_ACCOUNT_MANAGE_OWN),
            "min_length": identity_config(request.app.state).password_min_length,
            "errors": data.errors if data else {},
            # Nothing of these forms is shown again: they hold passwords only.
            "values": {},
        },
    )


class AccountPages(Controller):
    path = ACCOUNT_PATH
    include_in_schema = False
    exception_handlers = PAGE_EXCEPTION_HANDLERS

    @get("", opt=requires(Permission.IDENTITY_SESSION_READ_OWN))
    async def overview(
        self, request: Request[Any, Any, Any], db_session: Session, principal: Caller
    ) -> Response[Any]:
        return await _account_page(request, db_session, principal)

    @post("/passwort", opt=requires(Permission.IDENTITY_ACCOUNT_MANAGE_OWN), status_code=200)
    async def change_password(
        self, request: Request[Any, Any, Any], state: State, db_session: Session, principal: Caller
    ) -> Response[Any]:
        data = await form_input(request)
        current = _password_field(data, "current_password")
        new = _password_field(data, "new_password")
        repeated = _password_field(data, "new_password_repeat")
        if data.ok and new != repeated:
            data.error("new_password_repeat", N_("account.error.password_mismatch"))
        if data.ok and new == current:
            data.error("new_password", N_("account.error.password_unchanged"))
        config = identity_config(state)
        if data.ok:
            # Checked before the current password, so that the answer never tells whether that was right.
            try:
                check_policy(new, config, username=principal.username)
            except PasswordPolicyError:
                data.error("new_password", N_("account.error.password_policy"))
        if not data.ok:
            return await _account_page(request, db_session, principal, data=data, status_code=422)
        try:
            async with refusable(db_session, PasswordPolicyError) as refused:
                await account.change_password(
                    db_session,
                    principal,
                    _credential(request),
                    current_password=current,
                    new_password=new,
                    config=config,
                    secret=secret_key(state),
                    audit=audit_fields(request),
                )
        except ReauthenticationError:
            # The failed attempt is counted and audited already (committed by the service).
            data.error("current_password", N_("account.error.current_password"))
            return await _account_page(request, db_session, principal, data=data, status_code=422)
        except LoginThrottledError as exc:
            data.error("current_password", N_("account.error.throttled"))
            return await _account_page(
                request, db_session, principal, data=data, status_code=429, headers=exc.headers
            )
        if refused.error is not None:
            data.error("new_password", N_("account.error.password_policy"))
            return await _account_page(request, db_session, principal, data=data, status_code=422)
        return see_other(ACCOUNT_PATH, notice="passwort_geaendert")

    @post("/zweiter-faktor", opt=requires(Permission.IDENTITY_ACCOUNT_MANAGE_OWN), status_code=200)
    async def start_totp(
        self, request: Request[Any, Any, Any], state: State, db_session: Session, principal: Caller
    ) -> Response[Any]:
        data = await form_input(request)
        password = _password_field(data, "totp_password")
        if not data.ok:
            return await _account_page(request, db_session, principal, data=data, status_code=422)
        config = identity_config(state)
        try:
            secret_text, _ = await account.start_totp_enrolment(
                db_session,
                principal,
                password=password,
                config=config,
                secret=secret_key(state),
                audit=audit_fields(request),
            )
        except ReauthenticationError:
            data.error("totp_password", N_("account.error.current_password"))
            return await _account_page(request, db_session, principal, data=data, status_code=422)
        except LoginThrottledError as exc:
            data.error("totp_password", N_("account.error.throttled"))
            return await _account_page(
                request, db_session, principal, data=data, status_code=429, headers=exc.headers
            )
        own = await account.own_account(db_session, principal)
        # Answered directly, not redirected: the secret is shown once and never in a URL.
        return page(
            request,
            "account/totp.html",
            context={
                "replacing": own.totp_enabled,
                **totp_provisioning(totp.from_base32(secret_text), principal.username, config.totp_issuer),
            },
        )

    @post(
        "/zweiter-faktor/bestaetigen", opt=requires(Permission.IDENTITY_ACCOUNT_MANAGE_OWN), status_code=200
    )
    async def confirm_totp(
        self, request: Request[Any, Any, Any], state: State, db_session: Session, principal: Caller
    ) -> Response[Any]:
        data = await form_input(request)
        code = data.text("totp_code", required=True, max_length=10, pattern=r"[0-9 ]{6,10}")
        status_code, headers = 422, None
        if code is not None:
            try:
                await account.confirm_totp_enrolment(
                    db_session,
                    principal,
                    _credential(request),
                    code=code.replace(" ", ""),
                    config=identity_config(state),
                    secret=secret_key(state),
                    audit=audit_fields(request),
                )
            except TotpCodeError:
                # Counted against the sign-in throttle and audited (committed by the service).
                data.error("totp_code", N_("account.error.totp_code"))
            except LoginThrottledError as exc:
                data.error("totp_code", N_("account.error.throttled"))
                status_code, headers = 429, exc.headers
            except TotpNotPendingError:
                data.error("totp_password", N_("account.error.totp_not_pending"))
                return await _account_page(request, db_session, principal, data=data, status_code=409)
            else:
                return see_other(ACCOUNT_PATH, notice="zweiter_faktor_eingerichtet")
        # The secret is not shown again (see the module docstring); the form asks for the code again.
        own = await account.own_account(db_session, principal)
        return page(
            request,
            "account/totp.html",
            status_code=status_code,
            headers=headers,
            context={"replacing": own.totp_enabled, "errors": data.errors, "values": {}},
        )


__all__ = ["ACCOUNT_PATH", "AccountPages", "qr_code_data_uri", "totp_provisioning"]
