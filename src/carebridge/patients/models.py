"""Patient records: demographics, identifiers, contact points, related persons, consents and
health history. Every class here keeps its history of changes (``__versioned__``); none is
ever deleted: records end in a status such as ``inactive`` or ``entered-in-error``."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carebridge.db.base import Base, Tracked, UuidPk

FOLDED_100 = String(100).with_variant(String(100, collation="C"), "postgresql")
FOLDED_150 = String(150).with_variant(String(150, collation="C"), "postgresql")


class Counter(Base):
    """Named counters for human-facing numbers (MRN, referral number); incremented with
    ``UPDATE ... RETURNING`` so concurrent writers never get the same value."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int]


class Patient(UuidPk, Tracked, Base):
    __tablename__ = "patients"
    __versioned__ = True
    __patient_attr__ = "id"
    __table_args__ = (
        # List order plus id and status: a name search is answered from the index alone.
        Index(
            "ix_patients_family_list",
            "family_folded",
            "given_folded",
            "birth_date",
            "id",
            "status",
        ),
        Index(
            "ix_patients_given_list",
            "given_folded",
            "family_folded",
            "birth_date",
            "id",
            "status",
        ),
        Index("ix_patients_birth_date", "birth_date"),
    )

    mrn: Mapped[str] = mapped_column(String(16), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    family_name: Mapped[str] = mapped_column(String(100))
    given_names: Mapped[str] = mapped_column(String(150))
    preferred_name: Mapped[str | None] = mapped_column(String(100))
    # Folded (lower-case, accent-free) copies, indexed for prefix search. Byte order ("C"
    # collation) on PostgreSQL so a prefix is a plain index range, as on SQLite.
    family_folded: Mapped[str] = mapped_column(FOLDED_100)
    given_folded: Mapped[str] = mapped_column(FOLDED_150)
    birth_date: Mapped[dt.date] = mapped_column(Date)
    deceased_date: Mapped[dt.date | None] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(16))
    gender_identity: Mapped[str | None] = mapped_column(String(32))
    pronouns: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(16), default="en")
    interpreter_needed: Mapped[bool] = mapped_column(default=False)
    race: Mapped[list[str]] = mapped_column(JSON, default=list)
    ethnicity: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    address_line1: Mapped[str | None] = mapped_column(String(150))
    address_line2: Mapped[str | None] = mapped_column(String(150))
    city: Mapped[str | None] = mapped_column(String(80))
    state: Mapped[str | None] = mapped_column(String(40))
    postal_code: Mapped[str | None] = mapped_column(String(16))
    country: Mapped[str] = mapped_column(String(2), default="US")
    preferred_contact_method: Mapped[str | None] = mapped_column(String(16))
    preferred_contact_times: Mapped[str | None] = mapped_column(String(120))
    alerts: Mapped[str | None] = mapped_column(Text)
    # "unknown" until someone asks; "no-known-allergies" is recorded explicitly.
    allergy_status: Mapped[str] = mapped_column(String(24), default="unknown")
    allergy_status_at: Mapped[dt.datetime | None]
    primary_coordinator_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("patients.id"))
    duplicate_override_reason: Mapped[str | None] = mapped_column(Text)

    telecoms: Mapped[list[Telecom]] = relationship(
        back_populates="patient", order_by="Telecom.rank", lazy="selectin"
    )
    identifiers: Mapped[list[Identifier]] = relationship(back_populates="patient", lazy="selectin")


class Telecom(UuidPk, Tracked, Base):
    """A phone number (E.164) or email address of the patient."""

    __tablename__ = "patient_telecoms"
    __versioned__ = True

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"), index=True)
    system: Mapped[str] = mapped_column(String(8))  # phone | email
    use: Mapped[str] = mapped_column(String(8))  # mobile | home | work
    value: Mapped[str] = mapped_column(String(254), index=True)
    rank: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(16), default="active")

    patient: Mapped[Patient] = relationship(back_populates="telecoms")


class Identifier(UuidPk, Tracked, Base):
    """Other MRNs, payer member ids and the like; unique per system."""

    __tablename__ = "patient_identifiers"
    __versioned__ = True
    __table_args__ = (UniqueConstraint("system", "value", name="uq_patient_identifiers_value"),)

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"), index=True)
    type: Mapped[str] = mapped_column(String(8))  # HL7 v2 table 0203: MR, MB, SS, DL, ...
    system: Mapped[str] = mapped_column(String(200))
    value: Mapped[str] = mapped_column(String(80), index=True)
    assigner: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(16), default="active")

    patient: Mapped[Patient] = relationship(back_populates="identifiers")


class RelatedPerson(UuidPk, Tracked, Base):
    """Family, caregivers, emergency contacts and personal representatives."""

    __tablename__ = "related_persons"
    __versioned__ = True

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"), index=True)
    name: Mapped[str] = mapped_column(String(150))
    relationship_code: Mapped[str] = mapped_column(String(16))  # HL7 v3 RoleCode
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str | None] = mapped_column(String(300))
    emergency_contact: Mapped[bool] = mapped_column(default=False)
    caregiver: Mapped[bool] = mapped_column(default=False)
    personal_representative: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="active")


class SharingConsent(UuidPk, Tracked, Base):
    """What the patient authorised to share with a related person, until when."""

    __tablename__ = "sharing_consents"
    __versioned__ = True

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"), index=True)
    related_person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("related_persons.id"))
    categories: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | revoked
    signed_on: Mapped[dt.date] = mapped_column(Date)
    expires_on: Mapped[dt.date | None] = mapped_column(Date)
    document_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("documents.id"))
    note: Mapped[str | None] = mapped_column(Text)


class ContactConsent(UuidPk, Tracked, Base):
    """Permission to contact the patient on one channel; reminders must honour it."""

    __tablename__ = "contact_consents"
    __versioned__ = True
    __table_args__ = (Index("ix_contact_consents_patient_channel", "patient_id", "channel"),)

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    channel: Mapped[str] = mapped_column(String(8))  # sms | email | voice | mail
    decision: Mapped[str] = mapped_column(String(8))  # permit | deny
    effective_from: Mapped[dt.date] = mapped_column(Date)
    effective_until: Mapped[dt.date | None] = mapped_column(Date)
    source: Mapped[str | None] = mapped_column(String(120))


class Document(UuidPk, Tracked, Base):
    """An uploaded file (signed consent form, card image); kept in the database."""

    __tablename__ = "documents"

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)


class _HistoryItem(UuidPk, Tracked):
    """Common columns of every health-history entry."""

    __versioned__ = True

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"), index=True)
    source: Mapped[str] = mapped_column(String(32), default="reported")
    note: Mapped[str | None] = mapped_column(Text)


class Condition(_HistoryItem, Base):
    __tablename__ = "conditions"

    code_system: Mapped[str] = mapped_column(String(100))
    code: Mapped[str] = mapped_column(String(32))
    display: Mapped[str] = mapped_column(String(300))
    clinical_status: Mapped[str] = mapped_column(String(16))  # active, resolved, ...
    verification_status: Mapped[str] = mapped_column(String(24), default="confirmed")
    onset_date: Mapped[dt.date | None] = mapped_column(Date)
    abatement_date: Mapped[dt.date | None] = mapped_column(Date)


class Allergy(_HistoryItem, Base):
    __tablename__ = "allergies"

    substance: Mapped[str] = mapped_column(String(200))
    code_system: Mapped[str | None] = mapped_column(String(100))
    code: Mapped[str | None] = mapped_column(String(32))
    type: Mapped[str] = mapped_column(String(16), default="allergy")  # allergy | intolerance
    category: Mapped[str | None] = mapped_column(String(16))  # food, medication, ...
    criticality: Mapped[str | None] = mapped_column(String(24))  # low, high, unable-to-assess
    severity: Mapped[str | None] = mapped_column(String(16))  # mild, moderate, severe
    reactions: Mapped[list[str]] = mapped_column(JSON, default=list)
    clinical_status: Mapped[str] = mapped_column(String(16), default="active")
    onset_date: Mapped[dt.date | None] = mapped_column(Date)


class Medication(_HistoryItem, Base):
    __tablename__ = "medications"

    name: Mapped[str] = mapped_column(String(200))
    rxnorm: Mapped[str | None] = mapped_column(String(16))
    dose: Mapped[str | None] = mapped_column(String(60))
    route: Mapped[str | None] = mapped_column(String(30))
    frequency: Mapped[str | None] = mapped_column(String(60))
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    stop_date: Mapped[dt.date | None] = mapped_column(Date)
    prescriber: Mapped[str | None] = mapped_column(String(150))
    status: Mapped[str] = mapped_column(String(24), default="active")
    reason: Mapped[str | None] = mapped_column(String(200))


class FamilyHistory(_HistoryItem, Base):
    __tablename__ = "family_history"

    relationship_code: Mapped[str] = mapped_column(String(16))
    condition: Mapped[str] = mapped_column(String(200))
    code_system: Mapped[str | None] = mapped_column(String(100))
    code: Mapped[str | None] = mapped_column(String(32))
    onset_age: Mapped[int | None]
    deceased: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(24), default="completed")


class SocialHistory(_HistoryItem, Base):
    """One current record per patient; its versions are the history."""

    __tablename__ = "social_history"
    __table_args__ = (UniqueConstraint("patient_id", name="uq_social_history_patient_id"),)

    tobacco: Mapped[str | None] = mapped_column(String(24))
    alcohol: Mapped[str | None] = mapped_column(String(24))
    substance_use: Mapped[str | None] = mapped_column(String(200))
    activity_minutes_per_week: Mapped[int | None]
    occupation: Mapped[str | None] = mapped_column(String(120))
    living_situation: Mapped[str | None] = mapped_column(String(32))
    caregiver_at_home: Mapped[bool | None]


class PastEvent(_HistoryItem, Base):
    """A past hospitalization or procedure."""

    __tablename__ = "past_events"

    kind: Mapped[str] = mapped_column(String(16))  # hospitalization | procedure
    description: Mapped[str] = mapped_column(String(300))
    code_system: Mapped[str | None] = mapped_column(String(100))
    code: Mapped[str | None] = mapped_column(String(32))
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    facility: Mapped[str | None] = mapped_column(String(150))
    status: Mapped[str] = mapped_column(String(24), default="completed")


HISTORY_MODELS: dict[str, type[Any]] = {
    "conditions": Condition,
    "allergies": Allergy,
    "medications": Medication,
    "family-history": FamilyHistory,
    "past-events": PastEvent,
}
