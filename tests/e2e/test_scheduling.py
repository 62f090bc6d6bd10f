"""The scheduling screens in a real browser: finding the first free time from a patient's chart
and booking it (two clicks after choosing the visit type), seeing it on the chart and on the
practitioner's calendar, moving it, cancelling it so the waitlist is offered the time, the 409
when someone else took the time a moment before, the location day and the access measures.
axe-core checks every page opened.

Each test builds its own small clinic (a location, a visit type, practitioners working every
day, patients) through the services, on the live server's database, with names no other test
uses; so no test depends on the demo data."""

from __future__ import annotations

import datetime as dt
import random
import re
import string
import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from carebridge.db.session import unit_of_work
from carebridge.patients import service as patients
from carebridge.patients.schemas import PatientCreate, PatientRead
from carebridge.scheduling import service
from carebridge.scheduling.models import Appointment, WaitlistEntry
from carebridge.scheduling.schemas import (
    AppointmentTypeCreate,
    AppointmentTypeRead,
    AvailabilityRuleCreate,
    BookIn,
    LocationCreate,
    LocationRead,
    PractitionerCreate,
    PractitionerRead,
    SlotQuery,
)
from carebridge.security.audit import Actor
from carebridge.tasks.models import Task
from tests.e2e.support import LiveServer, assert_accessible, sign_in
from tests.factories import clinic_today

pytestmark = pytest.mark.browser

ZONE = "America/Chicago"
EVERY_DAY = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU"
HOURS = "Works 08:00\u201318:00"  # en dash, as the calendar writes a range


def _tag() -> str:
    return "".join(random.choices(string.ascii_lowercase, k=6))


@dataclass(frozen=True)
class Clinic:
    tag: str
    location: LocationRead
    kind: AppointmentTypeRead
    people: list[PractitionerRead]

    @property
    def option(self) -> str:
        """The visit type as the search form's list shows it."""
        return f"{self.kind.name} (30 min, in person)"


def _clinic(live_server: LiveServer, practitioners: int = 2) -> Clinic:
    """A location, a visit type only these practitioners offer, and practitioners who work
    there 08:00-18:00 every day, so free times are always near whenever the test runs."""
    tag = _tag()
    actor = Actor.system("e2e")
    with unit_of_work(live_server.factory) as db:
        location = service.create_location(
            db, actor, LocationCreate(name=f"Lakeview Clinic {tag}", timezone=ZONE)
        )
        kind = service.create_appointment_type(
            db,
            actor,
            AppointmentTypeCreate(
                code=f"fu-{tag}", name=f"Follow-up {tag}", duration_minutes=30, buffer_minutes=0
            ),
        )
        people = []
        for name in ("Dr. Ada Moss", "Dr. Luis Vega")[:practitioners]:
            person = service.create_practitioner(
                db,
                actor,
                PractitionerCreate(
                    name=f"{name} {tag}",
                    specialties=["family-medicine"],
                    languages=["en", "es"],
                    appointment_type_codes=[kind.code],
                ),
            )
            service.add_availability(
                db,
                actor,
                AvailabilityRuleCreate(
                    practitioner_id=person.id,
                    location_id=location.id,
                    rrule=EVERY_DAY,
                    start_time=dt.time(8, 0),
                    end_time=dt.time(18, 0),
                    valid_from=clinic_today() - dt.timedelta(days=7),
                ),
            )
            people.append(person)
    return Clinic(tag=tag, location=location, kind=kind, people=people)


def _patient(live_server: LiveServer, given: str) -> PatientRead:
    family = "S" + _tag()
    with unit_of_work(live_server.factory) as db:
        return patients.register(
            db,
            Actor.system("e2e"),
            PatientCreate(
                family_name=family.capitalize(),
                given_names=given,
                birth_date=dt.date(1958, 4, 9),
                sex="female",
                phones=[{"number": "312-555-0177", "use": "mobile"}],
            ),
        )


def _appointments_of(live_server: LiveServer, patient_id: uuid.UUID) -> list[Appointment]:
    with unit_of_work(live_server.factory, write=False) as db:
        return list(
            db.scalars(
                select(Appointment)
                .where(Appointment.patient_id == patient_id)
                .order_by(Appointment.created_at)
            )
        )


def _find_times(page: Page, clinic: Clinic) -> None:
    """Choose the visit type and press Find times (the first click after choosing the type)."""
    book = page.get_by_role("region", name="Book a visit")
    book.get_by_label(re.compile(r"^Visit type")).select_option(label=clinic.option)
    book.get_by_role("button", name="Find times").click()
    expect(
        book.get_by_role("heading", name="First free times across practitioners")
    ).to_be_visible()


def _when(moment: dt.datetime) -> str:
    """How the screens show a moment: 'Tue 24 Nov 2026, 14:30 (America/Chicago)'."""
    return f"{moment.astimezone(ZoneInfo(ZONE)):%a %d %b %Y, %H:%M} ({ZONE})"


def test_book_from_the_chart_see_it_move_it_and_offer_it_to_the_waitlist_on_cancel(
    page: Page, live_server: LiveServer
) -> None:
    clinic = _clinic(live_server)
    ana = _patient(live_server, "Ana")
    ben = _patient(live_server, "Benedikt")
    sign_in(page, "coordinator")

    # From the chart: "Book a visit" opens the Appointments tab at the booking form.
    page.goto(f"/patients/{ana.id}")
    assert_accessible(page)
    page.get_by_role("link", name="Book a visit").click()
    tabs = page.get_by_role("navigation", name="Chart sections")
    expect(tabs.get_by_role("link", name="Appointments")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("region", name="Upcoming appointments")).to_contain_text(
        "No upcoming appointments."
    )
    assert_accessible(page)

    # Choose the type -> Find times -> Book: two clicks after choosing the type.
    _find_times(page, clinic)
    slots = page.get_by_role("table", name="Free times, earliest first")
    expect(slots.get_by_role("columnheader")).to_have_text(
        ["When", "Practitioner", "Where and how", "Action"]
    )
    names = {p.name for p in clinic.people}
    first_row = slots.get_by_role("row").nth(1)
    assert first_row.get_by_role("cell").nth(1).inner_text() in names
    expect(first_row).to_contain_text(f"({ZONE})")
    book_first = slots.get_by_role("button", name=re.compile(r"^Book ")).first
    explanation = book_first.get_attribute("title") or ""
    assert f"({ZONE}) with Dr. " in explanation, explanation
    expect(book_first).to_have_accessible_name(f"Book {explanation}")
    assert_accessible(page)
    book_first.click()

    status = page.get_by_role("status")
    expect(status).to_contain_text(f"Booked: {clinic.kind.name} on ")
    expect(status).to_contain_text("Reminders are planned on the channels the patient allows.")
    [booked] = _appointments_of(live_server, ana.id)
    assert booked.status == "booked"
    assert explanation.startswith(_when(booked.starts_at))
    expect(status).to_contain_text(_when(booked.starts_at))
    upcoming = page.get_by_role("table", name="Upcoming appointments, soonest first")
    row = upcoming.get_by_role("row").filter(has_text=_when(booked.starts_at))
    expect(row).to_contain_text(clinic.kind.name)
    expect(row).to_contain_text(clinic.location.name)
    expect(row).to_contain_text("Booked")
    assert_accessible(page)

    # The practitioner's day calendar shows the visit, in its working hours.
    person = next(p for p in clinic.people if p.id == booked.practitioner_id)
    row.get_by_role("link", name=re.compile(rf"^{re.escape(person.name)}")).click()
    expect(
        page.get_by_role("heading", level=2, name=re.compile(rf"^{re.escape(person.name)}: "))
    ).to_be_visible()
    calendar = page.get_by_role("table", name=re.compile(rf"^{re.escape(person.name)}, "))
    expect(calendar.get_by_role("columnheader", name=re.compile(person.name))).to_contain_text(
        HOURS
    )
    block = calendar.get_by_role("cell").filter(has_text=f"{ana.family_name}, {ana.given_names}")
    expect(block).to_contain_text(clinic.kind.name)
    expect(block).to_contain_text("Booked")
    assert_accessible(page)
    page.get_by_role("link", name="Week", exact=True).click()
    week = page.get_by_role("table", name=re.compile(rf"^{re.escape(person.name)}, week of "))
    expect(week.get_by_role("cell").filter(has_text=ana.family_name)).to_have_count(1)
    assert_accessible(page)

    # Reschedule: the same search for the same visit type, "Move here".
    page.goto(f"/patients/{ana.id}/appointments")
    page.get_by_role("link", name=re.compile(r"^Reschedule ")).click()
    expect(page.get_by_role("heading", name="Move to another time")).to_be_visible()
    assert_accessible(page)
    move = page.get_by_role("button", name=re.compile(r"^Move here ")).first
    target = move.get_attribute("title") or ""
    move.click()
    expect(page.get_by_role("status")).to_contain_text(f"Moved: {clinic.kind.name} is now ")
    [moved] = _appointments_of(live_server, ana.id)
    assert moved.id == booked.id
    assert moved.starts_at != booked.starts_at
    assert target.startswith(_when(moved.starts_at))
    expect(page.get_by_role("status")).to_contain_text(_when(moved.starts_at))
    assert_accessible(page)

    # Another patient waits for this visit type.
    page.goto("/waitlist")
    assert_accessible(page)
    add = page.get_by_role("region", name="Add a patient to the waitlist")
    mrn = add.get_by_label(re.compile(r"^Patient's MRN"))
    mrn.fill("99999999")  # a mistyped MRN comes back inline, with the rest kept
    add.get_by_label(re.compile(r"^Visit type")).select_option(label=clinic.option)
    add.get_by_label("Priority").select_option(label="2")
    add.get_by_role("button", name="Add to waitlist").click()
    expect(page.get_by_role("alert")).to_contain_text("Please correct 1 field")
    expect(mrn).to_have_attribute("aria-invalid", "true")
    expect(mrn).to_have_accessible_description(
        re.compile(r"^No chart has MRN 99999999; check the number")
    )
    expect(add.get_by_label(re.compile(r"^Visit type"))).to_have_value(str(clinic.kind.id))
    expect(add.get_by_label("Priority")).to_have_value("2")
    assert_accessible(page)
    mrn.fill(ben.mrn)
    add.get_by_role("button", name="Add to waitlist").click()
    expect(page.get_by_role("status")).to_contain_text(
        f"{ben.given_names} {ben.family_name} (MRN {ben.mrn}) is on the waitlist for "
        f"{clinic.kind.name}, priority 2."
    )
    entry = page.get_by_role("row").filter(has_text=ben.mrn)
    expect(entry).to_contain_text("Waiting")
    assert_accessible(page)

    # Cancelling Ana's visit with a reason offers the time to Ben.
    page.goto(f"/patients/{ana.id}/appointments")
    page.get_by_role("link", name=re.compile(r"^Cancel ")).click()
    cancel = page.get_by_role("region", name="Cancel this appointment")
    assert_accessible(page)
    cancel.get_by_label(re.compile(r"^Reason")).select_option(label="Patient: feeling better")
    cancel.get_by_label("Note").fill("Called to say she is better")
    page.once("dialog", lambda dialog: dialog.accept())
    cancel.get_by_role("button", name="Cancel appointment").click()
    status = page.get_by_role("status")
    expect(status).to_contain_text(f"Cancelled: {clinic.kind.name} on {_when(moved.starts_at)}")
    expect(status).to_contain_text(
        f"Offered to {ben.given_names} {ben.family_name} from the waitlist; a task was raised."
    )
    past = page.get_by_role("table", name="Past and cancelled appointments, newest first")
    cells = past.get_by_role("row").filter(has_text=_when(moved.starts_at)).get_by_role("cell")
    expect(cells.nth(4)).to_have_accessible_name("Cancelled Patient: feeling better")
    assert_accessible(page)
    with unit_of_work(live_server.factory, write=False) as db:
        offered = db.scalar(select(WaitlistEntry).where(WaitlistEntry.patient_id == ben.id))
        assert offered is not None
        assert offered.status == "offered"
        assert offered.offered_appointment_id == booked.id
        task = db.scalar(select(Task).where(Task.patient_id == ben.id))
        assert task is not None
        assert task.queue == "scheduling"

    page.goto("/waitlist")
    entry = page.get_by_role("row").filter(has_text=ben.mrn)
    expect(entry).to_contain_text("Offered")
    expect(entry).to_contain_text(f"{_when(moved.starts_at)} with {person.name}")
    assert_accessible(page)

    # Ben takes it: one click books the offered time and closes his entry.
    entry.get_by_role("button", name=re.compile(r"^Book offered time")).click()
    expect(page.get_by_role("status")).to_contain_text(
        f"Booked: {clinic.kind.name} on {_when(moved.starts_at)} with {person.name}"
    )
    expect(page.get_by_role("row").filter(has_text=ben.mrn)).to_have_count(0)
    [taken] = _appointments_of(live_server, ben.id)
    assert (taken.starts_at, taken.status) == (moved.starts_at, "booked")
    assert_accessible(page)


def test_a_time_taken_a_moment_before_shows_why_and_the_alternatives_to_book(
    page: Page, live_server: LiveServer
) -> None:
    clinic = _clinic(live_server, practitioners=1)
    cora = _patient(live_server, "Cora")
    other = _patient(live_server, "Dalia")
    sign_in(page, "coordinator")
    page.goto(f"/patients/{cora.id}/appointments")
    _find_times(page, clinic)
    slots = page.get_by_role("table", name="Free times, earliest first")
    form = slots.locator("form").first
    taken_at = dt.datetime.fromisoformat(
        form.locator("input[name=starts_at]").get_attribute("value") or ""
    )

    # Someone at another desk books that very time a moment before.
    with unit_of_work(live_server.factory) as db:
        service.book(
            db,
            Actor.system("front-desk"),
            live_server.settings,
            BookIn(
                patient_id=other.id,
                appointment_type_id=clinic.kind.id,
                practitioner_id=clinic.people[0].id,
                location_id=clinic.location.id,
                starts_at=taken_at,
            ),
        )

    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        slots.get_by_role("button", name=re.compile(r"^Book ")).first.click()
    assert answer.value.status == 409
    refusal = page.get_by_role("alert")
    expect(refusal).to_contain_text("That time is no longer free.")
    expect(refusal).to_contain_text("the practitioner is already booked or away at that time")
    expect(refusal).to_be_focused()
    alternatives = refusal.get_by_role("table", name="Other free times")
    expect(alternatives.get_by_role("row")).not_to_have_count(1)
    expect(alternatives).not_to_contain_text(_when(taken_at))
    # What was searched is still in the form.
    expect(
        page.get_by_role("region", name="Book a visit").get_by_label(re.compile(r"^Visit type"))
    ).to_have_value(str(clinic.kind.id))
    assert _appointments_of(live_server, cora.id) == []
    assert_accessible(page)

    alternatives.get_by_role("button", name=re.compile(r"^Book ")).first.click()
    expect(page.get_by_role("status")).to_contain_text(f"Booked: {clinic.kind.name} on ")
    [booked] = _appointments_of(live_server, cora.id)
    assert booked.starts_at != taken_at
    assert_accessible(page)


def test_location_day_and_access_measures_show_every_practitioner(
    page: Page, live_server: LiveServer
) -> None:
    clinic = _clinic(live_server)
    eve = _patient(live_server, "Eve")
    with unit_of_work(live_server.factory) as db:
        [slot] = service.search_slots(
            db,
            SlotQuery(
                appointment_type_id=clinic.kind.id,
                practitioner_id=clinic.people[1].id,
                start=clinic_today() + dt.timedelta(days=2),
                days=1,
                limit=1,
            ),
        )
        service.book(
            db,
            Actor.system("e2e"),
            live_server.settings,
            BookIn(
                patient_id=eve.id,
                appointment_type_id=clinic.kind.id,
                practitioner_id=slot.practitioner_id,
                location_id=slot.location_id,
                starts_at=slot.starts_at,
            ),
        )
    local_day = slot.starts_at.astimezone(ZoneInfo(ZONE)).date()
    sign_in(page, "coordinator")
    page.goto("/schedule")
    expect(page.get_by_role("navigation", name="Schedule views")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Location day").click()
    page.get_by_label("Location", exact=True).select_option(label=clinic.location.name)
    page.get_by_label("Day", exact=True).fill(local_day.isoformat())
    page.get_by_role("button", name="Show").click()
    grid = page.get_by_role("table", name=re.compile(rf"^{re.escape(clinic.location.name)}, "))
    expect(grid.get_by_role("columnheader")).to_have_text(
        [
            "Time",
            re.compile(rf"^{re.escape(clinic.people[0].name)}\s*{HOURS}$"),
            re.compile(rf"^{re.escape(clinic.people[1].name)}\s*{HOURS}$"),
        ]
    )
    expect(grid.get_by_role("cell").filter(has_text=eve.family_name)).to_contain_text(
        clinic.kind.name
    )
    assert_accessible(page)

    page.get_by_role("link", name="Access measures").click()
    chart = page.get_by_role("img", name=re.compile(r"^Days to the third-next-available"))
    expect(chart).to_be_visible()
    table = page.get_by_role("table", name=re.compile(r"^Access measures per practitioner"))
    row = table.get_by_role("row").filter(has_text=clinic.people[0].name)
    expect(row).to_contain_text(re.compile(rf"{re.escape(clinic.kind.name)}: \d+ days?"))
    assert_accessible(page)
