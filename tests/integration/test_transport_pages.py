"""The transport screens over HTTP, as a browser without JavaScript uses them: the Ride
section of an appointment (request, refused input kept and named, confirm, cancel), the
chart's Rides tab and the rides board with its status filter; who may see and change."""

from __future__ import annotations

import datetime as dt
import html
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import unit_of_work
from carebridge.security.roles import Role
from carebridge.transport.models import Ride
from tests.factories import csrf_from, make_user, sign_in
from tests.integration import test_scheduling_api as scheduling
from tests.integration.test_scheduling_api import CHICAGO, book, next_weekday, ok

api = scheduling.api
clinic = scheduling.clinic


@pytest.fixture
def booked(api: TestClient, clinic: dict[str, Any], factory: sessionmaker[Session]) -> Any:
    """An appointment booked through the API, then the client signed in as a coordinator."""
    start = dt.datetime.combine(next_weekday(2, weeks_ahead=3), dt.time(10, 0), CHICAGO)
    appointment = ok(book(api, clinic, start), 201)
    del api.headers["Authorization"]
    user = make_user(factory, Role.COORDINATOR)
    assert sign_in(api, user.username).status_code == 303
    return {"appointment": appointment, "start": start, "patient": clinic["patient"]}


def post(client: TestClient, path: str, page: str, data: dict[str, Any]) -> Any:
    return client.post(path, data={**data, "csrf_token": csrf_from(client.get(page))})


def text(response: Any) -> str:
    return html.unescape(response.text)


def rides(factory: sessionmaker[Session], patient_id: str) -> list[Ride]:
    with unit_of_work(factory, write=False) as db:
        return list(db.scalars(select(Ride).where(Ride.patient_id == uuid.UUID(patient_id))))


def test_request_confirm_and_cancel_on_the_ride_page(
    api: TestClient, booked: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    appointment, patient = booked["appointment"], booked["patient"]
    page = f"/appointments/{appointment['id']}/ride"
    opened = api.get(page)
    assert opened.status_code == 200
    assert "Request ride" in text(opened)
    assert patient["address_line1"] in text(opened)  # the pickup address defaults to home

    chart = api.get(f"/patients/{patient['id']}/appointments")
    assert f'href="/appointments/{appointment["id"]}/ride"' in chart.text

    typed = {
        "pickup_address": "1 Typed Lane, Chicago",
        "mobility": "",
        "escort": "caregiver",
        "escort_name": "",
        "notes": "Oxygen tank",
    }
    refused = post(api, page, page, typed)
    assert refused.status_code == 422
    assert "1 Typed Lane, Chicago" in text(refused)
    assert "Oxygen tank" in text(refused)
    assert 'id="f-ride-mobility"' in refused.text
    assert 'aria-invalid="true"' in refused.text
    good = {**typed, "mobility": "wheelchair", "escort_name": "Ana"}
    late = post(api, page, page, {**good, "pickup_time": "10:30"})
    assert late.status_code == 422
    assert "before the appointment" in text(late)
    assert rides(factory, patient["id"]) == []

    made = post(api, page, page, good)
    assert made.status_code == 303
    [ride] = rides(factory, patient["id"])
    assert ride.pickup_at == booked["start"] - dt.timedelta(minutes=60)
    shown = text(api.get(page))
    assert "Requested" in shown
    assert "Confirm ride" in shown

    details = {
        "version": str(ride.version),
        "pickup_address": ride.pickup_address,
        "mobility": "stretcher",
        "escort": "caregiver",
        "escort_name": "Ana",
    }
    too_long = post(api, f"/rides/{ride.id}", page, {**details, "buffer_minutes": "900"})
    assert too_long.status_code == 422
    assert 'id="f-edit-buffer_minutes"' in too_long.text
    assert "900" in too_long.text  # kept as typed
    saved = post(api, f"/rides/{ride.id}", page, {**details, "buffer_minutes": "90"})
    assert saved.status_code == 303
    [ride] = rides(factory, patient["id"])
    assert (ride.mobility, ride.buffer_minutes) == ("stretcher", 90)
    assert ride.pickup_at == booked["start"] - dt.timedelta(minutes=90)
    assert ride.notes is None  # the box was sent empty: cleared

    step = f"/rides/{ride.id}/status"
    confirm = {"action": "confirm", "version": str(ride.version), "provider": "Metro Ride"}
    no_number = post(api, step, page, confirm)
    assert no_number.status_code == 422
    assert "confirmation number" in text(no_number)
    done = post(api, step, page, {**confirm, "confirmation_number": "MR-1"})
    assert done.status_code == 303
    [ride] = rides(factory, patient["id"])
    assert (ride.status, ride.confirmation_number) == ("confirmed", "MR-1")

    tab = text(api.get(f"/patients/{patient['id']}/rides"))
    assert "MR-1" in tab
    day = ride.pickup_at.astimezone(CHICAGO).date().isoformat()
    board = text(api.get(f"/rides?day={day}&days=1"))
    assert patient["family_name"] in board
    assert "MR-1" in board
    assert patient["family_name"] not in text(api.get(f"/rides?day={day}&days=1&status=requested"))

    cancel = {"action": "cancel", "version": str(ride.version)}
    no_reason = post(api, step, page, cancel)
    assert no_reason.status_code == 422
    cancelled = post(api, step, page, {**cancel, "reason": "Family will drive"})
    assert cancelled.status_code == 303
    after = text(api.get(page))
    assert "Earlier rides for this appointment" in after
    assert "Family will drive" in after
    assert "Request ride" in after  # a new one may be requested


def test_billing_reads_the_board_but_cannot_request(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    user = make_user(factory, Role.BILLING)
    assert sign_in(client, user.username).status_code == 303
    assert client.get("/rides").status_code == 200
    refused = post(
        client, f"/appointments/{uuid.uuid4()}/ride", "/rides", {"mobility": "ambulatory"}
    )
    assert refused.status_code == 403
    with unit_of_work(factory, write=False) as db:
        assert db.scalar(select(func.count()).select_from(Ride)) is not None
