"""Community resources through the JSON API: HSDS import (CSV and JSON; a missing required
field names file, line and field and imports nothing; a re-import is idempotent and updates
by HSDS id), search by need, language, opening hours and distance (worked out by hand), and a
community referral made from a positive screen and closed when the organization confirms (or
followed up by a task when it does not)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
import uuid
import zipfile
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.community import importer
from carebridge.community import service as community
from carebridge.community.models import ResourceOrganization, ResourceService
from carebridge.db.session import unit_of_work
from carebridge.referrals.models import OutsideProvider, Referral
from carebridge.security.audit import Actor
from carebridge.social.models import SocialNeed
from carebridge.tasks.models import Task
from tests.integration import test_scheduling_api as scheduling
from tests.integration.test_patients_api import new_patient, unique_name
from tests.integration.test_scheduling_api import ok
from tests.unit.test_social_scoring import NEGATIVE

api = scheduling.api

DATA = Path(__file__).resolve().parents[1] / "data" / "hsds"
BASIC = DATA / "basic"
# Answers to the AHC screen that are positive for housing (worried about losing it) and
# food (sometimes true on the second food item).
HOUSING_AND_FOOD = {**NEGATIVE, "71802-3": ["LA31994-9"], "88123-5": ["LA6729-3"]}
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def tagged(tag: str, **change: tuple[int, str, str]) -> dict[str, bytes]:
    """The basic dataset with every HSDS id suffixed by ``tag`` (so each test has its own
    records in the shared test database); ``change``: file stem -> (line, field, value)."""
    files: dict[str, bytes] = {}
    for path in sorted(BASIC.glob("*.csv")):
        text = _UUID.sub(lambda m: f"{m.group(0)}-{tag}", path.read_text())
        if path.stem in change:
            line, field, value = change[path.stem]
            rows = text.splitlines()
            header = rows[0].split(",")
            cells = _split(rows[line - 1])
            cells[header.index(field)] = value
            rows[line - 1] = ",".join(cells)
            text = "\n".join(rows) + "\n"
        files[path.name] = text.encode()
    return files


def _split(row: str) -> list[str]:
    return next(csv.reader([row]))


def upload(api: TestClient, files: dict[str, bytes]) -> Any:
    return api.post(
        "/api/v1/resources/import",
        files=[("files", (name, body, "text/csv")) for name, body in files.items()],
    )


def hsds_ids(hits: list[dict[str, Any]], tag: str) -> list[str]:
    """The names of the services found that belong to this test's import, in order."""
    return [h["name"] for h in hits if h["hsds_id"].endswith(tag)]


def fields(problem: dict[str, Any]) -> dict[str, str]:
    return {e["field"]: e["message"] for e in problem.get("errors", [])}


def count(factory: sessionmaker[Session], model: Any, tag: str) -> int:
    with unit_of_work(factory) as db:
        query = select(func.count()).select_from(model).where(model.hsds_id.endswith(tag))
        return int(db.scalar(query) or 0)


def test_missing_required_fields_are_named_and_nothing_is_imported(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    tag = uuid.uuid4().hex[:8]
    # services.csv line 3 (the second service) has no name; locations.csv line 4 has a
    # latitude that is not a number.
    files = tagged(tag, services=(3, "name", ""), locations=(4, "latitude", "north"))
    problem = ok(upload(api, files), 422)
    found = {(p["file"], p["line"], p["field"]) for p in problem["problems"]}
    assert ("services.csv", 3, "name") in found
    assert ("locations.csv", 4, "latitude") in found
    assert "services.csv line 3, name: required but empty" in problem["detail"]
    assert "nothing was imported" in problem["detail"]
    # Nothing at all: not even the organizations and services that were complete.
    assert count(factory, ResourceOrganization, tag) == 0
    assert count(factory, ResourceService, tag) == 0

    # A required column missing altogether is named on the header line.
    files = tagged(tag)
    rows = files["organizations.csv"].decode().splitlines()
    files["organizations.csv"] = (
        "\n".join(",".join(r.split(",")[:2] + r.split(",")[3:]) for r in rows) + "\n"
    ).encode()
    problem = ok(upload(api, files), 422)
    assert {k: problem["problems"][0][k] for k in ("file", "line", "field")} == {
        "file": "organizations.csv",
        "line": 1,
        "field": "description",
    }
    assert count(factory, ResourceOrganization, tag) == 0


def test_reimport_is_idempotent_and_updates_by_hsds_id(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    tag = uuid.uuid4().hex[:8]
    first = ok(upload(api, tagged(tag)))
    assert first["created"]["organizations"] == 3
    assert first["created"]["services"] == 3
    assert first["created"]["schedules"] == 2 + 5 + 3  # TU,TH + MO-FR + MO,WE,FR
    again = ok(upload(api, tagged(tag)))
    assert again["created"] == {}
    assert again["updated"] == {}
    assert count(factory, ResourceService, tag) == 3

    renamed = ok(upload(api, tagged(tag, services=(2, "name", "Weekly grocery and produce"))))
    assert renamed["created"] == {}
    assert renamed["updated"] == {"services": 1}
    found = ok(api.get("/api/v1/resources", params={"q": "grocery and produce"}))
    assert hsds_ids(found, tag) == ["Weekly grocery and produce"]
    assert count(factory, ResourceService, tag) == 3


def test_json_import_of_hsds_service_objects(api: TestClient) -> None:
    body = (DATA / "services.json").read_bytes()
    result = ok(
        api.post(
            "/api/v1/resources/import",
            files=[("files", ("services.json", body, "application/json"))],
        )
    )
    assert result["files"] == ["services.json"]
    found = ok(api.get("/api/v1/resources", params={"q": "senior utility", "language": "vi"}))
    assert [h["name"] for h in found] == ["Senior utility bill help"]
    hit = found[0]
    assert hit["needs"] == ["utilities"]  # from taxonomy term BV-8900.9300
    assert hit["organization"] == "Riverside Seniors Network"
    assert [(h["day"], h["opens_at"]) for h in hit["hours"]] == [
        ("Monday", "10:00:00"),
        ("Thursday", "10:00:00"),
    ]
    assert hit["places"][0]["address"] == "1700 E Riverside Dr, Austin, TX, 78741"
    assert hit["phones"] == ["512-555-0190"]

    broken = body.replace(b'"name": "Riverside Seniors Network"', b'"name": ""')
    problem = ok(
        api.post(
            "/api/v1/resources/import",
            files=[("files", ("services.json", broken, "application/json"))],
        ),
        422,
    )
    assert problem["problems"][0]["field"] == "service[1].organization.name"
    assert problem["problems"][0]["line"] == 1


def test_search_by_need_language_hours_and_distance(api: TestClient) -> None:
    tag = uuid.uuid4().hex[:8]
    ok(upload(api, tagged(tag)))

    def names(**params: Any) -> list[str]:
        return hsds_ids(ok(api.get("/api/v1/resources", params=params)), tag)

    assert names(need="food") == ["Weekly grocery pantry"]
    assert names(need="housing") == ["Emergency rent assistance"]
    assert names(need="transportation") == ["Rides to medical appointments"]
    # Spanish: the pantry and the rides list it; the housing desk lists English only.
    assert names(language="es") == ["Rides to medical appointments", "Weekly grocery pantry"]
    # Wednesday 09:30: housing is open 09-17 weekdays, rides 08-18 Mon/Wed/Fri; the pantry
    # opens Tuesdays and Thursdays only.
    assert names(day=3, time="09:30") == [
        "Emergency rent assistance",
        "Rides to medical appointments",
    ]
    # Tuesday 14:00: the pantry closes at 14:00 (closing time is not open), housing is open.
    assert names(day=2, time="14:00") == ["Emergency rent assistance"]
    assert names(day=2, time="13:59") == ["Emergency rent assistance", "Weekly grocery pantry"]
    assert names(day=6, time="10:00") == []

    # Distance from (30.2672, -97.7431), the pantry's own coordinates.
    # Housing is 0.09 degrees of latitude north: d = R * 0.09 * pi/180
    #   = 6371.0088 * 0.0015708 = 10.007 km.
    # Rides is 0.2 degrees of longitude east at the same latitude:
    #   d = 2R * asin(cos(30.2672 deg) * sin(0.1 deg)) = 2 * 6371.0088 * asin(0.86370 * 0.0017453)
    #     = 19.208 km.
    found = [
        h
        for h in ok(api.get("/api/v1/resources", params={"lat": 30.2672, "lon": -97.7431}))
        if h["hsds_id"].endswith(tag)
    ]
    assert [h["name"] for h in found] == [
        "Weekly grocery pantry",
        "Emergency rent assistance",
        "Rides to medical appointments",
    ]
    assert [h["distance_km"] for h in found] == [0.0, 10.01, 19.21]
    assert math.isclose(found[1]["places"][0]["distance_km"], 10.0075, abs_tol=0.001)
    near = names(lat=30.2672, lon=-97.7431, within_km=15)
    assert near == ["Weekly grocery pantry", "Emergency rent assistance"]

    problem = ok(api.get("/api/v1/resources", params={"lat": 30.2}), 422)
    assert fields(problem) == {"lon": "Give latitude and longitude together."}
    problem = ok(api.get("/api/v1/resources", params={"day": 2}), 422)
    assert "time" in fields(problem)


def _patient_with_needs(api: TestClient) -> dict[str, Any]:
    body = new_patient(family_name=unique_name(), duplicate_override_reason="test data")
    who: dict[str, Any] = ok(api.post("/api/v1/patients", json=body), 201)
    ok(
        api.post(
            f"/api/v1/patients/{who['id']}/screenings",
            json={"instrument": "ahc-hrsn", "answers": HOUSING_AND_FOOD},
        ),
        201,
    )
    return who


def test_refer_from_a_positive_screen_and_close_the_loop(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    tag = uuid.uuid4().hex[:8]
    ok(upload(api, tagged(tag)))
    who = _patient_with_needs(api)

    suggested = ok(api.get(f"/api/v1/patients/{who['id']}/resource-suggestions"))
    assert set(suggested) == {"housing", "food"}
    pantry = next(h for h in suggested["food"] if h["hsds_id"].endswith(tag))
    assert pantry["name"] == "Weekly grocery pantry"

    made = ok(
        api.post(
            f"/api/v1/patients/{who['id']}/community-referrals",
            json={"service_id": pantry["id"], "need": "food"},
        ),
        201,
    )
    referral = made["referral"]
    assert referral["status"] == "sent"
    assert referral["service_kind"] == "community-service"
    assert referral["provider"]["name"] == "Eastside Community Pantry"
    assert referral["provider"]["kind"] == "community-service"
    assert referral["actions"] == ["accept", "decline", "schedule", "cancel", "confirm"]
    assert made["confirm_within_days"] == 7
    assert made["confirmed_at"] is None
    # The organization's directory entry is made once and reused.
    again = ok(
        api.post(
            f"/api/v1/patients/{who['id']}/community-referrals",
            json={"service_id": pantry["id"], "need": "food", "note": "Second visit"},
        ),
        201,
    )
    assert again["referral"]["provider"]["id"] == referral["provider"]["id"]
    ok(
        api.post(
            f"/api/v1/referrals/{again['referral']['id']}/transitions",
            json={"action": "cancel", "version": again["referral"]["version"], "reason": "Dup"},
        )
    )

    # The organization posts its confirmation: the loop closes and the food need is met.
    stale = ok(
        api.post(
            f"/api/v1/community-referrals/{referral['id']}/confirmation",
            json={"version": referral["version"] - 1},
        ),
        409,
    )
    assert stale["status"] == 409
    closed = ok(
        api.post(
            f"/api/v1/community-referrals/{referral['id']}/confirmation",
            json={"version": referral["version"], "note": "Enrolled for Tuesday pickups"},
        )
    )
    assert closed["referral"]["status"] == "closed"
    assert closed["confirmed_via"] == "api"
    assert closed["confirmation_note"] == "Enrolled for Tuesday pickups"
    ok(
        api.post(
            f"/api/v1/community-referrals/{referral['id']}/confirmation",
            json={"version": closed["referral"]["version"]},
        ),
        409,
    )
    with unit_of_work(factory) as db:
        row = db.get(Referral, uuid.UUID(referral["id"]))
        assert row is not None
        assert row.status == "closed"
        assert row.closed_at is not None
        needs = dict(
            db.execute(
                select(SocialNeed.domain, SocialNeed.status).where(
                    SocialNeed.patient_id == uuid.UUID(who["id"])
                )
            ).all()
        )
        assert needs == {"housing": "open", "food": "addressed"}
        assert (
            db.scalar(
                select(func.count())
                .select_from(OutsideProvider)
                .where(OutsideProvider.id == uuid.UUID(referral["provider"]["id"]))
            )
            == 1
        )
    listed = ok(api.get(f"/api/v1/patients/{who['id']}/community-referrals"))
    assert [c["referral"]["status"] for c in listed] == ["cancelled", "closed"]
    # Only the housing need is left to suggest for.
    assert set(ok(api.get(f"/api/v1/patients/{who['id']}/resource-suggestions"))) == {"housing"}


def test_unconfirmed_referral_raises_one_follow_up_task(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    tag = uuid.uuid4().hex[:8]
    ok(upload(api, tagged(tag)))
    who = _patient_with_needs(api)
    rent = next(
        h
        for h in ok(api.get("/api/v1/resources", params={"need": "housing"}))
        if h["hsds_id"].endswith(tag)
    )
    made = ok(
        api.post(
            f"/api/v1/patients/{who['id']}/community-referrals",
            json={"service_id": rent["id"], "need": "housing", "confirm_within_days": 3},
        ),
        201,
    )
    sent_at = dt.datetime.fromisoformat(made["referral"]["sent_at"])
    key = f"community-unconfirmed:{made['referral']['id']}"
    with unit_of_work(factory) as db:
        community.follow_up_unconfirmed(db, now=sent_at + dt.timedelta(days=2, hours=23))
        assert db.scalar(select(Task).where(Task.dedupe_key == key)) is None
    with unit_of_work(factory) as db:
        community.follow_up_unconfirmed(db, now=sent_at + dt.timedelta(days=3))
        community.follow_up_unconfirmed(db, now=sent_at + dt.timedelta(days=4))
        tasks = db.scalars(select(Task).where(Task.dedupe_key == key)).all()
        assert len(tasks) == 1
        assert tasks[0].title == "Community referral not confirmed: Emergency rent assistance"
        assert tasks[0].owner_id is not None  # the coordinator who referred
        assert tasks[0].is_open
    ok(
        api.post(
            f"/api/v1/community-referrals/{made['referral']['id']}/confirmation",
            json={"version": made["referral"]["version"]},
        )
    )
    with unit_of_work(factory) as db:
        task = db.scalar(select(Task).where(Task.dedupe_key == key))
        assert task is not None
        assert task.status == "completed"


def test_bad_referrals_are_refused(api: TestClient) -> None:
    tag = uuid.uuid4().hex[:8]
    ok(upload(api, tagged(tag)))
    who = _patient_with_needs(api)
    path = f"/api/v1/patients/{who['id']}/community-referrals"
    problem = ok(api.post(path, json={"service_id": str(uuid.uuid4())}), 422)
    assert "service_id" in fields(problem)
    pantry = next(
        h
        for h in ok(api.get("/api/v1/resources", params={"need": "food"}))
        if h["hsds_id"].endswith(tag)
    )
    problem = ok(api.post(path, json={"service_id": pantry["id"], "need": "housing"}), 422)
    assert fields(problem) == {"need": "The service does not meet this need."}
    problem = ok(api.post(path, json={"service_id": pantry["id"], "need": "pets"}), 422)
    assert ok(api.get(f"/api/v1/patients/{who['id']}/community-referrals")) == []

    # "confirm" belongs to community referrals only.
    provider = ok(
        api.post("/api/v1/directory", json={"name": f"Dr {unique_name()}", "kind": "specialist"}),
        201,
    )
    plain = ok(
        api.post(
            f"/api/v1/patients/{who['id']}/referrals",
            json={"provider_id": provider["id"], "service_kind": "specialist", "reason": "Eval"},
        ),
        201,
    )
    assert "confirm" not in plain["actions"]
    refused = ok(
        api.post(
            f"/api/v1/referrals/{plain['id']}/transitions",
            json={"action": "confirm", "version": plain["version"]},
        ),
        409,
    )
    assert "not a community referral" in refused["detail"]


def test_needs_set_by_hand_survive_a_reimport(api: TestClient) -> None:
    tag = uuid.uuid4().hex[:8]
    ok(upload(api, tagged(tag)))
    rides = next(
        h
        for h in ok(api.get("/api/v1/resources", params={"need": "transportation"}))
        if h["hsds_id"].endswith(tag)
    )
    problem = ok(
        api.put(f"/api/v1/resources/{rides['id']}/needs", json={"version": 1, "needs": ["x"]}),
        422,
    )
    assert "unknown need 'x'" in problem["detail"] or problem["errors"]
    changed = ok(
        api.put(
            f"/api/v1/resources/{rides['id']}/needs",
            json={"version": 1, "needs": ["health", "transportation"]},
        )
    )
    assert changed["needs"] == ["transportation", "health"]
    ok(upload(api, tagged(tag)))
    assert ok(api.get(f"/api/v1/resources/{rides['id']}"))["needs"] == [
        "transportation",
        "health",
    ]
    assert "Rides to medical appointments" in hsds_ids(
        ok(api.get("/api/v1/resources", params={"need": "health"})), tag
    )


def test_zip_upload_and_folder_import(api: TestClient, factory: sessionmaker[Session]) -> None:
    tag = uuid.uuid4().hex[:8]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, body in tagged(tag).items():
            archive.writestr(f"hsds/{name}", body)
    result = ok(
        api.post(
            "/api/v1/resources/import",
            files=[("files", ("directory.zip", buffer.getvalue(), "application/zip"))],
        )
    )
    assert result["created"]["services"] == 3
    assert count(factory, ResourceService, tag) == 3
    broken = ok(
        api.post(
            "/api/v1/resources/import",
            files=[("files", ("directory.zip", b"not a zip", "application/zip"))],
        ),
        422,
    )
    assert broken["problems"][0]["message"] == "not a readable zip file"

    # The function the CLI runs reads a folder, in one unit of work.
    with unit_of_work(factory) as db:
        summary = importer.import_path(db, Actor.system("test"), BASIC)
    assert summary.files[0] == "addresses.csv"
    with unit_of_work(factory) as db:
        again = importer.import_path(db, Actor.system("test"), BASIC)
    assert again.created == {}
