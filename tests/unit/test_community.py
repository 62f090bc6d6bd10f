"""Pure pieces of community resources: distance, weekly hours in words, need domains from
HSDS taxonomy terms, and reading HSDS CSV rows (required fields named by file/line/field)."""

from __future__ import annotations

import datetime as dt
import math

from carebridge.community import codes, hsds
from carebridge.community.search import Hours, When, haversine_km, hours_summary, is_open


def test_haversine_by_hand() -> None:
    # One degree of latitude: R * pi / 180 = 6371.0088 * 0.01745329 = 111.195 km.
    assert math.isclose(haversine_km(30, -97, 31, -97), 111.195, abs_tol=0.001)
    assert haversine_km(30.2672, -97.7431, 30.2672, -97.7431) == 0


def test_hours_in_words_and_open() -> None:
    t = dt.time
    week = [Hours(d, t(9), t(17)) for d in (1, 2, 3, 4, 5)] + [Hours(6, t(9), t(12))]
    assert hours_summary(week) == ["Mon\u2013Fri 09:00\u201317:00", "Sat 09:00\u201312:00"]
    assert hours_summary([Hours(d, t(8), t(20)) for d in range(1, 8)]) == [
        "Every day 08:00\u201320:00"
    ]
    assert hours_summary([Hours(2, t(10), t(14)), Hours(4, t(10), t(14))]) == [
        "Tue, Thu 10:00\u201314:00"
    ]
    assert is_open(week, When(6, t(11, 59)))
    assert not is_open(week, When(6, t(12)))
    assert not is_open(week, When(7, t(10)))


def test_needs_from_taxonomy_and_names() -> None:
    assert codes.needs_from([("BD-1800.2000", "Food Pantries")], "Pantry") == ["food"]
    assert codes.needs_from([("BH-3800.7000", "Rent Payment Assistance")], "Help") == ["housing"]
    assert codes.needs_from([], "Rides to medical appointments") == ["transportation"]
    assert codes.needs_from([], "Open house", "Help with the electric bill") == ["utilities"]
    assert codes.needs_from([("RP-1400.8000-200", "Domestic Violence Hotlines")], "x") == ["safety"]
    assert codes.language_code(None, "Español") == "es"


def test_csv_problems_name_file_line_and_field() -> None:
    data = hsds.read_csv_files(
        {
            "organizations.csv": "id,name,description\no1,Org,Helps\no2,,Helps\n",
            "services.csv": "id,organization_id,name\ns1,o1,Pantry\n",
            "regular_schedules.csv": "id,service_id,weekday,opens_at,closes_at\n"
            "r1,s1,Tuesday,10:00,14:00\nr2,s1,Funday,10:00,14:00\nr3,s1,3,15:00,09:00\n",
        }
    )
    found = [(p.file, p.line, p.field) for p in data.problems]
    assert found == [
        ("organizations.csv", 3, "name"),
        ("services.csv", 1, "status"),
        ("regular_schedules.csv", 3, "weekday"),
        ("regular_schedules.csv", 4, "closes_at"),
    ]
    assert [(o.weekday, o.opens_at) for o in data.openings] == [(2, dt.time(10))]
