"""Scheduled reports in a real browser: the coordinator creates a weekly report (a recipient
without an email address is refused, with the reason beside the field and what was typed
kept), sends it now, finds one email per recipient queued in the outbox, and previews the
email. axe-core checks every page opened."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from carebridge.db.session import unit_of_work
from carebridge.messaging.models import OutboxMessage
from carebridge.reports.models import ScheduledReport
from tests.e2e.support import LiveServer, assert_accessible, sign_in

pytestmark = pytest.mark.browser


def test_create_a_report_send_it_now_and_preview_it(page: Page, live_server: LiveServer) -> None:
    name = f"Transitions weekly {uuid.uuid4().hex[:6]}"
    sign_in(page, "coordinator")
    page.goto("/reports")
    expect(page.get_by_role("heading", name="Scheduled reports")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="New report").click()
    expect(page.get_by_role("heading", name="New scheduled report", exact=True)).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Name").fill(name)
    page.get_by_label(re.compile(r"^Follow-up visit within 7 days of discharge")).check()
    page.get_by_label(re.compile(r"^30-day readmission rate")).check()
    page.get_by_label(re.compile(r"^James Chen")).check()
    page.get_by_label("Email address of James Chen").fill("")
    page.get_by_role("combobox", name="Send on", exact=True).select_option(label="Tuesday")
    page.get_by_role("combobox", name="Send at", exact=True).select_option(label="08:00")
    page.get_by_role("button", name="Create report").click()

    # Refused: James has no address yet; what was typed is kept.
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("James Chen has no email address")
    expect(page.get_by_label("Name")).to_have_value(name)
    expect(page.get_by_label(re.compile(r"^James Chen"))).to_be_checked()
    expect(page.get_by_role("combobox", name="Send on", exact=True)).to_have_value("1")
    assert_accessible(page)

    page.get_by_label("Email address of James Chen").fill("james.chen@clinic.example")
    page.get_by_role("button", name="Create report").click()
    expect(page.get_by_role("status")).to_contain_text(f"Report “{name}” saved")
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    assert_accessible(page)

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Send now").click()
    expect(page.get_by_role("status")).to_contain_text("queued to 1 recipient")
    assert_accessible(page)
    with unit_of_work(live_server.factory, write=False) as db:
        report = db.scalar(select(ScheduledReport).where(ScheduledReport.name == name))
        assert report is not None
        sent = list(db.scalars(select(OutboxMessage).where(OutboxMessage.focus_id == report.id)))
    assert [m.recipient for m in sent] == ["james.chen@clinic.example"]
    assert "30-day readmission rate" in sent[0].body

    page.get_by_role("link", name="Preview the email").click()
    expect(page.get_by_role("heading", name=f"Preview: {name}")).to_be_visible()
    expect(page.get_by_role("table", name=re.compile(r"^30-day readmission rate"))).to_be_visible()
    expect(page.get_by_text("James Chen <james.chen@clinic.example>")).to_be_visible()
    assert_accessible(page)

    page.goto("/reports")
    expect(page.get_by_role("link", name=name)).to_be_visible()
    assert_accessible(page)
