"""Scheduling records: practitioners, locations, rooms, appointment types, availability,
time off, holidays, appointments, series and the waitlist.

No double booking is enforced by the database: on PostgreSQL by exclusion constraints over
time ranges (created in the migration, since they are PostgreSQL-only), on SQLite by writing
requests holding the single write lock from BEGIN (see ``db.session``)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from carebridge.db.base import Base, Tracked, UuidPk

# Appointment statuses that hold their time (FHIR AppointmentStatus).
HOLDING = ("proposed", "pending", "booked", "arrived", "checked-in", "fulfilled")


class Practitioner(UuidPk, Tracked, Base):
    __tablename__ = "practitioners"
    __versioned__ = True

    name: Mapped[str] = mapped_column(String(150))
    npi: Mapped[str | None] = mapped_column(String(10), unique=True)
    specialties: Mapped[list[str]] = mapped_column(JSON, default=list)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    phone: Mapped[str | None] = mapped_column(String(20))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    calendar_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(default=True)


class Location(UuidPk, Tracked, Base):
    __tablename__ = "locations"
    __versioned__ = True

    name: Mapped[str] = mapped_column(String(150))
    timezone: Mapped[str] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(default=True)


class Room(UuidPk, Tracked, Base):
    __tablename__ = "rooms"
    __versioned__ = True

    location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("locations.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(32))  # exam, therapy-gym, lab, procedure
    active: Mapped[bool] = mapped_column(default=True)


class AppointmentType(UuidPk, Tracked, Base):
    __tablename__ = "appointment_types"
    __versioned__ = True

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    duration_minutes: Mapped[int]
    buffer_minutes: Mapped[int] = mapped_column(default=0)
    modality: Mapped[str] = mapped_column(String(12))  # in-person | video | phone
    visit_kind: Mapped[str] = mapped_column(String(12), default="follow-up")  # new | follow-up
    specialties: Mapped[list[str]] = mapped_column(JSON, default=list)
    room_kind: Mapped[str | None] = mapped_column(String(32))
    # The CPT/HCPCS code a visit of this type is billed with (claims, authorization units),
    # and whether payers want a prior authorization before it (the booking warning).
    service_code: Mapped[str | None] = mapped_column(String(5))
    prior_auth_required: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)


class Offering(Base):
    """An appointment type a practitioner offers."""

    __tablename__ = "practitioner_offerings"

    practitioner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("practitioners.id"), primary_key=True
    )
    appointment_type_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("appointment_types.id"), primary_key=True
    )


class AvailabilityRule(UuidPk, Tracked, Base):
    """Recurring working hours at a location, as an RFC 5545 RRULE over local times."""

    __tablename__ = "availability_rules"
    __versioned__ = True

    practitioner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("practitioners.id"), index=True)
    location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("locations.id"))
    rrule: Mapped[str] = mapped_column(String(200))
    start_time: Mapped[dt.time] = mapped_column(Time)
    end_time: Mapped[dt.time] = mapped_column(Time)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    exdates: Mapped[list[str]] = mapped_column(JSON, default=list)
    modalities: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: all
    active: Mapped[bool] = mapped_column(default=True)


class TimeOff(UuidPk, Tracked, Base):
    """Time a practitioner is not bookable: leave, meetings, admin blocks."""

    __tablename__ = "time_off"
    __versioned__ = True
    __table_args__ = (Index("ix_time_off_practitioner_time", "practitioner_id", "starts_at"),)

    practitioner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("practitioners.id"))
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    kind: Mapped[str] = mapped_column(String(12), default="time-off")  # time-off | block
    reason: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), default="active")


class Holiday(UuidPk, Tracked, Base):
    """A day the clinic (or one location) is closed."""

    __tablename__ = "clinic_holidays"
    __table_args__ = (UniqueConstraint("day", "location_id", name="uq_clinic_holidays_day"),)

    day: Mapped[dt.date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(120))
    location_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("locations.id"))


class AppointmentSeries(UuidPk, Tracked, Base):
    """A recurring set of visits booked together (physical therapy twice a week...)."""

    __tablename__ = "appointment_series"
    __versioned__ = True

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"), index=True)
    appointment_type_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("appointment_types.id"))
    practitioner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("practitioners.id"))
    rrule: Mapped[str] = mapped_column(String(200))
    first_start: Mapped[dt.datetime]
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="active")


class Appointment(UuidPk, Tracked, Base):
    __tablename__ = "appointments"
    __versioned__ = True
    __table_args__ = (
        Index("ix_appointments_practitioner_time", "practitioner_id", "starts_at"),
        Index("ix_appointments_patient_time", "patient_id", "starts_at"),
        Index("ix_appointments_location_time", "location_id", "starts_at"),
        Index("ix_appointments_room_time", "room_id", "starts_at"),
    )

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    practitioner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("practitioners.id"))
    location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("locations.id"))
    room_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("rooms.id"))
    appointment_type_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("appointment_types.id"))
    series_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("appointment_series.id"))
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    # The end of the time held, buffer included: the range that must not overlap.
    held_until: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(12), default="booked")
    modality: Mapped[str] = mapped_column(String(12))
    cancel_reason: Mapped[str | None] = mapped_column(String(32))
    cancel_note: Mapped[str | None] = mapped_column(Text)
    telehealth_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    phone_number: Mapped[str | None] = mapped_column(String(20))
    patient_token: Mapped[str] = mapped_column(String(64), unique=True)  # confirm/cancel link
    confirmed_at: Mapped[dt.datetime | None]
    checked_in_at: Mapped[dt.datetime | None]
    arrived_at: Mapped[dt.datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
    rescheduled_from_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("appointments.id"))


class Reminder(UuidPk, Base):
    """One planned reminder of an appointment; its message goes through the outbox."""

    __tablename__ = "appointment_reminders"
    __table_args__ = (
        UniqueConstraint(
            "appointment_id", "offset_minutes", "channel", name="uq_appointment_reminders_once"
        ),
    )

    appointment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("appointments.id"), index=True)
    offset_minutes: Mapped[int]
    channel: Mapped[str] = mapped_column(String(8))
    due_at: Mapped[dt.datetime]
    outbox_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("outbox.id"))
    status: Mapped[str] = mapped_column(String(12), default="planned")  # planned queued skipped
    skip_reason: Mapped[str | None] = mapped_column(String(200))


class WaitlistEntry(UuidPk, Tracked, Base):
    __tablename__ = "waitlist"
    __versioned__ = True
    __table_args__ = (Index("ix_waitlist_open", "status", "appointment_type_id", "priority"),)

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"), index=True)
    appointment_type_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("appointment_types.id"))
    practitioner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("practitioners.id"))
    location_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("locations.id"))
    earliest: Mapped[dt.date] = mapped_column(Date)
    latest: Mapped[dt.date | None] = mapped_column(Date)
    weekdays: Mapped[list[int]] = mapped_column(JSON, default=list)  # ISO 1-7; empty: any
    day_part: Mapped[str | None] = mapped_column(String(12))  # morning | afternoon
    priority: Mapped[int] = mapped_column(default=3)  # 1 highest
    status: Mapped[str] = mapped_column(String(12), default="waiting")
    note: Mapped[str | None] = mapped_column(Text)
    offered_appointment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("appointments.id"))
