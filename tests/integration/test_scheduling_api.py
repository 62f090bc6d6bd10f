"""Scheduling through the JSON API: directory, slot search across providers, booking without
double booking (also under a race on PostgreSQL), reschedule, cancel and statuses."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from carebridge.security.roles import Role
from tests.factories import clinic_today, make_token, make_user
from tests.integration.test_patients_api import new_patient, unique_name

CHICAGO = ZoneInfo("America/Chicago")


def next_weekday(weekday: int, weeks_ahead: int = 1) -> dt.date:
    """A date some weeks ahead on an ISO weekday, so tests never book in the past."""
    today = clinic_today()
    return today + dt.timedelta(days=(weekday - today.isoweekday()) % 7 + 7 * weeks_ahead)


@pytest.fixture
def api(client: TestClient, factory: sessionmaker[Session]) -> TestClient:
    user = make_user(factory, Role.COORDINATOR)
    client.headers["Authorization"] = f"Bearer {make_token(factory, user.username)}"
    return client


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def npi() -> str:
    from carebridge.lib.checksums import luhn_digit

    body = f"1{random.randint(0, 99_999_999):08d}"
    return body + luhn_digit("80840" + body)


@pytest.fixture
def clinic(api: TestClient) -> dict[str, Any]:
    """A location in Chicago, a visit type, two practitioners working weekdays 9-12."""
    tag = uuid.uuid4().hex[:6]
    location = ok(
        api.post(
            "/api/v1/locations",
            json={"name": f"Westside Clinic {tag}", "timezone": "America/Chicago"},
        ),
        201,
    )
    kind = ok(
        api.post(
            "/api/v1/appointment-types",
            json={
                "code": f"fu-{tag}",
                "name": "Follow-up visit",
                "duration_minutes": 30,
                "buffer_minutes": 10,
                "modality": "in-person",
                "specialties": ["family-medicine"],
            },
        ),
        201,
    )
    video = ok(
        api.post(
            "/api/v1/appointment-types",
            json={
                "code": f"tv-{tag}",
                "name": "Video check-in",
                "duration_minutes": 20,
                "modality": "video",
            },
        ),
        201,
    )
    people = []
    for name, languages in ((f"Dr Ada Moss {tag}", ["en"]), (f"Dr Luis Vega {tag}", ["en", "es"])):
        person = ok(
            api.post(
                "/api/v1/practitioners",
                json={
                    "name": name,
                    "npi": npi(),
                    "specialties": ["family-medicine"],
                    "languages": languages,
                    "appointment_type_codes": [kind["code"], video["code"]],
                },
            ),
            201,
        )
        ok(
            api.post(
                "/api/v1/availability-rules",
                json={
                    "practitioner_id": person["id"],
                    "location_id": location["id"],
                    "rrule": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
                    "start_time": "09:00",
                    "end_time": "12:00",
                    "valid_from": "2026-01-01",
                },
            ),
            201,
        )
        people.append(person)
    patient = ok(api.post("/api/v1/patients", json=new_patient(family_name=unique_name())), 201)
    return {
        "location": location,
        "kind": kind,
        "video": video,
        "people": people,
        "patient": patient,
    }


def book(
    api: TestClient,
    clinic: dict[str, Any],
    start: dt.datetime,
    person: int = 0,
    patient: dict[str, Any] | None = None,
    kind: str = "kind",
) -> httpx.Response:
    return api.post(
        "/api/v1/appointments",
        json={
            "patient_id": (patient or clinic["patient"])["id"],
            "appointment_type_id": clinic[kind]["id"],
            "practitioner_id": clinic["people"][person]["id"],
            "location_id": clinic["location"]["id"],
            "starts_at": start.isoformat(),
        },
    )


def test_first_available_across_providers_with_explanations(
    api: TestClient, clinic: dict[str, Any]
) -> None:
    monday = next_weekday(1)
    slots = ok(
        api.post(
            "/api/v1/slots/search",
            json={
                "appointment_type_id": clinic["kind"]["id"],
                "start": monday.isoformat(),
                "days": 1,
                "limit": 50,
            },
        )
    )
    names = {s["practitioner_name"] for s in slots}
    assert names == {p["name"] for p in clinic["people"]}
    first = slots[0]
    local = dt.datetime.fromisoformat(first["starts_at"]).astimezone(CHICAGO)
    assert (local.date(), local.time()) == (monday, dt.time(9, 0))
    assert "(America/Chicago)" in first["explanation"]
    assert "Westside" in first["explanation"]
    starts = [dt.datetime.fromisoformat(s["starts_at"]) for s in slots]
    assert starts == sorted(starts)
    # 30 min visit + 10 min buffer must end by 12:00: the last start is 11:15 local.
    assert max(s.astimezone(CHICAGO).time() for s in starts) == dt.time(11, 15)
    spanish = ok(
        api.post(
            "/api/v1/slots/search",
            json={
                "appointment_type_id": clinic["kind"]["id"],
                "start": monday.isoformat(),
                "days": 1,
                "language": "es",
            },
        )
    )
    assert {s["practitioner_name"] for s in spanish} == {clinic["people"][1]["name"]}
    afternoon = ok(
        api.post(
            "/api/v1/slots/search",
            json={
                "appointment_type_id": clinic["kind"]["id"],
                "start": monday.isoformat(),
                "days": 5,
                "day_part": "afternoon",
            },
        )
    )
    assert afternoon == []


def test_book_then_double_booking_is_409_with_alternatives(
    api: TestClient, clinic: dict[str, Any]
) -> None:
    start = dt.datetime.combine(next_weekday(2), dt.time(9, 30), CHICAGO)
    booked = ok(book(api, clinic, start), 201)
    assert booked["status"] == "booked"
    other = ok(api.post("/api/v1/patients", json=new_patient(family_name=unique_name())), 201)
    clash = book(api, clinic, start + dt.timedelta(minutes=15), patient=other)
    assert clash.status_code == 409
    body = clash.json()
    assert "already booked" in body["detail"]
    assert body["alternatives"]
    alternative = dt.datetime.fromisoformat(body["alternatives"][0]["starts_at"])
    assert alternative >= start + dt.timedelta(minutes=40) or alternative < start
    # the same patient cannot be in two places at once
    self_clash = book(api, clinic, start, person=1)
    assert self_clash.status_code == 409
    assert "patient already has an appointment" in self_clash.json()["detail"]
    slots = ok(
        api.post(
            "/api/v1/slots/search",
            json={
                "appointment_type_id": clinic["kind"]["id"],
                "practitioner_id": clinic["people"][0]["id"],
                "start": start.date().isoformat(),
                "days": 1,
                "limit": 50,
            },
        )
    )
    taken = {dt.datetime.fromisoformat(s["starts_at"]) for s in slots}
    assert start not in taken
    assert start + dt.timedelta(minutes=15) not in taken


@pytest.mark.parametrize(
    ("when", "words"),
    [
        (lambda: dt.datetime.now(CHICAGO) - dt.timedelta(days=1), "past"),
        (lambda: dt.datetime.combine(next_weekday(3), dt.time(15, 0), CHICAGO), "working hours"),
        (lambda: dt.datetime.combine(next_weekday(6), dt.time(10, 0), CHICAGO), "working hours"),
    ],
)
def test_bad_booking_times(api: TestClient, clinic: dict[str, Any], when: Any, words: str) -> None:
    response = book(api, clinic, when())
    assert response.status_code in (409, 422)
    assert words in response.text


def test_invalid_rrule_zone_and_offering(api: TestClient, clinic: dict[str, Any]) -> None:
    bad = api.post(
        "/api/v1/availability-rules",
        json={
            "practitioner_id": clinic["people"][0]["id"],
            "location_id": clinic["location"]["id"],
            "rrule": "FREQ=SOMETIMES",
            "start_time": "09:00",
            "end_time": "12:00",
            "valid_from": "2026-01-01",
        },
    )
    assert bad.status_code == 422
    assert "FREQ=SOMETIMES" in bad.json()["errors"][0]["message"]
    zone = api.post("/api/v1/locations", json={"name": "Nowhere", "timezone": "Mars/Base"})
    assert zone.status_code == 422
    assert "Mars/Base" in zone.text
    bad_npi = api.post(
        "/api/v1/practitioners",
        json={"name": "X", "npi": "1234567890", "specialties": ["cardiology"]},
    )
    assert bad_npi.status_code == 422
    assert "NPI" in bad_npi.text
    lonely = ok(
        api.post(
            "/api/v1/practitioners", json={"name": "Dr No Offer", "specialties": ["cardiology"]}
        ),
        201,
    )
    response = api.post(
        "/api/v1/appointments",
        json={
            "patient_id": clinic["patient"]["id"],
            "appointment_type_id": clinic["kind"]["id"],
            "practitioner_id": lonely["id"],
            "location_id": clinic["location"]["id"],
            "starts_at": dt.datetime.combine(next_weekday(1), dt.time(9), CHICAGO).isoformat(),
        },
    )
    assert response.status_code == 422
    assert "does not offer" in response.text


def test_reschedule_cancel_and_status(api: TestClient, clinic: dict[str, Any]) -> None:
    start = dt.datetime.combine(next_weekday(4), dt.time(10, 0), CHICAGO)
    appointment = ok(book(api, clinic, start), 201)
    url = f"/api/v1/appointments/{appointment['id']}"
    moved = ok(
        api.post(
            f"{url}/reschedule",
            json={
                "version": appointment["version"],
                "starts_at": (start + dt.timedelta(hours=1)).isoformat(),
            },
        )
    )
    assert dt.datetime.fromisoformat(moved["starts_at"]) == start + dt.timedelta(hours=1)
    stale = api.post(f"{url}/cancel", json={"version": appointment["version"], "reason": "pat"})
    assert stale.status_code == 409
    bad_reason = api.post(f"{url}/cancel", json={"version": moved["version"], "reason": "bored"})
    assert bad_reason.status_code == 422
    future_arrival = api.post(
        f"{url}/status", json={"version": moved["version"], "status": "arrived"}
    )
    assert future_arrival.status_code == 422
    cancelled = ok(
        api.post(
            f"{url}/cancel",
            json={"version": moved["version"], "reason": "pat-lt", "note": "no ride"},
        )
    )
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancel_reason"] == "pat-lt"
    again = book(api, clinic, start + dt.timedelta(hours=1))  # the time is free again
    assert again.status_code == 201
    mine = ok(api.get(f"/api/v1/patients/{clinic['patient']['id']}/appointments"))
    assert {a["status"] for a in mine} >= {"cancelled", "booked"}


def test_video_visit_has_a_join_link(api: TestClient, clinic: dict[str, Any]) -> None:
    start = dt.datetime.combine(next_weekday(5), dt.time(11, 0), CHICAGO)
    visit = ok(book(api, clinic, start, kind="video"), 201)
    assert visit["modality"] == "video"
    assert visit["join_url"].startswith("https://video.example.org/carebridge/")
    assert len(visit["join_url"].rsplit("/", 1)[1]) >= 30


def test_working_hours_hold_across_daylight_saving(api: TestClient, clinic: dict[str, Any]) -> None:
    year = clinic_today().year + 1
    # The Monday after the US spring change (second Sunday of March) and one before it.
    march = dt.date(year, 3, 1)
    change = march + dt.timedelta(days=(6 - march.weekday()) % 7 + 7)
    for monday in (change - dt.timedelta(days=6), change + dt.timedelta(days=1)):
        slots = ok(
            api.post(
                "/api/v1/slots/search",
                json={
                    "appointment_type_id": clinic["kind"]["id"],
                    "start": monday.isoformat(),
                    "days": 1,
                    "practitioner_id": clinic["people"][0]["id"],
                },
            )
        )
        local = dt.datetime.fromisoformat(slots[0]["starts_at"]).astimezone(CHICAGO)
        assert local.time() == dt.time(9, 0), monday


def test_racing_clients_get_one_booking(
    db_url: str, api: TestClient, clinic: dict[str, Any], factory: sessionmaker[Session]
) -> None:
    """Many real clients over a real socket race for one slot: exactly one wins."""
    if not db_url.startswith("postgresql"):
        pytest.skip("the race is proven on PostgreSQL (set CAREBRIDGE_TEST_DATABASE_URL)")
    from tests.live import serve

    start = dt.datetime.combine(next_weekday(1, weeks_ahead=2), dt.time(9, 0), CHICAGO)
    patients = [
        ok(api.post("/api/v1/patients", json=new_patient(family_name=unique_name())), 201)
        for _ in range(12)
    ]
    token = api.headers["Authorization"]
    with serve(db_url) as base_url:

        def attempt(patient: dict[str, Any]) -> httpx.Response:
            with httpx.Client(
                base_url=base_url, headers={"Authorization": token}, timeout=30
            ) as http:
                return http.post(
                    "/api/v1/appointments",
                    json={
                        "patient_id": patient["id"],
                        "appointment_type_id": clinic["kind"]["id"],
                        "practitioner_id": clinic["people"][0]["id"],
                        "location_id": clinic["location"]["id"],
                        "starts_at": start.isoformat(),
                    },
                )

        with ThreadPoolExecutor(max_workers=12) as pool:
            results = list(pool.map(attempt, patients))
    codes = sorted(r.status_code for r in results)
    assert codes.count(201) == 1, codes
    assert codes.count(409) == 11, codes
    losers = [r.json() for r in results if r.status_code == 409]
    assert all(body["alternatives"] for body in losers)
