"""FHIR create and update of the types Carebridge keeps as its own records: each one is read
by its mapper into the same input the screens and the JSON API send, and applied by the same
service function, so it is validated and audited the same way. The FHIR rendering follows
from the change (``projection``); the id of a created resource is the new record's id.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from carebridge.fhir.errors import FhirError
from carebridge.fhir.indexing import reference_target
from carebridge.fhir.mappers.patients import (
    patient_from_fhir,
    patient_update_from_fhir,
    related_person_from_fhir,
    related_person_patient_reference,
    related_person_update_from_fhir,
)
from carebridge.fhir.mappers.scheduling import appointment_values_from_fhir
from carebridge.fhir.mappers.tasks import task_values_from_fhir
from carebridge.lib.time import as_utc
from carebridge.patients import service as patients
from carebridge.patients.models import Identifier, Patient, RelatedPerson
from carebridge.scheduling import service as scheduling
from carebridge.scheduling.models import Appointment, AppointmentType
from carebridge.scheduling.schemas import BookIn, CancelIn, RescheduleIn, StatusIn
from carebridge.security.audit import Actor
from carebridge.settings import Settings
from carebridge.tasks import service as tasks
from carebridge.tasks.models import Task
from carebridge.tasks.schemas import TaskCreate, TaskUpdate

Warnings = list[str]


@dataclass(frozen=True)
class Writer:
    """``create`` returns the new record's id and what of the resource could not be kept;
    ``update`` applies a whole resource to the record with that id. Both are given the
    settings (a booking checks the clinic's rules; a task's default due time is a clinic
    day)."""

    create: Callable[[Session, Actor, Mapping[str, Any], Settings], tuple[uuid.UUID, Warnings]]
    update: Callable[[Session, Actor, uuid.UUID, Mapping[str, Any], Settings], Warnings]


def record_id(resource_type: str, resource_id: str) -> uuid.UUID:
    """The record a mapped resource's id names (our ids are the records' UUIDs)."""
    try:
        return uuid.UUID(resource_id)
    except ValueError as exc:
        raise FhirError(404, "not-found", f"No {resource_type} with id {resource_id}") from exc


def _create_patient(
    db: Session, actor: Actor, resource: Mapping[str, Any], _settings: Settings
) -> tuple[uuid.UUID, Warnings]:
    data, warnings = patient_from_fhir(resource)
    return patients.register(db, actor, data).id, warnings


def _update_patient(
    db: Session,
    actor: Actor,
    patient_id: uuid.UUID,
    resource: Mapping[str, Any],
    _settings: Settings,
) -> Warnings:
    chart = db.get(Patient, patient_id)
    if chart is None:
        raise FhirError(404, "not-found", f"No Patient with id {patient_id}")
    update, identifiers, warnings = patient_update_from_fhir(resource, version=chart.version)
    patients.update_patient(db, actor, patient_id, update)
    held = set(
        db.execute(
            select(Identifier.system, Identifier.value).where(Identifier.patient_id == patient_id)
        ).all()
    )
    for ident in identifiers:
        if (ident.system, ident.value) not in held:
            patients.add_identifier(db, actor, patient_id, ident)
    return warnings


def _patient_of(db: Session, resource: Mapping[str, Any]) -> uuid.UUID:
    reference = related_person_patient_reference(resource)
    target = reference_target(reference)
    if target is None or target[0] != "Patient":
        raise FhirError(
            422,
            "invalid",
            f"RelatedPerson.patient: '{reference}' is not a Patient reference of this server",
            expression=["RelatedPerson.patient"],
        )
    try:
        patient_id = uuid.UUID(target[1])
    except ValueError:
        patient_id = None
    if patient_id is None or db.get(Patient, patient_id) is None:
        raise FhirError(
            422,
            "not-found",
            f"RelatedPerson.patient: there is no {reference}",
            expression=["RelatedPerson.patient"],
        )
    return patient_id


def _create_related(
    db: Session, actor: Actor, resource: Mapping[str, Any], _settings: Settings
) -> tuple[uuid.UUID, Warnings]:
    patient_id = _patient_of(db, resource)
    data, warnings = related_person_from_fhir(resource)
    return patients.add_related_person(db, actor, patient_id, data).id, warnings


def _update_related(
    db: Session,
    actor: Actor,
    person_id: uuid.UUID,
    resource: Mapping[str, Any],
    _settings: Settings,
) -> Warnings:
    person = db.get(RelatedPerson, person_id)
    if person is None:
        raise FhirError(404, "not-found", f"No RelatedPerson with id {person_id}")
    if _patient_of(db, resource) != person.patient_id:
        raise FhirError(
            422,
            "invariant",
            "RelatedPerson.patient cannot change: add a related person to the other patient",
            expression=["RelatedPerson.patient"],
        )
    update, warnings = related_person_update_from_fhir(resource, version=person.version)
    patients.update_related_person(db, actor, person.patient_id, person_id, update)
    return warnings


# --- Task -----------------------------------------------------------------------------------

_TASK_CHANGES = (
    "status",
    "reason",
    "business_status",
    "priority",
    "due_at",
    "title",
    "description",
    "queue",
)
_TASK_FIXED = ("patient_id", "focus_type", "focus_id", "kind")


def _validated(model: type[Any], values: Mapping[str, Any]) -> Any:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "Task"
        raise FhirError(422, "invalid", f"Task ({where}): {error['msg']}") from exc


def _create_task(
    db: Session, actor: Actor, resource: Mapping[str, Any], settings: Settings
) -> tuple[uuid.UUID, Warnings]:
    values, warnings = task_values_from_fhir(resource)
    for key in ("status", "reason"):
        if values.pop(key, None) not in (None, "requested", "ready"):
            warnings.append(f"Task.{key}: a new task starts open; change it with an update")
    data = _validated(TaskCreate, values)
    return tasks.create_by_hand(db, actor, data, zone=settings.timezone).id, warnings


def _update_task(
    db: Session, actor: Actor, task_id: uuid.UUID, resource: Mapping[str, Any], _settings: Settings
) -> Warnings:
    task = db.get(Task, task_id)
    if task is None:
        raise FhirError(404, "not-found", f"No Task with id {task_id}")
    values, warnings = task_values_from_fhir(resource)
    for key in _TASK_FIXED:
        if key in values and values[key] != getattr(task, key):
            warnings.append(f"Task: {key.replace('_', ' ')} cannot change; make a new task")
    current = {key: getattr(task, key, None) for key in _TASK_CHANGES}
    if current["due_at"] is not None:
        current["due_at"] = as_utc(current["due_at"])
    change = {
        key: values[key]
        for key in _TASK_CHANGES
        if key in values
        and (as_utc(values[key]) if key == "due_at" else values[key]) != current.get(key)
    }
    if change:
        tasks.update(
            db, actor, task_id, _validated(TaskUpdate, {**change, "version": task.version})
        )
    return warnings


# --- Appointment ----------------------------------------------------------------------------

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


def _create_appointment(
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
    data = _validated(
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
    )
    return scheduling.book(db, actor, settings, data).id, warnings


def _update_appointment(
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
        data = _validated(
            CancelIn,
            {
                "version": row.version,
                "reason": values["cancel_reason"],
                "note": values["cancel_note"],
            },
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
        data = _validated(RescheduleIn, {"version": row.version, **moved})
        scheduling.reschedule(db, actor, settings, appointment_id, data)
        db.refresh(row)
    if status in _STATUS_MOVES and status != row.status:
        scheduling.set_status(
            db,
            actor,
            settings,
            appointment_id,
            _validated(StatusIn, {"version": row.version, "status": status}),
        )
    elif status not in (None, row.status, *_STATUS_MOVES):
        warnings.append(f"Appointment.status {status!r}: not a change made through FHIR")
    if values["patient_id"] not in (None, row.patient_id):
        warnings.append("Appointment: the patient cannot change; cancel and book anew")
    return warnings


WRITERS: dict[str, Writer] = {
    "Patient": Writer(_create_patient, _update_patient),
    "RelatedPerson": Writer(_create_related, _update_related),
    "Task": Writer(_create_task, _update_task),
    "Appointment": Writer(_create_appointment, _update_appointment),
}
