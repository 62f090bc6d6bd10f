"""Payers, plans and patients' coverage through the JSON API: a primary and a secondary
coverage (the patient a dependent on the second), the order of benefits, ending a coverage,
stale writes, card images, the audit trail; and every bad input (an end before the start,
two active primaries at once, a dependent without the subscriber, a member id with spaces or
too long, a card image of another patient, a plan of another payer) refused with a clear
error and nothing stored."""

from __future__ import annotations

import base64
import datetime as dt
import threading
import time
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.coverage import service
from carebridge.coverage.models import Coverage, Payer
from carebridge.coverage.schemas import CoverageCreate
from carebridge.db.session import unit_of_work
from carebridge.lib.errors import Conflict
from carebridge.security.audit import Actor
from carebridge.security.roles import Role
from tests.factories import make_token, make_user
from tests.integration.test_care_team import field_errors, patient, stored
from tests.integration.test_sign_in import audit_rows

# The smallest valid PNG (1x1 pixel): enough for an upload the server checks by type.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=="
)


@pytest.fixture
def api(client: TestClient, factory: sessionmaker[Session]) -> TestClient:
    user = make_user(factory, Role.COORDINATOR)
    client.headers["Authorization"] = f"Bearer {make_token(factory, user.username)}"
    return client


def payer(api: TestClient, name: str = "Prairie Mutual Health") -> dict[str, Any]:
    answer = api.post(
        "/api/v1/payers",
        json={"name": name, "payer_id": "PM" + uuid.uuid4().hex[:8].upper(),
              "phone": "(800) 555-0142", "website": "https://prairie-mutual.example"},
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    made: dict[str, Any] = answer.json()
    return made


def plan(api: TestClient, payer_ref: str, plan_type: str = "ppo") -> dict[str, Any]:
    answer = api.post(
        "/api/v1/plans",
        json={"payer_ref": payer_ref, "name": "Choice Plus", "plan_type": plan_type},
    )
    assert answer.status_code == 201, answer.text
    made: dict[str, Any] = answer.json()
    return made


def card(api: TestClient, patient_id: str, content_type: str = "image/png") -> str:
    answer = api.post(
        f"/api/v1/patients/{patient_id}/documents",
        files={"file": ("card.png", PNG, content_type)},
        data={"title": "Insurance card"},
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def coverage_body(payer_ref: str, **extra: Any) -> dict[str, Any]:
    return {"payer_ref": payer_ref, "member_id": "XQK481920301", "start_on": "2026-01-01", **extra}


def test_payers_and_plans(api: TestClient, factory: sessionmaker[Session]) -> None:
    made = payer(api)
    assert made["phone"] == "+18005550142"
    again = api.post("/api/v1/payers", json={"name": "Copy Co", "payer_id": made["payer_id"]})
    assert again.status_code == 409
    assert f"Payer id {made['payer_id']} already belongs to Prairie Mutual Health" in again.text
    bad = api.post("/api/v1/payers", json={"name": "Spaces", "payer_id": "AB 12"})
    assert bad.status_code == 422
    assert "payer_id" in field_errors(bad)
    with unit_of_work(factory, write=False) as db:
        assert db.scalar(select(func.count()).where(Payer.name.in_(["Copy Co", "Spaces"]))) == 0

    made_plan = plan(api, made["id"], "medicare-advantage")
    assert made_plan["plan_type"] == "medicare-advantage"
    unknown_type = api.post(
        "/api/v1/plans", json={"payer_ref": made["id"], "name": "X", "plan_type": "gold"}
    )
    assert unknown_type.status_code == 422
    assert "unknown plan type 'gold'" in unknown_type.text
    no_payer = api.post(
        "/api/v1/plans", json={"payer_ref": str(uuid.uuid4()), "name": "X", "plan_type": "hmo"}
    )
    assert no_payer.status_code == 422
    assert "payer_ref" in field_errors(no_payer)
    listed = api.get("/api/v1/plans", params={"payer_ref": made["id"]}).json()
    assert [p["id"] for p in listed] == [made_plan["id"]]
    assert made["id"] in [p["id"] for p in api.get("/api/v1/payers").json()]


def test_primary_and_secondary_in_order_of_benefits(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    who = patient(api)
    first, second = payer(api, "Prairie Mutual Health"), payer(api, "Lakeshore Medicaid Plan")
    first_plan = plan(api, first["id"])
    front = card(api, who["id"])
    base = f"/api/v1/patients/{who['id']}/coverage"

    secondary = api.post(
        base,
        json=coverage_body(
            second["id"], rank=2, relationship="spouse", member_id="LMP-77120",
            subscriber_family_name="Ruiz", subscriber_given_names="Mateo",
            subscriber_birth_date="1946-11-30", subscriber_sex="male", group_number="G-884",
        ),
    )  # fmt: skip
    assert secondary.status_code == 201, secondary.text
    assert secondary.json()["subscriber"] == {
        "family_name": "Ruiz", "given_names": "Mateo", "birth_date": "1946-11-30",
        "sex": "male", "member_id": "LMP-77120",
    }  # fmt: skip
    primary = api.post(
        base, json=coverage_body(first["id"], plan_id=first_plan["id"], card_front_id=front)
    )
    assert primary.status_code == 201, primary.text
    body = primary.json()
    assert body["payer_id"] == first["payer_id"]
    assert body["plan_type"] == "ppo"
    assert body["subscriber"]["family_name"] == who["family_name"]
    assert body["subscriber"]["birth_date"] == "1948-07-02"
    assert primary.headers["etag"] == 'W/"1"'

    listed = api.get(base).json()
    assert [(c["rank"], c["payer_name"]) for c in listed] == [
        (1, "Prairie Mutual Health"),
        (2, "Lakeshore Medicaid Plan"),
    ]
    read = api.get(f"/api/v1/coverage/{body['id']}")
    assert read.status_code == 200
    assert read.json()["card_front_id"] == front

    ended = api.patch(f"/api/v1/coverage/{body['id']}", json={"version": 1, "end_on": "2026-06-30"})
    assert ended.status_code == 200, ended.text
    assert ended.json()["end_on"] == "2026-06-30"
    assert ended.json()["version"] == 2
    stale = api.patch(f"/api/v1/coverage/{body['id']}", json={"version": 1, "member_id": "NEW1"})
    assert stale.status_code == 409
    assert "changed by someone else" in stale.text
    # After the first primary ends, a new primary from the next day is allowed.
    following = api.post(base, json=coverage_body(second["id"], start_on="2026-07-01"))
    assert following.status_code == 201, following.text
    with unit_of_work(factory, write=False) as db:
        kept = db.get(Coverage, uuid.UUID(body["id"]))
        assert kept is not None
        assert kept.member_id == "XQK481920301"

    patient_id = uuid.UUID(who["id"])
    actions = {(e.action, e.entity_type) for e in audit_rows(factory, patient_id=patient_id)}
    assert {("create", "Coverage"), ("read", "Coverage"), ("update", "Coverage")} <= actions


def test_dependent_becomes_self_and_cancelled_frees_the_rank(api: TestClient) -> None:
    who = patient(api)
    made = payer(api)
    base = f"/api/v1/patients/{who['id']}/coverage"
    child = api.post(
        base,
        json=coverage_body(
            made["id"], relationship="child", subscriber_family_name="Ruiz",
            subscriber_given_names="Ana", subscriber_birth_date="1975-02-14",
            subscriber_sex="female", subscriber_member_id="XQK481920300",
        ),
    )  # fmt: skip
    assert child.status_code == 201, child.text
    cancelled = api.patch(
        f"/api/v1/coverage/{child.json()['id']}",
        json={"version": 1, "status": "cancelled", "relationship": "self"},
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["subscriber"]["member_id"] == "XQK481920301"
    assert cancelled.json()["subscriber"]["family_name"] == who["family_name"]
    assert api.post(base, json=coverage_body(made["id"])).status_code == 201


BAD_INPUT = [
    ({"end_on": "2025-12-31"}, 422, "end_on", "before it starts"),
    ({"relationship": "spouse"}, 422, "subscriber_birth_date", "name the subscriber"),
    (
        {"relationship": "child", "subscriber_family_name": "Ruiz", "subscriber_given_names": "A",
         "subscriber_birth_date": "2199-01-01", "subscriber_sex": "female"},
        422, "subscriber_birth_date", "in the future",
    ),
    ({"member_id": "XQK 4819"}, 422, "member_id", "has no spaces"),
    ({"member_id": ""}, 422, "member_id", "enter the member id"),
    ({"member_id": "X" * 81}, 422, "member_id", "at most 80 characters"),
    ({"rank": 4}, 422, "rank", "less than or equal to 3"),
    ({"status": "draft"}, 422, "status", "'active', 'cancelled' or 'entered-in-error'"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "status", "field", "words"), BAD_INPUT)
def test_bad_coverage_is_refused_and_nothing_stored(
    api: TestClient,
    factory: sessionmaker[Session],
    change: dict[str, Any],
    status: int,
    field: str,
    words: str,
) -> None:
    who = patient(api)
    made = payer(api)
    answer = api.post(
        f"/api/v1/patients/{who['id']}/coverage", json=coverage_body(made["id"], **change)
    )
    assert answer.status_code == status, answer.text
    assert field in field_errors(answer) or field in answer.text
    assert words in answer.text
    assert stored(factory, Coverage, who["id"]) == 0


def test_overlapping_primary_card_of_another_patient_and_plan_of_another_payer(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    who, other = patient(api), patient(api)
    made, elsewhere = payer(api), payer(api, "Great Lakes Health Plan")
    base = f"/api/v1/patients/{who['id']}/coverage"
    assert api.post(base, json=coverage_body(made["id"], end_on="2026-12-31")).status_code == 201

    overlap = api.post(base, json=coverage_body(elsewhere["id"], start_on="2026-12-01"))
    assert overlap.status_code == 409
    assert "already has an active primary coverage with Prairie Mutual Health" in overlap.text
    assert field_errors(overlap)["rank"]

    foreign = api.post(
        base, json=coverage_body(elsewhere["id"], rank=2, card_back_id=card(api, other["id"]))
    )
    assert foreign.status_code == 422
    assert "card_back_id" in field_errors(foreign)
    assert "not one of this patient's documents" in foreign.text

    pdf = api.post(
        base,
        json=coverage_body(
            elsewhere["id"], rank=2, card_front_id=card(api, who["id"], "application/pdf")
        ),
    )
    assert pdf.status_code == 422
    assert "PNG or JPEG" in pdf.text

    wrong_plan = api.post(
        base, json=coverage_body(elsewhere["id"], rank=2, plan_id=plan(api, made["id"])["id"])
    )
    assert wrong_plan.status_code == 422
    assert "not one of Great Lakes Health Plan's plans" in wrong_plan.text
    no_payer = api.post(base, json=coverage_body(str(uuid.uuid4()), rank=2))
    assert no_payer.status_code == 422
    assert "payer_ref" in field_errors(no_payer)

    assert stored(factory, Coverage, who["id"]) == 1
    # An update is checked like a create: moving the first one onto a date range that is
    # still fine works; making it overlap a new secondary by rank does not.
    second = api.post(base, json=coverage_body(elsewhere["id"], rank=2))
    assert second.status_code == 201
    clash = api.patch(f"/api/v1/coverage/{second.json()['id']}", json={"version": 1, "rank": 1})
    assert clash.status_code == 409
    assert api.get(f"/api/v1/coverage/{second.json()['id']}").json()["rank"] == 2
    late = api.patch(
        f"/api/v1/coverage/{second.json()['id']}", json={"version": 1, "end_on": "2025-01-01"}
    )
    assert late.status_code == 422
    assert "end_on" in field_errors(late)


def test_missing_patient_and_coverage_are_404_and_billing_may_write(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    billing = make_user(factory, Role.BILLING)
    client.headers["Authorization"] = f"Bearer {make_token(factory, billing.username)}"
    made = payer(client)
    assert client.get(f"/api/v1/patients/{uuid.uuid4()}/coverage").status_code == 404
    assert client.get(f"/api/v1/coverage/{uuid.uuid4()}").status_code == 404
    answer = client.post(
        f"/api/v1/patients/{uuid.uuid4()}/coverage", json=coverage_body(made["id"])
    )
    assert answer.status_code == 404
    auditor = make_user(factory, Role.AUDITOR)
    client.headers["Authorization"] = f"Bearer {make_token(factory, auditor.username)}"
    assert client.get("/api/v1/payers").status_code == 403


def test_two_clerks_adding_a_primary_at_once_store_one(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    """The second waits for the first to commit, then sees its coverage and is refused."""
    who, made = patient(api), payer(api)
    first_added, outcomes = threading.Event(), []

    def clerk(name: str, wait: threading.Event | None) -> None:
        if wait is not None:
            wait.wait(5)
        try:
            with unit_of_work(factory) as db:
                service.add(
                    db,
                    Actor.system(name),
                    uuid.UUID(who["id"]),
                    CoverageCreate.model_validate(coverage_body(made["id"], member_id=name)),
                    dt.date(2026, 11, 26),
                )
                first_added.set()
                time.sleep(0.3)  # still uncommitted while the other clerk tries
            outcomes.append("saved")
        except Conflict as exc:
            outcomes.append(exc.fields.get("rank", "conflict"))

    threads = [
        threading.Thread(target=clerk, args=("A1", None)),
        threading.Thread(target=clerk, args=("B2", first_added)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)
    assert sorted(outcomes) == [
        "There is already an active primary coverage for these dates.",
        "saved",
    ]
    assert stored(factory, Coverage, who["id"]) == 1
