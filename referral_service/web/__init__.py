"""Server-rendered pages: layout, translations, security headers, sign-in.

Domain-free on purpose: the pages of a domain live beside it, with its templates and catalogues, and use
this package's layout, `page()`, forms and error handling; `referral_service.app` mounts everything.
The layout's templates and the static files ship inside this package.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import jinja2
from litestar import Router
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig
from litestar.types import ControllerRouterHandler

from referral_service.identity.http import PUBLIC
from referral_service.settings import DEMO_OPERATOR, Operator
from referral_service.web.account import AccountPages
from referral_service.web.admin import ADMIN_AREA, AdminPages
from referral_service.web.audit import AUDIT_AREA, AuditPages
from referral_service.web.auth import WebAuthController
from referral_service.web.notifications import NotificationPages
from referral_service.web.notifications_admin import NotificationAdminPages
from referral_service.web.oidc import OidcSignInPages
from referral_service.web.public import PublicInformationController
from referral_service.web.render import Area
from referral_service.web.security import security_headers_middleware

WEB_ROOT = Path(__file__).resolve().parent
TEMPLATES = WEB_ROOT / "templates"
STATIC = WEB_ROOT / "static"
# The areas of the domain-free pages; the domains' pages bring their own (see referral_service.app).
WEB_AREAS = [AUDIT_AREA, ADMIN_AREA]


def template_config(
    domain_templates: Sequence[Path] = (), *, operator: Operator = DEMO_OPERATOR
) -> TemplateConfig[JinjaTemplateEngine]:
    """The layout's templates and each domain's folder; a domain's names start with its own folder
    ("complaints/office_case.html"), so the folders do not shadow one another. Every template sees
    `operator`, the deployment's operator (Impressum, privacy notice, accessibility statement)."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader([TEMPLATES, *domain_templates]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals["operator"] = operator
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment))


def static_files_router() -> Router:
    return create_static_files_router(
        path="/static", directories=[STATIC], opt=PUBLIC, include_in_schema=False, name="static"
    )


def web_route_handlers() -> list[ControllerRouterHandler]:
    """The domain-free pages: start, sign-in/out, language switch, information, auditor and administrator
    pages, own-account and own-notification pages, static files."""
    return [
        static_files_router(),
        WebAuthController,
        OidcSignInPages,
        PublicInformationController,
        AuditPages,
        AdminPages,
        NotificationAdminPages,
        AccountPages,
        NotificationPages,
    ]


__all__ = ["WEB_AREAS", "Area", "security_headers_middleware", "template_config", "web_route_handlers"]
