"""Referrals in a real browser: the demo coordinator adds a specialist to the directory,
makes a referral from the chart, and closes its loop (send, scheduled, seen, report
received, closed), then opens the tracker and the printable letter. axe-core checks every
page opened."""

from __future__ import annotations

import datetime as dt
import random
import re
import string
import uuid
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from carebridge.db.session import unit_of_work
from carebridge.lib.checksums import luhn_digit
from carebridge.lib.time import utcnow
from carebridge.patients import service as patients
from carebridge.patients.schemas import PatientCreate, PatientRead
from carebridge.referrals.models import Referral
from carebridge.security.audit import Actor
from tests.e2e.support import LiveServer, assert_accessible, sign_in

pytestmark = pytest.mark.browser


def _patient(live_server: LiveServer) -> PatientRead:
    family = "R" + "".join(random.choices(string.ascii_lowercase, k=7))
    with unit_of_work(live_server.factory) as db:
        return patients.register(
            db,
            Actor.system("e2e"),
            PatientCreate(
                family_name=family.capitalize(),
                given_names="Tomas",
                birth_date=dt.date(1949, 2, 11),
                sex="male",
                phones=[{"number": "312-555-0177", "use": "mobile"}],
            ),
        )


def _npi() -> str:
    body = "1" + str(uuid.uuid4().int)[:8]
    return body + luhn_digit("80840" + body)


def test_close_a_referral_loop(page: Page, live_server: LiveServer) -> None:
    tomas = _patient(live_server)
    today = utcnow().astimezone(ZoneInfo(live_server.settings.timezone)).date()
    npi = _npi()
    doctor = f"Dr Imani {''.join(random.choices(string.ascii_uppercase, k=5))}"
    sign_in(page, "coordinator")

    page.goto("/directory")
    assert_accessible(page)
    add = page.get_by_role("region", name="Add a provider")
    add.get_by_label("Name").fill(doctor)
    add.get_by_label("Kind").select_option("specialist")
    add.get_by_label("Specialty").fill("Nephrology")
    add.get_by_label("NPI").fill(npi)
    add.get_by_label("Fax").fill("(312) 555-0190")
    add.get_by_role("button", name="Add to the directory").click()
    expect(page.get_by_role("table")).to_contain_text(doctor)
    assert_accessible(page)

    page.goto(f"/patients/{tomas.id}")
    tabs = page.get_by_role("navigation", name="Chart sections")
    tabs.get_by_role("link", name="Referrals").click()
    expect(tabs.get_by_role("link", name="Referrals")).to_have_attribute("aria-current", "page")
    assert_accessible(page)
    page.get_by_role("link", name="New referral").click()
    page.get_by_role("searchbox", name="Find a provider").fill(npi)
    page.get_by_role("button", name="Find").click()
    assert_accessible(page)
    page.get_by_role("combobox", name=re.compile(r"^Provider")).select_option(
        label=f"{doctor} — Nephrology"
    )
    page.get_by_label("Referred for").select_option("specialist")
    page.get_by_label("Urgency").select_option("urgent")
    page.get_by_label("Reason for referral").fill("Falling eGFR over six months")
    page.get_by_label("Diagnoses (ICD-10-CM)").fill("N18.30, I10")
    page.get_by_role("button", name="Save as draft").click()
    expect(page.get_by_role("status")).to_contain_text("saved as a draft")
    details = page.get_by_role("region", name="Referral R")
    expect(details).to_contain_text("Essential (primary) hypertension")
    assert_accessible(page)

    steps = page.get_by_role("region", name="Next step")
    steps.get_by_role("button", name="Mark sent").click()
    assert_accessible(page)
    page.get_by_label("Or the visit date with the outside provider").fill(today.isoformat())
    page.get_by_role("button", name="Mark scheduled").click()
    assert_accessible(page)
    page.get_by_role("button", name="Mark seen").click()
    assert_accessible(page)
    page.get_by_role("button", name="Report received").click()
    assert_accessible(page)
    page.get_by_role("button", name="Close the referral").click()
    expect(page.get_by_role("heading", name="Referral R")).to_contain_text("Closed")
    history = page.get_by_role("table").filter(has_text="By")
    for status in ("Draft", "Sent", "Scheduled", "Seen", "Report received", "Closed"):
        expect(history).to_contain_text(status)
    assert_accessible(page)

    with unit_of_work(live_server.factory) as db:
        row = db.scalar(select(Referral).where(Referral.patient_id == tomas.id))
        assert row is not None
        assert row.status == "closed"
        assert row.seen_on == today
        number = row.number

    page.get_by_role("link", name="Referral letter").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(number)
    expect(page.locator("main")).to_contain_text("Chronic kidney disease, stage 3 unspecified")
    assert_accessible(page)

    page.goto("/referrals?status=closed")
    expect(page.get_by_role("table")).to_contain_text(number)
    assert_accessible(page)
