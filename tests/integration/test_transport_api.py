"""Rides through the JSON API: the pickup time derived from the appointment and moved with
it, a cancelled appointment cancelling its ride, the lifecycle with its history, the task
raised once when a ride is still unconfirmed 48 hours before pickup, the ride in the
appointment reminder, and bad input refused naming the field with nothing stored."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import unit_of_work
from carebridge.messaging.models import OutboxMessage
from carebridge.settings import Settings
from carebridge.tasks.models import Task
from carebridge.transport import timers
from carebridge.transport.models import Ride
from tests.integration import test_scheduling_api as scheduling
from tests.integration.test_scheduling_api import CHICAGO, book, next_weekday, ok
from tests.integration.test_worker import consent

api = scheduling.api
clinic = scheduling.clinic


def visit_start(weekday: int = 3, at: dt.time = dt.time(10, 0)) -> dt.datetime:
    return dt.datetime.combine(next_weekday(weekday, weeks_ahead=2), at, CHICAGO)


def request_ride(api: TestClient, appointment: dict[str, Any], **extra: Any) -> Any:
    body = {"mobility": "wheelchair", **extra}
    return api.post(f"/api/v1/appointments/{appointment['id']}/rides", json=body)


def step(api: TestClient, ride: dict[str, Any], action: str, **extra: Any) -> Any:
    return api.post(
        f"/api/v1/rides/{ride['id']}/transitions",
        json={"action": action, "version": ride["version"], **extra},
    )


def rides_of(factory: sessionmaker[Session], appointment_id: str) -> int:
    with unit_of_work(factory, write=False) as db:
        return int(
            db.scalar(
                select(func.count())
                .select_from(Ride)
                .where(Ride.appointment_id == uuid.UUID(appointment_id))
            )
            or 0
        )


def fields_of(response: Any) -> set[str]:
    """The fields a 422 problem names."""
    return {e["field"] for e in response.json().get("errors", [])}


def at(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def test_pickup_is_derived_and_moves_with_the_appointment(
    api: TestClient, clinic: dict[str, Any]
) -> None:
    patient = clinic["patient"]
    start = visit_start(at=dt.time(9, 0))
    appointment = ok(book(api, clinic, start), 201)
    ride = ok(request_ride(api, appointment, return_ride=True, provider="MTM Medicaid NEMT"), 201)
    assert ride["status"] == "requested"
    assert ride["buffer_minutes"] == 60
    assert at(ride["pickup_at"]) == start - dt.timedelta(minutes=60)
    assert ride["pickup_address"].startswith(patient["address_line1"])
    assert "Chicago" in ride["pickup_address"]
    assert ride["timezone"] == "America/Chicago"

    later = start + dt.timedelta(hours=1, minutes=30)
    ok(
        api.post(
            f"/api/v1/appointments/{appointment['id']}/reschedule",
            json={"version": appointment["version"], "starts_at": later.isoformat()},
        )
    )
    moved = ok(api.get(f"/api/v1/rides/{ride['id']}"))
    assert at(moved["pickup_at"]) == later - dt.timedelta(minutes=60)
    assert at(moved["appointment_starts_at"]) == later
    history = ok(api.get(f"/api/v1/rides/{ride['id']}/history"))
    assert [h["pickup_at"][:16] for h in history] == [
        (start - dt.timedelta(hours=1)).astimezone(dt.UTC).isoformat()[:16],
        (later - dt.timedelta(hours=1)).astimezone(dt.UTC).isoformat()[:16],
    ]

    # An explicit pickup time sets the buffer; it follows the appointment from then on.
    pickup = later - dt.timedelta(minutes=45)
    changed = ok(
        api.patch(
            f"/api/v1/rides/{ride['id']}",
            json={"version": moved["version"], "pickup_at": pickup.isoformat()},
        )
    )
    assert changed["buffer_minutes"] == 45
    assert at(changed["pickup_at"]) == pickup
    listed = ok(api.get(f"/api/v1/patients/{patient['id']}/rides"))
    assert [r["id"] for r in listed] == [ride["id"]]


def test_cancelled_appointment_cancels_its_ride(
    api: TestClient, clinic: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    appointment = ok(book(api, clinic, visit_start(weekday=2)), 201)
    ride = ok(request_ride(api, appointment, mobility="stretcher"), 201)
    ok(step(api, ride, "confirm", confirmation_number="NEMT-55120", provider="Metro Ride"))
    ok(
        api.post(
            f"/api/v1/appointments/{appointment['id']}/cancel",
            json={"version": appointment["version"], "reason": "pat"},
        )
    )
    gone = ok(api.get(f"/api/v1/rides/{ride['id']}"))
    assert gone["status"] == "cancelled"
    assert gone["status_reason"] == "The appointment was cancelled."
    assert gone["actions"] == []
    assert [h["status"] for h in ok(api.get(f"/api/v1/rides/{ride['id']}/history"))] == [
        "requested",
        "confirmed",
        "cancelled",
    ]
    # No ride for a cancelled visit.
    refused = request_ride(api, appointment)
    assert refused.status_code == 422
    assert fields_of(refused) == {"appointment_id"}
    assert rides_of(factory, appointment["id"]) == 1


def test_lifecycle_and_steps_the_status_does_not_allow(
    api: TestClient, clinic: dict[str, Any]
) -> None:
    appointment = ok(book(api, clinic, visit_start(weekday=4)), 201)
    ride = ok(request_ride(api, appointment, escort="caregiver", escort_name="Luis Garcia"), 201)
    assert ride["actions"] == ["confirm", "cancel"]
    again = request_ride(api, appointment)
    assert again.status_code == 409
    early = step(api, ride, "complete")
    assert early.status_code == 409
    assert "confirm" in early.json()["detail"]
    no_number = step(api, ride, "confirm", provider="Metro Ride")
    assert no_number.status_code == 422
    assert fields_of(no_number) == {"confirmation_number"}
    no_company = step(api, ride, "confirm", confirmation_number="A-1")
    assert fields_of(no_company) == {"provider"}
    confirmed = ok(step(api, ride, "confirm", confirmation_number="A-1", provider="Metro Ride"))
    assert (confirmed["status"], confirmed["confirmation_number"]) == ("confirmed", "A-1")
    assert confirmed["confirmed_at"] is not None
    stale = step(api, ride, "complete")
    assert stale.status_code == 409
    done = ok(step(api, confirmed, "complete"))
    assert done["status"] == "completed"
    assert ok(api.get(f"/api/v1/rides/{ride['id']}/history"))[-1]["changed_by"]
    closed = api.patch(f"/api/v1/rides/{ride['id']}", json={"version": done["version"]})
    assert closed.status_code == 409

    day = at(ride["pickup_at"]).astimezone(CHICAGO).date().isoformat()
    board = ok(api.get(f"/api/v1/rides?date={day}&status=completed"))
    assert ride["id"] in {r["id"] for r in board}
    assert ride["id"] not in {
        r["id"] for r in ok(api.get(f"/api/v1/rides?date={day}&status=requested"))
    }


def test_bad_input_is_refused_naming_the_field(
    api: TestClient, clinic: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    start = visit_start(weekday=5)
    appointment = ok(book(api, clinic, start), 201)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"pickup_at": (start + dt.timedelta(minutes=5)).isoformat()}, "pickup_at"),
        ({"pickup_at": start.isoformat()}, "pickup_at"),
        ({"pickup_at": (start - dt.timedelta(hours=12)).isoformat()}, "pickup_at"),
        ({"mobility": "hovercraft"}, "mobility"),
        ({"escort": "caregiver"}, "escort_name"),
        ({"escort": "friend"}, "escort"),
        ({"buffer_minutes": 2}, "buffer_minutes"),
        ({"pickup_address": "x"}, "pickup_address"),
    ]
    for extra, field in cases:
        refused = request_ride(api, appointment, **extra)
        assert refused.status_code == 422, (extra, refused.text)
        assert field in fields_of(refused), (extra, refused.text)
    mobility = request_ride(api, appointment, mobility="hovercraft").json()
    assert "ambulatory" in str(mobility)  # says which values are allowed
    assert rides_of(factory, appointment["id"]) == 0
    video = ok(book(api, clinic, visit_start(weekday=1), kind="video"), 201)
    refused = request_ride(api, video)
    assert refused.status_code == 422
    assert fields_of(refused) == {"appointment_id"}
    assert (
        api.post(
            f"/api/v1/appointments/{uuid.uuid4()}/rides", json={"mobility": "ambulatory"}
        ).status_code
        == 404
    )


def test_unconfirmed_ride_raises_one_task_48_hours_before(
    api: TestClient, clinic: dict[str, Any], factory: sessionmaker[Session], settings: Settings
) -> None:
    appointment = ok(book(api, clinic, visit_start(weekday=3, at=dt.time(11, 0))), 201)
    ride = ok(request_ride(api, appointment, mobility="ambulatory"), 201)
    pickup = at(ride["pickup_at"])
    key = f"ride-unconfirmed:{ride['id']}"

    def chase() -> list[Task]:
        with unit_of_work(factory, write=False) as db:
            return list(db.scalars(select(Task).where(Task.dedupe_key == key)))

    timers.run(factory, settings, now=pickup - dt.timedelta(hours=49))
    assert chase() == []
    for hours in (47, 46, 30):
        timers.run(factory, settings, now=pickup - dt.timedelta(hours=hours))
    [task] = chase()
    assert task.queue == "coordinators"
    assert task.priority == "urgent"
    assert task.patient_id == uuid.UUID(clinic["patient"]["id"])
    assert "not confirmed" in task.title.lower() or "not confirmed" in (task.description or "")
    assert f"/appointments/{appointment['id']}/ride" in (task.description or "")
    assert task.is_open
    assert ok(api.get(f"/api/v1/rides/{ride['id']}"))["needs_confirmation"] is False  # not yet

    ok(step(api, ride, "confirm", confirmation_number="LC-889", provider="LogistiCare"))
    [task] = chase()
    assert task.status == "completed"
    timers.run(factory, settings, now=pickup - dt.timedelta(hours=20))
    assert len(chase()) == 1


def test_reminder_carries_the_confirmed_ride(
    api: TestClient, clinic: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    patient = clinic["patient"]
    consent(api, patient["id"], "email")
    consent(api, patient["id"], "sms")
    start = visit_start(weekday=2, at=dt.time(9, 30))
    appointment = ok(book(api, clinic, start), 201)
    ride = ok(request_ride(api, appointment, mobility="wheelchair", return_ride=True), 201)

    def pending() -> list[OutboxMessage]:
        with unit_of_work(factory, write=False) as db:
            return list(
                db.scalars(
                    select(OutboxMessage).where(
                        OutboxMessage.focus_id == uuid.UUID(appointment["id"]),
                        OutboxMessage.status == "pending",
                    )
                )
            )

    before = pending()
    assert len(before) == 4
    assert not any("Ride" in m.body for m in before)  # requested is not confirmed
    ok(step(api, ride, "confirm", confirmation_number="MTM-7731", provider="MTM Medicaid NEMT"))
    after = pending()
    assert len(after) == 4
    assert not {m.id for m in after} & {m.id for m in before}
    pickup = (start - dt.timedelta(hours=1)).astimezone(CHICAGO)
    for message in after:
        assert f"{pickup:%a %d %b %Y, %H:%M} (America/Chicago)" in message.body
        assert patient["address_line1"] in message.body
        assert "MTM Medicaid NEMT" in message.body
        assert "MTM-7731" in message.body
        assert "wheelchair" in message.body.lower()
    email = next(m for m in after if m.channel == "email")
    assert "A ride home after the visit is booked too." in email.body
    assert patient["family_name"] not in email.body

    confirmed = ok(api.get(f"/api/v1/rides/{ride['id']}"))
    ok(step(api, confirmed, "cancel", reason="Daughter will drive her."))
    final = pending()
    assert len(final) == 4
    assert not any("MTM-7731" in m.body for m in final)
