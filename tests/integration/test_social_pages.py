"""The Social needs screens over HTTP, as a browser without JavaScript uses them: the chart
tab (empty state, due now), a new screening with the patient's language chosen, an
incomplete one refused naming the missing questions with every chosen answer kept and
nothing stored, a positive one listing its needs, and a need marked addressed."""

from __future__ import annotations

import html
import re
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import unit_of_work
from carebridge.patients import service as patients
from carebridge.patients.schemas import PatientCreate
from carebridge.security.audit import Actor
from carebridge.security.roles import Role
from carebridge.social.models import Screening, SocialNeed
from tests.factories import csrf_from, make_user, sign_in
from tests.integration.test_patients_api import new_patient
from tests.unit.test_social_scoring import NEGATIVE

SYSTEM = Actor.system("test")


@pytest.fixture
def coordinator(client: TestClient, factory: sessionmaker[Session]) -> TestClient:
    user = make_user(factory, Role.COORDINATOR)
    assert sign_in(client, user.username).status_code == 303
    return client


def a_patient(factory: sessionmaker[Session]) -> uuid.UUID:
    with unit_of_work(factory) as db:
        return patients.register(db, SYSTEM, PatientCreate.model_validate(new_patient())).id


def text(response: Any) -> str:
    return html.unescape(response.text)


def form_of(answers: dict[str, list[str]], **details: str) -> dict[str, Any]:
    return {**details, **{f"item-{k}": codes for k, codes in answers.items()}}


def post(client: TestClient, path: str, page: str, data: dict[str, Any]) -> Any:
    token = csrf_from(client.get(page))
    return client.post(path, data={**data, "csrf_token": token})


def rows(factory: sessionmaker[Session], model: Any, patient_id: uuid.UUID) -> int:
    with unit_of_work(factory) as db:
        query = select(func.count()).select_from(model).where(model.patient_id == patient_id)
        return int(db.scalar(query) or 0)


def test_screen_from_the_chart(coordinator: TestClient, factory: sessionmaker[Session]) -> None:
    patient_id = a_patient(factory)
    tab = f"/patients/{patient_id}/social-needs"
    empty = coordinator.get(tab)
    assert empty.status_code == 200
    assert "Never screened: a screening is due now." in text(empty)
    assert "No screenings yet." in text(empty)

    new = coordinator.get(f"{tab}/new")
    assert new.status_code == 200
    # The patient's preferred language (Spanish) is chosen.
    assert re.search(r'<option value="es" selected>', new.text)

    partial = {k: v for k, v in NEGATIVE.items() if k not in ("88122-7", "95615-1")}
    partial["71802-3"] = ["LA31995-6"]
    details = {"respondent": "caregiver", "language": "es", "mode": "phone"}
    refused = post(coordinator, tab, f"{tab}/new", form_of(partial, **details))
    assert refused.status_code == 422
    page = text(refused)
    assert "2 questions are unanswered; nothing was saved yet." in page
    assert 'id="item-88122-7-error"' in page
    assert 'id="item-95615-1-error"' in page
    assert re.search(r'value="LA31995-6" id="item-71802-3-3" checked', page)
    assert re.search(r'<option value="caregiver" selected>', page)
    assert rows(factory, Screening, patient_id) == 0

    answers = {**NEGATIVE, "71802-3": ["LA31995-6"], "96778-6": ["LA31996-4", "LA28580-1"]}
    saved = post(coordinator, tab, f"{tab}/new", form_of(answers, **details))
    assert saved.status_code == 303
    shown = text(coordinator.get(tab))
    assert "Screening saved. Needs found: Housing (living situation)." in shown
    assert "Needs found" in shown
    assert 'data-domain="housing"' in shown
    assert "Caregiver, phone, Spanish" in shown
    assert rows(factory, SocialNeed, patient_id) == 1

    with unit_of_work(factory) as db:
        need = db.scalars(select(SocialNeed).where(SocialNeed.patient_id == patient_id)).one()
        need_id, version = need.id, need.version
    done = post(
        coordinator,
        f"{tab}/needs/{need_id}",
        tab,
        {"status": "addressed", "version": str(version)},
    )
    assert done.status_code == 303
    assert "Housing (living situation) need marked addressed." in text(coordinator.get(tab))
    with unit_of_work(factory) as db:
        need = db.get(SocialNeed, need_id)
        assert need is not None
        assert need.status == "addressed"
        assert need.closed_on is not None


def test_billing_cannot_screen(client: TestClient, factory: sessionmaker[Session]) -> None:
    user = make_user(factory, Role.BILLING)
    assert sign_in(client, user.username).status_code == 303
    patient_id = a_patient(factory)
    assert client.get(f"/patients/{patient_id}/social-needs").status_code == 403


def test_mark_a_screening_entered_in_error(
    coordinator: TestClient, factory: sessionmaker[Session]
) -> None:
    patient_id = a_patient(factory)
    tab = f"/patients/{patient_id}/social-needs"
    answers = {**NEGATIVE, "93030-5": ["LA33-6"]}
    assert post(coordinator, tab, f"{tab}/new", form_of(answers)).status_code == 303
    with unit_of_work(factory) as db:
        screening = db.scalars(select(Screening).where(Screening.patient_id == patient_id)).one()
        screening_id, version = screening.id, screening.version
    path = f"{tab}/screenings/{screening_id}/entered-in-error"
    empty = post(coordinator, path, tab, {"version": str(version), "reason": ""})
    assert empty.status_code == 303
    assert "say why the screening is entered in error" in text(coordinator.get(tab))
    done = post(coordinator, path, tab, {"version": str(version), "reason": "Wrong chart"})
    assert done.status_code == 303
    shown = text(coordinator.get(tab))
    assert "Screening marked entered in error" in shown
    assert "Wrong chart" in shown
    with unit_of_work(factory) as db:
        need = db.scalars(select(SocialNeed).where(SocialNeed.patient_id == patient_id)).one()
        assert need.status == "entered-in-error"
