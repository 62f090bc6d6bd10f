"""Care plans and goals written through FHIR are the care plan screens' changes: a CarePlan
is a new plan (title, status, period), a Goal a goal on the patient's open plan (or the plan
its extension names) with its target read as the goal form reads one; updates change what
those screens change, guarded by If-Match, with the same audit."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.careplans.models import CarePlan, Goal
from carebridge.db.session import unit_of_work
from carebridge.security.models import AuditEvent
from carebridge.security.roles import Role
from tests.integration.test_fhir_read import bearer
from tests.integration.test_fhir_search import register

JSON = {"Content-Type": "application/fhir+json"}
OUTCOME = {"Prefer": "return=OperationOutcome"}
ACHIEVEMENT = "http://terminology.hl7.org/CodeSystem/goal-achievement"
PLAN_EXTENSION = "urn:carebridge:care-plan"


def a_plan(patient: uuid.UUID, title: str = "Diabetes care") -> dict[str, Any]:
    return {
        "resourceType": "CarePlan",
        "status": "active",
        "intent": "plan",
        "title": title,
        "description": "Bring HbA1c under 7 % within six months",
        "subject": {"reference": f"Patient/{patient}"},
        "period": {"start": "2025-01-06"},
    }


def a_goal(patient: uuid.UUID, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Goal",
        "lifecycleStatus": "active",
        "description": {"text": "HbA1c below 7 %"},
        "subject": {"reference": f"Patient/{patient}"},
        "target": [
            {
                "measure": {"text": "HbA1c"},
                "detailQuantity": {"value": 7, "comparator": "<", "unit": "%"},
                "dueDate": "2025-07-01",
            }
        ],
        "note": [{"text": "Your sugar test under 7"}],
        **extra,
    }


def a_chart(factory: sessionmaker[Session]) -> uuid.UUID:
    return register(factory, "Cp" + uuid.uuid4().hex[:8], "Ines", dt.date(1952, 9, 30))


def _plans(factory: sessionmaker[Session], patient: uuid.UUID) -> int:
    with unit_of_work(factory, write=False) as db:
        found = select(func.count()).select_from(CarePlan).where(CarePlan.patient_id == patient)
        return int(db.scalar(found) or 0)


def _audited(factory: sessionmaker[Session], kind: str, entity_id: str) -> list[str]:
    """The changes audited on a record, oldest first."""
    with unit_of_work(factory, write=False) as db:
        rows = db.scalars(
            select(AuditEvent.action)
            .where(
                AuditEvent.entity_type == kind,
                AuditEvent.entity_id == entity_id,
                AuditEvent.action != "read",
            )
            .order_by(AuditEvent.id)
        )
        return list(rows)


def test_a_plan_and_its_goal_are_made_and_changed_through_fhir(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = {**bearer(factory), **JSON}
    patient = a_chart(factory)
    made = client.post("/fhir/R4/CarePlan", json=a_plan(patient), headers=headers)
    assert made.status_code == 201, made.text
    plan = made.json()
    assert made.headers["location"].endswith(f"/fhir/R4/CarePlan/{plan['id']}/_history/1")
    assert (plan["title"], plan["status"], plan["period"]) == (
        "Diabetes care",
        "active",
        {"start": "2025-01-06"},
    )
    assert _audited(factory, "CarePlan", plan["id"]) == ["create"]

    goal_made = client.post("/fhir/R4/Goal", json=a_goal(patient), headers=headers)
    assert goal_made.status_code == 201, goal_made.text
    goal = goal_made.json()
    assert goal["target"][0]["detailQuantity"] == {"value": 7, "comparator": "<", "unit": "%"}
    with unit_of_work(factory, write=False) as db:
        row = db.get(Goal, uuid.UUID(goal["id"]))
        assert row is not None
        assert (row.care_plan_id, row.measure, row.comparator, row.target_low, row.unit) == (
            uuid.UUID(plan["id"]),
            "HbA1c",
            "<",
            Decimal(7),
            "%",
        )
        assert (row.due_on, row.plain_words) == (dt.date(2025, 7, 1), "Your sugar test under 7")
    listed = client.get(f"/fhir/R4/CarePlan/{plan['id']}", headers=headers).json()
    assert listed["goal"] == [{"reference": f"Goal/{goal['id']}"}]

    reached = {
        **goal,
        "lifecycleStatus": "completed",
        "achievementStatus": {"coding": [{"system": ACHIEVEMENT, "code": "achieved"}]},
        "target": [
            {
                "measure": {"text": "HbA1c"},
                "detailRange": {"low": {"value": 6, "unit": "%"}, "high": {"value": 7.5}},
                "dueDate": "2025-07-01",
            }
        ],
    }
    changed = client.put(
        f"/fhir/R4/Goal/{goal['id']}", json=reached, headers={**headers, "If-Match": 'W/"1"'}
    )
    assert changed.status_code == 200, changed.text
    assert changed.headers["etag"] == 'W/"2"'
    assert changed.json()["achievementStatus"]["coding"][0]["code"] == "achieved"
    stale = client.put(
        f"/fhir/R4/Goal/{goal['id']}", json=reached, headers={**headers, "If-Match": 'W/"1"'}
    )
    assert stale.status_code == 412
    with unit_of_work(factory, write=False) as db:
        row = db.get(Goal, uuid.UUID(goal["id"]))
        assert row is not None
        assert (row.lifecycle_status, row.achievement_status) == ("completed", "achieved")
        assert (row.comparator, row.target_low, row.target_high) == (
            "between",
            Decimal(6),
            Decimal("7.5"),
        )
        assert row.achievement_set_on is not None  # a person's judgment, kept by hand
    assert _audited(factory, "Goal", goal["id"]) == ["create", "update"]

    current = client.get(f"/fhir/R4/CarePlan/{plan['id']}", headers=headers).json()
    closed = {**current, "status": "completed", "activity": [{"detail": {"status": "scheduled"}}]}
    done = client.put(
        f"/fhir/R4/CarePlan/{plan['id']}",
        json=closed,
        headers={**headers, "If-Match": f'W/"{current["meta"]["versionId"]}"', **OUTCOME},
    )
    assert done.status_code == 200, done.text
    assert [i["diagnostics"].split(":")[0] for i in done.json()["issue"]] == ["CarePlan.activity"]
    with unit_of_work(factory, write=False) as db:
        row_plan = db.get(CarePlan, uuid.UUID(plan["id"]))
        assert row_plan is not None
        # Closed as on the screen: it ends (today) and is no longer due for review.
        assert (row_plan.status, row_plan.next_review_on) == ("completed", None)
        assert row_plan.end_on is not None
    assert _audited(factory, "CarePlan", plan["id"]) == ["create", "update"]


def test_a_goal_goes_on_the_plan_its_extension_names(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = {**bearer(factory), **JSON}
    patient = a_chart(factory)
    nowhere = client.post("/fhir/R4/Goal", json=a_goal(patient), headers=headers)
    assert nowhere.status_code == 422
    assert nowhere.json()["issue"][0]["expression"] == ["Goal.subject"]
    first = client.post("/fhir/R4/CarePlan", json=a_plan(patient), headers=headers).json()
    second = client.post(
        "/fhir/R4/CarePlan", json=a_plan(patient, "Falls prevention"), headers=headers
    ).json()
    which = client.post("/fhir/R4/Goal", json=a_goal(patient), headers=headers)
    assert which.status_code == 422
    assert which.json()["issue"][0]["expression"] == ["Goal.extension"]
    named = a_goal(
        patient,
        extension=[
            {"url": PLAN_EXTENSION, "valueReference": {"reference": f"CarePlan/{second['id']}"}}
        ],
    )
    made = client.post("/fhir/R4/Goal", json=named, headers=headers)
    assert made.status_code == 201, made.text
    with unit_of_work(factory, write=False) as db:
        row = db.get(Goal, uuid.UUID(made.json()["id"]))
        assert row is not None
        assert row.care_plan_id == uuid.UUID(second["id"])
    other = a_chart(factory)
    foreign = a_goal(
        other,
        extension=[
            {"url": PLAN_EXTENSION, "valueReference": {"reference": f"CarePlan/{first['id']}"}}
        ],
    )
    refused = client.post("/fhir/R4/Goal", json=foreign, headers=headers)
    assert refused.status_code == 422
    assert refused.json()["issue"][0]["expression"] == ["Goal.extension"]


def test_bad_plans_and_goals_are_refused_naming_the_element(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = {**bearer(factory), **JSON}
    patient = a_chart(factory)
    unknown = client.post(
        "/fhir/R4/CarePlan", json={**a_plan(patient), "status": "unknown"}, headers=headers
    )
    assert unknown.status_code == 422, unknown.text
    assert unknown.json()["issue"][0]["expression"] == ["CarePlan.status"]
    untitled = {k: v for k, v in a_plan(patient).items() if k != "title"}
    missing = client.post("/fhir/R4/CarePlan", json=untitled, headers=headers)
    assert missing.status_code == 422
    assert missing.json()["issue"][0]["expression"] == ["CarePlan.title"]
    backwards = {**a_plan(patient), "period": {"start": "2025-03-01", "end": "2025-02-01"}}
    ends = client.post("/fhir/R4/CarePlan", json=backwards, headers=headers)
    assert ends.status_code == 422
    assert ends.json()["issue"][0]["expression"] == ["CarePlan.period.end"]
    assert _plans(factory, patient) == 0

    client.post("/fhir/R4/CarePlan", json=a_plan(patient), headers=headers)
    odd_target = a_goal(patient)
    odd_target["target"][0]["detailQuantity"]["comparator"] = "ad"
    wrong = client.post("/fhir/R4/Goal", json=odd_target, headers=headers)
    assert wrong.status_code == 422
    assert wrong.json()["issue"][0]["expression"] == ["Goal.target"]
    rejected = client.post(
        "/fhir/R4/Goal", json={**a_goal(patient), "lifecycleStatus": "rejected"}, headers=headers
    )
    assert rejected.status_code == 422
    assert rejected.json()["issue"][0]["expression"] == ["Goal.lifecycleStatus"]
    with unit_of_work(factory, write=False) as db:
        goals = db.scalar(
            select(func.count())
            .select_from(Goal)
            .join(CarePlan, CarePlan.id == Goal.care_plan_id)
            .where(CarePlan.patient_id == patient)
        )
    assert goals == 0


def test_care_plans_are_written_only_by_roles_that_may_change_them(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    patient = a_chart(factory)
    billing = {**bearer(factory, Role.BILLING), **JSON}
    refused = client.post("/fhir/R4/CarePlan", json=a_plan(patient), headers=billing)
    assert refused.status_code == 403
    assert client.post("/fhir/R4/Goal", json=a_goal(patient), headers=billing).status_code == 403
    assert _plans(factory, patient) == 0
