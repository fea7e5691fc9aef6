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
from referral_service.identity.principal import Principal
from referral_service.keys.service import CaseKeys
from referral_service.settings import Settings

# Responses that carry an access code or a session token must never be stored by a browser or proxy.
NO_STORE = {"Cache-Control": "no-store"}


def context_dependency(config: ComplaintsConfig, *, staff: bool) -> Provide:
    """The `complaint_context` of every complaint route; `staff` routes act for the signed-in principal,
    public ones for nobody (even when a member of staff happens to be signed in)."""

    def context(
        request: Request[Any, Any, Any], db_session: AsyncSession, principal: Principal | None
    ) -> ComplaintContext:
        settings: Settings = request.app.state.settings
        case_keys: CaseKeys = request.app.state.case_keys
        return ComplaintContext(
            session=db_session,
            principal=principal,
            config=config,
            keys=case_keys,
            secret=settings.secret_key,
            audit=audit_fields(request),
        )

    def provide_staff_context(
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> ComplaintContext:
        return context(request, db_session, principal)

    def provide_public_context(
        request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> ComplaintContext:
        return context(request, db_session, None)

    return Provide(provide_staff_context if staff else provide_public_context, sync_to_thread=False)


def bearer_token(request: Request[Any, Any, Any]) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


async def provide_complainant(
    request: Request[Any, Any, Any], complaint_context: NamedDependency[ComplaintContext]
) -> ComplainantAccess:
    """The complainant's own complaint, from the session token sent as `Authorization: Bearer rsc_…`.

    The staff guard does not run on these public routes; this dependency is their authentication.
    """
    return await access.resolve_session(complaint_context, bearer_token(request))
