"""The billing screens over HTTP, as a browser without JavaScript uses them: the Billing tab,
a claim made from a completed visit and sent, a refused claim form keeping what was typed,
a billing case opened and resolved, the estimate (and its printable page), a payment plan
made and an instalment paid, and the board across patients."""

from __future__ import annotations

import html
import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from carebridge.billing.models import BillingCase, Claim
from carebridge.security.roles import Role
from tests.factories import csrf_from, make_user, sign_in
from tests.integration.test_claims_api import billed_patient, completed_visit, problems
from tests.integration.test_referrals_api import count
from tests.integration.test_scheduling_api import api, clinic

__all__ = ["api", "clinic"]  # fixtures used here


def post(client: TestClient, path: str, page: str, data: dict[str, Any]) -> Any:
    token = csrf_from(client.get(page))
    return client.post(path, data={**data, "csrf_token": token})


def text(response: Any) -> str:
    return html.unescape(response.text)


def as_billing(api: TestClient, factory: sessionmaker[Session]) -> TestClient:
    del api.headers["Authorization"]
    user = make_user(factory, Role.BILLING)
    assert sign_in(api, user.username).status_code == 303
    return api


def test_claim_from_a_visit_on_the_pages(
    api: TestClient, clinic: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    who = billed_patient(api)
    problems(factory, who["id"], "I10")
    visit = completed_visit(factory, clinic, who["id"])
    page = as_billing(api, factory)
    tab = page.get(f"/patients/{who['id']}/billing")
    assert tab.status_code == 200
    assert f"/patients/{who['id']}/claims/new/{visit}" in tab.text
    form = page.get(f"/patients/{who['id']}/claims/new/{visit}")
    assert form.status_code == 200
    assert 'value="I10"' in form.text
    assert 'value="99213"' in form.text

    before = count(factory, Claim)
    bad = post(
        page,
        f"/patients/{who['id']}/claims/new/{visit}",
        f"/patients/{who['id']}/claims/new/{visit}",
        {"diagnoses": "I10", "line1_code": "9921", "line1_charge": "125.00"},
    )
    assert bad.status_code == 422
    assert "'9921' is not a procedure code" in text(bad)
    assert 'value="9921"' in bad.text  # what was typed is kept
    assert count(factory, Claim) == before

    made = post(
        page,
        f"/patients/{who['id']}/claims/new/{visit}",
        f"/patients/{who['id']}/claims/new/{visit}",
        {"diagnoses": "I10, E11.9", "line1_code": "99213", "line1_charge": "125.00",
         "line1_pointers": "1 2", "line2_code": "36415", "line2_charge": "15"},
    )  # fmt: skip
    assert made.status_code == 303
    claim_url = made.headers["location"]
    shown = page.get(claim_url)
    assert "Claim C" in shown.text
    assert "$140.00" in shown.text
    version = re.search(r'name="version" value="(\d+)"', shown.text)
    assert version
    ready = post(page, f"{claim_url}/status", claim_url, {"action": "ready", "version": version[1]})
    assert ready.status_code == 303
    shown = page.get(claim_url)
    version = re.search(r'name="version" value="(\d+)"', shown.text)
    assert version
    sent = post(page, f"{claim_url}/submit", claim_url, {"version": version[1]})
    assert sent.status_code == 303
    after = text(page.get(claim_url))
    assert "Accepted by the clearinghouse" in after
    assert "837P as last sent" in after
    assert "ST*999*" in after
    board = text(page.get("/billing"))
    assert who["family_name"] in board


def test_case_estimate_and_plan_on_the_pages(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    who = billed_patient(api)
    page = as_billing(api, factory)
    tab_url = f"/patients/{who['id']}/billing"
    empty = post(page, f"{tab_url}/cases", tab_url, {"topic": "statement", "question": ""})
    assert empty.status_code == 422
    before = count(factory, BillingCase)
    opened = post(page, f"{tab_url}/cases", tab_url, {"topic": "statement", "question": "Why $40?"})
    assert opened.status_code == 303
    assert count(factory, BillingCase) == before + 1
    case_url = opened.headers["location"]
    shown = page.get(case_url)
    version = re.search(r'name="version" value="(\d+)"', shown.text)
    assert version
    refused = post(page, case_url, case_url, {"version": version[1], "status": "resolved"})
    assert refused.status_code == 422
    assert "Enter the resolution" in text(refused)
    resolved = post(
        page,
        case_url,
        case_url,
        {"version": version[1], "status": "resolved", "resolution": "Copay, explained."},
    )
    assert resolved.status_code == 303
    assert "Copay, explained." in text(page.get(case_url))

    estimate = page.get(f"{tab_url}/estimate", params={"code": "99213"})
    assert estimate.status_code == 200
    assert "Check eligibility on the Coverage tab" in text(estimate)
    printable = page.get(f"{tab_url}/estimate", params={"code": "99213", "print": "1"})
    assert "Cost estimate for" in text(printable)
    bad_code = page.get(f"{tab_url}/estimate", params={"code": "XYZ"})
    assert bad_code.status_code == 422

    new_plan = f"/patients/{who['id']}/payment-plans/new"
    first = re.search(r'name="first_due_on" type="date" value="([0-9-]+)"', page.get(new_plan).text)
    assert first
    made = post(
        page,
        f"/patients/{who['id']}/payment-plans",
        new_plan,
        {"total": "100.00", "instalments": "3", "first_due_on": first[1]},
    )
    assert made.status_code == 303
    plan_url = made.headers["location"]
    shown = text(page.get(plan_url))
    assert "$33.33" in shown
    assert "$33.34" in shown
    form = re.search(
        r'action="([^"]+/instalments/[^"]+)".*?name="version" value="(\d+)"', shown, re.S
    )
    assert form
    paid = post(
        page, form[1], plan_url, {"version": form[2], "amount": "33.33", "paid_on": first[1]}
    )
    assert paid.status_code in (303, 422)  # 422 only when the first due date is in the future
    assert "Payment plan P" in text(page.get(plan_url))
