"""Coverage in a real browser: the demo coordinator opens a chart's Coverage tab, adds a
primary coverage with a photo of the card's front, sees it in the order of benefits, opens
it for editing (the card shown) and looks at the payers page. axe-core checks every page
opened.

The test registers its own patient and payer through the services, so it does not depend
on the demo's synthetic data."""

from __future__ import annotations

import datetime as dt
import random
import string
import uuid

import pytest
from playwright.sync_api import Page, expect

from carebridge.coverage import service as coverage
from carebridge.coverage.schemas import PayerCreate, PayerRead, PlanCreate
from carebridge.db.session import unit_of_work
from carebridge.patients import service as patients
from carebridge.patients.schemas import PatientCreate, PatientRead
from carebridge.security.audit import Actor
from tests.e2e.support import LiveServer, assert_accessible, sign_in
from tests.integration.test_coverage_api import PNG

pytestmark = pytest.mark.browser


def _patient_and_payer(live_server: LiveServer) -> tuple[PatientRead, PayerRead]:
    family = "K" + "".join(random.choices(string.ascii_lowercase, k=7))
    actor = Actor.system("e2e")
    with unit_of_work(live_server.factory) as db:
        who = patients.register(
            db,
            actor,
            PatientCreate(
                family_name=family.capitalize(),
                given_names="Rosa",
                birth_date=dt.date(1961, 7, 2),
                sex="female",
            ),
        )
        payer = coverage.add_payer(
            db,
            actor,
            PayerCreate(name=f"Harbor {family} Health", payer_id="E2E" + uuid.uuid4().hex[:6]),
        )
        coverage.add_plan(
            db, actor, PlanCreate(payer_ref=payer.id, name="Open PPO", plan_type="ppo")
        )
        return who, payer


def test_add_a_primary_coverage_and_see_it_on_the_tab(page: Page, live_server: LiveServer) -> None:
    rosa, payer = _patient_and_payer(live_server)
    sign_in(page, "coordinator")

    page.goto(f"/patients/{rosa.id}")
    tabs = page.get_by_role("navigation", name="Chart sections")
    tabs.get_by_role("link", name="Coverage").click()
    expect(tabs.get_by_role("link", name="Coverage")).to_have_attribute("aria-current", "page")
    panel = page.get_by_role("region", name="Insurance coverage")
    expect(panel).to_contain_text("No coverage in force today")
    assert_accessible(page)

    page.get_by_text("Add a coverage").click()
    page.get_by_role("combobox", name="Payer", exact=True).select_option(
        label=f"{payer.name} ({payer.payer_id})"
    )
    page.get_by_role("combobox", name="Plan", exact=True).select_option(
        label=f"{payer.name} · Open PPO (PPO)"
    )
    page.get_by_role("textbox", name="Member id", exact=True).fill("HRB 55012")
    page.get_by_label("Group number").fill("G-2001")
    page.get_by_label("Front of the card").set_input_files(
        {"name": "front.png", "mimeType": "image/png", "buffer": PNG}
    )
    page.get_by_role("button", name="Add the coverage").click()
    # The member id had a space: the form comes back with the reason and what was typed.
    expect(page.get_by_role("alert")).to_contain_text("A member id has no spaces")
    expect(page.get_by_role("textbox", name="Member id", exact=True)).to_have_value("HRB 55012")
    assert_accessible(page)

    page.get_by_role("textbox", name="Member id", exact=True).fill("HRB55012")
    page.get_by_label("Front of the card").set_input_files(
        {"name": "front.png", "mimeType": "image/png", "buffer": PNG}
    )
    page.get_by_role("button", name="Add the coverage").click()
    expect(page.get_by_role("status")).to_contain_text(f"Primary coverage with {payer.name} added.")
    table = page.get_by_role("table", name="Coverage in force today, in order of benefits")
    row = table.get_by_role("row", name=payer.name)
    expect(row).to_contain_text("Primary")
    expect(row).to_contain_text("HRB55012")
    expect(row).to_contain_text("Active")
    expect(row.get_by_role("link", name=f"Front of the {payer.name} card")).to_be_visible()
    assert_accessible(page)

    row.get_by_role("link", name=f"Edit the {payer.name} coverage").click()
    expect(
        page.get_by_role("img", name=f"Front of the {payer.name} insurance card")
    ).to_be_visible()
    expect(page.get_by_role("textbox", name="Member id", exact=True)).to_have_value("HRB55012")
    assert_accessible(page)

    page.goto("/coverage/payers")
    expect(page.get_by_role("table")).to_contain_text(payer.payer_id)
    assert_accessible(page)
