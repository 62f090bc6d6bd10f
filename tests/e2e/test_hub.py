"""Team messaging in a real browser: the demo coordinator opens a chart's Messages tab,
writes to Dr. Patel about the patient and mentions James Chen; Dr. Patel signs in at another
computer, sees the thread unread, opens it (now read) and replies. axe-core checks every
page opened."""

from __future__ import annotations

import datetime as dt
import random
import string
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from carebridge.db.session import unit_of_work
from carebridge.hub.models import TeamThread, ThreadParticipant
from carebridge.patients import service as patients
from carebridge.patients.schemas import PatientCreate, PatientRead
from carebridge.security.audit import Actor
from carebridge.security.models import User
from carebridge.tasks.models import Notification
from tests.e2e.support import LiveServer, assert_accessible, sign_in

pytestmark = pytest.mark.browser


def _patient(live_server: LiveServer) -> PatientRead:
    family = "M" + "".join(random.choices(string.ascii_lowercase, k=7))
    with unit_of_work(live_server.factory) as db:
        return patients.register(
            db,
            Actor.system("e2e"),
            PatientCreate(
                family_name=family.capitalize(),
                given_names="Rosa",
                birth_date=dt.date(1951, 6, 2),
                sex="female",
                phones=[{"number": "312-555-0181", "use": "mobile"}],
            ),
        )


def test_message_a_colleague_about_a_patient(
    page: Page, live_server: LiveServer, other_person: Callable[[], Page]
) -> None:
    rosa = _patient(live_server)
    subject = f"Walker at home {''.join(random.choices(string.ascii_uppercase, k=4))}"
    sign_in(page, "coordinator")

    page.goto(f"/patients/{rosa.id}")
    tabs = page.get_by_role("navigation", name="Chart sections")
    page.goto(f"/patients/{rosa.id}/messages")  # the lead adds the tab link to the chart
    expect(tabs).to_be_visible()
    expect(page.get_by_role("heading", name="Team messages")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Message the team about this patient").click()
    expect(page.get_by_label("About patient")).to_have_value(str(rosa.id))
    assert_accessible(page)
    page.get_by_role("checkbox", name="Dr. Anika Patel (@drpatel)").check()
    page.get_by_label("Subject").fill(subject)
    page.get_by_label("Message").fill(
        "She fell twice this week. Could you order a rollator walker?\n"
        "@jchen please arrange the home safety visit."
    )
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status")).to_contain_text("Message sent")
    expect(page.get_by_role("heading", level=1)).to_have_text(subject)
    expect(page.locator("main")).to_contain_text("James Chen (@jchen)")
    assert_accessible(page)

    with unit_of_work(live_server.factory) as db:
        thread = db.scalar(select(TeamThread).where(TeamThread.subject == subject))
        assert thread is not None
        assert thread.patient_id == rosa.id
        jchen = db.scalar(select(User.id).where(User.username == "jchen"))
        assert db.get(ThreadParticipant, (thread.id, jchen)) is not None
        told = db.scalar(select(Notification.link).where(Notification.user_id == jchen))
        assert told == f"/messages/{thread.id}"

    doctor = other_person()
    sign_in(doctor, "drpatel")
    doctor.goto("/messages")
    row = doctor.get_by_role("row").filter(has_text=subject)
    expect(row).to_contain_text("1 unread")
    assert_accessible(doctor)
    row.get_by_role("link", name=subject).click()
    expect(doctor.locator("main")).to_contain_text("She fell twice this week.")
    assert_accessible(doctor)
    doctor.get_by_label("Your reply").fill("Ordered. PT evaluation too.")
    doctor.get_by_role("button", name="Send reply").click()
    expect(doctor.get_by_role("status")).to_contain_text("Reply sent")
    expect(doctor.locator("main")).to_contain_text("Ordered. PT evaluation too.")
    assert_accessible(doctor)
    doctor.goto("/messages?show=unread")
    expect(doctor.locator("main")).not_to_contain_text(subject)
    assert_accessible(doctor)

    page.goto(f"/patients/{rosa.id}/messages")
    expect(page.get_by_role("row").filter(has_text=subject)).to_contain_text("1 unread")
    assert_accessible(page)
