"""Complaint tables. Personal data is encrypted under the complaint's data key; plain
columns are what scope, workflow, deadlines and the annual statistics need.

Messages, statement requests and attachments belong to their complaint's case and use its data key,
so destroying that one key shreds everything the case holds.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Column, Index, Integer
from sqlmodel import Field, SQLModel

from referral_service.db import UTCDateTime, utcnow
from referral_service.keys.fields import EncryptedRecord, encrypted_field

# The queue sorts by deadline, and keyset keys must be NOT NULL: a paused complaint (no deadline while a
# statement is outstanding) sorts after every running deadline.
NO_DEADLINE = dt.date(9999, 12, 31)


class Complaint(EncryptedRecord, table=True):
    __tablename__ = "complaints"
    __table_args__ = (
        Index("ix_complaints_status", "status"),
        Index("ix_complaints_assignee_status", "assignee_id", "status"),
        Index("ix_complaints_received_at", "received_at"),
        Index("ix_complaints_police_unit_id", "police_unit_id"),
        # The queue's deadline filters (overdue, due soon) compare the deadline of the running states.
        Index("ix_complaints_status_deadline_on", "status", "deadline_on"),
        Index("ix_complaints_category", "category"),
    )

    # "BS-2026-000123": sequential per year (see references.py).
    reference: str = Field(max_length=16, unique=True)
    year: int
    sequence: int
    # Keyed hash of the access code (complaints.access_codes); the code itself is shown once and stored
    # nowhere.
    access_code_hash: str = Field(max_length=255)

    # Plain, for handling and the annual report.
    complaint_type: str = Field(max_length=16)
    complainant_kind: str = Field(max_length=24)
    from_police_staff: bool = False
    channel: str = Field(max_length=16)
    # The primary content category: the one the lists show and filter by. Every category the complaint
    # concerns, this one included, is a `ComplaintCategory` row (the annual report counts those).
    category: str = Field(max_length=32)
    status: str = Field(max_length=24)
    incident_date: dt.date | None = None
    police_unit_id: uuid.UUID | None = Field(default=None, foreign_key="org_units.id")
    assignee_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    follow_up_of_id: uuid.UUID | None = Field(default=None, foreign_key="complaints.id")
    # The earlier reference as given (format-checked), also when it matched nothing.
    follow_up_reference: str | None = Field(default=None, max_length=16)
    # Complainant identity for the lead only (police employees always; others on request).
    identity_confidential: bool = False
    # The language of the e-mails to the complainant (`domain.ComplainantLanguage`): the public form's,
    # or as given on the API; the office's own entries are German unless it says otherwise. Complaints
    # from before the column existed are German, as their e-mails always were.
    language: str = Field(default="de", max_length=8, sa_column_kwargs={"server_default": "de"})

    # Personal data: ciphertext under the case's data key.
    name: bytes | None = encrypted_field()
    email: bytes | None = encrypted_field()
    phone: bytes | None = encrypted_field()
    address: bytes | None = encrypted_field()
    description: bytes | None = encrypted_field()
    place: bytes | None = encrypted_field()

    # Decision (plain codes for statistics) and the handler's draft of it.
    outcome: str | None = Field(default=None, max_length=24)
    no_decision_reason: str | None = Field(default=None, max_length=32)
    criminal_investigation: bool = False
    disciplinary_proceedings: bool = False
    forward_reason: str | None = Field(default=None, max_length=24)
    draft_outcome: str | None = Field(default=None, max_length=24)
    draft_no_decision_reason: str | None = Field(default=None, max_length=32)
    draft_criminal_investigation: bool = False
    draft_disciplinary_proceedings: bool = False
    draft_reply: bytes | None = encrypted_field()
    drafted_by_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    drafted_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)

    # Dates. `received_on` is the office's local date; `deadline_on` is recomputed whenever a statement
    # request starts or ends a pause (None while one is outstanding).
    received_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    received_on: dt.date
    deadline_on: dt.date | None = None
    decided_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_by_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    closed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    @property
    def queue_deadline(self) -> dt.date:
        """The queue's first sort key (`repository.QUEUE_ORDER`), as the database computes it."""
        return self.deadline_on or NO_DEADLINE


class ComplaintCategory(SQLModel, table=True):
    """A content area a complaint concerns ("Beschwerdeinhalt"). The office counts mentions: a complaint
    about an arrest and the officers' rudeness counts for criminal prosecution and for conduct on duty,
    so the published category sums exceed the number of complaints. Exactly one mention per complaint
    is primary, and `Complaint.category` holds a copy of it (`service.categories` keeps both in step)."""

    __tablename__ = "complaint_categories"

    complaint_id: uuid.UUID = Field(foreign_key="complaints.id", primary_key=True)
    category: str = Field(max_length=32, primary_key=True)
    is_primary: bool = False


class ComplaintTransition(SQLModel, table=True):
    """Every state change, with time and actor (processing times for the annual report come from here)."""

    __tablename__ = "complaint_transitions"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    complaint_id: uuid.UUID = Field(foreign_key="complaints.id", index=True)
    action: str = Field(max_length=24)
    from_status: str = Field(max_length=24)
    to_status: str = Field(max_length=24)
    actor_kind: str = Field(max_length=16)
    actor_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ComplaintMessage(EncryptedRecord, table=True):
    __tablename__ = "complaint_messages"

    complaint_id: uuid.UUID = Field(foreign_key="complaints.id", index=True)
    visibility: str = Field(max_length=16)
    author_kind: str = Field(max_length=16)
    author_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    body: bytes | None = encrypted_field()
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class StatementRequest(EncryptedRecord, table=True):
    """A request for a statement ("Stellungnahme") from the police unit concerned.

    The unit sees only the question, the facts released to it, the deadline, the complaint's reference
    and category, and the complainant's identity once the lead has approved disclosure.
    """

    __tablename__ = "complaint_statement_requests"
    __table_args__ = (
        Index("ix_complaint_statement_requests_unit_id", "unit_id"),
        # A unit's list: its requests in deadline order, read along the index.
        Index("ix_complaint_statement_requests_unit_deadline", "unit_id", "deadline_on", "id"),
    )

    complaint_id: uuid.UUID = Field(foreign_key="complaints.id", index=True)
    unit_id: uuid.UUID = Field(foreign_key="org_units.id")
    question: bytes | None = encrypted_field()
    released_facts: bytes | None = encrypted_field()
    answer: bytes | None = encrypted_field()
    deadline_on: dt.date
    requested_on: dt.date
    requested_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    requested_by_id: uuid.UUID = Field(foreign_key="users.id")
    answered_on: dt.date | None = None
    answered_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    answered_by_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    disclosure_approved_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    disclosure_approved_by_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")


class ComplaintAttachment(EncryptedRecord, table=True):
    """A file sent with a complaint: content and file name encrypted, type detected from its bytes."""

    __tablename__ = "complaint_attachments"

    complaint_id: uuid.UUID = Field(foreign_key="complaints.id", index=True)
    filename: bytes | None = encrypted_field()
    content: bytes | None = encrypted_field()
    content_type: str = Field(max_length=32)
    size_bytes: int
    uploaded_by_kind: str = Field(max_length=16)
    uploaded_by_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    uploaded_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ComplainantSession(SQLModel, table=True):
    """A complainant's short session, opened with reference and access code. Only the SHA-256 of the
    (256-bit random) bearer token is stored."""

    __tablename__ = "complainant_sessions"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    complaint_id: uuid.UUID = Field(foreign_key="complaints.id", index=True)
    created_at: dt.datetime = Field(sa_type=UTCDateTime)
    expires_at: dt.datetime = Field(sa_type=UTCDateTime)


class ComplaintReferenceCounter(SQLModel, table=True):
    """The last sequence number handed out per year. Incremented inside the submitting transaction, so
    references are unique and gapless on both engines (see references.py)."""

    __tablename__ = "complaint_reference_counters"

    year: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    last_value: int = 0


class ComplaintImport(SQLModel, table=True):
    """A file of earlier years' complaints loaded by `referral-service import complaints`. Its id (the
    SHA-256 of the file, or one the operator gives) makes a re-run a no-op; the row is written in the
    import's own transaction, so a second import of the same file waits for the first and then finds it."""

    __tablename__ = "complaint_imports"

    id: str = Field(max_length=64, primary_key=True)
    imported_at: dt.datetime = Field(sa_type=UTCDateTime)
    complaints: int
