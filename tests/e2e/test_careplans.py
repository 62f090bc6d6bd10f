"""Care plans in a real browser: the demo coordinator opens a chart, starts a plan from the
type 2 diabetes template, records HbA1c twice and sees the chart with the value and the
target, looks at the history, and opens the patient's printable summary. axe-core checks
every page opened.

The test registers its own patient through the service, so it does not depend on the demo's
synthetic patients."""

from __future__ import annotations

import datetime as dt
import random
import re
import string
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from carebridge.careplans.models import CarePlan, Goal, GoalMeasurement
from carebridge.db.session import unit_of_work
from carebridge.lib.time import utcnow
from carebridge.patients import service as patients
from carebridge.patients.schemas import PatientCreate, PatientRead
from carebridge.security.audit import Actor
from tests.e2e.support import LiveServer, assert_accessible, sign_in

pytestmark = pytest.mark.browser


def _patient(live_server: LiveServer) -> PatientRead:
    family = "C" + "".join(random.choices(string.ascii_lowercase, k=7))
    with unit_of_work(live_server.factory) as db:
        return patients.register(
            db,
            Actor.system("e2e"),
            PatientCreate(
                family_name=family.capitalize(),
                given_names="Rosa",
                birth_date=dt.date(1961, 7, 2),
                sex="female",
                phones=[{"number": "312-555-0142", "use": "mobile"}],
            ),
        )


def test_plan_from_the_diabetes_template_measurement_chart_and_summary(
    page: Page, live_server: LiveServer
) -> None:
    rosa = _patient(live_server)
    today = utcnow().astimezone(ZoneInfo(live_server.settings.timezone)).date()
    sign_in(page, "coordinator")

    page.goto(f"/patients/{rosa.id}")
    assert_accessible(page)
    tabs = page.get_by_role("navigation", name="Chart sections")
    tabs.get_by_role("link", name="Care plans").click()
    expect(tabs.get_by_role("link", name="Care plans")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("region", name="Care plans")).to_contain_text("No care plans")
    assert_accessible(page)

    page.get_by_role("link", name="New care plan").click()
    assert_accessible(page)
    page.get_by_role("radio", name="Type 2 diabetes").check()
    page.get_by_role("button", name="Start care plan").click()

    expect(page.get_by_role("status")).to_contain_text("Care plan started from the template")
    expect(page.get_by_role("heading", name=re.compile("^Type 2 diabetes"))).to_be_visible()
    goal = page.locator("article", has=page.get_by_role("heading", name=re.compile("^HbA1c")))
    expect(goal).to_contain_text("HbA1c < 7 %")
    expect(goal).to_contain_text("The chart appears once a measurement is recorded.")
    assert_accessible(page)

    # Two readings, three months apart: the chart draws both with the target band.
    for value, day in (("8.1", today - dt.timedelta(days=90)), ("7.4", today)):
        goal = page.locator("article", has=page.get_by_role("heading", name=re.compile("^HbA1c")))
        goal.get_by_text("Record a measurement").click()
        goal.get_by_label("HbA1c (%)").fill(value)
        goal.get_by_label("Date measured").fill(day.isoformat())
        goal.get_by_role("button", name="Record HbA1c").click()
        expect(page.get_by_role("status")).to_contain_text(f"Recorded {value}.")

    goal = page.locator("article", has=page.get_by_role("heading", name=re.compile("^HbA1c")))
    chart = goal.get_by_role("img", name="HbA1c over time")
    expect(chart).to_be_visible()
    expect(chart.locator("desc")).to_contain_text("7.4 %")
    expect(chart.locator("desc")).to_contain_text("Target below 7 %")
    assert chart.locator("circle").count() == 2
    expect(chart.locator("text", has_text="7.4 %")).to_have_count(1)
    expect(goal.get_by_role("heading", name=re.compile("^HbA1c"))).to_contain_text("Improving")
    goal.get_by_text("The 2 measurements as a table").click()
    expect(goal.get_by_role("table")).to_contain_text("No")  # neither meets the target yet
    assert_accessible(page)

    with unit_of_work(live_server.factory, write=False) as db:
        plan = db.scalar(select(CarePlan).where(CarePlan.patient_id == rosa.id))
        assert plan is not None
        assert plan.template_key == "type-2-diabetes"
        a1c = db.scalar(select(Goal).where(Goal.care_plan_id == plan.id, Goal.measure == "HbA1c"))
        assert a1c is not None
        assert a1c.achievement_status == "improving"
        values = db.scalars(
            select(GoalMeasurement.value)
            .where(GoalMeasurement.goal_id == a1c.id)
            .order_by(GoalMeasurement.measured_on)
        ).all()
        assert [str(v.normalize()) for v in values] == ["8.1", "7.4"]

    # A target that does not parse comes back beside the field; nothing is added.
    page.get_by_text("Add a goal").click()
    page.locator("#f-goal-description").fill("Walk after dinner")  # the "Add a goal" form
    page.locator("#f-goal-target").fill("walk more")
    page.get_by_role("button", name="Add goal").click()
    expect(page.get_by_role("alert")).to_contain_text("'walk more' is not a target")
    expect(page.locator("#f-goal-target")).to_have_value("walk more")
    expect(page.locator("#f-goal-target")).to_have_attribute("aria-invalid", "true")
    assert_accessible(page)
    with unit_of_work(live_server.factory, write=False) as db:
        assert db.scalar(select(Goal).where(Goal.description == "Walk after dinner")) is None

    page.get_by_role("link", name="History of changes").click()
    expect(page.get_by_role("table")).to_contain_text("Measurement added")
    assert_accessible(page)
    page.get_by_role("link", name=re.compile(r"Type 2 diabetes$")).click()  # the crumb

    page.get_by_role("link", name=re.compile("^Printable summary")).click()
    expect(page).to_have_title(re.compile("^Your care plan: Type 2 diabetes"))
    expect(page.get_by_role("navigation")).to_have_count(0)
    goals = page.get_by_role("region", name="Your goals")
    expect(goals).to_contain_text(
        "Bring your A1C (your average blood sugar over 3 months) below 7."
    )
    expect(goals).to_contain_text(
        f"Your latest HbA1c was 7.4 % on {today:%d %b %Y}. The goal is below 7 %. "
        "You are getting closer."
    )
    expect(page.get_by_role("region", name="What happens next")).to_contain_text(
        "Diabetes self-management education"
    )
    assert_accessible(page)
