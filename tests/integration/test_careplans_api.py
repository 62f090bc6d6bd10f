"""Care plans through the JSON API: plans from templates or blank, problems, goals with
measurable targets and measurements, activities linked to appointments and tasks, reviews,
history and audit. Bad input gets a clear error and stores nothing."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.careplans import library
from carebridge.careplans.models import (
    CarePlan,
    CarePlanActivity,
    CarePlanProblem,
    Goal,
    GoalMeasurement,
)
from carebridge.db.session import unit_of_work
from carebridge.lib.time import utcnow
from carebridge.settings import Settings
from carebridge.tasks.models import Task
from tests.integration import test_scheduling_api as scheduling
from tests.integration.test_patients_api import new_patient, unique_name
from tests.integration.test_scheduling_api import CHICAGO, book, next_weekday, ok
from tests.integration.test_sign_in import audit_rows

# The scheduling tests' fixtures, used here as they are.
api = scheduling.api
clinic = scheduling.clinic


def today(settings: Settings) -> dt.date:
    return utcnow().astimezone(ZoneInfo(settings.timezone)).date()


def patient(api: TestClient) -> dict[str, Any]:
    result: dict[str, Any] = ok(
        api.post("/api/v1/patients", json=new_patient(family_name=unique_name())), 201
    )
    return result


def plan_from(api: TestClient, who: dict[str, Any], **body: Any) -> dict[str, Any]:
    result: dict[str, Any] = ok(
        api.post(f"/api/v1/patients/{who['id']}/care-plans", json=body), 201
    )
    return result


def count(factory: sessionmaker[Session], model: Any, **where: Any) -> int:
    with unit_of_work(factory) as db:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return db.scalar(query) or 0


def problem_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


def fields(body: dict[str, Any]) -> dict[str, str]:
    return {e["field"]: e["message"] for e in body.get("errors", [])}


# --- templates and plans ------------------------------------------------------------------


def test_templates_list_names_their_guidance(api: TestClient) -> None:
    found = ok(api.get("/api/v1/care-plan-templates"))
    keys = {t["key"] for t in found}
    assert {"type-2-diabetes", "heart-failure-post-discharge", "copd", "hypertension"} <= keys
    assert "post-surgical-recovery" in keys
    diabetes = next(t for t in found if t["key"] == "type-2-diabetes")
    assert "Standards of Care in Diabetes 2024" in diabetes["source"]
    assert {"code": "E11.9"}.items() <= diabetes["problems"][0].items()
    assert any(g["target"] == "< 7 %" for g in diabetes["goals"])


def test_plan_from_template_has_its_problems_goals_activities_and_review(
    api: TestClient, settings: Settings, factory: sessionmaker[Session]
) -> None:
    who = patient(api)
    start = today(settings) - dt.timedelta(days=3)
    response = api.post(
        f"/api/v1/patients/{who['id']}/care-plans",
        json={"template_key": "heart-failure-post-discharge", "start_on": start.isoformat()},
    )
    plan = ok(response, 201)
    assert response.headers["etag"] == 'W/"1"'
    assert response.headers["location"] == f"/api/v1/care-plans/{plan['id']}"
    template = library.TEMPLATES["heart-failure-post-discharge"]
    assert plan["title"] == template.title
    assert plan["status"] == "active"
    assert plan["review_every_days"] == 14
    assert plan["next_review_on"] == (start + dt.timedelta(days=14)).isoformat()
    assert plan["end_on"] == (start + dt.timedelta(days=90)).isoformat()
    assert [p["code"] for p in plan["problems"]] == ["I50.9"]
    assert len(plan["goals"]) == len(template.goals)
    assert len(plan["activities"]) == len(template.activities)
    weight = plan["goals"][0]
    assert (weight["comparator"], weight["target_low"], weight["unit"]) == ("<", 2, "lb")
    assert weight["target"] == "< 2 lb"
    assert weight["due_on"] == (start + dt.timedelta(days=30)).isoformat()
    assert weight["problem_id"] == plan["problems"][0]["id"]
    call = plan["activities"][0]
    assert call["kind"] == "task"
    assert call["due_on"] == (start + dt.timedelta(days=2)).isoformat()
    created = audit_rows(factory, action="create", entity_type="CarePlan", entity_id=plan["id"])
    assert created[0].patient_id == uuid.UUID(who["id"])
    listed = ok(api.get(f"/api/v1/patients/{who['id']}/care-plans"))
    assert [(p["id"], p["goals"], p["goals_achieved"]) for p in listed] == [(plan["id"], 4, 0)]
    assert listed[0]["problems"] == ["Heart failure"]
    assert listed[0]["activities_open"] == 6
    read = audit_rows(
        factory, action="read", entity_type="CarePlan", patient_id=uuid.UUID(who["id"])
    )
    assert read, "listing a patient's plans is audited"


def test_blank_plan_needs_a_title(api: TestClient, factory: sessionmaker[Session]) -> None:
    who = patient(api)
    body = problem_of(api.post(f"/api/v1/patients/{who['id']}/care-plans", json={}), 422)
    assert "title" in body["detail"]
    assert "template" in fields(body)["title"]
    assert count(factory, CarePlan, patient_id=uuid.UUID(who["id"])) == 0
    plan = plan_from(api, who, title="Falls prevention", review_every_days=30, status="draft")
    assert (plan["title"], plan["status"], plan["problems"]) == ("Falls prevention", "draft", [])


def test_unknown_template_is_refused_and_nothing_stored(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    who = patient(api)
    response = api.post(
        f"/api/v1/patients/{who['id']}/care-plans", json={"template_key": "asthma-kids"}
    )
    body = problem_of(response, 422)
    assert "'asthma-kids'" in body["detail"]
    assert "type-2-diabetes" in fields(body)["template_key"]
    assert count(factory, CarePlan, patient_id=uuid.UUID(who["id"])) == 0


def test_plan_for_unknown_patient_is_404(api: TestClient) -> None:
    response = api.post(
        f"/api/v1/patients/{uuid.uuid4()}/care-plans", json={"template_key": "copd"}
    )
    assert problem_of(response, 404)["title"] == "Not found"


def test_stale_plan_update_is_409_and_changes_nothing(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    plan = plan_from(api, patient(api), template_key="hypertension")
    url = f"/api/v1/care-plans/{plan['id']}"
    first = ok(api.patch(url, json={"version": 1, "title": "Blood pressure"}))
    assert first["version"] == 2
    stale = problem_of(api.patch(url, json={"version": 1, "title": "Something else"}), 409)
    assert "version 2" in stale["detail"]
    assert "Nothing was saved" in stale["detail"]
    assert stale["current_version"] == 2
    assert ok(api.get(url))["title"] == "Blood pressure"


def test_review_sets_the_next_one_and_closing_stops_reviews(
    api: TestClient, settings: Settings
) -> None:
    plan = plan_from(api, patient(api), template_key="type-2-diabetes")
    url = f"/api/v1/care-plans/{plan['id']}"
    day = today(settings)
    reviewed = ok(api.post(f"{url}/review", json={"version": plan["version"]}))
    assert reviewed["last_reviewed_on"] == day.isoformat()
    assert reviewed["next_review_on"] == (day + dt.timedelta(days=90)).isoformat()
    assert problem_of(api.post(f"{url}/review", json={"version": plan["version"]}), 409)
    shorter = ok(api.patch(url, json={"version": reviewed["version"], "review_every_days": 30}))
    assert shorter["next_review_on"] == (day + dt.timedelta(days=30)).isoformat()
    done = ok(api.patch(url, json={"version": shorter["version"], "status": "completed"}))
    assert done["next_review_on"] is None
    assert done["end_on"] == day.isoformat()
    refused = api.post(f"{url}/goals", json={"description": "Walk more", "target": ">= 30"})
    assert "set it back to active" in problem_of(refused, 409)["detail"]
    again = ok(api.patch(url, json={"version": done["version"], "status": "active"}))
    assert again["next_review_on"] == (day + dt.timedelta(days=30)).isoformat()


def test_plan_that_ends_before_it_starts_is_refused(api: TestClient) -> None:
    who = patient(api)
    response = api.post(
        f"/api/v1/patients/{who['id']}/care-plans",
        json={"title": "X", "start_on": "2026-05-01", "end_on": "2026-04-01"},
    )
    body = problem_of(response, 422)
    assert "would end (2026-04-01) before it starts" in body["detail"]
    assert "end_on" in fields(body)


# --- problems -----------------------------------------------------------------------------


def test_problem_codes_are_checked_against_icd10(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    plan = plan_from(api, patient(api), title="Kidneys")
    url = f"/api/v1/care-plans/{plan['id']}/problems"
    added = ok(api.post(url, json={"code": "n18.30"}), 201)
    assert added["code"] == "N18.30"
    assert added["description"].startswith("Chronic kidney disease, stage 3")
    bad = problem_of(api.post(url, json={"code": "N18"}), 422)
    assert "code" in fields(bad)
    assert count(factory, CarePlanProblem, care_plan_id=uuid.UUID(plan["id"])) == 1
    plain = ok(api.post(url, json={"description": "Lives alone, falls"}), 201)
    assert plain["code"] is None
    gone = ok(
        api.patch(
            f"/api/v1/care-plan-problems/{plain['id']}",
            json={"version": plain["version"], "status": "entered-in-error"},
        )
    )
    assert gone["status"] == "entered-in-error"
    listed = ok(api.get(f"/api/v1/patients/{plan['patient_id']}/care-plans"))
    assert listed[0]["problems"] == [added["description"]]


# --- goals and measurements --------------------------------------------------------------


def test_unparseable_target_is_422_naming_it_and_stores_nothing(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    plan = plan_from(api, patient(api), title="Weight")
    response = api.post(
        f"/api/v1/care-plans/{plan['id']}/goals",
        json={"description": "Lose weight", "target": "lose some weight"},
    )
    body = problem_of(response, 422)
    assert "'lose some weight'" in body["detail"]
    assert "between 70 and 180" in body["detail"]
    assert "'lose some weight' is not a target" in fields(body)["target"]
    assert count(factory, Goal, care_plan_id=uuid.UUID(plan["id"])) == 0


def test_goal_unit_must_agree_with_its_target(api: TestClient) -> None:
    plan = plan_from(api, patient(api), title="Sugar")
    response = api.post(
        f"/api/v1/care-plans/{plan['id']}/goals",
        json={"description": "Fasting sugar", "target": "80-130 mg/dL", "unit": "mmol/L"},
    )
    assert "mg/dL" in fields(problem_of(response, 422))["unit"]


def _goal(api: TestClient, plan: dict[str, Any], **body: Any) -> dict[str, Any]:
    made: dict[str, Any] = ok(api.post(f"/api/v1/care-plans/{plan['id']}/goals", json=body), 201)
    return made


def _measure(api: TestClient, goal: dict[str, Any], value: Any, day: dt.date) -> Any:
    return api.post(
        f"/api/v1/goals/{goal['id']}/measurements",
        json={"value": value, "measured_on": day.isoformat()},
    )


def _goal_now(api: TestClient, plan: dict[str, Any], goal_id: str) -> dict[str, Any]:
    detail = ok(api.get(f"/api/v1/care-plans/{plan['id']}"))
    found: dict[str, Any] = next(g for g in detail["goals"] if g["id"] == goal_id)
    return found


def test_measurements_drive_achievement_until_a_person_sets_it(
    api: TestClient, settings: Settings
) -> None:
    plan = plan_from(api, patient(api), title="Diabetes")
    goal = _goal(api, plan, description="HbA1c below 7 %", measure="HbA1c", target="<7%")
    assert (goal["target"], goal["unit"], goal["achievement_status"]) == (
        "< 7 %",
        "%",
        "in-progress",
    )
    day = today(settings)
    first = ok(_measure(api, goal, 8.4, day - dt.timedelta(days=120)), 201)
    assert first["meets_target"] is False
    assert _goal_now(api, plan, goal["id"])["achievement_status"] == "in-progress"
    ok(_measure(api, goal, "7.6", day - dt.timedelta(days=60)), 201)
    assert _goal_now(api, plan, goal["id"])["achievement_status"] == "improving"
    ok(_measure(api, goal, 7.9, day - dt.timedelta(days=30)), 201)
    assert _goal_now(api, plan, goal["id"])["achievement_status"] == "worsening"
    # The team records its judgment; a back-filled older reading leaves it alone.
    current = _goal_now(api, plan, goal["id"])
    judged = ok(
        api.patch(
            f"/api/v1/goals/{goal['id']}",
            json={"version": current["version"], "achievement_status": "no-progress"},
        )
    )
    assert judged["achievement_set_on"] == day.isoformat()
    ok(_measure(api, goal, 6.1, day - dt.timedelta(days=10)), 201)
    after = _goal_now(api, plan, goal["id"])
    assert after["achievement_status"] == "no-progress"
    assert [m["value"] for m in after["measurements"]] == [8.4, 7.6, 7.9, 6.1]
    assert [m["meets_target"] for m in after["measurements"]] == [False, False, False, True]


def test_a_reading_after_a_judgment_works_achievement_out_again(
    api: TestClient, settings: Settings, factory: sessionmaker[Session]
) -> None:
    plan = plan_from(api, patient(api), title="Activity")
    goal = _goal(api, plan, description="Walk", measure="Walking", target=">= 150 min/week")
    day = today(settings)
    with unit_of_work(factory) as db:
        row = db.get(Goal, uuid.UUID(goal["id"]))
        assert row is not None
        row.achievement_status, row.achievement_set_on = (
            "not-attainable",
            day - dt.timedelta(days=2),
        )
    ok(_measure(api, goal, 160, day - dt.timedelta(days=3)), 201)
    assert _goal_now(api, plan, goal["id"])["achievement_status"] == "not-attainable"
    ok(_measure(api, goal, 170, day), 201)
    now = _goal_now(api, plan, goal["id"])
    assert (now["achievement_status"], now["achievement_set_on"]) == ("achieved", None)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("seven", "valid decimal"),
        (True, "integer, float, string or Decimal"),
        ("NaN", "finite number"),
        (7.12345, "3 decimal places"),
        (None, "integer, float, string or Decimal"),
    ],
)
def test_a_measurement_must_be_a_number(
    api: TestClient, settings: Settings, factory: sessionmaker[Session], value: Any, says: str
) -> None:
    plan = plan_from(api, patient(api), title="Numbers")
    goal = _goal(api, plan, description="A1c", measure="HbA1c", target="< 7 %")
    body = problem_of(_measure(api, goal, value, today(settings)), 422)
    assert says in fields(body)["value"]
    assert count(factory, GoalMeasurement, goal_id=uuid.UUID(goal["id"])) == 0


def test_a_measurement_in_the_future_is_refused(
    api: TestClient, settings: Settings, factory: sessionmaker[Session]
) -> None:
    plan = plan_from(api, patient(api), title="Dates")
    goal = _goal(api, plan, description="A1c", target="< 7 %")
    response = _measure(api, goal, 6.5, today(settings) + dt.timedelta(days=1))
    assert "future" in problem_of(response, 422)["detail"]
    assert count(factory, GoalMeasurement, goal_id=uuid.UUID(goal["id"])) == 0


def test_a_wrong_reading_is_marked_in_error_and_achievement_follows(
    api: TestClient, settings: Settings
) -> None:
    plan = plan_from(api, patient(api), title="BP")
    goal = _goal(api, plan, description="SBP", measure="Systolic", target="< 130 mmHg")
    day = today(settings)
    ok(_measure(api, goal, 150, day - dt.timedelta(days=20)), 201)
    typo = ok(_measure(api, goal, 12, day - dt.timedelta(days=5)), 201)
    assert _goal_now(api, plan, goal["id"])["achievement_status"] == "achieved"
    fixed = ok(
        api.patch(
            f"/api/v1/goal-measurements/{typo['id']}",
            json={"version": typo["version"], "status": "entered-in-error"},
        )
    )
    assert (fixed["status"], fixed["meets_target"]) == ("entered-in-error", None)
    assert _goal_now(api, plan, goal["id"])["achievement_status"] == "in-progress"
    listed = ok(api.get(f"/api/v1/goals/{goal['id']}/measurements"))
    assert [m["status"] for m in listed] == ["final", "entered-in-error"]
    stale = api.patch(f"/api/v1/goal-measurements/{typo['id']}", json={"version": 1, "note": "x"})
    assert problem_of(stale, 409)["current_version"] == 2


def test_stale_goal_update_is_409(api: TestClient, factory: sessionmaker[Session]) -> None:
    plan = plan_from(api, patient(api), template_key="copd")
    goal = plan["goals"][0]
    url = f"/api/v1/goals/{goal['id']}"
    changed = ok(api.patch(url, json={"version": goal["version"], "target": "<= 12 points"}))
    assert changed["target"] == "<= 12 points"
    stale = api.patch(url, json={"version": goal["version"], "description": "Old"})
    assert problem_of(stale, 409)["current_version"] == changed["version"]
    with unit_of_work(factory) as db:
        row = db.get(Goal, uuid.UUID(goal["id"]))
        assert row is not None
        assert row.description == goal["description"]
    bad = api.patch(url, json={"version": changed["version"], "target": "twelve"})
    assert "'twelve'" in problem_of(bad, 422)["detail"]
    assert _goal_now(api, plan, goal["id"])["target"] == "<= 12 points"


# --- activities ---------------------------------------------------------------------------


def test_task_activity_raises_a_task_on_the_worklist(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    who = patient(api)
    plan = plan_from(api, who, title="After discharge")
    due = next_weekday(3)
    made = ok(
        api.post(
            f"/api/v1/care-plans/{plan['id']}/activities",
            json={
                "kind": "task",
                "description": "Call within 2 days of discharge",
                "due_on": due.isoformat(),
                "raise_task": True,
            },
        ),
        201,
    )
    assert (made["link_type"], made["status"]) == ("task", "scheduled")
    with unit_of_work(factory) as db:
        task = db.get(Task, uuid.UUID(made["link_id"]))
        assert task is not None
        assert (task.focus_type, task.focus_id) == ("CarePlanActivity", uuid.UUID(made["id"]))
        assert (task.kind, task.patient_id) == ("care-plan", uuid.UUID(who["id"]))
        assert task.title == "Call within 2 days of discharge"
        assert task.due_at.astimezone(CHICAGO) == dt.datetime.combine(due, dt.time(17), CHICAGO)
    wrong = api.post(
        f"/api/v1/care-plans/{plan['id']}/activities",
        json={"kind": "education", "description": "Leaflet", "raise_task": True},
    )
    assert "Only a task activity" in problem_of(wrong, 422)["detail"]


def test_links_must_be_this_patients_records(
    api: TestClient, clinic: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    mine = clinic["patient"]
    theirs = patient(api)
    plan = plan_from(api, mine, title="Follow-up")
    start = dt.datetime.combine(next_weekday(4), dt.time(10), CHICAGO)
    my_visit = ok(book(api, clinic, start), 201)
    their_visit = ok(book(api, clinic, start + dt.timedelta(hours=1), patient=theirs), 201)
    url = f"/api/v1/care-plans/{plan['id']}/activities"

    def link(kind: str, link_type: str, link_id: str) -> Any:
        return api.post(
            url,
            json={
                "kind": kind,
                "description": "Follow-up visit within 7 days",
                "link_type": link_type,
                "link_id": link_id,
            },
        )

    refused = problem_of(link("appointment", "appointment", their_visit["id"]), 422)
    assert "belongs to another patient" in refused["detail"]
    assert "this patient's appointments" in fields(refused)["link_id"]
    missing = problem_of(link("appointment", "appointment", str(uuid.uuid4())), 422)
    assert "No appointment" in missing["detail"]
    their_plan = plan_from(api, theirs, title="Theirs")
    their_task = ok(
        api.post(
            f"/api/v1/care-plans/{their_plan['id']}/activities",
            json={"kind": "task", "description": "Call", "raise_task": True},
        ),
        201,
    )
    refused_task = problem_of(link("task", "task", their_task["link_id"]), 422)
    assert "task" in refused_task["detail"]
    assert "another patient" in refused_task["detail"]
    assert count(factory, CarePlanActivity, care_plan_id=uuid.UUID(plan["id"])) == 0
    linked = ok(link("appointment", "appointment", my_visit["id"]), 201)
    assert linked["link_id"] == my_visit["id"]
    referral = ok(link("referral", "referral", str(uuid.uuid4())), 201)
    assert referral["link_type"] == "referral"  # referrals arrive later; kept as given
    half = api.post(url, json={"kind": "other", "description": "x", "link_type": "task"})
    assert "both link_type and link_id" in problem_of(half, 422)["detail"]
    done = ok(
        api.patch(
            f"/api/v1/care-plan-activities/{linked['id']}",
            json={"version": linked["version"], "status": "completed"},
        )
    )
    assert done["status"] == "completed"
    stale = api.patch(
        f"/api/v1/care-plan-activities/{linked['id']}",
        json={"version": linked["version"], "status": "cancelled"},
    )
    assert problem_of(stale, 409)
    moved = api.patch(
        f"/api/v1/care-plan-activities/{linked['id']}",
        json={"version": done["version"], "link_id": their_visit["id"]},
    )
    assert "another patient" in problem_of(moved, 422)["detail"]


# --- history ------------------------------------------------------------------------------


def test_history_keeps_every_change_with_who_and_when(api: TestClient, settings: Settings) -> None:
    plan = plan_from(api, patient(api), template_key="post-surgical-recovery")
    goal = plan["goals"][0]
    ok(_measure(api, goal, 5, today(settings)), 201)
    ok(api.patch(f"/api/v1/care-plans/{plan['id']}", json={"version": 1, "title": "Knee"}))
    changes = ok(api.get(f"/api/v1/care-plans/{plan['id']}/history"))
    newest = changes[0]
    assert (newest["entity_type"], newest["action"]) == ("CarePlan", "update")
    assert newest["changes"] == {"title": "Knee"}
    assert newest["changed_by"].startswith("coordinator-")
    kinds = {c["entity_type"] for c in changes}
    assert kinds == {"CarePlan", "CarePlanProblem", "Goal", "GoalMeasurement", "CarePlanActivity"}
    measured = next(c for c in changes if c["entity_type"] == "GoalMeasurement")
    assert measured["label"].startswith("5 on ")
    assert changes[-1]["entity_type"] == "CarePlan"
    assert changes[-1]["action"] == "create"
