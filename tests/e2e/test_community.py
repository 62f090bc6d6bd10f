"""Community resources in a real browser: a patient screened positive for housing and food
needs; the coordinator opens the chart's Community resources tab, sees the suggested
resources for each need, refers the patient to a food pantry, and records the pantry's
confirmation, closing the loop. Also the directory search and the import page. axe-core
checks every page opened."""

from __future__ import annotations

import datetime as dt
import random
import string

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from carebridge.community import importer
from carebridge.community import synthetic as community_demo
from carebridge.community.models import CommunityReferral
from carebridge.db.session import unit_of_work
from carebridge.patients import service as patients
from carebridge.patients.schemas import PatientCreate, PatientRead
from carebridge.referrals.models import Referral
from carebridge.security.audit import Actor
from carebridge.social import service as social
from carebridge.social.schemas import ScreeningCreate
from tests.e2e.support import LiveServer, assert_accessible, sign_in
from tests.unit.test_social_scoring import NEGATIVE

pytestmark = pytest.mark.browser

HOUSING_AND_FOOD = {**NEGATIVE, "71802-3": ["LA31994-9"], "88123-5": ["LA6729-3"]}


def _directory(live_server: LiveServer) -> None:
    with unit_of_work(live_server.factory) as db:
        importer.import_path(db, Actor.system("e2e"), community_demo.DEMO_DIRECTORY)


def _screened_patient(live_server: LiveServer) -> PatientRead:
    family = "C" + "".join(random.choices(string.ascii_lowercase, k=7))
    system = Actor.system("e2e")
    _directory(live_server)
    with unit_of_work(live_server.factory) as db:
        who = patients.register(
            db,
            system,
            PatientCreate(
                family_name=family.capitalize(),
                given_names="Rosa",
                birth_date=dt.date(1961, 5, 3),
                sex="female",
                phones=[{"number": "512-555-0144", "use": "mobile"}],
            ),
        )
        social.create(
            db,
            system,
            who.id,
            ScreeningCreate(answers=HOUSING_AND_FOOD),
            live_server.settings.timezone,
        )
        return who


def test_see_suggested_resources_and_refer_to_one(page: Page, live_server: LiveServer) -> None:
    rosa = _screened_patient(live_server)
    sign_in(page, "coordinator")

    page.goto(f"/patients/{rosa.id}/resources")
    suggested = page.get_by_role("region", name="Suggested resources")
    expect(suggested.get_by_role("heading", name="Housing need")).to_be_visible()
    expect(suggested.get_by_role("heading", name="Food need")).to_be_visible()
    expect(suggested).to_contain_text("Emergency rent assistance")
    expect(suggested).to_contain_text("Weekly grocery pantry")
    assert_accessible(page)

    # Sorted by distance from a place in the directory: the pantry shows its distance.
    page.get_by_label("Sort by distance from").select_option(
        label="Travis Housing Help Desk — Downtown office"
    )
    page.get_by_role("button", name="Show").click()
    expect(suggested).to_contain_text("km)")
    assert_accessible(page)

    suggested.get_by_role(
        "button", name="Refer to Weekly grocery pantry (Eastside Community Pantry)"
    ).click()
    expect(page.get_by_role("status")).to_contain_text(
        "sent to Eastside Community Pantry (Weekly grocery pantry)"
    )
    referrals = page.get_by_role("region", name="Community referrals")
    expect(referrals).to_contain_text("Weekly grocery pantry")
    expect(referrals).to_contain_text("Sent")
    assert_accessible(page)

    with unit_of_work(live_server.factory) as db:
        row = db.scalar(
            select(Referral)
            .join(CommunityReferral, CommunityReferral.referral_id == Referral.id)
            .where(Referral.patient_id == rosa.id)
        )
        assert row is not None
        assert row.status == "sent"
        number = row.number

    referrals.get_by_label(f"Note on the confirmation for {number}").fill(
        "Pantry called: enrolled for Tuesday pickups"
    )
    referrals.get_by_role("button", name=f"Organization confirmed {number}").click()
    expect(page.get_by_role("status")).to_contain_text(
        f"Referral {number} closed: Eastside Community Pantry confirmed"
    )
    expect(referrals).to_contain_text("Closed")
    expect(referrals).to_contain_text("by phone")
    # The food need is met, so only housing is suggested now.
    expect(suggested.get_by_role("heading", name="Food need")).to_have_count(0)
    assert_accessible(page)

    with unit_of_work(live_server.factory) as db:
        closed = db.scalar(select(Referral).where(Referral.number == number))
        assert closed is not None
        assert closed.status == "closed"

    # The referral is a referral like any other: its page shows the closed loop.
    referrals.get_by_role("link", name=number).click()
    expect(page.get_by_role("heading", name=f"Referral {number}")).to_contain_text("Closed")
    assert_accessible(page)


def test_search_and_import_pages(page: Page, live_server: LiveServer) -> None:
    _directory(live_server)
    sign_in(page, "coordinator")
    page.goto("/resources")
    assert_accessible(page)
    search = page.get_by_role("search", name="Search community resources")
    search.get_by_label("Need").select_option("transportation")
    search.get_by_label("Language").select_option("es")
    search.get_by_role("button", name="Search").click()
    table = page.get_by_role("table")
    expect(table).to_contain_text("Rides to medical appointments")
    expect(table).not_to_contain_text("Reduced-fare bus passes")  # English only
    assert_accessible(page)
    table.get_by_role("link", name="Rides to medical appointments").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rides to medical appointments")
    expect(page.get_by_role("region", name="About the service")).to_contain_text(
        "Mon\u2013Fri 07:00\u201318:00"
    )
    assert_accessible(page)

    page.goto("/resources/import")
    expect(page.get_by_role("heading", name="Upload Open Referral (HSDS) data")).to_be_visible()
    assert_accessible(page)
