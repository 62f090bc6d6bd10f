"""FHIR Slot search: the scheduler's free times, each a Slot of the Schedule (availability
rule) it falls in; a booked time is no longer offered; bad searches say what is wrong."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient

from tests.integration.test_fhir_appointment_writes import JSON, an_appointment
from tests.integration.test_scheduling_api import CHICAGO, api, clinic, next_weekday
from tests.oracles import support

__all__ = ["api", "clinic"]  # fixtures, used by name
TYPES = "urn:carebridge:appointment-type"


def test_free_times_are_slots_and_booking_takes_one(
    api: TestClient, clinic: dict[str, Any]
) -> None:
    day = next_weekday(2)
    person = clinic["people"][0]["id"]
    query = (
        f"/fhir/R4/Slot?service-type={TYPES}|{clinic['kind']['code']}"
        f"&start=ge{day.isoformat()}&start=lt{(day + dt.timedelta(days=1)).isoformat()}"
        f"&schedule.actor=Practitioner/{person}&_count=50"
    )
    found = api.get(query)
    assert found.status_code == 200, found.text
    slots = [e["resource"] for e in found.json()["entry"]]
    assert slots
    first = slots[0]
    assert first["status"] == "free"
    assert first["schedule"]["reference"].startswith("Schedule/")
    nine = dt.datetime.combine(day, dt.time(9, 0), tzinfo=CHICAGO)
    assert first["start"] == nine.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    schedule = api.get(f"/fhir/R4/{first['schedule']['reference']}")
    assert schedule.status_code == 200
    assert {"reference": f"Practitioner/{person}"} in schedule.json()["actor"]

    booked = api.post("/fhir/R4/Appointment", json=an_appointment(clinic, nine), headers=JSON)
    assert booked.status_code == 201, booked.text
    again = [e["resource"] for e in api.get(query).json()["entry"]]
    assert first["id"] not in {s["id"] for s in again}

    missing = api.get("/fhir/R4/Slot?start=ge2031-01-01")
    assert missing.status_code == 400
    assert "service-type" in missing.json()["issue"][0]["diagnostics"]
    unknown = api.get(f"/fhir/R4/Slot?service-type={TYPES}|no-such")
    assert unknown.status_code == 400
    if not support.oracles_disabled():
        assert support.fhir_strict_errors_batch([found.json()]) == [[]]
