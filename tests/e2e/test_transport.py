"""Transport in a real browser: the coordinator requests a ride for a patient's upcoming
appointment from the Appointments tab (a refused request keeps what was typed), confirms it
with the ride company's number, sees it on the chart's Rides tab and on the rides board.
axe-core checks every page opened."""

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
from carebridge.lib.time import utcnow
from carebridge.patients import service as patients
from carebridge.patients.schemas import PatientCreate, PatientRead
from carebridge.scheduling import service as scheduling
from carebridge.scheduling.schemas import BookIn
from carebridge.security.audit import Actor
from carebridge.transport.models import Ride
from tests.e2e.support import LiveServer, assert_accessible, sign_in
from tests.e2e.test_scheduling import ZONE, _clinic

pytestmark = pytest.mark.browser


def _patient(live_server: LiveServer) -> PatientRead:
    family = "T" + "".join(random.choices(string.ascii_lowercase, k=7))
    with unit_of_work(live_server.factory) as db:
        return patients.register(
            db,
            Actor.system("e2e"),
            PatientCreate(
                family_name=family.capitalize(),
                given_names="Rosa",
                birth_date=dt.date(1944, 7, 2),
                sex="female",
                phones=[{"number": "312-555-0166", "use": "mobile"}],
                address_line1="2250 W Ogden Ave",
                city="Chicago",
                state="IL",
                postal_code="60612",
            ),
        )


def _book(live_server: LiveServer, patient_id: uuid.UUID) -> dt.datetime:
    clinic = _clinic(live_server, practitioners=1)
    day = utcnow().astimezone(ZoneInfo(ZONE)).date() + dt.timedelta(days=5)
    start = dt.datetime.combine(day, dt.time(10, 30), ZoneInfo(ZONE))
    with unit_of_work(live_server.factory) as db:
        scheduling.book(
            db,
            Actor.system("e2e"),
            live_server.settings,
            BookIn(
                patient_id=patient_id,
                appointment_type_id=clinic.kind.id,
                practitioner_id=clinic.people[0].id,
                location_id=clinic.location.id,
                starts_at=start,
            ),
        )
    return start


def test_request_a_ride_for_an_appointment(page: Page, live_server: LiveServer) -> None:
    rosa = _patient(live_server)
    start = _book(live_server, rosa.id)
    sign_in(page, "coordinator")

    page.goto(f"/patients/{rosa.id}/appointments")
    upcoming = page.get_by_role("region", name="Upcoming appointments")
    upcoming.get_by_role("link", name=re.compile(r"^Ride ")).click()
    ride = page.get_by_role("region", name="Ride")
    expect(ride.get_by_label("Pickup address")).to_have_value(
        re.compile(r"^2250 W Ogden Ave, Chicago")
    )
    assert_accessible(page)

    # A pickup after the appointment is refused beside the field; what was typed stays.
    ride.get_by_label("Mobility need").select_option("wheelchair")
    ride.get_by_label("Or a pickup time").fill("11:15")
    ride.get_by_label("Escort", exact=True).select_option("caregiver")
    ride.get_by_label("Escort's name").fill("Marta Diaz")
    ride.get_by_role("button", name="Request ride").click()
    expect(page.get_by_role("alert")).to_contain_text("before the appointment")
    expect(ride.get_by_label("Escort's name")).to_have_value("Marta Diaz")
    expect(ride.get_by_label("Mobility need")).to_have_value("wheelchair")
    assert_accessible(page)
    with unit_of_work(live_server.factory) as db:
        assert db.scalar(select(Ride).where(Ride.patient_id == rosa.id)) is None

    ride.get_by_label("Or a pickup time").fill("")
    ride.get_by_label("Travel buffer (minutes)").fill("75")
    ride.get_by_label("Ride home after the visit").check()
    ride.get_by_label("Notes for the driver").fill("Ramp at the side entrance.")
    ride.get_by_role("button", name="Request ride").click()
    expect(page.get_by_role("status")).to_contain_text("Ride requested")
    pickup = (start - dt.timedelta(minutes=75)).astimezone(ZoneInfo(ZONE))
    expect(ride).to_contain_text(f"{pickup:%a %d %b %Y, %H:%M}")
    expect(ride).to_contain_text("Requested")
    assert_accessible(page)

    confirm = ride.locator("form").filter(has=page.get_by_role("button", name="Confirm ride"))
    confirm.get_by_label("Confirmation number").fill("MTM-40921")
    confirm.get_by_label("Ride company or broker").fill("MTM Medicaid NEMT")
    confirm.get_by_role("button", name="Confirm ride").click()
    expect(page.get_by_role("status")).to_contain_text("confirmed")
    expect(ride).to_contain_text("MTM-40921")
    expect(ride.get_by_role("table")).to_contain_text("Confirmed")  # the history
    assert_accessible(page)

    with unit_of_work(live_server.factory) as db:
        row = db.scalar(select(Ride).where(Ride.patient_id == rosa.id))
        assert row is not None
        assert (row.status, row.mobility, row.escort_name) == (
            "confirmed",
            "wheelchair",
            "Marta Diaz",
        )
        assert row.pickup_at == start - dt.timedelta(minutes=75)

    tabs = page.get_by_role("navigation", name="Chart sections")
    page.goto(f"/patients/{rosa.id}/rides")
    expect(page.get_by_role("table")).to_contain_text("MTM-40921")
    assert tabs.count() == 1
    assert_accessible(page)

    page.goto(f"/rides?day={pickup.date().isoformat()}&days=1&status=confirmed")
    expect(page.get_by_role("table")).to_contain_text(rosa.family_name)
    assert_accessible(page)
