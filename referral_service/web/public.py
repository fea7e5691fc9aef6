"""Public information pages: the Impressum (§ 5 DDG), the privacy notice (Art. 13 GDPR), the
accessibility statement (BITV 2.0) and the texts in Leichte Sprache (an overview here; each domain
declares its own text, see `PlainLanguagePage`). The operator's details on them come from the settings
(`Settings.operator`, a global of every template)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from referral_service.domains import installed_domains, plain_language_pages
from referral_service.identity.http import PUBLIC
from referral_service.web.errors import PAGE_EXCEPTION_HANDLERS
from referral_service.web.render import page


class PublicInformationController(Controller):
    path = "/"
    include_in_schema = False
    exception_handlers = PAGE_EXCEPTION_HANDLERS
    opt = PUBLIC

    @get("/impressum")
    async def imprint(self, request: Request[Any, Any, Any]) -> Response[Any]:
        return page(request, "public/imprint.html")

    @get("/datenschutz")
    async def privacy_notice(self, request: Request[Any, Any, Any]) -> Response[Any]:
        """Describes the installed services only: a deployment without one must not claim to run it."""
        services = {domain.name for domain in installed_domains()}
        return page(request, "public/privacy.html", context={"services": services})

    @get("/barrierefreiheit")
    async def accessibility_statement(self, request: Request[Any, Any, Any]) -> Response[Any]:
        return page(request, "public/accessibility.html")

    @get("/leichte-sprache")
    async def plain_language(self, request: Request[Any, Any, Any]) -> Response[Any]:
        """The overview of the texts in Leichte Sprache: each installed domain's page. The address once
        was the complaint text itself; the overview links it, so old links and bookmarks still help."""
        return page(request, "public/plain_language.html", context={"plain_pages": plain_language_pages()})

    @get("/leichte-sprache/{slug:str}")
    async def plain_language_page(
        self, request: Request[Any, Any, Any], slug: FromPath[str]
    ) -> Response[Any]:
        """One domain's text in Leichte Sprache; an unknown name is the usual 404 page."""
        found = next((entry for entry in plain_language_pages() if entry.slug == slug), None)
        if found is None:
            raise NotFoundException()
        return page(request, found.template, context={"plain_page": found})
