"""A signed-in user's notifications as pages: the list ("Benachrichtigungen") and the settings (which
kinds, in the list and by e-mail; the address and language of the e-mails).

The kinds are every installed domain's (`Domain.notifications`), collected here once per application
(`installed_notification_kinds`, kept in the app's state), since the kernel's notifications package
names no domain. Everything else is `referral_service.notifications.inbox`, as for the API
(`referral_service.web.notifications_api`).

A list entry shows the event's name, the case's reference, a deadline and the time, with a link to the
case's page; read or unread is said in words, not by colour alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect
from litestar.status_codes import HTTP_303_SEE_OTHER
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.db import utcnow
from referral_service.domains import installed_domains
from referral_service.identity.http import audit_fields, requires
from referral_service.identity.permissions import Permission
from referral_service.identity.principal import Principal
from referral_service.keys.service import CaseKeys
from referral_service.listing import PAGE_SIZE, InvalidCursorError, url_with
from referral_service.notifications import inbox
from referral_service.notifications.kinds import EmailMode, NotificationKind
from referral_service.notifications.models import Notification
from referral_service.validation import RequestValidationError
from referral_service.values import EMAIL
from referral_service.web.errors import PAGE_EXCEPTION_HANDLERS
from referral_service.web.forms import FormInput, form_input, refusable
from referral_service.web.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGE_NAMES,
    LANGUAGES,
    N_,
    Translator,
    translator_for,
)
from referral_service.web.render import NOTICE_PARAMETER, page, see_other

NOTIFICATIONS_PATH = "/benachrichtigungen"
SETTINGS_PATH = NOTIFICATIONS_PATH + "/einstellungen"
# The list's query: `anzeige=ungelesen` shows unread ones only; `nach` is the paging cursor.
VIEW = "anzeige"
UNREAD = "ungelesen"
CURSOR = "nach"
# The app state's key of the installed kinds (code -> kind).
KINDS_STATE = "notification_kinds"
# The settings form's rows are named by position (kind_0, in_app_0, email_0, ...), at most this many
# (the installed domains declare a few dozen kinds at most).
_MAX_KINDS = 100
# The address form's fields.
_ADDRESS, _LANGUAGE = "address", "email_language"

_MANAGE_OWN = requires(Permission.IDENTITY_NOTIFICATION_MANAGE_OWN)
Session = NamedDependency[AsyncSession]
Caller = NamedDependency[Principal]


def installed_notification_kinds() -> dict[str, NotificationKind]:
    """Every installed domain's kinds by code; a code declared twice stops the application."""
    kinds: dict[str, NotificationKind] = {}
    for domain in installed_domains():
        for kind in domain.notifications:
            if kind.code in kinds:
                raise ValueError(f"notification kind {kind.code!r} is declared twice")
            kinds[kind.code] = kind
    return kinds


def notification_kinds(state: State) -> Mapping[str, NotificationKind]:
    kinds: Mapping[str, NotificationKind] = state[KINDS_STATE]
    return kinds


def kinds_list(state: State) -> list[NotificationKind]:
    return list(notification_kinds(state).values())


def kind_label(t: Translator, kinds: Mapping[str, NotificationKind], code: str) -> str:
    """The event's name; a kind no installed domain declares any more is named generically."""
    kind = kinds.get(code)
    return t(kind.label_key) if kind is not None else t("notifications.kind_unknown")


def case_keys(state: State) -> CaseKeys:
    keys: CaseKeys = state.case_keys
    return keys


def email_modes() -> list[tuple[str, str]]:
    """The e-mail choices with their catalogue keys, for the settings' select."""
    return [(mode.value, f"notifications.email_mode.{mode.value}") for mode in EmailMode]


def _entry(
    notification: Notification, t: Translator, kinds: Mapping[str, NotificationKind]
) -> dict[str, Any]:
    return {
        "id": notification.id,
        "label": kind_label(t, kinds, notification.kind),
        "reference": notification.reference,
        "link": notification.link,
        "deadline": notification.deadline,
        "created_at": notification.created_at,
        "read": notification.read_at is not None,
    }


def _back_to_list(data: FormInput, notice: str) -> Response[Any]:
    """303 to the list the form was sent from (all, or unread only), with a confirmation."""
    params = {VIEW: UNREAD} if data.form.get(VIEW) == UNREAD else {}
    params[NOTICE_PARAMETER] = notice
    return Redirect(f"{NOTIFICATIONS_PATH}?{urlencode(params)}", status_code=HTTP_303_SEE_OTHER)


async def _settings_page(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    principal: Principal,
    *,
    data: FormInput | None = None,
    status_code: int = 200,
) -> Response[Any]:
    chosen = await inbox.preferences(session, principal, kinds_list(request.app.state))
    own = await inbox.contact(
        session, principal, case_keys(request.app.state), default_language=DEFAULT_LANGUAGE
    )
    values: dict[str, Any] = {_ADDRESS: own.email or "", _LANGUAGE: own.language}
    for index, preference in enumerate(chosen):
        values[f"in_app_{index}"] = preference.in_app
        values[f"email_{index}"] = preference.email.value
    if data is not None:
        values.update(data.values)
    return page(
        request,
        "notifications/settings.html",
        status_code=status_code,
        context={
            "preferences": chosen,
            "contact": own,
            "email_modes": email_modes(),
            "language_options": [(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
            "values": values,
            "errors": data.errors if data else {},
        },
    )


def _changes(data: FormInput) -> list[inbox.PreferenceChange]:
    """The settings form's rows, as sent; the use case checks the kinds against the caller's."""
    changes = []
    for index in range(_MAX_KINDS):
        code = data.form.get(f"kind_{index}")
        if not isinstance(code, str):
            continue
        in_app = data.flag(f"in_app_{index}")
        mode = data.choice(f"email_{index}", EmailMode)
        changes.append(inbox.PreferenceChange(kind=code, in_app=in_app, email=mode.value if mode else ""))
    return changes


class NotificationPages(Controller):
    path = NOTIFICATIONS_PATH
    include_in_schema = False
    exception_handlers = PAGE_EXCEPTION_HANDLERS

    @get("", opt=_MANAGE_OWN)
    async def list_notifications(
        self, request: Request[Any, Any, Any], db_session: Session, principal: Caller
    ) -> Response[Any]:
        t = translator_for(request)
        unread_only = request.query_params.get(VIEW) == UNREAD
        after = request.query_params.get(CURSOR) or None
        entries: list[dict[str, Any]] = []
        next_url = None
        cursor_invalid = False
        try:
            found = await inbox.list_inbox(
                db_session, principal, unread_only=unread_only, after=after, limit=PAGE_SIZE
            )
        except InvalidCursorError:
            cursor_invalid = True
        else:
            kinds = notification_kinds(request.app.state)
            entries = [_entry(row, t, kinds) for row in found.items]
            if found.next_cursor:
                next_url = url_with(request, **{CURSOR: found.next_cursor, NOTICE_PARAMETER: None})
        return page(
            request,
            "notifications/list.html",
            status_code=400 if cursor_invalid else 200,
            context={
                "entries": entries,
                "unread_only": unread_only,
                "unread": await inbox.unread_count(db_session, principal),
                "next_url": next_url,
                "first_url": url_with(request, **{CURSOR: None, NOTICE_PARAMETER: None}) if after else None,
                "cursor_invalid": cursor_invalid,
                "view": UNREAD if unread_only else "",
            },
        )

    @post("/{notification_id:uuid}/gelesen", opt=_MANAGE_OWN, status_code=200)
    async def mark_read(
        self,
        request: Request[Any, Any, Any],
        db_session: Session,
        principal: Caller,
        notification_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        data = await form_input(request)
        await inbox.mark_read(db_session, principal, notification_id, now=utcnow())
        return _back_to_list(data, "benachrichtigung_gelesen")

    @post("/alle-gelesen", opt=_MANAGE_OWN, status_code=200)
    async def mark_all_read(
        self, request: Request[Any, Any, Any], db_session: Session, principal: Caller
    ) -> Response[Any]:
        data = await form_input(request)
        await inbox.mark_all_read(db_session, principal, now=utcnow())
        return _back_to_list(data, "alle_gelesen")

    @get("/einstellungen", opt=_MANAGE_OWN)
    async def settings(
        self, request: Request[Any, Any, Any], db_session: Session, principal: Caller
    ) -> Response[Any]:
        return await _settings_page(request, db_session, principal)

    @post("/einstellungen", opt=_MANAGE_OWN, status_code=200)
    async def save_settings(
        self, request: Request[Any, Any, Any], db_session: Session, principal: Caller
    ) -> Response[Any]:
        data = await form_input(request)
        changes = _changes(data)
        if not data.ok:
            return await _settings_page(request, db_session, principal, data=data, status_code=422)
        kinds = kinds_list(request.app.state)
        async with refusable(db_session, RequestValidationError) as refused:
            await inbox.save_preferences(
                db_session, principal, kinds, changes, now=utcnow(), audit=audit_fields(request)
            )
        if refused.error is not None:
            # Only a form not made by this page names a kind the user cannot receive.
            data.error("email_0", N_("notifications.settings.error.kinds"))
            return await _settings_page(request, db_session, principal, data=data, status_code=422)
        return see_other(SETTINGS_PATH, notice="einstellungen_gespeichert")

    @post("/einstellungen/zuruecksetzen", opt=_MANAGE_OWN, status_code=200)
    async def reset_settings(
        self, request: Request[Any, Any, Any], db_session: Session, principal: Caller
    ) -> Response[Any]:
        kinds = kinds_list(request.app.state)
        await inbox.reset_preferences(db_session, principal, kinds, audit=audit_fields(request))
        return see_other(SETTINGS_PATH, notice="einstellungen_zurueckgesetzt")

    @post("/einstellungen/adresse", opt=_MANAGE_OWN, status_code=200)
    async def save_address(
        self, request: Request[Any, Any, Any], db_session: Session, principal: Caller
    ) -> Response[Any]:
        data = await form_input(request)
        address = data.value(_ADDRESS, EMAIL, required=True)
        language = data.text(_LANGUAGE, required=True, max_length=8)
        if language is not None and language not in LANGUAGES:
            data.error(_LANGUAGE, N_("form.error.choose"))
        if not data.ok or address is None or language is None:
            return await _settings_page(request, db_session, principal, data=data, status_code=422)
        async with refusable(db_session, RequestValidationError) as refused:
            await inbox.save_contact(
                db_session,
                principal,
                case_keys(request.app.state),
                email=address,
                language=language,
                languages=LANGUAGES,
                now=utcnow(),
                audit=audit_fields(request),
            )
        if refused.error is not None:
            data.error(_ADDRESS, EMAIL.message_key)
            return await _settings_page(request, db_session, principal, data=data, status_code=422)
        return see_other(SETTINGS_PATH, notice="adresse_gespeichert")

    @post("/einstellungen/adresse/entfernen", opt=_MANAGE_OWN, status_code=200)
    async def remove_address(
        self, request: Request[Any, Any, Any], db_session: Session, principal: Caller
    ) -> Response[Any]:
        await inbox.remove_contact(
            db_session,
            principal,
            case_keys(request.app.state),
            default_language=DEFAULT_LANGUAGE,
            now=utcnow(),
            audit=audit_fields(request),
        )
        return see_other(SETTINGS_PATH, notice="adresse_entfernt")


__all__ = [
    "KINDS_STATE",
    "NOTIFICATIONS_PATH",
    "SETTINGS_PATH",
    "NotificationPages",
    "installed_notification_kinds",
    "kind_label",
    "kinds_list",
    "notification_kinds",
]
