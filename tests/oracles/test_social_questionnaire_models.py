"""Every QuestionnaireResponse we render from a social needs screening parses with
fhirclient's strict R4 (4.0.1) models: a positive AHC HRSN screening answered by the patient
(several housing problems, the safety total), a negative one answered by a caregiver by
phone in Spanish. Made through the real service, rendered as the store keeps them."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import unit_of_work
from carebridge.fhir import store
from carebridge.fhir.registry import PROJECTIONS
from carebridge.patients import service as patients
from carebridge.patients.schemas import PatientCreate
from carebridge.security.audit import Actor
from carebridge.social import service
from carebridge.social.schemas import ScreeningCreate
from tests.oracles import support
from tests.unit.test_social_scoring import NEGATIVE

ACTOR = Actor.system("fhir-questionnaire-oracle-test")
POSITIVE = {
    **NEGATIVE,
    "71802-3": ["LA31995-6"],
    "96778-6": ["LA31996-4", "LA28580-1", "LA31998-0"],
    "88122-7": ["LA28397-0"],
    "95618-5": ["LA6482-9"],
    "95617-7": ["LA16644-9"],
}


def _patient(db: Session) -> uuid.UUID:
    return patients.register(
        db,
        ACTOR,
        PatientCreate(
            family_name=f"Oracle-social-{uuid.uuid4().hex[:8]}",
            given_names="Rosa",
            birth_date=dt.date(1951, 6, 3),
            sex="female",
            duplicate_override_reason="oracle test data",
        ),
    ).id


def test_questionnaire_responses_parse_strictly(factory: sessionmaker[Session]) -> None:
    with unit_of_work(factory) as db:
        patient_id = _patient(db)
        made = [
            service.create(
                db, ACTOR, patient_id, ScreeningCreate(answers=POSITIVE), "America/Chicago"
            ).id,
            service.create(
                db,
                ACTOR,
                patient_id,
                ScreeningCreate(
                    answers=NEGATIVE, respondent="caregiver", mode="phone", language="es"
                ),
                "America/Chicago",
            ).id,
        ]
    with unit_of_work(factory, write=False) as db:
        kind = "QuestionnaireResponse"
        resources: list[dict[str, Any]] = [r for r, _ in PROJECTIONS[kind].render(db, made)]
        assert all(store.read(db, kind, r["id"]) is not None for r in resources)
    assert len(resources) == 2
    positive = next(r for r in resources if r["id"] == str(made[0]))
    housing = next(i for i in positive["item"] if i["linkId"] == "96778-6")
    assert len(housing["answer"]) == 3
    total = next(i for i in positive["item"] if i["linkId"] == "95614-4")
    assert total["answer"] == [{"valueInteger": 11}]  # Frequently 5 + Fairly often 4 + 1 + 1
    verdicts = support.fhir_strict_errors_batch(resources)
    refused = {r["id"]: errors for r, errors in zip(resources, verdicts, strict=True) if errors}
    assert not refused, json.dumps(refused, indent=1)
