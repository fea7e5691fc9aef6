"""Dependencies of the complaint routes: the per-request context and the complainant's session."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import NamedDependency, Provide
from sqlmodel.ext.asyncio.session import AsyncSession

from complaints.config import ComplaintsConfig
from complaints.service import access
from complaints.service.access import ComplainantAccess
from complaints.service.common import ComplaintContext
from referral_service.identity.http import audit_fields
from referral_service.keys.service import CaseKeys
from referral_service.settings import Settings

# Responses that carry an access code or a session token must never be stored by a browser or proxy.
NO_STORE = {"Cache-Control": "no-store"}


def context_dependency(config: ComplaintsConfig) -> Provide:
    def provide_complaint_context(request: Request[Any, Any, Any]) -> ComplaintContext:
        state = request.app.state
        settings: Settings = state.settings
        case_keys: CaseKeys = state.case_keys
        return ComplaintContext(
            config=config, case_keys=case_keys, secret=settings.secret_key, audit=audit_fields(request)
        )

    return Provide(provide_complaint_context, sync_to_thread=False)


def bearer_token(request: Request[Any, Any, Any]) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


async def provide_complainant(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    complaint_context: NamedDependency[ComplaintContext],
) -> ComplainantAccess:
    """The complainant's own complaint, from the session token sent as `Authorization: Bearer rsc_…`.

    The staff guard does not run on these public routes; this dependency is their authentication.
    """
    return await access.resolve_session(db_session, complaint_context, bearer_token(request))
