"""Messages to patients and families in a real browser: the demo coordinator opens the
chart's Communications tab, is refused a text message the patient has not consented to
(with the reason beside the form), sends a letter from a Spanish template, prints it, marks
it mailed and sees it in the log beside a logged call; then opens the template list. axe-core
checks every page opened."""

from __future__ import annotations

import datetime as dt
import random
import string

import pytest
from playwright.sync_api import Page, expect

from carebridge.communications import starters
from carebridge.db.session import unit_of_work
from carebridge.patients import service as patients
from carebridge.patients.schemas import ContactConsentCreate, PatientCreate, PatientRead
from carebridge.security.audit import Actor
from carebridge.tasks import outreach
from carebridge.tasks.schemas import OutreachCreate
from tests.e2e.support import LiveServer, assert_accessible, sign_in

pytestmark = pytest.mark.browser
SYSTEM = Actor.system("e2e")


def _patient(live_server: LiveServer) -> PatientRead:
    family = "C" + "".join(random.choices(string.ascii_lowercase, k=7))
    with unit_of_work(live_server.factory) as db:
        starters.install(db, SYSTEM)
        patient = patients.register(
            db,
            SYSTEM,
            PatientCreate(
                family_name=family.capitalize(),
                given_names="Lucía",
                birth_date=dt.date(1961, 7, 3),
                sex="female",
                language="es",
                phones=[{"number": "312-555-0166", "use": "mobile"}],
                address_line1="2215 S Cermak Rd",
                city="Chicago",
                state="IL",
                postal_code="60616",
            ),
        )
        patients.record_contact_consent(
            db,
            SYSTEM,
            patient.id,
            ContactConsentCreate(
                channel="mail", decision="permit", effective_from=dt.date(2020, 1, 1)
            ),
        )
        outreach.log(
            db,
            SYSTEM,
            patient.id,
            OutreachCreate(channel="phone", outcome="no-answer", note="No answer, no voicemail"),
            zone=live_server.settings.timezone,
        )
        return patient


def test_send_a_letter_from_the_chart_and_see_it_in_the_log(
    page: Page, live_server: LiveServer
) -> None:
    lucia = _patient(live_server)
    sign_in(page, "coordinator")
    page.goto(f"/patients/{lucia.id}/communications")
    expect(page.get_by_role("heading", name="Communication log")).to_be_visible()
    log = page.get_by_role("region", name="Communication log")
    expect(log).to_contain_text("No answer, no voicemail")
    assert_accessible(page)

    send = page.get_by_role("region", name="Send a message")
    send.get_by_label("Channel").select_option("sms")
    send.get_by_label("Template").select_option("please-call-us")
    send.get_by_role("button", name="Send").click()
    expect(page.get_by_role("alert")).to_contain_text("has not consented to text messages")
    assert_accessible(page)

    send = page.get_by_role("region", name="Send a message")
    send.get_by_label("Channel").select_option("letter")
    send.get_by_label("Template").select_option("please-call-us")
    send.get_by_role("button", name="Send").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Por favor llámenos")
    expect(page.locator("main")).to_contain_text("2215 S Cermak Rd")
    expect(page.locator("main")).to_contain_text("Hemos tratado de llamarle")
    assert_accessible(page)
    page.get_by_role("button", name="Mark mailed").click()

    expect(page.get_by_role("status")).to_contain_text("recorded as mailed")
    log = page.get_by_role("region", name="Communication log")
    first = log.get_by_role("row").nth(1)
    expect(first).to_contain_text("Por favor llámenos")
    expect(first).to_contain_text("Mailed")
    expect(log).to_contain_text("No answer, no voicemail")
    assert_accessible(page)

    page.get_by_role("navigation", name="Filter by channel").get_by_role(
        "link", name="Phone call"
    ).click()
    expect(log).not_to_contain_text("Por favor llámenos")
    expect(log).to_contain_text("No answer, no voicemail")

    page.goto("/communications/templates")
    expect(page.get_by_role("table").first).to_contain_text("Missed appointment")
    assert_accessible(page)
