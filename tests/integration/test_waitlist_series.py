"""The waitlist (freed times offered to the best match, passed on when declined), recurring
series (conflict report, all-or-nothing booking) and access measures, through the JSON API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import unit_of_work
from carebridge.lib.ids import new_secret
from carebridge.messaging.models import OutboxMessage
from carebridge.scheduling.models import Appointment, AppointmentSeries
from carebridge.tasks.models import Task
from tests.factories import clinic_today
from tests.integration import test_scheduling_api as scheduling
from tests.integration.test_patients_api import new_patient, unique_name
from tests.integration.test_scheduling_api import CHICAGO, book, next_weekday, npi, ok
from tests.integration.test_sign_in import audit_rows

# The scheduling tests' fixtures, used here as they are.
api = scheduling.api
clinic = scheduling.clinic


def patient(api: TestClient, **extra: Any) -> dict[str, Any]:
    body = new_patient(family_name=unique_name(), **extra)
    result: dict[str, Any] = ok(api.post("/api/v1/patients", json=body), 201)
    return result


def waitlist(api: TestClient, clinic: dict[str, Any], who: dict[str, Any], **extra: Any) -> Any:
    body = {
        "patient_id": who["id"],
        "appointment_type_id": clinic["kind"]["id"],
        "earliest": clinic_today().isoformat(),
        **extra,
    }
    return ok(api.post("/api/v1/waitlist", json=body), 201)


def offer_tasks(factory: sessionmaker[Session], entry_id: str) -> list[Task]:
    with unit_of_work(factory) as db:
        return list(
            db.scalars(
                select(Task).where(
                    Task.focus_type == "WaitlistEntry", Task.focus_id == uuid.UUID(entry_id)
                )
            )
        )


def entry_status(api: TestClient, who: dict[str, Any]) -> dict[str, str]:
    rows = ok(api.get("/api/v1/waitlist", params={"patient_id": who["id"], "status": "all"}))
    return {r["id"]: r["status"] for r in rows}


# --- waitlist ------------------------------------------------------------------------------


def test_cancellation_is_offered_to_best_match_and_passed_on_when_declined(
    api: TestClient, clinic: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    tuesday = next_weekday(2)
    start = dt.datetime.combine(tuesday, dt.time(9, 30), CHICAGO)
    taken = ok(book(api, clinic, start), 201)
    people = clinic["people"]
    # Urgent entries that do not fit the freed Tuesday-morning time, made first (oldest).
    thursdays = waitlist(api, clinic, patient(api), priority=1, weekdays=[4])
    afternoons = waitlist(api, clinic, patient(api), priority=1, day_part="afternoon")
    other_doctor = waitlist(api, clinic, patient(api), priority=1, practitioner_id=people[1]["id"])
    not_yet = waitlist(
        api, clinic, patient(api), priority=1, earliest=(tuesday + dt.timedelta(days=1)).isoformat()
    )
    # Two that fit: the more urgent one is offered first although it is newer.
    second_choice = patient(api)
    routine = waitlist(api, clinic, second_choice, priority=2, weekdays=[2, 3], day_part="morning")
    first_choice = patient(api)
    ok(
        api.post(
            f"/api/v1/patients/{first_choice['id']}/contact-consents",
            json={"channel": "sms", "decision": "permit", "effective_from": "2020-01-01"},
        ),
        201,
    )
    best = waitlist(
        api,
        clinic,
        first_choice,
        priority=1,
        practitioner_id=people[0]["id"],
        location_id=clinic["location"]["id"],
        weekdays=[2],
        day_part="morning",
        note="Wants an earlier visit",
    )

    ok(
        api.post(
            f"/api/v1/appointments/{taken['id']}/cancel",
            json={"version": taken["version"], "reason": "pat-fb"},
        )
    )

    offered = entry_status(api, first_choice)
    assert offered == {best["id"]: "offered"}
    [task] = offer_tasks(factory, best["id"])
    name = f"{first_choice['given_names']} {first_choice['family_name']}"
    assert task.title == f"Offer freed slot Tue {tuesday.day} {tuesday:%b} 09:30 to {name}"
    assert task.priority == "urgent"
    assert task.queue == "scheduling"
    assert task.patient_id == uuid.UUID(first_choice["id"])
    assert task.dedupe_key == f"waitlist-offer:{best['id']}:{taken['id']}"
    assert task.due_at is not None
    due_in = task.due_at - dt.datetime.now(dt.UTC)
    assert dt.timedelta(hours=1, minutes=55) < due_in <= dt.timedelta(hours=2)
    assert "Wants an earlier visit" in (task.description or "")
    for skipped in (thursdays, afternoons, other_doctor, not_yet, routine):
        assert not offer_tasks(factory, skipped["id"])
    rows = ok(api.get("/api/v1/waitlist", params={"status": "offered"}))
    mine = next(r for r in rows if r["id"] == best["id"])
    assert mine["offered_appointment_id"] == taken["id"]
    # The patient allowed SMS (not email): one text, to the mobile number, through the outbox.
    with unit_of_work(factory) as db:
        messages = list(
            db.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.patient_id == uuid.UUID(first_choice["id"])
                )
            )
        )
    assert [(m.channel, m.status) for m in messages] == [("sms", "pending")]
    mobile = [t["value"] for t in first_choice["telecoms"] if t["system"] == "phone"]
    assert messages[0].recipient == mobile[0]
    assert "opened on Tue" in messages[0].body
    assert audit_rows(factory, entity_type="WaitlistEntry", entity_id=best["id"])

    # Declined: the entry waits again and the time goes to the next match.
    declined = ok(api.post(f"/api/v1/waitlist/{best['id']}/decline", json={"version": 2}))
    assert declined["declined"]["status"] == "waiting"
    assert declined["next_offer"]["id"] == routine["id"]
    [second_task] = offer_tasks(factory, routine["id"])
    assert second_task.priority == "routine"
    assert entry_status(api, second_choice) == {routine["id"]: "offered"}
    # Declined again: nobody else fits, and nobody is offered the same time twice.
    version = declined["next_offer"]["version"]
    last = ok(api.post(f"/api/v1/waitlist/{routine['id']}/decline", json={"version": version}))
    assert last["next_offer"] is None
    assert len(offer_tasks(factory, best["id"])) == 1
    again = {"version": last["declined"]["version"]}
    not_offered = api.post(f"/api/v1/waitlist/{routine['id']}/decline", json=again)
    assert not_offered.status_code == 409
    assert "Only an offered entry" in not_offered.text

    # The first patient changes their mind and is booked from the waitlist.
    booked = api.post(
        "/api/v1/appointments",
        json={
            "patient_id": first_choice["id"],
            "appointment_type_id": clinic["kind"]["id"],
            "practitioner_id": people[0]["id"],
            "location_id": clinic["location"]["id"],
            "starts_at": start.isoformat(),
            "from_waitlist_id": best["id"],
        },
    )
    assert booked.status_code == 201, booked.text
    assert entry_status(api, first_choice) == {best["id"]: "booked"}


def test_booking_from_another_patients_entry_books_nothing(
    api: TestClient, clinic: dict[str, Any]
) -> None:
    someone = patient(api)
    entry = waitlist(api, clinic, someone)
    start = dt.datetime.combine(next_weekday(3), dt.time(10, 0), CHICAGO)
    response = api.post(
        "/api/v1/appointments",
        json={
            "patient_id": clinic["patient"]["id"],
            "appointment_type_id": clinic["kind"]["id"],
            "practitioner_id": clinic["people"][0]["id"],
            "location_id": clinic["location"]["id"],
            "starts_at": start.isoformat(),
            "from_waitlist_id": entry["id"],
        },
    )
    assert response.status_code == 422
    assert "another patient" in response.text
    assert ok(api.get(f"/api/v1/patients/{clinic['patient']['id']}/appointments")) == []
    assert entry_status(api, someone) == {entry["id"]: "waiting"}


def test_waitlist_validation_listing_and_removal(
    api: TestClient, clinic: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    someone = patient(api)
    backwards = api.post(
        "/api/v1/waitlist",
        json={
            "patient_id": someone["id"],
            "appointment_type_id": clinic["kind"]["id"],
            "earliest": "2030-02-01",
            "latest": "2030-01-01",
        },
    )
    assert backwards.status_code == 422
    assert "latest is before earliest" in backwards.text
    bad_day = api.post(
        "/api/v1/waitlist",
        json={
            "patient_id": someone["id"],
            "appointment_type_id": clinic["kind"]["id"],
            "earliest": "2030-01-01",
            "weekdays": [8],
            "priority": 9,
        },
    )
    assert bad_day.status_code == 422
    assert {e["field"] for e in bad_day.json()["errors"]} >= {"weekdays.0", "priority"}
    entry = waitlist(api, clinic, someone, weekdays=[5, 1, 1], priority=4)
    assert entry["weekdays"] == [1, 5]
    assert entry["status"] == "waiting"
    listed = ok(api.get("/api/v1/waitlist", params={"patient_id": someone["id"]}))
    assert [e["id"] for e in listed] == [entry["id"]]
    reads = audit_rows(factory, action="read", entity_type="WaitlistEntry")
    assert any(r.patient_id == uuid.UUID(someone["id"]) for r in reads)
    url = f"/api/v1/waitlist/{entry['id']}/remove"
    assert api.post(url, json={"version": entry["version"] + 1}).status_code == 409
    removed = ok(api.post(url, json={"version": entry["version"]}))
    assert removed["status"] == "removed"
    assert api.post(url, json={"version": removed["version"]}).status_code == 409
    assert ok(api.get("/api/v1/waitlist", params={"patient_id": someone["id"]})) == []
    missing = api.post(f"/api/v1/waitlist/{uuid.uuid4()}/remove", json={"version": 1})
    assert missing.status_code == 404


# --- recurring series ----------------------------------------------------------------------


def series_body(clinic: dict[str, Any], who: dict[str, Any], first: dt.datetime) -> dict[str, Any]:
    return {
        "patient_id": who["id"],
        "appointment_type_id": clinic["kind"]["id"],
        "practitioner_id": clinic["people"][0]["id"],
        "location_id": clinic["location"]["id"],
        "rrule": "FREQ=WEEKLY;BYDAY=TU,TH;COUNT=12",
        "first_start": first.replace(tzinfo=None).isoformat(),  # local wall-clock time
    }


def test_series_preview_reports_conflicts_and_books_all_or_nothing(
    api: TestClient, clinic: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    first = dt.datetime.combine(next_weekday(2), dt.time(10, 0), CHICAGO)
    clash_at = first + dt.timedelta(days=7)  # the third visit: Tuesday of the second week
    ok(book(api, clinic, clash_at + dt.timedelta(minutes=15), patient=patient(api)), 201)
    who = patient(api)
    body = series_body(clinic, who, first)

    preview = ok(api.post("/api/v1/series/preview", json=body))
    occurrences = preview["occurrences"]
    assert len(occurrences) == 12
    assert (preview["bookable"], preview["conflicts"]) == (11, 1)
    assert preview["timezone"] == "America/Chicago"
    local = [dt.datetime.fromisoformat(o["starts_at"]).astimezone(CHICAGO) for o in occurrences]
    assert {d.isoweekday() for d in local} == {2, 4}
    assert {d.time() for d in local} == {dt.time(10, 0)}
    conflict = occurrences[2]
    assert conflict["status"] == "conflict"
    assert "already booked" in conflict["reason"]
    assert dt.datetime.fromisoformat(conflict["starts_at"]) == clash_at
    alternatives = conflict["alternatives"]
    assert 1 <= len(alternatives) <= 3
    monday = clash_at.date() - dt.timedelta(days=1)
    for alt in alternatives:
        when = dt.datetime.fromisoformat(alt["starts_at"])
        assert monday <= when.astimezone(CHICAGO).date() < monday + dt.timedelta(days=7)
        assert alt["practitioner_id"] == clinic["people"][0]["id"]
        # never on top of another visit of the series (Thursday 10:00 that week)
        assert abs(when - (clash_at + dt.timedelta(days=2))) >= dt.timedelta(minutes=40)
    assert all(o["status"] == "ok" for i, o in enumerate(occurrences) if i != 2)

    # Booking as planned fails on the third visit: all or nothing, so nothing is booked.
    refused = api.post("/api/v1/series", json=body)
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["type"].endswith("series-not-booked")
    assert "visit 2" in problem["detail"]
    assert [o["status"] for o in problem["occurrences"]].count("conflict") == 1
    assert ok(api.get(f"/api/v1/patients/{who['id']}/appointments")) == []
    with unit_of_work(factory) as db:
        stray = db.scalars(
            select(AppointmentSeries).where(AppointmentSeries.patient_id == uuid.UUID(who["id"]))
        )
        assert list(stray) == []

    # With the third visit moved to an alternative, all twelve are booked in one series.
    moved_to = alternatives[0]["starts_at"]
    made = ok(api.post("/api/v1/series", json={**body, "overrides": {"2": moved_to}}), 201)
    series_id = made["series"]["id"]
    assert made["series"]["rrule"] == "FREQ=WEEKLY;COUNT=12;BYDAY=TU,TH"
    assert len(made["appointments"]) == 12
    assert {a["series_id"] for a in made["appointments"]} == {series_id}
    assert made["occurrences"][2]["overridden"] is True
    moved = dt.datetime.fromisoformat(made["appointments"][2]["starts_at"])
    assert moved == dt.datetime.fromisoformat(moved_to)
    assert moved == dt.datetime.fromisoformat(made["occurrences"][2]["starts_at"])
    mine = ok(api.get(f"/api/v1/patients/{who['id']}/appointments"))
    assert len(mine) == 12
    assert {a["series_id"] for a in mine} == {series_id}
    detail = ok(api.get(f"/api/v1/series/{series_id}"))
    assert [a["id"] for a in detail["appointments"]] == [a["id"] for a in made["appointments"]]
    assert audit_rows(factory, entity_type="AppointmentSeries", entity_id=series_id)

    # One visit of the series changes on its own: an ordinary cancel.
    visit = made["appointments"][5]
    ok(
        api.post(
            f"/api/v1/appointments/{visit['id']}/cancel",
            json={"version": visit["version"], "reason": "pat"},
        )
    )
    after = ok(api.get(f"/api/v1/series/{series_id}"))
    assert [a["status"] for a in after["appointments"]].count("cancelled") == 1


def test_series_can_leave_conflicts_out(api: TestClient, clinic: dict[str, Any]) -> None:
    first = dt.datetime.combine(next_weekday(2, weeks_ahead=2), dt.time(11, 0), CHICAGO)
    ok(book(api, clinic, first + dt.timedelta(days=2), patient=patient(api)), 201)
    who = patient(api)
    body = {**series_body(clinic, who, first), "rrule": "FREQ=WEEKLY;BYDAY=TU,TH;COUNT=4"}
    made = ok(api.post("/api/v1/series", json={**body, "on_conflict": "skip", "skip": [3]}), 201)
    assert [o["status"] for o in made["occurrences"]] == ["booked", "skipped", "booked", "skipped"]
    assert "already booked" in made["occurrences"][1]["reason"]
    assert len(made["appointments"]) == 2


def test_series_rules_are_checked(api: TestClient, clinic: dict[str, Any]) -> None:
    first = dt.datetime.combine(next_weekday(2), dt.time(10, 0), CHICAGO)
    body = series_body(clinic, clinic["patient"], first)
    for rrule, words in (
        ("FREQ=WEEKLY;BYDAY=TU", "COUNT"),
        ("FREQ=DAILY;COUNT=60", "at most 52"),
        ("FREQ=WEEKLY;BYDAY=XX;COUNT=3", "BYDAY"),
        ("FREQ=DAILY;UNTIL=20991231", "at most 52"),
    ):
        response = api.post("/api/v1/series/preview", json={**body, "rrule": rrule})
        assert response.status_code == 422, rrule
        assert words in response.text, response.text
    until = (first.date() + dt.timedelta(days=9)).strftime("%Y%m%d")
    rule = f"FREQ=WEEKLY;BYDAY=TU,TH;UNTIL={until}"
    preview = ok(api.post("/api/v1/series/preview", json={**body, "rrule": rule}))
    # UNTIL is a local date and its whole day counts: the 10:00 visit on that Thursday is in.
    assert len(preview["occurrences"]) == 4
    wrong_index = api.post("/api/v1/series/preview", json={**body, "skip": [12]})
    assert wrong_index.status_code == 422
    past = {**body, "first_start": "2020-01-07T10:00", "rrule": "FREQ=WEEKLY;COUNT=2"}
    assert [
        o["status"] for o in ok(api.post("/api/v1/series/preview", json=past))["occurrences"]
    ] == ["past", "past"]
    assert api.post("/api/v1/series", json=past).status_code == 422


# --- access measures -----------------------------------------------------------------------


def new_practitioner(api: TestClient, clinic: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = ok(
        api.post(
            "/api/v1/practitioners",
            json={
                "name": f"Dr Measure {uuid.uuid4().hex[:6]}",
                "npi": npi(),
                "specialties": ["family-medicine"],
                "appointment_type_codes": [clinic["kind"]["code"]],
            },
        ),
        201,
    )
    return result


def measures_for(api: TestClient, person: dict[str, Any], **params: str) -> dict[str, Any]:
    body = ok(
        api.get("/api/v1/measures/access", params={"practitioner_id": person["id"], **params})
    )
    [row] = body["practitioners"]
    assert row["practitioner_id"] == person["id"]
    result: dict[str, Any] = row
    return result


def test_third_next_available_counts_days_to_the_third_free_time(
    api: TestClient, clinic: dict[str, Any]
) -> None:
    person = new_practitioner(api, clinic)
    kind_only = {"appointment_type_id": clinic["kind"]["id"]}
    [none_yet] = measures_for(api, person, **kind_only)["third_next_available"]
    assert none_yet["days"] is None
    today = dt.datetime.now(CHICAGO).date()
    first_day = today + dt.timedelta(days=10)
    # One hour a week: 30-minute visits with a 10-minute buffer fit at 09:00 and 09:15.
    ok(
        api.post(
            "/api/v1/availability-rules",
            json={
                "practitioner_id": person["id"],
                "location_id": clinic["location"]["id"],
                "rrule": "FREQ=WEEKLY",
                "start_time": "09:00",
                "end_time": "10:00",
                "valid_from": first_day.isoformat(),
            },
        ),
        201,
    )
    [tnaa] = measures_for(api, person, **kind_only)["third_next_available"]
    assert tnaa["appointment_type_id"] == clinic["kind"]["id"]
    assert tnaa["days"] == 17
    third = dt.datetime.fromisoformat(tnaa["third_slot_at"]).astimezone(CHICAGO)
    assert (third.date(), third.time()) == (first_day + dt.timedelta(days=7), dt.time(9, 0))
    first_time = dt.datetime.combine(first_day, dt.time(9), CHICAGO)
    ok(book(api, {**clinic, "people": [person]}, first_time), 201)
    [later] = measures_for(api, person, **kind_only)["third_next_available"]
    assert later["days"] == 24


def test_no_show_rate_and_lead_time(
    api: TestClient, clinic: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    person = new_practitioner(api, clinic)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    day = dt.timedelta(days=1)
    # (status, starts this long ago (negative: ahead), booked this long before the visit)
    visits = [
        ("fulfilled", 10 * day, 10 * day),
        ("fulfilled", 12 * day, 3 * day),
        ("checked-in", 2 * day, 40 * day),  # booked before the period: no lead time
        ("noshow", 5 * day, 1 * day),
        ("cancelled", 6 * day, 1 * day),  # neither a visit nor a no-show
        ("booked", -9 * day, 14 * day),  # ahead: counts for lead time only
        ("noshow", 45 * day, 1 * day),  # before the period
    ]
    with unit_of_work(factory) as db:
        for status, ago, lead in visits:
            starts = now - ago
            db.add(
                Appointment(
                    patient_id=uuid.UUID(clinic["patient"]["id"]),
                    practitioner_id=uuid.UUID(person["id"]),
                    location_id=uuid.UUID(clinic["location"]["id"]),
                    appointment_type_id=uuid.UUID(clinic["kind"]["id"]),
                    starts_at=starts,
                    ends_at=starts + dt.timedelta(minutes=30),
                    held_until=starts + dt.timedelta(minutes=40),
                    status=status,
                    modality="in-person",
                    patient_token=new_secret(24),
                    created_at=starts - lead,
                )
            )
    today = dt.datetime.now(ZoneInfo("America/Chicago")).date()
    row = measures_for(
        api,
        person,
        start=(today - dt.timedelta(days=30)).isoformat(),
        end=today.isoformat(),
    )
    assert row["no_show"] == {"noshow": 1, "attended": 3, "rate": 0.25}
    # booked 10, 3, 1 and 14 days ahead (fulfilled, fulfilled, no-show, booked): a no-show
    # kept its time too, so it counts; the median of 1, 3, 10, 14 is 6.5
    assert row["lead_time"] == {"appointments": 4, "median_days": 6.5}
    quiet = measures_for(api, person, start="2020-01-01", end="2020-01-31")
    assert quiet["no_show"] == {"noshow": 0, "attended": 0, "rate": None}
    assert quiet["lead_time"] == {"appointments": 0, "median_days": None}
    backwards = api.get(
        "/api/v1/measures/access", params={"start": "2020-02-01", "end": "2020-01-01"}
    )
    assert backwards.status_code == 422
