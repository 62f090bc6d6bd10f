"""A synthetic clinic for demos, tests and benchmarks: a directory and a booked schedule, the
same every time.

``clinic(n, seed=..., start=...)`` describes locations (America/Chicago, and one in
America/New_York from three locations on), rooms, the visit types a primary-care clinic books
and ``n`` practitioners: realistic names, valid NPIs, specialties, languages (some Spanish,
Polish, Chinese), the visit types their specialty offers, weekly working hours as RFC 5545
RRULEs (weekdays in two blocks, Tuesdays and Thursdays only, alternate weeks, two sites, a
video-only evening, Saturday clinics), some time off, and the US federal holidays around
``start``. Practitioner ``i`` depends only on ``(seed, i, start, locations)``: the first 50 of
a 500-practitioner clinic are the 50 of a 50-practitioner one.

``plan_visits`` fills a share (or a number) of each practitioner's free time over a window
with visits of existing patients, computed with the availability engine (working hours minus
time off and holidays, on the same 15-minute grid as slot search), so visits never overlap per
practitioner, room or patient; statuses follow the clock (past visits fulfilled or no-shows,
upcoming ones booked, some confirmed or cancelled). ``insert_clinic`` writes the directory
through the ORM (history included); ``insert_visits`` writes visits with SQLAlchemy Core in
batches, the way ``patients.bulk`` writes charts.

Pure down to ``plan_visits``: no database. The federal holidays are computed here from their
rules (the ``holidays`` package is not a dependency). Phone numbers are fictional (555-01xx).
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import random
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from carebridge.db.base import Base
from carebridge.db.history import RecordVersion
from carebridge.fhir import projection
from carebridge.lib.checksums import luhn_digit
from carebridge.lib.ids import new_secret
from carebridge.patients.models import Telecom
from carebridge.patients.synthetic import (
    FAMILY,
    GIVEN,
    US_FEMALE_MIDDLE,
    US_FEMALE_YOUNGER,
    US_MALE_MIDDLE,
    US_MALE_YOUNGER,
)
from carebridge.scheduling import availability
from carebridge.scheduling.models import (
    Appointment,
    AppointmentType,
    AvailabilityRule,
    Holiday,
    Location,
    Offering,
    Practitioner,
    Room,
    TimeOff,
)
from carebridge.security.audit import Action, Actor, record

__all__ = [
    "LOCATIONS",
    "VISIT_TYPES",
    "Clinic",
    "PlannedVisit",
    "SeededClinic",
    "StatusMix",
    "SyntheticHoliday",
    "SyntheticHours",
    "SyntheticLocation",
    "SyntheticPractitioner",
    "SyntheticRoom",
    "SyntheticTimeOff",
    "SyntheticVisitType",
    "clinic",
    "federal_holidays",
    "free_time",
    "insert_clinic",
    "insert_visits",
    "npi",
    "plan_visits",
    "practitioner",
]

STEP = dt.timedelta(minutes=15)  # the slot grid of service.search_slots
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
Interval = tuple[dt.datetime, dt.datetime]


# --- the records ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SyntheticLocation:
    key: str
    name: str
    timezone: str
    address: str
    phone: str


@dataclass(frozen=True, slots=True)
class SyntheticRoom:
    location: str  # location key
    name: str
    kind: str  # exam | therapy-gym | lab

    @property
    def key(self) -> str:
        return f"{self.location}/{self.name}"


@dataclass(frozen=True, slots=True)
class SyntheticVisitType:
    code: str
    name: str
    duration_minutes: int
    buffer_minutes: int
    modality: str
    visit_kind: str
    specialties: tuple[str, ...]
    room_kind: str | None = None
    service_code: str | None = None  # CPT/HCPCS billed
    prior_auth_required: bool = False

    @property
    def held(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.duration_minutes + self.buffer_minutes)


@dataclass(frozen=True, slots=True)
class SyntheticHours:
    """Recurring working hours at a location (local wall-clock times in its zone)."""

    location: str
    rrule: str  # normalized, as availability.parse_rrule gives it back
    start: dt.time
    end: dt.time
    valid_from: dt.date
    valid_until: dt.date | None = None
    exdates: tuple[dt.date, ...] = ()
    modalities: tuple[str, ...] = ()  # empty: any


@dataclass(frozen=True, slots=True)
class SyntheticTimeOff:
    starts_at: dt.datetime  # aware, UTC
    ends_at: dt.datetime
    kind: str  # time-off | block
    reason: str


@dataclass(frozen=True, slots=True)
class SyntheticPractitioner:
    index: int
    name: str
    npi: str
    specialties: tuple[str, ...]
    languages: tuple[str, ...]
    phone: str
    visit_types: tuple[str, ...]  # codes
    home: str  # location key
    hours: tuple[SyntheticHours, ...]
    time_off: tuple[SyntheticTimeOff, ...]


@dataclass(frozen=True, slots=True)
class SyntheticHoliday:
    day: dt.date
    name: str


@dataclass(frozen=True)
class Clinic:
    seed: int
    start: dt.date
    locations: tuple[SyntheticLocation, ...]
    rooms: tuple[SyntheticRoom, ...]
    visit_types: tuple[SyntheticVisitType, ...]
    practitioners: tuple[SyntheticPractitioner, ...]
    holidays: tuple[SyntheticHoliday, ...]

    def location(self, key: str) -> SyntheticLocation:
        return next(loc for loc in self.locations if loc.key == key)

    def visit_type(self, code: str) -> SyntheticVisitType:
        return next(kind for kind in self.visit_types if kind.code == code)


# --- the clinic's fixed parts --------------------------------------------------------------

CHICAGO, NEW_YORK = "America/Chicago", "America/New_York"
LOCATIONS = (
    SyntheticLocation(
        "westside", "Westside Health Center", CHICAGO,
        "2400 W Madison St, Chicago, IL 60612", "+13125550100",
    ),
    SyntheticLocation(
        "pilsen", "Pilsen Family Clinic", CHICAGO,
        "1820 S Blue Island Ave, Chicago, IL 60608", "+13125550110",
    ),
    SyntheticLocation(
        "uptown", "Uptown Community Clinic", CHICAGO,
        "4650 N Broadway, Chicago, IL 60640", "+17735550120",
    ),
    SyntheticLocation(
        "evanston", "Evanston Specialty Center", CHICAGO,
        "1000 Davis St, Evanston, IL 60201", "+18475550130",
    ),
    SyntheticLocation(
        "oak-park", "Oak Park Medical Offices", CHICAGO,
        "1100 Lake St, Oak Park, IL 60301", "+17085550140",
    ),
    SyntheticLocation(
        "avondale", "Avondale Clinic", CHICAGO,
        "3040 N Milwaukee Ave, Chicago, IL 60618", "+17735550150",
    ),
    SyntheticLocation(
        "bridgeport", "Bridgeport Rehab & Wellness", CHICAGO,
        "3220 S Halsted St, Chicago, IL 60608", "+13125550160",
    ),
)  # fmt: skip
BROOKLYN = SyntheticLocation(
    "brooklyn", "Carebridge Brooklyn", NEW_YORK,
    "300 Atlantic Ave, Brooklyn, NY 11201", "+17185550170",
)  # fmt: skip

_PHYSICIANS = ("family-medicine", "internal-medicine", "cardiology", "endocrinology", "pulmonology")
_PRESCRIBERS = (*_PHYSICIANS, "behavioral-health")
VISIT_TYPES = (
    SyntheticVisitType(
        "new-patient", "New patient visit", 40, 0, "in-person", "new", _PRESCRIBERS,
        service_code="99203",
    ),
    SyntheticVisitType(
        "follow-up", "Follow-up visit", 20, 10, "in-person", "follow-up", _PRESCRIBERS,
        service_code="99213",
    ),
    SyntheticVisitType(
        "annual-wellness", "Annual wellness visit", 40, 0, "in-person", "follow-up",
        ("family-medicine", "internal-medicine"), service_code="G0439",
    ),
    SyntheticVisitType(
        "video-check-in", "Video check-in", 20, 0, "video", "follow-up",
        (*_PRESCRIBERS, "nutrition"), service_code="99213",
    ),
    SyntheticVisitType(
        "phone-follow-up", "Phone follow-up", 15, 0, "phone", "follow-up",
        (*_PRESCRIBERS, "nursing"), service_code="99212",
    ),
    SyntheticVisitType(
        "pt-session", "Physical therapy session", 45, 0, "in-person", "follow-up",
        ("physical-therapy",), "therapy-gym", service_code="97110", prior_auth_required=True,
    ),
    SyntheticVisitType(
        "diabetes-education", "Diabetes education", 30, 0, "in-person", "follow-up",
        ("endocrinology", "nutrition", "nursing"), service_code="G0108",
    ),
    SyntheticVisitType(
        "lab-draw", "Lab draw", 10, 0, "in-person", "follow-up", ("laboratory", "nursing"),
        service_code="36415",
    ),
)  # fmt: skip
_VISIT_TYPES = {kind.code: kind for kind in VISIT_TYPES}
# How often each visit type fills a free stretch, among those a practitioner offers there.
TYPE_WEIGHTS = {
    "new-patient": 12,
    "follow-up": 40,
    "annual-wellness": 12,
    "video-check-in": 14,
    "phone-follow-up": 8,
    "pt-session": 40,
    "diabetes-education": 20,
    "lab-draw": 30,
}

# What each specialty offers: (code, share of its practitioners offering it).
_PRIMARY_CARE_OFFERS = (
    ("new-patient", 1.0),
    ("follow-up", 1.0),
    ("annual-wellness", 1.0),
    ("video-check-in", 0.85),
    ("phone-follow-up", 0.7),
)
_SPECIALIST_OFFERS = (
    ("new-patient", 1.0),
    ("follow-up", 1.0),
    ("video-check-in", 0.7),
    ("phone-follow-up", 0.6),
)
OFFERS: dict[str, tuple[tuple[str, float], ...]] = {
    "family-medicine": _PRIMARY_CARE_OFFERS,
    "internal-medicine": _PRIMARY_CARE_OFFERS,
    "cardiology": _SPECIALIST_OFFERS,
    "pulmonology": _SPECIALIST_OFFERS,
    "endocrinology": (
        ("new-patient", 1.0),
        ("follow-up", 1.0),
        ("video-check-in", 0.7),
        ("phone-follow-up", 0.6),
        ("diabetes-education", 0.5),
    ),
    "behavioral-health": (
        ("new-patient", 1.0),
        ("follow-up", 1.0),
        ("video-check-in", 0.95),
        ("phone-follow-up", 0.5),
    ),
    "physical-therapy": (("pt-session", 1.0),),
    "nutrition": (("diabetes-education", 1.0), ("video-check-in", 0.6)),
    "nursing": (("diabetes-education", 1.0), ("phone-follow-up", 1.0), ("lab-draw", 1.0)),
    "laboratory": (("lab-draw", 1.0),),
}
# The first practitioners cover the clinic's services, so even a small demo clinic is whole
# (in about the proportions of SPECIALTY_WEIGHTS: three in four see patients for visits).
SPECIALTY_CYCLE = (
    "family-medicine", "internal-medicine", "family-medicine", "cardiology",
    "behavioral-health", "physical-therapy", "internal-medicine", "endocrinology",
    "family-medicine", "nutrition", "pulmonology", "nursing",
)  # fmt: skip
SPECIALTY_WEIGHTS = {
    "family-medicine": 28,
    "internal-medicine": 20,
    "cardiology": 7,
    "endocrinology": 5,
    "pulmonology": 4,
    "behavioral-health": 12,
    "physical-therapy": 9,
    "nutrition": 4,
    "nursing": 6,
    "laboratory": 5,
}
CREDENTIALS: dict[str, tuple[tuple[str, float], ...]] = {
    **dict.fromkeys(_PHYSICIANS, (("MD", 0.8), ("DO", 0.2))),
    "behavioral-health": (("PhD", 0.35), ("PsyD", 0.2), ("LCSW", 0.35), ("MD", 0.1)),
    "physical-therapy": (("PT, DPT", 1.0),),
    "nutrition": (("RD, LDN", 1.0),),
    "nursing": (("RN, CDCES", 1.0),),
    "laboratory": (("PBT(ASCP)", 1.0),),
}
# Backgrounds of the clinicians' names (weights), and the language each brings.
BACKGROUNDS = {
    "white": 40.0,
    "hispanic": 18.0,
    "black": 12.0,
    "south_asian": 10.0,
    "chinese": 6.0,
    "polish": 5.0,
    "korean": 3.0,
    "filipino": 3.0,
    "arab": 3.0,
}
HOME_LANGUAGE = {"hispanic": ("es", 0.7), "polish": ("pl", 0.6), "chinese": ("zh", 0.6)}
TIME_OFF_REASONS = ("Vacation", "CME conference", "Family leave", "Medical leave")
BLOCK_REASONS = ("Charting block", "Team huddle", "Quality meeting", "Precepting residents")


def _rooms(locations: Sequence[SyntheticLocation]) -> tuple[SyntheticRoom, ...]:
    rooms: list[SyntheticRoom] = []
    for number, loc in enumerate(locations):
        rooms += [SyntheticRoom(loc.key, f"Exam {n}", "exam") for n in range(1, 9)]
        gyms = 4 if number == 0 else 3  # treatment areas of the gym, one patient each
        rooms += [
            SyntheticRoom(loc.key, f"Therapy gym {n}", "therapy-gym") for n in range(1, gyms + 1)
        ]
        rooms.append(SyntheticRoom(loc.key, "Lab", "lab"))
    return tuple(rooms)


def _locations(count: int) -> tuple[SyntheticLocation, ...]:
    """``count`` locations: Chicago ones, the last in New York once there are three."""
    if not 1 <= count <= len(LOCATIONS) + 1:
        raise ValueError(f"locations must be 1..{len(LOCATIONS) + 1}")
    if count < 3:
        return LOCATIONS[:count]
    return (*LOCATIONS[: count - 1], BROOKLYN)


# --- holidays --------------------------------------------------------------------------------


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The ``n``-th ``weekday`` (0=Monday) of the month; ``n=-1`` the last."""
    if n > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: dt.date) -> dt.date:
    """Federal rule: a Saturday holiday is observed the Friday before, a Sunday one the Monday
    after."""
    if day.weekday() == 5:
        return day - dt.timedelta(days=1)
    if day.weekday() == 6:
        return day + dt.timedelta(days=1)
    return day


def federal_holidays(first: dt.date, last: dt.date) -> list[SyntheticHoliday]:
    """The eleven US federal holidays (5 U.S.C. 6103) observed in ``[first, last]``."""
    found = []
    for year in range(first.year - 1, last.year + 2):
        days = [
            (_observed(dt.date(year, 1, 1)), "New Year's Day"),
            (_nth_weekday(year, 1, 0, 3), "Martin Luther King Jr. Day"),
            (_nth_weekday(year, 2, 0, 3), "Washington's Birthday"),
            (_nth_weekday(year, 5, 0, -1), "Memorial Day"),
            (_observed(dt.date(year, 7, 4)), "Independence Day"),
            (_nth_weekday(year, 9, 0, 1), "Labor Day"),
            (_nth_weekday(year, 10, 0, 2), "Columbus Day"),
            (_observed(dt.date(year, 11, 11)), "Veterans Day"),
            (_nth_weekday(year, 11, 3, 4), "Thanksgiving Day"),
            (_observed(dt.date(year, 12, 25)), "Christmas Day"),
        ]
        if year >= 2021:  # a federal holiday since 2021
            days.append((_observed(dt.date(year, 6, 19)), "Juneteenth National Independence Day"))
        found += [SyntheticHoliday(day, name) for day, name in days if first <= day <= last]
    return sorted(found, key=lambda h: h.day)


# --- practitioners ---------------------------------------------------------------------------


def npi(seed: int, index: int) -> str:
    """A valid, made-up individual NPI: ``1`` and eight digits (distinct for every index of a
    seed: an affine map modulo 10^8 with a multiplier prime to 10), then the check digit."""
    body = "1" + f"{(48_271 * index + 7_919 * seed + 1_234_567) % 100_000_000:08d}"
    return body + luhn_digit("80840" + body)


def _weighted(rng: random.Random, pairs: Mapping[str, float]) -> str:
    return rng.choices(list(pairs), weights=list(pairs.values()), k=1)[0]


def _name(rng: random.Random, background: str, specialty: str) -> str:
    sex = "female" if rng.random() < 0.55 else "male"
    us = {
        "female": US_FEMALE_MIDDLE + US_FEMALE_YOUNGER,
        "male": US_MALE_MIDDLE + US_MALE_YOUNGER,
    }[sex]
    share_us = {"white": 1.0, "black": 0.6, "filipino": 0.5, "korean": 0.4, "polish": 0.4}
    if rng.random() < share_us.get(background, 0.15):
        given = rng.choice(us)
    else:
        given = rng.choice(GIVEN[background][sex])
    family = rng.choice(FAMILY[background])
    credentials = CREDENTIALS[specialty]
    credential = rng.choices([c for c, _ in credentials], [w for _, w in credentials])[0]
    return f"{given} {family}, {credential}"


_GOLDEN = 0.6180339887498949  # 1/phi
_SPECIALTY_CUMULATIVE = tuple(itertools.accumulate(SPECIALTY_WEIGHTS.values()))


def _specialty(seed: int, index: int) -> str:
    """After the cycle, specialties follow a low-discrepancy (golden ratio) sequence over the
    weights rather than independent draws: the first n practitioners of any clinic hold the
    specialties in the weights' proportions, give or take one, so clinics of every size
    have the same mix (and a benchmark comparing sizes compares like with like)."""
    if index < len(SPECIALTY_CYCLE):
        return SPECIALTY_CYCLE[index]
    point = (index * _GOLDEN + seed * 0.7548776662466927) % 1.0
    target = point * _SPECIALTY_CUMULATIVE[-1]
    position = bisect.bisect_right(_SPECIALTY_CUMULATIVE, target)
    return list(SPECIALTY_WEIGHTS)[min(position, len(SPECIALTY_WEIGHTS) - 1)]


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _hours(
    rng: random.Random,
    specialty: str,
    home: SyntheticLocation,
    locations: Sequence[SyntheticLocation],
    offers_video: bool,
    start: dt.date,
) -> tuple[SyntheticHours, ...]:
    t = dt.time
    since = _monday(start) - dt.timedelta(weeks=rng.randint(4, 60))
    until = start + dt.timedelta(days=rng.randint(25, 60)) if rng.random() < 0.05 else None

    def rule(
        rrule: str,
        begin: dt.time,
        end: dt.time,
        where: SyntheticLocation = home,
        modalities: tuple[str, ...] = (),
    ) -> SyntheticHours:
        return SyntheticHours(where.key, rrule, begin, end, since, until, (), modalities)

    weekdays = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"
    if specialty == "laboratory":
        rules = [rule(weekdays, t(7), t(11)), rule(weekdays, t(11, 30), t(15))]
    else:
        others = [loc for loc in locations if loc.timezone == home.timezone and loc != home]
        patterns = {"split": 40.0, "late": 10.0, "tu-th": 10.0, "alternate": 8.0, "mornings": 8.0}
        if others:
            patterns["two-sites"] = 14.0
        pattern = _weighted(rng, patterns)
        if pattern == "split":
            rules = [rule(weekdays, t(8), t(12)), rule(weekdays, t(13), t(17))]
        elif pattern == "late":
            days = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH"
            rules = [rule(days, t(9), t(12, 30)), rule(days, t(13, 30), t(18))]
        elif pattern == "tu-th":
            rules = [rule("FREQ=WEEKLY;BYDAY=TU,TH", t(8, 30), t(16, 30))]
        elif pattern == "alternate":
            rules = [rule("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR", t(8), t(16))]
        elif pattern == "mornings":
            rules = [rule(weekdays, t(7, 30), t(12, 30))]
        else:
            second = rng.choice(others)
            days = "FREQ=WEEKLY;BYDAY=MO,WE,FR"
            rules = [
                rule(days, t(8), t(12)),
                rule(days, t(13), t(17)),
                rule("FREQ=WEEKLY;BYDAY=TU,TH", t(9), t(17), second),
            ]
        if offers_video and rng.random() < 0.15:
            rules.append(rule("FREQ=WEEKLY;BYDAY=WE", t(18), t(20), modalities=("video", "phone")))
        if specialty in ("family-medicine", "internal-medicine", "physical-therapy") and (
            rng.random() < 0.1
        ):
            rules.append(rule("FREQ=MONTHLY;BYDAY=1SA,3SA", t(9), t(12)))
    if rng.random() < 0.08:  # one day skipped (the clinic hosts a training, say)
        skipped = start + dt.timedelta(days=rng.randrange(28))
        rules[0] = replace(rules[0], exdates=(skipped,))
    return tuple(rules)


def _local(day: dt.date, clock: dt.time, zone: str) -> dt.datetime:
    return dt.datetime.combine(day, clock, tzinfo=ZoneInfo(zone)).astimezone(dt.UTC)


def _time_off(rng: random.Random, zone: str, start: dt.date) -> tuple[SyntheticTimeOff, ...]:
    found = []
    if rng.random() < 0.2:  # a few days away, weekdays, within the next five weeks
        first = start + dt.timedelta(days=rng.randrange(-7, 35))
        while first.weekday() >= 5:
            first += dt.timedelta(days=1)
        days = rng.randint(2, 5)
        found.append(
            SyntheticTimeOff(
                _local(first, dt.time(), zone),
                _local(first + dt.timedelta(days=days), dt.time(), zone),
                "time-off",
                rng.choice(TIME_OFF_REASONS),
            )
        )
    for _ in range(rng.choice((0, 0, 1, 2))):  # an afternoon block for admin work
        day = start + dt.timedelta(days=rng.randrange(-7, 21))
        if day.weekday() >= 5:
            continue
        begin = rng.choice((dt.time(15), dt.time(15, 30), dt.time(16)))
        found.append(
            SyntheticTimeOff(
                _local(day, begin, zone),
                _local(day, dt.time(17), zone),
                "block",
                rng.choice(BLOCK_REASONS),
            )
        )
    found.sort(key=lambda off: off.starts_at)
    return tuple(found)


def practitioner(
    seed: int, index: int, start: dt.date, locations: Sequence[SyntheticLocation]
) -> SyntheticPractitioner:
    """Practitioner ``index`` of the clinic of ``seed`` (depends on nothing else)."""
    rng = random.Random(f"carebridge-clinic:{seed}:{index}")  # noqa: S311 - test data
    specialty = _specialty(seed, index)
    specialties = [specialty]
    if specialty in ("cardiology", "endocrinology", "pulmonology") and rng.random() < 0.3:
        specialties.append("internal-medicine")
    # Every few practitioners speak Spanish, Polish or Chinese, so small clinics have some too.
    if index % 7 == 1:
        background = "hispanic"
    elif index % 11 == 3:
        background = "polish"
    elif index % 13 == 5:
        background = "chinese"
    else:
        background = _weighted(rng, BACKGROUNDS)
    languages = ["en"]
    home_language = HOME_LANGUAGE.get(background)
    chosen = index % 7 == 1 or index % 11 == 3 or index % 13 == 5
    if home_language and (chosen or rng.random() < home_language[1]):
        languages.append(home_language[0])
    elif background != "hispanic" and rng.random() < 0.1:
        languages.append("es")  # learned it: many Chicago clinicians did
    offers = [code for code, share in OFFERS[specialty] if rng.random() < share]
    homes = {loc.key: (3.0 if n == 0 else 1.0) for n, loc in enumerate(locations)}
    home_key = _weighted(rng, homes)
    home = next(loc for loc in locations if loc.key == home_key)
    hours = _hours(rng, specialty, home, locations, "video-check-in" in offers, start)
    area = home.phone[2:5]
    return SyntheticPractitioner(
        index=index,
        name=_name(rng, background, specialty),
        npi=npi(seed, index),
        specialties=tuple(specialties),
        languages=tuple(languages),
        phone=f"+1{area}5550{100 + index % 100}",
        visit_types=tuple(offers),
        home=home.key,
        hours=hours,
        time_off=_time_off(rng, home.timezone, start),
    )


def clinic(practitioners: int, *, seed: int = 1, start: dt.date, locations: int = 2) -> Clinic:
    """A clinic of ``practitioners`` people at ``locations`` sites, described around ``start``
    (a local date, usually today): working hours began weeks before it, time off falls from
    a week before it to five weeks after, holidays from two months before to six after."""
    if practitioners < 0:
        raise ValueError("practitioners must not be negative")
    places = _locations(locations)
    return Clinic(
        seed=seed,
        start=start,
        locations=places,
        rooms=_rooms(places),
        visit_types=VISIT_TYPES,
        practitioners=tuple(practitioner(seed, i, start, places) for i in range(practitioners)),
        holidays=tuple(
            federal_holidays(start - dt.timedelta(days=60), start + dt.timedelta(days=183))
        ),
    )


# --- planning visits -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlannedVisit:
    practitioner: int  # index in the clinic
    location: str  # location key
    room: str | None  # room key
    visit_type: str  # code
    patient: int  # index into the caller's patients
    starts_at: dt.datetime
    ends_at: dt.datetime
    held_until: dt.datetime
    modality: str
    status: str
    booked_at: dt.datetime
    changed_at: dt.datetime
    confirmed_at: dt.datetime | None = None
    arrived_at: dt.datetime | None = None
    checked_in_at: dt.datetime | None = None
    cancel_reason: str | None = None
    cancel_note: str | None = None


@dataclass(frozen=True)
class StatusMix:
    """Shares of visits by outcome. Past visits not cancelled or missed were fulfilled;
    upcoming ones are booked unless cancelled (yesterday) or confirmed."""

    noshow: float = 0.0  # of past visits
    past_cancelled: float = 0.0  # of past visits
    cancelled_yesterday: float = 0.0  # of upcoming visits
    confirmed: float = 0.0  # of upcoming visits in the next three days
    lead_days: tuple[int, int] = (1, 40)  # booked this many days ahead


PATIENT_CANCEL_REASONS = ("pat", "pat-fb", "pat-lt", "pat-cpp", "pat-crs")
CANCEL_NOTES = {
    "pat": "Called the front desk to cancel.",
    "pat-fb": "Feeling better; will call back if needed.",
    "pat-lt": "No ride that day.",
    "pat-cpp": None,
    "pat-crs": None,
}


class _Timeline:
    """Non-overlapping half-open intervals of one person or room, sorted."""

    __slots__ = ("ends", "starts")

    def __init__(self) -> None:
        self.starts: list[dt.datetime] = []
        self.ends: list[dt.datetime] = []

    def __len__(self) -> int:
        return len(self.starts)

    def free(self, start: dt.datetime, end: dt.datetime) -> bool:
        i = bisect.bisect_right(self.starts, start)
        if i and self.ends[i - 1] > start:
            return False
        return i == len(self.starts) or self.starts[i] >= end

    def add(self, start: dt.datetime, end: dt.datetime) -> None:
        i = bisect.bisect_right(self.starts, start)
        self.starts.insert(i, start)
        self.ends.insert(i, end)


@cache
def _closed_blocks(days: tuple[dt.date, ...], zone: str) -> list[Interval]:
    return availability.holiday_blocks(days, zone)


def free_time(
    c: Clinic, person: SyntheticPractitioner, start: dt.datetime, end: dt.datetime
) -> list[tuple[SyntheticHours, list[Interval]]]:
    """Each working-hours rule of ``person`` with its free time in ``[start, end)``: the
    rule's blocks minus time off and clinic holidays (UTC intervals)."""
    closed = tuple(h.day for h in c.holidays)
    away = [(off.starts_at, off.ends_at) for off in person.time_off]
    found = []
    for number, hours in enumerate(person.hours):
        zone = c.location(hours.location).timezone
        rule = availability.WeeklyRule(
            rrule=hours.rrule,
            start=hours.start,
            end=hours.end,
            valid_from=hours.valid_from,
            valid_until=hours.valid_until,
            exdates=hours.exdates,
            zone=zone,
            key=(person.index, number),
        )
        free = availability.subtract(
            availability.expand(rule, start, end), away + _closed_blocks(closed, zone)
        )
        found.append((hours, free))
    return found


def _ceil(moment: dt.datetime) -> dt.datetime:
    remainder = (moment - _EPOCH) % STEP
    return moment if not remainder else moment + (STEP - remainder)


@dataclass(frozen=True, slots=True)
class _Candidate:
    practitioner: int
    location: str
    kind: SyntheticVisitType
    starts_at: dt.datetime


def _pack(
    c: Clinic, person: SyntheticPractitioner, start: dt.datetime, end: dt.datetime, seed: int
) -> list[_Candidate]:
    """The practitioner's free time packed with visits back to back on the 15-minute grid:
    every time a visit could be booked, none overlapping."""
    rng = random.Random(f"carebridge-clinic-pack:{seed}:{person.index}")  # noqa: S311
    found: list[_Candidate] = []
    for hours, free in free_time(c, person, start, end):
        kinds = [
            c.visit_type(code)
            for code in person.visit_types
            if not hours.modalities or c.visit_type(code).modality in hours.modalities
        ]
        if not kinds:
            continue
        weights = [TYPE_WEIGHTS.get(k.code, 10) for k in kinds]
        shortest = min(kinds, key=lambda k: k.held)
        for free_start, free_end in free:
            cursor = _ceil(free_start)
            while cursor + shortest.held <= free_end:
                kind = rng.choices(kinds, weights)[0]
                if cursor + kind.held > free_end:
                    kind = shortest
                found.append(_Candidate(person.index, hours.location, kind, cursor))
                cursor = _ceil(cursor + kind.held)
    found.sort(key=lambda v: v.starts_at)
    # Rules of one practitioner do not overlap, but a stray overlap must never be booked.
    kept: list[_Candidate] = []
    for candidate in found:
        if not kept or kept[-1].starts_at + kept[-1].kind.held <= candidate.starts_at:
            kept.append(candidate)
    return kept


def plan_visits(
    c: Clinic,
    *,
    patients: int,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
    fill: float | None = None,
    count: int | None = None,
    seed: int = 1,
    mix: StatusMix | None = None,
    max_per_patient: int | None = None,
) -> list[PlannedVisit]:
    """Visits in ``[start, end)`` for patients ``0..patients-1``, earliest first.

    Either ``fill`` (each bookable time taken with that probability) or ``count`` (that many
    visits, spread at random over everyone's free time; fewer when not enough fit). Visits
    never overlap per practitioner (time held, buffer included), per room (a therapy gym for
    physical therapy) or per patient. Statuses follow ``now`` and ``mix``.
    """
    if (fill is None) == (count is None):
        raise ValueError("give either fill or count")
    if patients < 1:
        return []
    mix = mix or StatusMix()
    rng = random.Random(f"carebridge-clinic-visits:{c.seed}:{seed}")  # noqa: S311
    candidates = [v for p in c.practitioners for v in _pack(c, p, start, end, seed)]
    if count is not None:
        rng.shuffle(candidates)
    wanted = count if count is not None else len(candidates)
    rooms_by_kind: dict[tuple[str, str], list[SyntheticRoom]] = defaultdict(list)
    for room in c.rooms:
        rooms_by_kind[room.location, room.kind].append(room)
    room_time: dict[str, _Timeline] = defaultdict(_Timeline)
    patient_time: dict[int, _Timeline] = defaultdict(_Timeline)
    visits: list[PlannedVisit] = []
    for candidate in candidates:
        if len(visits) >= wanted:
            break
        if fill is not None and rng.random() >= fill:
            continue
        kind = candidate.kind
        begins = candidate.starts_at
        held = begins + kind.held
        room_key = None
        if kind.room_kind:
            room_key = next(
                (
                    r.key
                    for r in rooms_by_kind[candidate.location, kind.room_kind]
                    if room_time[r.key].free(begins, held)
                ),
                None,
            )
            if room_key is None:
                continue
        patient = None
        for _ in range(30):
            pick = rng.randrange(patients)
            line = patient_time[pick]
            if max_per_patient is not None and len(line) >= max_per_patient:
                continue
            if line.free(begins, held):
                patient = pick
                break
        if patient is None:
            continue
        patient_time[patient].add(begins, held)
        if room_key is not None:
            room_time[room_key].add(begins, held)
        visits.append(_with_status(rng, candidate, room_key, patient, now, mix))
    visits.sort(key=lambda v: (v.starts_at, v.practitioner))
    return visits


def _with_status(
    rng: random.Random,
    candidate: _Candidate,
    room: str | None,
    patient: int,
    now: dt.datetime,
    mix: StatusMix,
) -> PlannedVisit:
    kind = candidate.kind
    begins = candidate.starts_at
    ends = begins + dt.timedelta(minutes=kind.duration_minutes)
    hour = dt.timedelta(hours=1)
    lead = dt.timedelta(days=rng.randint(*mix.lead_days), hours=rng.randint(0, 9))
    booked = min(begins - lead, now - hour)
    visit = PlannedVisit(
        practitioner=candidate.practitioner,
        location=candidate.location,
        room=room,
        visit_type=kind.code,
        patient=patient,
        starts_at=begins,
        ends_at=ends,
        held_until=begins + kind.held,
        modality=kind.modality,
        status="booked",
        booked_at=booked,
        changed_at=booked,
    )
    draw = rng.random()
    if begins < now:
        if draw < mix.past_cancelled:
            reason = rng.choice(PATIENT_CANCEL_REASONS)
            changed = max(booked, begins - dt.timedelta(hours=rng.randint(2, 48)))
            return replace(
                visit,
                status="cancelled",
                changed_at=changed,
                cancel_reason=reason,
                cancel_note=CANCEL_NOTES[reason],
            )
        if draw < mix.past_cancelled + mix.noshow:
            return replace(visit, status="noshow", changed_at=begins + 2 * STEP)
        arrived = begins - dt.timedelta(minutes=rng.randint(3, 20))
        if ends > now:  # under way
            return replace(
                visit,
                status="checked-in",
                arrived_at=arrived,
                checked_in_at=arrived + dt.timedelta(minutes=2),
                changed_at=arrived + dt.timedelta(minutes=2),
            )
        return replace(
            visit,
            status="fulfilled",
            arrived_at=arrived,
            checked_in_at=arrived + dt.timedelta(minutes=2),
            changed_at=ends + dt.timedelta(minutes=rng.randint(2, 30)),
        )
    if draw < mix.cancelled_yesterday:
        changed = now - dt.timedelta(hours=rng.randint(16, 30), minutes=rng.randint(0, 59))
        reason = rng.choice(PATIENT_CANCEL_REASONS)
        return replace(
            visit,
            status="cancelled",
            booked_at=min(booked, changed - dt.timedelta(days=2)),
            changed_at=changed,
            cancel_reason=reason,
            cancel_note=CANCEL_NOTES[reason],
        )
    if begins - now < dt.timedelta(days=3) and rng.random() < mix.confirmed:
        confirmed = max(booked, min(now, begins - dt.timedelta(days=3))) + hour
        confirmed = min(confirmed, now - dt.timedelta(minutes=5))
        if confirmed > booked:
            return replace(visit, confirmed_at=confirmed, changed_at=confirmed)
    return visit


# --- writing ---------------------------------------------------------------------------------


@dataclass
class SeededClinic:
    """Database ids of a clinic written by :func:`insert_clinic`."""

    locations: dict[str, uuid.UUID] = field(default_factory=dict)
    rooms: dict[str, uuid.UUID] = field(default_factory=dict)  # by room key
    visit_types: dict[str, uuid.UUID] = field(default_factory=dict)  # by code
    practitioners: list[uuid.UUID] = field(default_factory=list)  # by index


def insert_clinic(
    db: Session, actor: Actor, c: Clinic, *, users: Mapping[int, uuid.UUID] | None = None
) -> SeededClinic:
    """Write the clinic's directory in the caller's unit of work (no commit): locations,
    rooms, visit types (reusing those whose code exists), practitioners and what they offer,
    working hours, time off and holidays (days already closed are skipped). Through the ORM,
    so every row has its history; one audit row for the whole import. ``users`` links
    practitioners (by index) to user accounts. The NPIs must not be registered yet."""
    users = users or {}
    seeded = SeededClinic()
    places = [
        Location(name=loc.name, timezone=loc.timezone, address=loc.address, phone=loc.phone)
        for loc in c.locations
    ]
    db.add_all(places)
    db.flush()
    seeded.locations = {loc.key: row.id for loc, row in zip(c.locations, places, strict=True)}
    rooms = [
        Room(location_id=seeded.locations[room.location], name=room.name, kind=room.kind)
        for room in c.rooms
    ]
    existing = {
        row.code: row.id
        for row in db.scalars(
            select(AppointmentType).where(
                AppointmentType.code.in_([kind.code for kind in c.visit_types])
            )
        )
    }
    kinds = {
        kind.code: AppointmentType(
            code=kind.code,
            name=kind.name,
            duration_minutes=kind.duration_minutes,
            buffer_minutes=kind.buffer_minutes,
            modality=kind.modality,
            visit_kind=kind.visit_kind,
            specialties=list(kind.specialties),
            room_kind=kind.room_kind,
            service_code=kind.service_code,
            prior_auth_required=kind.prior_auth_required,
        )
        for kind in c.visit_types
        if kind.code not in existing
    }
    people = [
        Practitioner(
            name=p.name,
            npi=p.npi,
            specialties=list(p.specialties),
            languages=list(p.languages),
            phone=p.phone,
            user_id=users.get(p.index),
            calendar_token=new_secret(24),
        )
        for p in c.practitioners
    ]
    db.add_all([*rooms, *kinds.values(), *people])
    db.flush()
    seeded.rooms = {room.key: row.id for room, row in zip(c.rooms, rooms, strict=True)}
    seeded.visit_types = {**existing, **{code: row.id for code, row in kinds.items()}}
    seeded.practitioners = [row.id for row in people]
    rows: list[Any] = []
    for p, person_id in zip(c.practitioners, seeded.practitioners, strict=True):
        rows += [
            Offering(practitioner_id=person_id, appointment_type_id=seeded.visit_types[code])
            for code in p.visit_types
        ]
        rows += [
            AvailabilityRule(
                practitioner_id=person_id,
                location_id=seeded.locations[h.location],
                rrule=availability.parse_rrule(h.rrule, valid_from=h.valid_from),
                start_time=h.start,
                end_time=h.end,
                valid_from=h.valid_from,
                valid_until=h.valid_until,
                exdates=[d.isoformat() for d in h.exdates],
                modalities=list(h.modalities),
            )
            for h in p.hours
        ]
        rows += [
            TimeOff(
                practitioner_id=person_id,
                starts_at=off.starts_at,
                ends_at=off.ends_at,
                kind=off.kind,
                reason=off.reason,
                status="active",
            )
            for off in p.time_off
        ]
    closed = set(db.scalars(select(Holiday.day).where(Holiday.location_id.is_(None))))
    rows += [Holiday(day=h.day, name=h.name) for h in c.holidays if h.day not in closed]
    db.add_all(rows)
    record(
        db,
        actor,
        Action.CREATE,
        entity_type="ClinicImport",
        reason=(
            f"seeded {len(c.practitioners)} practitioners at {len(c.locations)} locations "
            f"(synthetic clinic, seed {c.seed})"
        ),
    )
    db.flush()
    return seeded


APPOINTMENTS = Base.metadata.tables[Appointment.__tablename__]
VERSIONS = Base.metadata.tables[RecordVersion.__tablename__]


def _phones(db: Session, patient_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Each patient's first active phone number (as service.book picks it)."""
    wanted = list(dict.fromkeys(patient_ids))
    found: dict[uuid.UUID, str] = {}
    for first in range(0, len(wanted), 500):
        rows = db.execute(
            select(Telecom.patient_id, Telecom.value)
            .where(
                Telecom.patient_id.in_(wanted[first : first + 500]),
                Telecom.system == "phone",
                Telecom.status == "active",
            )
            .order_by(Telecom.patient_id, Telecom.rank)
        )
        for patient_id, value in rows:
            found.setdefault(patient_id, value)
    return found


def _json(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value) if isinstance(value, uuid.UUID) else value


def _snapshot(row: Mapping[str, Any]) -> dict[str, Any]:
    """The row as db.history.snapshot writes it (UUIDs and times as text)."""
    return {key: _json(value) for key, value in row.items()}


def insert_visits(
    db: Session,
    actor: Actor,
    seeded: SeededClinic,
    visits: Sequence[PlannedVisit],
    patient_ids: Sequence[uuid.UUID],
    *,
    history: bool = True,
    render: bool = True,
    batch_size: int = 2000,
) -> list[uuid.UUID]:
    """Insert planned visits (``patient`` indexes ``patient_ids``) with one executemany per
    batch, in the caller's unit of work; give back their ids in order.

    Every column is set, the tracked ones from the plan (booked / last changed). No
    reminders are planned: bulk visits would queue thousands of messages. With ``history``
    each row also gets its 'create' snapshot in ``record_versions``, as the ORM would write;
    each batch leaves one audit row. With ``render`` each visit's FHIR Appointment is
    written too (a benchmark's bare load leaves them out).
    """
    conn = db.connection()
    phones = _phones(db, (patient_ids[v.patient] for v in visits if v.modality == "phone"))
    ids: list[uuid.UUID] = []
    for first in range(0, len(visits), batch_size):
        batch = visits[first : first + batch_size]
        rows: list[dict[str, Any]] = []
        for v in batch:
            patient_id = patient_ids[v.patient]
            ids.append(uuid.uuid4())
            rows.append(
                {
                    "id": ids[-1],
                    "patient_id": patient_id,
                    "practitioner_id": seeded.practitioners[v.practitioner],
                    "location_id": seeded.locations[v.location],
                    "room_id": None if v.room is None else seeded.rooms[v.room],
                    "appointment_type_id": seeded.visit_types[v.visit_type],
                    "series_id": None,
                    "starts_at": v.starts_at,
                    "ends_at": v.ends_at,
                    "held_until": v.held_until,
                    "status": v.status,
                    "modality": v.modality,
                    "cancel_reason": v.cancel_reason,
                    "cancel_note": v.cancel_note,
                    "telehealth_token": new_secret(24) if v.modality == "video" else None,
                    "phone_number": phones.get(patient_id) if v.modality == "phone" else None,
                    "patient_token": new_secret(24),
                    "confirmed_at": v.confirmed_at,
                    "checked_in_at": v.checked_in_at,
                    "arrived_at": v.arrived_at,
                    "note": None,
                    "rescheduled_from_id": None,
                    "created_at": v.booked_at,
                    "updated_at": v.changed_at,
                    "created_by": actor.user_id,
                    "updated_by": actor.user_id,
                    "version": 1,
                }
            )
        conn.execute(insert(APPOINTMENTS), rows)
        if render:
            projection.render_new(db, "Appointment", [row["id"] for row in rows])
        if history:
            conn.execute(
                insert(VERSIONS),
                [
                    {
                        "entity_type": Appointment.__name__,
                        "entity_id": row["id"],
                        "version": 1,
                        "patient_id": row["patient_id"],
                        "action": "create",
                        "changed_at": row["updated_at"],
                        "changed_by": actor.user_id,
                        "data": _snapshot(row),
                    }
                    for row in rows
                ],
            )
        record(
            db,
            actor,
            Action.CREATE,
            entity_type="AppointmentImport",
            reason=f"seeded {len(rows)} appointments",
        )
        db.flush()
    return ids
