"""Referrals, payers, coverages and eligibility checks read through FHIR over HTTP, made through
the domains' own JSON API: a referral as a ServiceRequest (its outside provider contained) that
follows its status and its provider's changes; a payer as an Organization; a coverage as a
US Core Coverage; an eligibility check as a CoverageEligibilityRequest and, under its own
derived id, the CoverageEligibilityResponse read from the simulated payer's 271."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from carebridge.fhir.mappers.coverage import response_id
from tests.factories import clinic_today
from tests.integration.test_coverage_api import api, coverage_body, payer, plan
from tests.integration.test_referrals_api import document, patient, provider, referral, step
from tests.integration.test_scheduling_api import ok

__all__ = ["api"]  # fixtures used here


def read(api: TestClient, path: str) -> dict[str, Any]:
    answer = api.get(f"/fhir/R4/{path}")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/fhir+json")
    resource: dict[str, Any] = answer.json()
    return resource


def found(api: TestClient, query: str) -> list[str]:
    bundle = read(api, query)
    assert bundle["type"] == "searchset"
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]


def test_a_referral_is_a_service_request_that_follows_its_status(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    who = patient(api)
    to = provider(api, specialty="Cardiology")
    attached = document(factory, who["id"])
    made = ok(referral(api, who, to, urgency="urgent", attachment_ids=[str(attached)]), 201)
    resource = read(api, f"ServiceRequest/{made['id']}")
    assert resource["meta"]["versionId"] == "1"
    assert resource["status"] == "draft"
    assert resource["intent"] == "order"
    assert resource["priority"] == "urgent"
    assert resource["category"][0]["coding"][0]["code"] == "3457005"
    assert resource["subject"] == {"reference": f"Patient/{who['id']}"}
    assert resource["identifier"][0]["value"] == made["number"]
    [contained] = resource["contained"]
    assert contained["resourceType"] == "Practitioner"
    assert contained["identifier"][0] == {
        "system": "http://hl7.org/fhir/sid/us-npi",
        "value": to["npi"],
    }
    assert resource["performer"][0]["reference"] == "#provider"
    assert "requester" not in resource  # we are the requester, not served as a resource
    codes = [c["coding"][0]["code"] for c in resource["reasonCode"] if "coding" in c]
    assert codes == ["I50.9", "E11.9"]
    assert resource["supportingInfo"] == [{"reference": f"DocumentReference/{attached}"}]

    assert found(api, f"ServiceRequest?patient={who['id']}") == [made["id"]]
    assert found(api, f"ServiceRequest?patient={who['id']}&status=draft") == [made["id"]]
    assert found(api, f"ServiceRequest?patient={who['id']}&priority=routine") == []
    assert found(api, f"ServiceRequest?identifier={made['number']}") == [made["id"]]

    sent = ok(step(api, made, "send"))
    after = read(api, f"ServiceRequest/{made['id']}")
    assert after["meta"]["versionId"] == "2"
    assert after["status"] == "active"
    assert found(api, f"ServiceRequest?patient={who['id']}&status=draft") == []
    assert found(api, f"ServiceRequest?patient={who['id']}&status=active") == [made["id"]]
    assert found(api, f"ServiceRequest?patient={who['id']}&authored=ge2000-01-01") == [made["id"]]

    # The provider is contained, so a change to the directory entry is a new version too.
    moved = ok(
        api.patch(
            f"/api/v1/directory/{to['id']}",
            json={"version": to["version"], "phone": "+13125550199"},
        )
    )
    assert moved["phone"] == "+13125550199"
    again = read(api, f"ServiceRequest/{made['id']}")
    assert again["meta"]["versionId"] == "3"
    assert {"system": "phone", "value": "+13125550199", "use": "work"} in again["contained"][0][
        "telecom"
    ]
    cancelled = ok(step(api, sent, "cancel", reason="Patient moved away."))
    assert cancelled["status"] == "cancelled"
    assert read(api, f"ServiceRequest/{made['id']}")["status"] == "revoked"


def test_an_incoming_referral_from_a_hospital_names_it_as_requester(api: TestClient) -> None:
    who = patient(api)
    hospital = provider(
        api, kind="hospital", organization=f"Lakeside General {uuid.uuid4().hex[:6]}"
    )
    made = ok(referral(api, who, hospital, direction="incoming"), 201)
    resource = read(api, f"ServiceRequest/{made['id']}")
    assert resource["contained"][0]["resourceType"] == "Organization"
    assert resource["contained"][0]["name"] == hospital["organization"]
    assert resource["requester"]["reference"] == "#provider"
    assert "performer" not in resource


def test_payer_coverage_and_an_eligibility_check_with_its_answer(api: TestClient) -> None:
    who = patient(api)
    insurer = payer(api, "Prairie Mutual Health")
    product = plan(api, insurer["id"], "ppo")
    coverage = ok(
        api.post(
            f"/api/v1/patients/{who['id']}/coverage",
            json=coverage_body(
                insurer["id"], member_id="XQK48192045", plan_id=product["id"],
                group_number="G-7781", group_name="Acme Corp",
            ),
        ),
        201,
    )  # fmt: skip

    organization = read(api, f"Organization/{insurer['id']}")
    assert organization["identifier"] == [
        {"system": "urn:carebridge:payer-id", "value": insurer["payer_id"]}
    ]
    assert organization["active"] is True
    assert organization["type"][0]["coding"][0]["code"] == "ins"
    assert found(api, f"Organization?identifier={insurer['payer_id']}") == [insurer["id"]]

    resource = read(api, f"Coverage/{coverage['id']}")
    assert resource["status"] == "active"
    assert resource["type"]["coding"][0] == {
        "system": "https://nahdo.org/sopt",
        "code": "512",
        "display": "Commercial Managed Care - PPO",
    }
    assert resource["subscriberId"] == "XQK48192045"
    assert resource["subscriber"] == {"reference": f"Patient/{who['id']}"}
    assert resource["relationship"]["coding"][0]["code"] == "self"
    assert resource["payor"] == [{"reference": f"Organization/{insurer['id']}"}]
    assert resource["order"] == 1
    classes = {c["type"]["coding"][0]["code"]: c for c in resource["class"]}
    assert classes["group"]["value"] == "G-7781"
    assert classes["plan"]["name"] == "Choice Plus"
    assert found(api, f"Coverage?patient={who['id']}") == [coverage["id"]]
    assert found(api, f"Coverage?payor=Organization/{insurer['id']}") == [coverage["id"]]
    assert found(api, f"Coverage?patient={who['id']}&status=cancelled") == []

    changed = ok(
        api.patch(
            f"/api/v1/coverage/{coverage['id']}",
            json={"version": coverage["version"], "group_number": "G-7782"},
        )
    )
    assert changed["group_number"] == "G-7782"
    after = read(api, f"Coverage/{coverage['id']}")
    assert after["meta"]["versionId"] == "2"
    assert {c["value"] for c in after["class"]} >= {"G-7782"}

    when = (clinic_today() + dt.timedelta(days=7)).isoformat()
    check = ok(
        api.post(
            f"/api/v1/coverage/{coverage['id']}/eligibility-checks", json={"service_date": when}
        ),
        201,
    )
    assert check["status"] == "complete"
    request = read(api, f"CoverageEligibilityRequest/{check['id']}")
    assert request["purpose"] == ["validation", "benefits"]
    assert request["servicedDate"] == when
    assert request["insurer"] == {"reference": f"Organization/{insurer['id']}"}
    assert request["insurance"][0]["coverage"] == {"reference": f"Coverage/{coverage['id']}"}

    answer_id = str(response_id(uuid.UUID(check["id"])))
    answer = read(api, f"CoverageEligibilityResponse/{answer_id}")
    assert answer["request"] == {"reference": f"CoverageEligibilityRequest/{check['id']}"}
    assert answer["outcome"] == "complete"
    assert answer["disposition"] == "Prairie Mutual Health HMO"
    [insurance] = answer["insurance"]
    assert insurance["inforce"] is True
    copays = [
        b["allowedMoney"]["value"]
        for item in insurance["item"]
        for b in item.get("benefit", [])
        if b["type"]["coding"][0]["code"] == "copay"
    ]
    assert copays == [15.0, 40.0], json.dumps(insurance)
    assert found(api, f"CoverageEligibilityRequest?patient={who['id']}") == [check["id"]]
    assert found(
        api, f"CoverageEligibilityResponse?request=CoverageEligibilityRequest/{check['id']}"
    ) == [answer_id]
    assert found(api, f"CoverageEligibilityResponse?patient={who['id']}&outcome=error") == []


def test_a_rejected_check_answers_with_errors(api: TestClient) -> None:
    who = patient(api)
    coverage = ok(
        api.post(
            f"/api/v1/patients/{who['id']}/coverage",
            json=coverage_body(payer(api)["id"], member_id="XQK481920399"),
        ),
        201,
    )
    check = ok(api.post(f"/api/v1/coverage/{coverage['id']}/eligibility-checks"), 201)
    assert check["status"] == "rejected"
    answer = read(api, f"CoverageEligibilityResponse/{response_id(uuid.UUID(check['id']))}")
    assert answer["outcome"] == "error"
    assert answer["error"][0]["code"]["coding"][0]["code"] == "75"
    assert "insurance" not in answer
    assert found(api, f"CoverageEligibilityResponse?patient={who['id']}&outcome=error") == [
        answer["id"]
    ]
    coverage_type = read(api, f"Coverage/{coverage['id']}")["type"]
    assert coverage_type["coding"][0]["code"] == "9999"  # no plan: the payer type is unknown
