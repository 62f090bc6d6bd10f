"""Claims through the JSON API: a claim made for a completed visit (prefilled from the chart's
problems and the visit type's service), its 837P sent through the simulated clearinghouse and
the 999 read back, a rejection corrected and sent again, a replacement after acceptance, the
attachments checklist, the payer's decision, every status kept; and every bad input (a visit
not completed, no active coverage, unknown codes, no diagnosis, totals that do not add up,
stale versions) refused with a clear error and nothing stored."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.authorizations.models import AuthorizationService, PriorAuthorization
from carebridge.billing import claims
from carebridge.billing.models import Claim
from carebridge.coverage.clearinghouse import HttpConnector
from carebridge.coverage.x12.claim import read_837p
from carebridge.db.session import unit_of_work
from carebridge.patients.models import Condition, Patient
from carebridge.patients.terminology import ICD10CM
from carebridge.scheduling.models import Appointment, AppointmentType
from carebridge.security.audit import Actor
from carebridge.settings import Settings
from tests.factories import clinic_today
from tests.integration.test_coverage_api import payer, plan
from tests.integration.test_patients_api import unique_name
from tests.integration.test_referrals_api import count, document, problem
from tests.integration.test_scheduling_api import CHICAGO, api, book, clinic, next_weekday, ok

__all__ = ["api", "clinic"]  # fixtures used here


def birth_date() -> str:
    return (dt.date(1940, 1, 1) + dt.timedelta(days=secrets.randbelow(20_000))).isoformat()


def billed_patient(api: TestClient, member_id: str = "LSH48192031") -> dict[str, Any]:
    """A patient with an address and an active primary PPO coverage."""
    made = ok(
        api.post(
            "/api/v1/patients",
            json={
                # Distinct name and birth date: alike test patients are refused as duplicates.
                "family_name": unique_name(),
                "given_names": "Ana",
                "birth_date": birth_date(),
                "sex": "female",
                "address_line1": "5 Elm Street",
                "city": "Austin",
                "state": "TX",
                "postal_code": "78702",
            },
        ),
        201,
    )
    insurer = payer(api, "Lone Star Health")
    product = plan(api, insurer["id"], "ppo")
    made["coverage"] = ok(
        api.post(
            f"/api/v1/patients/{made['id']}/coverage",
            json={
                "payer_ref": insurer["id"],
                "plan_id": product["id"],
                "member_id": member_id,
                "group_number": "G100",
                "start_on": "2025-01-01",
            },
        ),
        201,
    )
    return made


def completed_visit(
    factory: sessionmaker[Session],
    clinic: dict[str, Any],
    patient_id: str,
    days_ago: int = 2,
    status: str = "fulfilled",
) -> str:
    """A visit that took place (written directly: the scheduler books only ahead)."""
    start = dt.datetime.combine(
        clinic_today() - dt.timedelta(days=days_ago),
        dt.time(10),
        CHICAGO,
    )
    with unit_of_work(factory) as db:
        kind = db.get(AppointmentType, uuid.UUID(clinic["kind"]["id"]))
        assert kind is not None
        kind.service_code = "99213"
        visit = Appointment(
            patient_id=uuid.UUID(patient_id),
            practitioner_id=uuid.UUID(clinic["people"][0]["id"]),
            location_id=uuid.UUID(clinic["location"]["id"]),
            appointment_type_id=kind.id,
            starts_at=start,
            ends_at=start + dt.timedelta(minutes=30),
            held_until=start,
            status=status,
            modality="in-person",
            patient_token=secrets.token_urlsafe(24),
        )
        db.add(visit)
        db.flush()
        return str(visit.id)


def problems(factory: sessionmaker[Session], patient_id: str, *codes: str) -> None:
    with unit_of_work(factory) as db:
        for code in codes:
            db.add(
                Condition(
                    patient_id=uuid.UUID(patient_id),
                    code_system=ICD10CM,
                    code=code,
                    display=code,
                    clinical_status="active",
                )
            )


def claim(api: TestClient, appointment_id: str, **extra: Any) -> Any:
    return api.post("/api/v1/claims", json={"appointment_id": appointment_id, **extra})


def step(api: TestClient, made: dict[str, Any], action: str, **extra: Any) -> Any:
    return api.post(
        f"/api/v1/claims/{made['id']}/status",
        json={"action": action, "version": made["version"], **extra},
    )


def submit(api: TestClient, made: dict[str, Any]) -> Any:
    return api.post(f"/api/v1/claims/{made['id']}/submit", json={"version": made["version"]})


def test_claim_from_a_visit_is_prefilled_sent_accepted_and_paid(
    api: TestClient, clinic: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    who = billed_patient(api)
    problems(factory, who["id"], "E11.9", "I10")
    visit = completed_visit(factory, clinic, who["id"])
    made = ok(claim(api, visit), 201)
    assert made["status"] == "draft"
    assert made["number"].startswith("C")
    assert [d["code"] for d in made["diagnoses"]] == ["E11.9", "I10"]
    assert made["lines"][0]["code"] == "99213"
    assert made["lines"][0]["charge"] == "125.00"
    assert made["total_charge"] == "125.00"
    assert made["place_of_service"] == "11"
    assert made["coverage_id"] == who["coverage"]["id"]
    assert made["payer_name"] == "Lone Star Health"

    twice = problem(claim(api, visit), 409)
    assert made["number"] in twice["detail"]

    early = problem(submit(api, made), 409)
    assert "only a claim marked ready" in early["detail"]
    ready = ok(step(api, made, "ready"))
    sent = ok(submit(api, ready))
    assert sent["status"] == "accepted"
    assert sent["submissions"] == 1
    assert sent["last_error"] is None
    raw = ok(api.get(f"/api/v1/claims/{made['id']}/x12"))
    (summary,) = read_837p(raw["request_x12"])
    assert summary.claim_id == made["number"]
    assert summary.total == 125
    assert summary.diagnoses == ["E119", "I10"]
    assert summary.member_id == "LSH48192031"
    assert "ST*999*" in raw["response_x12"]

    no_amount = problem(step(api, sent, "outcome", outcome="paid"), 422)
    assert "amount the payer paid" in no_amount["detail"]
    too_much = problem(
        step(api, sent, "outcome", outcome="paid", paid_amount="100", patient_responsibility="40"),
        422,
    )
    assert "more than the claim's charge" in too_much["detail"]
    paid = ok(
        step(
            api,
            sent,
            "outcome",
            outcome="partially-paid",
            paid_amount="80.50",
            patient_responsibility="25",
            note="Copay applied",
        )
    )
    assert paid["status"] == "partially-paid"
    assert paid["paid_amount"] == "80.50"
    assert paid["patient_responsibility"] == "25.00"

    history = ok(api.get(f"/api/v1/claims/{made['id']}/history"))
    # "submitted" while the 837 was on the wire, then what the 999 said.
    assert [h["status"] for h in history] == [
        "draft", "ready", "submitted", "accepted", "partially-paid"
    ]  # fmt: skip
    assert history[-1]["detail"] == "Copay applied"
    stale = problem(step(api, made, "ready"), 409)
    assert "changed by someone else" in stale["detail"]
    listed = ok(api.get(f"/api/v1/patients/{who['id']}/claims"))
    assert [c["id"] for c in listed] == [made["id"]]


def test_a_rejection_is_corrected_and_sent_again_then_replaced(
    api: TestClient, clinic: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    who = billed_patient(api, member_id="ERR48192033")
    visit = completed_visit(factory, clinic, who["id"])
    made = ok(claim(api, visit, diagnoses=["M54.50"]), 201)
    rejected = ok(submit(api, ok(step(api, made, "ready"))))
    assert rejected["status"] == "rejected"
    assert "NM1" in rejected["last_error"]
    assert "ERR48192033" in rejected["last_error"]
    on_board = ok(api.get("/api/v1/claims"))
    assert on_board[0]["status"] == "rejected"

    coverage = who["coverage"]
    fixed = ok(
        api.patch(
            f"/api/v1/coverage/{coverage['id']}",
            json={"version": coverage["version"], "member_id": "LSH48192033"},
        )
    )
    assert fixed["member_id"] == "LSH48192033"
    accepted = ok(submit(api, rejected))
    assert accepted["status"] == "accepted"
    assert accepted["frequency"] == "1"
    assert accepted["submissions"] == 2

    # Accepted, then found wrong: back to draft, corrected, sent as a replacement (7).
    back = ok(step(api, accepted, "reopen", note="Wrong diagnosis"))
    corrected = ok(
        api.patch(
            f"/api/v1/claims/{made['id']}",
            json={"version": back["version"], "diagnoses": ["M54.51"]},
        )
    )
    replaced = ok(submit(api, ok(step(api, corrected, "ready"))))
    assert replaced["status"] == "accepted"
    assert replaced["frequency"] == "7"
    raw = ok(api.get(f"/api/v1/claims/{made['id']}/x12"))["request_x12"]
    assert f"REF*F8*{made['number']}~" in raw
    assert ":B:7*" in raw
    statuses = [h["status"] for h in ok(api.get(f"/api/v1/claims/{made['id']}/history"))]
    assert statuses == [
        "draft", "ready", "submitted", "rejected", "submitted", "accepted",
        "draft", "ready", "submitted", "accepted",
    ]  # fmt: skip


def test_required_attachments_block_sending_until_received(
    api: TestClient, clinic: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    who = billed_patient(api)
    visit = completed_visit(factory, clinic, who["id"])
    made = ok(
        claim(
            api,
            visit,
            diagnoses=["E11.9"],
            attachments=[
                {"kind": "operative-note", "required": True, "transmission": "FX"},
                {"kind": "referral", "required": False},
            ],
        ),
        201,
    )
    assert made["missing"] == ["Operative note"]
    ready = ok(step(api, made, "ready"))
    refused = problem(submit(api, ready), 422)
    assert "required attachments are missing: Operative note" in refused["detail"]
    assert ok(api.get(f"/api/v1/claims/{made['id']}"))["status"] == "ready"

    note = made["attachments"][0]
    theirs = document(factory, billed_patient(api)["id"])
    wrong = problem(
        api.patch(
            f"/api/v1/claim-attachments/{note['id']}",
            json={"version": note["version"], "document_id": str(theirs)},
        ),
        422,
    )
    assert "not one of this patient's documents" in wrong["detail"]
    mine = document(factory, who["id"])
    marked = ok(
        api.patch(
            f"/api/v1/claim-attachments/{note['id']}",
            json={"version": note["version"], "document_id": str(mine)},
        )
    )
    assert marked["missing"] == []
    sent = ok(submit(api, marked))
    assert sent["status"] == "accepted"
    raw = ok(api.get(f"/api/v1/claims/{made['id']}/x12"))["request_x12"]
    assert f"PWK*OB*FX***AC*{made['number']}-1~" in raw


def test_bad_input_is_refused_and_nothing_stored(
    api: TestClient, clinic: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    who = billed_patient(api)
    visit = completed_visit(factory, clinic, who["id"])
    before = count(factory, Claim)

    booked = ok(book(api, clinic, dt.datetime.combine(next_weekday(3), dt.time(10), CHICAGO)), 201)
    not_done = problem(claim(api, booked["id"], diagnoses=["I10"]), 422)
    assert "not completed" in not_done["detail"]

    no_dx = problem(claim(api, visit), 422)
    assert "at least one diagnosis" in no_dx["detail"]
    bad_dx = problem(claim(api, visit, diagnoses=["Q99.99X"]), 422)
    assert "Q99.99X" in bad_dx["detail"]
    line = {"code": "9921", "charge": "125.00"}
    bad_cpt = problem(claim(api, visit, diagnoses=["I10"], lines=[line]), 422)
    assert "Line 1" in bad_cpt["detail"]
    assert "'9921' is not a procedure code" in bad_cpt["detail"]
    lines = [{"code": "99213", "charge": "125.00"}, {"code": "36415", "charge": "15.00"}]
    wrong_total = problem(claim(api, visit, diagnoses=["I10"], lines=lines, total="150.00"), 422)
    assert "does not add up: the lines come to 140.00" in wrong_total["detail"]
    pointer = [{"code": "99213", "charge": "125.00", "pointers": [2]}]
    bad_pointer = problem(claim(api, visit, diagnoses=["I10"], lines=pointer), 422)
    assert "points to diagnosis 2" in bad_pointer["detail"]
    cents = problem(
        claim(api, visit, diagnoses=["I10"], lines=[{"code": "99213", "charge": "1.001"}]), 422
    )
    assert "charge" in str(cents)

    uninsured = ok(
        api.post(
            "/api/v1/patients",
            json={"family_name": unique_name(), "given_names": "Bo",
                  "birth_date": birth_date(), "sex": "male"},
        ),
        201,
    )  # fmt: skip
    bare = completed_visit(factory, clinic, uninsured["id"])
    no_cover = problem(claim(api, bare, diagnoses=["I10"]), 422)
    assert "no active insurance coverage" in no_cover["detail"]
    assert count(factory, Claim) == before

    # The patient's address is what a claim needs too: sending names what is missing.
    made = ok(claim(api, visit, diagnoses=["I10"]), 201)
    with unit_of_work(factory) as db:
        row = db.get(Patient, uuid.UUID(who["id"]))
        assert row is not None
        row.postal_code = None
    lacking = problem(submit(api, ok(step(api, made, "ready"))), 422)
    assert "lacks ZIP code" in lacking["detail"]
    with unit_of_work(factory, write=False) as db:
        stored = db.scalar(select(Claim).where(Claim.id == uuid.UUID(made["id"])))
        assert stored is not None
        assert stored.status == "ready"
        assert stored.request_x12 is None


def test_a_granted_authorization_number_goes_on_the_claim(
    api: TestClient, clinic: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    who = billed_patient(api)
    visit = completed_visit(factory, clinic, who["id"])
    today = clinic_today()
    with unit_of_work(factory) as db:
        granted = PriorAuthorization(
            number="A" + secrets.token_hex(4),
            patient_id=uuid.UUID(who["id"]),
            coverage_id=uuid.UUID(who["coverage"]["id"]),
            ordering_practitioner_id=uuid.UUID(clinic["people"][0]["id"]),
            diagnoses=[],
            status="approved",
            requested_start=today - dt.timedelta(days=30),
            requested_end=today + dt.timedelta(days=30),
            approved_start=today - dt.timedelta(days=30),
            approved_end=today + dt.timedelta(days=30),
            auth_number="PA-778899",
        )
        db.add(granted)
        db.flush()
        db.add(
            AuthorizationService(
                authorization_id=granted.id, line=1, code="97110", units_requested=12
            )
        )
    other = ok(claim(api, visit, diagnoses=["M54.50"]), 201)  # 99213: not authorized
    assert other["prior_authorization"] is None
    second = completed_visit(factory, clinic, who["id"], days_ago=3)
    therapy = [{"code": "97110", "charge": "45.00", "units": "2"}]
    made = ok(claim(api, second, diagnoses=["M54.50"], lines=therapy), 201)
    assert made["prior_authorization"] == "PA-778899"
    sent = ok(submit(api, ok(step(api, made, "ready"))))
    assert sent["status"] == "accepted"
    raw = ok(api.get(f"/api/v1/claims/{made['id']}/x12"))["request_x12"]
    assert "REF*G1*PA-778899~" in raw


def test_an_unreachable_clearinghouse_keeps_the_claim_to_send_again(
    api: TestClient, clinic: dict[str, Any], factory: sessionmaker[Session], settings: Settings
) -> None:
    who = billed_patient(api)
    visit = completed_visit(factory, clinic, who["id"])
    ready = ok(step(api, ok(claim(api, visit, diagnoses=["I10"]), 201), "ready"))
    # Nothing listens on the discard port: the connection is refused, a transient failure.
    closed = HttpConnector("http://127.0.0.1:9/x12", timeout=2)
    with unit_of_work(factory) as db:
        kept = claims.submit(
            db, Actor.system("test"), uuid.UUID(ready["id"]), ready["version"], settings, closed
        )
    assert kept.status == "ready"
    assert kept.last_error is not None
    assert kept.last_error.startswith("Not sent: could not reach the clearinghouse")
    assert "Try again" in kept.last_error
    raw = ok(api.get(f"/api/v1/claims/{ready['id']}/x12"))
    assert raw["request_x12"].startswith("ISA*")
    assert raw["response_x12"] is None
    again = ok(submit(api, ok(api.get(f"/api/v1/claims/{ready['id']}"))))
    assert again["status"] == "accepted"
    assert again["submissions"] == 2
