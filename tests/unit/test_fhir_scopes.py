"""SMART scopes read in both syntaxes, and what a grant allows."""

from __future__ import annotations

import uuid

import pytest

from carebridge.fhir.errors import FhirError
from carebridge.fhir.scopes import Grant, Scope, parse


def test_v1_and_v2_scopes() -> None:
    assert parse("patient/*.read openid fhirUser launch/patient") == (
        Scope("patient", "*", read=True, write=False),
    )
    assert parse("user/Observation.rs system/*.cruds user/Patient.write") == (
        Scope("user", "Observation", read=True, write=False),
        Scope("system", "*", read=True, write=True),
        Scope("user", "Patient", read=False, write=True),
    )
    assert parse("user/*.*") == (Scope("user", "*", read=True, write=True),)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("patient/*.fly", "not a SMART scope"),
        ("doctor/*.read", "not a SMART scope"),
        ("user/Nonsense.read", "not a FHIR R4 resource type"),
        ("user/Observation.", "not a SMART scope"),
    ],
)
def test_bad_scopes_are_named(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse(text)


def test_patient_scopes_reach_one_patient() -> None:
    mine, other = uuid.uuid4(), uuid.uuid4()
    grant = Grant(parse("patient/*.read user/Practitioner.read"), mine)
    assert grant.only_patient("Observation", "read") == mine
    assert grant.only_patient("Practitioner", "read") is None
    grant.check("Observation", "read", mine)
    with pytest.raises(FhirError, match="limited to one patient"):
        grant.check("Observation", "read", other)
    with pytest.raises(FhirError, match="do not allow write of Observation"):
        grant.check("Observation", "write", mine)
    unbound = Grant(parse("patient/*.read"), None)
    with pytest.raises(FhirError, match="no patient"):
        unbound.only_patient("Observation", "read")
    assert not grant.allows("Condition", "write")
    assert grant.allows("Condition", "read")
