"""Referrals written through FHIR are the referral screens': a ServiceRequest names its
outside provider (contained, found in the directory by NPI), its service kind, reason,
diagnoses and documents; it is made a draft or sent at once, and an update changes an open
referral's details or sends a draft, with the same checks and audit."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import unit_of_work
from carebridge.referrals.models import Referral, ReferralAttachment
from carebridge.security.models import AuditEvent
from carebridge.security.roles import Role
from tests.factories import make_token, make_user
from tests.integration.test_coverage_api import api
from tests.integration.test_referrals_api import document, patient, provider

__all__ = ["api"]  # a fixture, used by name

JSON = {"Content-Type": "application/fhir+json"}
OUTCOME = {"Prefer": "return=OperationOutcome"}
NPI = "http://hl7.org/fhir/sid/us-npi"
KIND = "urn:carebridge:referral-service-kind"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"


def a_request(who: dict[str, Any], to: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest",
        "contained": [
            {
                "resourceType": "Practitioner",
                "id": "cardio",
                "identifier": [{"system": NPI, "value": to["npi"]}],
                "name": [{"text": to["name"]}],
            }
        ],
        "status": "draft",
        "intent": "order",
        "priority": "urgent",
        "code": {"coding": [{"system": KIND, "code": "specialist"}]},
        "subject": {"reference": f"Patient/{who['id']}"},
        "performer": [{"reference": "#cardio"}],
        "reasonCode": [
            {"coding": [{"system": ICD10CM, "code": "I50.9"}]},
            {"text": "Evaluate new murmur"},
        ],
        "note": [{"text": "Prefers mornings"}],
        **extra,
    }


def _count(factory: sessionmaker[Session], patient_id: str) -> int:
    with unit_of_work(factory, write=False) as db:
        query = select(func.count()).select_from(Referral)
        return int(db.scalar(query.where(Referral.patient_id == uuid.UUID(patient_id))) or 0)


def test_a_referral_is_made_sent_and_changed_through_fhir(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    who, to = patient(api), provider(api)
    attached = document(factory, who["id"])
    body = a_request(who, to, supportingInfo=[{"reference": f"DocumentReference/{attached}"}])
    made = api.post("/fhir/R4/ServiceRequest", json=body, headers=JSON)
    assert made.status_code == 201, made.text
    request = made.json()
    assert made.headers["location"].endswith(f"/ServiceRequest/{request['id']}/_history/1")
    assert (request["status"], request["priority"]) == ("draft", "urgent")
    assert request["contained"][0]["identifier"][0]["value"] == to["npi"]
    with unit_of_work(factory, write=False) as db:
        row = db.get(Referral, uuid.UUID(request["id"]))
        assert row is not None
        assert (row.direction, row.provider_id, row.reason, row.status) == (
            "outgoing",
            uuid.UUID(to["id"]),
            "Evaluate new murmur",
            "draft",
        )
        assert [d["code"] for d in row.diagnoses] == ["I50.9"]
        assert row.note == "Prefers mornings"
        documents = db.scalars(
            select(ReferralAttachment.document_id).where(ReferralAttachment.referral_id == row.id)
        )
        assert list(documents) == [attached]
        audited = db.scalars(
            select(AuditEvent.action).where(
                AuditEvent.entity_type == "Referral", AuditEvent.entity_id == request["id"]
            )
        )
        assert list(audited) == ["create"]

    sent = {**request, "status": "active", "priority": "routine"}
    changed = api.put(
        f"/fhir/R4/ServiceRequest/{request['id']}",
        json=sent,
        headers={**JSON, "If-Match": 'W/"1"', **OUTCOME},
    )
    assert changed.status_code == 200, changed.text
    assert changed.headers["etag"] == 'W/"2"'
    assert changed.json()["issue"][0]["diagnostics"] == "Done"
    stale = api.put(
        f"/fhir/R4/ServiceRequest/{request['id']}",
        json=sent,
        headers={**JSON, "If-Match": 'W/"1"'},
    )
    assert stale.status_code == 412
    with unit_of_work(factory, write=False) as db:
        row = db.get(Referral, uuid.UUID(request["id"]))
        assert row is not None
        assert (row.status, row.urgency) == ("sent", "routine")
        assert row.sent_at is not None

    # The steps after sending are the referral screen's: said, and nothing changes.
    current = api.get(f"/fhir/R4/ServiceRequest/{request['id']}").json()
    revoked = api.put(
        f"/fhir/R4/ServiceRequest/{request['id']}",
        json={**current, "status": "revoked"},
        headers={**JSON, **OUTCOME},
    )
    assert revoked.status_code == 200
    assert revoked.json()["issue"][0]["diagnostics"].startswith("ServiceRequest.status")
    with unit_of_work(factory, write=False) as db:
        row = db.get(Referral, uuid.UUID(request["id"]))
        assert row is not None
        assert row.status == "sent"


def test_an_incoming_referral_is_sent_at_once(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    who, sender = patient(api), provider(api)
    body = a_request(who, sender, status="active", requester={"reference": "#cardio"})
    del body["performer"]
    made = api.post("/fhir/R4/ServiceRequest", json=body, headers=JSON)
    assert made.status_code == 201, made.text
    assert made.json()["requester"]["reference"] == "#provider"
    assert made.json()["status"] == "active"
    with unit_of_work(factory, write=False) as db:
        row = db.get(Referral, uuid.UUID(made.json()["id"]))
        assert row is not None
        assert (row.direction, row.status) == ("incoming", "sent")


def test_bad_referrals_are_refused_naming_the_element(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    who, to = patient(api), provider(api)
    stranger = a_request(who, {**to, "npi": "1234567893"})
    unknown = api.post("/fhir/R4/ServiceRequest", json=stranger, headers=JSON)
    assert unknown.status_code == 422, unknown.text
    assert unknown.json()["issue"][0]["expression"] == ["ServiceRequest.performer[0]"]
    nobody = {k: v for k, v in a_request(who, to).items() if k != "performer"}
    missing = api.post("/fhir/R4/ServiceRequest", json=nobody, headers=JSON)
    assert missing.status_code == 422
    assert missing.json()["issue"][0]["expression"] == ["ServiceRequest.performer"]
    kindless = api.post(
        "/fhir/R4/ServiceRequest", json={**a_request(who, to), "code": {"text": "x"}}, headers=JSON
    )
    assert kindless.status_code == 422
    assert kindless.json()["issue"][0]["expression"] == ["ServiceRequest.code"]
    reasonless = {
        **a_request(who, to),
        "reasonCode": [{"coding": [{"system": ICD10CM, "code": "I50.9"}]}],
    }
    no_reason = api.post("/fhir/R4/ServiceRequest", json=reasonless, headers=JSON)
    assert no_reason.status_code == 422
    assert no_reason.json()["issue"][0]["expression"] == ["ServiceRequest.reasonCode"]
    bad_code = {
        **a_request(who, to),
        "reasonCode": [{"coding": [{"system": ICD10CM, "code": "I50"}]}, {"text": "x"}],
    }
    refused = api.post("/fhir/R4/ServiceRequest", json=bad_code, headers=JSON)
    assert refused.status_code == 422
    assert refused.json()["issue"][0]["expression"] == ["ServiceRequest.reasonCode"]
    asap = api.post(
        "/fhir/R4/ServiceRequest", json={**a_request(who, to), "priority": "asap"}, headers=JSON
    )
    assert asap.status_code == 422
    assert asap.json()["issue"][0]["expression"] == ["ServiceRequest.priority"]
    assert _count(factory, who["id"]) == 0


def test_referrals_are_written_only_by_roles_that_may_change_them(
    api: TestClient, client: TestClient, factory: sessionmaker[Session]
) -> None:
    who, to = patient(api), provider(api)
    billing = make_user(factory, Role.BILLING)
    headers = {**JSON, "Authorization": f"Bearer {make_token(factory, billing.username)}"}
    refused = client.post("/fhir/R4/ServiceRequest", json=a_request(who, to), headers=headers)
    assert refused.status_code == 403
    assert _count(factory, who["id"]) == 0
