"""The post-visit survey in a real browser: the patient opens the link from the invitation
(no sign-in), leaves a question out and is told which one with the other answers kept,
answers, and is thanked; the link then says it was answered. A coordinator sees the answer
on the survey results page. axe-core checks every page opened."""

from __future__ import annotations

import datetime as dt
import random
import string
import uuid

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from carebridge.db.session import unit_of_work
from carebridge.lib.time import utcnow
from carebridge.patients import service as patients
from carebridge.patients.models import Patient
from carebridge.patients.schemas import PatientCreate
from carebridge.scheduling.models import Appointment, AppointmentType, Location, Practitioner
from carebridge.security.audit import Actor
from carebridge.surveys import service
from carebridge.surveys.models import SurveyResponse
from tests.e2e.support import LiveServer, assert_accessible, sign_in

pytestmark = pytest.mark.browser


def _invited(live_server: LiveServer, language: str = "en") -> tuple[str, str, str]:
    """A patient seen an hour ago and invited: (family name, practitioner, link token)."""
    tag = "".join(random.choices(string.ascii_lowercase, k=6))
    family = f"Sur{tag}".capitalize()
    ends = utcnow() - dt.timedelta(hours=3)
    with unit_of_work(live_server.factory) as db:
        made = patients.register(
            db,
            Actor.system("e2e"),
            PatientCreate(
                family_name=family,
                given_names="Elena",
                birth_date=dt.date(1961, 4, 12),
                sex="female",
                language=language,
                email=f"{family.lower()}@example.org",
            ),
        )
        kind = AppointmentType(
            code=f"sv-{tag}", name="Office visit", duration_minutes=30, modality="in-person"
        )
        place = Location(name=f"Survey clinic {tag}", timezone="America/Chicago")
        doctor = Practitioner(name=f"Dr. Amara Lee {tag}")
        db.add_all([kind, place, doctor])
        db.flush()
        visit = Appointment(
            patient_id=made.id,
            practitioner_id=doctor.id,
            location_id=place.id,
            appointment_type_id=kind.id,
            starts_at=ends - dt.timedelta(minutes=30),
            ends_at=ends,
            held_until=ends,
            status="fulfilled",
            modality="in-person",
            patient_token=uuid.uuid4().hex,
        )
        db.add(visit)
        db.flush()
        patient = db.get(Patient, made.id)
        assert patient is not None
        _, token = service.invite(db, live_server.settings, visit, patient, "email")
        return family, doctor.name, token


def test_patient_answers_and_coordinator_sees_it(page: Page, live_server: LiveServer) -> None:
    family, doctor, token = _invited(live_server)

    page.goto(f"/survey/{token}")
    expect(page.get_by_role("heading", name="How was your visit?")).to_be_visible()
    expect(page.get_by_text(doctor)).to_be_visible()
    assert_accessible(page)

    overall = page.get_by_role("group", name="How would you rate the provider")
    overall.get_by_label("9", exact=True).check()
    page.get_by_role("group", name="suggest our office").get_by_label("Probably yes").check()
    page.get_by_role("group", name="explanations clear").get_by_label("Yes, definitely").check()
    page.get_by_role("group", name="paid close attention").get_by_label("Yes, definitely").check()
    page.get_by_label("Is there anything else").fill("Short wait, kind nurse.")
    page.get_by_role("button", name="Send my answers").click()

    # The appointment question was left out: named, and the rest kept.
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Please answer 1 more question(s)")
    expect(alert).to_contain_text("Were you able to get this appointment")
    expect(overall.get_by_label("9", exact=True)).to_be_checked()
    expect(page.get_by_label("Is there anything else")).to_have_value("Short wait, kind nurse.")
    assert_accessible(page)

    page.get_by_role("group", name="as soon as you needed it").get_by_label("Yes, somewhat").check()
    page.get_by_role("button", name="Send my answers").click()
    expect(page.get_by_role("status")).to_contain_text("Thank you for answering")
    assert_accessible(page)

    page.goto(f"/survey/{token}")
    expect(page.get_by_text("This survey has already been answered")).to_be_visible()
    expect(page.get_by_role("button", name="Send my answers")).to_have_count(0)

    with unit_of_work(live_server.factory) as db:
        response = db.scalar(
            select(SurveyResponse)
            .join(Patient, Patient.id == SurveyResponse.patient_id)
            .where(Patient.family_name == family)
        )
        assert response is not None
        assert (response.overall, response.answers["timely"]) == (9, "yes-somewhat")

    sign_in(page, "coordinator")
    page.goto("/surveys")
    expect(page.get_by_role("heading", name="Patient surveys")).to_be_visible()
    comments = page.get_by_role("region", name="Recent comments")
    expect(comments).to_contain_text("Short wait, kind nurse.")
    comments.get_by_role("link", name=f"{family}, Elena").click()
    expect(page).to_have_url(f"{live_server.url}/patients/{response.patient_id}")
    page.go_back()
    assert_accessible(page)


def test_spanish_survey_and_a_broken_link(page: Page, live_server: LiveServer) -> None:
    _, _, token = _invited(live_server, language="es")
    page.goto(f"/survey/{token}")
    expect(page.get_by_role("heading", name="¿Cómo fue su visita?")).to_be_visible()
    expect(page.get_by_role("button", name="Enviar mis respuestas")).to_be_visible()
    assert_accessible(page)

    page.goto(f"/survey/{token[:20]}")
    expect(page.get_by_role("heading", name="This link does not work")).to_be_visible()
    assert_accessible(page)
