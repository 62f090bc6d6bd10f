"""Education through the JSON API: a material's reading grade computed and flagged, the
starter library loaded once, suggestions from the patient's problems, assigning on a care
plan, delivery by email refused without consent (nothing sent) and accepted with it, the
teach-back completing the care-plan activity, the term search, and bad input refused with
the field named and nothing stored."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.careplans import service as careplans
from carebridge.careplans.models import CarePlanActivity
from carebridge.careplans.schemas import CarePlanCreate
from carebridge.db.session import unit_of_work
from carebridge.education import starter
from carebridge.education.models import EducationAssignment, EducationMaterial
from carebridge.messaging.models import OutboxMessage
from carebridge.patients import service as patients
from carebridge.patients.schemas import ConditionCreate, ContactConsentCreate
from carebridge.security.audit import Actor
from tests.factories import clinic_today
from tests.integration import test_scheduling_api as scheduling
from tests.integration.test_patients_api import new_patient, unique_name
from tests.integration.test_scheduling_api import ok
from tests.integration.test_sign_in import audit_rows

api = scheduling.api
SYSTEM = Actor.system("test")
HARD = (
    "Congestive cardiac decompensation necessitates meticulous pharmacological "
    "optimization, comprehensive interdisciplinary surveillance, and individualized "
    "nutritional modification, particularly concerning sodium consumption."
)


@pytest.fixture
def library(factory: sessionmaker[Session]) -> None:
    with unit_of_work(factory) as db:
        starter.load(db)


def count(factory: sessionmaker[Session], model: Any, **where: Any) -> int:
    with unit_of_work(factory) as db:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return db.scalar(query) or 0


def a_patient(api: TestClient, **extra: Any) -> dict[str, Any]:
    found: dict[str, Any] = ok(
        api.post("/api/v1/patients", json=new_patient(family_name=unique_name(), **extra)), 201
    )
    return found


def with_problem(factory: sessionmaker[Session], patient_id: str, code: str) -> None:
    with unit_of_work(factory) as db:
        patients.add_item(
            db, SYSTEM, uuid.UUID(patient_id), "conditions", ConditionCreate(code=code)
        )


def email_consent(factory: sessionmaker[Session], patient_id: str, decision: str) -> None:
    with unit_of_work(factory) as db:
        patients.record_contact_consent(
            db,
            SYSTEM,
            uuid.UUID(patient_id),
            ContactConsentCreate(
                channel="email",
                decision=decision,  # type: ignore[arg-type]
                effective_from=clinic_today() - dt.timedelta(days=1),
            ),
        )


def test_grade_is_computed_and_above_6_flagged(api: TestClient) -> None:
    title = f"Heart care {uuid.uuid4().hex[:6]}"
    hard = ok(
        api.post(
            "/api/v1/education/materials",
            json={"title": title, "body": HARD, "tags": ["i50", "E11.9"], "language": "en"},
        ),
        201,
    )
    assert hard["reading_grade"] > 6
    assert hard["above_grade_6"] is True
    assert hard["tags"] == ["I50", "E11.9"]
    easy = ok(
        api.post(
            "/api/v1/education/materials",
            json={"title": f"{title} easy", "body": "Weigh yourself each day. Write it down."},
        ),
        201,
    )
    assert easy["reading_grade"] <= 6
    assert easy["above_grade_6"] is False
    flagged = ok(api.get("/api/v1/education/materials", params={"flagged": True, "q": title}))
    assert [m["id"] for m in flagged] == [hard["id"]]
    read = ok(api.get(f"/api/v1/education/materials/{hard['id']}"))
    assert read["above_grade_6"] is True
    by_tag = ok(api.get("/api/v1/education/materials", params={"tag": "I50", "q": title}))
    assert {m["id"] for m in by_tag} == {hard["id"]}


def test_bad_material_is_refused_and_nothing_stored(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    before = count(factory, EducationMaterial)
    bad_tag = api.post(
        "/api/v1/education/materials", json={"title": "X", "body": "Hi.", "tags": ["diabetes"]}
    )
    assert bad_tag.status_code == 422
    assert "diabetes" in bad_tag.text
    assert "ICD-10-CM" in bad_tag.text
    empty = api.post("/api/v1/education/materials", json={"title": "Nothing in it"})
    assert empty.status_code == 422
    assert "text or a PDF" in empty.text
    assert count(factory, EducationMaterial) == before


def test_starter_library_loads_once(factory: sessionmaker[Session], library: None) -> None:
    with unit_of_work(factory) as db:
        assert starter.load(db) == 0
        loaded = db.scalars(
            select(EducationMaterial).where(
                EducationMaterial.code.in_([s.code for s in starter.STARTERS])
            )
        ).all()
    assert len(loaded) == len(starter.STARTERS)
    assert all(m.reading_grade is not None and m.reading_grade <= 6 for m in loaded)


def test_suggestions_from_an_e11_9_problem_include_the_diabetes_material(
    api: TestClient, factory: sessionmaker[Session], library: None
) -> None:
    maria = a_patient(api)  # prefers Spanish
    assert ok(api.get(f"/api/v1/patients/{maria['id']}/education/suggestions")) == []
    with_problem(factory, maria["id"], "E11.9")
    found = ok(api.get(f"/api/v1/patients/{maria['id']}/education/suggestions"))
    codes = [_code(factory, s["material"]["id"]) for s in found]
    assert "t2d-living-es" in codes
    assert "t2d-living-en" in codes
    assert codes.index("t2d-living-es") < codes.index("t2d-living-en")  # Spanish first
    assert all(s["because"] == ["E11.9"] for s in found if s["material"]["tags"] == ["E11"])
    assert "hf-home-en" not in codes
    # Once assigned, it is no longer suggested.
    spanish = next(s for s in found if _code(factory, s["material"]["id"]) == "t2d-living-es")
    ok(
        api.post(
            f"/api/v1/patients/{maria['id']}/education/assignments",
            json={"material_id": spanish["material"]["id"]},
        ),
        201,
    )
    again = ok(api.get(f"/api/v1/patients/{maria['id']}/education/suggestions"))
    assert spanish["material"]["id"] not in [s["material"]["id"] for s in again]
    assert audit_rows(
        factory, entity_type="EducationSuggestions", patient_id=uuid.UUID(maria["id"])
    )


def _code(factory: sessionmaker[Session], material_id: str) -> str | None:
    with unit_of_work(factory) as db:
        m = db.get(EducationMaterial, uuid.UUID(material_id))
        return m.code if m else None


def _starter_id(factory: sessionmaker[Session], code: str) -> str:
    with unit_of_work(factory) as db:
        return str(db.scalar(select(EducationMaterial.id).where(EducationMaterial.code == code)))


def test_email_without_consent_is_refused_and_nothing_sent(
    api: TestClient, factory: sessionmaker[Session], library: None
) -> None:
    who = a_patient(api, language="en")
    made = ok(
        api.post(
            f"/api/v1/patients/{who['id']}/education/assignments",
            json={"material_id": _starter_id(factory, "htn-control-en")},
        ),
        201,
    )
    outbox = count(factory, OutboxMessage, patient_id=uuid.UUID(who["id"]))
    refused = api.post(
        f"/api/v1/education/assignments/{made['id']}/deliver",
        json={"via": "email", "version": made["version"]},
    )
    assert refused.status_code == 422
    assert "not agreed to be contacted by email" in refused.json()["detail"]
    assert count(factory, OutboxMessage, patient_id=uuid.UUID(who["id"])) == outbox
    assert ok(api.get(f"/api/v1/education/assignments/{made['id']}"))["status"] == "assigned"

    email_consent(factory, who["id"], "deny")
    still = api.post(
        f"/api/v1/education/assignments/{made['id']}/deliver",
        json={"via": "email", "version": made["version"]},
    )
    assert still.status_code == 422

    email_consent(factory, who["id"], "permit")
    sent = ok(
        api.post(
            f"/api/v1/education/assignments/{made['id']}/deliver",
            json={"via": "email", "version": made["version"]},
        )
    )
    assert sent["status"] == "delivered"
    assert sent["delivered_via"] == "email"
    with unit_of_work(factory) as db:
        message = db.get(OutboxMessage, uuid.UUID(sent["outbox_message_id"]))
        assert message is not None
        assert message.channel == "email"
        assert message.recipient == who["email"]
        assert message.subject == "High blood pressure: keeping it in check"
        assert "Use less salt" in message.body
        assert message.focus_id == uuid.UUID(made["id"])


def test_teach_back_completes_the_care_plan_activity(
    api: TestClient, factory: sessionmaker[Session], library: None
) -> None:
    who = a_patient(api, language="en")
    with unit_of_work(factory) as db:
        plan = careplans.create_plan(
            db,
            SYSTEM,
            uuid.UUID(who["id"]),
            CarePlanCreate(template_key="heart-failure-post-discharge"),
            clinic_today(),
        )
    found = ok(api.get(f"/api/v1/patients/{who['id']}/education/suggestions"))
    hf = next(s for s in found if _code(factory, s["material"]["id"]) == "hf-home-en")
    assert hf["because"] == ["I50.9"]  # from the care plan's problem
    made = ok(
        api.post(
            f"/api/v1/patients/{who['id']}/education/assignments",
            json={"material_id": hf["material"]["id"], "care_plan_id": str(plan.id)},
        ),
        201,
    )
    assert made["care_plan_id"] == str(plan.id)
    with unit_of_work(factory) as db:
        activity = db.get(CarePlanActivity, uuid.UUID(made["activity_id"]))
        assert activity is not None
        assert (activity.kind, activity.link_type) == ("education", "education")
        assert activity.link_id == uuid.UUID(made["id"])
    printed = ok(
        api.post(
            f"/api/v1/education/assignments/{made['id']}/deliver",
            json={"via": "print", "version": made["version"]},
        )
    )
    vague = api.post(
        f"/api/v1/education/assignments/{made['id']}/teach-back",
        json={"result": "needs-review", "version": printed["version"]},
    )
    assert vague.status_code == 422
    assert [e["field"] for e in vague.json()["errors"]] == ["note"]
    stale = api.post(
        f"/api/v1/education/assignments/{made['id']}/teach-back",
        json={"result": "understood", "version": made["version"]},
    )
    assert stale.status_code == 409
    taught = ok(
        api.post(
            f"/api/v1/education/assignments/{made['id']}/teach-back",
            json={
                "result": "understood",
                "note": "Said the 2 lb rule back.",
                "version": printed["version"],
            },
        )
    )
    assert taught["teach_back"] == "understood"
    assert taught["teach_back_on"] == clinic_today().isoformat()
    with unit_of_work(factory) as db:
        activity = db.get(CarePlanActivity, uuid.UUID(made["activity_id"]))
        assert activity is not None
        assert activity.status == "completed"
    other = a_patient(api)
    wrong_plan = api.post(
        f"/api/v1/patients/{other['id']}/education/assignments",
        json={"material_id": hf["material"]["id"], "care_plan_id": str(plan.id)},
    )
    assert wrong_plan.status_code == 422
    assert [e["field"] for e in wrong_plan.json()["errors"]] == ["care_plan_id"]
    assert count(factory, EducationAssignment, patient_id=uuid.UUID(other["id"])) == 0


def test_term_search_returns_glossary_and_icd10(api: TestClient) -> None:
    found = ok(api.get("/api/v1/education/terms", params={"q": "heart failure"}))
    assert found["glossary"][0]["term"] == "Heart failure"
    assert any(c["term"] == "I50.9" for c in found["icd10"])
    code = ok(api.get("/api/v1/education/terms", params={"q": "E11.9"}))
    assert code["icd10"][0] == {
        "kind": "icd10",
        "term": "E11.9",
        "plain": "Type 2 diabetes mellitus without complications",
        "also": [],
    }
    assert ok(api.get("/api/v1/education/terms"))["glossary"] == []
