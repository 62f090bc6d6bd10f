"""Records of the ADT feed and of hospital stays.

``Hl7Message`` keeps every message exactly as received, before anything else is done with it,
so nothing acknowledged can be lost and a rejected one can be corrected and replayed.
``Encounter`` is a hospital stay or visit as the hospital reports it (FHIR Encounter).
``Transition`` is our follow-up of one discharge: contact within two business days, medication
reconciliation, the follow-up visit, services at home, and the readmission risk that sets how
urgent it is.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from carebridge.db.base import Base, Tracked, UuidPk


class Hl7Message(UuidPk, Base):
    """One inbound message, raw. ``status``: ``received`` (stored, not yet processed),
    ``applied``, ``duplicate`` (its control id was applied before: acknowledged, not applied
    again), ``rejected`` (answered AE/AR: the dead-letter list), ``resolved`` (a rejected one
    someone corrected and replayed or dismissed). ``error`` says what is wrong and
    ``error_location`` where (e.g. ``PID-3``)."""

    __tablename__ = "hl7_messages"
    __table_args__ = (
        Index("ix_hl7_messages_status", "status", "received_at"),
        Index("ix_hl7_messages_control", "sending_facility", "control_id"),
        Index("ix_hl7_messages_patient", "patient_id", "received_at"),
        Index("ix_hl7_messages_encounter", "encounter_id", "received_at"),
    )

    received_at: Mapped[dt.datetime]
    source: Mapped[str] = mapped_column(String(8))  # mllp | file | http | replay
    peer: Mapped[str | None] = mapped_column(String(200))  # address or file name
    raw: Mapped[str] = mapped_column(Text)
    control_id: Mapped[str | None] = mapped_column(String(199))  # MSH-10
    sending_application: Mapped[str | None] = mapped_column(String(227))  # MSH-3
    sending_facility: Mapped[str | None] = mapped_column(String(227))  # MSH-4
    message_type: Mapped[str | None] = mapped_column(String(20))  # MSH-9, e.g. ADT^A03
    event: Mapped[str | None] = mapped_column(String(3))  # A03
    version: Mapped[str | None] = mapped_column(String(12))  # MSH-12
    status: Mapped[str] = mapped_column(String(10), default="received")
    ack_code: Mapped[str | None] = mapped_column(String(2))  # AA | AE | AR
    error: Mapped[str | None] = mapped_column(Text)
    error_location: Mapped[str | None] = mapped_column(String(40))
    processed_at: Mapped[dt.datetime | None]
    patient_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("patients.id"))
    encounter_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("encounters.id"))
    replay_of_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("hl7_messages.id"))
    resolved_at: Mapped[dt.datetime | None]
    resolved_by: Mapped[uuid.UUID | None]
    resolution: Mapped[str | None] = mapped_column(Text)


class AppliedControlId(Base):
    """Control ids already applied, per sender: the second copy of a message is recognised
    by the primary key, inside the transaction that would apply it. The row is written before
    its message's row (which is written with its outcome, batched), so the foreign key is
    checked at commit."""

    __tablename__ = "hl7_applied_control_ids"
    # SQLite looks up the claims of each message row written while the deferred key is
    # pending: without this index, a scan of every claim per message.
    __table_args__ = (Index("ix_hl7_applied_control_ids_message", "message_id"),)

    sender: Mapped[str] = mapped_column(String(460), primary_key=True)  # MSH-3|MSH-4
    control_id: Mapped[str] = mapped_column(String(199), primary_key=True)
    message_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("hl7_messages.id", deferrable=True, initially="DEFERRED")
    )


class Encounter(UuidPk, Tracked, Base):
    """A hospital stay or visit. ``class_code`` is the FHIR v3 ActCode (IMP inpatient, EMER
    emergency, AMB ambulatory, OBSENC observation, PRENC pre-admission); ``status`` the FHIR
    EncounterStatus (planned, in-progress, finished, cancelled, entered-in-error).
    ``visit_number`` (PV1-19) with ``facility`` identifies it in the feed; an event for a
    visit not seen yet (a discharge before its admit) creates it."""

    __tablename__ = "encounters"
    __versioned__ = True
    __table_args__ = (
        Index("ix_encounters_patient", "patient_id", "admit_at"),
        Index("ix_encounters_visit", "facility", "visit_number"),
        Index("ix_encounters_status", "status", "class_code"),
    )

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    facility: Mapped[str | None] = mapped_column(String(227))
    visit_number: Mapped[str | None] = mapped_column(String(80))
    class_code: Mapped[str] = mapped_column(String(8), default="IMP")
    status: Mapped[str] = mapped_column(String(16), default="in-progress")
    admit_at: Mapped[dt.datetime | None]
    discharge_at: Mapped[dt.datetime | None]
    location: Mapped[str | None] = mapped_column(String(250))  # unit^room^bed as shown
    prior_location: Mapped[str | None] = mapped_column(String(250))
    admission_type: Mapped[str | None] = mapped_column(String(4))  # PV1-4: E, U, R, EL...
    admit_source: Mapped[str | None] = mapped_column(String(8))  # PV1-14
    hospital_service: Mapped[str | None] = mapped_column(String(40))  # PV1-10
    discharge_disposition: Mapped[str | None] = mapped_column(String(8))  # PV1-36
    attending: Mapped[str | None] = mapped_column(String(200))
    diagnoses: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # DG1
    last_event: Mapped[str | None] = mapped_column(String(3))
    readmission_of_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("encounters.id"))


class Transition(UuidPk, Tracked, Base):
    """Our follow-up of one discharge. ``complexity`` (``high`` or ``moderate``) sets the
    follow-up visit window (7 or 14 days); ``risk`` holds the LACE index and, where its inputs
    were present, the HOSPITAL score, each with its components. ``checklist`` holds the
    post-discharge services (home health, equipment, transport, pharmacy) with their state."""

    __tablename__ = "transitions"
    __versioned__ = True
    __table_args__ = (Index("ix_transitions_status", "status", "contact_due_on"),)

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"), index=True)
    encounter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("encounters.id"), unique=True)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | done | cancelled
    discharged_on: Mapped[dt.date] = mapped_column(Date)
    contact_due_on: Mapped[dt.date] = mapped_column(Date)
    contacted_at: Mapped[dt.datetime | None]
    contact_note: Mapped[str | None] = mapped_column(Text)
    complexity: Mapped[str] = mapped_column(String(10), default="moderate")
    follow_up_due_on: Mapped[dt.date] = mapped_column(Date)
    follow_up_appointment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("appointments.id")
    )
    medications_reconciled_at: Mapped[dt.datetime | None]
    checklist: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    discharge_summary_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("documents.id"))
    lace_score: Mapped[int | None] = mapped_column(SmallInteger)
    risk: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    readmission: Mapped[bool] = mapped_column(default=False)
