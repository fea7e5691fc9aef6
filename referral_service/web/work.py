"""Where work waits: the counts of the start page and the badges of the area navigation, and the user's
unread notifications in the page header.

Each domain counts its own work (`Domain.work`, one query per domain the user has roles in); the unread
notifications are one more query. The counts are taken once per page: before the handler of a
signed-in user's page runs (`load_work`), in a short transaction of their own, so that on SQLite they
never wait for the write lock the handler's transaction takes; the public start page takes them itself
once it knows the user. API calls, HTMX fragments and public pages get none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from litestar import Request
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.db import SessionFactory
from referral_service.domains import WorkItem, installed_domains
from referral_service.identity.principal import Principal
from referral_service.notifications import inbox
from referral_service.web.i18n import Translator

_STATE_KEY = "work"


@dataclass(frozen=True, slots=True)
class Work:
    """The user's counts: the non-zero items in the domains' order, and the badge number per area."""

    items: Sequence[WorkItem]
    badges: Mapping[str, int]
    # The user's unread notifications (the header's "Benachrichtigungen (3)").
    unread_notifications: int = 0

    def of_area(self, path: str) -> list[WorkItem]:
        return [item for item in self.items if item.area == path]


async def count_work(session: AsyncSession, principal: Principal, configured: Mapping[str, Any]) -> Work:
    """Every domain's counts for the principal (a domain without the principal's roles asks nothing)."""
    items: list[WorkItem] = []
    for domain in installed_domains():
        if domain.work is not None:
            items.extend(await domain.work(session, principal, configured[domain.name]))
    badges: dict[str, int] = {}
    for item in items:
        if item.badge:
            badges[item.area] = badges.get(item.area, 0) + item.count
    return Work(items=[item for item in items if item.count > 0], badges=badges)


async def take_work(request: Request[Any, Any, Any], principal: Principal) -> Work:
    """Count the principal's work in a transaction of its own and keep it for the page being drawn."""
    factory: SessionFactory = request.app.state.session_factory
    async with factory() as session, session.begin():
        work = await count_work(session, principal, request.app.state.domain_settings)
        work = replace(work, unread_notifications=await inbox.unread_count(session, principal))
    request.state[_STATE_KEY] = work
    return work


def _draws_a_page(request: Request[Any, Any, Any]) -> bool:
    # A browser's navigation asks for HTML; HTMX swaps a fragment without the navigation.
    return (
        request.method == "GET"
        and "text/html" in request.headers.get("accept", "")
        and request.headers.get("hx-request") != "true"
    )


async def load_work(request: Request[Any, Any, Any]) -> None:
    """Before a handler: the counts for the badges, if it is a signed-in user's page with areas."""
    user = request.scope.get("user")
    if not isinstance(user, Principal) or not _draws_a_page(request):
        return
    areas = getattr(request.app.state, "web_areas", ())
    if any(area.open_to(user) for area in areas):
        await take_work(request, user)


def work_of(request: Request[Any, Any, Any]) -> Work | None:
    work = request.state.get(_STATE_KEY)
    return work if isinstance(work, Work) else None


def counted(t: Translator, key: str, count: int) -> str:
    """A number with its words, singular or plural: the catalogues hold "<key>.one" and "<key>.other",
    each with {count} ("1 neue Vermittlung", "3 neue Vermittlungen")."""
    return t(f"{key}.{'one' if count == 1 else 'other'}", count=count)
