"""FHIR search over HTTP on Patient and RelatedPerson: every parameter type the two use,
prefixes and modifiers, paging by next links, sorting, _include/_revinclude, chains,
_summary/_elements, POST _search, bad input as OperationOutcome, and each disclosure audited."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import unit_of_work
from carebridge.patients import service as patients
from carebridge.patients.schemas import IdentifierIn, PatientCreate, PhoneIn, RelatedPersonCreate
from carebridge.patients.service import MRN_SYSTEM
from carebridge.security.audit import Actor
from carebridge.security.models import AuditEvent
from carebridge.security.roles import Role
from tests.integration.test_fhir_read import bearer

SYSTEM = Actor.system("test")
PAYER = "urn:oid:2.16.840.1.113883.3.9999"


@pytest.fixture
def family() -> str:
    """A family name no other test uses (the database is shared within a worker)."""
    return "Zq" + uuid.uuid4().hex[:8]


def register(
    factory: sessionmaker[Session],
    family: str,
    given: str,
    born: dt.date,
    sex: str = "female",
    *,
    member: str | None = None,
    phone: str | None = None,
    contact: str | None = None,
) -> uuid.UUID:
    with unit_of_work(factory) as db:
        return patients.register(
            db,
            SYSTEM,
            PatientCreate(
                family_name=family,
                given_names=given,
                birth_date=born,
                sex=sex,
                identifiers=[IdentifierIn(type="MB", system=PAYER, value=member)] if member else [],
                phones=[PhoneIn(number=phone)] if phone else [],
                emergency_contacts=[RelatedPersonCreate(name=contact, relationship="SPS")]
                if contact
                else [],
                # Other tests register people born the same day with the same phone.
                duplicate_override_reason="test data",
            ),
        ).id


def search(client: TestClient, headers: dict[str, str], query: str) -> dict[str, Any]:
    answer = client.get(f"/fhir/R4/{query}", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/fhir+json")
    bundle: dict[str, Any] = answer.json()
    assert bundle["resourceType"] == "Bundle"
    assert bundle["type"] == "searchset"
    return bundle


def ids(bundle: dict[str, Any], mode: str = "match") -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == mode]


def refused(client: TestClient, headers: dict[str, str], query: str, status: int) -> str:
    answer = client.get(f"/fhir/R4/{query}", headers=headers)
    assert answer.status_code == status, answer.text
    outcome = answer.json()
    assert outcome["resourceType"] == "OperationOutcome"
    return str(outcome["issue"][0]["diagnostics"])


def test_strings_tokens_and_dates(
    client: TestClient, factory: sessionmaker[Session], family: str
) -> None:
    headers = bearer(factory)
    ana = register(
        factory, family, "Ana María", dt.date(1950, 3, 14), member="M-1", phone="3125550101"
    )
    jose = register(factory, f"{family}son", "José", dt.date(1962, 7, 1), "male")
    zoe = register(factory, family.upper() + "É", "Zoë", dt.date(1990, 12, 31))
    everyone = {str(ana), str(jose), str(zoe)}

    # Strings start with the value, ignoring case and accents; :exact and :contains.
    assert set(ids(search(client, headers, f"Patient?family={family}"))) == everyone
    assert ids(search(client, headers, f"Patient?family:exact={family}")) == [str(ana)]
    assert ids(search(client, headers, f"Patient?given=jose&family={family}")) == [str(jose)]
    assert ids(search(client, headers, f"Patient?name=zoe&name={family}")) == [str(zoe)]
    assert ids(search(client, headers, f"Patient?family:contains={family[3:]}son")) == [str(jose)]
    assert ids(search(client, headers, f"Patient?family={family}e")) == [str(zoe)]

    # Tokens: system|code, code alone, :not, several values ORed.
    assert ids(search(client, headers, f"Patient?identifier={PAYER}|M-1")) == [str(ana)]
    assert ids(search(client, headers, "Patient?identifier=http://elsewhere|M-1")) == []
    assert ids(search(client, headers, f"Patient?family={family}&gender=male")) == [str(jose)]
    assert set(ids(search(client, headers, f"Patient?family={family}&gender:not=male"))) == {
        str(ana),
        str(zoe),
    }
    assert ids(search(client, headers, f"Patient?family={family}&phone=3125550101")) == [str(ana)]
    assert ids(search(client, headers, f"Patient?family={family}&email=3125550101")) == []
    assert set(ids(search(client, headers, f"Patient?_id={ana},{zoe}"))) == {str(ana), str(zoe)}
    chart = search(client, headers, f"Patient?_id={ana}")["entry"][0]["resource"]
    mrn = next(i["value"] for i in chart["identifier"] if i["system"] == MRN_SYSTEM)
    assert ids(search(client, headers, f"Patient?identifier={MRN_SYSTEM}|{mrn}")) == [str(ana)]

    # Dates as ranges: a year holds its days; prefixes compare ranges.
    born = f"Patient?family={family}&birthdate="
    assert ids(search(client, headers, born + "1950")) == [str(ana)]
    assert ids(search(client, headers, born + "1950-03-14")) == [str(ana)]
    assert ids(search(client, headers, born + "1950-03-15")) == []
    assert set(ids(search(client, headers, born + "ge1962-07-01"))) == {str(jose), str(zoe)}
    assert set(ids(search(client, headers, born + "lt1962-07-01"))) == {str(ana)}
    assert set(ids(search(client, headers, born + "le1962"))) == {str(ana), str(jose)}
    assert ids(search(client, headers, born + "gt1962&birthdate=lt2000")) == [str(zoe)]
    assert set(ids(search(client, headers, born + "ne1962"))) == {str(ana), str(zoe)}
    assert ids(search(client, headers, born + "sa1962-12")) == [str(zoe)]
    assert ids(search(client, headers, born + "eb1950-04")) == [str(ana)]
    updated = search(client, headers, f"Patient?family={family}&_lastUpdated=gt2000-01-01")
    assert set(ids(updated)) == everyone


def test_paging_sorting_and_counting(
    client: TestClient, factory: sessionmaker[Session], family: str
) -> None:
    headers = bearer(factory)
    born = [dt.date(1940 + 7 * n, 1 + n, 1 + n) for n in range(7)]
    made = [register(factory, family, f"Given{n}", day) for n, day in enumerate(born)]

    # Following next links visits every match once; the links are absolute and self-contained.
    seen: list[str] = []
    bundle = search(client, headers, f"Patient?family={family}&_count=3")
    assert "total" not in bundle
    while True:
        seen += ids(bundle)
        following = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
        if not following:
            break
        parts = urlsplit(following[0])
        assert parts.path == "/fhir/R4/Patient"
        bundle = search(client, headers, f"Patient?{parts.query}")
    assert sorted(seen) == sorted(str(m) for m in made)
    assert len(seen) == len(set(seen))

    # Sorted pages keep the order across pages.
    ordered: list[str] = []
    bundle = search(client, headers, f"Patient?family={family}&_sort=-birthdate&_count=2")
    while True:
        ordered += ids(bundle)
        following = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
        if not following:
            break
        bundle = search(client, headers, f"Patient?{urlsplit(following[0]).query}")
    assert ordered == [str(m) for m in reversed(made)]
    by_given = search(client, headers, f"Patient?family={family}&_sort=given&_count=100")
    assert ids(by_given) == [str(m) for m in made]

    counted = search(client, headers, f"Patient?family={family}&_summary=count")
    assert counted["total"] == 7
    assert "entry" not in counted
    assert (
        search(client, headers, f"Patient?family={family}&_count=2&_total=accurate")["total"] == 7
    )
    assert search(client, headers, f"Patient?family={family}&_count=100")["total"] == 7


def test_related_persons_includes_and_chains(
    client: TestClient, factory: sessionmaker[Session], family: str
) -> None:
    headers = bearer(factory)
    ana = register(factory, family, "Ana", dt.date(1950, 3, 14), contact="Luis Ortega")
    register(factory, family, "Bea", dt.date(1951, 4, 15))
    with unit_of_work(factory, write=False) as db:
        (spouse,) = [str(p.id) for p in patients.related_persons(db, SYSTEM, ana)]

    assert ids(search(client, headers, f"RelatedPerson?patient=Patient/{ana}")) == [spouse]
    assert ids(search(client, headers, f"RelatedPerson?patient={ana}&name=ortega")) == [spouse]
    assert ids(search(client, headers, f"RelatedPerson?patient.family={family}")) == [spouse]
    assert ids(
        search(client, headers, f"RelatedPerson?patient:Patient.given=ana&patient.family={family}")
    ) == [spouse]

    with_people = search(
        client, headers, f"Patient?family={family}&given=ana&_revinclude=RelatedPerson:patient"
    )
    assert ids(with_people) == [str(ana)]
    assert ids(with_people, "include") == [spouse]
    with_patient = search(
        client, headers, f"RelatedPerson?_id={spouse}&_include=RelatedPerson:patient"
    )
    assert ids(with_patient, "include") == [str(ana)]

    diagnostics = refused(client, headers, "Patient?_include=Patient:gender", 400)
    assert "not a reference parameter" in diagnostics


def test_summary_elements_and_post(
    client: TestClient, factory: sessionmaker[Session], family: str
) -> None:
    headers = bearer(factory)
    ana = register(factory, family, "Ana", dt.date(1950, 3, 14), phone="3125550101")
    subsetted = {
        "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
        "code": "SUBSETTED",
        "display": "Resource encoded in summary mode",
    }
    cut = search(client, headers, f"Patient?_id={ana}&_elements=name,birthDate")["entry"][0][
        "resource"
    ]
    assert set(cut) == {"resourceType", "id", "meta", "name", "birthDate"}
    assert subsetted in cut["meta"]["tag"]
    summary = search(client, headers, f"Patient?_id={ana}&_summary=true")["entry"][0]["resource"]
    assert "telecom" in summary
    assert "extension" not in summary
    assert subsetted in summary["meta"]["tag"]

    posted = client.post(
        "/fhir/R4/Patient/_search",
        content=f"family={family}&birthdate=1950",
        headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert posted.status_code == 200, posted.text
    assert ids(posted.json()) == [str(ana)]
    wrong = client.post(
        "/fhir/R4/Patient/_search",
        content='{"family": "x"}',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert wrong.status_code == 415
    assert wrong.json()["resourceType"] == "OperationOutcome"


def test_bad_searches_say_what_is_wrong(
    client: TestClient, factory: sessionmaker[Session], family: str
) -> None:
    headers = bearer(factory)
    register(factory, family, "Ana", dt.date(1950, 3, 14))
    lenient = search(client, headers, f"Patient?family={family}&shoe-size=42")
    assert len(ids(lenient)) == 1
    warning = next(e for e in lenient["entry"] if e["search"]["mode"] == "outcome")
    assert "shoe-size" in warning["resource"]["issue"][0]["diagnostics"]
    assert "shoe-size" not in next(k for k in lenient["link"] if k["relation"] == "self")["url"]

    strict = client.get(
        "/fhir/R4/Patient?shoe-size=42", headers={**headers, "Prefer": "handling=strict"}
    )
    assert strict.status_code == 400
    assert "shoe-size" in strict.json()["issue"][0]["diagnostics"]
    assert "birthdate" in refused(client, headers, "Patient?birthdate=last-tuesday", 400)
    assert "_cursor" in refused(client, headers, "Patient?_cursor=drop-table", 400)
    assert "_count" in refused(client, headers, "Patient?_count=-1", 400)
    assert "text" in refused(client, headers, "Patient?gender:text=female", 400)
    assert "cannot be sorted" in refused(client, headers, "Patient?_sort=link", 400)


def test_every_disclosure_is_audited_and_roles_apply(
    client: TestClient, factory: sessionmaker[Session], family: str
) -> None:
    headers = bearer(factory)
    ana = register(factory, family, "Ana", dt.date(1950, 3, 14))
    bea = register(factory, family, "Bea", dt.date(1951, 3, 14))
    search(client, headers, f"Patient?family={family}")
    with unit_of_work(factory, write=False) as db:
        audited = set(
            db.scalars(
                select(AuditEvent.patient_id).where(
                    AuditEvent.reason == "FHIR search Patient",
                    AuditEvent.patient_id.in_([ana, bea]),
                )
            )
        )
    assert audited == {ana, bea}
    anonymous = client.get(f"/fhir/R4/Patient?family={family}")
    assert anonymous.status_code == 401
    assert anonymous.json()["resourceType"] == "OperationOutcome"
    auditor = client.get(f"/fhir/R4/Patient?family={family}", headers=bearer(factory, Role.AUDITOR))
    assert auditor.status_code == 403
    assert auditor.json()["issue"][0]["code"] == "forbidden"
