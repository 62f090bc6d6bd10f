"""Hospital stays over FHIR, made by the ADT feed itself (messages posted to the HL7 API): an
admission reads as an in-progress US Core Encounter, is found by patient, status, class, date
and visit number, and its discharge is the Encounter's version 2, finished, with its end, its
disposition and the diagnoses the discharge carried."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import unit_of_work
from carebridge.fhir.mappers.encounters import ACT_CODE, DISCHARGE_STATUS
from carebridge.patients.terminology import ICD10CM
from carebridge.security.roles import Role
from carebridge.transitions.models import Hl7Message
from tests.integration.test_fhir_read import bearer
from tests.integration.test_fhir_search import ids, search
from tests.integration.test_hl7_inbox import message, unique


def _send(
    client: TestClient, factory: sessionmaker[Session], headers: dict[str, str], raw: str
) -> Hl7Message:
    """Post one message as the feed would; the stored message names the chart and stay."""
    answer = client.post("/api/v1/hl7/messages", content=raw.encode(), headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Hl7-Ack-Code"] == "AA", answer.text
    with unit_of_work(factory, write=False) as db:
        stored = db.get(Hl7Message, uuid.UUID(answer.headers["X-Hl7-Message-Id"]))
        assert stored is not None
        db.expunge(stored)
        return stored


def test_a_stay_from_admission_to_discharge(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = bearer(factory, Role.COORDINATOR)
    person, visit, facility = unique(), unique(), f"MERCY {unique()}"
    admit = message(
        "A01",
        patient_id=person,
        family=f"Enc{person}",
        visit_number=visit,
        facility=facility,
        location="4E^412^B",
        admit="20240301100000-0600",
    )
    # PV1-4 admission type, PV1-7 attending, PV1-10 service, PV1-14 admit source.
    fields = admit.split("\r")
    pv1 = fields[3].split("|")
    pv1[4], pv1[7], pv1[10], pv1[14] = "E", "1234^Wells^Ana^^^Dr", "MED", "7"
    fields[3] = "|".join(pv1)
    admitted = _send(client, factory, headers, "\r".join(fields))
    patient_id, encounter_id = admitted.patient_id, admitted.encounter_id
    assert patient_id is not None
    assert encounter_id is not None

    stay = client.get(f"/fhir/R4/Encounter/{encounter_id}", headers=headers)
    assert stay.status_code == 200, stay.text
    resource = stay.json()
    assert resource["meta"]["versionId"] == "1"
    assert resource["meta"]["profile"] == [
        "http://hl7.org/fhir/us/core/StructureDefinition/us-core-encounter"
    ]
    assert resource["status"] == "in-progress"
    assert resource["class"] == {
        "system": ACT_CODE,
        "code": "IMP",
        "display": "inpatient encounter",
    }
    assert resource["type"][0]["coding"][0]["code"] == "32485007"
    assert resource["subject"] == {"reference": f"Patient/{patient_id}"}
    assert resource["identifier"][0]["value"] == visit
    assert resource["identifier"][0]["assigner"] == {"display": facility}
    assert resource["period"] == {"start": "2024-03-01T16:00:00Z"}
    assert resource["location"] == [{"location": {"display": "4E 412 B"}, "status": "active"}]
    assert resource["priority"]["coding"][0]["code"] == "EM"
    assert resource["participant"][0]["individual"] == {"display": "Dr Ana Wells"}
    assert resource["serviceType"] == {"text": "MED"}
    assert resource["hospitalization"] == {"admitSource": {"text": "7"}}
    assert resource["serviceProvider"] == {"display": facility}

    mine = search(client, headers, f"Encounter?patient={patient_id}")
    assert ids(mine) == [str(encounter_id)]
    in_house = search(client, headers, f"Encounter?patient={patient_id}&status=in-progress")
    assert ids(in_house) == [str(encounter_id)]
    by_visit = search(client, headers, f"Encounter?identifier={visit}")
    assert ids(by_visit) == [str(encounter_id)]

    dg1 = "DG1|1||I50.9^Heart failure, unspecified^I10||20240305|F"
    discharge = message(
        "A03",
        patient_id=person,
        family=f"Enc{person}",
        visit_number=visit,
        facility=facility,
        admit="20240301100000-0600",
        discharge="20240305140000-0600",
        disposition="06",
        extra=(dg1,),
    )
    _send(client, factory, headers, discharge)
    done = client.get(f"/fhir/R4/Encounter/{encounter_id}", headers=headers).json()
    assert done["meta"]["versionId"] == "2"
    assert done["status"] == "finished"
    assert done["period"] == {"start": "2024-03-01T16:00:00Z", "end": "2024-03-05T20:00:00Z"}
    assert done["hospitalization"]["dischargeDisposition"]["coding"][0] == {
        "system": DISCHARGE_STATUS,
        "code": "06",
        "display": "Home with home health services",
    }
    assert done["reasonCode"] == [
        {
            "coding": [
                {"system": ICD10CM, "code": "I50.9", "display": "Heart failure, unspecified"}
            ],
            "text": "Heart failure, unspecified",
        }
    ]
    assert done["location"][0]["status"] == "completed"

    finished = search(client, headers, f"Encounter?patient={patient_id}&status=finished")
    assert ids(finished) == [str(encounter_id)]
    assert ids(search(client, headers, f"Encounter?patient={patient_id}&status=in-progress")) == []
    inpatient = search(client, headers, f"Encounter?patient={patient_id}&class={ACT_CODE}|IMP")
    assert ids(inpatient) == [str(encounter_id)]
    # In hospital on 3 March: the stay overlaps that day (eq would need it within the day).
    during = search(
        client, headers, f"Encounter?patient={patient_id}&date=ge2024-03-03&date=le2024-03-03"
    )
    assert ids(during) == [str(encounter_id)]
    after = search(client, headers, f"Encounter?patient={patient_id}&date=gt2024-03-06")
    assert ids(after) == []
    heart = search(client, headers, f"Encounter?reason-code={ICD10CM}|I50.9&patient={patient_id}")
    assert ids(heart) == [str(encounter_id)]
    first = client.get(f"/fhir/R4/Encounter/{encounter_id}/_history/1", headers=headers).json()
    assert first["status"] == "in-progress"


def test_encounters_need_transition_read(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    coordinator = bearer(factory, Role.COORDINATOR)
    admitted = _send(client, factory, coordinator, message("A01", patient_id=unique()))
    refused = client.get(
        f"/fhir/R4/Encounter/{admitted.encounter_id}", headers=bearer(factory, Role.BILLING)
    )
    assert refused.status_code == 403
