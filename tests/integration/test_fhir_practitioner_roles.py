"""PractitionerRole over FHIR: one per practitioner, made from what the scheduler keeps (the
practitioner, its working hours and the visit types it offers), following their changes, and
found by practitioner, location, specialty and how the practitioner can be seen."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from carebridge.security.roles import Role
from tests.integration.test_fhir_read import bearer
from tests.integration.test_fhir_search import ids, search
from tests.integration.test_scheduling_api import npi, ok

US_CORE_ROLE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-practitionerrole"
CHARACTERISTIC = (
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-PractitionerRole.characteristic"
)
SPECIALTY = "urn:carebridge:specialty"


def _post(client: TestClient, path: str, body: dict[str, Any]) -> Any:
    return ok(client.post(f"/api/v1/{path}", json=body), 201)


def _place(client: TestClient, tag: str, name: str) -> Any:
    return _post(client, "locations", {"name": f"{name} {tag}", "timezone": "America/Chicago"})


def _kind(client: TestClient, tag: str, key: str, modality: str) -> Any:
    body = {"code": f"{key}-{tag}", "name": key, "duration_minutes": 30, "modality": modality}
    return _post(client, "appointment-types", body)


def _hours(client: TestClient, person: str, place: str, rrule: str, **extra: Any) -> Any:
    body = {
        "practitioner_id": person,
        "location_id": place,
        "rrule": rrule,
        "start_time": "09:00",
        "end_time": "12:00",
        "valid_from": "2026-01-01",
    }
    return _post(client, "availability-rules", body | extra)


def _modes(role: dict[str, Any]) -> list[str]:
    return [
        e["valueCodeableConcept"]["coding"][0]["code"]
        for e in role.get("extension", [])
        if e["url"] == CHARACTERISTIC
    ]


def _role(client: TestClient, person_id: str) -> dict[str, Any]:
    found: dict[str, Any] = ok(client.get(f"/fhir/R4/PractitionerRole/{person_id}"))
    return found


def test_a_practitioner_role_from_the_scheduler(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = bearer(factory)
    client.headers.update(headers)
    tag = uuid.uuid4().hex[:8]
    main, annex, third = (_place(client, tag, n) for n in ("Main", "Annex", "Third"))
    visit, video, call = (
        _kind(client, tag, key, modality)
        for key, modality in (("visit", "in-person"), ("video", "video"), ("call", "phone"))
    )
    person = _post(
        client,
        "practitioners",
        {
            "name": f"Dr Rosa Vega{tag}",
            "npi": npi(),
            "specialties": ["cardiology", "internal-medicine"],
            "phone": "+13125550142",
            "appointment_type_codes": [visit["code"], video["code"]],
        },
    )
    pid = person["id"]
    _hours(client, pid, main["id"], "FREQ=WEEKLY;BYDAY=MO,WE,FR")
    # Every other Saturday, in person only: a place and a mode, but not weekly hours.
    _hours(client, pid, annex["id"], "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA", modalities=["in-person"])

    role = _role(client, pid)
    assert role["meta"]["profile"] == [US_CORE_ROLE]
    assert role["active"] is True
    assert role["practitioner"] == {"reference": f"Practitioner/{pid}"}
    assert [s["coding"][0]["code"] for s in role["specialty"]] == [
        "cardiology",
        "internal-medicine",
    ]
    assert role["specialty"][0]["coding"][0]["system"] == SPECIALTY
    assert {r["reference"] for r in role["location"]} == {
        f"Location/{main['id']}",
        f"Location/{annex['id']}",
    }
    assert role["telecom"] == [{"system": "phone", "value": "+13125550142", "use": "work"}]
    assert role["availableTime"] == [
        {
            "daysOfWeek": ["mon", "wed", "fri"],
            "availableStartTime": "09:00:00",
            "availableEndTime": "12:00:00",
        }
    ]
    assert f"Practitioner/{pid}" in role["availabilityExceptions"]
    assert _modes(role) == ["in-person", "videoconference"]
    assert "code" not in role
    assert "organization" not in role

    # Found by what a directory searches by; the practitioner comes along when asked.
    found = search(
        client,
        headers,
        f"PractitionerRole?location=Location/{annex['id']}&_include=PractitionerRole:practitioner",
    )
    assert ids(found) == [pid]
    assert ids(found, "include") == [pid]
    assert found["entry"][1]["resource"]["resourceType"] == "Practitioner"
    assert ids(search(client, headers, f"PractitionerRole?practitioner={pid}")) == [pid]
    by_specialty = search(
        client, headers, f"PractitionerRole?specialty={SPECIALTY}|cardiology&_count=500"
    )
    assert pid in ids(by_specialty)
    assert (
        ids(
            search(
                client, headers, f"PractitionerRole?location={annex['id']}&characteristic=telephone"
            )
        )
        == []
    )

    # It follows the offerings and the working hours.
    offered = client.post(
        f"/api/v1/practitioners/{pid}/offerings", json={"appointment_type_codes": [call["code"]]}
    )
    assert offered.status_code == 204, offered.text
    _hours(client, pid, third["id"], "FREQ=DAILY", modalities=["phone"])
    again = client.get(f"/fhir/R4/PractitionerRole/{pid}")
    assert int(again.json()["meta"]["versionId"]) == int(role["meta"]["versionId"]) + 2
    role = again.json()
    assert _modes(role) == ["in-person", "videoconference", "telephone"]
    assert len(role["location"]) == 3
    every_day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    assert sorted(len(t["daysOfWeek"]) for t in role["availableTime"]) == [3, 7]
    assert every_day in [t["daysOfWeek"] for t in role["availableTime"]]
    on_phone = search(
        client,
        headers,
        f"PractitionerRole?location={third['id']}&characteristic=http://hl7.org/fhir/service-mode|telephone",
    )
    assert ids(on_phone) == [pid]


def test_a_practitioner_without_phone_or_hours_claims_no_profile(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    client.headers.update(bearer(factory))
    tag = uuid.uuid4().hex[:8]
    person = _post(client, "practitioners", {"name": f"Nurse {tag}", "specialties": ["nursing"]})
    role = _role(client, person["id"])
    # US Core's pd-1 wants contact details: without a phone, no claim to the profile.
    assert "meta" not in role or "profile" not in role["meta"]
    for absent in ("telecom", "location", "availableTime", "availabilityExceptions", "extension"):
        assert absent not in role
    assert role["practitioner"] == {"reference": f"Practitioner/{person['id']}"}


def test_practitioner_roles_need_schedule_view_and_are_in_the_capability_statement(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    statement = ok(client.get("/fhir/R4/metadata"))
    entry = next(r for r in statement["rest"][0]["resource"] if r["type"] == "PractitionerRole")
    assert entry["supportedProfile"] == [US_CORE_ROLE]
    assert "PractitionerRole:practitioner" in entry["searchInclude"]
    assert (
        "PractitionerRole:practitioner"
        in next(r for r in statement["rest"][0]["resource"] if r["type"] == "Practitioner")[
            "searchRevInclude"
        ]
    )
    names = {p["name"] for p in entry["searchParam"]}
    assert {"practitioner", "location", "specialty", "active", "characteristic"} <= names
    auditor = client.get(
        f"/fhir/R4/PractitionerRole/{uuid.uuid4()}", headers=bearer(factory, Role.AUDITOR)
    )
    assert auditor.status_code == 403
