"""Practitioner, Location, Schedule and Appointment over FHIR, from records made through the
scheduling API: reads, the searches coordinators use, and a cancellation that shows up as
version 2 of the Appointment."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.test_fhir_read import bearer
from tests.integration.test_fhir_search import ids, search
from tests.integration.test_patients_api import new_patient, unique_name
from tests.integration.test_scheduling_api import CHICAGO, next_weekday, npi, ok

NPI = "http://hl7.org/fhir/sid/us-npi"
TYPE_SYSTEM = "urn:carebridge:appointment-type"


@pytest.fixture
def clinic(client: TestClient, factory: sessionmaker[Session]) -> dict[str, Any]:
    """A location, an in-person and a video visit type, a practitioner offering both on
    weekdays 9-12, and a patient: all through the JSON API."""
    headers = bearer(factory)
    client.headers.update(headers)
    tag = uuid.uuid4().hex[:8]
    location = ok(
        client.post(
            "/api/v1/locations",
            json={
                "name": f"Lakeview Clinic {tag}",
                "timezone": "America/Chicago",
                "address": "200 E Randolph St, Chicago, IL 60601",
                "phone": "+13125550100",
            },
        ),
        201,
    )
    kinds = {}
    for key, modality in (("visit", "in-person"), ("video", "video")):
        kinds[key] = ok(
            client.post(
                "/api/v1/appointment-types",
                json={
                    "code": f"{key}-{tag}",
                    "name": f"{key.title()} follow-up",
                    "duration_minutes": 30,
                    "modality": modality,
                    "specialties": ["family-medicine"],
                    "service_code": "99213",
                },
            ),
            201,
        )
    number = npi()
    person = ok(
        client.post(
            "/api/v1/practitioners",
            json={
                "name": f"Dr Nora Quill{tag}",
                "npi": number,
                "specialties": ["family-medicine"],
                "languages": ["en", "es"],
                "phone": "+13125550111",
                "appointment_type_codes": [k["code"] for k in kinds.values()],
            },
        ),
        201,
    )
    rule = ok(
        client.post(
            "/api/v1/availability-rules",
            json={
                "practitioner_id": person["id"],
                "location_id": location["id"],
                "rrule": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
                "start_time": "09:00",
                "end_time": "12:00",
                "valid_from": "2026-01-01",
            },
        ),
        201,
    )
    patient = ok(
        client.post(
            "/api/v1/patients",
            json=new_patient(family_name=unique_name(), duplicate_override_reason="test"),
        ),
        201,
    )
    return {
        "headers": headers,
        "tag": tag,
        "npi": number,
        "location": location,
        "kinds": kinds,
        "person": person,
        "rule": rule,
        "patient": patient,
    }


def _book(client: TestClient, clinic: dict[str, Any], kind: str, start: dt.datetime) -> Any:
    return ok(
        client.post(
            "/api/v1/appointments",
            json={
                "patient_id": clinic["patient"]["id"],
                "appointment_type_id": clinic["kinds"][kind]["id"],
                "practitioner_id": clinic["person"]["id"],
                "location_id": clinic["location"]["id"],
                "starts_at": start.isoformat(),
                "note": "Bring glucose log",
            },
        ),
        201,
    )


def test_directory_reads_and_searches(client: TestClient, clinic: dict[str, Any]) -> None:
    headers = clinic["headers"]
    person_id = clinic["person"]["id"]
    practitioner = client.get(f"/fhir/R4/Practitioner/{person_id}", headers=headers)
    assert practitioner.status_code == 200, practitioner.text
    body = practitioner.json()
    assert body["identifier"] == [{"use": "official", "system": NPI, "value": clinic["npi"]}]
    assert body["name"][0]["family"] == f"Quill{clinic['tag']}"
    assert body["name"][0]["prefix"] == ["Dr"]
    assert [c["coding"][0]["code"] for c in body["communication"]] == ["en", "es"]
    assert ids(search(client, headers, f"Practitioner?identifier={NPI}|{clinic['npi']}")) == [
        person_id
    ]
    assert ids(search(client, headers, f"Practitioner?family=quill{clinic['tag']}")) == [person_id]

    location_id = clinic["location"]["id"]
    place = client.get(f"/fhir/R4/Location/{location_id}", headers=headers).json()
    assert place["name"] == clinic["location"]["name"]
    assert place["status"] == "active"
    assert place["address"]["text"].startswith("200 E Randolph")
    named = search(client, headers, f"Location?name=Lakeview Clinic {clinic['tag']}")
    assert ids(named) == [location_id]

    rule_id = clinic["rule"]["id"]
    schedule = client.get(f"/fhir/R4/Schedule/{rule_id}", headers=headers).json()
    assert schedule["actor"] == [
        {"reference": f"Practitioner/{person_id}"},
        {"reference": f"Location/{location_id}"},
    ]
    assert schedule["planningHorizon"] == {"start": "2026-01-01"}
    assert "09:00-12:00" in schedule["comment"]
    by_actor = search(client, headers, f"Schedule?actor=Practitioner/{person_id}")
    assert ids(by_actor) == [rule_id]


def test_appointment_reads_searches_and_follows_a_cancellation(
    client: TestClient, clinic: dict[str, Any]
) -> None:
    headers = clinic["headers"]
    patient_id = clinic["patient"]["id"]
    start = dt.datetime.combine(next_weekday(2), dt.time(9, 30), CHICAGO)
    visit = _book(client, clinic, "visit", start)
    video = _book(client, clinic, "video", start + dt.timedelta(hours=1))

    answer = client.get(f"/fhir/R4/Appointment/{visit['id']}", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["etag"] == 'W/"1"'
    resource = answer.json()
    assert resource["status"] == "booked"
    assert resource["start"] == start.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    assert resource["minutesDuration"] == 30
    assert resource["comment"] == "Bring glucose log"
    assert [p["actor"]["reference"] for p in resource["participant"]] == [
        f"Patient/{patient_id}",
        f"Practitioner/{clinic['person']['id']}",
        f"Location/{clinic['location']['id']}",
    ]
    service = resource["serviceType"][0]["coding"]
    assert service[0]["code"] == clinic["kinds"]["visit"]["code"]
    assert service[1] == {"system": "http://www.ama-assn.org/go/cpt", "code": "99213"}
    assert "cancelationReason" not in resource
    virtual = client.get(f"/fhir/R4/Appointment/{video['id']}", headers=headers).json()
    assert virtual["serviceType"][1]["coding"][0]["code"] == "448337001"

    mine = search(client, headers, f"Appointment?patient={patient_id}")
    assert sorted(ids(mine)) == sorted([visit["id"], video["id"]])
    day = start.date().isoformat()
    on_day = search(client, headers, f"Appointment?patient={patient_id}&date={day}")
    assert sorted(ids(on_day)) == sorted([visit["id"], video["id"]])
    later = search(client, headers, f"Appointment?patient={patient_id}&date=gt{day}")
    assert ids(later) == []
    typed = search(
        client,
        headers,
        f"Appointment?service-type={TYPE_SYSTEM}|{clinic['kinds']['video']['code']}",
    )
    assert ids(typed) == [video["id"]]
    at_practitioner = search(
        client, headers, f"Appointment?practitioner={clinic['person']['id']}&status=booked"
    )
    assert sorted(ids(at_practitioner)) == sorted([visit["id"], video["id"]])
    with_people = search(
        client,
        headers,
        f"Appointment?_id={video['id']}&_include=Appointment:practitioner"
        "&_include=Appointment:location",
    )
    assert sorted(ids(with_people, "include")) == sorted(
        [clinic["person"]["id"], clinic["location"]["id"]]
    )
    brief = search(client, headers, f"Appointment?_id={visit['id']}&_summary=true")
    summary = brief["entry"][0]["resource"]
    assert "participant" in summary
    assert "comment" not in summary

    ok(
        client.post(
            f"/api/v1/appointments/{visit['id']}/cancel",
            json={"version": visit["version"], "reason": "pat-lt", "note": "No ride"},
        )
    )
    changed = client.get(f"/fhir/R4/Appointment/{visit['id']}", headers=headers)
    assert changed.headers["etag"] == 'W/"2"'
    cancelled = changed.json()
    assert cancelled["meta"]["versionId"] == "2"
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancelationReason"]["coding"][0]["code"] == "pat-lt"
    assert cancelled["cancelationReason"]["text"] == "No ride"
    first = client.get(f"/fhir/R4/Appointment/{visit['id']}/_history/1", headers=headers)
    assert first.json()["status"] == "booked"
    booked = search(client, headers, f"Appointment?patient={patient_id}&status=booked")
    assert ids(booked) == [video["id"]]
    gone = search(client, headers, f"Appointment?patient={patient_id}&status=cancelled")
    assert ids(gone) == [visit["id"]]
