"""The education screens over HTTP, as a browser without JavaScript uses them: the library
(search, flag filter, add with a PDF, edit), the chart's Education tab (suggested, assign on
a care plan, print, email refused without consent, teach-back), the teach-back shown on the
care plan page, and the term look-up. A refused form comes back with the reason, what was
typed kept, and nothing stored."""

from __future__ import annotations

import html
import re
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.careplans import service as careplans
from carebridge.careplans.schemas import CarePlanCreate
from carebridge.db.session import unit_of_work
from carebridge.education import starter
from carebridge.education.models import EducationAssignment, EducationMaterial
from carebridge.patients import service as patients
from carebridge.patients.schemas import PatientCreate
from carebridge.security.audit import Actor
from carebridge.security.roles import Role
from tests.factories import clinic_today, csrf_from, make_user, sign_in
from tests.integration.test_education_api import HARD, count
from tests.integration.test_patients_api import new_patient

SYSTEM = Actor.system("test")
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


@pytest.fixture
def coordinator(client: TestClient, factory: sessionmaker[Session]) -> TestClient:
    with unit_of_work(factory) as db:
        starter.load(db)
    user = make_user(factory, Role.COORDINATOR)
    assert sign_in(client, user.username).status_code == 303
    return client


def text(response: Any) -> str:
    return html.unescape(response.text)


def post(client: TestClient, path: str, page: str, data: dict[str, Any], **kw: Any) -> Any:
    token = csrf_from(client.get(page))
    return client.post(path, data={**data, "csrf_token": token}, **kw)


def test_library_add_flag_and_edit(coordinator: TestClient, factory: sessionmaker[Session]) -> None:
    title = f"Cardiac regimen {uuid.uuid4().hex[:6]}"
    before = count(factory, EducationMaterial)
    refused = post(
        coordinator,
        "/education",
        "/education/new",
        {
            "title": title,
            "body": HARD,
            "tags": "I50, heart",
            "language": "en",
            "audience": "patient",
        },
    )
    assert refused.status_code == 422
    assert "“heart” is not an ICD-10-CM code" in text(refused)
    assert title in text(refused)
    assert count(factory, EducationMaterial) == before

    added = post(
        coordinator,
        "/education",
        "/education/new",
        {"title": title, "body": HARD, "tags": "I50", "language": "en", "audience": "family"},
    )
    assert added.status_code == 303
    listed = coordinator.get("/education", params={"q": title, "flagged": 1})
    assert title in text(listed)
    assert re.search(r"Grade \d+(\.\d)?: above 6", text(listed))
    material_url = added.headers["location"]
    page = coordinator.get(material_url)
    assert "Plain language aims for grade 6" in text(page)

    with unit_of_work(factory) as db:
        m = db.scalar(select(EducationMaterial).where(EducationMaterial.title == title))
        assert m is not None
        material_id, version = m.id, m.version
    simpler = "Your heart needs care. Weigh yourself each day."
    saved = post(
        coordinator,
        f"/education/{material_id}",
        f"/education/{material_id}/edit",
        {
            "title": title,
            "body": simpler,
            "tags": "I50",
            "language": "en",
            "audience": "family",
            "version": str(version),
            "status": "active",
        },
    )
    assert saved.status_code == 303
    not_flagged = coordinator.get("/education", params={"q": title, "flagged": 1})
    assert f">{title}</a>" not in text(not_flagged)


def test_a_pdf_material_uploads_and_downloads(
    coordinator: TestClient, factory: sessionmaker[Session]
) -> None:
    title = f"Inhaler steps {uuid.uuid4().hex[:6]}"
    not_pdf = post(
        coordinator,
        "/education",
        "/education/new",
        {"title": title, "tags": "J44", "language": "en", "audience": "patient"},
        files={"file": ("steps.pdf", b"hello", "application/pdf")},
    )
    assert not_pdf.status_code == 422
    assert "Upload a PDF file" in text(not_pdf)
    added = post(
        coordinator,
        "/education",
        "/education/new",
        {"title": title, "tags": "J44", "language": "en", "audience": "patient"},
        files={"file": ("steps.pdf", PDF, "application/pdf")},
    )
    assert added.status_code == 303
    page = coordinator.get(added.headers["location"])
    assert "steps.pdf" in text(page)
    file = coordinator.get(added.headers["location"] + "/file")
    assert file.status_code == 200
    assert file.content == PDF
    assert file.headers["content-type"] == "application/pdf"


def test_education_tab_assign_print_refuse_email_and_teach_back_on_the_plan(
    coordinator: TestClient, factory: sessionmaker[Session]
) -> None:
    with unit_of_work(factory) as db:
        who = patients.register(
            db, SYSTEM, PatientCreate.model_validate(new_patient(language="en"))
        ).id
        plan = careplans.create_plan(
            db, SYSTEM, who, CarePlanCreate(template_key="type-2-diabetes"), clinic_today()
        )
    tab = coordinator.get(f"/patients/{who}/education")
    # The page's title is words only; the term look-up is on the page, once.
    title = tab.text.split("<title>", 1)[1].split("</title>", 1)[0]
    assert "<" not in title
    assert title.count("Education") == 1
    assert tab.text.count('id="lookup-heading"') == 1
    assert tab.status_code == 200
    assert "Living with type 2 diabetes" in text(tab)
    assert "Look up a term" in text(tab)
    with unit_of_work(factory) as db:
        diabetes = db.scalar(
            select(EducationMaterial.id).where(EducationMaterial.code == "t2d-living-en")
        )
    assigned = post(
        coordinator,
        f"/patients/{who}/education/assignments",
        f"/patients/{who}/education",
        {"material_id": str(diabetes), "care_plan_id": str(plan.id)},
    )
    assert assigned.status_code == 303
    with unit_of_work(factory) as db:
        row = db.scalar(select(EducationAssignment).where(EducationAssignment.patient_id == who))
        assert row is not None
        row_id, version = row.id, row.version

    refused = post(
        coordinator,
        f"/patients/{who}/education/{row_id}/deliver",
        f"/patients/{who}/education",
        {"via": "email", "version": str(version)},
    )
    assert refused.status_code == 422
    assert "has not agreed to be contacted by email" in text(refused)

    printed = post(
        coordinator,
        f"/patients/{who}/education/{row_id}/deliver",
        f"/patients/{who}/education",
        {"via": "print", "version": str(version)},
    )
    assert printed.status_code == 303
    assert printed.headers["location"] == f"/patients/{who}/education/{row_id}/print"
    handout = coordinator.get(printed.headers["location"])
    assert "Living with type 2 diabetes" in text(handout)
    assert "<h3>Your A1C test</h3>" in handout.text
    assert 'class="nav' not in handout.text

    with unit_of_work(factory) as db:
        row = db.get(EducationAssignment, row_id)
        assert row is not None
        version = row.version
    taught = post(
        coordinator,
        f"/patients/{who}/education/{row_id}/teach-back",
        f"/patients/{who}/education",
        {"result": "needs-review", "note": "Unsure what A1C means", "version": str(version)},
    )
    assert taught.status_code == 303
    plan_page = coordinator.get(f"/patients/{who}/care-plans/{plan.id}")
    shown = text(plan_page)
    assert "Education and teach-back" in shown
    assert "Needs review" in shown
    assert "Unsure what A1C means" in shown
    assert "Education: Living with type 2 diabetes" in shown


def test_term_look_up_page(coordinator: TestClient) -> None:
    page = coordinator.get("/education/terms", params={"q": "edema"})
    assert page.status_code == 200
    assert "Swelling caused by fluid" in text(page)
    code = coordinator.get("/education/terms", params={"q": "I10"})
    assert "Essential (primary) hypertension" in text(code)


def test_starter_set_button_loads_it_once(
    coordinator: TestClient, factory: sessionmaker[Session]
) -> None:
    loaded = post(coordinator, "/education/starter", "/education", {})
    assert loaded.status_code == 303
    with unit_of_work(factory) as db:
        assert starter.missing(db) == 0
    page = coordinator.get("/education")
    assert "The starter set is already there." in text(page)
    assert "Add the starter set" not in text(page)
