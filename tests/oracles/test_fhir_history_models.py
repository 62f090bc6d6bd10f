"""Every health-history, consent, document and encounter resource we render parses with
fhirclient's strict R4 (4.0.1) models: for each type one record with every field we map
filled in (and the variants that change the shape: entered in error, revoked, a discharge
summary) and one with only what is required, made through the real services (stays and
transitions directly, as the ADT feed makes them) and rendered as the store keeps them."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import unit_of_work
from carebridge.fhir.registry import PROJECTIONS
from carebridge.lib.time import utcnow
from carebridge.patients import service
from carebridge.patients.schemas import (
    AllergyCreate,
    ConditionCreate,
    ContactConsentCreate,
    FamilyHistoryCreate,
    ItemStatusUpdate,
    MedicationCreate,
    PatientCreate,
    RelatedPersonCreate,
    SharingConsentCreate,
)
from carebridge.security.audit import Actor
from carebridge.transitions.models import Encounter, Transition
from tests.oracles import support

ACTOR = Actor.system("fhir-history-oracle-test")


def _assert_strictly_valid(resources: list[dict[str, Any]]) -> None:
    verdicts = support.fhir_strict_errors_batch(resources)
    refused = {
        f"{r['resourceType']}/{r['id']}": errors
        for r, errors in zip(resources, verdicts, strict=True)
        if errors
    }
    assert not refused, json.dumps(refused, indent=1)


def _item(db: Session, patient_id: uuid.UUID, kind: str, body: Any) -> uuid.UUID:
    return uuid.UUID(str(service.add_item(db, ACTOR, patient_id, kind, body)["id"]))


def _in_error(db: Session, patient_id: uuid.UUID, kind: str, item_id: uuid.UUID) -> None:
    update = ItemStatusUpdate(version=1, status="entered-in-error")
    service.set_item_status(db, ACTOR, patient_id, kind, item_id, update)


def _records(db: Session) -> dict[str, list[uuid.UUID]]:
    """Full, minimal and shape-changing records of each type, by FHIR type."""
    tag = uuid.uuid4().hex[:8]
    patient_id = service.register(
        db,
        ACTOR,
        PatientCreate(
            family_name=f"Oracle-{tag}",
            given_names="Rosa",
            birth_date=dt.date(1948, 2, 3),
            sex="female",
            emergency_contacts=[RelatedPersonCreate(name="Luis Ortega", relationship="SON")],
            duplicate_override_reason="oracle test data",
        ),
    ).id
    made: dict[str, list[uuid.UUID]] = {}
    # Stated before the allergies below are recorded: rendered as no longer holding.
    service.set_no_known_allergies(db, ACTOR, patient_id)

    full_problem = ConditionCreate(
        code="E11.9",
        clinical_status="resolved",
        verification_status="confirmed",
        onset_date=dt.date(2015, 6, 1),
        abatement_date=dt.date(2024, 2, 1),
        source="clinician",
        note="Diet controlled",
    )
    wrong = _item(db, patient_id, "conditions", ConditionCreate(code="I10"))
    _in_error(db, patient_id, "conditions", wrong)
    made["Condition"] = [
        _item(db, patient_id, "conditions", full_problem),
        _item(
            db,
            patient_id,
            "conditions",
            ConditionCreate(code="44054006", code_system="snomed", display="Diabetes type 2"),
        ),
        wrong,
    ]

    full_allergy = AllergyCreate(
        substance="Penicillin",
        type="allergy",
        category="medication",
        criticality="high",
        severity="severe",
        reactions=["Hives", "Anaphylaxis"],
        onset_date=dt.date(1990, 5, 1),
        note="Carries an epinephrine pen",
    )
    mistaken = _item(db, patient_id, "allergies", AllergyCreate(substance="Latex"))
    _in_error(db, patient_id, "allergies", mistaken)
    made["AllergyIntolerance"] = [
        _item(db, patient_id, "allergies", full_allergy),
        _item(db, patient_id, "allergies", AllergyCreate(substance="Peanuts", severity="mild")),
        mistaken,
        patient_id,
    ]

    full_medication = MedicationCreate(
        name="Metformin 500 MG Oral Tablet",
        rxnorm="860975",
        dose="500 mg",
        route="oral",
        frequency="twice daily",
        start_date=dt.date(2020, 1, 15),
        stop_date=dt.date(2024, 3, 1),
        prescriber="Dr Ana Wells",
        status="stopped",
        reason="Type 2 diabetes",
        note="Stopped for GI upset",
    )
    made["MedicationStatement"] = [
        _item(db, patient_id, "medications", full_medication),
        _item(db, patient_id, "medications", MedicationCreate(name="Aspirin", source="clinician")),
    ]

    full_relative = FamilyHistoryCreate(
        relationship="MTH",
        condition="Breast cancer",
        code="C50.911",
        onset_age=52,
        deceased=True,
        status="partial",
        note="Maternal side",
    )
    made["FamilyMemberHistory"] = [
        _item(db, patient_id, "family-history", full_relative),
        _item(
            db,
            patient_id,
            "family-history",
            FamilyHistoryCreate(relationship="CAREGIVER", condition="Asthma"),
        ),
    ]

    person = service.related_persons(db, ACTOR, patient_id)[0]
    form = service.add_document(
        db,
        ACTOR,
        patient_id,
        title="Signed release",
        content_type="application/pdf",
        content=b"%PDF",
    )
    summary = service.add_document(
        db, ACTOR, patient_id, title="Discharge summary", content_type="image/png", content=b"PNG"
    )
    plain = service.add_document(
        db, ACTOR, patient_id, title="", content_type="image/jpeg", content=b"JPEG"
    )
    full_sharing = SharingConsentCreate(
        related_person_id=person.id,
        categories=["appointments", "behavioral-health", "substance-use", "sexual-health"],
        signed_on=dt.date(2026, 11, 1),
        expires_on=dt.date(2027, 11, 1),
        note="Daughter helps with appointments",
        document_id=form.id,
    )
    sharing = service.add_sharing_consent(db, ACTOR, patient_id, full_sharing)
    minimal_sharing = service.add_sharing_consent(
        db,
        ACTOR,
        patient_id,
        SharingConsentCreate(
            related_person_id=person.id, categories=["billing"], signed_on=dt.date(2026, 1, 5)
        ),
    )
    service.revoke_sharing_consent(db, ACTOR, patient_id, minimal_sharing.id, 1)
    full_contact = ContactConsentCreate(
        channel="mail",
        decision="deny",
        effective_from=dt.date(2026, 1, 1),
        effective_until=dt.date(2026, 12, 31),
        source="Phone call with patient",
    )
    made["Consent"] = [
        sharing.id,
        minimal_sharing.id,
        service.record_contact_consent(db, ACTOR, patient_id, full_contact).id,
        service.record_contact_consent(
            db,
            ACTOR,
            patient_id,
            ContactConsentCreate(
                channel="sms", decision="permit", effective_from=dt.date(2026, 1, 1)
            ),
        ).id,
    ]

    now = utcnow()
    earlier = Encounter(patient_id=patient_id, class_code="OBSENC", status="planned", diagnoses=[])
    db.add(earlier)
    db.flush()
    stay = Encounter(
        patient_id=patient_id,
        facility="GOOD HEALTH",
        visit_number=f"V{tag}",
        class_code="IMP",
        status="finished",
        admit_at=now - dt.timedelta(days=6),
        discharge_at=now - dt.timedelta(days=1),
        location="4E^412^B",
        prior_location="ED^03^A",
        admission_type="L",
        admit_source="7",
        hospital_service="MED",
        discharge_disposition="06",
        attending="Dr Ana Wells",
        diagnoses=[
            {
                "code": "I50.9",
                "text": "Heart failure, unspecified",
                "system": "ICD-10",
                "type": "F",
            },
            {"code": "428.0", "text": "Congestive heart failure", "system": "ICD-9", "type": "A"},
            {"code": "", "text": "Shortness of breath", "system": "", "type": "W"},
            {"code": "X1", "text": "", "system": "LOCAL", "type": None},
        ],
        last_event="A03",
        readmission_of_id=earlier.id,
    )
    db.add(stay)
    db.flush()
    today = now.date()
    db.add(
        Transition(
            patient_id=patient_id,
            encounter_id=stay.id,
            discharged_on=today,
            contact_due_on=today,
            follow_up_due_on=today + dt.timedelta(days=7),
            discharge_summary_id=summary.id,
        )
    )
    made["Encounter"] = [stay.id, earlier.id]
    made["DocumentReference"] = [form.id, summary.id, plain.id]
    return made


def test_history_consents_documents_and_stays_parse_strictly(
    factory: sessionmaker[Session],
) -> None:
    with unit_of_work(factory) as db:
        made = _records(db)
    resources: list[dict[str, Any]] = []
    with unit_of_work(factory, write=False) as db:
        for kind, record_ids in made.items():
            rendered = [resource for resource, _index in PROJECTIONS[kind].render(db, record_ids)]
            assert sorted(r["id"] for r in rendered) == sorted(str(i) for i in record_ids)
            resources += rendered
    shapes = {(r["resourceType"], r.get("status")) for r in resources}
    assert ("Consent", "inactive") in shapes
    assert ("Encounter", "planned") in shapes
    kinds = [
        r["type"]["coding"][0]["code"]
        for r in resources
        if r["resourceType"] == "DocumentReference"
    ]
    assert sorted(kinds) == ["18842-5", "59284-0", "UNK"]
    _assert_strictly_valid(resources)
