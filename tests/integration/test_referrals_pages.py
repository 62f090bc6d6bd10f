"""The referral screens over HTTP, as a browser without JavaScript uses them: the directory
(search, add, change), the chart's Referrals tab, a new referral, its status steps, the
tracker and the printable letter. A refused form comes back with the reason beside the
field, what was typed kept, and nothing stored."""

from __future__ import annotations

import html
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import unit_of_work
from carebridge.patients import service as patients
from carebridge.patients.schemas import PatientCreate
from carebridge.referrals.models import OutsideProvider, Referral
from carebridge.security.audit import Actor
from carebridge.security.roles import Role
from tests.factories import csrf_from, make_user, sign_in
from tests.integration.test_patients_api import new_patient
from tests.integration.test_referrals_api import count, document, valid_npi

SYSTEM = Actor.system("test")


@pytest.fixture
def coordinator(client: TestClient, factory: sessionmaker[Session]) -> TestClient:
    user = make_user(factory, Role.COORDINATOR)
    assert sign_in(client, user.username).status_code == 303
    return client


def a_patient(factory: sessionmaker[Session]) -> uuid.UUID:
    with unit_of_work(factory) as db:
        return patients.register(db, SYSTEM, PatientCreate.model_validate(new_patient())).id


def post(client: TestClient, path: str, page: str, data: dict[str, Any]) -> Any:
    token = csrf_from(client.get(page))
    return client.post(path, data={**data, "csrf_token": token})


def text(response: Any) -> str:
    return html.unescape(response.text)


def add_provider(client: TestClient, name: str, npi: str) -> Any:
    return post(
        client,
        "/directory",
        "/directory",
        {"name": name, "kind": "specialist", "specialty": "Cardiology", "npi": npi},
    )


def test_directory_search_add_and_change(
    coordinator: TestClient, factory: sessionmaker[Session]
) -> None:
    name = f"Dr Page {uuid.uuid4().hex[:6]}"
    before = count(factory, OutsideProvider)
    refused = add_provider(coordinator, name, "1234567890")
    assert refused.status_code == 422
    assert "not a valid NPI" in text(refused)
    assert name in text(refused)
    assert count(factory, OutsideProvider) == before

    npi = valid_npi()
    added = add_provider(coordinator, name, npi)
    assert added.status_code == 303
    found = coordinator.get("/directory", params={"q": npi})
    assert name in text(found)
    with unit_of_work(factory) as db:
        entry = db.scalar(select(OutsideProvider).where(OutsideProvider.npi == npi))
        assert entry is not None
        entry_id, version = entry.id, entry.version
    page = coordinator.get(f"/directory/{entry_id}")
    assert page.status_code == 200
    assert npi in page.text
    saved = post(
        coordinator,
        f"/directory/{entry_id}",
        f"/directory/{entry_id}",
        {"name": name, "kind": "therapy", "npi": npi, "version": str(version), "active": "yes"},
    )
    assert saved.status_code == 303
    stale = post(
        coordinator,
        f"/directory/{entry_id}",
        f"/directory/{entry_id}",
        {"name": "Late edit", "kind": "therapy", "version": str(version)},
    )
    assert stale.status_code == 409
    assert "changed by someone else" in text(stale)


def test_a_referral_from_the_chart_through_its_steps(
    coordinator: TestClient, factory: sessionmaker[Session]
) -> None:
    patient_id = a_patient(factory)
    npi = valid_npi()
    provider_name = f"Dr Loop {uuid.uuid4().hex[:6]}"
    assert add_provider(coordinator, provider_name, npi).status_code == 303
    with unit_of_work(factory) as db:
        provider_id = db.scalar(select(OutsideProvider.id).where(OutsideProvider.npi == npi))

    chart = coordinator.get(f"/patients/{patient_id}")
    assert f'href="/patients/{patient_id}/referrals"' in chart.text
    assert "No referrals" in coordinator.get(f"/patients/{patient_id}/referrals").text
    new_page = f"/patients/{patient_id}/referrals/new"
    form = coordinator.get(new_page, params={"q": npi})
    assert provider_name in text(form)

    typed = {
        "provider_id": str(provider_id),
        "direction": "outgoing",
        "service_kind": "specialist",
        "urgency": "urgent",
        "reason": "Palpitations with syncope",
        "diagnoses": "I49.9, ZZZ.9",
    }
    refused = post(coordinator, f"/patients/{patient_id}/referrals", new_page, typed)
    assert refused.status_code == 422
    assert "ZZZ.9" in text(refused)
    assert "Palpitations with syncope" in text(refused)
    assert count(factory, Referral, patient_id=patient_id) == 0

    made = post(
        coordinator,
        f"/patients/{patient_id}/referrals",
        new_page,
        {**typed, "diagnoses": "I49.9, R55"},
    )
    assert made.status_code == 303
    page_url = made.headers["location"]
    page = coordinator.get(page_url)
    assert "Cardiac arrhythmia, unspecified" in text(page)
    assert "Mark sent" in page.text
    referral_id = page_url.rsplit("/", 1)[1]
    status_url = f"/patients/{patient_id}/referrals/{referral_id}/status"

    def version() -> str:
        with unit_of_work(factory) as db:
            return str(db.get(Referral, uuid.UUID(referral_id)).version)  # type: ignore[union-attr]

    wrong = post(coordinator, status_url, page_url, {"action": "seen", "version": version()})
    assert wrong.status_code == 409
    assert "cannot be moved" in text(wrong)
    sent = post(coordinator, status_url, page_url, {"action": "send", "version": version()})
    assert sent.status_code == 303
    no_date = post(coordinator, status_url, page_url, {"action": "schedule", "version": version()})
    assert no_date.status_code == 422
    assert "date of the visit" in text(no_date)

    tracker = coordinator.get("/referrals", params={"urgency": "urgent"})
    assert provider_name in text(tracker)
    letter = coordinator.get(f"/referrals/{referral_id}/letter")
    assert letter.status_code == 200
    assert "Syncope and collapse" in text(letter)
    assert "Urgent" in letter.text
    assert provider_name in text(letter)
    assert npi in letter.text

    cancel = post(
        coordinator,
        status_url,
        page_url,
        {"action": "cancel", "version": version(), "reason": "Seen elsewhere"},
    )
    assert cancel.status_code == 303
    final = coordinator.get(page_url)
    assert "Seen elsewhere" in text(final)
    assert "Cancelled" in final.text


def test_a_referral_of_another_patient_is_not_shown_under_this_chart(
    coordinator: TestClient, factory: sessionmaker[Session]
) -> None:
    first, second = a_patient(factory), a_patient(factory)
    npi = valid_npi()
    assert add_provider(coordinator, f"Dr Two {uuid.uuid4().hex[:6]}", npi).status_code == 303
    with unit_of_work(factory) as db:
        provider_id = db.scalar(select(OutsideProvider.id).where(OutsideProvider.npi == npi))
    made = post(
        coordinator,
        f"/patients/{first}/referrals",
        f"/patients/{first}/referrals/new",
        {"provider_id": str(provider_id), "service_kind": "other", "reason": "Food pantry"},
    )
    referral_id = made.headers["location"].rsplit("/", 1)[1]
    assert coordinator.get(f"/patients/{second}/referrals/{referral_id}").status_code == 404


def test_attachments_link_to_the_patients_documents(
    coordinator: TestClient, factory: sessionmaker[Session]
) -> None:
    patient_id = a_patient(factory)
    doc_id = document(factory, str(patient_id))
    npi = valid_npi()
    assert add_provider(coordinator, f"Dr Docs {uuid.uuid4().hex[:6]}", npi).status_code == 303
    with unit_of_work(factory) as db:
        provider_id = db.scalar(select(OutsideProvider.id).where(OutsideProvider.npi == npi))
    new_page = f"/patients/{patient_id}/referrals/new"
    assert "Echo report" in coordinator.get(new_page).text
    made = post(
        coordinator,
        f"/patients/{patient_id}/referrals",
        new_page,
        {
            "provider_id": str(provider_id),
            "service_kind": "specialist",
            "reason": "Review the echo",
            "attachment_ids": str(doc_id),
        },
    )
    assert made.status_code == 303
    page = coordinator.get(made.headers["location"])
    assert f'href="/patients/{patient_id}/documents/{doc_id}"' in page.text
