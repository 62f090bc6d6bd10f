"""Social needs screening through the JSON API and FHIR: the AHC HRSN instrument as data, a
positive screening (housing, safety at 11) recording open needs with a rescreen 6 months on,
a negative one due again in 12 months, a need addressed (closed today) and a stale change
refused, an incomplete screening refused naming the missing items with nothing stored, every
read and change audited, and each screening as a QuestionnaireResponse found by patient,
status, authored and questionnaire."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from dateutil.relativedelta import relativedelta
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import unit_of_work
from carebridge.social.models import Screening, SocialNeed
from tests.factories import clinic_today
from tests.integration import test_scheduling_api as scheduling
from tests.integration.test_fhir_search import ids, search
from tests.integration.test_patients_api import new_patient, unique_name
from tests.integration.test_scheduling_api import ok
from tests.integration.test_sign_in import audit_rows
from tests.unit.test_social_scoring import NEGATIVE

api = scheduling.api

POSITIVE: dict[str, Any] = {
    **NEGATIVE,
    "71802-3": "LA31994-9",  # worried about losing it: housing
    "95618-5": ["LA10082-8"],  # Sometimes 3
    "95617-7": ["LA10082-8"],  # Sometimes 3
    "95616-9": ["LA10066-1"],  # Rarely 2
    "95615-1": ["LA10082-8"],  # Sometimes 3: total 11, safety
}


def patient(api: TestClient) -> dict[str, Any]:
    body = new_patient(family_name=unique_name(), duplicate_override_reason="test data")
    result: dict[str, Any] = ok(api.post("/api/v1/patients", json=body), 201)
    return result


def screen(api: TestClient, who: dict[str, Any], answers: dict[str, Any], **extra: Any) -> Any:
    body = {"instrument": "ahc-hrsn", "respondent": "patient", "language": "es", **extra}
    return api.post(f"/api/v1/patients/{who['id']}/screenings", json={**body, "answers": answers})


def count(factory: sessionmaker[Session], model: Any, patient_id: str) -> int:
    with unit_of_work(factory) as db:
        found = db.scalar(
            select(func.count()).select_from(model).where(model.patient_id == uuid.UUID(patient_id))
        )
        return int(found or 0)


def test_instruments_are_data(api: TestClient) -> None:
    found = ok(api.get("/api/v1/screening-instruments"))
    ahc = next(i for i in found if i["code"] == "ahc-hrsn")
    assert ahc["loinc"] == "96777-8"
    assert [i["link_id"] for i in ahc["items"]] == [
        "71802-3",
        "96778-6",
        "88122-7",
        "88123-5",
        "93030-5",
        "96779-4",
        "95618-5",
        "95617-7",
        "95616-9",
        "95615-1",
    ]
    safety = next(d for d in ahc["domains"] if d["domain"] == "safety")
    assert (safety["rule"], safety["threshold"]) == ("total", 11)
    assert ok(api.get("/api/v1/screening-instruments/ahc-hrsn"))["code"] == "ahc-hrsn"
    assert api.get("/api/v1/screening-instruments/nope").status_code == 404


def test_positive_screening_records_needs(api: TestClient, factory: sessionmaker[Session]) -> None:
    who = patient(api)
    made = ok(screen(api, who, POSITIVE, mode="phone"), 201)
    today = clinic_today()
    assert made["positive"] is True
    assert made["positive_domains"] == ["housing", "safety"]
    safety = next(r for r in made["results"] if r["domain"] == "safety")
    assert safety["total"] == 11
    assert made["screened_on"] == today.isoformat()
    assert made["rescreen_due_on"] == (today + relativedelta(months=6)).isoformat()
    assert ok(api.get(f"/api/v1/screenings/{made['id']}"))["mode"] == "phone"
    due = ok(api.get(f"/api/v1/patients/{who['id']}/rescreen"))
    assert (due["due_on"], due["overdue"]) == (made["rescreen_due_on"], False)

    needs = ok(api.get(f"/api/v1/patients/{who['id']}/social-needs?status=open"))
    assert sorted(n["domain"] for n in needs) == ["housing", "safety"]
    assert all(n["identified_on"] == today.isoformat() for n in needs)
    housing = next(n for n in needs if n["domain"] == "housing")

    done = ok(
        api.patch(
            f"/api/v1/social-needs/{housing['id']}",
            json={"version": housing["version"], "status": "addressed"},
        )
    )
    assert (done["status"], done["closed_on"]) == ("addressed", today.isoformat())
    stale = api.patch(
        f"/api/v1/social-needs/{housing['id']}",
        json={"version": housing["version"], "status": "open"},
    )
    assert stale.status_code == 409

    # Screened again, still positive: housing is a new need; safety stays one open need.
    ok(screen(api, who, POSITIVE), 201)
    needs = ok(api.get(f"/api/v1/patients/{who['id']}/social-needs"))
    assert sorted((n["domain"], n["status"]) for n in needs) == [
        ("housing", "addressed"),
        ("housing", "open"),
        ("safety", "open"),
    ]
    assert len(ok(api.get(f"/api/v1/patients/{who['id']}/screenings"))) == 2
    changes = audit_rows(factory, patient_id=uuid.UUID(who["id"]), entity_type="SocialNeed")
    assert {row.action for row in changes} >= {"create", "update", "read"}


def test_negative_screening_due_in_twelve_months(api: TestClient) -> None:
    who = patient(api)
    made = ok(screen(api, who, NEGATIVE, respondent="caregiver"), 201)
    assert (made["positive"], made["positive_domains"]) == (False, [])
    expected = clinic_today() + relativedelta(months=12)
    assert made["rescreen_due_on"] == expected.isoformat()
    assert ok(api.get(f"/api/v1/patients/{who['id']}/social-needs")) == []


def test_incomplete_screening_is_refused_and_nothing_stored(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    who = patient(api)
    partial = {k: v for k, v in POSITIVE.items() if k not in ("88122-7", "95615-1")}
    answer = screen(api, who, partial)
    assert answer.status_code == 422
    problem = answer.json()
    assert "88122-7" in problem["detail"]
    assert "95615-1" in problem["detail"]
    assert "Nothing was saved" in problem["detail"]
    assert count(factory, Screening, who["id"]) == 0
    assert count(factory, SocialNeed, who["id"]) == 0

    wrong = screen(api, who, {**NEGATIVE, "96778-6": ["LA9-3", "LA28580-1"]})
    assert wrong.status_code == 422
    assert "None of the above" in wrong.text
    bad_language = screen(api, who, NEGATIVE, language="xx")
    assert bad_language.status_code == 422
    assert count(factory, Screening, who["id"]) == 0
    assert api.post(f"/api/v1/patients/{uuid.uuid4()}/screenings", json={}).status_code == 404


def test_questionnaire_response(api: TestClient) -> None:
    who = patient(api)
    made = ok(screen(api, who, POSITIVE), 201)
    headers = {"Authorization": api.headers["Authorization"]}
    read = api.get(f"/fhir/R4/QuestionnaireResponse/{made['id']}", headers=headers)
    assert read.status_code == 200, read.text
    resource = read.json()
    assert resource["questionnaire"] == "http://loinc.org/q/96777-8"
    assert resource["status"] == "completed"
    assert resource["subject"] == {"reference": f"Patient/{who['id']}"}
    items = {i["linkId"]: i for i in resource["item"]}
    assert items["71802-3"]["answer"] == [
        {
            "valueCoding": {
                "system": "http://loinc.org",
                "code": "LA31994-9",
                "display": "I have a place to live today, but I am worried about losing it in "
                "the future",
            }
        }
    ]
    assert items["95614-4"]["answer"] == [{"valueInteger": 11}]

    today = clinic_today()
    for query in (
        f"QuestionnaireResponse?patient={who['id']}",
        f"QuestionnaireResponse?subject=Patient/{who['id']}&status=completed",
        f"QuestionnaireResponse?patient={who['id']}&questionnaire=http://loinc.org/q/96777-8",
        f"QuestionnaireResponse?patient={who['id']}"
        f"&authored=ge{(today - dt.timedelta(days=2)).isoformat()}",
    ):
        assert ids(search(api, headers, query)) == [made["id"]], query
    for query in (
        f"QuestionnaireResponse?patient={who['id']}&status=entered-in-error",
        f"QuestionnaireResponse?patient={who['id']}"
        f"&authored=lt{(today - dt.timedelta(days=2)).isoformat()}",
    ):
        assert ids(search(api, headers, query)) == [], query


def test_need_changes_refused(api: TestClient, factory: sessionmaker[Session]) -> None:
    who = patient(api)
    made = ok(screen(api, who, POSITIVE), 201)
    need = ok(api.get(f"/api/v1/patients/{who['id']}/social-needs"))[0]
    wrong = api.patch(
        f"/api/v1/social-needs/{need['id']}", json={"version": need["version"], "status": "gone"}
    )
    assert wrong.status_code == 422
    missing = api.patch(f"/api/v1/social-needs/{uuid.uuid4()}", json={"version": 1})
    assert missing.status_code == 404
    assert ok(api.get(f"/api/v1/screenings/{made['id']}"))["id"] == made["id"]
    reads = audit_rows(factory, patient_id=uuid.UUID(who["id"]), entity_type="Screening")
    assert {row.action for row in reads} >= {"create", "read"}


def test_screening_entered_in_error(api: TestClient) -> None:
    who = patient(api)
    first = ok(screen(api, who, NEGATIVE), 201)
    wrong = ok(screen(api, who, POSITIVE), 201)
    path = f"/api/v1/screenings/{wrong['id']}/entered-in-error"
    assert api.post(path, json={"version": wrong["version"], "reason": ""}).status_code == 422
    stale = api.post(path, json={"version": wrong["version"] + 1, "reason": "Other patient"})
    assert stale.status_code == 409
    marked = ok(api.post(path, json={"version": wrong["version"], "reason": "Other patient"}))
    assert (marked["status"], marked["status_reason"]) == ("entered-in-error", "Other patient")
    again = api.post(path, json={"version": marked["version"], "reason": "Twice"})
    assert again.status_code == 409

    needs = ok(api.get(f"/api/v1/patients/{who['id']}/social-needs"))
    assert {n["status"] for n in needs} == {"entered-in-error"}
    assert all(n["closed_on"] == clinic_today().isoformat() for n in needs)
    frozen = api.patch(
        f"/api/v1/social-needs/{needs[0]['id']}",
        json={"version": needs[0]["version"], "status": "open"},
    )
    assert frozen.status_code == 409
    # The rescreen date follows the screening that stands (negative: 12 months).
    due = ok(api.get(f"/api/v1/patients/{who['id']}/rescreen"))
    assert due["due_on"] == first["rescreen_due_on"]

    headers = {"Authorization": api.headers["Authorization"]}
    query = f"QuestionnaireResponse?patient={who['id']}&status=entered-in-error"
    assert ids(search(api, headers, query)) == [wrong["id"]]
    resource = api.get(f"/fhir/R4/QuestionnaireResponse/{wrong['id']}", headers=headers).json()
    assert resource["status"] == "entered-in-error"
    assert resource["meta"]["versionId"] == "2"
