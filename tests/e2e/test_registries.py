"""Registries in a real browser: the coordinator opens the registries, a registry's patient
list (sorted, with why), exports it as CSV, and raises a task for every patient in it; the
form names a bad field. axe-core checks every page opened."""

from __future__ import annotations

import datetime as dt
import random
import string
import uuid

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from carebridge.db.session import unit_of_work
from carebridge.patients import service as patients
from carebridge.patients.models import Condition
from carebridge.patients.schemas import PatientCreate
from carebridge.patients.terminology import ICD10CM
from carebridge.registries import service
from carebridge.registries.models import RegistryTask
from carebridge.security.audit import Actor
from carebridge.security.roles import Role
from tests.e2e.support import LiveServer, assert_accessible, sign_in
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser
SYSTEM = Actor.system("e2e")


def _diabetics(live_server: LiveServer, owner: uuid.UUID, count: int) -> list[str]:
    names = []
    with unit_of_work(live_server.factory) as db:
        for _ in range(count):
            family = "R" + "".join(random.choices(string.ascii_lowercase, k=7))
            made = patients.register(
                db,
                SYSTEM,
                PatientCreate(
                    family_name=family.capitalize(),
                    given_names="Lena",
                    birth_date=dt.date(1961, 3, 9),
                    sex="female",
                    primary_coordinator_id=owner,
                ),
            )
            db.add(
                Condition(
                    patient_id=made.id,
                    code_system=ICD10CM,
                    code="E11.9",
                    display="Type 2 diabetes mellitus without complications",
                    clinical_status="active",
                )
            )
            names.append(family.capitalize())
    return names


def test_open_a_registry_export_and_create_tasks(page: Page, live_server: LiveServer) -> None:
    # A coordinator of its own: the tasks made here must not land on the demo coordinator's
    # day, which other tests expect empty.
    person = make_user(
        live_server.factory, Role.COORDINATOR, username=f"reg-{uuid.uuid4().hex[:6]}"
    )
    owner = person.id
    with unit_of_work(live_server.factory) as db:
        registry = service.create(
            db,
            SYSTEM,
            service.Draft(
                "E2E diabetics " + uuid.uuid4().hex[:6],
                "diabetes-a1c",
                "",
                {"months": "6", "above": "9", "coordinator_id": str(owner), "age_min": "18"},
            ),
        )
        registry_id, name = registry.id, registry.name
    families = _diabetics(live_server, owner, 2)
    sign_in(page, person.username, PASSWORD)

    page.goto("/registries")
    expect(page.get_by_role("heading", name="Registries", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="2 patients in " + name)).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    table = page.get_by_role("table")
    for family in families:
        expect(table).to_contain_text(family)
    expect(table).to_contain_text("No HbA1c on record.")
    page.get_by_role("link", name="MRN").click()
    expect(page.get_by_role("columnheader", name="MRN")).to_have_attribute("aria-sort", "ascending")
    assert_accessible(page)

    with page.expect_download() as got:
        page.get_by_role("link", name="Export CSV").click()
    saved = got.value.path()
    text = saved.read_text(encoding="utf-8-sig")
    assert "Last HbA1c (%)" in text
    assert all(family in text for family in families)

    # No title: refused beside the field, the choice kept.
    page.get_by_label("All 2 in this registry").check()
    page.get_by_role("button", name="Create tasks").click()
    expect(page.get_by_role("alert")).to_contain_text("Enter a title for the tasks.")
    expect(page.get_by_label("All 2 in this registry")).to_be_checked()
    assert_accessible(page)

    page.get_by_label("Task title").fill("Order HbA1c and call to book")
    page.get_by_label("Priority").select_option("urgent")
    page.get_by_role("button", name="Create tasks").click()
    expect(page.get_by_role("status")).to_contain_text("2 tasks created")
    assert_accessible(page)

    page.get_by_label("All 2 in this registry").check()
    page.get_by_label("Task title").fill("Order HbA1c and call to book")
    page.get_by_role("button", name="Create tasks").click()
    expect(page.get_by_role("status")).to_contain_text("0 tasks created; 2 skipped")
    with unit_of_work(live_server.factory) as db:
        links = db.scalars(select(RegistryTask).where(RegistryTask.registry_id == registry_id))
        assert len(list(links)) == 2

    page.goto("/registries/new?kind=no-pcp-visit")
    page.get_by_label("Name").fill("Overdue primary care")
    page.get_by_label("Visit within (months)").fill("0")
    page.get_by_role("button", name="Save registry").click()
    expect(page.get_by_role("alert")).to_contain_text("Enter a number from 1 to 60.")
    expect(page.get_by_label("Name")).to_have_value("Overdue primary care")
    assert_accessible(page)
