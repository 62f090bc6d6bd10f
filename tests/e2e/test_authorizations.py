"""Prior authorization in a real browser: the demo coordinator opens a chart's
Authorizations tab, makes a request for physical therapy, submits it (answered by the
built-in payer simulator over X12 278), sees it approved with the payer's authorization
number, and finds it on the board. axe-core checks every page opened."""

from __future__ import annotations

import datetime as dt
import random
import string
import uuid

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from carebridge.authorizations.models import PriorAuthorization
from carebridge.coverage import service as coverage
from carebridge.coverage.schemas import CoverageCreate
from carebridge.db.session import unit_of_work
from carebridge.scheduling import service as scheduling
from carebridge.scheduling.schemas import PractitionerCreate
from carebridge.security.audit import Actor
from tests.e2e.support import LiveServer, assert_accessible, sign_in
from tests.e2e.test_coverage import _patient_and_payer

pytestmark = pytest.mark.browser


def test_submit_and_approve_an_authorization(page: Page, live_server: LiveServer) -> None:
    who, payer = _patient_and_payer(live_server)
    therapist = "Lena " + "".join(random.choices(string.ascii_uppercase, k=6)).capitalize()
    with unit_of_work(live_server.factory) as db:
        coverage.add(
            db,
            Actor.system("e2e"),
            who.id,
            CoverageCreate(
                payer_ref=payer.id,
                member_id="PT" + uuid.uuid4().hex[:8].upper(),
                start_on=dt.date(2026, 1, 1),
            ),
            dt.date(2026, 1, 1),
        )
        scheduling.create_practitioner(
            db,
            Actor.system("e2e"),
            PractitionerCreate(name=therapist, specialties=["physical-therapy"]),
        )
    sign_in(page, "coordinator")

    page.goto(f"/patients/{who.id}")
    tabs = page.get_by_role("navigation", name="Chart sections")
    tabs.get_by_role("link", name="Authorizations").click()
    expect(tabs.get_by_role("link", name="Authorizations")).to_have_attribute(
        "aria-current", "page"
    )
    assert_accessible(page)
    page.get_by_role("link", name="New request").click()
    assert_accessible(page)
    page.get_by_label("Coverage").select_option(index=1)
    page.get_by_label("Ordering provider").select_option(label=therapist)
    page.get_by_label("Rendering provider (ours)").select_option(label=therapist)
    page.get_by_label("Diagnoses (ICD-10-CM)").fill("M17.11")
    page.get_by_label("Code, line 1").fill("97110")
    page.get_by_label("Modifiers, line 1").fill("GP")
    page.get_by_label("Units, line 1").fill("10")
    page.get_by_label("Last day requested").fill("2027-03-31")
    page.get_by_role("button", name="Save as draft").click()
    expect(page.get_by_role("status")).to_contain_text("saved as a draft")
    assert_accessible(page)

    page.get_by_role("button", name="Submit to payer").click()
    expect(page.get_by_role("status")).to_contain_text("answered: Approved")
    details = page.get_by_role("region", name="Authorization PA")
    expect(details).to_contain_text("Approved")
    assert_accessible(page)

    with unit_of_work(live_server.factory) as db:
        row = db.scalar(select(PriorAuthorization).where(PriorAuthorization.patient_id == who.id))
        assert row is not None
        assert row.status == "approved"
        assert row.auth_number is not None
        number = row.auth_number
    expect(details).to_contain_text(number)

    page.goto("/authorizations?status=approved")
    board = page.get_by_role("table")
    expect(board).to_contain_text(number)
    expect(board).to_contain_text("97110: 0 used / 10 approved / 10 left")
    assert_accessible(page)
