"""Referral tables. Personal data is encrypted per case; plain columns are what statistics, routing,
scope and deadlines need."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Column, Index, Integer
from sqlmodel import Field, SQLModel

from referral_service.db import UTCDateTime, utcnow
from referral_service.keys.fields import EncryptedRecord, blind_index_field, encrypted_field


class Referral(EncryptedRecord, table=True):
    __tablename__ = "referrals"
    __table_args__ = (
        Index("ix_referrals_branch_status", "branch_id", "status"),
        Index("ix_referrals_station_status", "referring_station_id", "status"),
        Index("ix_referrals_submitted_at", "submitted_at"),
        # Lists page newest first by (submitted_at, reference) within the caller's scope: one index per
        # scope column, so a page is an index range scan, not a sort of everything in scope.
        Index("ix_referrals_station_submitted", "referring_station_id", "submitted_at", "reference"),
        Index("ix_referrals_branch_submitted", "branch_id", "submitted_at", "reference"),
        Index("ix_referrals_assignee_submitted", "assignee_id", "submitted_at", "reference"),
        Index("ix_referrals_routed_by_unit_submitted", "routed_by_unit_id", "submitted_at", "reference"),
        Index("ix_referrals_escalation_level", "escalation_level"),
    )

    # "VM-2026-000123": sequential per year, for people to quote (see service/intake.py). Not personal data,
    # but shown only to those who may see the case.
    reference: str = Field(max_length=16, unique=True)
    status: str = Field(max_length=24)
    # Who referred, and where the case is now.
    referring_station_id: uuid.UUID = Field(foreign_key="org_units.id")
    referring_officer_id: uuid.UUID = Field(foreign_key="users.id")
    branch_id: uuid.UUID | None = Field(default=None, foreign_key="org_units.id")
    assignee_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    declined_by_branch_id: uuid.UUID | None = Field(default=None, foreign_key="org_units.id")
    decline_reason: str | None = Field(default=None, max_length=32)
    repeat_of_id: uuid.UUID | None = Field(default=None, foreign_key="referrals.id")
    # The state office that last routed the case to a branch, and when: it keeps read-only sight of it.
    routed_by_unit_id: uuid.UUID | None = Field(default=None, foreign_key="org_units.id")
    routed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)

    # Plain, for statistics and handling.
    offence_category: str = Field(max_length=32)
    hate_crime: bool = False
    # The incident date is split: its month plain for the statistics, the day (if known) encrypted below.
    incident_month: str = Field(max_length=7)  # "YYYY-MM"
    requested_support: str = Field(default="", max_length=300)  # comma-separated SupportKind values
    urgency: str = Field(default="normal", max_length=16)
    language: str = Field(default="de", max_length=8)
    interpreter_needed: bool = False

    # Consent (Art. 7 GDPR): who, when, in which form, to what, recorded by whom. No referral without it.
    consent_given_by: str = Field(max_length=32)
    consent_given_at: dt.datetime = Field(sa_type=UTCDateTime)
    consent_form: str = Field(max_length=16)
    consent_scope: str = Field(max_length=64)
    consent_recorded_by_id: uuid.UUID = Field(foreign_key="users.id")

    # Personal data: ciphertext under the case's data key.
    victim_name: bytes | None = encrypted_field()
    date_of_birth: bytes | None = encrypted_field()
    phone: bytes | None = encrypted_field()
    email: bytes | None = encrypted_field()
    street_address: bytes | None = encrypted_field()
    postcode: bytes | None = encrypted_field()
    city: bytes | None = encrypted_field()
    preferred_channel: bytes | None = encrypted_field()  # a ContactChannel value; how they like to be reached
    contact_preferences: bytes | None = encrypted_field()
    accessibility_needs: bytes | None = encrypted_field()
    incident_date: bytes | None = encrypted_field()
    case_number: bytes | None = encrypted_field()
    circumstances: bytes | None = encrypted_field()
    # Equality lookups (police case number; repeat-victim hint by phone or e-mail).
    case_number_index: bytes | None = blind_index_field()
    phone_index: bytes | None = blind_index_field()
    email_index: bytes | None = blind_index_field()

    # Outcome.
    close_outcome: str | None = Field(default=None, max_length=32)
    support_given: str = Field(default="", max_length=300)

    # Timestamps of the transitions, and deadline escalation.
    submitted_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    accepted_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    first_contact_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    withdrawn_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    declined_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    escalation_level: int = 0
    escalated_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ReferralReferenceCounter(SQLModel, table=True):
    """The last reference number handed out per year (referral_service/references.py)."""

    __tablename__ = "referral_reference_counters"

    year: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    last_value: int = 0


class ReferralTransition(SQLModel, table=True):
    """Every state change, with its time and actor: the dates the station sees come from here."""

    __tablename__ = "referral_transitions"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    referral_id: uuid.UUID = Field(foreign_key="referrals.id", index=True)
    action: str = Field(max_length=32)
    from_status: str = Field(max_length=24)
    to_status: str = Field(max_length=24)
    actor_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ContactAttempt(SQLModel, table=True):
    """A try to reach the victim: when and how, and whether it worked. No content."""

    __tablename__ = "referral_contact_attempts"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    referral_id: uuid.UUID = Field(foreign_key="referrals.id", index=True)
    attempted_at: dt.datetime = Field(sa_type=UTCDateTime)
    channel: str = Field(max_length=16)
    reached: bool = False
    recorded_by_id: uuid.UUID = Field(foreign_key="users.id")


class PostcodeRoute(SQLModel, table=True):
    """Routing table: a victim's postcode in [postcode_from, postcode_to] goes to `branch_id`."""

    __tablename__ = "referral_postcode_routes"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    postcode_from: str = Field(max_length=5, index=True)
    postcode_to: str = Field(max_length=5)
    branch_id: uuid.UUID = Field(foreign_key="org_units.id")


class ReferralImport(SQLModel, table=True):
    """A file of earlier years' referrals loaded by `referral-service import referrals`. Its id (the
    SHA-256 of the file, or one the operator gives) makes a re-run a no-op; the row is written in the
    import's own transaction, so a second import of the same file waits for the first and then finds it."""

    __tablename__ = "referral_imports"

    id: str = Field(max_length=64, primary_key=True)
    imported_at: dt.datetime = Field(sa_type=UTCDateTime)
    referrals: int
