"""CarePlan, Goal and CareTeam over FHIR, kept current by the care-plan and care-team
screens' own services: a plan from a template reads with its problems (contained, ICD-10-CM),
goals and activities; searches by patient, status, date and lifecycle status find them; a
change to the plan, a goal or a membership is the next version; and the care team is the
patient's, with the coordinator, staff (as their Practitioner where linked), outside
providers and family caregivers."""

from __future__ import annotations

import datetime as dt
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
from tests.integration.test_fhir_search import ids, search

SYSTEM = Actor.system("test")


def ok(answer: Any, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


def read(client: TestClient, headers: dict[str, str], ref: str) -> dict[str, Any]:
    found: dict[str, Any] = ok(client.get(f"/fhir/R4/{ref}", headers=headers))
    return found


def test_a_plan_reads_with_its_problems_goals_and_activities(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = bearer(factory)
    client.headers.update(headers)  # the JSON API's helpers use the same client
    who = patient(client)
    start = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=3)
    plan = ok(
        client.post(
            f"/api/v1/patients/{who['id']}/care-plans",
            json={"template_key": "heart-failure-post-discharge", "start_on": start.isoformat()},
        ),
        201,
    )
    resource = read(client, headers, f"CarePlan/{plan['id']}")
    assert resource["meta"]["versionId"] == "1"
    assert resource["meta"]["profile"] == [
        "http://hl7.org/fhir/us/core/StructureDefinition/us-core-careplan"
    ]
    assert (resource["status"], resource["intent"]) == ("active", "plan")
    assert resource["category"][0]["coding"][0]["code"] == "assess-plan"
    assert resource["subject"] == {"reference": f"Patient/{who['id']}"}
    assert resource["period"]["start"] == start.isoformat()
    assert plan["title"] in resource["text"]["div"]
    problem = plan["problems"][0]
    condition = resource["contained"][0]
    assert condition["id"] == problem["id"]
    assert condition["code"]["coding"] == [
        {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "I50.9"}
    ]
    assert resource["addresses"][0]["reference"] == f"#{problem['id']}"
    assert [g["reference"] for g in resource["goal"]] == [f"Goal/{g['id']}" for g in plan["goals"]]
    assert len(resource["activity"]) == len(plan["activities"])
    first = resource["activity"][0]["detail"]
    assert first["status"] == plan["activities"][0]["status"]
    assert first["description"] == plan["activities"][0]["description"]

    goal = plan["goals"][0]
    rendered = read(client, headers, f"Goal/{goal['id']}")
    assert rendered["lifecycleStatus"] == "active"
    assert rendered["subject"] == {"reference": f"Patient/{who['id']}"}
    assert rendered["description"]["text"] == goal["description"]
    target = rendered["target"][0]
    assert target["detailQuantity"] == {"value": 2, "comparator": "<", "unit": "lb"}
    assert target["dueDate"] == goal["due_on"]

    by_patient = search(client, headers, f"CarePlan?patient={who['id']}")
    assert ids(by_patient) == [plan["id"]]
    active = search(client, headers, f"CarePlan?patient={who['id']}&status=active")
    assert ids(active) == [plan["id"]]
    before = (start - dt.timedelta(days=30)).isoformat()
    assert ids(search(client, headers, f"CarePlan?patient={who['id']}&date=lt{before}")) == []
    assert ids(search(client, headers, f"CarePlan?patient={who['id']}&date=ge{start}")) == [
        plan["id"]
    ]
    goals = search(client, headers, f"Goal?patient={who['id']}&lifecycle-status=active")
    assert sorted(ids(goals)) == sorted(g["id"] for g in plan["goals"])

    # The plan's own change is version 2; the goal's change is the goal's version 2.
    ok(
        client.patch(
            f"/api/v1/care-plans/{plan['id']}",
            json={"version": plan["version"], "status": "on-hold"},
        )
    )
    changed = read(client, headers, f"CarePlan/{plan['id']}")
    assert (changed["meta"]["versionId"], changed["status"]) == ("2", "on-hold")
    assert ids(search(client, headers, f"CarePlan?patient={who['id']}&status=active")) == []
    ok(
        client.patch(
            f"/api/v1/goals/{goal['id']}",
            json={"version": goal["version"], "lifecycle_status": "on-hold"},
        )
    )
    held = read(client, headers, f"Goal/{goal['id']}")
    assert (held["meta"]["versionId"], held["lifecycleStatus"]) == ("2", "on-hold")
    refused = client.get(f"/fhir/R4/CarePlan/{plan['id']}", headers=bearer(factory, Role.BILLING))
    assert refused.status_code == 403


def test_a_problem_added_to_a_plan_is_a_new_version_of_the_plan(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = bearer(factory)
    client.headers.update(headers)
    who = patient(client)
    plan = ok(client.post(f"/api/v1/patients/{who['id']}/care-plans", json={"title": "Falls"}), 201)
    blank = read(client, headers, f"CarePlan/{plan['id']}")
    assert "addresses" not in blank
    assert "goal" not in blank
    ok(client.post(f"/api/v1/care-plans/{plan['id']}/problems", json={"code": "R29.6"}), 201)
    goal = ok(
        client.post(
            f"/api/v1/care-plans/{plan['id']}/goals",
            json={"description": "No falls", "measure": "Falls", "target": "= 0"},
        ),
        201,
    )
    after = read(client, headers, f"CarePlan/{plan['id']}")
    assert int(after["meta"]["versionId"]) >= 2
    assert after["contained"][0]["code"]["coding"][0]["code"] == "R29.6"
    assert after["goal"] == [{"reference": f"Goal/{goal['id']}"}]
    target = read(client, headers, f"Goal/{goal['id']}")["target"][0]
    assert target["measure"] == {"text": "Falls"}
    assert target["detailQuantity"]["value"] == 0
    assert "comparator" not in target["detailQuantity"]  # "=" is a Quantity without one


def test_the_care_team_is_the_patients_and_follows_its_members(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = bearer(factory)
    client.headers.update(headers)
    coordinator = make_user(factory, Role.COORDINATOR)
    nurse = make_user(factory, Role.CLINICIAN)
    with unit_of_work(factory) as db:
        practitioner = scheduling.create_practitioner(
            db,
            SYSTEM,
            PractitionerCreate(
                name=f"Nurse {uuid.uuid4().hex[:6]}", specialties=["cardiology"], user_id=nurse.id
            ),
        )
    who = patient(client, primary_coordinator_id=str(coordinator.id))
    base = f"/api/v1/patients/{who['id']}/care-team"
    ok(
        client.post(
            base,
            json={"member_kind": "staff", "user_id": str(nurse.id), "role": "nurse",
                  "start_on": "2026-01-05"},
        ),
        201,
    )  # fmt: skip
    provider = ok(
        client.post(
            base,
            json={
                "member_kind": "provider",
                "name": "Dr. Omar Haddad",
                "role": "specialist",
                "npi": PROVIDER_NPI,
                "organization": "Lakeshore Cardiology",
                "start_on": "2026-02-01",
            },
        ),
        201,
    )
    person = daughter(client, who["id"])
    ok(
        client.post(
            base,
            json={"member_kind": "caregiver", "related_person_id": person["id"],
                  "role": "caregiver", "start_on": "2026-01-01"},
        ),
        201,
    )  # fmt: skip

    team = read(client, headers, f"CareTeam/{who['id']}")
    assert team["subject"] == {"reference": f"Patient/{who['id']}"}
    assert team["status"] == "active"
    assert team["meta"]["profile"] == [
        "http://hl7.org/fhir/us/core/StructureDefinition/us-core-careteam"
    ]
    members = {p["role"][0]["text"]: p for p in team["participant"]}
    assert members["Care coordinator"]["member"] == {"display": coordinator.display_name}
    assert members["Nurse"]["member"]["reference"] == f"Practitioner/{practitioner.id}"
    assert members["Nurse"]["role"][0]["coding"][0]["system"] == "http://snomed.info/sct"
    specialist = members["Specialist"]
    assert specialist["member"]["identifier"] == {
        "system": "http://hl7.org/fhir/sid/us-npi",
        "value": PROVIDER_NPI,
    }
    assert specialist["onBehalfOf"] == {"display": "Lakeshore Cardiology"}
    assert members["Caregiver"]["member"]["reference"] == f"RelatedPerson/{person['id']}"
    version = team["meta"]["versionId"]

    found = search(client, headers, f"CareTeam?patient={who['id']}&status=active")
    assert ids(found) == [who["id"]]
    by_member = search(client, headers, f"CareTeam?participant=Practitioner/{practitioner.id}")
    assert who["id"] in ids(by_member)

    ok(
        client.patch(
            f"/api/v1/care-team-members/{provider['id']}",
            json={"version": provider["version"], "end_on": "2026-03-01"},
        )
    )
    ended = read(client, headers, f"CareTeam/{who['id']}")
    assert int(ended["meta"]["versionId"]) == int(version) + 1
    specialist = next(p for p in ended["participant"] if p["role"][0]["text"] == "Specialist")
    assert specialist["period"] == {"start": "2026-02-01", "end": "2026-03-01"}
    # Billing does not see the health history, so not who treats the patient either.
    refused = client.get(f"/fhir/R4/CareTeam/{who['id']}", headers=bearer(factory, Role.BILLING))
    assert refused.status_code == 403


def test_a_patient_nobody_looks_after_has_no_care_team_until_a_coordinator_is_named(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = bearer(factory)
    client.headers.update(headers)
    who = patient(client)
    missing = client.get(f"/fhir/R4/CareTeam/{who['id']}", headers=headers)
    assert missing.status_code == 404
    assert ids(search(client, headers, f"CareTeam?patient={who['id']}")) == []
    coordinator = make_user(factory, Role.COORDINATOR)
    ok(
        client.patch(
            f"/api/v1/patients/{who['id']}",
            json={"version": who["version"], "primary_coordinator_id": str(coordinator.id)},
        )
    )
    team = read(client, headers, f"CareTeam/{who['id']}")
    assert team["meta"]["versionId"] == "1"
    assert team["participant"] == [
        {
            "role": [
                {
                    "coding": [
                        {
                            "system": "urn:carebridge:care-team-role",
                            "code": "coordinator",
                            "display": "Care coordinator",
                        }
                    ],
                    "text": "Care coordinator",
                }
            ],
            "member": {"display": coordinator.display_name},
        }
    ]
