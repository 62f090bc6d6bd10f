"""Condition, AllergyIntolerance and MedicationStatement through the chart's health-history
service: a create is the history screen's new entry, an update its status form (a problem
resolved, a medication stopped, an entry marked entered in error, with a note and an end
date). An AllergyIntolerance stating "no known allergies" is the chart's own statement of
it, and its id is the chart's."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from carebridge.fhir.errors import FhirError
from carebridge.fhir.mappers.history import (
    history_change_from_fhir,
    history_item_from_fhir,
    no_known_allergies_from_fhir,
)
from carebridge.fhir.writers.common import (
    Warnings,
    Writer,
    at_elements,
    not_kept,
    patient_of,
    rendering,
    same_patient,
    validated,
)
from carebridge.patients import service as patients
from carebridge.patients.models import Allergy, Condition, Medication, Patient
from carebridge.patients.schemas import ItemStatusUpdate
from carebridge.security.audit import Actor
from carebridge.settings import Settings

NO_KNOWN = "no-known-allergies"
# Each type: the history kind its service calls it, its record, the element naming the
# patient.
KINDS: dict[str, tuple[str, type[Condition] | type[Allergy] | type[Medication], str]] = {
    "Condition": ("conditions", Condition, "Condition.subject"),
    "AllergyIntolerance": ("allergies", Allergy, "AllergyIntolerance.patient"),
    "MedicationStatement": ("medications", Medication, "MedicationStatement.subject"),
}
# The service's fields -> the elements they come from (for the 422 its refusals give).
FIELD_PATHS = {
    "Condition": {"code": "Condition.code", "display": "Condition.code"},
    "AllergyIntolerance": {"substance": "AllergyIntolerance.code"},
    "MedicationStatement": {
        "name": "MedicationStatement.medicationCodeableConcept",
        "stop_date": "MedicationStatement.effectivePeriod.end",
    },
}
WHY = (
    "not changed (an update changes the status, the note and the end date, as the entry's "
    "status form does; to correct anything else, mark the entry entered in error and "
    "record it again)"
)
# Set by the server when the entry is recorded.
SERVER_SET = frozenset({"recordedDate", "dateAsserted"})


def _writer(kind: str) -> Writer:
    history_kind, model, element = KINDS[kind]
    end_column = patients.END_COLUMNS.get(history_kind)

    def create(
        db: Session, actor: Actor, resource: Mapping[str, Any], _settings: Settings
    ) -> tuple[uuid.UUID, Warnings]:
        patient_id = patient_of(db, resource, element)
        if kind == "AllergyIntolerance" and (statement := no_known_allergies_from_fhir(resource)):
            return _state_no_known(db, actor, patient_id, *statement)
        data, warnings = history_item_from_fhir(resource)
        with at_elements(kind, FIELD_PATHS[kind]):
            made = patients.add_item(db, actor, patient_id, history_kind, data)
        return uuid.UUID(str(made["id"])), warnings

    def update(
        db: Session,
        actor: Actor,
        item_id: uuid.UUID,
        resource: Mapping[str, Any],
        _settings: Settings,
    ) -> Warnings:
        item = _entry(db, model, item_id)
        if item is None and kind == "AllergyIntolerance" and db.get(Patient, item_id) is not None:
            return _update_no_known(db, actor, item_id, resource)
        if item is None:
            raise FhirError(404, "not-found", f"No {kind} with id {item_id}")
        same_patient(
            db, resource, element, item.patient_id, "record the entry on the other patient's chart"
        )
        change = history_change_from_fhir(resource)
        if change.status is None:
            where = change.paths["status"]
            raise FhirError(422, "required", f"{where}: is required", expression=[where])
        status = item.status if isinstance(item, Medication) else item.clinical_status
        end = getattr(item, end_column) if end_column else None
        note = change.note if change.note not in (None, item.note) else None
        end_date = change.end_date if change.end_date not in (None, end) else None
        if change.status != status or note is not None or end_date is not None:
            data = validated(
                ItemStatusUpdate,
                {
                    "version": item.version,
                    "status": change.status,
                    "note": note,
                    "end_date": end_date,
                },
                kind,
            )
            with at_elements(kind, change.paths):
                patients.set_item_status(db, actor, item.patient_id, history_kind, item.id, data)
        return not_kept(resource, rendering(db, kind, item.id), WHY, SERVER_SET)

    return Writer(create, update)


def _entry(
    db: Session, model: type[Condition] | type[Allergy] | type[Medication], item_id: uuid.UUID
) -> Condition | Allergy | Medication | None:
    found = db.get(model, item_id)
    return found if isinstance(found, Condition | Allergy | Medication) else None


def _state_no_known(
    db: Session, actor: Actor, patient_id: uuid.UUID, status: str, warnings: Warnings
) -> tuple[uuid.UUID, Warnings]:
    """The chart's "no known allergies", stated as its screen states it (refused while an
    allergy is active); its resource's id is the chart's."""
    if status != "active":
        raise FhirError(
            422,
            "value",
            "AllergyIntolerance.clinicalStatus: a statement of no known allergies is made "
            "active; recording an allergy ends it",
            expression=["AllergyIntolerance.clinicalStatus"],
        )
    with at_elements("AllergyIntolerance", {}):
        patients.set_no_known_allergies(db, actor, patient_id)
    return patient_id, warnings


def _update_no_known(
    db: Session, actor: Actor, patient_id: uuid.UUID, resource: Mapping[str, Any]
) -> Warnings:
    """The chart's "no known allergies": stated again when sent active; it ends only when
    an allergy is recorded, as on the chart's screen."""
    if patient_of(db, resource, "AllergyIntolerance.patient") != patient_id:
        raise FhirError(
            422,
            "invariant",
            "AllergyIntolerance.patient: a chart's no known allergies is its own",
            expression=["AllergyIntolerance.patient"],
        )
    statement = no_known_allergies_from_fhir(resource)
    if statement is None:
        raise FhirError(
            422,
            "invariant",
            "AllergyIntolerance.code: this resource is the chart's no known allergies; "
            "record an allergy with a create",
            expression=["AllergyIntolerance.code"],
        )
    status, warnings = statement
    chart = db.get(Patient, patient_id)
    assert chart is not None  # the caller found it
    if status == "active" and chart.allergy_status != NO_KNOWN:
        _state_no_known(db, actor, patient_id, status, warnings)
    elif status != "active" and chart.allergy_status == NO_KNOWN:
        warnings.append(
            "AllergyIntolerance.clinicalStatus: not changed (no known allergies ends when an "
            "allergy is recorded)"
        )
    return warnings


WRITERS = {kind: _writer(kind) for kind in KINDS}
