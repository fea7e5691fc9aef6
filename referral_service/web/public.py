"""Public information pages: the accessibility statement (BITV 2.0) and the plain-language introduction."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get

from referral_service.identity.http import PUBLIC
from referral_service.web.errors import PAGE_EXCEPTION_HANDLERS
from referral_service.web.render import page


class PublicInformationController(Controller):
    path = "/"
    include_in_schema = False
    exception_handlers = PAGE_EXCEPTION_HANDLERS
    opt = PUBLIC

    @get("/barrierefreiheit")
    async def accessibility_statement(self, request: Request[Any, Any, Any]) -> Response[Any]:
        return page(request, "public/accessibility.html")

    @get("/leichte-sprache")
    async def plain_language(self, request: Request[Any, Any, Any]) -> Response[Any]:
        """Easy-to-read introduction to complaining about the police ("Leichte Sprache")."""
        return page(request, "public/plain_language.html")
