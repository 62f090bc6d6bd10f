"""The audit log screen in a real browser: filtering and the CSV export."""

from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.support import LiveServer, assert_accessible, sign_in

pytestmark = pytest.mark.browser


def _matching(page: Page) -> int:
    text = page.get_by_text(re.compile(r"^\d+ matching events?$")).inner_text()
    return int(text.split()[0])


def test_auditor_filters_by_user_and_exports_csv(page: Page, live_server: LiveServer) -> None:
    sign_in(page, "auditor")
    expect(page.get_by_role("heading", level=1)).to_have_text("My day")
    assert_accessible(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")
    everything = _matching(page)
    assert everything > 0
    assert_accessible(page)

    page.get_by_label("User").fill("auditor")
    page.get_by_role("button", name="Filter").click()

    expect(page).to_have_url(re.compile(r"/audit\?.*username=auditor"))
    expect(page.get_by_label("User")).to_have_value("auditor")
    events = page.get_by_role("region", name="Events").get_by_role("table")
    rows = events.locator("tbody").get_by_role("row")
    expect(rows.first).to_be_visible()
    users = rows.locator("td:nth-child(2)").all_inner_texts()
    assert users, "no rows for the auditor"
    assert all(u.startswith("auditor") for u in users), users
    expect(rows.filter(has=page.get_by_role("cell", name="login", exact=True))).not_to_have_count(0)
    assert _matching(page) < everything  # demo set-up rows are filtered out
    assert_accessible(page)

    with page.expect_download() as info:
        page.get_by_role("link", name="Export CSV").click()
    download = info.value
    assert re.fullmatch(r"audit-\d{8}T\d{6}Z\.csv", download.suggested_filename)
    text = download.path().read_text(encoding="utf-8")
    header, *records = list(csv.reader(io.StringIO(text)))
    assert ",".join(header).startswith("id,occurred_at")
    assert records, "the export holds no rows"
    user_column = header.index("username")
    assert {r[user_column] for r in records} == {"auditor"}
    expect(page).to_have_url(re.compile(r"/audit\?.*username=auditor"))  # still on the page
    assert_accessible(page)
