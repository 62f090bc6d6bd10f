"""My day in a real browser: a coordinator sees a task on the worklist, opens it, logs a
call that reached the patient and completes the task in the same step, and sees it leave
the worklist; a task a colleague creates in another session appears on the worklist without
a reload (the live refresh, set to 5 s here). axe-core checks every page opened.

Each test makes its own people and patient through the services, on the live server's
database, with names no other test uses."""

from __future__ import annotations

import datetime as dt
import random
import re
import string
import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from carebridge.db.session import unit_of_work
from carebridge.lib.time import utcnow
from carebridge.patients import service as patients
from carebridge.patients.schemas import PatientCreate
from carebridge.security.audit import Actor
from carebridge.security.roles import Role
from carebridge.tasks import service as tasks
from tests.e2e.support import LiveServer, assert_accessible, sign_in
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser

SYSTEM = Actor.system("e2e")


def _tag() -> str:
    return "".join(random.choices(string.ascii_lowercase, k=6))


def _patient(live_server: LiveServer, tag: str) -> tuple[uuid.UUID, str]:
    family = "Marlowe" + tag
    with unit_of_work(live_server.factory) as db:
        made = patients.register(
            db,
            SYSTEM,
            PatientCreate(
                family_name=family,
                given_names="Odette",
                birth_date=dt.date(1948, 2, 11),
                sex="female",
            ),
        )
    return made.id, f"{family}, Odette"


def test_work_a_task_from_my_day_log_the_call_and_complete_it(
    page: Page, live_server: LiveServer
) -> None:
    tag = _tag()
    person = make_user(live_server.factory, Role.COORDINATOR, username=f"wl-{tag}")
    patient_id, patient_name = _patient(live_server, tag)
    title = f"Call about the new inhaler {tag}"
    with unit_of_work(live_server.factory) as db:
        tasks.create(
            db,
            SYSTEM,
            title=title,
            patient_id=patient_id,
            owner_id=person.id,
            kind="call",
            priority="urgent",
            due_at=utcnow() - dt.timedelta(hours=2),
        )

    sign_in(page, person.username, PASSWORD)
    expect(page).to_have_url(f"{live_server.url}/")
    counts = page.locator(".worklist-counts")
    expect(counts).to_contain_text("1 open")
    expect(counts).to_contain_text("1 overdue")
    row = page.get_by_role("row").filter(has_text=title)
    expect(row).to_contain_text(patient_name)
    expect(row).to_contain_text("Urgent")
    expect(row).to_contain_text("2 h overdue")
    expect(row.get_by_role("link", name=patient_name)).to_have_attribute(
        "href", f"/patients/{patient_id}"
    )
    assert_accessible(page)

    row.get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text(patient_name)  # the banner
    assert_accessible(page)

    outreach = page.get_by_role("region", name=re.compile(r"^Outreach"))
    expect(outreach).to_contain_text("0 attempts")
    outreach.get_by_label("Outcome").select_option("reached")
    outreach.get_by_label("Spoke with").fill("Her daughter Ana")
    outreach.get_by_label("Note").fill("Picked up the inhaler; knows how to use it.")
    outreach.get_by_label("Complete the task").check()
    outreach.get_by_role("button", name="Log it").click()

    expect(page.locator(".flash")).to_contain_text(
        "Phone call logged: reached. The task is completed."
    )
    expect(outreach).to_contain_text("1 attempt")
    expect(outreach).to_contain_text("with Her daughter Ana")
    expect(page.get_by_role("region", name=title)).to_contain_text("Completed")
    expect(page.get_by_role("region", name="History")).to_contain_text("Status: ready → completed")
    assert_accessible(page)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="My day").click()
    expect(page.get_by_role("row").filter(has_text=title)).to_have_count(0)
    expect(page.get_by_role("region", name="Worklist")).to_contain_text("Nothing to do yet.")
    expect(counts).to_contain_text("0 open")
    assert_accessible(page)

    # The chart's tab keeps the count and the closed task.
    page.goto(f"/patients/{patient_id}/tasks")
    expect(page.get_by_role("region", name=re.compile(r"^Outreach log"))).to_contain_text(
        "Reached: 1"
    )
    expect(page.get_by_role("region", name="Recently closed tasks")).to_contain_text(title)
    assert_accessible(page)


def test_a_task_created_in_another_session_appears_without_a_reload(
    page: Page, other_person: Callable[[], Page], live_server: LiveServer
) -> None:
    tag = _tag()
    person = make_user(live_server.factory, Role.COORDINATOR, username=f"wl-{tag}")
    colleague_user = make_user(live_server.factory, Role.COORDINATOR, username=f"col-{tag}")
    patient_id, patient_name = _patient(live_server, tag)
    title = f"Medication reconciliation after discharge {tag}"

    sign_in(page, person.username, PASSWORD)
    page.goto("/?refresh=5")  # the live refresh every 5 s instead of 30
    expect(page.locator("#worklist-live")).to_have_attribute("data-refresh", "5")
    expect(page.get_by_role("region", name="Worklist")).to_contain_text("Nothing to do yet.")
    page.evaluate("window.stillTheSamePage = true")
    assert_accessible(page)

    colleague = other_person()
    sign_in(colleague, colleague_user.username, PASSWORD)
    colleague.goto(f"/tasks/new?patient_id={patient_id}")
    colleague.get_by_label("Template", exact=True).select_option(label="Medication reconciliation")
    colleague.get_by_role("button", name="Fill in from the template").click()
    expect(colleague.get_by_label("What to do")).to_have_value("Medication reconciliation")
    assert_accessible(colleague)
    colleague.get_by_label("What to do").fill(title)
    colleague.get_by_label("Who does it").select_option(label=person.display_name)
    colleague.get_by_role("button", name="Create task").click()
    expect(colleague.locator(".flash")).to_contain_text(f"Task created: {title}.")
    expect(colleague.get_by_role("heading", level=1)).to_have_text(patient_name)
    assert_accessible(colleague)

    row = page.get_by_role("row").filter(has_text=title)
    expect(row).to_have_count(1, timeout=20_000)
    expect(row).to_contain_text(patient_name)
    expect(row).to_contain_text("Urgent")
    expect(page.locator(".worklist-counts")).to_contain_text("1 open")
    assert page.evaluate("window.stillTheSamePage") is True  # swapped in place, not reloaded
    assert_accessible(page)
