"""Social needs screening in a real browser: the demo coordinator opens a patient's Social
needs tab, screens the patient (AHC HRSN), leaves two questions unanswered and is told which
(the answers chosen still chosen), answers them, sees the needs found (housing and safety),
and marks one addressed. axe-core checks every page opened."""

from __future__ import annotations

import datetime as dt
import random
import string

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from carebridge.db.session import unit_of_work
from carebridge.patients import service as patients
from carebridge.patients.schemas import PatientCreate, PatientRead
from carebridge.security.audit import Actor
from carebridge.social.models import SocialNeed
from tests.e2e.support import LiveServer, assert_accessible, sign_in

pytestmark = pytest.mark.browser


def _patient(live_server: LiveServer) -> PatientRead:
    family = "S" + "".join(random.choices(string.ascii_lowercase, k=7))
    with unit_of_work(live_server.factory) as db:
        return patients.register(
            db,
            Actor.system("e2e"),
            PatientCreate(
                family_name=family.capitalize(),
                given_names="Lucia",
                birth_date=dt.date(1961, 8, 2),
                sex="female",
                language="es",
            ),
        )


def _choose(page: Page, question: str, answer: str) -> None:
    group = page.get_by_role("group", name=question)
    group.get_by_label(answer, exact=True).check()


def test_screen_a_patient_and_see_needs(page: Page, live_server: LiveServer) -> None:
    lucia = _patient(live_server)
    sign_in(page, "coordinator")

    page.goto(f"/patients/{lucia.id}/social-needs")
    expect(page.locator("#rescreen")).to_contain_text("Never screened")
    assert_accessible(page)
    page.get_by_role("link", name="Screen now").click()
    expect(page.get_by_label("Language")).to_have_value("es")
    assert_accessible(page)

    page.get_by_label("Who answered").select_option("patient")
    page.get_by_label("In person or by phone").select_option("phone")
    _choose(
        page,
        "1. What is your living situation today?",
        "I have a place to live today, but I am worried about losing it in the future",
    )
    _choose(page, "2. Think about the place you live.", "Mold")
    _choose(page, "3. Within the past 12 months, you worried", "Never true")
    _choose(page, "4. Within the past 12 months, the food", "Never true")
    _choose(page, "5. In the past 12 months, has lack", "No")
    _choose(page, "6. In the past 12 months has the electric", "No")
    _choose(page, "7. How often does anyone, including family and friends, physically", "Sometimes")
    _choose(page, "8. How often does anyone, including family and friends, insult", "Sometimes")
    page.get_by_role("button", name="Save screening").click()

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("2 questions are unanswered")
    expect(alert).to_contain_text("threaten you with harm")
    expect(
        page.get_by_role("group", name="2. Think about the place you live.").get_by_label("Mold")
    ).to_be_checked()
    assert_accessible(page)
    _choose(page, "9. How often does anyone, including family and friends, threaten", "Rarely")
    _choose(page, "10. How often does anyone, including family and friends, scream", "Sometimes")
    page.get_by_role("button", name="Save screening").click()

    expect(page.get_by_role("status")).to_contain_text(
        "Needs found: Housing (living situation), Interpersonal safety"
    )
    needs = page.get_by_role("region", name="Needs found")
    expect(needs).to_contain_text("Housing (living situation)")
    expect(needs).to_contain_text("Interpersonal safety")
    history = page.get_by_role("region", name="Screenings")
    expect(history).to_contain_text("Interpersonal safety (score 11)")
    assert_accessible(page)

    needs.get_by_label("Status of the housing (living situation) need").select_option("addressed")
    needs.locator("tr", has_text="Housing").get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("need marked addressed")
    assert_accessible(page)
    with unit_of_work(live_server.factory) as db:
        found = db.scalars(select(SocialNeed).where(SocialNeed.patient_id == lucia.id)).all()
        assert sorted((n.domain, n.status) for n in found) == [
            ("housing", "addressed"),
            ("safety", "open"),
        ]
