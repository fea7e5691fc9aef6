"""Auditor API: search events, list signed checkpoints, prove a single event's inclusion.

It lives above `referral_service.identity` (which records audit events itself), not in the audit
package, so that audit never imports identity.

Reading the audit log is itself audited. Audit events carry no personal data, so auditors see
everything in them; they never see case content, which lives elsewhere.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.datastructures import ResponseHeader, State
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import FromPath, QueryParameter
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.audit import repository
from referral_service.audit.actions import AuditLogAction
from referral_service.audit.keys import AuditKeys
from referral_service.audit.recorder import AuditOutcome, from_us, record_event
from referral_service.audit.schemas import (
    AuditEventPage,
    CheckpointList,
    CheckpointOut,
    InclusionProofOut,
)
from referral_service.audit.service import EventQuery, export_events, prove_inclusion, search_events
from referral_service.identity.http import audit_fields, requires
from referral_service.identity.permissions import Permission
from referral_service.identity.principal import Principal
from referral_service.listing import (
    CSV_MEDIA_TYPE,
    EXPORT_LIMIT,
    MAX_PAGE_SIZE,
    PAGE_SIZE,
    InvalidRangeError,
    Page,
    csv_response,
    link_header,
)
from referral_service.web.audit_search import (
    EXPORT_FILE_NAME,
    UnknownUserNameError,
    csv_text,
    is_known_action,
    names_for,
    searched_actors,
)
from referral_service.web.i18n import translator_for

# Ids and action names are printable ASCII; anything else (a NUL byte, which PostgreSQL refuses in
# text) is a wrong filter, answered 422.
PRINTABLE = r"^[\x20-\x7e]*$"
CURSOR = r"^[A-Za-z0-9_-]+$"
LINK_HEADER = ResponseHeader(
    name="Link",
    description='The next page, when there is one: `<...?after=CURSOR>; rel="next"`',
    documentation_only=True,
)

ActorIdParameter = Annotated[str | None, QueryParameter(max_length=64, pattern=PRINTABLE)]
ActorParameter = Annotated[
    str | None,
    QueryParameter(
        max_length=64,
        pattern=PRINTABLE,
        description="The acting user's user name (case does not matter); 422 when no user has it",
    ),
]
ActionParameter = Annotated[
    str | None,
    QueryParameter(
        max_length=100,
        pattern=PRINTABLE,
        description="An action code (docs/security/audit.md); 422 if unknown",
    ),
]
OutcomeParameter = Annotated[AuditOutcome | None, QueryParameter()]
TargetTypeParameter = Annotated[str | None, QueryParameter(max_length=50, pattern=PRINTABLE)]
TargetIdParameter = Annotated[str | None, QueryParameter(max_length=64, pattern=PRINTABLE)]
SinceParameter = Annotated[
    dt.datetime | None, QueryParameter(description="From this time on (UTC without zone)")
]
UntilParameter = Annotated[
    dt.datetime | None, QueryParameter(description="Before this time (exclusive; UTC without zone)")
]


def _invalid(field: str, message: str) -> ValidationException:
    """A 422 problem naming the query parameter, like Litestar's own for a value of the wrong type."""
    return ValidationException(extra=[{"key": field, "message": message, "source": "query"}])


async def _filters(
    session: AsyncSession,
    actor_id: str | None,
    actor: str | None,
    action: str | None,
    outcome: AuditOutcome | None,
    target_type: str | None,
    target_id: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
) -> EventQuery:
    """The search the parameters describe: the action must be declared, the user name must exist, and
    the time range must not end before it starts."""
    if action is not None and not is_known_action(action):
        raise _invalid("action", "unknown audit action")
    if since is not None and until is not None:
        zone = dt.UTC
        if since.replace(tzinfo=since.tzinfo or zone) > until.replace(tzinfo=until.tzinfo or zone):
            raise InvalidRangeError()
    try:
        actor_ids = await searched_actors(session, actor_id, actor)
    except UnknownUserNameError:
        raise _invalid("actor", "no user has this user name") from None
    return EventQuery(
        actor_ids=actor_ids,
        action=action,
        outcome=outcome.value if outcome is not None else None,
        target_type=target_type,
        target_id=target_id,
        since=since,
        until=until,
    )


class AuditController(Controller):
    path = "/api/v1/audit"
    tags = ["audit"]

    @get(
        "/events",
        opt=requires(Permission.AUDIT_EVENT_READ),
        summary="Search audit events",
        response_headers=[LINK_HEADER],
    )
    async def list_events(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        actor_id: ActorIdParameter = None,
        actor: ActorParameter = None,
        action: ActionParameter = None,
        outcome: OutcomeParameter = None,
        target_type: TargetTypeParameter = None,
        target_id: TargetIdParameter = None,
        since: SinceParameter = None,
        until: UntilParameter = None,
        after: Annotated[
            str | None,
            QueryParameter(
                max_length=200,
                pattern=CURSOR,
                description="The cursor of the next page, from the Link header (newest first)",
            ),
        ] = None,
        after_id: Annotated[
            int | None,
            QueryParameter(
                ge=0,
                description="The earlier paging, kept for its clients: events after this id, oldest first "
                "(next_after_id continues). Not with `after`.",
            ),
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE_SIZE)] = PAGE_SIZE,
    ) -> Response[AuditEventPage]:
        """Newest first; the next page is named in the Link header (`rel="next"`). Times without a zone
        are read as UTC; `until` is exclusive. Every search is itself recorded."""
        if after is not None and after_id is not None:
            raise _invalid("after_id", "use either after or after_id")
        filters = await _filters(
            db_session, actor_id, actor, action, outcome, target_type, target_id, since, until
        )
        query = replace(filters, after=after, after_id=after_id, limit=limit)
        found = await search_events(db_session, query, actor=principal.actor, audit=audit_fields(request))
        return Response(found, headers=link_header(request, Page(found.events, found.next_after)))

    @get(
        "/events/export.csv",
        opt=requires(Permission.AUDIT_EVENT_EXPORT),
        summary="Export the audit events that match the filters as CSV",
        media_type=CSV_MEDIA_TYPE,
        description=f"Newest first, at most {EXPORT_LIMIT} events (more: 422 `list.export_too_large`; "
        "narrow the filters). The export is itself recorded (`audit:event:export`).",
    )
    async def export_events(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        actor_id: ActorIdParameter = None,
        actor: ActorParameter = None,
        action: ActionParameter = None,
        outcome: OutcomeParameter = None,
        target_type: TargetTypeParameter = None,
        target_id: TargetIdParameter = None,
        since: SinceParameter = None,
        until: UntilParameter = None,
    ) -> Response[str]:
        query = await _filters(
            db_session, actor_id, actor, action, outcome, target_type, target_id, since, until
        )
        events = await export_events(db_session, query, actor=principal.actor, audit=audit_fields(request))
        names = await names_for(db_session, events)
        return csv_response(csv_text(translator_for(request), events, names), EXPORT_FILE_NAME)

    @get("/checkpoints", opt=requires(Permission.AUDIT_CHECKPOINT_READ), summary="Signed checkpoints")
    async def list_checkpoints(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> CheckpointList:
        keys: AuditKeys = state.audit_keys
        rows = await repository.checkpoints_in_order(db_session)
        await record_event(
            db_session,
            action=AuditLogAction.CHECKPOINT_READ,
            actor=principal.actor,
            details={"returned": len(rows)},
            **audit_fields(request),
        )
        return CheckpointList(
            verifier_key=keys.signer.public_key_text(),
            checkpoints=[
                CheckpointOut(
                    tree_size=row.tree_size,
                    root_hash=row.root_hash.hex(),
                    created_at=from_us(row.created_at_us),
                    signed_text=row.signed_text,
                )
                for row in rows
            ],
        )

    @get(
        "/events/{seq:int}/proof",
        opt=requires(Permission.AUDIT_PROOF_READ),
        summary="Inclusion proof of one log position against the newest checkpoint",
    )
    async def prove(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        seq: FromPath[int],
    ) -> InclusionProofOut:
        # ProofUnavailableError (and LogDamagedError with it) answers 404 `audit.proof_unavailable`.
        proof = await prove_inclusion(db_session, seq)
        await record_event(
            db_session,
            action=AuditLogAction.PROOF_READ,
            actor=principal.actor,
            target_type="audit_log",
            target_id=str(seq),
            **audit_fields(request),
        )
        return InclusionProofOut(
            seq=proof.seq,
            leaf_hash=proof.leaf_hash.hex(),
            tree_size=proof.tree_size,
            root_hash=proof.root_hash.hex(),
            proof=[node.hex() for node in proof.proof],
            checkpoint=proof.checkpoint,
        )
