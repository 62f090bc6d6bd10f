"""Patient and RelatedPerson through the chart's own services (registration, the edit
form, related persons)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebridge.fhir.errors import FhirError
from carebridge.fhir.mappers.patients import (
    patient_from_fhir,
    patient_update_from_fhir,
    related_person_from_fhir,
    related_person_update_from_fhir,
)
from carebridge.fhir.writers.common import (
    Warnings,
    patient_of,
    same_patient,
)
from carebridge.patients import service as patients
from carebridge.patients.models import Identifier, Patient, RelatedPerson
from carebridge.security.audit import Actor
from carebridge.settings import Settings


def create_patient(
    db: Session, actor: Actor, resource: Mapping[str, Any], _settings: Settings
) -> tuple[uuid.UUID, Warnings]:
    data, warnings = patient_from_fhir(resource)
    return patients.register(db, actor, data).id, warnings


def update_patient(
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


def create_related(
    db: Session, actor: Actor, resource: Mapping[str, Any], _settings: Settings
) -> tuple[uuid.UUID, Warnings]:
    patient_id = patient_of(db, resource, "RelatedPerson.patient")
    data, warnings = related_person_from_fhir(resource)
    return patients.add_related_person(db, actor, patient_id, data).id, warnings


def update_related(
    db: Session,
    actor: Actor,
    person_id: uuid.UUID,
    resource: Mapping[str, Any],
    _settings: Settings,
) -> Warnings:
    person = db.get(RelatedPerson, person_id)
    if person is None:
        raise FhirError(404, "not-found", f"No RelatedPerson with id {person_id}")
    same_patient(
        db,
        resource,
        "RelatedPerson.patient",
        person.patient_id,
        "add a related person to the other patient",
    )
    update, warnings = related_person_update_from_fhir(resource, version=person.version)
    patients.update_related_person(db, actor, person.patient_id, person_id, update)
    return warnings
