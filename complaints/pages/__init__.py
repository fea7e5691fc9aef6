"""Web pages of the complaint domain, one module per audience:

- `public`: the complaint form without an account (with attachments) and its receipt;
- `complainant`: reference + access code -> status, replies, messages and further files;
- `office`, `case`, `entry`: the complaints office's queue, case page and steps, attachment downloads,
  and the entry of complaints received by letter, e-mail, fax, phone or in person;
- `statements`: the statement requests of police units; `report`: the annual report;
- `forms` and `uploads`: reading forms (and files, in memory) into the service's request types.

HTTP and presentation only: every read and change goes through `complaints.service`, which applies
scope, identity rules and audit. Public forms carry the double-submit form token of
`referral_service.web.security`; staff forms the session's CSRF token, checked by the guard.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Router
from litestar.middleware.rate_limit import RateLimitConfig

from complaints.config import ComplaintsConfig
from complaints.controllers.dependencies import context_dependency
from complaints.pages.common import AREAS
from complaints.pages.complainant import (
    COMPLAINANT_COOKIE,
    STATUS_PATH,
    ComplainantAttachmentPages,
    ComplainantPages,
)
from complaints.pages.entry import OfficeEntryPages
from complaints.pages.office import OfficePages
from complaints.pages.public import PublicComplaintPages
from complaints.pages.report import ComplaintsReportPage
from complaints.pages.statements import StatementRequestPages
from complaints.pages.uploads import PART_OVERHEAD_BYTES


async def _posts_only(request: Request[Any, Any, Any]) -> bool:
    return request.method == "POST"


async def _all_but_the_access_form(request: Request[Any, Any, Any]) -> bool:
    return not (request.method == "GET" and request.url.path == STATUS_PATH)


def _with_files_cap(config: ComplaintsConfig) -> int:
    # The form's text plus as many files as a complaint may have: a file slightly over the limit still
    # reaches the service and gets its specific answer on the form; anything larger is cut off while it
    # is read (413).
    return config.max_json_body_bytes + config.max_attachments * (
        config.max_attachment_bytes + PART_OVERHEAD_BYTES
    )


def complaint_page_routers(config: ComplaintsConfig) -> list[Router]:
    """The complaint pages, counted against the API's rate limits (same stores, same budgets)."""
    context = {"complaint_context": context_dependency(config, staff=False)}
    staff_context = {"complaint_context": context_dependency(config, staff=True)}
    intake_limit = RateLimitConfig(
        rate_limit=config.intake_rate_limit,
        store=config.intake_rate_limit_store,
        check_throttle_handler=_posts_only,
    )
    access_limit = RateLimitConfig(
        rate_limit=config.access_rate_limit,
        store=config.access_rate_limit_store,
        check_throttle_handler=_all_but_the_access_form,
    )
    return [
        Router(
            "/",
            route_handlers=[PublicComplaintPages],
            dependencies=context,
            middleware=[intake_limit.middleware],
            request_max_body_size=_with_files_cap(config),
        ),
        Router(
            "/",
            route_handlers=[ComplainantPages],
            dependencies=context,
            middleware=[access_limit.middleware],
            request_max_body_size=config.max_json_body_bytes,
        ),
        Router(
            "/",
            route_handlers=[ComplainantAttachmentPages],
            dependencies=context,
            middleware=[access_limit.middleware],
            request_max_body_size=_with_files_cap(config),
        ),
        Router(
            "/",
            route_handlers=[OfficePages, OfficeEntryPages, StatementRequestPages, ComplaintsReportPage],
            dependencies=staff_context,
            request_max_body_size=config.max_json_body_bytes,
        ),
    ]


__all__ = ["AREAS", "COMPLAINANT_COOKIE", "complaint_page_routers"]
