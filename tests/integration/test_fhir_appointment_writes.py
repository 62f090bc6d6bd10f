"""Appointments booked, moved, checked in and cancelled through FHIR are the scheduler's:
the same availability checks (a taken time is a 409), the same cancellation reasons, the
same audit."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient

from tests.integration.test_scheduling_api import CHICAGO, api, clinic, next_weekday

__all__ = ["api", "clinic"]  # fixtures, used by name

JSON = {"Content-Type": "application/fhir+json"}
TYPES = "urn:carebridge:appointment-type"
REASONS = "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason"


def an_appointment(place: dict[str, Any], start: dt.datetime, person: int = 0) -> dict[str, Any]:
    return {
        "resourceType": "Appointment",
        "status": "booked",
        "serviceType": [{"coding": [{"system": TYPES, "code": place["kind"]["code"]}]}],
        "start": start.isoformat(),
        "comment": "Booked by the partner portal",
        "participant": [
            {"actor": {"reference": f"Patient/{place['patient']['id']}"}, "status": "accepted"},
            {
                "actor": {"reference": f"Practitioner/{place['people'][person]['id']}"},
                "status": "accepted",
            },
            {"actor": {"reference": f"Location/{place['location']['id']}"}, "status": "accepted"},
        ],
    }


def test_book_move_and_cancel_through_fhir(api: TestClient, clinic: dict[str, Any]) -> None:
    place = clinic
    day = next_weekday(2)
    start = dt.datetime.combine(day, dt.time(9, 0), tzinfo=CHICAGO)
    made = api.post("/fhir/R4/Appointment", json=an_appointment(place, start), headers=JSON)
    assert made.status_code == 201, made.text
    booked = made.json()
    assert booked["status"] == "booked"
    assert booked["comment"] == "Booked by the partner portal"
    taken = api.post("/fhir/R4/Appointment", json=an_appointment(place, start), headers=JSON)
    assert taken.status_code == 409
    assert taken.json()["resourceType"] == "OperationOutcome"

    later = start + dt.timedelta(hours=1)
    moved = api.put(
        f"/fhir/R4/Appointment/{booked['id']}",
        json={**booked, "start": later.isoformat()},
        headers={**JSON, "If-Match": 'W/"1"'},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["start"] == later.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    seen = api.get(f"/api/v1/appointments/{booked['id']}").json()
    assert dt.datetime.fromisoformat(seen["starts_at"]) == later

    no_reason = {**moved.json(), "status": "cancelled"}
    refused = api.put(f"/fhir/R4/Appointment/{booked['id']}", json=no_reason, headers=JSON)
    assert refused.status_code == 422
    assert "reason" in refused.json()["issue"][0]["diagnostics"]
    cancel = {
        **no_reason,
        "cancelationReason": {
            "coding": [{"system": REASONS, "code": "pat-lt"}],
            "text": "No ride that day",
        },
    }
    cancelled = api.put(f"/fhir/R4/Appointment/{booked['id']}", json=cancel, headers=JSON)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["cancelationReason"]["text"] == "No ride that day"
    seen = api.get(f"/api/v1/appointments/{booked['id']}").json()
    assert (seen["status"], seen["cancel_reason"]) == ("cancelled", "pat-lt")

    unknown = an_appointment(place, later)
    unknown["serviceType"] = [{"coding": [{"system": TYPES, "code": "no-such-visit"}]}]
    wrong = api.post("/fhir/R4/Appointment", json=unknown, headers=JSON)
    assert wrong.status_code == 422
    assert "no-such-visit" in wrong.json()["issue"][0]["diagnostics"]
