"""The FHIR resource store on a real database: versions that change only when the content
does, If-Match conflicts, history and vread, deletion kept in history, sender ids."""

from __future__ import annotations

import datetime as dt
import uuid

import orjson
import pytest
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import unit_of_work
from carebridge.fhir import store
from carebridge.fhir.errors import FhirError
from carebridge.fhir.outcome import operation_outcome, outcome_response

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def immunization(resource_id: str, status: str = "completed") -> dict[str, object]:
    return {
        "resourceType": "Immunization",
        "id": resource_id,
        "status": status,
        "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "140"}]},
        "patient": {"reference": "Patient/example"},
        "occurrenceDateTime": "2025-10-01",
    }


def test_versions_change_only_with_the_content(factory: sessionmaker[Session]) -> None:
    rid = uuid.uuid4().hex
    with unit_of_work(factory) as db:
        first, created = store.put(db, immunization(rid), origin="received", now=T0)
    assert created
    assert (first.version_id, first.etag) == (1, 'W/"1"')
    served = orjson.loads(first.content)
    assert served["meta"] == {"versionId": "1", "lastUpdated": "2026-03-01T12:00:00.000Z"}
    with unit_of_work(factory) as db:
        again, changed = store.put(
            db, {**immunization(rid), "meta": {"versionId": "7"}}, origin="received"
        )
    assert not changed
    assert again.version_id == 1
    with unit_of_work(factory) as db:
        second, changed = store.put(
            db,
            immunization(rid, "entered-in-error"),
            origin="received",
            if_match=1,
            now=T0 + dt.timedelta(hours=1),
        )
    assert changed
    assert second.version_id == 2
    with unit_of_work(factory, write=False) as db:
        current = store.read(db, "Immunization", rid)
        assert current is not None
        assert orjson.loads(current.content)["status"] == "entered-in-error"
        assert [v.version_id for v in store.history(db, "Immunization", rid)] == [2, 1]
        old = store.version(db, "Immunization", rid, 1)
        assert old is not None
        assert orjson.loads(old.content)["status"] == "completed"
        assert store.version(db, "Immunization", rid, 3) is None
        assert store.read(db, "Immunization", "no-such-id") is None


def test_a_stale_if_match_is_refused_and_nothing_changes(factory: sessionmaker[Session]) -> None:
    rid = uuid.uuid4().hex
    with unit_of_work(factory) as db:
        store.put(db, immunization(rid), origin="received")
        store.put(db, immunization(rid, "not-done"), origin="received")
    with pytest.raises(FhirError) as refused, unit_of_work(factory) as db:
        store.put(db, immunization(rid, "completed"), origin="received", if_match=1)
    assert refused.value.status == 412
    assert "version 2, not 1" in refused.value.diagnostics
    with unit_of_work(factory, write=False) as db:
        current = store.read(db, "Immunization", rid)
        assert current is not None
        assert current.version_id == 2
    with pytest.raises(FhirError) as missing, unit_of_work(factory) as db:
        store.put(db, immunization(uuid.uuid4().hex), origin="received", if_match=1)
    assert missing.value.status == 404


def test_deletion_is_a_version_and_a_later_write_revives(factory: sessionmaker[Session]) -> None:
    rid = uuid.uuid4().hex
    with unit_of_work(factory) as db:
        store.put(db, immunization(rid), origin="received")
        gone = store.delete(db, "Immunization", rid)
        assert gone is not None
        assert (gone.version_id, gone.deleted) == (2, True)
        again = store.delete(db, "Immunization", rid)
        assert again is not None
        assert again.version_id == 2
        assert store.delete(db, "Immunization", uuid.uuid4().hex) is None
    with unit_of_work(factory) as db:
        back, changed = store.put(db, immunization(rid), origin="received")
    assert changed
    assert (back.version_id, back.deleted) == (3, False)
    with unit_of_work(factory, write=False) as db:
        assert [v.deleted for v in store.history(db, "Immunization", rid)] == [False, True, False]


def test_a_senders_id_is_remembered_once(factory: sessionmaker[Session]) -> None:
    rid, source = uuid.uuid4().hex, str(uuid.uuid4())
    with unit_of_work(factory) as db:
        stored, _ = store.put(db, immunization(rid), origin="received")
        assert store.source_pk(db, "synthea", "Immunization", source) is None
        store.remember_source(db, "synthea", "Immunization", source, stored)
        store.remember_source(db, "synthea", "Immunization", source, stored)
    with unit_of_work(factory, write=False) as db:
        assert store.source_pk(db, "synthea", "Immunization", source) == stored.pk
        assert store.source_pk(db, "other", "Immunization", source) is None


def test_a_resource_without_type_or_id_is_refused(factory: sessionmaker[Session]) -> None:
    with pytest.raises(FhirError) as refused, unit_of_work(factory) as db:
        store.put(db, {"resourceType": "Immunization"}, origin="received")
    assert (refused.value.status, refused.value.code) == (400, "required")
    with pytest.raises(ValueError, match="origin"), unit_of_work(factory) as db:
        store.put(db, immunization("x"), origin="elsewhere")


def test_errors_become_operation_outcomes() -> None:
    error = FhirError(412, "conflict", "stale", expression=["Patient.meta"])
    assert operation_outcome(error) == {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": "conflict",
                "diagnostics": "stale",
                "expression": ["Patient.meta"],
            }
        ],
    }
    response = outcome_response(error)
    assert response.status_code == 412
    assert response.headers["content-type"] == "application/fhir+json; charset=utf-8"
    assert orjson.loads(bytes(response.body))["issue"][0]["code"] == "conflict"
