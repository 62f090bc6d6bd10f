"""Prior authorization through the JSON API against the simulated payer: create, submit on
both channels (X12 278 and Da Vinci PAS), approved / partial / pended / denied answers, a
pended request answered and resubmitted, a decision recorded by hand, an appeal overturning a
denial, units used from completed visits (and more used than approved), the booking warning,
the timers (expiry, expiring soon, low units), stale writes; and bad input (invalid CPT/HCPCS
or ICD-10-CM codes, another patient's coverage or document, a clearinghouse that times out,
a malformed answer) refused or kept with a clear error and nothing half-stored."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from carebridge.authorizations import service
from carebridge.authorizations.models import (
    AuthorizationService,
    PriorAuthorization,
)
from carebridge.coverage.clearinghouse import ClearinghouseError
from carebridge.db.session import unit_of_work
from carebridge.scheduling.models import Appointment
from carebridge.security.roles import Role
from carebridge.tasks.models import Task
from tests.factories import clinic_today, make_token, make_user
from tests.integration.test_care_team import field_errors, patient
from tests.integration.test_coverage_api import card
from tests.integration.test_scheduling_api import book, clinic, next_weekday, npi, ok

__all__ = ["clinic"]  # fixtures used here

TODAY = clinic_today()


@pytest.fixture
def api(client: TestClient, factory: sessionmaker[Session]) -> TestClient:
    user = make_user(factory, Role.COORDINATOR)
    client.headers["Authorization"] = f"Bearer {make_token(factory, user.username)}"
    return client


@pytest.fixture
def admin(app: FastAPI, factory: sessionmaker[Session]) -> TestClient:
    user = make_user(factory, Role.ADMIN)
    c = TestClient(app)
    c.headers["Authorization"] = f"Bearer {make_token(factory, user.username)}"
    return c


def make_payer(api: TestClient, channel: str = "x12-278") -> dict[str, Any]:
    return ok(  # type: ignore[no-any-return]
        api.post(
            "/api/v1/payers",
            json={
                "name": f"Prairie Mutual {channel}",
                "prior_auth_channel": channel,
                "payer_id": "PA" + uuid.uuid4().hex[:8].upper(),
            },
        ),
        201,
    )


@pytest.fixture
def world(api: TestClient, admin: TestClient) -> dict[str, Any]:
    """A patient with an X12 coverage, a PAS payer, an ordering practitioner, a document."""
    who = patient(api)
    x12 = make_payer(api)
    fhir = make_payer(api, "fhir-pas")
    coverage = ok(
        api.post(
            f"/api/v1/patients/{who['id']}/coverage",
            json={"payer_ref": x12["id"], "member_id": "XQK481920301", "start_on": "2026-01-01"},
        ),
        201,
    )
    doctor = ok(
        admin.post(
            "/api/v1/practitioners",
            json={
                "name": f"Maya Chen {uuid.uuid4().hex[:4]}",
                "npi": npi(),
                "specialties": ["family-medicine"],
            },
        ),
        201,
    )
    return {
        "patient": who,
        "x12": x12,
        "fhir": fhir,
        "coverage": coverage,
        "doctor": doctor,
        "document": card(api, who["id"]),
    }


def body(world: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "patient_id": world["patient"]["id"],
        "coverage_id": world["coverage"]["id"],
        "ordering_practitioner_id": world["doctor"]["id"],
        "rendering_practitioner_id": world["doctor"]["id"],
        "diagnoses": ["M54.50"],
        "services": [{"code": "97110", "modifiers": ["GP"], "units_requested": 8}],
        "requested_start": (TODAY - dt.timedelta(days=10)).isoformat(),
        "requested_end": (TODAY + dt.timedelta(days=80)).isoformat(),
        **extra,
    }


def create(api: TestClient, world: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return ok(api.post("/api/v1/prior-authorizations", json=body(world, **extra)), 201)  # type: ignore[no-any-return]


def submit(api: TestClient, made: dict[str, Any], status: int = 200) -> dict[str, Any]:
    base = f"/api/v1/prior-authorizations/{made['id']}"
    return ok(api.post(f"{base}/submit", json={"version": made["version"]}), status)  # type: ignore[no-any-return]


def count(factory: sessionmaker[Session], model: type[Any], **where: Any) -> int:
    with unit_of_work(factory, write=False) as db:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return db.scalar(query) or 0


def test_create_submit_x12_and_approved_in_full(api: TestClient, world: dict[str, Any]) -> None:
    made = create(api, world)
    assert made["status"] == "draft"
    assert made["number"].startswith("PA")
    assert made["diagnoses"][0]["code"] == "M54.50"
    assert made["diagnoses"][0]["display"]
    assert made["services"][0]["description"].startswith("Physical therapy")
    sent = submit(api, made)
    assert sent["status"] == "approved"
    assert sent["auth_number"].startswith("SIM")
    assert sent["approved_start"] == made["requested_start"]
    line = sent["services"][0]
    assert (line["units_approved"], line["units_used"], line["units_remaining"]) == (8, 0, 8)
    detail = ok(api.get(f"/api/v1/prior-authorizations/{made['id']}"))
    [submission] = detail["submissions"]
    assert submission["channel"] == "x12-278"
    assert submission["status"] == "answered"
    assert submission["request_payload"].startswith("ISA*")
    assert "ST*278*0001*005010X217~" in submission["request_payload"]
    assert "HCR*A1*" in submission["response_payload"]
    history = ok(api.get(f"/api/v1/prior-authorizations/{made['id']}/history"))
    assert [h["status"] for h in history] == ["draft", "submitted", "approved"]
    board = ok(api.get("/api/v1/prior-authorizations"))
    assert made["id"] in {a["id"] for a in board}


def test_fhir_pas_channel_partial_approval(api: TestClient, world: dict[str, Any]) -> None:
    coverage = ok(
        api.post(
            f"/api/v1/patients/{world['patient']['id']}/coverage",
            json={
                "payer_ref": world["fhir"]["id"],
                "member_id": "PAS778812",
                "rank": 2,
                "start_on": "2026-01-01",
            },
        ),
        201,
    )
    made = create(
        api, world, coverage_id=coverage["id"], services=[{"code": "97110", "units_requested": 20}]
    )
    sent = submit(api, made)
    assert sent["status"] == "partially-approved"
    assert sent["services"][0]["units_approved"] == 12
    detail = ok(api.get(f"/api/v1/prior-authorizations/{made['id']}"))
    request = detail["submissions"][0]["request_payload"]
    assert '"use": "preauthorization"' in request
    assert '"resourceType": "Bundle"' in request
    assert '"ClaimResponse"' in detail["submissions"][0]["response_payload"]


def test_pended_imaging_answered_with_records_and_resubmitted(
    api: TestClient, world: dict[str, Any]
) -> None:
    made = create(api, world, services=[{"code": "72148", "units_requested": 1}])
    pended = submit(api, made)
    assert pended["status"] == "pended"
    assert pended["decision_reason"].startswith("0U")
    assert pended["auth_number"] is None
    changed = ok(
        api.patch(
            f"/api/v1/prior-authorizations/{made['id']}",
            json={"version": pended["version"], "document_ids": [world["document"]]},
        )
    )
    assert changed["document_ids"] == [world["document"]]
    approved = submit(api, changed)
    assert approved["status"] == "approved"
    detail = ok(api.get(f"/api/v1/prior-authorizations/{made['id']}"))
    assert len(detail["submissions"]) == 2
    assert "PWK*OZ*EL" in detail["submissions"][0]["request_payload"]


def test_denial_appealed_and_overturned(api: TestClient, world: dict[str, Any]) -> None:
    made = create(api, world, services=[{"code": "95811", "units_requested": 1}])
    denied = submit(api, made)
    assert denied["status"] == "denied"
    assert denied["decision_reason"].startswith("AA")
    base = f"/api/v1/prior-authorizations/{made['id']}"
    appeal = ok(
        api.post(
            f"{base}/appeals",
            json={
                "version": denied["version"],
                "level": "first",
                "submitted_on": TODAY.isoformat(),
                "reason": "Sleep apnea documented.",
            },
        ),
        201,
    )
    assert appeal["outcome"] == "pending"
    again = api.post(
        f"{base}/appeals",
        json={"version": denied["version"] + 1, "submitted_on": TODAY.isoformat(), "reason": "x"},
    )
    assert again.status_code == 409, again.text
    decided = ok(
        api.post(
            f"{base}/appeals/{appeal['id']}",
            json={
                "version": appeal["version"],
                "outcome": "overturned",
                "decided_on": TODAY.isoformat(),
            },
        )
    )
    assert decided["outcome"] == "overturned"
    after = ok(api.get(base))
    assert after["status"] == "approved"
    assert after["decision_source"] == "appeal"
    assert after["services"][0]["units_approved"] == 1
    assert after["appeals"][0]["outcome"] == "overturned"


def test_manual_decision_and_its_checks(api: TestClient, world: dict[str, Any]) -> None:
    made = create(api, world)
    base = f"/api/v1/prior-authorizations/{made['id']}/decision"
    no_number = api.post(base, json={"version": made["version"], "decision": "approved"})
    assert no_number.status_code == 422
    assert "auth_number" in field_errors(no_number)
    fewer = api.post(
        base,
        json={
            "version": made["version"],
            "decision": "approved",
            "auth_number": "PH-1",
            "lines": [{"line": 1, "units_approved": 4}],
        },
    )
    assert fewer.status_code == 422
    assert "partially" in fewer.text
    stale = api.post(
        base, json={"version": made["version"] + 3, "decision": "denied", "reason": "No"}
    )
    assert stale.status_code == 409
    decided = ok(
        api.post(
            base,
            json={
                "version": made["version"],
                "decision": "partially-approved",
                "auth_number": "PH-2231",
                "lines": [{"line": 1, "units_approved": 4}],
                "approved_start": made["requested_start"],
                "approved_end": made["requested_end"],
            },
        )
    )
    assert decided["status"] == "partially-approved"
    assert decided["auth_number"] == "PH-2231"
    assert decided["decision_source"] == "manual"
    assert decided["services"][0]["units_approved"] == 4


def test_bad_codes_and_other_patients_records_store_nothing(
    api: TestClient, world: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    before = count(factory, PriorAuthorization)
    bad_cpt = api.post(
        "/api/v1/prior-authorizations",
        json=body(world, services=[{"code": "9711", "units_requested": 2}]),
    )
    assert bad_cpt.status_code == 422
    assert "'9711'" in bad_cpt.text
    assert "services" in field_errors(bad_cpt)
    bad_icd = api.post("/api/v1/prior-authorizations", json=body(world, diagnoses=["Q99.99X"]))
    assert bad_icd.status_code == 422
    assert "diagnoses" in field_errors(bad_icd)
    other = patient(api)
    foreign_doc = card(api, other["id"])
    bad_doc = api.post("/api/v1/prior-authorizations", json=body(world, document_ids=[foreign_doc]))
    assert bad_doc.status_code == 422
    assert "document_ids" in field_errors(bad_doc)
    foreign = api.post("/api/v1/prior-authorizations", json=body(world, patient_id=other["id"]))
    assert foreign.status_code == 422
    assert "coverage_id" in field_errors(foreign)
    backwards = api.post(
        "/api/v1/prior-authorizations",
        json=body(world, requested_start="2027-01-10", requested_end="2027-01-01"),
    )
    assert backwards.status_code == 422
    assert "requested_end" in field_errors(backwards)
    zero = api.post(
        "/api/v1/prior-authorizations",
        json=body(world, services=[{"code": "97110", "units_requested": 0}]),
    )
    assert zero.status_code == 422
    assert count(factory, PriorAuthorization) == before


def test_stale_edit_and_edit_after_decision_are_409(api: TestClient, world: dict[str, Any]) -> None:
    made = create(api, world)
    url = f"/api/v1/prior-authorizations/{made['id']}"
    changed = ok(api.patch(url, json={"version": made["version"], "note": "Call back Tue"}))
    stale = api.patch(url, json={"version": made["version"], "note": "Lost update"})
    assert stale.status_code == 409
    submit(api, changed)
    late = api.patch(url, json={"version": changed["version"] + 2, "note": "x"})
    assert late.status_code == 409


class Flaky:
    """A clearinghouse that times out ``failures`` times, then answers like the simulator."""

    name = "flaky"

    def __init__(self, failures: int, answer: str | None = None) -> None:
        self.failures = failures
        self.answer = answer
        self.calls = 0

    def exchange(self, payload: str, content_type: str) -> str:
        from carebridge.coverage import simulator

        self.calls += 1
        if self.calls <= self.failures:
            raise ClearinghouseError("the clearinghouse did not answer within 30 s", transient=True)
        return self.answer if self.answer is not None else simulator.answer(payload, content_type)


def test_timeouts_retry_then_task_after_repeated_failure(
    api: TestClient,
    world: dict[str, Any],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    app: FastAPI,
) -> None:
    flaky = Flaky(failures=99)
    monkeypatch.setattr(service, "connector_for", lambda settings: flaky)
    made = create(api, world)
    sent = submit(api, made)
    assert sent["status"] == "submitted"
    assert sent["next_attempt_at"] is not None
    assert "did not answer" in sent["last_error"]
    settings = app.state.settings
    later = dt.datetime.now(dt.UTC)
    for _ in range(settings.clearinghouse_max_attempts + 1):
        later += dt.timedelta(hours=3)
        service.retry_due(factory, settings, later)
    with unit_of_work(factory, write=False) as db:
        auth = db.get(PriorAuthorization, uuid.UUID(made["id"]))
        assert auth is not None
        assert auth.status == "submitted"
        assert auth.next_attempt_at is None
        tasks = db.scalars(select(Task).where(Task.focus_id == auth.id)).all()
        assert [t.template_key for t in tasks] == ["prior-auth-submission-failed"]
    assert flaky.calls == settings.clearinghouse_max_attempts


def test_retry_succeeds_after_a_timeout(
    api: TestClient,
    world: dict[str, Any],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    app: FastAPI,
) -> None:
    flaky = Flaky(failures=1)
    monkeypatch.setattr(service, "connector_for", lambda settings: flaky)
    made = create(api, world)
    assert submit(api, made)["status"] == "submitted"
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    assert service.retry_due(factory, app.state.settings, later) == 1
    assert ok(api.get(f"/api/v1/prior-authorizations/{made['id']}"))["status"] == "approved"


def test_malformed_answer_is_kept_raw_and_nothing_applied(
    api: TestClient,
    world: dict[str, Any],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    garbled = "ISA*00*          *00*          *ZZ*CLEARINGHOUSE  *ZZ*CAREBRIDGE     *2611"
    monkeypatch.setattr(service, "connector_for", lambda settings: Flaky(0, garbled))
    made = create(api, world)
    sent = submit(api, made)
    assert sent["status"] == "submitted"
    assert sent["auth_number"] is None
    assert "segment 1, ISA" in sent["last_error"]
    detail = ok(api.get(f"/api/v1/prior-authorizations/{made['id']}"))
    assert detail["submissions"][0]["response_payload"] == garbled
    assert detail["submissions"][0]["status"] == "failed"
    with unit_of_work(factory, write=False) as db:
        lines = db.scalars(
            select(AuthorizationService).where(
                AuthorizationService.authorization_id == uuid.UUID(made["id"])
            )
        ).all()
        assert [line.units_approved for line in lines] == [None]
    # The clerk can still record the payer's phone answer.
    decided = ok(
        api.post(
            f"/api/v1/prior-authorizations/{made['id']}/decision",
            json={"version": sent["version"], "decision": "approved", "auth_number": "TEL-9"},
        )
    )
    assert decided["status"] == "approved"


def _fulfilled_visits(
    factory: sessionmaker[Session], world: dict[str, Any], kind: str, n: int
) -> None:
    """``n`` completed visits of a type billed 97110, dated in the past few days."""
    from carebridge.scheduling.models import AppointmentType, Location

    with unit_of_work(factory) as db:
        kind_row = AppointmentType(
            code=kind,
            name="PT session",
            duration_minutes=45,
            modality="in-person",
            service_code="97110",
            prior_auth_required=True,
        )
        place = Location(name=f"Gym {kind}", timezone="America/Chicago")
        db.add_all([kind_row, place])
        db.flush()
        for day in range(n):
            start = dt.datetime.now(dt.UTC) - dt.timedelta(days=day + 1)
            db.add(
                Appointment(
                    patient_id=uuid.UUID(world["patient"]["id"]),
                    practitioner_id=uuid.UUID(world["doctor"]["id"]),
                    location_id=place.id,
                    appointment_type_id=kind_row.id,
                    starts_at=start,
                    ends_at=start + dt.timedelta(minutes=45),
                    held_until=start + dt.timedelta(minutes=45),
                    status="fulfilled",
                    modality="in-person",
                    patient_token=uuid.uuid4().hex,
                )
            )


def test_units_used_over_use_flagged_and_timers(
    api: TestClient, world: dict[str, Any], factory: sessionmaker[Session], app: FastAPI
) -> None:
    made = create(
        api,
        world,
        services=[{"code": "97110", "units_requested": 3}],
        requested_end=(TODAY + dt.timedelta(days=10)).isoformat(),
    )
    approved = submit(api, made)
    assert approved["status"] == "approved"
    assert approved["expiring_soon"] is True
    _fulfilled_visits(factory, world, f"pt-{uuid.uuid4().hex[:6]}", 5)
    after = ok(api.get(f"/api/v1/prior-authorizations/{made['id']}"))
    line = after["services"][0]
    assert (
        line["units_used"],
        line["units_approved"],
        line["units_remaining"],
        line["over_by"],
    ) == (5, 3, 0, 2)
    assert after["over_used"] is True
    board = ok(api.get("/api/v1/prior-authorizations?attention=true"))
    assert board[0]["over_used"] is True
    settings = app.state.settings
    with unit_of_work(factory) as db:
        first = service.run_timers(db, settings)
    with unit_of_work(factory) as db:
        second = service.run_timers(db, settings)
    assert first.expiring >= 1
    assert first.over_used >= 1
    assert second.expiring == 0
    assert second.over_used == 0
    with unit_of_work(factory, write=False) as db:
        keys = sorted(
            t.template_key
            for t in db.scalars(select(Task).where(Task.focus_id == uuid.UUID(made["id"])))
        )
    assert keys == ["prior-auth-expiring", "prior-auth-over-used"]
    # Past its end, the timer expires it.
    with unit_of_work(factory) as db:
        db.execute(
            update(PriorAuthorization)
            .where(PriorAuthorization.id == uuid.UUID(made["id"]))
            .values(approved_end=TODAY - dt.timedelta(days=1))
        )
    with unit_of_work(factory) as db:
        assert service.run_timers(db, settings).expired >= 1
    assert ok(api.get(f"/api/v1/prior-authorizations/{made['id']}"))["status"] == "expired"


def test_booking_warns_without_an_authorization(
    api: TestClient, world: dict[str, Any], factory: sessionmaker[Session], app: FastAPI
) -> None:
    kind = f"pt-{uuid.uuid4().hex[:6]}"
    _fulfilled_visits(factory, world, kind, 0)
    from carebridge.scheduling.models import AppointmentType

    with unit_of_work(factory, write=False) as db:
        kind_id = db.scalar(select(AppointmentType.id).where(AppointmentType.code == kind))
        assert kind_id is not None
        patient_id = uuid.UUID(world["patient"]["id"])
        zone = app.state.settings.timezone
        missing = service.booking_warnings(db, patient_id, kind_id, TODAY, zone)
    assert [w.code for w in missing] == ["prior-auth-missing"]
    made = create(api, world, services=[{"code": "97110", "units_requested": 2}])
    submit(api, made)
    with unit_of_work(factory, write=False) as db:
        assert service.booking_warnings(db, patient_id, kind_id, TODAY, zone) == []
        outside = service.booking_warnings(
            db, patient_id, kind_id, TODAY + dt.timedelta(days=400), zone
        )
    assert [w.code for w in outside] == ["prior-auth-missing"]
    _fulfilled_visits(factory, world, kind + "b", 2)
    with unit_of_work(factory, write=False) as db:
        used_up = service.booking_warnings(db, patient_id, kind_id, TODAY, zone)
    assert [w.code for w in used_up] == ["prior-auth-used-up"]


def test_payer_edit_deactivate_and_stale(api: TestClient, world: dict[str, Any]) -> None:
    payer = world["fhir"]
    url = f"/api/v1/payers/{payer['id']}"
    changed = ok(
        api.patch(
            url,
            json={
                "version": payer["version"],
                "name": "Prairie Mutual PAS",
                "prior_auth_channel": "x12-278",
            },
        )
    )
    assert changed["prior_auth_channel"] == "x12-278"
    assert changed["name"] == "Prairie Mutual PAS"
    stale = api.patch(url, json={"version": payer["version"], "phone": "(800) 555-0100"})
    assert stale.status_code == 409
    taken = api.patch(
        url, json={"version": changed["version"], "payer_id": world["x12"]["payer_id"]}
    )
    assert taken.status_code == 409
    off = ok(api.patch(url, json={"version": changed["version"], "active": False}))
    assert off["active"] is False
    refused = api.post(
        f"/api/v1/patients/{world['patient']['id']}/coverage",
        json={"payer_ref": payer["id"], "member_id": "NEW1", "rank": 3, "start_on": "2026-01-01"},
    )
    assert refused.status_code == 422
    assert "payer_ref" in field_errors(refused)
    on = ok(api.patch(url, json={"version": off["version"], "active": True}))
    assert on["active"] is True
    plan = ok(
        api.post(
            "/api/v1/plans", json={"payer_ref": payer["id"], "name": "Gold", "plan_type": "ppo"}
        ),
        201,
    )
    plan_off = ok(
        api.patch(f"/api/v1/plans/{plan['id']}", json={"version": plan["version"], "active": False})
    )
    assert plan_off["active"] is False


def test_appointment_type_service_code_is_checked(admin: TestClient) -> None:
    tag = uuid.uuid4().hex[:6]
    made = ok(
        admin.post(
            "/api/v1/appointment-types",
            json={
                "code": f"pt-{tag}",
                "name": "PT",
                "duration_minutes": 45,
                "service_code": " 97110 ",
                "prior_auth_required": True,
            },
        ),
        201,
    )
    assert made["service_code"] == "97110"
    assert made["prior_auth_required"] is True
    bad = admin.post(
        "/api/v1/appointment-types",
        json={"code": f"px-{tag}", "name": "PT", "duration_minutes": 45, "service_code": "9711"},
    )
    assert bad.status_code == 422
    assert "9711" in bad.text


def test_reader_cannot_write(app: FastAPI, factory: sessionmaker[Session]) -> None:
    user = make_user(factory, Role.AUDITOR)
    c = TestClient(app)
    c.headers["Authorization"] = f"Bearer {make_token(factory, user.username)}"
    answer = c.post("/api/v1/prior-authorizations", json={})
    assert answer.status_code == 403
    assert isinstance(answer, httpx.Response)


def test_booking_answer_carries_the_warning(api: TestClient, clinic: dict[str, Any]) -> None:
    tag = uuid.uuid4().hex[:6]
    kind = ok(
        api.post(
            "/api/v1/appointment-types",
            json={
                "code": f"pt-{tag}",
                "name": "Physical therapy session",
                "duration_minutes": 45,
                "specialties": ["family-medicine"],
                "service_code": "97110",
                "prior_auth_required": True,
            },
        ),
        201,
    )
    person = clinic["people"][0]
    answer = api.post(
        f"/api/v1/practitioners/{person['id']}/offerings",
        json={"appointment_type_codes": [kind["code"]]},
    )
    assert answer.status_code == 204, answer.text
    clinic["pt"] = kind
    start = dt.datetime.combine(next_weekday(2), dt.time(9, 0), tzinfo=ZoneInfo("America/Chicago"))
    booked = ok(book(api, clinic, start, kind="pt"), 201)
    assert len(booked["warnings"]) == 1
    assert "needs a prior authorization" in booked["warnings"][0]
    plain = ok(book(api, clinic, start + dt.timedelta(hours=1)), 201)
    assert plain["warnings"] == []
