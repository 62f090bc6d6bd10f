"""Index fields of resources kept as received: Synthea's real bundles, and hand-written cases for
the edges (periods, partial dates, choice types, contained references, bad shapes)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from carebridge.fhir.errors import FhirError
from carebridge.fhir.received import (
    CODE_PATHS,
    COMPARTMENT_PATHS,
    DATE_PATHS,
    RESOURCE_TYPES,
    STATUS_PATHS,
    index,
    validate_shape,
)

SYNTHEA = Path(__file__).parents[2].parent / "shared" / "data" / "synthea"
LOINC = "http://loinc.org"
CVX = "http://hl7.org/fhir/sid/cvx"
SNOMED = "http://snomed.info/sct"
PATIENT_UUID = "36b0075a-44ae-459c-92a6-d83e037fd064"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.fixture(scope="module")
def synthea() -> list[tuple[str, dict[str, Any]]]:
    """(the bundle's Patient id, resource) for every entry of every shared patient bundle."""
    if not SYNTHEA.is_dir():
        pytest.skip(f"the shared Synthea bundles are not at {SYNTHEA}")
    entries: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(SYNTHEA.glob("*.json")):
        bundle = json.loads(path.read_text(encoding="utf-8"))
        resources = [entry["resource"] for entry in bundle["entry"]]
        patients = [r["id"] for r in resources if r["resourceType"] == "Patient"]
        entries += [(patients[0] if patients else "", r) for r in resources]
    assert entries, f"no bundles in {SYNTHEA}"
    return entries


def of_type(entries: list[tuple[str, dict[str, Any]]], rtype: str) -> list[tuple[str, Any]]:
    found = [(p, r) for p, r in entries if r["resourceType"] == rtype]
    assert found, f"Synthea has no {rtype}"
    return found


# --- the R4 tables --------------------------------------------------------------------------


def test_resource_types_are_r4_4_0_1() -> None:
    # 4.0.1's ResourceType list: 145 with a compartment entry, plus Parameters.
    assert len(RESOURCE_TYPES) == 146
    assert {"Observation", "ExplanationOfBenefit", "MedicinalProductUndesirableEffect"} <= (
        RESOURCE_TYPES
    )
    assert {
        "Parameters",
        "Bundle",
        "Binary",
        "SubstanceNucleicAcid",
        "EffectEvidenceSynthesis",
    } <= (RESOURCE_TYPES)
    # Abstract types, STU3-only and R5-only names are not R4 resource types.
    for name in ("Resource", "DomainResource", "ReferralRequest", "ProcedureRequest"):
        assert name not in RESOURCE_TYPES
    for name in ("SubscriptionTopic", "Permission", "Transport", "ArtifactAssessment"):
        assert name not in RESOURCE_TYPES


def test_tables_name_only_r4_types_and_cover_the_clinical_ones() -> None:
    for table in (COMPARTMENT_PATHS, DATE_PATHS, CODE_PATHS, STATUS_PATHS):
        assert set(table) <= RESOURCE_TYPES
    assert len(COMPARTMENT_PATHS) >= 40
    assert COMPARTMENT_PATHS["Observation"] == ("subject", "performer")
    assert COMPARTMENT_PATHS["Claim"] == ("patient", "payee.party")
    assert COMPARTMENT_PATHS["ExplanationOfBenefit"] == ("patient", "payee.party")
    assert COMPARTMENT_PATHS["Procedure"] == ("subject", "performer.actor")
    assert COMPARTMENT_PATHS["MedicationAdministration"] == ("subject", "performer.actor")
    # Never in the patient compartment in R4.
    for rtype in ("Organization", "Practitioner", "Location", "Medication", "Group"):
        assert rtype not in COMPARTMENT_PATHS


# --- Synthea --------------------------------------------------------------------------------


def test_every_synthea_resource_passes_the_shape_check(
    synthea: list[tuple[str, dict[str, Any]]],
) -> None:
    for _patient, resource in synthea:
        validate_shape(resource)


def test_synthea_observations_get_patient_date_and_loinc_code(
    synthea: list[tuple[str, dict[str, Any]]],
) -> None:
    for patient, resource in of_type(synthea, "Observation"):
        found = index(resource)
        assert found.patient == patient
        assert found.patient_ref == f"urn:uuid:{patient}"
        moment = at(resource["effectiveDateTime"])
        assert (found.date_start, found.date_end) == (moment, moment)
        assert found.code_system == LOINC
        assert found.code == resource["code"]["coding"][0]["code"]
        assert found.status == resource["status"]
        assert ("code", LOINC, found.code) in found.tokens
        category = resource["category"][0]["coding"][0]
        assert ("category", category["system"], category["code"]) in found.tokens
        assert ("encounter", resource["encounter"]["reference"]) in found.references


def test_synthea_immunizations_get_a_cvx_vaccine_code(
    synthea: list[tuple[str, dict[str, Any]]],
) -> None:
    for patient, resource in of_type(synthea, "Immunization"):
        found = index(resource)
        assert found.patient == patient
        assert found.code_system == CVX
        assert found.code
        assert ("vaccine-code", CVX, found.code) in found.tokens
        assert found.date_start == at(resource["occurrenceDateTime"])
        assert found.status == "completed"


def test_synthea_claims_and_benefits_belong_to_the_patient_over_the_billable_period(
    synthea: list[tuple[str, dict[str, Any]]],
) -> None:
    for rtype in ("Claim", "ExplanationOfBenefit"):
        for patient, resource in of_type(synthea, rtype):
            found = index(resource)
            assert found.patient == patient
            period = resource["billablePeriod"]
            assert found.date_start == at(period["start"])
            assert found.date_end == at(period["end"])
            assert found.code_system == "http://terminology.hl7.org/CodeSystem/claim-type"
            assert ("type", found.code_system, found.code) in found.tokens
            assert ("patient", f"urn:uuid:{patient}") in found.references
            encounters = [ref for path, ref in found.references if path == "item.encounter"]
            assert encounters
            assert all(ref.startswith("urn:uuid:") for ref in encounters)


def test_synthea_benefits_keep_contained_references_but_not_local_ones(
    synthea: list[tuple[str, dict[str, Any]]],
) -> None:
    for patient, resource in of_type(synthea, "ExplanationOfBenefit"):
        found = index(resource)
        assert ("contained.subject", f"urn:uuid:{patient}") in found.references
        assert ("contained.beneficiary", f"urn:uuid:{patient}") in found.references
        assert not [ref for _path, ref in found.references if ref.startswith("#")]
        identifiers = [t for t in found.tokens if t[0] == "identifier"]
        assert len(identifiers) == len(resource["identifier"])


def test_synthea_procedures_reports_and_imaging(
    synthea: list[tuple[str, dict[str, Any]]],
) -> None:
    for patient, resource in of_type(synthea, "Procedure"):
        found = index(resource)
        assert found.patient == patient
        assert found.code_system == SNOMED
        assert found.date_start == at(resource["performedPeriod"]["start"])
        assert found.date_end == at(resource["performedPeriod"]["end"])
    for patient, resource in of_type(synthea, "DiagnosticReport"):
        found = index(resource)
        assert (found.patient, found.code_system) == (patient, LOINC)
        results = [ref for path, ref in found.references if path == "result"]
        assert len(results) == len(resource["result"])
    for patient, resource in of_type(synthea, "ImagingStudy"):
        found = index(resource)
        assert found.patient == patient
        assert found.date_start == at(resource["started"])
        assert found.code_system == "http://dicom.nema.org/resources/ontology/DCM"
        assert ("modality", found.code_system, found.code) in found.tokens


def test_synthea_directory_records_belong_to_no_patient(
    synthea: list[tuple[str, dict[str, Any]]],
) -> None:
    for rtype in ("Organization", "Practitioner"):
        for _patient, resource in of_type(synthea, rtype):
            assert index(resource).patient is None


# --- dates ----------------------------------------------------------------------------------


def observation(**elements: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "8867-4"}]},
        "subject": {"reference": "Patient/p1"},
        **elements,
    }


@pytest.mark.parametrize(
    ("value", "start", "end"),
    [
        ("2024-03-01", "2024-03-01T00:00:00+00:00", "2024-03-02T00:00:00+00:00"),
        ("2024-02", "2024-02-01T00:00:00+00:00", "2024-03-01T00:00:00+00:00"),
        ("2024-12", "2024-12-01T00:00:00+00:00", "2025-01-01T00:00:00+00:00"),
        ("2024", "2024-01-01T00:00:00+00:00", "2025-01-01T00:00:00+00:00"),
        ("2024-02-29", "2024-02-29T00:00:00+00:00", "2024-03-01T00:00:00+00:00"),
        ("2024-03-01T10:30:00-05:00", "2024-03-01T15:30:00+00:00", "2024-03-01T15:30:00+00:00"),
        ("2024-03-01T23:59:60Z", "2024-03-01T23:59:59+00:00", "2024-03-01T23:59:59+00:00"),
    ],
)
def test_a_date_time_is_an_instant_range(value: str, start: str, end: str) -> None:
    found = index(observation(effectiveDateTime=value))
    assert (found.date_start, found.date_end) == (at(start), at(end))
    assert found.date_start is not None
    assert found.date_start.tzinfo is UTC


def test_an_instant_keeps_its_fraction_of_a_second() -> None:
    found = index(observation(effectiveInstant="2024-03-01T10:30:00.123456789+01:00"))
    assert found.date_start == datetime(2024, 3, 1, 9, 30, 0, 123456, tzinfo=UTC)


def test_a_period_runs_from_its_start_to_the_end_of_its_end() -> None:
    found = index(observation(effectivePeriod={"start": "2024-03-01", "end": "2024-03-05"}))
    assert found.date_start == at("2024-03-01T00:00:00+00:00")
    assert found.date_end == at("2024-03-06T00:00:00+00:00")  # through all of 5 March
    open_ended = index(observation(effectivePeriod={"start": "2024-03-01T08:00:00Z"}))
    assert (open_ended.date_start, open_ended.date_end) == (at("2024-03-01T08:00:00+00:00"), None)
    only_end = index(observation(effectivePeriod={"end": "2024"}))
    assert (only_end.date_start, only_end.date_end) == (None, at("2025-01-01T00:00:00+00:00"))


def test_issued_stands_in_when_there_is_no_effective_time() -> None:
    found = index(observation(issued="2024-03-01T10:00:00.5Z"))
    assert found.date_start == datetime(2024, 3, 1, 10, 0, 0, 500000, tzinfo=UTC)


def test_a_choice_without_an_instant_falls_through_to_the_next_path() -> None:
    condition = {
        "resourceType": "Condition",
        "subject": {"reference": "Patient/p1"},
        "onsetAge": {"value": 52, "unit": "a"},
        "recordedDate": "2019-06-01",
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "code": {"coding": [{"system": SNOMED, "code": "44054006"}]},
    }
    found = index(condition)
    assert found.date_start == at("2019-06-01T00:00:00+00:00")
    assert found.status == "active"
    assert (found.code_system, found.code) == (SNOMED, "44054006")


def test_nested_choice_paths_are_read() -> None:
    specimen = {
        "resourceType": "Specimen",
        "subject": {"reference": "Patient/p9"},
        "collection": {"collectedDateTime": "2023-11-05"},
        "type": {"coding": [{"system": SNOMED, "code": "119297000"}]},
    }
    found = index(specimen)
    assert found.patient == "p9"
    assert found.date_start == at("2023-11-05T00:00:00+00:00")
    assert ("type", SNOMED, "119297000") in found.tokens


@pytest.mark.parametrize(
    "value",
    ["2024-13-01", "2024-02-30", "2024-03-01T10:00", "2024-03-01T10:00:00", "24-03-01", "0000"],
)
def test_a_bad_date_is_refused_with_its_path(value: str) -> None:
    with pytest.raises(FhirError) as caught:
        index(observation(effectiveDateTime=value))
    assert caught.value.status == 400
    assert caught.value.expression == ["Observation.effectiveDateTime"]
    assert repr(value) in caught.value.diagnostics


# --- patient, codes, tokens, references -----------------------------------------------------


def test_the_patient_comes_from_a_versioned_reference() -> None:
    found = index(observation(subject={"reference": "Patient/p1/_history/3"}))
    assert (found.patient, found.patient_ref) == ("p1", "Patient/p1/_history/3")


def test_a_performer_counts_only_when_it_says_it_is_a_patient() -> None:
    practitioner = "urn:uuid:0b5e1b0c-2f27-4b3a-9d7e-4a3f0a4c6e11"
    patient = "urn:uuid:5c7d8e9f-1a2b-4c3d-8e4f-5a6b7c8d9e0f"
    without_subject = observation(subject=None, performer=[{"reference": practitioner}])
    assert index(without_subject).patient is None
    typed = observation(
        subject=None,
        performer=[{"reference": practitioner}, {"reference": patient, "type": "Patient"}],
    )
    assert index(typed).patient == "5c7d8e9f-1a2b-4c3d-8e4f-5a6b7c8d9e0f"
    by_path = observation(subject=None, performer=[{"reference": "Patient/p2"}])
    assert index(by_path).patient == "p2"


def test_a_subject_that_is_not_a_patient_gives_no_patient() -> None:
    assert index(observation(subject={"reference": "Group/g1"})).patient is None
    declared = {"reference": "urn:uuid:0b5e1b0c-2f27-4b3a-9d7e-4a3f0a4c6e11", "type": "Group"}
    assert index(observation(subject=declared)).patient is None
    # Another server's patient is not ours to attach the record to.
    remote = {"reference": "https://elsewhere.example/fhir/Patient/p1"}
    assert index(observation(subject=remote)).patient is None


def test_a_coverage_belongs_to_its_beneficiary() -> None:
    coverage = {
        "resourceType": "Coverage",
        "status": "active",
        "policyHolder": {"reference": "Patient/holder"},
        "beneficiary": {"reference": "Patient/child"},
        "payor": [{"reference": "Organization/o1"}],
        "period": {"start": "2024-01-01"},
    }
    found = index(coverage)
    assert found.patient == "child"
    assert found.date_start == at("2024-01-01T00:00:00+00:00")


def test_an_unlisted_type_falls_back_to_subject_then_patient() -> None:
    assert "Device" not in COMPARTMENT_PATHS
    device = {"resourceType": "Device", "patient": {"reference": "Patient/p7"}}
    assert index(device).patient == "p7"


def test_tokens_cover_every_coding_and_identifier_without_repeats() -> None:
    found = index(
        observation(
            code={
                "coding": [
                    {"system": LOINC, "code": "85354-9"},
                    {"system": SNOMED, "code": "75367002"},
                    {"system": LOINC, "code": "85354-9"},
                    {"display": "no code, no token"},
                ]
            },
            category=[{"coding": [{"code": "vital-signs"}]}],
            component=[{"code": {"coding": [{"system": LOINC, "code": "8480-6"}]}}],
            identifier=[{"system": "urn:ietf:rfc:3986", "value": "urn:oid:1.2.3"}, {"system": "x"}],
        )
    )
    assert (found.code_system, found.code) == (LOINC, "85354-9")
    assert found.tokens == (
        ("code", LOINC, "85354-9"),
        ("code", SNOMED, "75367002"),
        ("category", None, "vital-signs"),
        ("component-code", LOINC, "8480-6"),
        ("identifier", "urn:ietf:rfc:3986", "urn:oid:1.2.3"),
    )


def test_a_medication_reference_gives_no_code_but_a_codeable_concept_does() -> None:
    request = {
        "resourceType": "MedicationRequest",
        "status": "active",
        "subject": {"reference": "Patient/p1"},
        "authoredOn": "2024-05-02",
        "medicationReference": {"reference": "Medication/m1"},
    }
    assert index(request).code is None
    request["medicationCodeableConcept"] = {
        "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "197361"}]
    }
    assert index(request).code == "197361"


def test_references_are_found_everywhere_with_their_paths() -> None:
    claim = {
        "resourceType": "Claim",
        "id": "c1",
        "contained": [
            {"resourceType": "Coverage", "id": "cov", "beneficiary": {"reference": "Patient/p1"}}
        ],
        "patient": {"reference": "Patient/p1"},
        "insurance": [{"coverage": {"reference": "#cov"}}],
        "item": [
            {"encounter": [{"reference": "Encounter/e1"}, {"reference": "Encounter/e2"}]},
            {"encounter": [{"reference": "Encounter/e1"}]},
        ],
        "extension": [{"url": "http://x", "valueReference": {"reference": "Practitioner/d1"}}],
        "created": "2024-01-01",
    }
    assert index(claim).references == (
        ("contained.beneficiary", "Patient/p1"),
        ("patient", "Patient/p1"),
        ("item.encounter", "Encounter/e1"),
        ("item.encounter", "Encounter/e2"),
        ("extension.valueReference", "Practitioner/d1"),
    )


# --- shape ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reference",
    [
        "Patient/p1",
        "Patient/p1/_history/2",
        "https://other.example/fhir/Patient/p1",
        "urn:uuid:5c7d8e9f-1a2b-4c3d-8e4f-5a6b7c8d9e0f",
        "urn:oid:2.16.840.1.113883.4.1",
        "#contained-1",
        "Patient?identifier=http://hospital.example/mrn|12345",
    ],
)
def test_followable_references_pass(reference: str) -> None:
    validate_shape(observation(subject={"reference": reference}))


@pytest.mark.parametrize(
    ("reference", "words"),
    [
        ("Patinet/p1", "'Patinet', which is not a FHIR R4 resource type"),
        ("patient/p1", "not a reference we can follow"),
        ("Patient/p 1", "not a reference we can follow"),
        ("Patient/" + "x" * 65, "not a reference we can follow"),
        ("urn:uuid:not-a-uuid", "not a reference we can follow"),
        ("urn:oid:1.02", "not a reference we can follow"),
        ("", "not a reference we can follow"),
    ],
)
def test_a_bad_reference_is_named_by_its_path(reference: str, words: str) -> None:
    resource = observation(performer=[{"reference": "Practitioner/d1"}, {"reference": reference}])
    with pytest.raises(FhirError) as caught:
        validate_shape(resource)
    assert (caught.value.status, caught.value.code) == (400, "invalid")
    assert caught.value.expression == ["Observation.performer[1].reference"]
    assert caught.value.diagnostics.startswith("Observation.performer[1].reference: ")
    assert words in caught.value.diagnostics


def test_a_reference_must_be_a_string() -> None:
    with pytest.raises(FhirError) as caught:
        validate_shape(observation(subject={"reference": {"id": "p1"}}))
    assert caught.value.code == "structure"
    assert caught.value.expression == ["Observation.subject.reference"]


@pytest.mark.parametrize(
    ("body", "code", "words"),
    [
        ([{"resourceType": "Patient"}], "structure", "must be a JSON object, not an array"),
        ("Patient", "structure", "must be a JSON object, not a string"),
        ({"id": "p1"}, "structure", "has no resourceType"),
        ({"resourceType": "Foo"}, "invalid", "resourceType 'Foo' is not a FHIR R4"),
        ({"resourceType": "observation"}, "invalid", "'observation' is not a FHIR R4"),
        ({"resourceType": "ReferralRequest"}, "invalid", "not a FHIR R4 resource type"),
        ({"resourceType": 7}, "invalid", "resourceType 7 is not"),
    ],
)
def test_a_body_that_is_not_a_known_resource_is_refused(body: Any, code: str, words: str) -> None:
    with pytest.raises(FhirError) as caught:
        validate_shape(body)
    assert (caught.value.status, caught.value.code) == (400, code)
    assert words in caught.value.diagnostics


@pytest.mark.parametrize("rid", ["a b", "x" * 65, "", "p/1", 12])
def test_a_bad_id_is_refused(rid: Any) -> None:
    with pytest.raises(FhirError) as caught:
        validate_shape(observation(id=rid))
    assert caught.value.expression == ["Observation.id"]
    assert "is not a valid id" in caught.value.diagnostics


def test_good_ids_pass() -> None:
    for rid in ("a", "x" * 64, "0b5e1b0c-2f27-4b3a-9d7e-4a3f0a4c6e11", "A.b-9"):
        validate_shape(observation(id=rid))


@pytest.mark.parametrize(
    "value", ["2024-03-01", "2024-03-01T10:00:00", "2024-02-30T10:00:00Z", "yesterday", 1709287200]
)
def test_last_updated_must_be_an_instant(value: Any) -> None:
    with pytest.raises(FhirError) as caught:
        validate_shape(observation(meta={"lastUpdated": value}))
    assert caught.value.expression == ["Observation.meta.lastUpdated"]


def test_a_good_last_updated_passes() -> None:
    validate_shape(observation(meta={"lastUpdated": "2024-03-01T10:00:00.123+02:00"}))
    validate_shape(observation(meta={"versionId": "1", "lastUpdated": "2024-03-01T10:00:00Z"}))


def test_contained_resources_are_checked_by_position() -> None:
    unknown = observation(contained=[{"resourceType": "Patient", "id": "a"}, {"id": "b"}])
    with pytest.raises(FhirError) as caught:
        validate_shape(unknown)
    assert caught.value.expression == ["Observation.contained[1].resourceType"]
    bad_id = observation(contained=[{"resourceType": "Patient", "id": "a b"}])
    with pytest.raises(FhirError) as caught:
        validate_shape(bad_id)
    assert caught.value.expression == ["Observation.contained[0].id"]
    nested = observation(
        contained=[{"resourceType": "Patient", "id": "a", "contained": [{"resourceType": "Flag"}]}]
    )
    with pytest.raises(FhirError) as caught:
        validate_shape(nested)
    assert "cannot contain resources" in caught.value.diagnostics
    bad_ref = observation(
        contained=[{"resourceType": "Coverage", "id": "c", "payor": [{"reference": "Payer/1"}]}]
    )
    with pytest.raises(FhirError) as caught:
        validate_shape(bad_ref)
    assert caught.value.expression == ["Observation.contained[0].payor[0].reference"]
