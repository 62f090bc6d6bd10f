"""Billing inquiries, payment plans and estimates through the JSON API: a case worked with
notes and resolved, instalments that sum to the cent with late ones computed, reminders
queued once on an allowed channel and a task for a long-late instalment, and the estimate of
the patient's share from the latest answered eligibility check; bad input refused with a
clear error and nothing stored."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.billing import plans
from carebridge.billing.models import BillingCase, Instalment, PaymentPlan
from carebridge.coverage.models import EligibilityCheck
from carebridge.db.session import unit_of_work
from carebridge.lib.time import utcnow
from carebridge.messaging.models import OutboxMessage
from carebridge.patients.models import ContactConsent
from carebridge.settings import Settings
from carebridge.tasks.models import Task
from tests.factories import clinic_today
from tests.integration.test_claims_api import billed_patient
from tests.integration.test_referrals_api import count, problem
from tests.integration.test_scheduling_api import api, ok
from tests.integration.test_sign_in import audit_rows

__all__ = ["api"]  # fixtures used here


def case(api: TestClient, patient_id: str, **extra: Any) -> Any:
    body = {"topic": "statement", "question": "Why was I billed $40 for my March visit?"}
    return api.post(f"/api/v1/patients/{patient_id}/billing-cases", json={**body, **extra})


def change(api: TestClient, made: dict[str, Any], **extra: Any) -> Any:
    return api.patch(
        f"/api/v1/billing-cases/{made['id']}", json={"version": made["version"], **extra}
    )


def test_a_case_is_worked_with_notes_and_resolved(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    who = billed_patient(api)
    made = ok(case(api, who["id"]), 201)
    assert made["status"] == "open"
    assert made["number"].startswith("B")
    assert made["owner_name"]  # the person who opened it owns it
    waiting = ok(change(api, made, status="waiting-payer", note="Called Lone Star, ref 5521."))
    assert waiting["status"] == "waiting-payer"
    assert [n["body"] for n in waiting["notes"]] == ["Called Lone Star, ref 5521."]
    on_board = [c["id"] for c in ok(api.get("/api/v1/billing-cases"))]
    assert made["id"] in on_board

    unresolved = problem(change(api, waiting, status="resolved"), 422)
    assert "Write the resolution" in unresolved["detail"]
    nothing = problem(change(api, waiting), 422)
    assert "Nothing to save" in nothing["detail"]
    stale = problem(change(api, made, note="late"), 409)
    assert "changed by someone else" in stale["detail"]
    done = ok(
        change(
            api,
            waiting,
            status="resolved",
            resolution="The $40 was the copay; explained and the patient agreed.",
        )
    )
    assert done["status"] == "resolved"
    assert done["resolved_at"] is not None
    assert made["id"] not in [c["id"] for c in ok(api.get("/api/v1/billing-cases"))]
    mine = ok(api.get(f"/api/v1/patients/{who['id']}/billing-cases"))
    assert [c["resolution"] for c in mine] == [done["resolution"]]
    assert audit_rows(factory, entity_type="BillingCase", patient_id=uuid.UUID(who["id"]))


def test_bad_case_input_is_refused(api: TestClient, factory: sessionmaker[Session]) -> None:
    who = billed_patient(api)
    before = count(factory, BillingCase)
    topic = problem(case(api, who["id"], topic="lottery"), 422)
    assert "unknown topic 'lottery'" in str(topic)
    owner = problem(case(api, who["id"], owner_id=str(uuid.uuid4())), 422)
    assert "no active user" in owner["detail"]
    other = problem(case(api, who["id"], claim_id=str(uuid.uuid4())), 422)
    assert "not one of this patient's claims" in other["detail"]
    assert count(factory, BillingCase) == before


def plan(api: TestClient, patient_id: str, **extra: Any) -> Any:
    body = {"total": "1000.00", "instalments": 3, "first_due_on": clinic_today().isoformat()}
    return api.post(f"/api/v1/patients/{patient_id}/payment-plans", json={**body, **extra})


def test_instalments_sum_to_the_cent_and_are_paid(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    who = billed_patient(api)
    made = ok(plan(api, who["id"]), 201)
    amounts = [Decimal(i["amount"]) for i in made["instalments"]]
    assert amounts == [Decimal("333.33"), Decimal("333.33"), Decimal("333.34")]
    assert sum(amounts) == Decimal("1000.00")
    dues = [dt.date.fromisoformat(i["due_on"]) for i in made["instalments"]]
    assert [(d.year * 12 + d.month) - (dues[0].year * 12 + dues[0].month) for d in dues] == [
        0,
        1,
        2,
    ]

    by_amount = ok(plan(api, who["id"], instalments=None, instalment_amount="150.00"), 201)
    assert [i["amount"] for i in by_amount["instalments"]] == ["150.00"] * 6 + ["100.00"]

    first = made["instalments"][0]
    wrong = problem(
        api.post(
            f"/api/v1/instalments/{first['id']}/payment",
            json={"version": first["version"], "amount": "300.00", "paid_on": dues[0].isoformat()},
        ),
        422,
    )
    assert "record that amount" in wrong["detail"]
    paid = ok(
        api.post(
            f"/api/v1/instalments/{first['id']}/payment",
            json={"version": first["version"], "amount": "333.33", "paid_on": dues[0].isoformat()},
        )
    )
    assert paid["paid"] == "333.33"
    assert paid["balance"] == "666.67"
    again = problem(
        api.post(
            f"/api/v1/instalments/{first['id']}/payment",
            json={
                "version": first["version"] + 1,
                "amount": "333.33",
                "paid_on": dues[0].isoformat(),
            },
        ),
        409,
    )
    assert "already paid" in again["detail"]

    before = count(factory, PaymentPlan)
    both = problem(plan(api, who["id"], instalment_amount="100.00"), 422)
    assert "not both" in str(both)
    past = problem(plan(api, who["id"], first_due_on="2020-01-01"), 422)
    assert "has passed" in past["detail"]
    too_many = problem(plan(api, who["id"], instalments=None, instalment_amount="10.00"), 422)
    assert "at most 60" in too_many["detail"]
    assert count(factory, PaymentPlan) == before


def test_late_instalments_reminders_and_tasks(
    api: TestClient, factory: sessionmaker[Session], settings: Settings
) -> None:
    who = billed_patient(api)
    ok(
        api.patch(
            f"/api/v1/patients/{who['id']}",
            json={"version": who["version"], "email": f"ana.{secrets.token_hex(3)}@example.org"},
        )
    )
    made = ok(plan(api, who["id"], total="90.00", instalments=3), 201)
    plan_id = uuid.UUID(made["id"])
    today = clinic_today()
    with unit_of_work(factory) as db:
        items = list(
            db.scalars(
                select(Instalment)
                .where(Instalment.plan_id == plan_id)
                .order_by(Instalment.sequence)
            )
        )
        items[0].due_on = today - dt.timedelta(days=12)  # long late
        items[1].due_on = today + dt.timedelta(days=2)  # due soon
        items[2].due_on = today + dt.timedelta(days=40)
    shown = ok(api.get(f"/api/v1/payment-plans/{made['id']}"))
    assert shown["late"] is True
    assert [i["late"] for i in shown["instalments"]] == [True, False, False]
    assert shown["instalments"][0]["days_late"] == 12
    board = ok(api.get("/api/v1/payment-plans"))
    assert board[0]["late"] is True

    now = utcnow()
    with unit_of_work(factory) as db:
        assert plans.queue_reminders(db, settings, now) >= 0
    with unit_of_work(factory, write=False) as db:
        soon = db.get(Instalment, items[1].id)
        assert soon is not None
        # No consent to email on file: skipped, with the reason.
        assert soon.reminder_outbox_id is None
        assert soon.reminder_skipped is not None
        assert "email contact not allowed" in soon.reminder_skipped
    with unit_of_work(factory) as db:
        db.add(
            ContactConsent(
                patient_id=uuid.UUID(who["id"]),
                channel="email",
                decision="permit",
                effective_from=today - dt.timedelta(days=1),
            )
        )
        row = db.get(Instalment, items[1].id)
        assert row is not None
        row.reminder_skipped = None
    for _ in range(2):  # the second pass queues nothing new
        with unit_of_work(factory) as db:
            plans.queue_reminders(db, settings, now)
            plans.raise_late_tasks(db, settings, now)
    with unit_of_work(factory, write=False) as db:
        messages = list(db.scalars(select(OutboxMessage).where(OutboxMessage.focus_id == plan_id)))
        assert len(messages) == 1
        assert messages[0].channel == "email"
        assert "$30.00" in messages[0].body
        raised = list(db.scalars(select(Task).where(Task.focus_id == plan_id)))
        assert len(raised) == 1
        assert "instalment 1 is 12 days late" in raised[0].title
    first = shown["instalments"][0]
    ok(
        api.post(
            f"/api/v1/instalments/{first['id']}/payment",
            json={"version": first["version"] + 1, "amount": "30.00", "paid_on": today.isoformat()},
        )
    )
    with unit_of_work(factory, write=False) as db:
        task = db.scalar(select(Task).where(Task.focus_id == plan_id))
        assert task is not None
        assert task.status == "completed"


def _eligibility(factory: sessionmaker[Session], who: dict[str, Any]) -> None:
    result = {
        "level": "subscriber",
        "active": True,
        "rejections": [],
        "benefits": [
            {"kind": "copay", "coverage_level": "IND", "service_types": ["98"], "amount": "25.00",
             "percent": None, "time_period": "27", "in_network": True},
            {"kind": "coinsurance", "coverage_level": "IND", "service_types": ["30"],
             "amount": None, "percent": "0.2", "time_period": "27", "in_network": True},
            {"kind": "deductible", "coverage_level": "IND", "service_types": ["30"],
             "amount": "350.00", "percent": None, "time_period": "29", "in_network": True},
        ],
    }  # fmt: skip
    with unit_of_work(factory) as db:
        db.add(
            EligibilityCheck(
                patient_id=uuid.UUID(who["id"]),
                coverage_id=uuid.UUID(who["coverage"]["id"]),
                service_date=clinic_today(),
                trigger="api",
                status="complete",
                trace_number=secrets.token_hex(8),
                control_number=1,
                request_x12="ISA*",
                answered_at=utcnow(),
                active=True,
                result=result,
            )
        )


def test_estimate_from_the_latest_eligibility(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    who = billed_patient(api)
    none_yet = ok(api.post("/api/v1/estimates", json={"patient_id": who["id"], "code": "99213"}))
    assert none_yet["available"] is False
    assert "Check eligibility on the Coverage tab" in none_yet["message"]
    _eligibility(factory, who)
    visit = ok(api.post("/api/v1/estimates", json={"patient_id": who["id"], "code": "99213"}))
    assert visit["patient_pays"] == "25.00"
    assert visit["payer_name"] == "Lone Star Health"
    mri = ok(
        api.post(
            "/api/v1/estimates",
            json={"patient_id": who["id"], "code": "73721", "allowed": "900.00"},
        )
    )
    assert mri["patient_pays"] == "460.00"
    assert mri["plan_pays"] == "440.00"
    assert any("$350.00 left of your deductible" in s for s in mri["steps"])
    bad = problem(api.post("/api/v1/estimates", json={"patient_id": who["id"], "code": "ABC"}), 422)
    assert "'ABC' is not a procedure code" in bad["detail"]
    unpriced = problem(
        api.post("/api/v1/estimates", json={"patient_id": who["id"], "code": "99499"}), 422
    )
    assert "not on the clinic's fee schedule" in unpriced["detail"]
    assert audit_rows(factory, entity_type="EligibilityCheck", patient_id=uuid.UUID(who["id"]))
