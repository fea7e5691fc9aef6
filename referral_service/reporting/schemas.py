"""Request and response types of the cooperation activities register."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec

from referral_service.reporting.models import ActivityKind

Participants = Annotated[int, msgspec.Meta(ge=0, le=100_000)]
OrganisingUnits = Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=20)]


class ActivityCreate(msgspec.Struct, forbid_unknown_fields=True):
    """A joint activity of police and WEISSER RING: when, what, who organised it, how many took part."""

    held_on: dt.date
    kind: ActivityKind
    organising_unit_ids: OrganisingUnits
    participants: Participants


class Activity(msgspec.Struct):
    id: uuid.UUID
    held_on: dt.date
    kind: ActivityKind
    organising_unit_ids: list[uuid.UUID]
    participants: int
    recorded_by_id: uuid.UUID
    created_at: dt.datetime
