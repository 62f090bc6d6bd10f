"""Practitioner, PractitionerRole, Location, Schedule and Appointment, from scheduling. Read
with the permission the scheduling API itself asks (``schedule:view``).

PractitionerRole: one per practitioner, with the practitioner's id (what a practitioner
offers is kept per practitioner, not per role: the ``Offering`` rows have no id of their
own). It follows the practitioner, its availability rules (locations, hours, modalities) and
offerings, and the visit types offered (their modality). It claims US Core 5.0.1-6.1's
profile when the practitioner has a phone (pd-1); 3.1.1's requires an organization, and the
clinic is not one here (the only Organizations served are payers).

Not served: Slot from the store (slots are computed from the availability rules when
searched, never stored; see ``fhir/slots.py``).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session, object_session

from carebridge.fhir.indexing import SearchParam, extract
from carebridge.fhir.mappers.scheduling import (
    appointment_to_fhir,
    location_to_fhir,
    practitioner_role_to_fhir,
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
    Offering,
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

PRACTITIONER_ROLE = ResourceDef(
    "PractitionerRole",
    Permission.SCHEDULE_VIEW,
    profile=US_CORE + "us-core-practitionerrole",
    params=params(
        SearchParam("practitioner", "reference", ("practitioner",), ("Practitioner",)),
        SearchParam("location", "reference", ("location",), ("Location",)),
        SearchParam("specialty", "token", ("specialty",)),
        SearchParam("active", "token", ("active",)),
        SearchParam("telecom", "token", ("telecom",)),
        SearchParam("phone", "token", ("telecom",), only="phone"),
        # R5's name for it: in person, video or phone (the only extension we put there).
        SearchParam("characteristic", "token", ("extension.valueCodeableConcept",)),
    ),
    summary=(
        "identifier",
        "active",
        "period",
        "practitioner",
        "organization",
        "code",
        "specialty",
        "location",
        "healthcareService",
        "telecom",
    ),
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


def _practitioner_roles(db: Session, ids: list[uuid.UUID]) -> Rendered:
    """Practitioners with their active rules and the active visit types they offer, in three
    queries."""
    people = list(db.scalars(select(Practitioner).where(Practitioner.id.in_(ids))))
    found = [person.id for person in people]
    rules: dict[uuid.UUID, list[AvailabilityRule]] = defaultdict(list)
    for rule in db.scalars(
        select(AvailabilityRule)
        .where(AvailabilityRule.practitioner_id.in_(found), AvailabilityRule.active)
        .order_by(AvailabilityRule.valid_from, AvailabilityRule.id)
    ):
        rules[rule.practitioner_id].append(rule)
    offered: dict[uuid.UUID, list[AppointmentType]] = defaultdict(list)
    for person_id, kind in db.execute(
        select(Offering.practitioner_id, AppointmentType)
        .join(AppointmentType, AppointmentType.id == Offering.appointment_type_id)
        .where(Offering.practitioner_id.in_(found), AppointmentType.active)
    ):
        offered[person_id].append(kind)
    for person in people:
        resource = practitioner_role_to_fhir(person, rules[person.id], offered[person.id])
        base = Index(status="active" if person.active else "inactive")
        yield resource, extract(resource, PRACTITIONER_ROLE.params, base)


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


def _practitioner_role_feeds(obj: object) -> Iterable[uuid.UUID]:
    if isinstance(obj, Practitioner):
        yield obj.id
    elif isinstance(obj, AvailabilityRule | Offering):
        yield obj.practitioner_id
    elif isinstance(obj, AppointmentType):
        state = inspect(obj).attrs
        if state.modality.history.has_changes() or state.active.history.has_changes():
            # How its practitioners can be seen (a few times a year: one query then).
            session = object_session(obj)
            if session is not None:
                yield from session.scalars(
                    select(Offering.practitioner_id).where(Offering.appointment_type_id == obj.id)
                )


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
    Projection(PRACTITIONER_ROLE, _practitioner_roles, _practitioner_role_feeds, Practitioner.id),
    Projection(LOCATION, _locations, _location_feeds, Location.id),
    Projection(SCHEDULE, _schedules, _schedule_feeds, AvailabilityRule.id),
    Projection(APPOINTMENT, _appointments, _appointment_feeds, Appointment.id),
)
