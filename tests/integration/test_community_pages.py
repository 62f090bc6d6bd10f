"""The community resources screens over HTTP, as a browser without JavaScript uses them: the
import page (a result summary; a file with a missing required field lists the rows and
imports nothing), the directory search with its filters, and the chart tab: suggested
resources for a positive screen, "Refer", and "Organization confirmed" closing the loop."""

from __future__ import annotations

import html
import re
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.community.models import CommunityReferral, ResourceService
from carebridge.db.session import unit_of_work
from carebridge.patients import service as patients
from carebridge.patients.schemas import PatientCreate
from carebridge.referrals.models import Referral
from carebridge.security.audit import Actor
from carebridge.security.roles import Role
from carebridge.social import service as social
from carebridge.social.schemas import ScreeningCreate
from tests.factories import csrf_from, make_user, sign_in
from tests.integration.test_community_api import HOUSING_AND_FOOD, count, tagged
from tests.integration.test_patients_api import new_patient

SYSTEM = Actor.system("test")


@pytest.fixture
def coordinator(client: TestClient, factory: sessionmaker[Session]) -> TestClient:
    user = make_user(factory, Role.COORDINATOR)
    assert sign_in(client, user.username).status_code == 303
    return client


def text(response: Any) -> str:
    return html.unescape(response.text)


def upload(client: TestClient, files: dict[str, bytes]) -> Any:
    token = csrf_from(client.get("/resources/import"))
    return client.post(
        "/resources/import",
        data={"csrf_token": token},
        files=[("files", (name, body, "text/csv")) for name, body in files.items()],
    )


def screened_patient(factory: sessionmaker[Session]) -> uuid.UUID:
    with unit_of_work(factory) as db:
        who = patients.register(db, SYSTEM, PatientCreate.model_validate(new_patient()))
        social.create(
            db, SYSTEM, who.id, ScreeningCreate(answers=HOUSING_AND_FOOD), "America/Chicago"
        )
        return who.id


def test_import_page(coordinator: TestClient, factory: sessionmaker[Session]) -> None:
    tag = uuid.uuid4().hex[:8]
    page = coordinator.get("/resources/import")
    assert page.status_code == 200
    assert "Upload Open Referral (HSDS) data" in text(page)

    refused = upload(coordinator, tagged(tag, phones=(3, "number", "")))
    assert refused.status_code == 422
    body = text(refused)
    assert "Nothing was imported" in body
    assert re.search(r"<td>phones.csv</td><td>3</td><td><code>number</code></td>", body)
    assert count(factory, ResourceService, tag) == 0

    done = upload(coordinator, tagged(tag))
    assert done.status_code == 200
    assert "Imported. 3 new and 0 updated organizations; 3 new and 0 updated services" in text(done)
    assert count(factory, ResourceService, tag) == 3


def test_billing_cannot_import(client: TestClient, factory: sessionmaker[Session]) -> None:
    user = make_user(factory, Role.BILLING)
    assert sign_in(client, user.username).status_code == 303
    assert client.get("/resources/import").status_code == 403


def test_search_page_filters(coordinator: TestClient) -> None:
    tag = uuid.uuid4().hex[:8]
    upload(coordinator, tagged(tag))
    page = text(coordinator.get("/resources", params={"need": "transportation", "language": "es"}))
    assert "Rides to medical appointments" in page
    assert "Weekly grocery pantry" not in page
    open_wed = text(
        coordinator.get("/resources", params={"hours": "at", "day": "3", "time": "09:30"})
    )
    assert "open Wednesday at 09:30" in open_wed
    assert "Weekly grocery pantry" not in open_wed
    bad = coordinator.get("/resources", params={"hours": "at", "day": "3"})
    assert bad.status_code == 422
    assert "Enter the time, such as 10:30." in text(bad)


def test_refer_from_the_chart_and_confirm(
    coordinator: TestClient, factory: sessionmaker[Session]
) -> None:
    tag = uuid.uuid4().hex[:8]
    upload(coordinator, tagged(tag))
    patient_id = screened_patient(factory)
    tab = f"/patients/{patient_id}/resources"
    page = coordinator.get(tab)
    assert page.status_code == 200
    body = text(page)
    assert "Suggested resources" in body
    assert "Housing need" in body
    assert "Food need" in body
    assert "No community referrals yet." in body

    with unit_of_work(factory) as db:
        pantry = db.scalar(
            select(ResourceService).where(
                ResourceService.hsds_id.endswith(tag),
                ResourceService.name == "Weekly grocery pantry",
            )
        )
        assert pantry is not None
        pantry_id = pantry.id
    token = csrf_from(page)
    made = coordinator.post(
        f"{tab}/refer",
        data={"csrf_token": token, "service_id": str(pantry_id), "need": "food"},
    )
    assert made.status_code == 303
    after = text(coordinator.get(tab))
    assert "sent to Eastside Community Pantry (Weekly grocery pantry)" in after
    with unit_of_work(factory) as db:
        link = db.scalar(
            select(CommunityReferral)
            .where(CommunityReferral.service_id == pantry_id)
            .order_by(CommunityReferral.created_at.desc())
        )
        assert link is not None
        referral = db.get(Referral, link.referral_id)
        assert referral is not None
        assert referral.patient_id == patient_id
        assert referral.status == "sent"
        referral_id, version = referral.id, referral.version

    done = coordinator.post(
        f"{tab}/referrals/{referral_id}/confirm",
        data={
            "csrf_token": csrf_from(coordinator.get(tab)),
            "version": str(version),
            "note": "Called; enrolled",
        },
    )
    assert done.status_code == 303
    final = text(coordinator.get(tab))
    assert "closed: Eastside Community Pantry confirmed" in final
    assert "(by phone)" in final
    with unit_of_work(factory) as db:
        link = db.get(CommunityReferral, referral_id)
        assert link is not None
        assert link.confirmed_via == "phone"
        assert link.confirmation_note == "Called; enrolled"

    stale = coordinator.post(
        f"{tab}/referrals/{referral_id}/confirm",
        data={"csrf_token": csrf_from(coordinator.get(tab)), "version": str(version)},
    )
    assert stale.status_code == 409
    assert "already confirmed" in text(stale) or "changed" in text(stale)


def test_service_page_and_needs_set_by_hand(
    coordinator: TestClient, factory: sessionmaker[Session]
) -> None:
    tag = uuid.uuid4().hex[:8]
    upload(coordinator, tagged(tag))
    with unit_of_work(factory) as db:
        rides = db.scalar(
            select(ResourceService).where(
                ResourceService.hsds_id.endswith(tag),
                ResourceService.name == "Rides to medical appointments",
            )
        )
        assert rides is not None
        rides_id, version = rides.id, rides.version
    page = coordinator.get(f"/resources/{rides_id}")
    assert page.status_code == 200
    body = text(page)
    assert "Capital Health Rides" in body
    assert "Mon, Wed, Fri 08:00\u201318:00" in body
    assert "BT-4500.6500 Medical Appointment Transportation" in body

    saved = coordinator.post(
        f"/resources/{rides_id}/needs",
        data={
            "csrf_token": csrf_from(page),
            "version": str(version),
            "needs": ["transportation", "health"],
        },
    )
    assert saved.status_code == 303
    assert "(set by hand)" in text(coordinator.get(f"/resources/{rides_id}"))
    with unit_of_work(factory) as db:
        row = db.get(ResourceService, rides_id)
        assert row is not None
        assert row.needs == ["transportation", "health"]
        assert row.needs_by_hand

    stale = coordinator.post(
        f"/resources/{rides_id}/needs",
        data={"csrf_token": csrf_from(page), "version": str(version), "needs": "food"},
    )
    assert stale.status_code == 409
    with unit_of_work(factory) as db:
        row = db.get(ResourceService, rides_id)
        assert row is not None
        assert row.needs == ["transportation", "health"]
