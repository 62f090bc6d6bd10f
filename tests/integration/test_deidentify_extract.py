"""The de-identified extract over records built through the patient service."""

from __future__ import annotations

import datetime as dt
import random
import string
import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.analytics.deidentify import extract, shift_days, study_id
from carebridge.db.session import unit_of_work
from carebridge.lib.time import age_on
from carebridge.patients import service
from carebridge.patients.schemas import (
    ConditionCreate,
    IdentifierIn,
    MedicationCreate,
    PatientCreate,
    PhoneIn,
)
from carebridge.security.audit import Actor
from carebridge.security.models import AuditEvent

SECRET = b"integration-run-secret-000111"
OTHER = b"integration-other-secret-2222"
AS_OF = dt.date(2026, 6, 1)


def _name() -> str:
    return "Zz" + "".join(random.choices(string.ascii_lowercase, k=10))


def _patient(factory: sessionmaker[Session], birth: dt.date, postal: str) -> tuple[uuid.UUID, str]:
    family = _name()
    ssn = f"9{random.randint(10, 99)}-{random.randint(10, 99)}-{random.randint(1000, 9999)}"
    with unit_of_work(factory) as db:
        actor = Actor.system("test")
        p = service.register(
            db,
            actor,
            PatientCreate(
                family_name=family,
                given_names="Quentina",
                birth_date=birth,
                sex="female",
                email=f"{family.lower()}@example.org",
                address_line1="12 Elm Street",
                city="Berlin",
                state="NH",
                postal_code=postal,
                phones=[PhoneIn(number="+1 603 555 0142")],
                identifiers=[
                    IdentifierIn(type="SS", system="http://hl7.org/fhir/sid/us-ssn", value=ssn)
                ],
            ),
        )
        service.add_item(
            db,
            actor,
            p.id,
            "conditions",
            ConditionCreate(code="E11.9", onset_date=dt.date(2025, 1, 10)),
        )
        service.add_item(
            db,
            actor,
            p.id,
            "medications",
            MedicationCreate(
                name="metformin 500 MG Oral Tablet",
                rxnorm="860975",
                start_date=dt.date(2025, 2, 1),
                stop_date=dt.date(2025, 3, 3),
                status="stopped",
            ),
        )
        return p.id, p.mrn


def test_extract_is_deidentified_consistent_and_writes_nothing(
    factory: sessionmaker[Session],
) -> None:
    young, young_mrn = _patient(factory, dt.date(1960, 3, 15), "03601")
    old, old_mrn = _patient(factory, dt.date(1934, 12, 1), "78701-1234")
    with unit_of_work(factory, write=False) as db:
        before = db.scalar(select(func.count()).select_from(AuditEvent))
        rows = extract(db, [young, old, young], SECRET, as_of=AS_OF)
    with unit_of_work(factory, write=False) as db:
        again = extract(db, [old, young], SECRET, as_of=AS_OF)
        other = extract(db, [young, old], OTHER, as_of=AS_OF)

    assert len(rows) == 2  # the repeated id gives one row
    assert rows == again  # same run secret: same study ids, same shifted dates
    by_id = {r["study_id"]: r for r in rows}
    y, o = by_id[study_id(SECRET, young)], by_id[study_id(SECRET, old)]
    assert {r["study_id"] for r in other}.isdisjoint(by_id)

    text = repr(rows)
    for secret_value in (young_mrn, old_mrn, str(young), str(old), "Quentina", "Elm", "Berlin",
                         "+16035550142", "example.org", "us-ssn"):  # fmt: skip
        assert secret_value not in text

    assert y["zip3"] == "000"  # 036 is restricted
    assert o["zip3"] == "787"
    assert o["age"] == "90+"  # 2026 - 1934 - 1 = 91 on 1 June
    assert o["birth_date"] is None
    offset = dt.timedelta(days=shift_days(SECRET, young))
    assert y["birth_date"] == (dt.date(1960, 3, 15) + offset).isoformat()
    # Shifted dates: the age is the shifted birth date's, on the day of the extract.
    assert y["age"] == str(age_on(dt.date(1960, 3, 15) + offset, AS_OF)[0])
    cond, med = y["history"]
    assert (cond["kind"], cond["code"]) == ("condition", "E11.9")
    assert (med["kind"], med["code"], med["status"]) == ("medication", "860975", "stopped")
    assert cond["start"] == (dt.date(2025, 1, 10) + offset).isoformat()
    start, end = dt.date.fromisoformat(med["start"]), dt.date.fromisoformat(med["end"])
    assert (end - start).days == 30  # 1 Feb -> 3 Mar 2025: 28 + 2 days
    assert (start - dt.date.fromisoformat(cond["start"])).days == 22  # 10 Jan -> 1 Feb

    with unit_of_work(factory, write=False) as db:
        years = extract(db, [young], SECRET, as_of=AS_OF, dates="year")
        after = db.scalar(select(func.count()).select_from(AuditEvent))
    assert years[0]["birth_date"] == 1960
    assert years[0]["age"] == "66"  # 2026 - 1960, birthday in March already past
    assert [(h["start"], h["end"]) for h in years[0]["history"]] == [(2025, None), (2025, 2025)]
    # The extract only reads: its caller records the export, once (see the extract screen).
    assert after == before
