"""Every Patient and RelatedPerson we render parses with fhirclient's strict R4 (4.0.1) models,
from charts registered through the real services with every field we map filled in; and every
shared Synthea Patient survives the trip in: read, registered, rendered again, still strictly
valid, with its name, birth date, gender, identifiers and death date unchanged."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import make_engine, make_sessionmaker, unit_of_work
from carebridge.fhir.mappers.patients import (
    patient_from_fhir,
    patient_to_fhir,
    patient_update_from_fhir,
    related_person_to_fhir,
)
from carebridge.patients import service
from carebridge.patients.codes import RACES
from carebridge.patients.models import Patient, RelatedPerson
from carebridge.patients.schemas import (
    IdentifierIn,
    PatientCreate,
    PatientUpdate,
    PhoneIn,
    RelatedPersonCreate,
)
from carebridge.security.audit import Actor
from tests.conftest import BACKENDS, fresh_database
from tests.oracles import support

SYNTHEA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "synthea"
ACTOR = Actor.system("fhir-oracle-test")
MRN_SYSTEM = "https://carebridge.example.org/fhir/sid/mrn"


@pytest.fixture(scope="module", params=BACKENDS)
def factory(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[sessionmaker[Session]]:
    """A database of its own: the Synthea identifiers are unique per system and value, so a
    database other modules also import Synthea into would refuse them."""
    for url in fresh_database(request.param, tmp_path_factory.mktemp(request.param)):
        engine = make_engine(url)
        yield make_sessionmaker(engine)
        engine.dispose()


def _assert_strictly_valid(resources: list[dict[str, Any]]) -> None:
    verdicts = support.fhir_strict_errors_batch(resources)
    refused = {
        f"{r['resourceType']}/{r['id']}": errors
        for r, errors in zip(resources, verdicts, strict=True)
        if errors
    }
    assert not refused, json.dumps(refused, indent=1)


def _rich_patient(tag: str, **extra: Any) -> PatientCreate:
    values: dict[str, Any] = {
        "family_name": f"Oracle-{tag}",
        "given_names": "Maria Elena",
        "preferred_name": "Malena",
        "birth_date": dt.date(1956, 3, 14),
        "sex": "female",
        "gender_identity": "non-binary",
        "pronouns": "they/them",
        "language": "es",
        "interpreter_needed": True,
        "race": ["2106-3", "2054-5"],
        "ethnicity": "2135-2",
        "email": f"maria.{tag}@example.org",
        "address_line1": "1200 W Harrison St",
        "address_line2": "Apt 4",
        "city": "Chicago",
        "state": "IL",
        "postal_code": "60607-1234",
        "preferred_contact_method": "sms",
        "alerts": "Hard of hearing",
        "phones": [
            PhoneIn(number="(312) 996-0142", use="mobile"),
            PhoneIn(number="(312) 413-7000", use="work"),
        ],
        "identifiers": [
            IdentifierIn(type="MB", system="urn:payer:prairie", value=f"PM{tag}", assigner="PM"),
            IdentifierIn(type="SS", system="http://hl7.org/fhir/sid/us-ssn", value=f"9{tag}"),
            IdentifierIn(type="DL", system="urn:oid:2.16.840.1.113883.4.3.17", value=f"D{tag}"),
            IdentifierIn(type="PPN", system="urn:passport:usa", value=f"P{tag}"),
            IdentifierIn(type="MR", system="urn:hospital:north", value=f"N{tag}"),
        ],
        "emergency_contacts": [
            RelatedPersonCreate(name="Luis Garcia", relationship="SON", phone="312-555-0199")
        ],
        "duplicate_override_reason": "oracle test data",
    }
    values.update(extra)
    return PatientCreate(**values)


def test_rendered_patients_and_related_persons_parse_strictly(
    factory: sessionmaker[Session],
) -> None:
    tags = [uuid.uuid4().hex[:8] for _ in range(4)]
    with unit_of_work(factory) as db:
        full = service.register(db, ACTOR, _rich_patient(tags[0]))
        bare = service.register(
            db,
            ACTOR,
            PatientCreate(
                family_name=f"Bare-{tags[1]}",
                given_names="Ann",
                birth_date=dt.date(2001, 1, 2),
                sex="unknown",
                duplicate_override_reason="oracle test data",
            ),
        )
        died = service.register(db, ACTOR, _rich_patient(tags[2], sex="male", race=["ASKU"]))
        service.update_patient(
            db,
            ACTOR,
            died.id,
            PatientUpdate(
                version=died.version, status="deceased", deceased_date=dt.date(2024, 5, 1)
            ),
        )
        # A changed phone list leaves the old number inactive; it must not be served.
        service.update_patient(
            db,
            ACTOR,
            full.id,
            PatientUpdate(
                version=db.get(Patient, full.id).version,  # type: ignore[union-attr]
                phones=[PhoneIn(number="(312) 996-0143", use="home")],
            ),
        )
        merged = service.register(
            db,
            ACTOR,
            _rich_patient(
                tags[3], ethnicity="UNK", phones=[PhoneIn(number="(773) 702-1234", use="home")]
            ),
        )
        service.merge(db, ACTOR, full.id, merged.id, "same person registered twice")
        for flags in (
            {"caregiver": True},
            {"personal_representative": True, "emergency_contact": True},
            {},
        ):
            service.add_related_person(
                db,
                ACTOR,
                full.id,
                RelatedPersonCreate(
                    name="Rosa Garcia",
                    relationship="DAU",
                    email="rosa@example.org",
                    address="12 Main St, Chicago IL 60607",
                    note="Calls on Sundays",
                    **flags,
                ),
            )
        service.add_related_person(
            db, ACTOR, bare.id, RelatedPersonCreate(name="Sam Lee", relationship="CAREGIVER")
        )

    with unit_of_work(factory, write=False) as db:
        ids = [full.id, bare.id, died.id, merged.id]
        patients = {p.id: p for p in db.scalars(select(Patient).where(Patient.id.in_(ids)))}
        rendered = [patient_to_fhir(patients[i], base_mrn_system=MRN_SYSTEM) for i in ids]
        people = db.scalars(
            select(RelatedPerson).where(RelatedPerson.patient_id.in_([full.id, bare.id]))
        ).all()
        related = [related_person_to_fhir(p) for p in people]

    _assert_strictly_valid(rendered + related)
    by_id = {r["id"]: r for r in rendered}
    survivor = by_id[str(full.id)]
    assert survivor["identifier"][0]["system"] == MRN_SYSTEM
    assert {i["value"] for i in survivor["identifier"]} >= {merged.mrn, full.mrn}
    # The old number stays unserved; the merged chart's number moved to the survivor.
    phones = {t["value"] for t in survivor["telecom"] if t["system"] == "phone"}
    assert phones == {"+13129960143", "+17737021234"}
    assert by_id[str(died.id)]["deceasedDateTime"] == "2024-05-01"
    assert by_id[str(merged.id)]["active"] is False
    assert by_id[str(merged.id)]["link"] == [
        {"other": {"reference": f"Patient/{full.id}"}, "type": "replaced-by"}
    ]
    assert "address" not in by_id[str(bare.id)]
    # Two emergency contacts (one moved by the merge), three family members, one caregiver.
    assert len(related) == 6


def _synthea_patients() -> list[dict[str, Any]]:
    found = []
    for path in sorted(SYNTHEA.glob("*.json")):
        bundle = json.loads(path.read_text())
        found += [
            e["resource"]
            for e in bundle.get("entry", [])
            if e["resource"]["resourceType"] == "Patient"
        ]
    return found


def _omb(resource: dict[str, Any], which: str) -> set[str]:
    """The OMB category codes of the us-core-race or us-core-ethnicity extension."""
    return {
        part["valueCoding"]["code"]
        for ext in resource.get("extension", [])
        if ext["url"].endswith(f"us-core-{which}")
        for part in ext["extension"]
        if part["url"] == "ombCategory"
    }


def _given(resource: dict[str, Any]) -> tuple[str, str]:
    (official,) = [n for n in resource["name"] if n.get("use") == "official"]
    return official["family"], " ".join(" ".join(official["given"]).split())


def test_every_synthea_patient_round_trips_and_stays_strictly_valid(
    factory: sessionmaker[Session],
) -> None:
    if not SYNTHEA.is_dir():
        pytest.skip(f"the shared Synthea data is not at {SYNTHEA}")
    sent = _synthea_patients()
    assert len(sent) == 55
    _assert_strictly_valid(sent)  # the oracle agrees the input is R4 to begin with
    ids = []
    with unit_of_work(factory) as db:
        for resource in sent:
            create, warnings = patient_from_fhir(resource)
            assert any("555-" in w for w in warnings), warnings  # their phones are fictional
            # Synthea repeats names and birth dates; these are different people.
            create = create.model_copy(update={"duplicate_override_reason": "Synthea import"})
            chart = service.register(db, ACTOR, create)
            if "deceasedDateTime" in resource:
                update, _identifiers, _ = patient_update_from_fhir(resource, version=chart.version)
                chart = service.update_patient(db, ACTOR, chart.id, update)
            ids.append(chart.id)
    with unit_of_work(factory, write=False) as db:
        rows = {p.id: p for p in db.scalars(select(Patient).where(Patient.id.in_(ids)))}
        back = [patient_to_fhir(rows[i], base_mrn_system=MRN_SYSTEM) for i in ids]

    _assert_strictly_valid(back)
    for original, rendered in zip(sent, back, strict=True):
        assert _given(rendered) == _given(original)
        assert rendered["birthDate"] == original["birthDate"]
        assert rendered["gender"] == original["gender"]
        kept = {(i["system"], i["value"]) for i in rendered["identifier"]}
        typed = {(i["system"], i["value"]) for i in original["identifier"] if "type" in i}
        assert typed <= kept, typed - kept
        if "deceasedDateTime" in original:
            assert rendered["deceasedDateTime"] == original["deceasedDateTime"][:10]
            assert rendered["active"] is True
        else:
            assert "deceasedDateTime" not in rendered
        assert _omb(rendered, "race") == _omb(original, "race") & set(RACES)
        assert _omb(rendered, "ethnicity") == _omb(original, "ethnicity")
