"""Bulk insert of synthetic patients (``carebridge seed``, the demo, benchmarks).

The ORM would insert a chart row by row, with a flush, an identity map and a history snapshot
per object. Here each batch of patients becomes one executemany ``INSERT`` per table through
SQLAlchemy Core, on SQLite and PostgreSQL alike. The rows are exactly what the services would
have written: MRNs from the ``counters`` table (one ``UPDATE ... RETURNING`` reserves a block
per batch), folded name columns, every column set explicitly (Core does not run the ORM's
defaults), a ``record_versions`` 'create' snapshot for every versioned row, so seeded
charts have a history like any other, and each chart's FHIR Patient. Each batch leaves one
audit row.

Nothing here checks for duplicates or validates input: the rows come from
:mod:`carebridge.patients.synthetic`, whose values are valid by construction (the tests check).
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Date, DateTime, Table, Uuid, insert, text
from sqlalchemy.orm import Session

from carebridge.db.base import Base, UtcDateTime
from carebridge.db.history import RecordVersion
from carebridge.fhir import projection
from carebridge.lib.time import utcnow
from carebridge.patients import models, terminology
from carebridge.patients.names import fold
from carebridge.patients.schemas import mrn_check_digit
from carebridge.patients.synthetic import SyntheticPatient
from carebridge.security.audit import Action, Actor, record

__all__ = [
    "INSERT_ORDER",
    "BulkResult",
    "Progress",
    "build_rows",
    "insert_patients",
    "mrn",
    "reserve_mrns",
]

# Parents before children (PostgreSQL checks foreign keys per statement); history last.
INSERT_ORDER = (
    "patients",
    "patient_telecoms",
    "patient_identifiers",
    "related_persons",
    "sharing_consents",
    "contact_consents",
    "conditions",
    "allergies",
    "medications",
    "family_history",
    "social_history",
    "past_events",
    "record_versions",
)
# The class name each table's history rows carry, as db.history writes it.
ENTITY_TYPES = {
    "patients": models.Patient.__name__,
    "patient_telecoms": models.Telecom.__name__,
    "patient_identifiers": models.Identifier.__name__,
    "related_persons": models.RelatedPerson.__name__,
    "sharing_consents": models.SharingConsent.__name__,
    "contact_consents": models.ContactConsent.__name__,
    "conditions": models.Condition.__name__,
    "allergies": models.Allergy.__name__,
    "medications": models.Medication.__name__,
    "family_history": models.FamilyHistory.__name__,
    "social_history": models.SocialHistory.__name__,
    "past_events": models.PastEvent.__name__,
}
VERSIONS = RecordVersion.__tablename__
# The FHIR types each table's rows are served as (past events are not; a medication with a
# prescriber is an order as well as a statement).
SERVED_AS = (
    ("related_persons", "RelatedPerson"),
    ("sharing_consents", "Consent"),
    ("contact_consents", "Consent"),
    ("conditions", "Condition"),
    ("allergies", "AllergyIntolerance"),
    ("medications", "MedicationStatement"),
    ("medications", "MedicationRequest"),
    ("family_history", "FamilyMemberHistory"),
    ("social_history", "Observation"),
)
NO_KNOWN = "no-known-allergies"

Rows = dict[str, list[dict[str, Any]]]
Progress = Callable[[int, int], None]
"""Called after each batch with the patients and the rows (all tables) it inserted."""


def table(name: str) -> Table:
    return Base.metadata.tables[name]


@dataclass
class BulkResult:
    patients: int = 0
    batches: int = 0  # each left one audit row
    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(INSERT_ORDER, 0))
    patient_ids: list[uuid.UUID] = field(default_factory=list)  # in the order generated
    first_mrn: str | None = None
    last_mrn: str | None = None

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def mrn(number: int) -> str:
    """The MRN for counter value ``number``: seven digits and a Luhn check digit, as
    ``service.next_mrn`` makes them."""
    digits = f"{number:07d}"
    return digits + mrn_check_digit(digits)


def reserve_mrns(conn: Connection, count: int) -> int:
    """Take ``count`` MRN numbers from the counter in one statement; the first of them."""
    last = conn.execute(
        text("UPDATE counters SET value = value + :n WHERE name = 'mrn' RETURNING value"),
        {"n": count},
    ).scalar_one()
    return int(last) - count + 1


def _batches(items: Iterable[SyntheticPatient], size: int) -> Iterator[list[SyntheticPatient]]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def insert_patients(
    db: Session,
    actor: Actor,
    generated: Iterable[SyntheticPatient],
    *,
    batch_size: int = 1000,
    progress: Progress | None = None,
    coordinators: Sequence[uuid.UUID] = (),
) -> BulkResult:
    """Insert ``generated`` patients with their charts, ``batch_size`` patients per batch.

    ``coordinators`` are user ids spread over the patients that have a coordinator. Runs in
    the caller's unit of work (no commit); the audit rows are flushed with each batch.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    conn = db.connection()
    result = BulkResult()
    for batch in _batches(generated, batch_size):
        first = reserve_mrns(conn, len(batch))
        rows, ids = build_rows(
            batch,
            first_number=first,
            actor_id=actor.user_id,
            now=utcnow(),
            coordinators=coordinators,
        )
        inserted = 0
        for name in INSERT_ORDER:
            if rows[name]:
                conn.execute(insert(table(name)), rows[name])
                result.rows[name] += len(rows[name])
                inserted += len(rows[name])
        first_mrn, last_mrn = mrn(first), mrn(first + len(batch) - 1)
        record(
            db,
            actor,
            Action.CREATE,
            entity_type="PatientImport",
            entity_id=f"{first_mrn}-{last_mrn}",
            reason=f"seeded {len(batch)} patients",
        )
        db.flush()
        # Readable over FHIR like any other chart.
        projection.render_new(db, "Patient", ids)
        projection.render_new(db, "CareTeam", ids)  # a chart's coordinator is its care team
        for name, kind in SERVED_AS:
            projection.render_new(db, kind, [r["id"] for r in rows[name]])
        no_known = [r["id"] for r in rows["patients"] if r["allergy_status"] == NO_KNOWN]
        projection.render_new(db, "AllergyIntolerance", no_known)  # served under the chart's id
        result.patients += len(batch)
        result.batches += 1
        result.patient_ids += ids
        result.first_mrn = result.first_mrn or first_mrn
        result.last_mrn = last_mrn
        if progress is not None:
            progress(len(batch), inserted + 1)
    # The coordinators' panels (Groups) now list their new charts.
    if coordinators:
        projection.render(db, "Group", sorted(set(coordinators)))
    return result


# --- rows ------------------------------------------------------------------------------------


TRACKED = ("created_at", "updated_at", "created_by", "updated_by", "version")


@functools.cache
def _snapshot_plan(name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The columns of a table that a snapshot writes as text, as db.history does: UUIDs
    (``str``), and dates and times (``isoformat``). The tracked columns are done apart."""
    uuids, dates = [], []
    for column in table(name).columns:
        if column.key in TRACKED:
            continue
        if isinstance(column.type, Uuid):
            uuids.append(column.key)
        elif isinstance(column.type, Date | DateTime | UtcDateTime):
            dates.append(column.key)
    return tuple(uuids), tuple(dates)


def build_rows(
    batch: Sequence[SyntheticPatient],
    *,
    first_number: int,
    actor_id: uuid.UUID | None,
    now: dt.datetime,
    coordinators: Sequence[uuid.UUID] = (),
) -> tuple[Rows, list[uuid.UUID]]:
    """Every row a batch writes, by table (``INSERT_ORDER``), and the patients' ids.

    Patient ``i`` of the batch gets MRN number ``first_number + i``. Each row has every
    column of its table, so one executemany serves the whole list.
    """
    rows: Rows = {name: [] for name in INSERT_ORDER}
    tracked = {
        "created_at": now,
        "updated_at": now,
        "created_by": actor_id,
        "updated_by": actor_id,
        "version": 1,
    }
    now_iso = now.isoformat()
    tracked_json = {
        "created_at": now_iso,
        "updated_at": now_iso,
        "created_by": None if actor_id is None else str(actor_id),
        "updated_by": None if actor_id is None else str(actor_id),
        "version": 1,
    }
    versions = rows[VERSIONS]

    def add(name: str, row: dict[str, Any], patient_id: uuid.UUID) -> None:
        # The snapshot: a copy with UUIDs and dates as text, the way db.history.snapshot does.
        data = {**row, **tracked_json}
        uuids, dates = _snapshot_plan(name)
        for key in uuids:
            if (value := data[key]) is not None:
                data[key] = str(value)
        for key in dates:
            if (value := data[key]) is not None:
                data[key] = value.isoformat()
        row.update(tracked)
        rows[name].append(row)
        versions.append(
            {
                "entity_type": ENTITY_TYPES[name],
                "entity_id": row["id"],
                "version": 1,
                "patient_id": patient_id,
                "action": "create",
                "changed_at": now,
                "changed_by": actor_id,
                "data": data,
            }
        )

    ids = []
    for offset, p in enumerate(batch):
        pid = uuid.uuid4()
        ids.append(pid)
        coordinator = None
        if coordinators and p.coordinator_slot is not None:
            coordinator = coordinators[p.coordinator_slot % len(coordinators)]
        add("patients", _patient_row(p, pid, mrn(first_number + offset), coordinator), pid)
        for rank, phone in enumerate(p.phones, start=1):
            add(
                "patient_telecoms",
                {
                    "id": uuid.uuid4(),
                    "patient_id": pid,
                    "system": "phone",
                    "use": phone.use,
                    "value": phone.number,
                    "rank": rank,
                    "status": "active",
                },
                pid,
            )
        for ident in p.identifiers:
            add(
                "patient_identifiers",
                {
                    "id": uuid.uuid4(),
                    "patient_id": pid,
                    "type": ident.type,
                    "system": ident.system,
                    "value": ident.value,
                    "assigner": ident.assigner,
                    "status": "active",
                },
                pid,
            )
        for person in p.related:
            person_id = uuid.uuid4()
            add(
                "related_persons",
                {
                    "id": person_id,
                    "patient_id": pid,
                    "name": person.name,
                    "relationship_code": person.relationship_code,
                    "phone": person.phone,
                    "email": person.email,
                    "address": person.address,
                    "emergency_contact": person.emergency_contact,
                    "caregiver": person.caregiver,
                    "personal_representative": person.personal_representative,
                    "note": person.note,
                    "status": "active",
                },
                pid,
            )
            if person.sharing is not None:
                add(
                    "sharing_consents",
                    {
                        "id": uuid.uuid4(),
                        "patient_id": pid,
                        "related_person_id": person_id,
                        "categories": list(person.sharing.categories),
                        "status": "active",
                        "signed_on": person.sharing.signed_on,
                        "expires_on": person.sharing.expires_on,
                        "document_id": None,
                        "note": person.sharing.note,
                    },
                    pid,
                )
        for consent in p.contact_consents:
            add(
                "contact_consents",
                {
                    "id": uuid.uuid4(),
                    "patient_id": pid,
                    "channel": consent.channel,
                    "decision": consent.decision,
                    "effective_from": consent.effective_from,
                    "effective_until": None,
                    "source": consent.source,
                },
                pid,
            )
        for condition in p.conditions:
            add(
                "conditions",
                {
                    "id": uuid.uuid4(),
                    "patient_id": pid,
                    "source": condition.source,
                    "note": condition.note,
                    "code_system": terminology.ICD10CM,
                    "code": condition.code,
                    "display": condition.display,
                    "clinical_status": condition.clinical_status,
                    "verification_status": "confirmed",
                    "onset_date": condition.onset_date,
                    "abatement_date": None,
                },
                pid,
            )
        for allergy in p.allergies:
            add(
                "allergies",
                {
                    "id": uuid.uuid4(),
                    "patient_id": pid,
                    "source": "reported",
                    "note": None,
                    "substance": allergy.substance,
                    "code_system": None,
                    "code": None,
                    "type": allergy.type,
                    "category": allergy.category,
                    "criticality": allergy.criticality,
                    "severity": allergy.severity,
                    "reactions": list(allergy.reactions),
                    "clinical_status": "active",
                    "onset_date": allergy.onset_date,
                },
                pid,
            )
        for med in p.medications:
            add(
                "medications",
                {
                    "id": uuid.uuid4(),
                    "patient_id": pid,
                    "source": "clinician",
                    "note": med.note,
                    "name": med.name,
                    "rxnorm": med.rxnorm,
                    "dose": med.dose,
                    "route": med.route,
                    "frequency": med.frequency,
                    "start_date": med.start_date,
                    "stop_date": med.stop_date,
                    "prescriber": med.prescriber,
                    "status": med.status,
                    "reason": med.reason,
                },
                pid,
            )
        for item in p.family_history:
            add(
                "family_history",
                {
                    "id": uuid.uuid4(),
                    "patient_id": pid,
                    "source": "reported",
                    "note": None,
                    "relationship_code": item.relationship_code,
                    "condition": item.condition,
                    "code_system": terminology.ICD10CM if item.code else None,
                    "code": item.code,
                    "onset_age": item.onset_age,
                    "deceased": item.deceased,
                    "status": "completed",
                },
                pid,
            )
        social = p.social_history
        if social is not None:
            add(
                "social_history",
                {
                    "id": uuid.uuid4(),
                    "patient_id": pid,
                    "source": "reported",
                    "note": None,
                    "tobacco": social.tobacco,
                    "alcohol": social.alcohol,
                    "substance_use": social.substance_use,
                    "activity_minutes_per_week": social.activity_minutes_per_week,
                    "occupation": social.occupation,
                    "living_situation": social.living_situation,
                    "caregiver_at_home": social.caregiver_at_home,
                },
                pid,
            )
        for event in p.past_events:
            add(
                "past_events",
                {
                    "id": uuid.uuid4(),
                    "patient_id": pid,
                    "source": "reported",
                    "note": None,
                    "kind": event.kind,
                    "description": event.description,
                    "code_system": None,
                    "code": None,
                    "start_date": event.start_date,
                    "end_date": event.end_date,
                    "facility": event.facility,
                    "status": "completed",
                },
                pid,
            )
    return rows, ids


def _patient_row(
    p: SyntheticPatient, pid: uuid.UUID, number: str, coordinator: uuid.UUID | None
) -> dict[str, Any]:
    allergy_at = None
    if p.allergy_status_on is not None:
        allergy_at = dt.datetime.combine(p.allergy_status_on, dt.time(15, 0), tzinfo=dt.UTC)
    return {
        "id": pid,
        "mrn": number,
        "status": p.status,
        "family_name": p.family_name,
        "given_names": p.given_names,
        "preferred_name": p.preferred_name,
        "family_folded": fold(p.family_name),
        "given_folded": fold(p.given_names),
        "birth_date": p.birth_date,
        "deceased_date": p.deceased_date,
        "sex": p.sex,
        "gender_identity": p.gender_identity,
        "pronouns": p.pronouns,
        "language": p.language,
        "interpreter_needed": p.interpreter_needed,
        "race": list(p.race),
        "ethnicity": p.ethnicity,
        "email": p.email,
        "address_line1": p.address_line1,
        "address_line2": p.address_line2,
        "city": p.city,
        "state": p.state,
        "postal_code": p.postal_code,
        "country": "US",
        "preferred_contact_method": p.preferred_contact_method,
        "preferred_contact_times": p.preferred_contact_times,
        "alerts": p.alerts,
        "allergy_status": p.allergy_status,
        "allergy_status_at": allergy_at,
        "primary_coordinator_id": coordinator,
        "merged_into_id": None,
        "duplicate_override_reason": None,
    }
