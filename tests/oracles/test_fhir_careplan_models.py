"""Every CarePlan, Goal, CareTeam, Task and Communication we serve parses with fhirclient's
strict R4 (4.0.1) models: one record of each with every field we map filled in (a template
plan with problems, goals of each target shape and linked activities; a team of every kind of
member; a queued, commented, focused task; outreach both ways) and one with only what the
APIs require, made through the APIs and read back over FHIR as a client gets them."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import unit_of_work
from carebridge.scheduling import service as scheduling
from carebridge.scheduling.schemas import PractitionerCreate
from carebridge.security.audit import Actor
from carebridge.security.roles import Role
from tests.factories import make_user
from tests.integration.test_care_team import PROVIDER_NPI, daughter, patient
from tests.integration.test_fhir_read import bearer
from tests.integration.test_tasks_api import new_queue
from tests.oracles import support

SYSTEM = Actor.system("fhir-oracle-test")


def _ok(answer: Any, status: int = 201) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


def _post(client: TestClient, path: str, body: dict[str, Any]) -> Any:
    return _ok(client.post(f"/api/v1/{path}", json=body))


def _read(client: TestClient, ref: str) -> dict[str, Any]:
    found: dict[str, Any] = _ok(client.get(f"/fhir/R4/{ref}"), 200)
    return found


def _assert_strictly_valid(resources: list[dict[str, Any]]) -> None:
    verdicts = support.fhir_strict_errors_batch(resources)
    refused = {
        f"{r['resourceType']}/{r['id']}": errors
        for r, errors in zip(resources, verdicts, strict=True)
        if errors
    }
    assert not refused, json.dumps(refused, indent=1)


def _rich(client: TestClient, factory: sessionmaker[Session]) -> list[str]:
    coordinator = make_user(factory, Role.COORDINATOR)
    nurse = make_user(factory, Role.CLINICIAN)
    with unit_of_work(factory) as db:
        scheduling.create_practitioner(
            db,
            SYSTEM,
            PractitionerCreate(
                name=f"Nurse {uuid.uuid4().hex[:6]}", specialties=["cardiology"], user_id=nurse.id
            ),
        )
    who = patient(client, primary_coordinator_id=str(coordinator.id))
    pid = who["id"]
    start = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=5)
    plan = _post(
        client,
        f"patients/{pid}/care-plans",
        {
            "template_key": "type-2-diabetes",
            "start_on": start.isoformat(),
            "description": 'Plan <with> markup & "quotes" in the narrative',
        },
    )
    problem = _post(
        client,
        f"care-plans/{plan['id']}/problems",
        {"code": "I10", "plain_words": "High blood pressure"},
    )
    _post(
        client,
        f"care-plans/{plan['id']}/goals",
        {
            "description": "Glucose in range",
            "plain_words": "Keep sugar between 70 and 180",
            "problem_id": problem["id"],
            "measure": "Glucose",
            "target": "between 70 and 180",
            "unit": "mg/dL",
            "due_on": (start + dt.timedelta(days=60)).isoformat(),
        },
    )
    _post(
        client,
        f"care-plans/{plan['id']}/activities",
        {
            "kind": "task",
            "description": "Review glucose log",
            "plain_words": "Bring your meter",
            "goal_id": plan["goals"][0]["id"],
            "due_on": (start + dt.timedelta(days=10)).isoformat(),
            "raise_task": True,
        },
    )
    base = f"patients/{pid}/care-team"
    _post(
        client,
        base,
        {"member_kind": "staff", "user_id": str(nurse.id), "role": "nurse",
         "start_on": "2026-01-05", "organization": "Carebridge Clinic"},
    )  # fmt: skip
    _post(
        client,
        base,
        {
            "member_kind": "provider",
            "name": "Dr. Omar Haddad",
            "role": "specialist",
            "npi": PROVIDER_NPI,
            "organization": "Lakeshore Cardiology",
            "start_on": "2026-02-01",
            "end_on": "2026-03-01",
        },
    )
    _post(
        client,
        base,
        {"member_kind": "caregiver", "related_person_id": daughter(client, pid)["id"],
         "role": "caregiver", "start_on": "2026-01-01"},
    )  # fmt: skip
    _post(
        client,
        base,
        {"member_kind": "provider", "name": "Sam Lee", "role": "community-health-worker",
         "start_on": "2026-01-01"},
    )  # fmt: skip
    queued = _post(
        client,
        "tasks",
        {
            "title": "Book the eye exam",
            "patient_id": pid,
            "description": "Annual retinal exam",
            "kind": "scheduling",
            "priority": "asap",
            "queue": new_queue(factory),
            "focus_type": "CarePlan",
            "focus_id": plan["id"],
            "business_status": "Waiting on referral",
        },
    )
    _post(client, f"tasks/{queued['id']}/comments", {"text": "Clinic called back"})
    _post(
        client,
        f"patients/{pid}/outreach",
        {
            "task_id": queued["id"],
            "channel": "email",
            "outcome": "sent",
            "note": "Sent the clinic list",
            "complete_task": True,
        },
    )
    for channel, outcome, direction in (
        ("phone", "voicemail", "inbound"),
        ("sms", "no-answer", "outbound"),
        ("letter", "wrong-number", "outbound"),
        ("in-person", "declined", "outbound"),
    ):
        _post(
            client,
            f"patients/{pid}/outreach",
            {
                "channel": channel,
                "outcome": outcome,
                "direction": direction,
                "contact_name": "Ana Ruiz",
            },
        )
    return [pid, f"CarePlan/{plan['id']}"]


def _minimal(client: TestClient) -> list[str]:
    who = patient(client)
    pid = who["id"]
    plan = _post(client, f"patients/{pid}/care-plans", {"title": "Minimal"})
    _post(client, f"care-plans/{plan['id']}/goals", {"description": "Feel better"})
    _post(client, f"care-plans/{plan['id']}/activities", {"kind": "other", "description": "Walk"})
    _post(
        client,
        f"patients/{pid}/care-team",
        {"member_kind": "provider", "name": "Dr Bare", "role": "other", "start_on": "2026-01-01"},
    )
    _post(client, "tasks", {"title": "Anything", "patient_id": pid})
    alone = _post(client, "tasks", {"title": "No patient at all"})
    _post(client, f"patients/{pid}/outreach", {"channel": "phone", "outcome": "reached"})
    return [pid, f"Task/{alone['id']}"]


def _everything_of(client: TestClient, patient_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for kind in ("CarePlan", "Goal", "CareTeam", "Task", "Communication"):
        bundle = _ok(client.get(f"/fhir/R4/{kind}?patient={patient_id}&_count=100"), 200)
        found += [e["resource"] for e in bundle.get("entry", [])]
    return found


def test_every_care_plan_team_task_and_outreach_parses_strictly(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    client.headers.update(bearer(factory))
    rich_patient, rich_plan = _rich(client, factory)
    bare_patient, lone_task = _minimal(client)
    resources = _everything_of(client, rich_patient) + _everything_of(client, bare_patient)
    kinds = sorted({r["resourceType"] for r in resources})
    assert kinds == ["CarePlan", "CareTeam", "Communication", "Goal", "Task"]
    assert len([r for r in resources if r["resourceType"] == "Communication"]) == 6
    resources.append(_read(client, lone_task))  # a task about no patient at all
    # The narrative escapes what the plan's words contain.
    assert "&lt;with&gt;" in _read(client, rich_plan)["text"]["div"]
    _assert_strictly_valid(resources)
    again = _read(client, f"CareTeam/{rich_patient}")
    assert len(again["participant"]) == 5
