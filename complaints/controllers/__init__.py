"""HTTP routes of the complaint domain, mounted by `referral_service.app`.

Public routes sit behind Litestar's rate-limit middleware, per client address, with one budget for
submitting (only submissions count, not reading the categories) and one for the complainant's access.
Its default store is in memory, so each instance counts on its own; with several instances register a
shared store (e.g. Redis) under the names in `ComplaintsConfig`. Wrong access codes are throttled
separately, in the database (see `complaints.throttle`), so that limit holds across instances regardless.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Router
from litestar.di import Provide
from litestar.middleware.rate_limit import RateLimitConfig

from complaints.config import ComplaintsConfig
from complaints.controllers.dependencies import context_dependency, provide_complainant
from complaints.controllers.office import ComplaintOfficeController
from complaints.controllers.public import (
    ComplainantAccessController,
    ComplainantAttachmentController,
    PublicIntakeController,
)
from complaints.controllers.statements import StatementRequestController

PUBLIC_PATH = "/api/v1/public/complaints"
# A file slightly over the limit reaches the service and gets the specific answer
# (`complaint.attachment_too_large`); anything larger is cut off while it is read (`request.too_large`).
_ATTACHMENT_OVERHEAD_BYTES = 64 * 1024


async def _submissions_only(request: Request[Any, Any, Any]) -> bool:
    # Reading the categories must not use up an address's submissions.
    return request.method == "POST"


def complaint_routers(config: ComplaintsConfig) -> list[Router]:
    context = {"complaint_context": context_dependency(config, staff=False)}
    staff_context = {"complaint_context": context_dependency(config, staff=True)}
    complainant = {**context, "complainant": Provide(provide_complainant)}
    intake_limit = RateLimitConfig(
        rate_limit=config.intake_rate_limit,
        store=config.intake_rate_limit_store,
        check_throttle_handler=_submissions_only,
    )
    access_limit = RateLimitConfig(rate_limit=config.access_rate_limit, store=config.access_rate_limit_store)
    return [
        Router(
            PUBLIC_PATH,
            route_handlers=[PublicIntakeController],
            dependencies=context,
            middleware=[intake_limit.middleware],
            request_max_body_size=config.max_json_body_bytes,
        ),
        Router(
            PUBLIC_PATH,
            route_handlers=[ComplainantAccessController],
            dependencies=complainant,
            middleware=[access_limit.middleware],
            request_max_body_size=config.max_json_body_bytes,
        ),
        Router(
            PUBLIC_PATH,
            route_handlers=[ComplainantAttachmentController],
            dependencies=complainant,
            middleware=[access_limit.middleware],
            request_max_body_size=config.max_attachment_bytes + _ATTACHMENT_OVERHEAD_BYTES,
        ),
        Router(
            "/api/v1/complaints",
            route_handlers=[ComplaintOfficeController],
            dependencies=staff_context,
            request_max_body_size=config.max_json_body_bytes,
        ),
        Router(
            "/api/v1/statement-requests",
            route_handlers=[StatementRequestController],
            dependencies=staff_context,
            request_max_body_size=config.max_json_body_bytes,
        ),
    ]


__all__ = ["PUBLIC_PATH", "complaint_routers"]
