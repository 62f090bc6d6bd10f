"""Search index values read out of resources: folded strings, word starts, phone forms,
references and the type's date range."""

from __future__ import annotations

import datetime as dt

from carebridge.fhir.indexing import extract, fold, reference_target
from carebridge.fhir.store import Index
from carebridge.fhir.types.patients import PATIENT, RELATED_PERSON


def test_fold_ignores_case_accents_and_spaces() -> None:
    assert fold("  José   MARÍA ") == "jose maria"
    assert fold("Zoë") == "zoe"
    assert len(fold("x" * 400)) == 255


def test_reference_targets() -> None:
    assert reference_target("Patient/abc") == ("Patient", "abc")
    assert reference_target("Patient/abc/_history/2") == ("Patient", "abc")
    assert reference_target("https://other.example/fhir/Patient/9") == ("Patient", "9")
    assert reference_target("urn:uuid:0d1b4a4e-1c1f-4c5e-9d0a-3f1e2d3c4b5a") is None
    assert reference_target("#contained") is None


def test_a_patient_is_indexed_by_its_parameters() -> None:
    patient = {
        "resourceType": "Patient",
        "id": "p1",
        "identifier": [{"system": "urn:mrn", "value": "M1"}, {"value": "no-system"}],
        "active": True,
        "name": [{"family": "de la Cruz", "given": ["Ana", "María"]}],
        "telecom": [
            {"system": "phone", "value": "+13125550101"},
            {"system": "email", "value": "ana@example.org"},
        ],
        "gender": "female",
        "birthDate": "1950-03-14",
        "address": [{"line": ["1 Main St"], "city": "Chicago", "state": "IL"}],
        "generalPractitioner": [{"reference": "Practitioner/d1"}, {"reference": "Group/g"}],
    }
    index = extract(patient, PATIENT.params, Index(status="active"))
    assert index.status == "active"
    assert index.date_start == dt.datetime(1950, 3, 14, tzinfo=dt.UTC)
    assert index.date_end == dt.datetime(1950, 3, 15, tzinfo=dt.UTC)
    tokens = set(index.tokens)
    assert ("identifier", "urn:mrn", "M1") in tokens
    assert ("identifier", None, "no-system") in tokens
    assert ("active", None, "true") in tokens
    assert ("gender", None, "female") in tokens
    assert {("phone", "phone", f) for f in ("+13125550101", "13125550101", "3125550101")} <= tokens
    assert ("email", "email", "ana@example.org") in tokens
    assert not any(p == "phone" and s == "email" for p, s, _c in tokens)
    strings = {(p, v) for p, v, _exact in index.strings}
    assert {("family", "de la cruz"), ("family", "la cruz"), ("family", "cruz")} <= strings
    assert {("given", "ana"), ("given", "maria"), ("address-city", "chicago")} <= strings
    assert ("name", "maria") in strings
    assert ("address", "1 main st") in strings
    exact = {(p, e) for p, _v, e in index.strings}
    assert ("given", "María") in exact
    # Only the types a parameter may point at are kept.
    assert index.references == (("general-practitioner", "Practitioner", "d1"),)


def test_a_related_person_points_at_its_patient() -> None:
    person = {
        "resourceType": "RelatedPerson",
        "id": "r1",
        "patient": {"reference": "Patient/p1"},
        "relationship": [{"coding": [{"system": "urn:v3-RoleCode", "code": "SPS"}]}],
        "name": [{"text": "Luis Ortega"}],
    }
    index = extract(person, RELATED_PERSON.params)
    assert index.references == (("patient", "Patient", "p1"),)
    assert ("relationship", "urn:v3-RoleCode", "SPS") in index.tokens
    assert {("name", "luis ortega"), ("name", "ortega")} <= {(p, v) for p, v, _e in index.strings}
    assert index.date_start is None
