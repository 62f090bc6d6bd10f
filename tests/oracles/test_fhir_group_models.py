"""Every PractitionerRole and Group we serve parses with fhirclient's strict R4 (4.0.1)
models: a practitioner role with every element we map (phone, specialties, hours at two
places, all three ways of being seen) and one with only what the scheduling API requires; a
panel with active and inactive members and an empty one; made through the APIs and read back
over FHIR as a client gets them."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from carebridge.security.roles import Role
from tests.factories import make_user
from tests.integration.test_fhir_read import bearer
from tests.integration.test_patients_api import new_patient
from tests.integration.test_scheduling_api import npi, ok
from tests.oracles import support


def _post(client: TestClient, path: str, body: dict[str, Any]) -> Any:
    return ok(client.post(f"/api/v1/{path}", json=body), 201)


def _rich_practitioner(client: TestClient, tag: str) -> str:
    places = [
        _post(client, "locations", {"name": f"Oracle {n} {tag}", "timezone": "America/Chicago"})
        for n in ("North", "South")
    ]
    kinds = [
        _post(
            client,
            "appointment-types",
            {"code": f"o{m[:2]}-{tag}", "name": m, "duration_minutes": 20, "modality": m},
        )
        for m in ("in-person", "video", "phone")
    ]
    person = _post(
        client,
        "practitioners",
        {
            "name": f"Dr Ola Berg{tag}, MD",
            "npi": npi(),
            "specialties": ["endocrinology", "nutrition"],
            "phone": "+12175550177",
            "appointment_type_codes": [k["code"] for k in kinds],
        },
    )
    hours = ("FREQ=WEEKLY;BYDAY=TU,TH", "FREQ=MONTHLY;BYMONTHDAY=1")
    for place, rrule in zip(places, hours, strict=True):
        _post(
            client,
            "availability-rules",
            {
                "practitioner_id": person["id"],
                "location_id": place["id"],
                "rrule": rrule,
                "start_time": "13:30",
                "end_time": "17:00",
                "valid_from": "2026-01-01",
            },
        )
    return str(person["id"])


def _read(client: TestClient, ref: str) -> dict[str, Any]:
    found: dict[str, Any] = ok(client.get(f"/fhir/R4/{ref}"))
    return found


def test_practitioner_roles_and_groups_parse_strictly(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    client.headers.update(bearer(factory))
    tag = uuid.uuid4().hex[:8]
    rich = _rich_practitioner(client, tag)
    bare = _post(client, "practitioners", {"name": f"Lowe{tag}", "specialties": ["nursing"]})
    coordinator, newcomer = (make_user(factory, Role.COORDINATOR) for _ in range(2))
    charts = []
    for _ in range(2):
        body = new_patient(duplicate_override_reason="oracle test")
        body["primary_coordinator_id"] = str(coordinator.id)
        charts.append(_post(client, "patients", body))
    current = ok(client.get(f"/api/v1/patients/{charts[1]['id']}"))
    ok(
        client.patch(
            f"/api/v1/patients/{charts[1]['id']}",
            json={"version": current["version"], "status": "inactive"},
        )
    )
    resources = [
        _read(client, f"PractitionerRole/{rich}"),
        _read(client, f"PractitionerRole/{bare['id']}"),
        _read(client, f"Group/{coordinator.id}"),
        _read(client, f"Group/{newcomer.id}"),
    ]
    # The rich records really fill the optional elements the oracle is to check.
    assert len(resources[0]["extension"]) == 3
    assert len(resources[0]["location"]) == 2
    assert resources[0]["availableTime"]
    assert resources[2]["member"][1]["inactive"] is True
    assert resources[3]["quantity"] == 0
    verdicts = support.fhir_strict_errors_batch(resources)
    refused = {
        f"{r['resourceType']}/{r['id']}": errors
        for r, errors in zip(resources, verdicts, strict=True)
        if errors
    }
    assert not refused, json.dumps(refused, indent=1)
