"""The quality dashboard in a real browser: a coordinator opens it for February-March 2008
(the hand-built discharges of tests/integration/test_analytics_dashboard.py: 3 of 4 followed
up within 7 days), narrows it to one provider and sees the numbers change, drills into a
number to the patient behind it, downloads the list and the dashboard table, opens the
measure's page, the access page (third-next-available) and the de-identified extract.
axe-core checks every page opened."""

from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import Page, expect

from carebridge.analytics.measures import REGISTRY
from tests.e2e.support import LiveServer, assert_accessible, sign_in
from tests.integration.test_analytics_dashboard import KEY, build_scenario

pytestmark = pytest.mark.browser

PERIOD = "period=custom&first=2008-02-01&last=2008-03-31"


def test_dashboard_filter_drill_down_and_export(page: Page, live_server: LiveServer) -> None:
    scene = build_scenario(live_server.factory, live_server.settings)
    title = REGISTRY[KEY].title
    sign_in(page, "coordinator")

    page.goto(f"/quality?{PERIOD}")
    expect(page.get_by_role("heading", name="Quality measures", level=1)).to_be_visible()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=title, exact=True))
    expect(row.get_by_role("cell").nth(0)).to_have_text("75.0 %")
    expect(row.get_by_role("link", name=re.compile(r"^4 in the denominator"))).to_be_visible()
    expect(page.get_by_role("img", name=f"{title}, rate by month")).to_be_visible()
    assert_accessible(page)

    # Narrow to Dr Alpha: only patient A (followed up) is left, 1 of 1.
    filters = page.get_by_role("form", name="Filter the measures")
    filters.get_by_label("Provider").select_option(label=scene.labels["alpha"])
    filters.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(rf"provider={scene.alpha}"))
    expect(filters.get_by_label("Provider")).to_have_value(str(scene.alpha))
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=title, exact=True))
    expect(row.get_by_role("cell").nth(0)).to_have_text("100.0 %")
    assert_accessible(page)

    # Drill into the numerator: patient A, linked to the chart.
    row.get_by_role("link", name=re.compile(r"^1 in the numerator")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("in the numerator")
    patient = page.get_by_role("link", name=scene.names[scene.a])
    expect(patient).to_have_attribute("href", f"/patients/{scene.a}")
    expect(page.get_by_role("heading", name="1 case, 1 patient")).to_be_visible()
    assert_accessible(page)

    with page.expect_download() as got:
        page.get_by_role("link", name="CSV", exact=True).click()
    download = got.value
    assert re.fullmatch(r"[a-z0-9-]+-\d{8}\.csv", download.suggested_filename)
    rows = list(csv.reader(io.StringIO(download.path().read_text(encoding="utf-8-sig"))))
    assert rows[0][:4] == ["Patient", "MRN", "Case date", "Met"]
    assert [r[0] for r in rows[1:]] == [scene.names[scene.a]]

    # Dr Alpha's patients have no care gap; the whole population's is patient B.
    page.get_by_role("link", name="Care gaps").click()
    expect(page.get_by_role("heading", name="0 cases, 0 patients")).to_be_visible()
    assert_accessible(page)
    page.goto(f"/quality/measures/{KEY}/patients?set=gap&{PERIOD}")
    expect(page.get_by_role("link", name=scene.names[scene.b])).to_be_visible()
    expect(page.get_by_text("Not met")).to_be_visible()
    assert_accessible(page)


def test_measure_page_and_dashboard_export(page: Page, live_server: LiveServer) -> None:
    build_scenario(live_server.factory, live_server.settings)
    sign_in(page, "coordinator")
    page.goto(f"/quality/measures/{KEY}?{PERIOD}&by=coordinator")
    expect(page.get_by_role("heading", name=REGISTRY[KEY].title, level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Definition")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("by coordinator"))).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Break down by").select_option("payer")
    page.get_by_role("region", name="By coordinator").get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", name="By payer")).to_be_visible()
    assert_accessible(page)

    page.goto(f"/quality?{PERIOD}")
    with page.expect_download() as got:
        page.get_by_role("region", name="Measures").get_by_role("link", name="XLSX").click()
    assert got.value.suggested_filename.endswith(".xlsx")
    assert got.value.path().stat().st_size > 0


def test_access_page_from_the_tabs(page: Page, live_server: LiveServer) -> None:
    scene = build_scenario(live_server.factory, live_server.settings)
    sign_in(page, "coordinator")
    page.goto(f"/quality?{PERIOD}")
    page.get_by_role("navigation", name="Quality sections").get_by_role(
        "link", name="Access"
    ).click()
    expect(page.get_by_role("heading", name="Access to appointments", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Third-next-available appointment")).to_be_visible()
    expect(page.get_by_role("rowheader", name=scene.labels["alpha"])).to_be_visible()
    assert_accessible(page)
    filters = page.get_by_role("form", name="Filter the measures")
    filters.get_by_label("Provider").select_option(label=scene.labels["beta"])
    filters.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(rf"provider={scene.beta}"))
    expect(page.get_by_role("rowheader", name=scene.labels["beta"])).to_be_visible()
    expect(page.get_by_role("rowheader", name=scene.labels["alpha"])).to_have_count(0)
    assert_accessible(page)


def test_extract_screen(page: Page, live_server: LiveServer) -> None:
    sign_in(page, "coordinator")
    page.goto("/quality/extract")
    expect(page.get_by_role("heading", name="De-identified extract")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Dates").select_option("year")
    with page.expect_download() as got:
        page.get_by_role("button", name="Download the extract").click()
    text = got.value.path().read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("study_id,age,birth_date")
