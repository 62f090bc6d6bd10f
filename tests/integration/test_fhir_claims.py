"""Prior authorizations and billed claims read through FHIR over HTTP, made through the domains'
own JSON API: both are a Claim (``preauthorization`` and ``claim``) from one projection, the
payer's decision on a prior authorization a ClaimResponse under its own derived id, each
following its record's changes as new versions (and none when the rendering is unchanged)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import unit_of_work
from carebridge.fhir.mappers.claims import response_id
from carebridge.fhir.registry import PROJECTIONS
from tests.integration.test_authorizations_api import admin, api, create, submit, world
from tests.integration.test_claims_api import billed_patient, claim, completed_visit, problems
from tests.integration.test_claims_api import step as claim_step
from tests.integration.test_claims_api import submit as claim_submit
from tests.integration.test_fhir_referrals_coverage import found, read
from tests.integration.test_scheduling_api import clinic, ok

__all__ = ["admin", "api", "clinic", "world"]  # fixtures used here

CPT = "http://www.ama-assn.org/go/cpt"


def test_a_prior_authorization_is_a_claim_and_its_decision_a_claim_response(
    api: TestClient, world: dict[str, Any]
) -> None:
    made = create(api, world)
    resource = read(api, f"Claim/{made['id']}")
    assert resource["meta"]["versionId"] == "1"
    assert resource["use"] == "preauthorization"
    assert resource["status"] == "draft"
    assert resource["patient"] == {"reference": f"Patient/{world['patient']['id']}"}
    assert resource["insurer"] == {"reference": f"Organization/{world['x12']['id']}"}
    assert resource["provider"] == {"reference": f"Practitioner/{world['doctor']['id']}"}
    assert resource["insurance"][0]["coverage"] == {
        "reference": f"Coverage/{world['coverage']['id']}"
    }
    assert resource["diagnosis"][0]["diagnosisCodeableConcept"]["coding"][0]["code"] == "M54.50"
    [item] = resource["item"]
    assert item["productOrService"]["coding"][0] == {"system": CPT, "code": "97110"}
    assert item["quantity"] == {"value": 8}
    assert item["servicedPeriod"] == {
        "start": made["requested_start"],
        "end": made["requested_end"],
    }
    decision_id = str(response_id(uuid.UUID(made["id"])))
    assert api.get(f"/fhir/R4/ClaimResponse/{decision_id}").status_code == 404  # none yet

    who = world["patient"]["id"]
    assert found(api, f"Claim?patient={who}&use=preauthorization") == [made["id"]]
    assert found(api, f"Claim?patient={who}&status=draft") == [made["id"]]
    assert found(api, f"Claim?patient={who}&use=claim") == []

    sent = submit(api, made)
    assert sent["status"] == "approved"
    after = read(api, f"Claim/{made['id']}")
    assert after["status"] == "active"
    assert after["meta"]["versionId"] != "1"
    history = read(api, f"Claim/{made['id']}/_history")
    assert history["entry"][-1]["resource"]["status"] == "draft"

    decision = read(api, f"ClaimResponse/{decision_id}")
    assert decision["request"] == {"reference": f"Claim/{made['id']}"}
    assert decision["use"] == "preauthorization"
    assert decision["outcome"] == "complete"
    assert decision["preAuthRef"] == sent["auth_number"]
    assert decision["preAuthPeriod"] == {
        "start": sent["approved_start"],
        "end": sent["approved_end"],
    }
    [adjudicated] = decision["item"]
    assert adjudicated["adjudication"][0]["value"] == 8
    assert adjudicated["adjudication"][0]["reason"]["coding"][0]["code"] == "A1"
    assert found(api, f"ClaimResponse?request=Claim/{made['id']}") == [decision_id]
    assert found(api, f"ClaimResponse?patient={who}&outcome=complete") == [decision_id]


def test_a_denied_request_answers_with_no_period(api: TestClient, world: dict[str, Any]) -> None:
    made = create(api, world, services=[{"code": "95811", "units_requested": 1}])
    denied = submit(api, made)
    assert denied["status"] == "denied"
    decision = read(api, f"ClaimResponse/{response_id(uuid.UUID(made['id']))}")
    assert decision["outcome"] == "complete"
    assert decision["disposition"].startswith("Denied: AA")
    assert "preAuthPeriod" not in decision
    assert "preAuthRef" not in decision


def test_a_billed_visit_is_a_claim_that_follows_its_status(
    api: TestClient, clinic: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    who = billed_patient(api, member_id="LSH48192077")
    problems(factory, who["id"], "E11.9", "I10")
    visit = completed_visit(factory, clinic, who["id"])
    made = ok(claim(api, visit), 201)
    resource = read(api, f"Claim/{made['id']}")
    assert resource["use"] == "claim"
    assert resource["status"] == "draft"
    assert resource["identifier"][0]["value"] == made["number"]
    assert resource["provider"] == {"reference": f"Practitioner/{clinic['people'][0]['id']}"}
    assert resource["total"] == {"value": 125.0, "currency": "USD"}
    assert [d["diagnosisCodeableConcept"]["coding"][0]["code"] for d in resource["diagnosis"]] == [
        "E11.9",
        "I10",
    ]
    [item] = resource["item"]
    assert item["productOrService"]["coding"][0] == {"system": CPT, "code": "99213"}
    assert item["net"] == {"value": 125.0, "currency": "USD"}
    assert item["locationCodeableConcept"]["coding"][0]["code"] == "11"
    assert found(api, f"Claim?patient={who['id']}&use=claim") == [made["id"]]
    assert found(api, f"Claim?patient={who['id']}&created=ge2000-01-01") == [made["id"]]

    # Ready to send is still a draft to the payer: the rendering is unchanged, no new version.
    ready = ok(claim_step(api, made, "ready"))
    assert read(api, f"Claim/{made['id']}")["meta"]["versionId"] == "1"
    sent = ok(claim_submit(api, ready))
    assert sent["status"] == "accepted"
    after = read(api, f"Claim/{made['id']}")
    assert after["status"] == "active"
    assert after["meta"]["versionId"] == "2"
    assert found(api, f"Claim?patient={who['id']}&status=active") == [made["id"]]


def test_every_claim_id_and_a_response_rendered_by_its_own_id(
    api: TestClient, world: dict[str, Any], clinic: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    """``every`` (what a reindex renders) covers both tables, and a ClaimResponse is rendered
    again when asked by its own id as well as by its authorization's."""
    made = submit(api, create(api, world))
    who = billed_patient(api, member_id="LSH48192078")
    problems(factory, who["id"], "I10")
    billed = ok(claim(api, completed_visit(factory, clinic, who["id"])), 201)
    both = [uuid.UUID(made["id"]), uuid.UUID(billed["id"])]
    decision_id = response_id(both[0])
    with unit_of_work(factory, write=False) as db:
        claims = PROJECTIONS["Claim"]
        assert set(both) <= set(db.scalars(select(claims.every)))
        assert {r["id"] for r, _ in claims.render(db, both)} == {str(i) for i in both}
        responses = PROJECTIONS["ClaimResponse"]
        for asked in (both[0], decision_id):
            [(rendered, index)] = list(responses.render(db, [asked]))
            assert rendered["id"] == str(decision_id)
            assert index.patient_id == uuid.UUID(world["patient"]["id"])
