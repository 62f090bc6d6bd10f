"""Billing in a real browser: the demo billing specialist opens a case for a patient's
question and resolves it, then makes a claim from a completed visit and sends it to the
simulated clearinghouse, which accepts it. axe-core checks every page opened."""

from __future__ import annotations

import datetime as dt
import random
import re
import secrets
import string
import uuid

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from carebridge.billing.models import BillingCase, Claim
from carebridge.coverage.models import Coverage, Payer, Plan
from carebridge.db.session import unit_of_work
from carebridge.lib.checksums import luhn_digit
from carebridge.lib.time import utcnow
from carebridge.patients import service as patients
from carebridge.patients.schemas import PatientCreate
from carebridge.scheduling.models import Appointment, AppointmentType, Location, Practitioner
from carebridge.security.audit import Actor
from tests.e2e.support import LiveServer, assert_accessible, sign_in

pytestmark = pytest.mark.browser


def _npi() -> str:
    body = "1" + str(uuid.uuid4().int)[:8]
    return body + luhn_digit("80840" + body)


def _patient_with_visit(live_server: LiveServer) -> tuple[str, str]:
    """A patient with an address, a primary PPO and a visit completed two days ago."""
    family = "B" + "".join(random.choices(string.ascii_lowercase, k=7))
    with unit_of_work(live_server.factory) as db:
        who = patients.register(
            db,
            Actor.system("e2e"),
            PatientCreate(
                family_name=family.capitalize(),
                given_names="Lucia",
                birth_date=dt.date(1962, 8, 30),
                sex="female",
                address_line1="48 Lake Street",
                city="Chicago",
                state="IL",
                postal_code="60601",
            ),
        )
        payer = Payer(name="Prairie Mutual Health", payer_id="PMH" + secrets.token_hex(4).upper())
        db.add(payer)
        db.flush()
        plan = Plan(payer_ref=payer.id, name="Choice PPO", plan_type="ppo")
        db.add(plan)
        db.flush()
        db.add(
            Coverage(
                patient_id=who.id,
                payer_ref=payer.id,
                plan_id=plan.id,
                member_id="PMH" + str(random.randint(10_000_000, 99_999_999)),
                start_on=dt.date(2025, 1, 1),
            )
        )
        tag = secrets.token_hex(3)
        practitioner = Practitioner(
            name="Grace Okafor, MD", npi=_npi(), specialties=["family-medicine"]
        )
        kind = AppointmentType(
            code=f"fu-{tag}",
            name="Follow-up visit",
            duration_minutes=20,
            modality="in-person",
            service_code="99213",
        )
        location = Location(name=f"Lakeside {tag}", timezone="America/Chicago")
        db.add_all([practitioner, kind, location])
        db.flush()
        start = utcnow().replace(hour=16, minute=0, second=0, microsecond=0) - dt.timedelta(days=2)
        visit = Appointment(
            patient_id=who.id,
            practitioner_id=practitioner.id,
            location_id=location.id,
            appointment_type_id=kind.id,
            starts_at=start,
            ends_at=start + dt.timedelta(minutes=20),
            held_until=start,
            status="fulfilled",
            modality="in-person",
            patient_token=secrets.token_urlsafe(24),
        )
        db.add(visit)
        db.flush()
        return str(who.id), str(visit.id)


def test_resolve_a_case_and_send_a_claim(page: Page, live_server: LiveServer) -> None:
    patient_id, visit_id = _patient_with_visit(live_server)
    sign_in(page, "billing")

    page.goto(f"/patients/{patient_id}")
    tabs = page.get_by_role("navigation", name="Chart sections")
    tabs.get_by_role("link", name="Billing").click()
    expect(tabs.get_by_role("link", name="Billing")).to_have_attribute("aria-current", "page")
    assert_accessible(page)

    page.get_by_label(re.compile(r"^Topic")).select_option("statement")
    page.get_by_label(re.compile(r"^The patient's question")).fill(
        "Why did I get a bill for $40 after my last visit?"
    )
    page.get_by_role("button", name="Open case").click()
    expect(page.get_by_role("status")).to_contain_text("opened")
    assert_accessible(page)
    page.get_by_label("Add a note").fill("Checked the claim: the $40 is the office copay.")
    page.get_by_label("Status").select_option("resolved")
    page.get_by_label("Resolution").fill("Explained the copay; the patient will pay it.")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name=re.compile("Billing case B"))).to_contain_text(
        "Resolved"
    )
    expect(page.get_by_role("region", name="Notes")).to_contain_text("office copay")
    assert_accessible(page)

    tabs.get_by_role("link", name="Billing").click()
    page.locator(f'a[href="/patients/{patient_id}/claims/new/{visit_id}"]').click()
    assert_accessible(page)
    page.get_by_label(re.compile(r"^Diagnoses")).fill("I10, E11.9")
    expect(page.get_by_label("Line 1 code")).to_have_value("99213")
    page.get_by_role("button", name="Save claim as draft").click()
    expect(page.get_by_role("status")).to_contain_text("saved as a draft")
    assert_accessible(page)
    page.get_by_role("button", name="Mark ready to send").click()
    assert_accessible(page)
    page.get_by_role("button", name="Send to the clearinghouse").click()
    expect(page.get_by_role("heading", name=re.compile("Claim C"))).to_contain_text(
        "Accepted by the clearinghouse"
    )
    history = page.get_by_role("region", name="Status history")
    for status in ("Draft", "Ready to send", "Accepted by the clearinghouse"):
        expect(history).to_contain_text(status)
    assert_accessible(page)

    with unit_of_work(live_server.factory) as db:
        claim = db.scalar(select(Claim).where(Claim.patient_id == uuid.UUID(patient_id)))
        assert claim is not None
        assert claim.status == "accepted"
        assert claim.request_x12 is not None
        assert "HI*ABK:I10*ABF:E119~" in claim.request_x12
        case = db.scalar(select(BillingCase).where(BillingCase.patient_id == uuid.UUID(patient_id)))
        assert case is not None
        assert case.status == "resolved"

    page.goto("/billing")
    expect(page.get_by_role("heading", level=1)).to_have_text("Billing")
    assert_accessible(page)
