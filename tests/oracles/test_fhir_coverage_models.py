"""Every ServiceRequest, Organization, Coverage, CoverageEligibilityRequest/Response, Claim and
ClaimResponse we render parses with fhirclient's strict R4 (4.0.1) models: one record with every
field we map filled in and one as bare as the services allow, of each, made through the
domains' own JSON API and read back over FHIR."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from carebridge.fhir.mappers.claims import response_id as decision_id
from carebridge.fhir.mappers.coverage import response_id as answer_id
from tests.integration.test_authorizations_api import admin, api, create, submit, world
from tests.integration.test_claims_api import billed_patient, claim, completed_visit, problems
from tests.integration.test_coverage_api import card, coverage_body, payer, plan
from tests.integration.test_fhir_referrals_coverage import read
from tests.integration.test_referrals_api import document, patient, provider, referral
from tests.integration.test_scheduling_api import clinic, ok
from tests.oracles import support

__all__ = ["admin", "api", "clinic", "world"]  # fixtures used here


def _assert_strictly_valid(resources: list[dict[str, Any]]) -> None:
    verdicts = support.fhir_strict_errors_batch(resources)
    refused = {
        f"{r['resourceType']}/{r['id']}": errors
        for r, errors in zip(resources, verdicts, strict=True)
        if errors
    }
    assert not refused, json.dumps(refused, indent=1)


def _referrals(api: TestClient, factory: sessionmaker[Session]) -> list[dict[str, Any]]:
    who = patient(api)
    specialist = provider(api, address_line="1 Lake Shore Dr", postal_code="60601")
    full = ok(
        referral(
            api, who, specialist, urgency="stat", note="Please call before the visit.",
            attachment_ids=[str(document(factory, who["id"]))],
        ),
        201,
    )  # fmt: skip
    ok(api.post(f"/api/v1/referrals/{full['id']}/transitions",
                json={"action": "send", "version": full["version"]}))  # fmt: skip
    agency = provider(api, kind="community-service", organization="Meals Co", npi=None)
    bare = ok(
        api.post(
            f"/api/v1/patients/{who['id']}/referrals",
            json={
                "provider_id": agency["id"],
                "direction": "incoming",
                "service_kind": "community-service",
                "reason": "Meals at home.",
            },
        ),
        201,
    )
    return [read(api, f"ServiceRequest/{full['id']}"), read(api, f"ServiceRequest/{bare['id']}")]


def _coverage(api: TestClient) -> list[dict[str, Any]]:
    who = patient(api)
    rich_payer = payer(api, "Prairie Mutual Health")
    bare_payer = ok(
        api.post(
            "/api/v1/payers",
            json={"name": "Bare Payer", "payer_id": "BP" + uuid.uuid4().hex[:8].upper()},
        ),
        201,
    )
    product = plan(api, rich_payer["id"], "medicare-advantage")
    dependent = ok(
        api.post(
            f"/api/v1/patients/{who['id']}/coverage",
            json=coverage_body(
                rich_payer["id"], member_id="XQK48192052", plan_id=product["id"],
                relationship="child", subscriber_family_name="Ruiz",
                subscriber_given_names="Ana", subscriber_birth_date="1980-01-02",
                subscriber_sex="female", subscriber_member_id="XQK48192050",
                group_number="G1", group_name="Acme", end_on="2027-12-31",
                card_front_id=card(api, who["id"]),
            ),
        ),
        201,
    )  # fmt: skip
    active = ok(
        api.post(
            f"/api/v1/patients/{who['id']}/coverage",
            json=coverage_body(bare_payer["id"], member_id="XQK48192045", rank=2),
        ),
        201,
    )
    rejected_coverage = ok(
        api.post(
            f"/api/v1/patients/{patient(api)['id']}/coverage",
            json=coverage_body(bare_payer["id"], member_id="XQK481920399"),
        ),
        201,
    )
    checks = [
        ok(api.post(f"/api/v1/coverage/{c['id']}/eligibility-checks"), 201)
        for c in (dependent, active, rejected_coverage)
    ]
    found = [
        read(api, f"Organization/{rich_payer['id']}"),
        read(api, f"Organization/{bare_payer['id']}"),
        read(api, f"Coverage/{dependent['id']}"),
        read(api, f"Coverage/{active['id']}"),
    ]
    for check in checks:
        found.append(read(api, f"CoverageEligibilityRequest/{check['id']}"))
        found.append(read(api, f"CoverageEligibilityResponse/{answer_id(uuid.UUID(check['id']))}"))
    return found


def _claims(
    api: TestClient,
    world: dict[str, Any],
    clinic: dict[str, Any],
    factory: sessionmaker[Session],
) -> list[dict[str, Any]]:
    outside = provider(api, kind="therapy", specialty="Physical therapy")
    sent_from = ok(referral(api, world["patient"], outside), 201)
    rich = create(
        api, world, rendering_practitioner_id=None, rendering_provider_id=outside["id"],
        referral_id=sent_from["id"], document_ids=[world["document"]],
        diagnoses=["M54.50", "M51.26"],
        services=[
            {"code": "97110", "modifiers": ["GP"], "units_requested": 8},
            {"code": "G0283", "units_requested": 4},
        ],
    )  # fmt: skip
    approved = submit(api, rich)
    denied = submit(api, create(api, world, services=[{"code": "95811", "units_requested": 1}]))
    draft = create(api, world)
    who = billed_patient(api, member_id="LSH48192079")
    problems(factory, who["id"], "E11.9", "I10")
    billed = ok(claim(api, completed_visit(factory, clinic, who["id"])), 201)
    ok(
        api.post(
            f"/api/v1/claims/{billed['id']}/attachments",
            json={"kind": "progress-note", "document_id": str(document(factory, who["id"]))},
        ),
        201,
    )
    ok(api.post(f"/api/v1/claims/{billed['id']}/attachments", json={"kind": "other"}), 201)
    return [
        read(api, f"Claim/{approved['id']}"),
        read(api, f"Claim/{draft['id']}"),
        read(api, f"Claim/{billed['id']}"),
        read(api, f"ClaimResponse/{decision_id(uuid.UUID(approved['id']))}"),
        read(api, f"ClaimResponse/{decision_id(uuid.UUID(denied['id']))}"),
    ]


def test_every_resource_we_render_is_strict_r4(
    api: TestClient,
    world: dict[str, Any],
    clinic: dict[str, Any],
    factory: sessionmaker[Session],
) -> None:
    resources = _referrals(api, factory) + _coverage(api) + _claims(api, world, clinic, factory)
    kinds = {r["resourceType"] for r in resources}
    assert kinds == {
        "ServiceRequest",
        "Organization",
        "Coverage",
        "CoverageEligibilityRequest",
        "CoverageEligibilityResponse",
        "Claim",
        "ClaimResponse",
    }
    assert {r["use"] for r in resources if r["resourceType"] == "Claim"} == {
        "preauthorization",
        "claim",
    }
    # The rich records do carry the optional parts whose shape is checked.
    claims = [r for r in resources if r["resourceType"] == "Claim"]
    assert any("contained" in c and "referral" in c and "supportingInfo" in c for c in claims)
    assert any(len(c.get("supportingInfo", [])) == 2 and c["use"] == "claim" for c in claims)
    assert any("item" in r.get("insurance", [{}])[0] for r in resources
               if r["resourceType"] == "CoverageEligibilityResponse")  # fmt: skip
    assert any("display" in r.get("subscriber", {}) for r in resources
               if r["resourceType"] == "Coverage")  # fmt: skip
    _assert_strictly_valid(resources)
