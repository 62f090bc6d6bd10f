"""Patient and RelatedPerson <-> FHIR R4 without a database: what is rendered (minimal, US
Core shaped), what comes back in, what is dropped with a warning naming its path, and what is
refused with a 422 naming the FHIR path."""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from typing import Any

import pytest

from carebridge.fhir.errors import FhirError
from carebridge.fhir.mappers.patients import (
    GENDER_IDENTITY_URL,
    INTERPRETER_URL,
    PATIENT_PROFILE,
    RACE_URL,
    patient_from_fhir,
    patient_to_fhir,
    patient_update_from_fhir,
    related_person_from_fhir,
    related_person_to_fhir,
    related_person_update_from_fhir,
)
from carebridge.patients.models import Identifier, Patient, RelatedPerson, Telecom
from carebridge.patients.service import MRN_SYSTEM

BASE_MRN = "https://clinic.example.org/sid/mrn"


def _empties(value: Any, path: str = "") -> list[str]:
    """Paths of empty strings, lists and objects (FHIR JSON forbids them)."""
    if value in ("", [], {}, None):
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _empties(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _empties(v, f"{path}[{i}]")]
    return []


def _patient(**extra: Any) -> Patient:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "mrn": "00012348",
        "status": "active",
        "family_name": "Garcia",
        "given_names": "Maria Elena",
        "preferred_name": "Malena",
        "birth_date": dt.date(1956, 3, 14),
        "sex": "female",
        "gender_identity": "non-binary",
        "language": "es",
        "interpreter_needed": True,
        "race": ["2106-3", "2054-5"],
        "ethnicity": "2135-2",
        "email": "maria@example.org",
        "address_line1": "1200 W Harrison St",
        "address_line2": "Apt 4",
        "city": "Chicago",
        "state": "IL",
        "postal_code": "60607",
        "country": "US",
    }
    values.update(extra)
    patient = Patient(**values)
    patient.telecoms = [
        Telecom(system="phone", use="mobile", value="+13129960142", rank=1, status="active"),
        Telecom(system="phone", use="home", value="+13124137000", rank=2, status="active"),
        Telecom(system="phone", use="home", value="+13125550000", rank=3, status="inactive"),
    ]
    patient.identifiers = [
        Identifier(
            type="SS", system="http://hl7.org/fhir/sid/us-ssn", value="999-1", status="active"
        ),
        Identifier(type="MB", system="urn:payer", value="M1", assigner="Prairie", status="active"),
        Identifier(type="MR", system=MRN_SYSTEM, value="00023457", status="active"),
    ]
    return patient


def test_patient_renders_every_mapped_field_minimally() -> None:
    patient = _patient()
    resource = patient_to_fhir(patient, base_mrn_system=BASE_MRN)

    assert _empties(resource) == []
    assert resource["id"] == str(patient.id)
    assert resource["meta"] == {"profile": [PATIENT_PROFILE]}  # versionId is the store's
    mrn, ssn, member, merged_mrn = resource["identifier"]
    assert (mrn["system"], mrn["value"], mrn["type"]["coding"][0]["code"]) == (
        BASE_MRN,
        "00012348",
        "MR",
    )
    assert ssn["type"]["coding"][0]["code"] == "SS"
    assert member["assigner"] == {"display": "Prairie"}
    assert merged_mrn["system"] == BASE_MRN  # a merged chart's MRN is ours too
    assert resource["active"] is True
    assert resource["name"] == [
        {"use": "official", "family": "Garcia", "given": ["Maria", "Elena"]},
        {"use": "usual", "given": ["Malena"]},
    ]
    assert [(t["system"], t["value"], t.get("rank")) for t in resource["telecom"]] == [
        ("phone", "+13129960142", 1),
        ("phone", "+13124137000", 2),
        ("email", "maria@example.org", None),
    ]
    assert resource["gender"] == "female"
    assert resource["birthDate"] == "1956-03-14"
    assert resource["address"] == [
        {
            "use": "home",
            "line": ["1200 W Harrison St", "Apt 4"],
            "city": "Chicago",
            "state": "IL",
            "postalCode": "60607",
            "country": "US",
        }
    ]
    assert resource["communication"][0]["language"]["coding"][0]["code"] == "es"
    extensions = {e["url"]: e for e in resource["extension"]}
    race = extensions[RACE_URL]["extension"]
    assert [p["valueCoding"]["code"] for p in race if p["url"] == "ombCategory"] == [
        "2106-3",
        "2054-5",
    ]
    assert race[-1] == {"url": "text", "valueString": "White, Black or African American"}
    identity = extensions[GENDER_IDENTITY_URL]["valueCodeableConcept"]["coding"][0]
    assert identity["code"] == "33791000087105"
    assert extensions[INTERPRETER_URL] == {"url": INTERPRETER_URL, "valueBoolean": True}
    assert "deceasedDateTime" not in resource
    assert "link" not in resource


def test_bare_deceased_and_merged_patients() -> None:
    bare = _patient(
        preferred_name=None,
        gender_identity=None,
        interpreter_needed=False,
        race=[],
        ethnicity=None,
        email=None,
        address_line1=None,
        address_line2=None,
        city=None,
        state=None,
        postal_code=None,
    )
    bare.telecoms, bare.identifiers = [], []
    resource = patient_to_fhir(bare)
    assert _empties(resource) == []
    assert "extension" not in resource
    assert "address" not in resource  # the default country alone is no address
    assert "telecom" not in resource
    assert resource["identifier"][0]["system"] == MRN_SYSTEM

    died = patient_to_fhir(_patient(status="deceased", deceased_date=dt.date(2024, 5, 1)))
    assert (died["active"], died["deceasedDateTime"]) == (True, "2024-05-01")

    survivor = uuid.uuid4()
    merged = patient_to_fhir(_patient(status="merged", merged_into_id=survivor))
    assert merged["active"] is False
    assert merged["link"] == [
        {"other": {"reference": f"Patient/{survivor}"}, "type": "replaced-by"}
    ]


def test_patient_round_trips_through_fhir() -> None:
    patient = _patient()
    create, warnings = patient_from_fhir(
        patient_to_fhir(patient, base_mrn_system=BASE_MRN), mrn_system=BASE_MRN
    )
    assert warnings == []
    assert create.mrn == "00012348"
    assert (create.family_name, create.given_names, create.preferred_name) == (
        "Garcia",
        "Maria Elena",
        "Malena",
    )
    assert (create.birth_date, create.sex.value, create.gender_identity) == (
        dt.date(1956, 3, 14),
        "female",
        "non-binary",
    )
    assert (create.race, create.ethnicity, create.language, create.interpreter_needed) == (
        ["2106-3", "2054-5"],
        "2135-2",
        "es",
        True,
    )
    assert [(p.number, p.use) for p in create.phones] == [
        ("+13129960142", "mobile"),
        ("+13124137000", "home"),
    ]
    assert create.email == "maria@example.org"
    assert (create.address_line1, create.address_line2, create.postal_code) == (
        "1200 W Harrison St",
        "Apt 4",
        "60607",
    )
    # The merged chart's MRN comes back as an identifier under our own system.
    assert [(i.type, i.value) for i in create.identifiers] == [
        ("SS", "999-1"),
        ("MB", "M1"),
        ("MR", "00023457"),
    ]


SYNTHEA_LIKE: dict[str, Any] = {
    "resourceType": "Patient",
    "id": "36b0075a-44ae-459c-92a6-d83e037fd064",
    "text": {"status": "generated", "div": "<div>Generated</div>"},
    "extension": [
        {
            "url": RACE_URL,
            "extension": [
                {
                    "url": "ombCategory",
                    "valueCoding": {"system": "urn:oid:2.16.840.1.113883.6.238", "code": "2106-3"},
                },
                {"url": "text", "valueString": "White"},
            ],
        },
        {
            "url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex",
            "valueCode": "F",
        },
    ],
    "identifier": [
        {"system": "https://github.com/synthetichealth/synthea", "value": "ee10"},
        {
            "type": {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}
                ]
            },
            "system": "http://hospital.smarthealthit.org",
            "value": "ee10",
        },
        {"system": "http://hl7.org/fhir/sid/us-ssn", "value": "999-16-5745"},
    ],
    "name": [
        {"use": "official", "family": "Carter", "given": ["María Luisa"], "prefix": ["Mrs."]},
        {"use": "maiden", "family": "Laureano", "given": ["María Luisa"]},
    ],
    "telecom": [
        {"system": "phone", "value": "555-843-1642", "use": "home"},
        {"system": "phone", "value": "(312) 996-0142", "use": "mobile"},
        {"system": "fax", "value": "312-996-0000"},
    ],
    "gender": "female",
    "birthDate": "1942-09-05",
    "deceasedDateTime": "2001-05-14T02:39:21+00:00",
    "address": [
        {"line": ["410 Ryan Vista"], "city": "Chicopee", "state": "Massachusetts", "country": "US"}
    ],
    "maritalStatus": {"text": "Never Married"},
    "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "en-US"}]}}],
}


def test_synthea_patient_is_read_with_a_warning_for_each_thing_not_kept() -> None:
    create, warnings = patient_from_fhir(SYNTHEA_LIKE)
    assert (create.family_name, create.given_names) == ("Carter", "María Luisa")
    assert create.language == "en"
    assert create.race == ["2106-3"]
    assert [(i.type, i.system) for i in create.identifiers] == [
        ("MR", "http://hospital.smarthealthit.org"),
        ("SS", "http://hl7.org/fhir/sid/us-ssn"),  # typed by its system
    ]
    assert [p.number for p in create.phones] == ["+13129960142"]
    paths = {w.split(":")[0] for w in warnings}
    assert paths == {
        "Patient.extension[1]",  # birth sex
        "Patient.identifier[0]",  # no type we keep
        "Patient.name[0].prefix",
        "Patient.name[1]",  # maiden name
        "Patient.telecom[0]",  # 555 is not a real area code
        "Patient.telecom[2]",  # fax
        "Patient.deceasedDateTime",  # registration starts alive
        "Patient.maritalStatus",
    }
    assert any("'555-843-1642' is not a valid phone number" in w for w in warnings)


def test_update_applies_status_death_and_clears_what_was_left_out() -> None:
    update, identifiers, _warnings = patient_update_from_fhir(SYNTHEA_LIKE, version=3)
    assert (update.version, update.status, update.deceased_date) == (
        3,
        "deceased",
        dt.date(2001, 5, 14),
    )
    assert update.email is None
    assert "email" in update.model_fields_set  # a PUT without an email clears it
    assert [i.value for i in identifiers] == ["ee10", "999-16-5745"]

    inactive = {**SYNTHEA_LIKE, "active": False}
    del inactive["deceasedDateTime"]
    assert patient_update_from_fhir(inactive, version=1)[0].status == "inactive"


@pytest.mark.parametrize(
    ("change", "status", "code", "expression"),
    [
        (lambda r: r.pop("birthDate"), 422, "required", "Patient.birthDate"),
        (lambda r: r.update(birthDate="1942"), 422, "value", "Patient.birthDate"),
        (lambda r: r.update(birthDate="1842-01-01"), 422, "value", "Patient.birthDate"),
        (lambda r: r.update(birthDate="1942-02-30"), 422, "value", "Patient.birthDate"),
        (lambda r: r["name"][0].pop("family"), 422, "required", "Patient.name[0].family"),
        (lambda r: r.pop("name"), 422, "required", "Patient.name.family Patient.name.given"),
        (lambda r: r.pop("gender"), 422, "required", "Patient.gender"),
        (lambda r: r.update(gender="F"), 422, "value", "Patient.gender"),
        (lambda r: r.update(name={"family": "X"}), 400, "structure", "Patient.name"),
        (lambda r: r.update(resourceType="Person"), 400, "invalid", "Patient.resourceType"),
        (
            lambda r: r.update(modifierExtension=[{"url": "urn:x", "valueBoolean": True}]),
            422,
            "not-supported",
            "Patient.modifierExtension",
        ),
    ],
)
def test_bad_patient_is_refused_naming_the_fhir_path(
    change: Any, status: int, code: str, expression: str
) -> None:
    resource = copy.deepcopy(SYNTHEA_LIKE)
    change(resource)
    with pytest.raises(FhirError) as refused:
        patient_from_fhir(resource)
    assert (refused.value.status, refused.value.code) == (status, code)
    assert refused.value.expression == expression.split()
    assert all(path in refused.value.diagnostics for path in expression.split())


def test_invalid_optional_values_are_dropped_with_their_path() -> None:
    resource = copy.deepcopy(SYNTHEA_LIKE)
    resource["address"][0]["postalCode"] = "SW1A 1AA"
    resource["telecom"].append({"system": "email", "value": "not an email"})
    resource["extension"][0]["extension"].insert(
        0, {"url": "ombCategory", "valueCoding": {"code": "2135-2"}}
    )
    create, warnings = patient_from_fhir(resource)
    assert (create.postal_code, create.email, create.race) == (None, None, ["2106-3"])
    assert any(w.startswith("Patient.address[0].postalCode: ") for w in warnings)
    assert any(w.startswith("Patient.telecom[3]: ") for w in warnings)
    assert any(w.startswith("Patient.extension[0].extension[0]: ") for w in warnings)


def _related(**extra: Any) -> RelatedPerson:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "patient_id": uuid.uuid4(),
        "name": "Rosa Garcia",
        "relationship_code": "DAU",
        "phone": "+13129960142",
        "email": "rosa@example.org",
        "address": "12 Main St, Chicago IL 60607",
        "emergency_contact": True,
        "caregiver": True,
        "personal_representative": True,
        "note": "Calls on Sundays",
        "status": "active",
    }
    values.update(extra)
    return RelatedPerson(**values)


def test_related_person_renders_and_round_trips() -> None:
    person = _related()
    resource = related_person_to_fhir(person)
    assert _empties(resource) == []
    assert resource["patient"] == {"reference": f"Patient/{person.patient_id}"}
    assert [c["coding"][0]["code"] for c in resource["relationship"]] == [
        "DAU",
        "C",
        "CAREGIVER",
        "personal-representative",
    ]
    assert resource["name"] == [{"text": "Rosa Garcia"}]

    create, warnings = related_person_from_fhir(resource)
    assert warnings == []
    assert create.model_dump() == {
        "name": "Rosa Garcia",
        "relationship": "DAU",
        "phone": "+13129960142",
        "email": "rosa@example.org",
        "address": "12 Main St, Chicago IL 60607",
        "emergency_contact": True,
        "caregiver": True,
        "personal_representative": True,
        "note": None,  # R4 RelatedPerson has no note
    }

    inactive = related_person_to_fhir(_related(status="inactive", phone=None, caregiver=False))
    assert inactive["active"] is False
    update, _ = related_person_update_from_fhir(inactive, version=2)
    assert (update.status, update.phone, update.caregiver) == ("inactive", None, False)


def test_related_person_from_outside() -> None:
    caregiver = {
        "resourceType": "RelatedPerson",
        "patient": {"reference": "urn:uuid:1"},
        "relationship": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-RoleClass",
                        "code": "CAREGIVER",
                    }
                ]
            },
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0131", "code": "N"}]},
        ],
        "name": [{"given": ["Sam"], "family": "Lee"}],
        "telecom": [{"system": "phone", "value": "555-123-4567"}],
        "address": [{"line": ["1 Elm St"], "city": "Boston", "state": "MA", "postalCode": "02110"}],
        "gender": "male",
    }
    create, warnings = related_person_from_fhir(caregiver)
    assert (create.name, create.relationship, create.caregiver) == ("Sam Lee", "CAREGIVER", True)
    assert create.address == "1 Elm St, Boston, MA 02110"
    assert create.phone is None
    assert {w.split(":")[0] for w in warnings} == {
        "RelatedPerson.relationship[1]",  # next of kin has no field
        "RelatedPerson.telecom[0]",
        "RelatedPerson.gender",
    }

    nobody = {"resourceType": "RelatedPerson", "name": [{"text": "X"}]}
    with pytest.raises(FhirError) as refused:
        related_person_from_fhir(nobody)
    assert (refused.value.code, refused.value.expression) == (
        "required",
        ["RelatedPerson.relationship"],
    )
