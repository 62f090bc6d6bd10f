"""Appointment reminders: planned only on the channels the patient allows, replaced when the
visit moves, cancelled with it, held back in quiet hours and when consent is withdrawn; the
confirm and cancel links work end to end without signing in; the .ics and the practitioner's
feed (which names no patient)."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import unit_of_work
from carebridge.messaging import worker
from carebridge.messaging.models import DeliveryAttempt, OutboxMessage
from carebridge.scheduling.models import Appointment, Practitioner, Reminder
from carebridge.scheduling.reminders import plan
from carebridge.security.models import AuditEvent
from tests.conftest import make_settings
from tests.factories import csrf_from
from tests.integration import test_scheduling_api as scheduling
from tests.integration.test_patients_api import new_patient, unique_name
from tests.integration.test_scheduling_api import CHICAGO, book, next_weekday, ok
from tests.integration.test_worker import consent

api = scheduling.api
clinic = scheduling.clinic
PUBLIC_URL = "http://127.0.0.1:8000"


def messages(factory: sessionmaker[Session], appointment_id: str) -> list[OutboxMessage]:
    with unit_of_work(factory, write=False) as db:
        return list(
            db.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.focus_id == uuid.UUID(appointment_id))
                .order_by(OutboxMessage.created_at, OutboxMessage.not_before)
            )
        )


def reminders(factory: sessionmaker[Session], appointment_id: str) -> list[Reminder]:
    with unit_of_work(factory, write=False) as db:
        return list(
            db.scalars(
                select(Reminder)
                .where(Reminder.appointment_id == uuid.UUID(appointment_id))
                .order_by(Reminder.offset_minutes.desc(), Reminder.channel)
            )
        )


def appointment_row(factory: sessionmaker[Session], appointment_id: str) -> Appointment:
    with unit_of_work(factory, write=False) as db:
        row = db.get(Appointment, uuid.UUID(appointment_id))
        assert row is not None
        return row


def visit_start(weekday: int = 3, at: dt.time = dt.time(10, 0)) -> dt.datetime:
    return dt.datetime.combine(next_weekday(weekday, weeks_ahead=2), at, CHICAGO)


def link(body: str, action: str) -> str:
    found = re.search(rf"{re.escape(PUBLIC_URL)}(/appointments/{action}/[\w-]+)", body)
    assert found, body
    return found.group(1)


def test_booking_plans_reminders_only_on_allowed_channels(
    api: TestClient, clinic: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    patient = clinic["patient"]
    consent(api, patient["id"], "email")
    consent(api, patient["id"], "sms", "deny")
    start = visit_start()
    appointment = ok(book(api, clinic, start), 201)

    sent = messages(factory, appointment["id"])
    assert [m.channel for m in sent] == ["email", "email"]
    assert {m.recipient for m in sent} == {patient["email"]}
    assert {m.not_before for m in sent} == {
        start - dt.timedelta(hours=72),
        start - dt.timedelta(hours=24),
    }
    assert {m.status for m in sent} == {"pending"}
    assert {m.dedupe_key for m in sent} == {
        f"reminder:{appointment['id']}:{h}:email:1" for h in (72, 24)
    }
    planned = reminders(factory, appointment["id"])
    assert [(r.offset_minutes, r.channel, r.status) for r in planned] == [
        (72 * 60, "email", "queued"),
        (72 * 60, "sms", "skipped"),
        (24 * 60, "email", "queued"),
        (24 * 60, "sms", "skipped"),
    ]
    assert "not allowed sms" in (planned[1].skip_reason or "")

    body = sent[0].body
    token = appointment_row(factory, appointment["id"]).patient_token
    local = start.astimezone(ZoneInfo("America/Chicago"))
    assert f"{local:%a %d %b %Y, %H:%M} (America/Chicago)" in body
    assert "Carebridge Clinic" in body
    assert clinic["people"][0]["name"] in body
    assert clinic["location"]["name"] in body
    assert f"{PUBLIC_URL}/appointments/confirm/{token}" in body
    assert f"{PUBLIC_URL}/appointments/cancel/{token}" in body
    assert patient["family_name"] not in body  # a reminder names no one
    [attachment] = sent[0].attachments
    assert (attachment["filename"], attachment["content_type"]) == (
        "appointment.ics",
        "text/calendar",
    )
    calendar = icalendar.Calendar.from_ical(attachment["content"])
    assert isinstance(calendar, icalendar.Calendar)
    assert calendar.walk("VEVENT")[0].decoded("dtstart") == start.astimezone(dt.UTC)


def test_no_consent_no_reminder(
    api: TestClient, clinic: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    appointment = ok(book(api, clinic, visit_start(weekday=1)), 201)
    assert messages(factory, appointment["id"]) == []
    assert {r.status for r in reminders(factory, appointment["id"])} == {"skipped"}


def test_planning_again_keeps_what_is_planned_and_drops_past_offsets(
    db_url: str, api: TestClient, clinic: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    consent(api, clinic["patient"]["id"], "sms")
    start = visit_start(weekday=5, at=dt.time(11))
    appointment = ok(book(api, clinic, start), 201)
    before = {m.not_before: m.id for m in messages(factory, appointment["id"])}
    assert len(before) == 2
    # Planned again 30 hours before the visit: the 72-hour reminder's time has passed.
    with unit_of_work(factory) as db:
        row = db.get(Appointment, uuid.UUID(appointment["id"]))
        assert row is not None
        plan(db, make_settings(db_url), row, now=start - dt.timedelta(hours=30))
    after = {m.id: m.status for m in messages(factory, appointment["id"])}
    assert after == {
        before[start - dt.timedelta(hours=72)]: "cancelled",
        before[start - dt.timedelta(hours=24)]: "pending",  # the same message, not a copy
    }


def test_reschedule_replaces_reminders_and_cancel_cancels_them(
    api: TestClient, clinic: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    patient = clinic["patient"]
    consent(api, patient["id"], "email")
    consent(api, patient["id"], "sms")
    start = visit_start(weekday=2, at=dt.time(9, 0))
    appointment = ok(book(api, clinic, start), 201)
    first = messages(factory, appointment["id"])
    assert sorted(m.channel for m in first) == ["email", "email", "sms", "sms"]
    sms = next(m for m in first if m.channel == "sms")
    assert sms.recipient == patient["telecoms"][0]["value"]
    assert "Confirm: http" in sms.body
    assert sms.attachments == []

    later = start + dt.timedelta(hours=2)
    moved = ok(
        api.post(
            f"/api/v1/appointments/{appointment['id']}/reschedule",
            json={"version": appointment["version"], "starts_at": later.isoformat()},
        )
    )
    everything = {m.id: m for m in messages(factory, appointment["id"])}
    assert {everything[m.id].status for m in first} == {"cancelled"}
    fresh = [m for m in everything.values() if m.id not in {f.id for f in first}]
    assert len(fresh) == 4
    assert {m.status for m in fresh} == {"pending"}
    assert {m.not_before for m in fresh} == {
        later - dt.timedelta(hours=72),
        later - dt.timedelta(hours=24),
    }
    assert all(m.dedupe_key and m.dedupe_key.endswith(f":{moved['version']}") for m in fresh)
    local = later.astimezone(ZoneInfo("America/Chicago"))
    assert all(f"{local:%H:%M} (America/Chicago)" in m.body for m in fresh)
    planned = reminders(factory, appointment["id"])
    assert len(planned) == 4  # one per offset and channel, pointing at the new messages
    assert {r.outbox_id for r in planned} == {m.id for m in fresh}
    assert {r.status for r in planned} == {"queued"}

    ok(
        api.post(
            f"/api/v1/appointments/{appointment['id']}/cancel",
            json={"version": moved["version"], "reason": "pat"},
        )
    )
    assert {m.status for m in messages(factory, appointment["id"])} == {"cancelled"}
    assert {r.status for r in reminders(factory, appointment["id"])} == {"cancelled"}


def test_video_visit_reminder_carries_the_join_link(
    api: TestClient, clinic: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    consent(api, clinic["patient"]["id"], "sms")
    visit = ok(book(api, clinic, visit_start(weekday=4, at=dt.time(11)), kind="video"), 201)
    [first, *_] = messages(factory, visit["id"])
    assert visit["join_url"] in first.body
    assert clinic["location"]["name"] not in first.body


def test_quiet_hours_defer_and_withdrawn_consent_holds_back(
    db_url: str,
    api: TestClient,
    clinic: dict[str, Any],
    factory: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    patient = clinic["patient"]
    consent(api, patient["id"], "sms")
    start = visit_start(weekday=5, at=dt.time(9, 30))
    appointment = ok(book(api, clinic, start), 201)
    early, late = messages(factory, appointment["id"])
    assert early.not_before < late.not_before
    log = tmp_path / "sms.log"
    settings = make_settings(db_url, sms_gateway="file", sms_file=str(log))
    zone = ZoneInfo("America/Chicago")
    due_day = early.not_before.astimezone(zone).date()
    night = dt.datetime.combine(due_day, dt.time(22, 30), zone).astimezone(dt.UTC)
    held = worker.run_once(factory, settings, now=night, only=[early.id])
    assert held.held == 1
    assert not log.exists()
    morning = dt.datetime.combine(due_day + dt.timedelta(days=1), dt.time(8), zone)
    with unit_of_work(factory, write=False) as db:
        row = db.get(OutboxMessage, early.id)
        assert row is not None
        assert (row.status, row.next_attempt_at) == ("pending", morning.astimezone(dt.UTC))
        [attempt] = db.scalars(
            select(DeliveryAttempt).where(DeliveryAttempt.message_id == early.id)
        )
        assert attempt.outcome == "skipped"
        assert "quiet hours 21:00-08:00 (America/Chicago)" in (attempt.detail or "")
    before = worker.run_once(
        factory, settings, now=morning - dt.timedelta(minutes=1), only=[early.id]
    )
    assert before == worker.Totals()
    assert worker.run_once(factory, settings, now=morning, only=[early.id]).sent == 1
    assert len(log.read_text().splitlines()) == 1

    # The patient withdraws consent to texts: the next reminder is not sent.
    consent(api, patient["id"], "sms", "deny")
    noon = dt.datetime.combine(late.not_before.astimezone(zone).date(), dt.time(12), zone)
    assert worker.run_once(factory, settings, now=noon, only=[late.id]).held == 1
    with unit_of_work(factory, write=False) as db:
        row = db.get(OutboxMessage, late.id)
        assert row is not None
        assert row.status == "cancelled"
        assert "does not consent to sms" in (row.last_error or "")
    assert len(log.read_text().splitlines()) == 1


def test_confirm_and_cancel_links_work_without_signing_in(
    app: FastAPI, api: TestClient, clinic: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    patient = clinic["patient"]
    consent(api, patient["id"], "email")
    start = visit_start(weekday=1, at=dt.time(11, 0))
    appointment = ok(book(api, clinic, start), 201)
    body = messages(factory, appointment["id"])[0].body
    confirm_path, cancel_path = link(body, "confirm"), link(body, "cancel")

    with TestClient(app, follow_redirects=False) as browser:  # a patient: no sign-in
        page = browser.get(confirm_path)
        assert page.status_code == 200
        local = start.astimezone(ZoneInfo("America/Chicago"))
        assert f"{local:%a %d %b %Y, %H:%M} (America/Chicago)" in page.text
        assert clinic["people"][0]["name"] in page.text
        assert clinic["location"]["name"] in page.text
        for private in (patient["family_name"], patient["mrn"], patient["email"]):
            assert private not in page.text
        assert page.headers["x-robots-tag"] == "noindex"
        assert page.headers["referrer-policy"] == "same-origin"  # the token stays here
        forged = browser.post(confirm_path, data={"csrf_token": "0" * 64})
        assert forged.status_code == 403
        done = browser.post(confirm_path, data={"csrf_token": csrf_from(page)})
        assert done.status_code == 303
        assert done.headers["location"] == confirm_path
        assert "your appointment is confirmed" in browser.get(confirm_path).text
        assert appointment_row(factory, appointment["id"]).confirmed_at is not None
        with unit_of_work(factory, write=False) as db:
            audit = db.scalars(
                select(AuditEvent).where(
                    AuditEvent.entity_id == appointment["id"],
                    AuditEvent.username == "patient-link",
                    AuditEvent.action == "update",
                )
            ).all()
        assert len(audit) == 1
        assert audit[0].patient_id == uuid.UUID(patient["id"])

        page = browser.get(cancel_path)
        assert page.status_code == 200
        cancelled = browser.post(cancel_path, data={"csrf_token": csrf_from(page)})
        assert cancelled.status_code == 303
        assert "Your appointment is cancelled" in browser.get(cancel_path).text
        again = browser.post(cancel_path, data={"csrf_token": csrf_from(page)})
        assert again.status_code == 303
        assert "cannot be cancelled" in browser.get(cancel_path).text

        missing = browser.get("/appointments/confirm/no-such-token")
        assert missing.status_code == 404
        assert "This link does not work" in missing.text
        assert browser.get("/appointments/cancel/no-such-token").status_code == 404

    row = appointment_row(factory, appointment["id"])
    assert (row.status, row.cancel_reason) == ("cancelled", "pat-crs")
    assert {m.status for m in messages(factory, appointment["id"])} == {"cancelled"}
    # The time is free again: someone else can have it.
    other = ok(api.post("/api/v1/patients", json=new_patient(family_name=unique_name())), 201)
    assert book(api, clinic, start, patient=other).status_code == 201


def test_ics_download_parses_and_follows_the_appointment(
    app: FastAPI, api: TestClient, clinic: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    start = visit_start(weekday=4, at=dt.time(9, 45))
    appointment = ok(book(api, clinic, start), 201)
    token = appointment_row(factory, appointment["id"]).patient_token
    with TestClient(app) as browser:
        response = browser.get(f"/appointments/{token}.ics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/calendar")
        event = _event(response.content)
        assert event.decoded("dtstart") == start.astimezone(dt.UTC)
        assert event.decoded("dtend") == start.astimezone(dt.UTC) + dt.timedelta(minutes=30)
        assert str(event["uid"]) == f"{appointment['id']}@carebridge"
        assert str(event["status"]) == "CONFIRMED"
        assert clinic["location"]["name"] in str(event["location"])
        sequence = int(event["sequence"])
        ok(
            api.post(
                f"/api/v1/appointments/{appointment['id']}/cancel",
                json={"version": appointment["version"], "reason": "prov"},
            )
        )
        event = _event(browser.get(f"/appointments/{token}.ics").content)
        assert str(event["status"]) == "CANCELLED"
        assert int(event["sequence"]) > sequence
        assert browser.get("/appointments/unknown-token.ics").status_code == 404


def _event(content: bytes) -> icalendar.Event:
    calendar = icalendar.Calendar.from_ical(content)
    assert isinstance(calendar, icalendar.Calendar)
    [event] = calendar.walk("VEVENT")
    assert isinstance(event, icalendar.Event)
    return event


def test_practitioner_feed_lists_bookings_without_patient_names(
    app: FastAPI, api: TestClient, clinic: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    patient = clinic["patient"]
    kept = ok(book(api, clinic, visit_start(weekday=2, at=dt.time(10))), 201)
    dropped = ok(book(api, clinic, visit_start(weekday=3, at=dt.time(10))), 201)
    ok(
        api.post(
            f"/api/v1/appointments/{dropped['id']}/cancel",
            json={"version": dropped["version"], "reason": "pat"},
        )
    )
    with unit_of_work(factory, write=False) as db:
        person = db.get(Practitioner, uuid.UUID(clinic["people"][0]["id"]))
        assert person is not None
        token = person.calendar_token
    with TestClient(app) as browser:
        response = browser.get(f"/calendars/{token}.ics")
        assert response.status_code == 200
        assert browser.get("/calendars/not-a-real-token.ics").status_code == 404
    text = response.content.decode()
    for private in (
        patient["family_name"],
        patient["given_names"],
        patient["mrn"],
        patient["email"],
        patient["telecoms"][0]["value"],
    ):
        assert private not in text
    calendar = icalendar.Calendar.from_ical(response.content)
    assert isinstance(calendar, icalendar.Calendar)
    events = {str(e["uid"]): e for e in calendar.walk("VEVENT")}
    assert set(events) == {f"{kept['id']}@carebridge"}
    event = events[f"{kept['id']}@carebridge"]
    assert str(event["summary"]) == "Booked: Follow-up visit"
    assert event.decoded("dtstart") == visit_start(weekday=2, at=dt.time(10)).astimezone(dt.UTC)
