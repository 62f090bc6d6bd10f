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
from carebridge.fhir.mappers.tasks import task_values_from_fhir
from carebridge.lib.time import as_utc
from carebridge.patients import service as patients
from carebridge.patients.models import Identifier, Patient, RelatedPerson
from carebridge.security.audit import Actor
from carebridge.tasks import service as tasks
from carebridge.tasks.models import Task
from carebridge.tasks.schemas import TaskCreate, TaskUpdate

Warnings = list[str]


@dataclass(frozen=True)
class Writer:
    """``create`` returns the new record's id and what of the resource could not be kept;
    ``update`` applies a whole resource to the record with that id. Both are given the
    clinic's time zone (a task's default due time is a clinic day)."""

    create: Callable[[Session, Actor, Mapping[str, Any], str], tuple[uuid.UUID, Warnings]]
    update: Callable[[Session, Actor, uuid.UUID, Mapping[str, Any], str], Warnings]


def record_id(resource_type: str, resource_id: str) -> uuid.UUID:
    """The record a mapped resource's id names (our ids are the records' UUIDs)."""
    try:
        return uuid.UUID(resource_id)
    except ValueError as exc:
        raise FhirError(404, "not-found", f"No {resource_type} with id {resource_id}") from exc


def _create_patient(
    db: Session, actor: Actor, resource: Mapping[str, Any], _zone: str
) -> tuple[uuid.UUID, Warnings]:
    data, warnings = patient_from_fhir(resource)
    return patients.register(db, actor, data).id, warnings


def _update_patient(
    db: Session, actor: Actor, patient_id: uuid.UUID, resource: Mapping[str, Any], _zone: str
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
    db: Session, actor: Actor, resource: Mapping[str, Any], _zone: str
) -> tuple[uuid.UUID, Warnings]:
    patient_id = _patient_of(db, resource)
    data, warnings = related_person_from_fhir(resource)
    return patients.add_related_person(db, actor, patient_id, data).id, warnings


def _update_related(
    db: Session, actor: Actor, person_id: uuid.UUID, resource: Mapping[str, Any], _zone: str
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
    db: Session, actor: Actor, resource: Mapping[str, Any], zone: str
) -> tuple[uuid.UUID, Warnings]:
    values, warnings = task_values_from_fhir(resource)
    for key in ("status", "reason"):
        if values.pop(key, None) not in (None, "requested", "ready"):
            warnings.append(f"Task.{key}: a new task starts open; change it with an update")
    data = _validated(TaskCreate, values)
    return tasks.create_by_hand(db, actor, data, zone=zone).id, warnings


def _update_task(
    db: Session, actor: Actor, task_id: uuid.UUID, resource: Mapping[str, Any], _zone: str
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


WRITERS: dict[str, Writer] = {
    "Patient": Writer(_create_patient, _update_patient),
    "RelatedPerson": Writer(_create_related, _update_related),
    "Task": Writer(_create_task, _update_task),
}
