"""FHIR create and update of the types Carebridge keeps as its own records: each one is read
by its mapper into the same input the screens and the JSON API send, and applied by the same
service function, so it is validated and audited the same way. The FHIR rendering follows
from the change (``projection``); the id of a created resource is the new record's id.

The writers live in ``fhir/writers`` (one module per domain); this is where they are put
together.
"""

from __future__ import annotations

import uuid

from carebridge.fhir.errors import FhirError
from carebridge.fhir.writers import careplans, history, referrals
from carebridge.fhir.writers.common import Writer
from carebridge.fhir.writers.patients import (
    create_patient,
    create_related,
    update_patient,
    update_related,
)
from carebridge.fhir.writers.scheduling import create_appointment, update_appointment
from carebridge.fhir.writers.tasks import create_task, update_task

__all__ = ["WRITERS", "Writer", "record_id"]


def record_id(resource_type: str, resource_id: str) -> uuid.UUID:
    """The record a mapped resource's id names (our ids are the records' UUIDs)."""
    try:
        return uuid.UUID(resource_id)
    except ValueError as exc:
        raise FhirError(404, "not-found", f"No {resource_type} with id {resource_id}") from exc


WRITERS: dict[str, Writer] = {
    "Patient": Writer(create_patient, update_patient),
    "RelatedPerson": Writer(create_related, update_related),
    "Task": Writer(create_task, update_task),
    "Appointment": Writer(create_appointment, update_appointment),
    **history.WRITERS,
    **careplans.WRITERS,
    **referrals.WRITERS,
}
