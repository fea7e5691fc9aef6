"""Auditor API: search events, list signed checkpoints, prove a single event's inclusion.

It lives above `referral_service.identity` (which records audit events itself), not in the audit
package, so that audit never imports identity.

Reading the audit log is itself audited. Audit events carry no personal data, so auditors see
everything in them; they never see case content, which lives elsewhere.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.audit import repository
from referral_service.audit.actions import AuditLogAction
from referral_service.audit.keys import AuditKeys
from referral_service.audit.recorder import from_us, record_event
from referral_service.audit.schemas import (
    AuditEventPage,
    CheckpointList,
    CheckpointOut,
    InclusionProofOut,
)
from referral_service.audit.service import EventQuery, prove_inclusion, search_events
from referral_service.identity.http import audit_fields, requires
from referral_service.identity.permissions import Permission
from referral_service.identity.principal import Principal

# Ids and action names are printable ASCII; anything else (a NUL byte, which PostgreSQL refuses in
# text) is a wrong filter, answered 422.
PRINTABLE = r"^[\x20-\x7e]*$"


class AuditController(Controller):
    path = "/api/v1/audit"
    tags = ["audit"]

    @get("/events", opt=requires(Permission.AUDIT_EVENT_READ), summary="Search audit events")
    async def list_events(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        actor_id: Annotated[str | None, QueryParameter(max_length=64, pattern=PRINTABLE)] = None,
        action: Annotated[str | None, QueryParameter(max_length=100, pattern=PRINTABLE)] = None,
        target_type: Annotated[str | None, QueryParameter(max_length=50, pattern=PRINTABLE)] = None,
        target_id: Annotated[str | None, QueryParameter(max_length=64, pattern=PRINTABLE)] = None,
        since: FromQuery[dt.datetime | None] = None,
        until: FromQuery[dt.datetime | None] = None,
        after_id: Annotated[int | None, QueryParameter(ge=0)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> AuditEventPage:
        """Times without a zone are read as UTC; `until` is exclusive."""
        query = EventQuery(
            actor_id=actor_id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            since=since,
            until=until,
            after_id=after_id,
            limit=limit,
        )
        return await search_events(db_session, query, actor=principal.actor, audit=audit_fields(request))

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
