"""Appointment through the scheduler (the same availability checks, cancellation reasons
and audit as the booking screens)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebridge.fhir.errors import FhirError
from carebridge.fhir.mappers.scheduling import appointment_values_from_fhir
from carebridge.fhir.writers.common import Warnings, validated
from carebridge.lib.time import as_utc
from carebridge.scheduling import service as scheduling
from carebridge.scheduling.models import Appointment, AppointmentType
from carebridge.scheduling.schemas import BookIn, CancelIn, RescheduleIn, StatusIn
from carebridge.security.audit import Actor
from carebridge.settings import Settings

_STATUS_MOVES = frozenset(("booked", "arrived", "checked-in", "fulfilled", "noshow"))


def _visit_type(db: Session, code: str | None) -> uuid.UUID:
    if code is None:
        raise FhirError(
            422,
            "required",
            "Appointment.serviceType: give the visit type (system urn:carebridge:appointment-type)",
        )
    found = db.scalar(select(AppointmentType.id).where(AppointmentType.code == code))
    if found is None:
        raise FhirError(422, "invalid", f"Appointment.serviceType: no visit type {code!r}")
    return found


def create_appointment(
    db: Session, actor: Actor, resource: Mapping[str, Any], settings: Settings
) -> tuple[uuid.UUID, Warnings]:
    values = appointment_values_from_fhir(resource)
    warnings = []
    if values["status"] not in (None, "booked"):
        warnings.append("Appointment.status: a booking starts booked; change it with an update")
    missing = [k for k in ("patient_id", "practitioner_id", "location_id") if not values[k]]
    if missing or values["starts_at"] is None:
        wanted = ", ".join(k.removesuffix("_id") for k in missing) or "start"
        raise FhirError(422, "required", f"Appointment: give the {wanted} (participants, start)")
    data = validated(
        BookIn,
        {
            "patient_id": values["patient_id"],
            "practitioner_id": values["practitioner_id"],
            "location_id": values["location_id"],
            "appointment_type_id": _visit_type(db, values["type_code"]),
            "starts_at": values["starts_at"],
            "modality": values["modality"],
            "note": values["note"],
        },
        "Appointment",
    )
    return scheduling.book(db, actor, settings, data).id, warnings


def update_appointment(
    db: Session,
    actor: Actor,
    appointment_id: uuid.UUID,
    resource: Mapping[str, Any],
    settings: Settings,
) -> Warnings:
    """A cancellation, a move to another time (or practitioner or location), or a step
    of the visit (arrived, checked in, fulfilled, no-show), as the schedule's screens make
    them; the rest of a booking is changed on its screen."""
    row = db.get(Appointment, appointment_id)
    if row is None:
        raise FhirError(404, "not-found", f"No Appointment with id {appointment_id}")
    values = appointment_values_from_fhir(resource)
    warnings: Warnings = []
    status = values["status"]
    if status == "cancelled" and row.status != "cancelled":
        data = validated(
            CancelIn,
            {
                "version": row.version,
                "reason": values["cancel_reason"],
                "note": values["cancel_note"],
            },
            "Appointment",
        )
        scheduling.cancel(db, actor, settings, appointment_id, data)
        return warnings
    moved = {
        "starts_at": values["starts_at"],
        "practitioner_id": values["practitioner_id"],
        "location_id": values["location_id"],
    }
    if (
        values["starts_at"] is not None and as_utc(values["starts_at"]) != as_utc(row.starts_at)
    ) or any(moved[k] not in (None, getattr(row, k)) for k in ("practitioner_id", "location_id")):
        data = validated(RescheduleIn, {"version": row.version, **moved}, "Appointment")
        scheduling.reschedule(db, actor, settings, appointment_id, data)
        db.refresh(row)
    if status in _STATUS_MOVES and status != row.status:
        scheduling.set_status(
            db,
            actor,
            settings,
            appointment_id,
            validated(StatusIn, {"version": row.version, "status": status}, "Appointment"),
        )
    elif status not in (None, row.status, *_STATUS_MOVES):
        warnings.append(f"Appointment.status {status!r}: not a change made through FHIR")
    if values["patient_id"] not in (None, row.patient_id):
        warnings.append("Appointment: the patient cannot change; cancel and book anew")
    return warnings
