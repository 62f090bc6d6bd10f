"""Patient and RelatedPerson, from the chart."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from carebridge.fhir.indexing import SearchParam, extract
from carebridge.fhir.mappers.patients import patient_to_fhir, related_person_to_fhir
from carebridge.fhir.mapping import US_CORE, Projection, Rendered, ResourceDef, params
from carebridge.fhir.store import Index
from carebridge.patients.models import Identifier, Patient, RelatedPerson, Telecom
from carebridge.security.roles import Permission

# Shared by Patient and RelatedPerson (R4 defines them alike for both).
_PERSON = (
    SearchParam("identifier", "token", ("identifier",)),
    SearchParam("name", "string", ("name",)),
    SearchParam("birthdate", "date", ("birthDate",)),
    SearchParam("gender", "token", ("gender",)),
    SearchParam("telecom", "token", ("telecom",)),
    SearchParam("phone", "token", ("telecom",), only="phone"),
    SearchParam("email", "token", ("telecom",), only="email"),
    SearchParam("address", "string", ("address",)),
    SearchParam("address-city", "string", ("address.city",)),
    SearchParam("address-state", "string", ("address.state",)),
    SearchParam("address-postalcode", "string", ("address.postalCode",)),
    SearchParam("address-country", "string", ("address.country",)),
    SearchParam("active", "token", ("active",)),
)

PATIENT = ResourceDef(
    "Patient",
    Permission.PATIENT_READ,
    Permission.PATIENT_WRITE,
    US_CORE + "us-core-patient",
    params(
        *_PERSON,
        SearchParam("family", "string", ("name.family",)),
        SearchParam("given", "string", ("name.given",)),
        SearchParam("language", "token", ("communication.language",)),
        SearchParam(
            "general-practitioner",
            "reference",
            ("generalPractitioner",),
            ("Organization", "Practitioner", "PractitionerRole"),
        ),
        SearchParam("organization", "reference", ("managingOrganization",), ("Organization",)),
        SearchParam("link", "reference", ("link.other",), ("Patient", "RelatedPerson")),
    ),
    summary=(
        "identifier",
        "active",
        "name",
        "telecom",
        "gender",
        "birthDate",
        "deceasedBoolean",
        "deceasedDateTime",
        "address",
        "managingOrganization",
        "link",
    ),
)

RELATED_PERSON = ResourceDef(
    "RelatedPerson",
    Permission.PATIENT_READ,
    Permission.PATIENT_WRITE,
    US_CORE + "us-core-relatedperson",
    params(
        *_PERSON,
        SearchParam("patient", "reference", ("patient",), ("Patient",)),
        SearchParam("relationship", "token", ("relationship",)),
    ),
    summary=("identifier", "active", "patient", "name", "telecom", "gender", "birthDate"),
)


def _patients(db: Session, ids: list[uuid.UUID]) -> Rendered:
    charts = db.scalars(
        select(Patient)
        .where(Patient.id.in_(ids))
        .options(selectinload(Patient.identifiers), selectinload(Patient.telecoms))
    )
    for patient in charts:
        resource = patient_to_fhir(patient)
        base = Index(patient_id=patient.id, status=patient.status)
        yield resource, extract(resource, PATIENT.params, base)


def _patient_feeds(obj: object) -> Iterable[uuid.UUID]:
    if isinstance(obj, Patient):
        yield obj.id
    elif isinstance(obj, Identifier | Telecom):
        yield obj.patient_id


def _related_persons(db: Session, ids: list[uuid.UUID]) -> Rendered:
    for person in db.scalars(select(RelatedPerson).where(RelatedPerson.id.in_(ids))):
        resource = related_person_to_fhir(person)
        base = Index(patient_id=person.patient_id, status=person.status)
        yield resource, extract(resource, RELATED_PERSON.params, base)


def _related_feeds(obj: object) -> Iterable[uuid.UUID]:
    if isinstance(obj, RelatedPerson):
        yield obj.id


TYPES = (
    Projection(PATIENT, _patients, _patient_feeds, Patient.id),
    Projection(RELATED_PERSON, _related_persons, _related_feeds, RelatedPerson.id),
)
