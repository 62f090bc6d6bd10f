"""Education in a real browser: the demo coordinator opens the Education tab of a patient
with type 2 diabetes, assigns the suggested handout on the care plan, prints it, records
the teach-back, and sees it on the care plan page; then searches the library and looks up a
term. axe-core checks every page opened."""

from __future__ import annotations

import datetime as dt
import random
import string
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from carebridge.careplans import service as careplans
from carebridge.careplans.schemas import CarePlanCreate
from carebridge.db.session import unit_of_work
from carebridge.education import starter
from carebridge.education.models import EducationAssignment
from carebridge.lib.time import utcnow
from carebridge.patients import service as patients
from carebridge.patients.schemas import ConditionCreate, PatientCreate
from carebridge.security.audit import Actor
from tests.e2e.support import LiveServer, assert_accessible, sign_in

pytestmark = pytest.mark.browser
TITLE = "Living with type 2 diabetes"


def test_send_an_education_item_and_record_teach_back(page: Page, live_server: LiveServer) -> None:
    actor = Actor.system("e2e")
    today = utcnow().astimezone(ZoneInfo(live_server.settings.timezone)).date()
    family = "E" + "".join(random.choices(string.ascii_lowercase, k=7))
    with unit_of_work(live_server.factory) as db:
        starter.load(db)
        ana = patients.register(
            db,
            actor,
            PatientCreate(
                family_name=family.capitalize(),
                given_names="Ana",
                birth_date=dt.date(1958, 6, 2),
                sex="female",
                language="en",
                phones=[{"number": "312-555-0166", "use": "mobile"}],
            ),
        )
        patients.add_item(db, actor, ana.id, "conditions", ConditionCreate(code="E11.9"))
        plan = careplans.create_plan(
            db, actor, ana.id, CarePlanCreate(template_key="type-2-diabetes"), today
        )
    sign_in(page, "coordinator")

    page.goto(f"/patients/{ana.id}/education")
    suggested = page.get_by_role("region", name="Suggested")
    expect(suggested).to_contain_text(TITLE)
    assert_accessible(page)
    assign = page.get_by_role("form", name=f"Assign {TITLE}")
    assign.get_by_role("combobox").select_option(label=plan.title)
    assign.get_by_role("button", name="Assign").click()
    expect(page.get_by_role("status")).to_contain_text("assigned on the care plan")
    assigned = page.get_by_role("region", name="Assigned and delivered")
    expect(assigned).to_contain_text(TITLE)
    assert_accessible(page)

    page.get_by_role("form", name=f"Deliver {TITLE}").get_by_role("button", name="Print").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.locator("main")).to_contain_text("Your A1C test")
    assert_accessible(page)
    page.get_by_role("link", name="Back to the chart").click()

    teach = page.get_by_role("form", name=f"Teach-back for {TITLE}")
    teach.get_by_label("Teach-back").select_option("understood")
    teach.get_by_label("Note").fill("Said the low-sugar signs back in her own words")
    teach.get_by_role("button", name="Record").click()
    expect(page.get_by_role("status")).to_contain_text("recorded: understood")
    assert_accessible(page)

    page.get_by_role("link", name=plan.title).first.click()
    section = page.get_by_role("region", name="Education and teach-back")
    expect(section).to_contain_text(TITLE)
    expect(section).to_contain_text("Understood")
    expect(section).to_contain_text("Said the low-sugar signs back")
    activities = page.get_by_role("region", name="Activities")
    expect(activities).to_contain_text(f"Education: {TITLE}")
    assert_accessible(page)

    with unit_of_work(live_server.factory) as db:
        row = db.scalar(select(EducationAssignment).where(EducationAssignment.patient_id == ana.id))
        assert row is not None
        assert row.teach_back == "understood"
        assert row.delivered_via == "print"

    page.goto(f"/patients/{ana.id}/education")
    lookup = page.get_by_role("search", name="Look up a medical term")
    lookup.get_by_label("Word or code").fill("edema")
    lookup.get_by_role("button", name="Look up").click()
    expect(page.get_by_role("region", name="In plain words")).to_contain_text(
        "Swelling caused by fluid"
    )
    assert_accessible(page)

    page.goto("/education")
    page.get_by_label("Condition (ICD-10-CM)").fill("E11")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("table")).to_contain_text(TITLE)
    assert_accessible(page)
