"""The Da Vinci PAS request bundle we build (a collection whose first entry is a Claim with
use=preauthorization, and the resources it references) and the ClaimResponse we read, with
the simulator's answers and malformed answers refused naming the JSON path."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from carebridge.authorizations import pas
from carebridge.coverage.simulator import authorization as simulator

NOW = dt.datetime(2026, 11, 26, 9, 30, tzinfo=dt.UTC)


def request(**extra: Any) -> pas.PasRequest:
    values: dict[str, Any] = {
        "trace_number": "PA0000007S1",
        "created": NOW,
        "patient_id": "p-1",
        "patient_family": "Ruiz",
        "patient_given": "Rosa",
        "patient_birth_date": dt.date(1948, 7, 2),
        "patient_sex": "female",
        "member_id": "PAS778812",
        "relationship": "self",
        "payer_name": "Lakeshore Health Plan",
        "payer_id": "LHP01",
        "requester_name": "Carebridge Clinic",
        "requester_npi": "1245319599",
        "diagnoses": ("M54.50",),
        "items": (pas.Item("97110", "CPT", 8, ("GP",)),),
        "start": dt.date(2026, 12, 1),
        "end": dt.date(2027, 2, 28),
        "ordering": pas.Person("Chen", "Maya", "1548293047"),
    }
    values.update(extra)
    return pas.PasRequest(**values)


def by_url(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["fullUrl"]: e["resource"] for e in bundle["entry"]}


def test_bundle_is_a_collection_led_by_a_preauthorization_claim() -> None:
    bundle = pas.build_bundle(request())
    assert bundle["resourceType"] == "Bundle"
    assert bundle["type"] == "collection"
    claim = bundle["entry"][0]["resource"]
    assert claim["resourceType"] == "Claim"
    assert claim["use"] == "preauthorization"
    resources = by_url(bundle)
    assert resources[claim["patient"]["reference"]]["resourceType"] == "Patient"
    insurer = resources[claim["insurer"]["reference"]]
    assert insurer["resourceType"] == "Organization"
    assert insurer["identifier"][0]["value"] == "LHP01"
    assert resources[claim["provider"]["reference"]]["identifier"][0]["value"] == "1245319599"
    coverage = resources[claim["insurance"][0]["coverage"]["reference"]]
    assert coverage["resourceType"] == "Coverage"
    assert coverage["subscriberId"] == "PAS778812"
    assert claim["diagnosis"][0]["diagnosisCodeableConcept"]["coding"][0] == {
        "system": pas.ICD10CM,
        "code": "M54.50",
    }
    [item] = claim["item"]
    assert item["productOrService"]["coding"][0] == {"system": pas.CPT, "code": "97110"}
    assert item["quantity"] == {"value": 8}
    assert item["servicedPeriod"] == {"start": "2026-12-01", "end": "2027-02-28"}
    assert item["modifier"][0]["coding"][0]["code"] == "GP"
    assert resources[claim["careTeam"][0]["provider"]["reference"]]["resourceType"] == (
        "Practitioner"
    )
    json.dumps(bundle)  # plain JSON all the way down


def test_hcpcs_items_and_documents() -> None:
    bundle = pas.build_bundle(
        request(items=(pas.Item("E0601", "HCPCS", 1),), documents=("d-1", "d-2"))
    )
    claim = bundle["entry"][0]["resource"]
    assert claim["item"][0]["productOrService"]["coding"][0]["system"] == pas.HCPCS
    refs = [s["valueReference"]["reference"] for s in claim["supportingInfo"]]
    assert refs == ["DocumentReference/d-1", "DocumentReference/d-2"]


def test_request_needs_items_and_diagnoses() -> None:
    with pytest.raises(ValueError, match="item"):
        pas.build_bundle(request(items=()))
    with pytest.raises(ValueError, match="diagnosis"):
        pas.build_bundle(request(diagnoses=()))


def answer(**extra: Any) -> pas.PasDecision:
    text = simulator.answer_pas(json.dumps(pas.build_bundle(request(**extra))))
    return pas.read_claim_response(text)


def test_simulator_answers_read_back() -> None:
    full = answer()
    assert (full.outcome, full.action) == ("complete", "A1")
    assert full.auth_number == simulator.auth_number("PA0000007S1")
    assert full.trace_number == "PA0000007S1"
    assert (full.start, full.end) == (dt.date(2026, 12, 1), dt.date(2027, 2, 28))
    assert [(i.sequence, i.action, i.units) for i in full.items] == [(1, "A1", 8)]
    partial = answer(items=(pas.Item("97110", "CPT", 30),))
    assert (partial.outcome, partial.action, partial.items[0].units) == ("partial", "A2", 12)
    pended = answer(items=(pas.Item("72148", "CPT", 1),))
    assert (pended.outcome, pended.action, pended.reason, pended.auth_number) == (
        "queued",
        "A4",
        "0U",
        "",
    )
    denied = answer(items=(pas.Item("E0260", "HCPCS", 1),))
    assert (denied.action, denied.reason) == ("A3", "AA")


def _response() -> dict[str, Any]:
    text = simulator.answer_pas(json.dumps(pas.build_bundle(request())))
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@pytest.mark.parametrize(
    ("spoil", "path"),
    [
        (lambda b: b.update(resourceType="Parameters"), r"\$"),
        (lambda b: b.update(entry=[]), "Bundle.entry"),
        (lambda b: b["entry"][0]["resource"].update(resourceType="Claim"), "resourceType"),
        (lambda b: b["entry"][0]["resource"].update(outcome="maybe"), "ClaimResponse.outcome"),
        (
            lambda b: b["entry"][0]["resource"]["item"][0]["adjudication"][0].update(value="x"),
            r"ClaimResponse.item\[0\].adjudication\[0\].value",
        ),
        (
            lambda b: b["entry"][0]["resource"]["item"][0].pop("itemSequence"),
            r"item\[0\].itemSequence",
        ),
        (
            lambda b: b["entry"][0]["resource"].update(preAuthPeriod={"start": "soon"}),
            "preAuthPeriod.start",
        ),
    ],
)
def test_malformed_responses_name_the_path(spoil: Any, path: str) -> None:
    bundle = _response()
    spoil(bundle)
    with pytest.raises(pas.PasError, match=path):
        pas.read_claim_response(json.dumps(bundle))


def test_not_json_at_all() -> None:
    with pytest.raises(pas.PasError, match="not JSON"):
        pas.read_claim_response('{"resourceType": "Bundle", ')
