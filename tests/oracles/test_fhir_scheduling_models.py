"""Every Practitioner, Location, Schedule and Appointment we serve parses with fhirclient's
strict R4 (4.0.1) models: one record of each with every field we map filled in (a cancelled
visit, a video visit) and one with only what the scheduling API requires, made through the
API and read back over FHIR as a client gets them."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.test_fhir_read import bearer
from tests.integration.test_patients_api import new_patient, unique_name
from tests.integration.test_scheduling_api import CHICAGO, next_weekday, npi, ok
from tests.oracles import support


def _post(client: TestClient, path: str, body: dict[str, Any]) -> Any:
    return ok(client.post(f"/api/v1/{path}", json=body), 201)


def _clinic(client: TestClient, tag: str, *, rich: bool) -> dict[str, Any]:
    """A location, a visit type, a practitioner offering it with weekday hours, and a
    patient; ``rich``: with every optional field the FHIR renderings use."""
    location = _post(
        client,
        "locations",
        {"name": f"Oracle Clinic {tag}", "timezone": "America/Chicago"}
        | (
            {"address": "1 Main St, Springfield, IL 62701", "phone": "+12175550100"} if rich else {}
        ),
    )
    kind = _post(
        client,
        "appointment-types",
        {"code": f"or-{tag}", "name": "Oracle visit", "duration_minutes": 30}
        | (
            {"specialties": ["cardiology", "nutrition"], "service_code": "99214"}
            if rich
            else {"visit_kind": "new"}
        ),
    )
    video = _post(
        client,
        "appointment-types",
        {"code": f"ov-{tag}", "name": "Oracle video", "duration_minutes": 20, "modality": "video"},
    )
    person = _post(
        client,
        "practitioners",
        {
            "name": f"Dr Ida Lowe{tag}, MD, PhD" if rich else f"Lowe{tag}",
            "specialties": ["cardiology"],
            "appointment_type_codes": [kind["code"], video["code"]],
        }
        | ({"npi": npi(), "phone": "+12175550111", "languages": ["en", "vi"]} if rich else {}),
    )
    rule = _post(
        client,
        "availability-rules",
        {
            "practitioner_id": person["id"],
            "location_id": location["id"],
            "rrule": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
            "start_time": "08:00",
            "end_time": "17:00",
            "valid_from": "2026-01-01",
        }
        | (
            {
                "valid_until": "2030-12-31",
                "exdates": ["2026-12-25", "2027-01-01"],
                "modalities": ["in-person", "video", "phone"],
            }
            if rich
            else {}
        ),
    )
    patient = _post(
        client,
        "patients",
        new_patient(family_name=unique_name(), duplicate_override_reason="oracle test"),
    )
    return {
        "location": location,
        "kind": kind,
        "video": video,
        "person": person,
        "rule": rule,
        "patient": patient,
    }


def _book(client: TestClient, made: dict[str, Any], kind: str, start: dt.datetime) -> Any:
    return _post(
        client,
        "appointments",
        {
            "patient_id": made["patient"]["id"],
            "appointment_type_id": made[kind]["id"],
            "practitioner_id": made["person"]["id"],
            "location_id": made["location"]["id"],
            "starts_at": start.isoformat(),
        },
    )


def test_scheduling_resources_parse_strictly(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    client.headers.update(bearer(factory))
    rich = _clinic(client, uuid.uuid4().hex[:8], rich=True)
    bare = _clinic(client, uuid.uuid4().hex[:8], rich=False)
    morning = dt.datetime.combine(next_weekday(3), dt.time(9, 0), CHICAGO)
    cancelled = _book(client, rich, "kind", morning)
    ok(
        client.post(
            f"/api/v1/appointments/{cancelled['id']}/cancel",
            json={"version": cancelled["version"], "reason": "oth-weath", "note": "Snow storm"},
        )
    )
    virtual = _book(client, rich, "video", morning + dt.timedelta(hours=2))
    plain = _book(client, bare, "kind", morning + dt.timedelta(hours=4))
    wanted = [
        ("Practitioner", rich["person"]["id"]),
        ("Practitioner", bare["person"]["id"]),
        ("Location", rich["location"]["id"]),
        ("Location", bare["location"]["id"]),
        ("Schedule", rich["rule"]["id"]),
        ("Schedule", bare["rule"]["id"]),
        ("Appointment", cancelled["id"]),
        ("Appointment", virtual["id"]),
        ("Appointment", plain["id"]),
    ]
    resources = []
    for kind, record_id in wanted:
        answer = client.get(f"/fhir/R4/{kind}/{record_id}")
        assert answer.status_code == 200, answer.text
        resources.append(answer.json())
    # The rich records really fill the optional elements the oracle is to check.
    assert resources[0]["name"][0]["suffix"] == ["MD", "PhD"]
    assert resources[2]["telecom"]
    assert resources[2]["address"]
    assert resources[4]["planningHorizon"]["end"] == "2030-12-31"
    assert resources[6]["cancelationReason"]["coding"][0]["code"] == "oth-weath"
    assert resources[8]["participant"][0]["status"] == "accepted"
    verdicts = support.fhir_strict_errors_batch(resources)
    refused = {
        f"{r['resourceType']}/{r['id']}": errors
        for r, errors in zip(resources, verdicts, strict=True)
        if errors
    }
    assert not refused, json.dumps(refused, indent=1)
