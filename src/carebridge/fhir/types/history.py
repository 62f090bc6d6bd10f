"""The chart's health history (Condition, AllergyIntolerance, MedicationStatement,
FamilyMemberHistory), its consents (Consent, from sharing and from contact consents) and its
documents (DocumentReference)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import inspect, select, union_all
from sqlalchemy.orm import Session

from carebridge.fhir.indexing import SearchParam, extract
from carebridge.fhir.mappers.history import (
    CONSENT_FORM,
    DISCHARGE_SUMMARY,
    allergy_to_fhir,
    condition_to_fhir,
    contact_consent_to_fhir,
    document_to_fhir,
    family_history_to_fhir,
    medication_to_fhir,
    no_known_allergies_to_fhir,
    sharing_consent_to_fhir,
)
from carebridge.fhir.mapping import US_CORE, Projection, Rendered, ResourceDef, params
from carebridge.fhir.store import Index
from carebridge.patients.models import (
    Allergy,
    Condition,
    ContactConsent,
    Document,
    FamilyHistory,
    Medication,
    Patient,
    SharingConsent,
)
from carebridge.security.roles import Permission
from carebridge.transitions.models import Transition

NO_KNOWN = "no-known-allergies"


def _patient_params(path: str) -> tuple[SearchParam, ...]:
    """``patient`` (and ``subject`` where the element is ``subject``) on the chart."""
    found = [SearchParam("patient", "reference", (path,), ("Patient",))]
    if path == "subject":
        found.append(SearchParam("subject", "reference", (path,), ("Patient",)))
    return tuple(found)


CONDITION = ResourceDef(
    "Condition",
    Permission.HISTORY_READ,
    write=Permission.HISTORY_WRITE,
    profile=US_CORE + "us-core-condition-problems-health-concerns",
    params=params(
        *_patient_params("subject"),
        SearchParam("clinical-status", "token", ("clinicalStatus",)),
        SearchParam("verification-status", "token", ("verificationStatus",)),
        SearchParam("category", "token", ("category",)),
        SearchParam("code", "token", ("code",)),
        SearchParam("onset-date", "date", ("onset[x]",)),
    ),
    summary=(
        "clinicalStatus",
        "verificationStatus",
        "category",
        "code",
        "subject",
        "onsetDateTime",
        "abatementDateTime",
        "recordedDate",
    ),
)

ALLERGY = ResourceDef(
    "AllergyIntolerance",
    Permission.HISTORY_READ,
    write=Permission.HISTORY_WRITE,
    profile=US_CORE + "us-core-allergyintolerance",
    params=params(
        *_patient_params("patient"),
        SearchParam("clinical-status", "token", ("clinicalStatus",)),
        SearchParam("verification-status", "token", ("verificationStatus",)),
        SearchParam("type", "token", ("type",)),
        SearchParam("category", "token", ("category",)),
        SearchParam("criticality", "token", ("criticality",)),
        SearchParam("code", "token", ("code",)),
        SearchParam("date", "date", ("recordedDate",)),
    ),
    summary=(
        "clinicalStatus",
        "verificationStatus",
        "type",
        "category",
        "criticality",
        "code",
        "patient",
        "onsetDateTime",
        "recordedDate",
    ),
)

MEDICATION_STATEMENT = ResourceDef(
    "MedicationStatement",
    Permission.HISTORY_READ,
    write=Permission.HISTORY_WRITE,
    params=params(
        *_patient_params("subject"),
        SearchParam("status", "token", ("status",)),
        SearchParam("code", "token", ("medicationCodeableConcept",)),
        SearchParam("category", "token", ("category",)),
        SearchParam("effective", "date", ("effective[x]",)),
    ),
    summary=(
        "status",
        "category",
        "medicationCodeableConcept",
        "subject",
        "effectivePeriod",
        "dateAsserted",
    ),
)

FAMILY_HISTORY = ResourceDef(
    "FamilyMemberHistory",
    Permission.HISTORY_READ,
    params=params(
        *_patient_params("patient"),
        SearchParam("status", "token", ("status",)),
        SearchParam("relationship", "token", ("relationship",)),
        SearchParam("code", "token", ("condition.code",)),
        SearchParam("date", "date", ("date",)),
    ),
    summary=("status", "patient", "date", "relationship"),
)

CONSENT = ResourceDef(
    "Consent",
    Permission.PATIENT_READ,
    params=params(
        *_patient_params("patient"),
        SearchParam("status", "token", ("status",)),
        SearchParam("scope", "token", ("scope",)),
        SearchParam("category", "token", ("category",)),
        SearchParam("action", "token", ("provision.action",)),
        SearchParam("security-label", "token", ("provision.securityLabel",)),
        SearchParam(
            "actor", "reference", ("provision.actor.reference",), ("RelatedPerson", "Patient")
        ),
        SearchParam("source-reference", "reference", ("sourceReference",), ("DocumentReference",)),
        SearchParam("date", "date", ("dateTime",)),
    ),
    summary=(
        "status",
        "scope",
        "category",
        "patient",
        "dateTime",
        "performer",
        "sourceReference",
        "policyRule",
    ),
)

DOCUMENT = ResourceDef(
    "DocumentReference",
    Permission.PATIENT_READ,
    profile=US_CORE + "us-core-documentreference",
    params=params(
        *_patient_params("subject"),
        SearchParam("status", "token", ("status",)),
        SearchParam("type", "token", ("type",)),
        SearchParam("category", "token", ("category",)),
        SearchParam("contenttype", "token", ("content.attachment.contentType",)),
        SearchParam("format", "token", ("content.format",)),
        SearchParam("encounter", "reference", ("context.encounter",), ("Encounter",)),
        SearchParam("date", "date", ("date",)),
    ),
    summary=(
        "status",
        "type",
        "category",
        "subject",
        "date",
        "description",
        "content",
        "context",
    ),
)


# --- health history -------------------------------------------------------------------------


def _conditions(db: Session, ids: list[uuid.UUID]) -> Rendered:
    for item in db.scalars(select(Condition).where(Condition.id.in_(ids))):
        resource = condition_to_fhir(item)
        base = Index(patient_id=item.patient_id, status=item.clinical_status)
        yield resource, extract(resource, CONDITION.params, base)


def _allergies(db: Session, ids: list[uuid.UUID]) -> Rendered:
    """Allergies, and the "no known allergies" of the charts among ``ids``."""
    for item in db.scalars(select(Allergy).where(Allergy.id.in_(ids))):
        resource = allergy_to_fhir(item)
        base = Index(patient_id=item.patient_id, status=item.clinical_status)
        yield resource, extract(resource, ALLERGY.params, base)
    for patient in db.scalars(select(Patient).where(Patient.id.in_(ids))):
        resource = no_known_allergies_to_fhir(patient)
        status = resource["clinicalStatus"]["coding"][0]["code"]
        yield (
            resource,
            extract(resource, ALLERGY.params, Index(patient_id=patient.id, status=status)),
        )


def _allergy_feeds(obj: object) -> Iterable[uuid.UUID]:
    """An allergy; a chart whose "no known allergies" is stated now or was before this flush
    (recording an allergy ends it)."""
    if isinstance(obj, Allergy):
        yield obj.id
    elif isinstance(obj, Patient):
        history = inspect(obj).attrs["allergy_status"].history
        if NO_KNOWN in (*history.added, *history.unchanged, *history.deleted):
            yield obj.id


def _medications(db: Session, ids: list[uuid.UUID]) -> Rendered:
    for item in db.scalars(select(Medication).where(Medication.id.in_(ids))):
        resource = medication_to_fhir(item)
        base = Index(patient_id=item.patient_id, status=item.status)
        yield resource, extract(resource, MEDICATION_STATEMENT.params, base)


def _family_history(db: Session, ids: list[uuid.UUID]) -> Rendered:
    for item in db.scalars(select(FamilyHistory).where(FamilyHistory.id.in_(ids))):
        resource = family_history_to_fhir(item)
        base = Index(patient_id=item.patient_id, status=item.status)
        yield resource, extract(resource, FAMILY_HISTORY.params, base)


def _own(model: type[Any]) -> Any:
    """``feeds`` of a type rendered from one record alone."""

    def feeds(obj: object) -> Iterable[uuid.UUID]:
        if isinstance(obj, model):
            yield obj.id

    return feeds


# --- Consent: two record kinds, one type ---------------------------------------------------


def _consents(db: Session, ids: list[uuid.UUID]) -> Rendered:
    for sharing in db.scalars(select(SharingConsent).where(SharingConsent.id.in_(ids))):
        resource = sharing_consent_to_fhir(sharing)
        base = Index(patient_id=sharing.patient_id, status=resource["status"])
        yield resource, extract(resource, CONSENT.params, base)
    for contact in db.scalars(select(ContactConsent).where(ContactConsent.id.in_(ids))):
        resource = contact_consent_to_fhir(contact)
        base = Index(patient_id=contact.patient_id, status=resource["status"])
        yield resource, extract(resource, CONSENT.params, base)


def _consent_feeds(obj: object) -> Iterable[uuid.UUID]:
    if isinstance(obj, SharingConsent | ContactConsent):
        yield obj.id


# A reindex renders the charts that state "no known allergies" with the allergies.
_ALLERGY_IDS = union_all(
    select(Allergy.id.label("id")),
    select(Patient.id.label("id")).where(Patient.allergy_status == NO_KNOWN),
).subquery("allergy_ids")

# A reindex renders both kinds: the ids of the two tables, as one column.
_CONSENT_IDS = union_all(
    select(SharingConsent.id.label("id")), select(ContactConsent.id.label("id"))
).subquery("consent_ids")


# --- DocumentReference ----------------------------------------------------------------------


def _documents(db: Session, ids: list[uuid.UUID]) -> Rendered:
    """What a document is comes from the records pointing at it: a transition's discharge
    summary (with its stay), a sharing consent's signed form."""
    pointing = select(Transition.discharge_summary_id, Transition.encounter_id).where(
        Transition.discharge_summary_id.in_(ids)
    )
    summaries: dict[uuid.UUID | None, uuid.UUID] = dict(db.execute(pointing).all())
    forms = set(
        db.scalars(select(SharingConsent.document_id).where(SharingConsent.document_id.in_(ids)))
    )
    for doc in db.scalars(select(Document).where(Document.id.in_(ids))):
        kind = (
            DISCHARGE_SUMMARY if doc.id in summaries else CONSENT_FORM if doc.id in forms else None
        )
        resource = document_to_fhir(doc, kind=kind, encounter_id=summaries.get(doc.id))
        base = Index(patient_id=doc.patient_id, status="current")
        yield resource, extract(resource, DOCUMENT.params, base)


def _pointed_at(obj: object, attribute: str) -> Iterable[uuid.UUID]:
    """The documents a record points at now and pointed at before this flush (a discharge
    summary replaced by another is no longer one)."""
    history = inspect(obj).attrs[attribute].history
    for value in (*history.added, *history.unchanged, *history.deleted):
        if isinstance(value, uuid.UUID):
            yield value


def _document_feeds(obj: object) -> Iterable[uuid.UUID]:
    if isinstance(obj, Document):
        yield obj.id
    elif isinstance(obj, Transition):
        yield from _pointed_at(obj, "discharge_summary_id")
    elif isinstance(obj, SharingConsent):
        yield from _pointed_at(obj, "document_id")


TYPES = (
    Projection(CONDITION, _conditions, _own(Condition), Condition.id),
    Projection(ALLERGY, _allergies, _allergy_feeds, _ALLERGY_IDS.c.id),
    Projection(MEDICATION_STATEMENT, _medications, _own(Medication), Medication.id),
    Projection(FAMILY_HISTORY, _family_history, _own(FamilyHistory), FamilyHistory.id),
    Projection(CONSENT, _consents, _consent_feeds, _CONSENT_IDS.c.id),
    Projection(DOCUMENT, _documents, _document_feeds, Document.id),
)
