"""The register of joint cooperation activities of police and WEISSER RING.

Deliberately without free text: an event is its date, kind, organising units and number of
participants, so the register can never hold a name.
"""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

from sqlmodel import Field, SQLModel

from referral_service.db import UTCDateTime, utcnow


class ActivityKind(StrEnum):
    PREVENTION_EVENT = "prevention_event"  # Präventionsveranstaltung
    TRAINING = "training"  # Schulung, Fortbildung
    CONFERENCE = "conference"  # Fachtagung, Arbeitstreffen


ACTIVITY_LABELS = {
    ActivityKind.PREVENTION_EVENT: "Präventionsveranstaltungen",
    ActivityKind.TRAINING: "Schulungen",
    ActivityKind.CONFERENCE: "Fachtagungen und Konferenzen",
}


class CooperationActivity(SQLModel, table=True):
    __tablename__ = "cooperation_activities"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    held_on: dt.date = Field(index=True)
    kind: str = Field(max_length=24)
    participants: int
    recorded_by_id: uuid.UUID = Field(foreign_key="users.id")
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CooperationActivityUnit(SQLModel, table=True):
    """An organising unit of an activity (police and WEISSER RING units; usually one of each)."""

    __tablename__ = "cooperation_activity_units"

    activity_id: uuid.UUID = Field(foreign_key="cooperation_activities.id", primary_key=True)
    unit_id: uuid.UUID = Field(foreign_key="org_units.id", primary_key=True, index=True)
