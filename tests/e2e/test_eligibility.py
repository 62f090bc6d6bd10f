"""Eligibility in a real browser: the demo coordinator opens a chart's Coverage tab, checks
eligibility (answered by the built-in payer simulator) and reads the result in plain words;
then a coverage whose member id the payer rejects shows what to fix. axe-core checks every
page opened."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from playwright.sync_api import Page, expect

from carebridge.coverage import service as coverage
from carebridge.coverage.schemas import CoverageCreate
from carebridge.db.session import unit_of_work
from carebridge.security.audit import Actor
from tests.e2e.support import LiveServer, assert_accessible, sign_in
from tests.e2e.test_coverage import _patient_and_payer

pytestmark = pytest.mark.browser


def _covered(live_server: LiveServer, member_id: str) -> uuid.UUID:
    who, payer = _patient_and_payer(live_server)
    with unit_of_work(live_server.factory) as db:
        coverage.add(
            db, Actor.system("e2e"), who.id,
            CoverageCreate(payer_ref=payer.id, member_id=member_id, start_on=dt.date(2026, 1, 1)),
            dt.date(2026, 1, 1),
        )  # fmt: skip
    return who.id


def test_check_eligibility_and_read_the_result(page: Page, live_server: LiveServer) -> None:
    active = _covered(live_server, "E2E4819201")
    rejected = _covered(live_server, "E2E99")
    sign_in(page, "coordinator")

    page.goto(f"/patients/{active}/coverage")
    expect(page.get_by_text("Eligibility has not been checked")).to_be_visible()
    page.get_by_role("button", name="Check eligibility").click()
    expect(page.get_by_text("Eligibility checked: coverage is active")).to_be_visible()
    expect(page.get_by_text("$25.00 per office visit")).to_be_visible()
    expect(page.get_by_text("20% after the deductible")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Details and raw X12").click()
    expect(page.get_by_role("heading", name="Inquiry sent (270)")).to_be_visible()
    assert_accessible(page)

    page.goto(f"/patients/{rejected}/coverage")
    page.get_by_role("button", name="Check eligibility").click()
    expect(page.get_by_text("The payer rejected the inquiry").first).to_be_visible()
    expect(page.get_by_text("re-enter it exactly as on the insurance card").first).to_be_visible()
    assert_accessible(page)
