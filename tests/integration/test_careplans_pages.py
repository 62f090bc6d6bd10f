"""The care-plan screens over HTTP, as a browser without JavaScript uses them: the chart's
tab, a plan from a template, goals, measurements and their chart, activities, review,
history and the printable summary. A refused form comes back with the reason beside the
field, what was typed kept, and nothing stored."""

from __future__ import annotations

import datetime as dt
import html
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.careplans import service
from carebridge.careplans.models import CarePlan, CarePlanActivity, Goal, GoalMeasurement
from carebridge.careplans.schemas import ActivityCreate, CarePlanCreate, CarePlanDetail
from carebridge.db.session import unit_of_work
from carebridge.lib.time import utcnow
from carebridge.patients import service as patients
from carebridge.patients.schemas import PatientCreate
from carebridge.security.audit import Actor
from carebridge.security.roles import Role
from carebridge.settings import Settings
from tests.factories import csrf_from, make_user, sign_in
from tests.integration.test_patients_api import new_patient
from tests.integration.test_sign_in import audit_rows

SYSTEM = Actor.system("test")


def today(settings: Settings) -> dt.date:
    return utcnow().astimezone(ZoneInfo(settings.timezone)).date()


@pytest.fixture
def coordinator(client: TestClient, factory: sessionmaker[Session]) -> TestClient:
    user = make_user(factory, Role.COORDINATOR)
    assert sign_in(client, user.username).status_code == 303
    return client


def a_patient(factory: sessionmaker[Session]) -> uuid.UUID:
    with unit_of_work(factory) as db:
        return patients.register(db, SYSTEM, PatientCreate.model_validate(new_patient())).id


def a_plan(
    factory: sessionmaker[Session], patient_id: uuid.UUID, settings: Settings, key: str
) -> CarePlanDetail:
    with unit_of_work(factory) as db:
        return service.create_plan(
            db, SYSTEM, patient_id, CarePlanCreate(template_key=key), today(settings)
        )


def count(factory: sessionmaker[Session], model: Any, **where: Any) -> int:
    with unit_of_work(factory) as db:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return db.scalar(query) or 0


def post(client: TestClient, path: str, page: str, data: dict[str, str]) -> Any:
    """Submit a form from ``page`` as a browser would (with the page's CSRF token)."""
    token = csrf_from(client.get(page))
    return client.post(path, data={**data, "csrf_token": token})


def text(response: Any) -> str:
    return html.unescape(response.text)


def test_chart_tab_and_a_plan_from_the_diabetes_template(
    coordinator: TestClient, factory: sessionmaker[Session], settings: Settings
) -> None:
    patient_id = a_patient(factory)
    chart = coordinator.get(f"/patients/{patient_id}")
    assert f'href="/patients/{patient_id}/care-plans"' in chart.text
    empty = coordinator.get(f"/patients/{patient_id}/care-plans")
    assert "No care plans" in empty.text
    form = coordinator.get(f"/patients/{patient_id}/care-plans/new")
    assert "Standards of Care in Diabetes 2024" in form.text
    made = post(
        coordinator,
        f"/patients/{patient_id}/care-plans",
        f"/patients/{patient_id}/care-plans/new",
        {"template_key": "type-2-diabetes", "start_on": today(settings).isoformat()},
    )
    assert made.status_code == 303, made.text
    page = coordinator.get(made.headers["location"])
    assert page.status_code == 200
    shown = text(page)
    assert "Care plan started from the template" in shown
    assert "HbA1c below 7 %" in shown
    assert "HbA1c < 7 %" in shown
    assert "E11.9" in shown
    assert "Mark reviewed today" in shown
    assert 'aria-current="page">Care plans' in page.text
    plan_id = uuid.UUID(made.headers["location"].rsplit("/", 1)[-1])
    assert audit_rows(factory, action="read", entity_type="CarePlan", entity_id=str(plan_id))


def test_unknown_template_comes_back_on_the_form(
    coordinator: TestClient, factory: sessionmaker[Session]
) -> None:
    patient_id = a_patient(factory)
    refused = post(
        coordinator,
        f"/patients/{patient_id}/care-plans",
        f"/patients/{patient_id}/care-plans/new",
        {"template_key": "asthma-kids", "title": "Kept title"},
    )
    assert refused.status_code == 422
    assert "Choose one of" in refused.text
    assert 'value="Kept title"' in refused.text
    assert count(factory, CarePlan, patient_id=patient_id) == 0


def test_goal_target_and_measurement_errors_are_said_beside_the_field(
    coordinator: TestClient, factory: sessionmaker[Session], settings: Settings
) -> None:
    patient_id = a_patient(factory)
    plan = a_plan(factory, patient_id, settings, "hypertension")
    base = f"/patients/{patient_id}/care-plans/{plan.id}"
    refused = post(
        coordinator,
        f"{base}/goals",
        base,
        {"description": "Lose weight", "target": "lose some weight"},
    )
    assert refused.status_code == 422
    said = text(refused)
    assert "'lose some weight' is not a target" in said
    assert 'value="lose some weight"' in said  # what was typed is kept
    assert count(factory, Goal, care_plan_id=plan.id) == len(plan.goals)
    goal = plan.goals[0]
    not_a_number = post(
        coordinator,
        f"{base}/goals/{goal.id}/measurements",
        base,
        {"value": "one-forty", "measured_on": today(settings).isoformat()},
    )
    assert not_a_number.status_code == 422
    assert "Enter a number, e.g. 7.2" in not_a_number.text
    assert count(factory, GoalMeasurement, goal_id=goal.id) == 0


def test_a_measurement_shows_on_the_goals_chart(
    coordinator: TestClient, factory: sessionmaker[Session], settings: Settings
) -> None:
    patient_id = a_patient(factory)
    plan = a_plan(factory, patient_id, settings, "type-2-diabetes")
    base = f"/patients/{patient_id}/care-plans/{plan.id}"
    a1c = next(g for g in plan.goals if g.measure == "HbA1c")
    for value, days_ago in (("8.2", 90), ("7.4", 0)):
        day = today(settings) - dt.timedelta(days=days_ago)
        done = post(
            coordinator,
            f"{base}/goals/{a1c.id}/measurements",
            base,
            {"value": value, "measured_on": day.isoformat()},
        )
        assert done.status_code == 303, done.text
    page = coordinator.get(base)
    assert "Recorded 7.4. Not on target yet." in text(page)
    shown = text(page)
    assert (
        f'<svg viewBox="0 0 560 220" width="100%" role="img" aria-labelledby="chart-{a1c.id}'
        in (shown)
    )
    assert "HbA1c over time, 2 measurements." in shown
    assert "7.4 %, does not meet it." in shown
    assert "Improving" in shown


def test_stale_plan_edit_is_409_and_keeps_what_was_typed(
    coordinator: TestClient, factory: sessionmaker[Session], settings: Settings
) -> None:
    patient_id = a_patient(factory)
    plan = a_plan(factory, patient_id, settings, "copd")
    base = f"/patients/{patient_id}/care-plans/{plan.id}"
    first = post(
        coordinator,
        f"{base}/edit",
        base,
        {"title": "COPD plan", "status": "active", "start_on": str(plan.start_on), "version": "1"},
    )
    assert first.status_code == 303
    stale = post(
        coordinator,
        f"{base}/edit",
        base,
        {"title": "Another", "status": "active", "start_on": str(plan.start_on), "version": "1"},
    )
    assert stale.status_code == 409
    assert "changed by someone else" in stale.text
    assert 'value="Another"' in stale.text
    with unit_of_work(factory) as db:
        row = db.get(CarePlan, plan.id)
        assert row is not None
        assert (row.title, row.version) == ("COPD plan", 2)


def test_linking_another_patients_task_is_refused(
    coordinator: TestClient, factory: sessionmaker[Session], settings: Settings
) -> None:
    mine, theirs = a_patient(factory), a_patient(factory)
    plan = a_plan(factory, mine, settings, "post-surgical-recovery")
    other = a_plan(factory, theirs, settings, "post-surgical-recovery")
    with unit_of_work(factory) as db:
        task = service.add_activity(
            db,
            SYSTEM,
            other.id,
            ActivityCreate(kind="task", description="Their call", raise_task=True),
        )
    base = f"/patients/{mine}/care-plans/{plan.id}"
    refused = post(
        coordinator,
        f"{base}/activities",
        base,
        {"kind": "task", "description": "Call", "link": f"task:{task.link_id}"},
    )
    assert refused.status_code == 422
    assert "Link one of this patient's tasks." in text(refused)
    assert count(factory, CarePlanActivity, care_plan_id=plan.id) == len(plan.activities)
    raised = post(
        coordinator,
        f"{base}/activities",
        base,
        {"kind": "task", "description": "Check wound photos", "link": "new-task"},
    )
    assert raised.status_code == 303
    assert "Check wound photos" in coordinator.get(base).text


def test_review_history_and_printable_summary(
    coordinator: TestClient, factory: sessionmaker[Session], settings: Settings
) -> None:
    patient_id = a_patient(factory)
    plan = a_plan(factory, patient_id, settings, "heart-failure-post-discharge")
    base = f"/patients/{patient_id}/care-plans/{plan.id}"
    reviewed = post(coordinator, f"{base}/review", base, {"version": str(plan.version)})
    assert reviewed.status_code == 303
    due = (today(settings) + dt.timedelta(days=14)).strftime("%d %b %Y")
    assert f"The next review is due {due}" in text(coordinator.get(base))
    history = coordinator.get(f"{base}/history")
    assert history.status_code == 200
    assert "Plan changed" in history.text
    assert "Last reviewed on" in history.text
    summary = coordinator.get(f"{base}/summary")
    assert summary.status_code == 200
    shown = text(summary)
    assert "Your care plan: Heart failure: the first weeks after discharge" in shown
    assert "Weigh yourself every morning" in shown
    assert "How it is going:" in shown
    assert 'class="topbar"' not in shown  # no navigation on the patient's copy
    assert "care-plan-summary.css" in shown
    assert coordinator.get("/static/care-plan-summary.css").status_code == 200


def test_a_plan_under_another_patients_address_is_not_found(
    coordinator: TestClient, factory: sessionmaker[Session], settings: Settings
) -> None:
    mine, theirs = a_patient(factory), a_patient(factory)
    plan = a_plan(factory, theirs, settings, "copd")
    assert coordinator.get(f"/patients/{mine}/care-plans/{plan.id}").status_code == 404
    goal = plan.goals[0]
    own = a_plan(factory, mine, settings, "copd")
    wrong = post(
        coordinator,
        f"/patients/{mine}/care-plans/{own.id}/goals/{goal.id}/measurements",
        f"/patients/{mine}/care-plans/{own.id}",
        {"value": "5", "measured_on": today(settings).isoformat()},
    )
    assert wrong.status_code == 404
    assert count(factory, GoalMeasurement, goal_id=goal.id) == 0


def test_billing_sees_no_care_plans(client: TestClient, factory: sessionmaker[Session]) -> None:
    patient_id = a_patient(factory)
    user = make_user(factory, Role.BILLING)
    sign_in(client, user.username)
    chart = client.get(f"/patients/{patient_id}")
    assert chart.status_code == 200
    assert "/care-plans" not in chart.text
    assert client.get(f"/patients/{patient_id}/care-plans").status_code == 403


def test_problems_and_activity_statuses_from_their_rows(
    coordinator: TestClient, factory: sessionmaker[Session], settings: Settings
) -> None:
    patient_id = a_patient(factory)
    plan = a_plan(factory, patient_id, settings, "copd")
    base = f"/patients/{patient_id}/care-plans/{plan.id}"
    category = post(coordinator, f"{base}/problems", base, {"code": "J44"})
    assert category.status_code == 422
    assert "choose a more specific code such as J44" in category.text
    added = post(coordinator, f"{base}/problems", base, {"code": "f17.210"})
    assert added.status_code == 303
    assert "Nicotine dependence, cigarettes, uncomplicated" in coordinator.get(base).text
    copd = plan.problems[0]
    resolved = post(
        coordinator,
        f"{base}/problems/{copd.id}/status",
        base,
        {"status": "resolved", "version": str(copd.version)},
    )
    assert resolved.status_code == 303
    page = text(coordinator.get(resolved.headers["location"]))
    assert f"Problem “{copd.description}” is now resolved." in page
    rehab = next(a for a in plan.activities if a.kind == "referral")
    done = post(
        coordinator,
        f"{base}/activities/{rehab.id}/status",
        base,
        {"status": "completed", "version": str(rehab.version)},
    )
    assert done.status_code == 303
    assert f"“{rehab.description}” is now completed." in text(coordinator.get(base))
    stale = post(
        coordinator,
        f"{base}/activities/{rehab.id}/status",
        base,
        {"status": "cancelled", "version": str(rehab.version)},
    )
    assert stale.status_code == 303
    said = text(coordinator.get(stale.headers["location"]))
    assert "Not changed: This activity was changed by someone else" in said
    with unit_of_work(factory) as db:
        row = db.get(CarePlanActivity, rehab.id)
        assert row is not None
        assert row.status == "completed"
