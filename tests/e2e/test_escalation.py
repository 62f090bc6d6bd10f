"""Escalation, care teams and barriers in a real browser: an overdue task escalates when the
worker's rules run (its priority chip on the worklist changes, the queue's supervisor finds a
notification on My day that opens the task), the rules page lists the rules and what they
did, and the chart's Care team tab adds members, refuses a mistyped NPI with the reason, and
puts a recorded barrier on the patient banner. axe-core checks every page opened.

Each test makes its own people, queue and patient through the services, on the live
server's database, with names no other test uses."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import string
import uuid
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect

from carebridge.db.session import unit_of_work
from carebridge.demo import DEMO_PASSWORD
from carebridge.lib.time import utcnow
from carebridge.patients import service as patients
from carebridge.patients.schemas import PatientCreate
from carebridge.security import service as security
from carebridge.security.audit import Actor
from carebridge.security.roles import Role
from carebridge.security.schemas import UserCreate
from carebridge.tasks import escalation, queues
from carebridge.tasks import service as tasks
from carebridge.tasks.queue_schemas import QueueCreate
from tests.e2e.support import LiveServer, assert_accessible, sign_in

pytestmark = pytest.mark.browser

SYSTEM = Actor.system("e2e")
GOOD_NPI = "1234567893"


def _tag() -> str:
    # Not the shared generator: the demo seed reseeds it, which made two tests' tags alike.
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(6))


@dataclass(frozen=True)
class Setting:
    tag: str
    supervisor: str  # username
    patient_id: uuid.UUID
    patient_name: str
    task_id: uuid.UUID
    task_title: str


def _user(live_server: LiveServer, name: str, role: Role) -> uuid.UUID:
    with unit_of_work(live_server.factory) as db:
        made = security.create_user(
            db,
            SYSTEM,
            UserCreate(username=name, display_name=name.title(), role=role, password=DEMO_PASSWORD),
        )
        return made.id


def _patient(live_server: LiveServer, tag: str) -> tuple[uuid.UUID, str]:
    family = "Quillon" + tag
    with unit_of_work(live_server.factory) as db:
        made = patients.register(
            db,
            SYSTEM,
            PatientCreate(
                family_name=family,
                given_names="Edith",
                birth_date=dt.date(1944, 5, 17),
                sex="female",
            ),
        )
    return made.id, f"{family}, Edith"


def _overdue_task(live_server: LiveServer) -> Setting:
    """A supervisor who also works a queue, and a routine task in that queue two days
    overdue."""
    tag = _tag()
    supervisor = f"sup-{tag}"
    boss = _user(live_server, supervisor, Role.COORDINATOR)
    patient_id, patient_name = _patient(live_server, tag)
    title = f"Call about the scale readings {tag}"
    with unit_of_work(live_server.factory) as db:
        queue = queues.create_queue(
            db, SYSTEM, QueueCreate(code=f"hf-{tag}", name=f"Heart team {tag}", supervisor_id=boss)
        )
        queues.add_member(db, SYSTEM, queue.id, boss)
        task = tasks.create(
            db,
            SYSTEM,
            title=title,
            patient_id=patient_id,
            queue=queue.code,
            kind="call",
            due_at=utcnow() - dt.timedelta(days=2),
        )
    return Setting(tag, supervisor, patient_id, patient_name, task.id, title)


def test_overdue_task_escalates_and_the_supervisor_is_told(
    page: Page, live_server: LiveServer
) -> None:
    case = _overdue_task(live_server)
    sign_in(page, case.supervisor)
    expect(page.get_by_role("heading", level=1)).to_have_text("My day")
    row = page.get_by_role("row").filter(has_text=case.task_title)
    expect(row).to_contain_text("Routine")
    expect(row).not_to_contain_text("Escalated")
    assert_accessible(page)

    # What `carebridge worker` runs each minute.
    summary = escalation.run_all(live_server.factory, zone=live_server.settings.timezone)
    assert summary.by_rule.get("routine-overdue-1d", 0) >= 1

    page.reload()
    row = page.get_by_role("row").filter(has_text=case.task_title)
    expect(row).to_contain_text("Urgent")
    expect(row).to_contain_text("Escalated")
    notes = page.get_by_role("region", name="Notifications")
    link = notes.get_by_role("link", name=f"“{case.task_title}”", exact=False)
    expect(link).to_contain_text("priority raised to Urgent")
    assert_accessible(page)

    link.click()
    expect(page).to_have_url(f"{live_server.url}/tasks/{case.task_id}")
    expect(page.get_by_role("heading", name=case.task_title)).to_be_visible()
    expect(page.locator("main")).to_contain_text("Urgent")
    assert_accessible(page)

    # Running again changes nothing: still one notification for this task.
    escalation.run_all(live_server.factory, zone=live_server.settings.timezone)
    page.goto("/")
    expect(page.get_by_role("link", name=f"“{case.task_title}”", exact=False)).to_have_count(1)

    page.goto("/tasks/rules")
    expect(page.get_by_role("heading", level=1)).to_have_text("Escalation and timer rules")
    routine = page.locator("#rule-routine-overdue-1d")
    expect(routine).to_contain_text("Its priority is raised to Urgent.")
    expect(routine).to_contain_text("escalated")
    assert_accessible(page)

    page.get_by_role("link", name="Team queues").click()
    queue = page.get_by_role("region", name=re.compile(f"Heart team {case.tag}"))
    expect(queue).to_contain_text(f"Supervisor: {case.supervisor.title()}")
    assert_accessible(page)


def test_care_team_tab_and_barrier_on_the_banner(page: Page, live_server: LiveServer) -> None:
    tag = _tag()
    patient_id, _ = _patient(live_server, tag)
    sign_in(page, "coordinator")
    page.goto(f"/patients/{patient_id}")
    page.get_by_role("navigation", name="Chart sections").get_by_role(
        "link", name="Care team"
    ).click()
    expect(page.get_by_role("heading", name="Care team", exact=True)).to_be_visible()
    expect(page.locator("#team")).to_contain_text("Nobody is on this patient's care team yet")
    assert_accessible(page)

    page.get_by_text("Add an outside provider").click()
    form = page.locator("details", has_text="Add an outside provider")
    form.get_by_label("Name").fill(f"Dr. Imani Okoro {tag}")
    form.get_by_label("Role on the team").select_option(label="Specialist")
    form.get_by_label("NPI").fill("1234567890")
    form.get_by_label("Organization").fill("Lakeshore Heart Specialists")
    form.get_by_role("button", name="Add to the team").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("fails its check digit")
    expect(page.locator("#f-provider-npi")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-provider-name")).to_have_value(f"Dr. Imani Okoro {tag}")
    assert_accessible(page)

    page.locator("#f-provider-npi").fill(GOOD_NPI)
    page.locator("details", has_text="Add an outside provider").get_by_role(
        "button", name="Add to the team"
    ).click()
    expect(page.get_by_role("status")).to_contain_text("added to the care team as specialist")
    current = page.get_by_role("table", name="Current care team")
    expect(current).to_contain_text(f"Dr. Imani Okoro {tag}")
    expect(current).to_contain_text(f"NPI {GOOD_NPI}")
    assert_accessible(page)

    page.get_by_text("Record a barrier").click()
    barrier = page.locator("details", has_text="Record a barrier")
    barrier.get_by_label("Barrier").select_option(label="Transport")
    barrier.get_by_label("Note").fill("No car; two buses to the clinic.")
    barrier.get_by_role("button", name="Record barrier").click()
    banner = page.locator("section.patient-banner")
    expect(banner).to_contain_text("Barriers")
    expect(banner.locator(".chip", has_text="Transport")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("button", name=re.compile(r"Mark resolved\W+Transport")).click()
    expect(page.locator("section.patient-banner")).not_to_contain_text("Barriers")
    expect(page.locator("#barriers")).to_contain_text("resolved")
    assert_accessible(page)
