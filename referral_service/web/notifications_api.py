"""`/api/v1/notifications`: the caller's own notifications, their choices per kind and their address.

The same use cases as the pages (`referral_service.notifications.inbox`); every route acts on the
caller's own rows, so someone else's notification is 404. It lives in the web layer because the
kinds (and their names in the caller's language) come from the installed domains.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.datastructures import ResponseHeader, State
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.db import utcnow
from referral_service.identity.http import audit_fields, requires
from referral_service.identity.permissions import Permission
from referral_service.identity.principal import Principal
from referral_service.listing import MAX_PAGE_SIZE, PAGE_SIZE, link_header
from referral_service.notifications import inbox, schemas
from referral_service.notifications.kinds import NotificationKind
from referral_service.notifications.models import Notification
from referral_service.web.i18n import DEFAULT_LANGUAGE, LANGUAGES, Translator, translator_for
from referral_service.web.notifications import case_keys, kind_label, kinds_list, notification_kinds

_MANAGE_OWN = requires(Permission.IDENTITY_NOTIFICATION_MANAGE_OWN)
# The address is personal data: no cache along the way keeps a copy.
_NO_STORE = {"Cache-Control": "no-store"}
_LINK_HEADER = ResponseHeader(
    name="Link",
    description='The next page, when there is one: `<...?after=CURSOR>; rel="next"`',
    documentation_only=True,
)

Session = NamedDependency[AsyncSession]
Caller = NamedDependency[Principal]


def _out(row: Notification, t: Translator, kinds: Mapping[str, NotificationKind]) -> schemas.NotificationOut:
    return schemas.NotificationOut(
        id=row.id,
        kind=row.kind,
        label=kind_label(t, kinds, row.kind),
        reference=row.reference,
        link=row.link,
        deadline=row.deadline,
        created_at=row.created_at,
        read=row.read_at is not None,
        read_at=row.read_at,
    )


def _preferences_out(found: list[inbox.Preference], t: Translator) -> list[schemas.PreferenceOut]:
    return [
        schemas.PreferenceOut(
            kind=preference.kind.code,
            label=t(preference.kind.label_key),
            in_app=preference.in_app,
            email=preference.email,
            default_email=preference.default_email,
            customised=preference.customised,
        )
        for preference in found
    ]


def _contact_out(found: inbox.Contact) -> Response[schemas.ContactOut]:
    return Response(schemas.ContactOut(email=found.email, language=found.language), headers=_NO_STORE)


class NotificationController(Controller):
    path = "/api/v1/notifications"
    tags = ["notifications"]

    @get(
        "",
        opt=_MANAGE_OWN,
        summary="The caller's notifications, newest first",
        description="Paged by keyset: the next page, if any, is named in the `Link` header "
        '(`rel="next"`) and asked for with `after`.',
        response_headers=[_LINK_HEADER],
    )
    async def list_notifications(
        self,
        request: Request[Any, Any, Any],
        db_session: Session,
        principal: Caller,
        unread: Annotated[bool, QueryParameter(description="Only the unread ones")] = False,
        after: Annotated[
            str | None,
            QueryParameter(max_length=200, pattern=r"^[A-Za-z0-9_-]+$", description="The cursor of the page"),
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE_SIZE)] = PAGE_SIZE,
    ) -> Response[list[schemas.NotificationOut]]:
        found = await inbox.list_inbox(db_session, principal, unread_only=unread, after=after, limit=limit)
        t, kinds = translator_for(request), notification_kinds(request.app.state)
        return Response([_out(row, t, kinds) for row in found.items], headers=link_header(request, found))

    @get("/unread-count", opt=_MANAGE_OWN, summary="How many of the caller's notifications are unread")
    async def unread_count(self, db_session: Session, principal: Caller) -> schemas.UnreadCount:
        return schemas.UnreadCount(unread=await inbox.unread_count(db_session, principal))

    @post(
        "/{notification_id:uuid}/read",
        opt=_MANAGE_OWN,
        status_code=200,
        summary="Mark one of the caller's notifications read (again: keeps the first time)",
    )
    async def mark_read(
        self,
        request: Request[Any, Any, Any],
        db_session: Session,
        principal: Caller,
        notification_id: FromPath[uuid.UUID],
    ) -> schemas.NotificationOut:
        row = await inbox.mark_read(db_session, principal, notification_id, now=utcnow())
        return _out(row, translator_for(request), notification_kinds(request.app.state))

    @post("/read-all", opt=_MANAGE_OWN, status_code=200, summary="Mark all the caller's notifications read")
    async def mark_all_read(self, db_session: Session, principal: Caller) -> schemas.MarkedRead:
        return schemas.MarkedRead(marked=await inbox.mark_all_read(db_session, principal, now=utcnow()))

    @get(
        "/preferences",
        opt=_MANAGE_OWN,
        summary="Each kind the caller can receive, with their choice or their roles' default",
    )
    async def preferences(
        self, request: Request[Any, Any, Any], state: State, db_session: Session, principal: Caller
    ) -> list[schemas.PreferenceOut]:
        found = await inbox.preferences(db_session, principal, kinds_list(state))
        return _preferences_out(found, translator_for(request))

    @put(
        "/preferences",
        opt=_MANAGE_OWN,
        summary="Change the caller's choices for the kinds named (422 for a kind they cannot receive)",
    )
    async def save_preferences(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: Session,
        principal: Caller,
        data: JSONBody[schemas.PreferencesUpdate],
    ) -> list[schemas.PreferenceOut]:
        changes = [
            inbox.PreferenceChange(kind=item.kind, in_app=item.in_app, email=item.email.value)
            for item in data.preferences
        ]
        found = await inbox.save_preferences(
            db_session, principal, kinds_list(state), changes, now=utcnow(), audit=audit_fields(request)
        )
        return _preferences_out(found, translator_for(request))

    @delete(
        "/preferences",
        opt=_MANAGE_OWN,
        status_code=200,
        summary="Forget the caller's choices: their roles' defaults apply again",
    )
    async def reset_preferences(
        self, request: Request[Any, Any, Any], state: State, db_session: Session, principal: Caller
    ) -> list[schemas.PreferenceOut]:
        found = await inbox.reset_preferences(
            db_session, principal, kinds_list(state), audit=audit_fields(request)
        )
        return _preferences_out(found, translator_for(request))

    @get("/contact", opt=_MANAGE_OWN, summary="The caller's own address for e-mails and their language")
    async def contact(
        self, state: State, db_session: Session, principal: Caller
    ) -> Response[schemas.ContactOut]:
        found = await inbox.contact(
            db_session, principal, case_keys(state), default_language=DEFAULT_LANGUAGE
        )
        return _contact_out(found)

    @put(
        "/contact",
        opt=_MANAGE_OWN,
        summary="Set the caller's address (stored encrypted) and the language of their e-mails",
        description="The address applies to notifications from now on; earlier ones get no e-mail.",
    )
    async def save_contact(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: Session,
        principal: Caller,
        data: JSONBody[schemas.ContactUpdate],
    ) -> Response[schemas.ContactOut]:
        found = await inbox.save_contact(
            db_session,
            principal,
            case_keys(state),
            email=data.email,
            language=data.language,
            languages=LANGUAGES,
            now=utcnow(),
            audit=audit_fields(request),
        )
        return _contact_out(found)

    @delete(
        "/contact",
        opt=_MANAGE_OWN,
        status_code=200,
        summary="Remove the caller's address for good (no more e-mails); the language stays",
    )
    async def remove_contact(
        self, request: Request[Any, Any, Any], state: State, db_session: Session, principal: Caller
    ) -> Response[schemas.ContactOut]:
        found = await inbox.remove_contact(
            db_session,
            principal,
            case_keys(state),
            default_language=DEFAULT_LANGUAGE,
            now=utcnow(),
            audit=audit_fields(request),
        )
        return _contact_out(found)
