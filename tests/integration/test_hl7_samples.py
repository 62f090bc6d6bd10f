"""Oracles: the 57 sample ADT messages (v2.3-2.8, time zones, repetitions, escapes) are each
applied or answered with a clear AE/AR, never an exception; where an independent converter
produced a FHIR bundle from the same message, the patient and the hospital stay we store agree
with it (names, birth date, sex, identifiers; class, period as instants, location).

Each sample runs in its own transaction, rolled back afterwards: the samples reuse control ids
and patients, and each must be judged on its own."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from carebridge.lib.time import as_utc
from carebridge.patients.models import Patient
from carebridge.settings import Settings
from carebridge.transitions import inbox
from carebridge.transitions.models import Encounter, Hl7Message

# The samples live beside the checkout (../shared/data), as in CI.
DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
SAMPLES = DATA / "hl7v2"
EXPECTED = DATA / "hl7v2-expected-fhir"
needs_samples = pytest.mark.skipif(
    not SAMPLES.is_dir(), reason=f"HL7 samples not found in {SAMPLES} (../shared/data is absent)"
)
FILES = sorted(SAMPLES.glob("*.hl7")) if SAMPLES.is_dir() else []
WITH_EXPECTED = [f for f in FILES if (EXPECTED / f"{f.stem}-expected.json").is_file()]


def read(path: Path) -> str:
    return path.read_bytes().decode("utf-8-sig")


def apply_alone(
    factory: sessionmaker[Session], settings: Settings, raw: str
) -> tuple[Session, inbox.Outcome]:
    db = factory()
    return db, inbox.receive(db, raw, source="file", peer="sample", settings=settings)


def resources(path: Path, kind: str) -> list[dict[str, Any]]:
    bundle = json.loads(path.read_text(encoding="utf-8"))
    return [e["resource"] for e in bundle["entry"] if e["resource"].get("resourceType") == kind]


def instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC)


@needs_samples
def test_there_are_57_samples() -> None:
    assert len(FILES) == 57
    assert len(WITH_EXPECTED) == 13


@needs_samples
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_sample_is_applied_or_clearly_refused(
    factory: sessionmaker[Session], settings: Settings, path: Path
) -> None:
    db, outcome = apply_alone(factory, settings, read(path))
    try:
        assert outcome.code in ("AA", "AE", "AR")
        assert outcome.ack.startswith("MSH|^~\\&|")
        assert f"\rMSA|{outcome.code}|" in outcome.ack
        stored = db.get(Hl7Message, outcome.message_id)
        assert stored is not None
        assert stored.raw == read(path)
        if outcome.code == "AA":
            assert outcome.status in ("applied", "duplicate")
        else:
            assert outcome.status == "rejected"
            assert outcome.error
            assert stored.error == outcome.error
            assert "\rERR|" in outcome.ack
    finally:
        db.rollback()
        db.close()


@needs_samples
@pytest.mark.parametrize("path", WITH_EXPECTED, ids=lambda p: p.stem)
def test_the_stored_patient_and_stay_agree_with_the_fhir_oracle(
    factory: sessionmaker[Session], settings: Settings, path: Path
) -> None:
    expected = EXPECTED / f"{path.stem}-expected.json"
    (fhir_patient,) = resources(expected, "Patient")
    fhir_encounters = resources(expected, "Encounter")
    db, outcome = apply_alone(factory, settings, read(path))
    try:
        assert outcome.status == "applied", outcome.error
        message = db.get(Hl7Message, outcome.message_id)
        assert message is not None
        assert message.patient_id is not None
        patient = db.get(Patient, message.patient_id)
        assert patient is not None
        names = fhir_patient["name"]
        official = next((n for n in names if n.get("use") == "official"), names[0])
        assert patient.family_name == official["family"]
        assert patient.given_names.split()[0] == official["given"][0]
        assert patient.birth_date.isoformat() == fhir_patient["birthDate"]
        assert patient.sex == fhir_patient["gender"]
        theirs = {i["value"] for i in fhir_patient.get("identifier", [])}
        ours = {i.value for i in patient.identifiers}
        assert ours
        assert ours <= theirs
        if not fhir_encounters:
            return
        (fhir_encounter,) = fhir_encounters
        assert message.encounter_id is not None
        stay = db.get(Encounter, message.encounter_id)
        assert stay is not None
        assert stay.class_code == fhir_encounter["class"]["code"]
        period = fhir_encounter.get("period") or {}
        if "start" in period:
            assert stay.admit_at is not None
            assert as_utc(stay.admit_at) == instant(period["start"])
        if "end" in period and stay.status == "finished":
            assert stay.discharge_at is not None
            assert as_utc(stay.discharge_at) == instant(period["end"])
        if fhir_encounter.get("location"):
            assert stay.location
        if fhir_encounter.get("status") == "in-progress":
            assert stay.status == "in-progress"
    finally:
        db.rollback()
        db.close()
