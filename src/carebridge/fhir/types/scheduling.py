"""Practitioner, Location, Schedule and Appointment, from scheduling. Read with the
permission the scheduling API itself asks (``schedule:view``).

Not served: Slot (slots are computed from the availability rules, never stored, so they have
no id to keep); PractitionerRole (what a practitioner offers is an ``Offering`` keyed by the
practitioner and visit type, without an id of its own, and US Core 3.1.1 requires its
organization, which Carebridge does not keep).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebridge.fhir.indexing import SearchParam, extract
from carebridge.fhir.mappers.scheduling import (
    appointment_to_fhir,
    location_to_fhir,
    practitioner_to_fhir,
    schedule_to_fhir,
)
from carebridge.fhir.mapping import US_CORE, Projection, Rendered, ResourceDef, params
from carebridge.fhir.store import Index
from carebridge.scheduling.models import (
    Appointment,
    AppointmentType,
    AvailabilityRule,
    Location,
    Practitioner,
)
from carebridge.security.roles import Permission

PRACTITIONER = ResourceDef(
    "Practitioner",
    Permission.SCHEDULE_VIEW,
    profile=US_CORE + "us-core-practitioner",
    params=params(
        SearchParam("identifier", "token", ("identifier",)),
        SearchParam("name", "string", ("name",)),
        SearchParam("family", "string", ("name.family",)),
        SearchParam("given", "string", ("name.given",)),
        SearchParam("active", "token", ("active",)),
        SearchParam("telecom", "token", ("telecom",)),
        SearchParam("phone", "token", ("telecom",), only="phone"),
        SearchParam("communication", "token", ("communication",)),
    ),
    summary=("identifier", "active", "name", "telecom", "address", "gender", "birthDate"),
)

LOCATION = ResourceDef(
    "Location",
    Permission.SCHEDULE_VIEW,
    profile=US_CORE + "us-core-location",
    params=params(
        SearchParam("name", "string", ("name",)),
        SearchParam("address", "string", ("address",)),
        SearchParam("status", "token", ("status",)),
    ),
    summary=(
        "identifier",
        "status",
        "operationalStatus",
        "name",
        "description",
        "mode",
        "type",
        "physicalType",
        "managingOrganization",
    ),
)

SCHEDULE = ResourceDef(
    "Schedule",
    Permission.SCHEDULE_VIEW,
    params=params(
        SearchParam("actor", "reference", ("actor",), ("Practitioner", "Location")),
        SearchParam("active", "token", ("active",)),
        SearchParam("date", "date", ("planningHorizon",)),
        SearchParam("service-type", "token", ("serviceType",)),
    ),
    summary=(
        "identifier",
        "active",
        "serviceCategory",
        "serviceType",
        "specialty",
        "actor",
        "planningHorizon",
    ),
)

APPOINTMENT = ResourceDef(
    "Appointment",
    Permission.SCHEDULE_VIEW,
    Permission.SCHEDULE_BOOK,  # booked, moved and cancelled through the scheduler (writes.py)
    params=params(
        SearchParam("patient", "reference", ("participant.actor",), ("Patient",)),
        SearchParam("practitioner", "reference", ("participant.actor",), ("Practitioner",)),
        SearchParam("location", "reference", ("participant.actor",), ("Location",)),
        SearchParam(
            "actor", "reference", ("participant.actor",), ("Patient", "Practitioner", "Location")
        ),
        SearchParam("date", "date", ("start",)),
        SearchParam("status", "token", ("status",)),
        SearchParam("service-type", "token", ("serviceType",)),
        SearchParam("appointment-type", "token", ("appointmentType",)),
        SearchParam("specialty", "token", ("specialty",)),
        SearchParam("part-status", "token", ("participant.status",)),
    ),
    summary=(
        "identifier",
        "status",
        "cancelationReason",
        "serviceCategory",
        "serviceType",
        "specialty",
        "appointmentType",
        "reasonCode",
        "reasonReference",
        "start",
        "end",
        "participant",
    ),
)


def _practitioners(db: Session, ids: list[uuid.UUID]) -> Rendered:
    for person in db.scalars(select(Practitioner).where(Practitioner.id.in_(ids))):
        resource = practitioner_to_fhir(person)
        base = Index(status="active" if person.active else "inactive")
        yield resource, extract(resource, PRACTITIONER.params, base)


def _locations(db: Session, ids: list[uuid.UUID]) -> Rendered:
    for place in db.scalars(select(Location).where(Location.id.in_(ids))):
        resource = location_to_fhir(place)
        yield resource, extract(resource, LOCATION.params, Index(status=resource["status"]))


def _schedules(db: Session, ids: list[uuid.UUID]) -> Rendered:
    for rule in db.scalars(select(AvailabilityRule).where(AvailabilityRule.id.in_(ids))):
        resource = schedule_to_fhir(rule)
        base = Index(status="active" if rule.active else "inactive")
        yield resource, extract(resource, SCHEDULE.params, base)


def _appointments(db: Session, ids: list[uuid.UUID]) -> Rendered:
    """Appointments and their visit types in two queries (the models have no relationships
    to load them through)."""
    rows = list(db.scalars(select(Appointment).where(Appointment.id.in_(ids))))
    wanted = {row.appointment_type_id for row in rows}
    kinds = {
        kind.id: kind
        for kind in db.scalars(select(AppointmentType).where(AppointmentType.id.in_(wanted)))
    }
    for row in rows:
        resource = appointment_to_fhir(row, kinds[row.appointment_type_id])
        base = Index(patient_id=row.patient_id, status=row.status)
        yield resource, extract(resource, APPOINTMENT.params, base)


def _practitioner_feeds(obj: object) -> Iterable[uuid.UUID]:
    if isinstance(obj, Practitioner):
        yield obj.id


def _location_feeds(obj: object) -> Iterable[uuid.UUID]:
    if isinstance(obj, Location):
        yield obj.id


def _schedule_feeds(obj: object) -> Iterable[uuid.UUID]:
    if isinstance(obj, AvailabilityRule):
        yield obj.id


def _appointment_feeds(obj: object) -> Iterable[uuid.UUID]:
    """An appointment is re-rendered when it changes. A visit type renamed or re-coded later
    reaches its appointments at their next change or a reindex: finding every appointment of
    a type would be a query per flush, for a change made a few times a year."""
    if isinstance(obj, Appointment):
        yield obj.id


TYPES = (
    Projection(PRACTITIONER, _practitioners, _practitioner_feeds, Practitioner.id),
    Projection(LOCATION, _locations, _location_feeds, Location.id),
    Projection(SCHEDULE, _schedules, _schedule_feeds, AvailabilityRule.id),
    Projection(APPOINTMENT, _appointments, _appointment_feeds, Appointment.id),
)
