"""Response types of the auditor API."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec


class AuditEventOut(msgspec.Struct):
    id: int
    seq: int | None
    occurred_at: dt.datetime
    action: str
    outcome: str
    actor_kind: str
    actor_id: str | None
    actor_roles: list[str]
    actor_unit_id: str | None
    target_type: str | None
    target_id: str | None
    request_id: str | None
    client_hash: str | None
    details: dict[str, Any]


class AuditEventPage(msgspec.Struct):
    events: list[AuditEventOut]
    # Only with `after_id` (oldest first): the id to continue after; None on the last page.
    next_after_id: int | None
    # Newest first: the cursor of the next page (also in the Link header); None on the last page.
    next_after: str | None = None


class CheckpointOut(msgspec.Struct):
    tree_size: int
    root_hash: str
    created_at: dt.datetime
    signed_text: str


class CheckpointList(msgspec.Struct):
    verifier_key: str
    checkpoints: list[CheckpointOut]


class InclusionProofOut(msgspec.Struct):
    seq: int
    leaf_hash: str
    tree_size: int
    root_hash: str
    proof: list[str]
    checkpoint: str
