"""Scenario ``analytics``: every quality measure over a year of a clinic's activity, at 10k and
100k patients, and how each measure's time grows with the panel.

Data (deterministic for a seed, the same rates per patient at every size): ``--sizes``
patients (default 10,000 and 100,000), one database each, written by SQLAlchemy Core
executemany into the real tables of a database the real migrations made. Per patient over the
calendar year before this one (the period measured): 3 or 4 clinic appointments (fulfilled,
no-show or cancelled, each with a practitioner, a location and its booking lead time, never two
at once for a practitioner or a patient); about 10 % with a hospital discharge (an Encounter and
its Transition with contact due date and contact, a follow-up visit for most, 14 % readmitted and
linked by readmission_of_id, a few to hospice, against advice or deceased); about 33 % with a
referral (outgoing to specialists, therapy, behavioural health, home health, community
services; sent, scheduled, seen, closed with the report, declined or cancelled; a few incoming);
1-5 tasks (completed on time or late, cancelled, failed, still open); 0-3 outreach attempts; 25 %
with a care plan of 1-3 goals due in the year; a coverage each and 12 % with a prior
authorization (its service line and its submission; approved, partial, denied, pended,
cancelled); 55 % screened for social needs (a quarter positive, with their needs addressed,
open or declined); and, when the survey tables exist, post-visit survey invitations for a third
of the fulfilled visits, 45 % answered. One practitioner per 1,000 patients (8 locations,
18 half-hour slots a weekday), one coordinator per 2,000 patients, so each size is the same
clinic grown, not a busier one.

Measured: ``Measure.compute(db, settings, first, last)`` of every measure in
``carebridge.analytics.measures.REGISTRY`` (satisfaction included) over the whole year,
each in one read-only unit of work. A warm-up round, untimed, checks that every measure
counted cases at every size; then ``--rounds`` timed rounds, each measure run on every size in
turn (alternating which first), the median reported. Peak memory: one more untimed
compute of each measure under ``tracemalloc`` (Python allocations: rows read and the cases
kept).

The check: time(largest) / time(smallest) <= (largest / smallest) x 1.15 per measure. Linear is
the bound the issue sets (each measure reads the period's cases: ten times the patients, ten
times the cases); the 15 % allows what a linear algorithm still pays more of at the larger
size: the sorts of the patient lists and the median (n log n: log 100k / log 10k = 1.25 on that
small share), one more B-tree level in the indexes, and the spread of a median of a few rounds.

Runs on SQLite (a temporary file) and on PostgreSQL (a throwaway database created on the server
of CAREBRIDGE_TEST_DATABASE_URL, default postgres@127.0.0.1:5432, dropped afterwards) when one
answers there.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
import os
import platform
import random
import sqlite3
import statistics
import sys
import tracemalloc
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any
from zoneinfo import ZoneInfo

from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Connection, Engine, event, func, insert, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from benchmarks.harness import BenchmarkError
from benchmarks.patients import fresh_database, pg_answers, pg_server
from carebridge.analytics import measures as registry
from carebridge.analytics.results import Measure, MeasureResult
from carebridge.db.base import Base
from carebridge.db.session import make_engine, make_sessionmaker, unit_of_work
from carebridge.lib.time import utcnow
from carebridge.patients import bulk
from carebridge.patients.names import fold
from carebridge.scheduling.models import HOLDING, Appointment
from carebridge.security.audit import Action, Actor, record
from carebridge.settings import Settings
from carebridge.tasks.codes import URGENCY

DEFAULTS: dict[str, Any] = {"sizes": (10_000, 100_000), "rounds": 3}
TOLERANCE = 1.15
CHUNK = 2_000  # patients generated and inserted together, one transaction
LOAD_CACHE_KIB = 256 * 1024  # SQLite page cache of the loading connection
SEEDER = Actor(user_id=None, username="benchmark", role="system")
SECRET_KEY = "benchmark-secret-" + "x" * 40

PATIENTS_PER_PRACTITIONER = 1_000
PATIENTS_PER_COORDINATOR = 2_000
LOCATIONS = 8
SLOTS = 18  # half-hour slots from 08:00 local
SLOT_MINUTES = 30
OUTSIDE_PROVIDERS = 60
PAYERS = ("Acme Health", "Blue Prairie", "Medicare", "Medicaid", "Lakeshore HMO", "Unity Care")

APPOINTMENTS = (3, 4)  # per patient, uniform inclusive
APPOINTMENT_STATUS = {"fulfilled": 78, "noshow": 9, "cancelled": 13}
VISIT_TYPES = (
    ("follow-up", "Follow-up visit", "99213"),
    ("new-patient", "New patient visit", "99203"),
    ("annual-wellness", "Annual wellness visit", "G0439"),
    ("chronic-care", "Chronic care review", "99214"),
)
DISCHARGE_SHARE = 0.10
READMIT_SHARE = 0.14
FOLLOW_UP_VISIT_SHARE = 0.8
ENCOUNTER_CLASS = {"IMP": 70, "OBSENC": 20, "EMER": 10}
DISPOSITION = {"01": 88, "06": 6, "50": 2, "07": 2, "03": 2}
CONTACT = {"on-time": 72, "late": 10, "none": 18}
DECEASED_SHARE = 0.01
REFERRAL_SHARE = 0.30
SECOND_REFERRAL_SHARE = 0.10
INCOMING_SHARE = 0.08
SERVICE_KIND = {
    "specialist": 60,
    "behavioral-health": 12,
    "therapy": 10,
    "home-health": 6,
    "community-service": 12,
}
REFERRAL_STATUS = {
    "closed": 55,
    "seen": 8,
    "scheduled": 10,
    "accepted": 4,
    "sent": 10,
    "declined": 6,
    "cancelled": 7,
}
TASKS = (1, 5)
TASK_KINDS = ("call", "follow-up", "scheduling", "referral", "authorization", "care-plan", "social")
TASK_STATUS = {"completed": 80, "cancelled": 7, "failed": 2, "in-progress": 6, "requested": 5}
ON_TIME_SHARE = 0.85
PRIORITY = {"routine": 70, "urgent": 20, "asap": 8, "stat": 2}
OUTREACH = (0, 3)
OUTREACH_CHANNEL = {"phone": 60, "sms": 25, "email": 10, "letter": 5}
OUTREACH_OUTCOME = {
    "reached": 45,
    "voicemail": 20,
    "no-answer": 25,
    "wrong-number": 5,
    "declined": 5,
}
INBOUND_SHARE = 0.08
CARE_PLAN_SHARE = 0.25
GOALS = (1, 3)
PLAN_STATUS = {"active": 85, "completed": 10, "revoked": 4, "entered-in-error": 1}
GOAL_LIFECYCLE = {"active": 60, "completed": 30, "cancelled": 5, "on-hold": 5}
GOAL_ACHIEVEMENT = {"achieved": 40, "not-achieved": 20, "in-progress": 30, "improving": 10}
AUTH_SHARE = 0.12
AUTH_STATUS = {
    "approved": 68,
    "partially-approved": 8,
    "denied": 12,
    "pended": 4,
    "submitted": 4,
    "cancelled": 4,
}
AUTH_DECISION_HOURS = 60.0  # mean of an exponential: about 6 % take longer than 7 days
SCREENED_SHARE = 0.55
SCREENING_POSITIVE = 0.25
SOCIAL_DOMAINS = ("housing", "food", "transportation", "utilities", "safety")
NEED_STATUS = {"addressed": 50, "open": 35, "declined": 15}
SURVEY_INVITED_SHARE = 0.33
SURVEY_ANSWERED_SHARE = 0.45
OVERALL_WEIGHTS = (1, 1, 1, 1, 2, 3, 4, 8, 15, 24, 40)  # ratings 0..10
SURVEY_TABLES = ("survey_invitations", "survey_responses")

# Inserted in this order: parents before children (PostgreSQL checks foreign keys per statement).
TABLES = (
    "patients",
    "coverages",
    "appointments",
    "encounters",
    "readmissions",  # encounters too, after the stays they readmit
    "transitions",
    "referrals",
    "tasks",
    "outreach_attempts",
    "care_plans",
    "goals",
    "goal_measurements",
    "prior_authorizations",
    "prior_authorization_services",
    "prior_authorization_submissions",
    "social_screenings",
    "social_needs",
    *SURVEY_TABLES,
)
TABLE_OF = {"readmissions": "encounters"}

Rows = dict[str, list[dict[str, Any]]]


def _picker(rng: random.Random, weights: dict[str, int]) -> Callable[[], str]:
    """A weighted choice by one draw into a table holding each key ``weight`` times
    (random.choices costs more than the rest of a row)."""
    table = [key for key, weight in weights.items() for _ in range(weight)]
    size = len(table)
    return lambda: table[int(rng.random() * size)]


def _tracked(at: dt.datetime) -> dict[str, Any]:
    return {"created_at": at, "updated_at": at, "version": 1}


# --- the clinic ----------------------------------------------------------------------------------


@dataclass
class Clinic:
    """The fixed records of one database: practitioners, locations, visit types, staff,
    outside providers and payers, by id."""

    practitioners: list[uuid.UUID]
    locations: list[uuid.UUID]
    visit_types: list[uuid.UUID]
    coordinators: list[uuid.UUID]
    providers: list[uuid.UUID]
    payers: list[uuid.UUID]

    def location_of(self, practitioner: int) -> uuid.UUID:
        return self.locations[practitioner % len(self.locations)]


def insert_clinic(conn: Connection, patients: int, zone: str, now: dt.datetime) -> Clinic:
    practitioners = max(2, patients // PATIENTS_PER_PRACTITIONER)
    coordinators = max(2, patients // PATIENTS_PER_COORDINATOR)
    rows: Rows = {
        "users": [
            {
                "id": uuid.uuid4(),
                "username": f"bench-coord{n + 1:03d}",
                "display_name": f"Coordinator {n + 1:03d}",
                "role": "coordinator",
                "password_hash": "!",  # never signs in
                "is_active": True,
                "must_change_password": False,
                "failed_attempts": 0,
                "totp_enabled": False,
                **_tracked(now),
            }
            for n in range(coordinators)
        ],
        "locations": [
            {"id": uuid.uuid4(), "name": f"Site {n + 1}", "timezone": zone, **_tracked(now)}
            for n in range(LOCATIONS)
        ],
        "practitioners": [
            {
                "id": uuid.uuid4(),
                "name": f"Dr. Bench {n + 1:04d}",
                "specialties": ["internal-medicine"],
                "languages": ["en"],
                **_tracked(now),
            }
            for n in range(practitioners)
        ],
        "appointment_types": [
            {
                "id": uuid.uuid4(),
                "code": code,
                "name": name,
                "duration_minutes": SLOT_MINUTES,
                "modality": "in-person",
                "service_code": service,
                **_tracked(now),
            }
            for code, name, service in VISIT_TYPES
        ],
        "outside_providers": [
            {
                "id": uuid.uuid4(),
                "name": f"Outside Provider {n + 1:03d}",
                "kind": kind,
                **_tracked(now),
            }
            for n in range(OUTSIDE_PROVIDERS)
            for kind in [list(SERVICE_KIND)[n % len(SERVICE_KIND)]]
        ],
        "payers": [
            {"id": uuid.uuid4(), "name": name, "payer_id": f"BENCH{n:03d}", **_tracked(now)}
            for n, name in enumerate(PAYERS)
        ],
    }
    for name, table_rows in rows.items():
        conn.execute(insert(bulk.table(name)), table_rows)

    def ids(name: str) -> list[uuid.UUID]:
        return [r["id"] for r in rows[name]]

    return Clinic(
        practitioners=ids("practitioners"),
        locations=ids("locations"),
        visit_types=ids("appointment_types"),
        coordinators=ids("users"),
        providers=ids("outside_providers"),
        payers=ids("payers"),
    )


class Calendar:
    """Free (practitioner, slot) pairs per weekday, handed out at random, so no practitioner
    is booked twice at once; a full day passes the visit to the next weekday."""

    def __init__(self, rng: random.Random, practitioners: int) -> None:
        self._rng = rng
        self._capacity = practitioners * SLOTS
        self._free: dict[dt.date, list[int]] = {}

    def take(self, day: dt.date, busy: set[dt.date]) -> tuple[dt.date, int, int]:
        """The first weekday from ``day`` the patient has no visit on (``busy``) and a
        practitioner has a free slot: (day, practitioner index, slot)."""
        while True:
            if day.weekday() < 5 and day not in busy:
                free = self._free.get(day)
                if free is None:
                    free = list(range(self._capacity))
                    self._rng.shuffle(free)
                    self._free[day] = free
                if free:
                    pair = free.pop()
                    return day, pair // SLOTS, pair % SLOTS
            day += dt.timedelta(days=1)


# --- the year's activity -------------------------------------------------------------------------


@dataclass
class Generator:
    """Rows for consecutive chunks of patients; every random choice comes from one seeded
    generator, so a size's data is the same on every database."""

    clinic: Clinic
    zone: ZoneInfo
    year: int
    seed: int
    surveys: bool
    rng: random.Random = field(init=False)
    calendar: Calendar = field(init=False)
    counters: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = random.Random(f"carebridge-bench-analytics:{self.seed}")
        self.calendar = Calendar(self.rng, len(self.clinic.practitioners))
        self.first = dt.date(self.year, 1, 1)
        self.days = (dt.date(self.year + 1, 1, 1) - self.first).days
        rng = self.rng
        self.pick = {
            name: _picker(rng, weights)
            for name, weights in (
                ("appointment", APPOINTMENT_STATUS),
                ("class", ENCOUNTER_CLASS),
                ("disposition", DISPOSITION),
                ("contact", CONTACT),
                ("service", SERVICE_KIND),
                ("referral", REFERRAL_STATUS),
                ("task", TASK_STATUS),
                ("priority", PRIORITY),
                ("channel", OUTREACH_CHANNEL),
                ("outcome", OUTREACH_OUTCOME),
                ("plan", PLAN_STATUS),
                ("lifecycle", GOAL_LIFECYCLE),
                ("achievement", GOAL_ACHIEVEMENT),
                ("auth", AUTH_STATUS),
                ("need", NEED_STATUS),
            )
        }
        self.survey_items = _survey_items() if self.surveys else []

    # helpers

    def _id(self) -> uuid.UUID:
        """A random (version 4) UUID from the seeded generator: cheaper than uuid4's
        os.urandom, and the same data for the same seed."""
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def _next(self, name: str) -> int:
        self.counters[name] = self.counters.get(name, 0) + 1
        return self.counters[name]

    def _day(self, last_margin: int = 0) -> dt.date:
        return self.first + dt.timedelta(days=self.rng.randrange(self.days - last_margin))

    def _at(self, day: dt.date, hour: float) -> dt.datetime:
        """UTC instant of a local clock time (hours, fractional) on ``day``."""
        local = dt.datetime.combine(day, dt.time(), self.zone) + dt.timedelta(hours=hour)
        return local.astimezone(dt.UTC)

    def _local_day(self, at: dt.datetime) -> dt.date:
        return at.astimezone(self.zone).date()

    @staticmethod
    def _business_days(day: dt.date, count: int) -> dt.date:
        while count:
            day += dt.timedelta(days=1)
            if day.weekday() < 5:
                count -= 1
        return day

    # one chunk

    def chunk(self, start: int, count: int, now: dt.datetime) -> Rows:
        rows: Rows = {name: [] for name in TABLES}
        for number in range(start, start + count):
            self._patient(rows, number, now)
        return rows

    def _patient(self, rows: Rows, number: int, now: dt.datetime) -> None:
        rng, pick, clinic = self.rng, self.pick, self.clinic
        patient_id = self._id()
        family, given = f"Bench{number:06d}", "Pat"
        deceased = self._day() if rng.random() < DECEASED_SHARE else None
        rows["patients"].append(
            {
                "id": patient_id,
                "mrn": bulk.mrn(number + 1),
                "family_name": family,
                "given_names": given,
                "family_folded": fold(family),
                "given_folded": fold(given),
                "birth_date": dt.date(1935 + number % 70, 1 + number % 12, 1 + number % 28),
                "sex": "female" if number % 2 else "male",
                "deceased_date": deceased,
                "primary_coordinator_id": clinic.coordinators[number % len(clinic.coordinators)],
                **_tracked(now),
            }
        )
        coverage_id = self._id()
        rows["coverages"].append(
            {
                "id": coverage_id,
                "patient_id": patient_id,
                "payer_ref": clinic.payers[number % len(clinic.payers)],
                "member_id": f"M{number:09d}",
                "start_on": dt.date(self.year - 3, 1, 1),
                **_tracked(now),
            }
        )
        busy: set[dt.date] = set()
        visits = rng.randint(*APPOINTMENTS)
        discharge_on: dt.date | None = None
        if rng.random() < DISCHARGE_SHARE:
            discharge_on = self._hospital_stay(rows, patient_id, now)
            if rng.random() < FOLLOW_UP_VISIT_SHARE:
                day = discharge_on + dt.timedelta(days=rng.randint(1, 20))
                status = "fulfilled" if rng.random() < 0.85 else "noshow"
                self._appointment(rows, patient_id, day, busy, status, lead_days=rng.randint(1, 7))
                visits -= 1
        for _ in range(visits):
            lead = min(90, int(rng.expovariate(1 / 12)))
            self._appointment(rows, patient_id, self._day(), busy, pick["appointment"](), lead)
        self._referrals(rows, patient_id, now)
        self._tasks(rows, patient_id)
        if rng.random() < CARE_PLAN_SHARE:
            self._care_plan(rows, patient_id)
        if rng.random() < AUTH_SHARE:
            self._authorization(rows, patient_id, coverage_id)
        if rng.random() < SCREENED_SHARE:
            self._screening(rows, patient_id)

    def _appointment(
        self,
        rows: Rows,
        patient_id: uuid.UUID,
        day: dt.date,
        busy: set[dt.date],
        status: str,
        lead_days: int,
    ) -> None:
        rng, clinic = self.rng, self.clinic
        day, practitioner, slot = self.calendar.take(day, busy)
        busy.add(day)
        starts = self._at(day, 8 + slot * SLOT_MINUTES / 60)
        ends = starts + dt.timedelta(minutes=SLOT_MINUTES)
        booked = starts - dt.timedelta(days=lead_days, hours=rng.uniform(1, 9))
        appointment_id = self._id()
        fulfilled = status == "fulfilled"
        rows["appointments"].append(
            {
                "id": appointment_id,
                "patient_id": patient_id,
                "practitioner_id": clinic.practitioners[practitioner],
                "location_id": clinic.location_of(practitioner),
                "appointment_type_id": clinic.visit_types[rng.randrange(len(clinic.visit_types))],
                "starts_at": starts,
                "ends_at": ends,
                "held_until": ends,
                "status": status,
                "modality": "in-person",
                "cancel_reason": "patient-request" if status == "cancelled" else None,
                "patient_token": self._id().hex,
                "arrived_at": starts - dt.timedelta(minutes=10) if fulfilled else None,
                "checked_in_at": starts - dt.timedelta(minutes=8) if fulfilled else None,
                "created_at": booked,
                "updated_at": ends if fulfilled else booked,
                "version": 1,
            }
        )
        if fulfilled and self.surveys and rng.random() < SURVEY_INVITED_SHARE:
            self._survey(rows, patient_id, appointment_id, ends)

    def _hospital_stay(self, rows: Rows, patient_id: uuid.UUID, now: dt.datetime) -> dt.date:
        """An index stay, its transition, and maybe a readmission (with its own transition);
        the index discharge date."""
        rng, pick = self.rng, self.pick
        admit_day = self._day(last_margin=10)
        out_day = admit_day + dt.timedelta(days=rng.randint(0, 6))
        index_id = self._encounter(
            rows["encounters"], patient_id, admit_day, out_day, pick["class"](), None
        )
        self._transition(rows, patient_id, index_id, out_day, readmission=False)
        if rng.random() < READMIT_SHARE:
            back_day = out_day + dt.timedelta(days=rng.randint(2, 29))
            again = back_day + dt.timedelta(days=rng.randint(1, 5))
            stay = self._encounter(
                rows["readmissions"], patient_id, back_day, again, "IMP", index_id
            )
            self._transition(rows, patient_id, stay, again, readmission=True)
        return out_day

    def _encounter(
        self,
        into: list[dict[str, Any]],
        patient_id: uuid.UUID,
        admit_day: dt.date,
        out_day: dt.date,
        class_code: str,
        readmission_of: uuid.UUID | None,
    ) -> uuid.UUID:
        rng = self.rng
        encounter_id = self._id()
        admit = self._at(admit_day, rng.uniform(0, 23))
        out = max(admit + dt.timedelta(hours=4), self._at(out_day, rng.uniform(10, 17)))
        into.append(
            {
                "id": encounter_id,
                "patient_id": patient_id,
                "facility": "BENCH-HOSP",
                "visit_number": f"V{self._next('visit'):09d}",
                "class_code": class_code,
                "status": "finished",
                "admit_at": admit,
                "discharge_at": out,
                "discharge_disposition": self.pick["disposition"](),
                "diagnoses": [],
                "last_event": "A03",
                "readmission_of_id": readmission_of,
                **_tracked(out),
            }
        )
        return encounter_id

    def _transition(
        self,
        rows: Rows,
        patient_id: uuid.UUID,
        encounter_id: uuid.UUID,
        out_day: dt.date,
        *,
        readmission: bool,
    ) -> None:
        rng = self.rng
        due = self._business_days(out_day, 2)
        contact = self.pick["contact"]()
        contacted = None
        if contact == "on-time":
            contacted = self._at(self._business_days(out_day, rng.randint(1, 2)), 10.5)
        elif contact == "late":
            contacted = self._at(self._business_days(due, rng.randint(1, 4)), 14.0)
        high = rng.random() < 0.4
        rows["transitions"].append(
            {
                "id": self._id(),
                "patient_id": patient_id,
                "encounter_id": encounter_id,
                "status": "done" if contacted is not None else "open",
                "discharged_on": out_day,
                "contact_due_on": due,
                "contacted_at": contacted,
                "complexity": "high" if high else "moderate",
                "follow_up_due_on": out_day + dt.timedelta(days=7 if high else 14),
                "checklist": {},
                "risk": {},
                "lace_score": rng.randint(2, 16),
                "readmission": readmission,
                **_tracked(self._at(out_day, 18.0)),
            }
        )

    def _referrals(self, rows: Rows, patient_id: uuid.UUID, now: dt.datetime) -> None:
        rng, pick, clinic = self.rng, self.pick, self.clinic
        if rng.random() >= REFERRAL_SHARE:
            return
        for _ in range(2 if rng.random() < SECOND_REFERRAL_SHARE else 1):
            sent_day = self._day()
            sent = self._at(sent_day, rng.uniform(9, 16))
            status = pick["referral"]()
            kind = pick["service"]()
            days = rng.randint(7, 70)
            seen_on = report_on = closed = scheduled = accepted = None
            if status in ("accepted", "scheduled", "seen", "closed"):
                accepted = sent + dt.timedelta(days=rng.randint(1, 5))
            if status in ("scheduled", "seen", "closed"):
                scheduled = sent_day + dt.timedelta(days=max(3, days - 5))
            if status in ("seen", "closed"):
                seen_on = scheduled
            if status == "closed":
                closed = sent + dt.timedelta(days=days, hours=2)
                report_on = self._local_day(closed) - dt.timedelta(days=rng.randint(0, 3))
            if status == "declined" and rng.random() < 0.5:
                closed = sent + dt.timedelta(days=rng.randint(2, 10))
                status = "closed"  # a declined referral closed without a report
            rows["referrals"].append(
                {
                    "id": self._id(),
                    "number": f"RB{self._next('referral'):09d}",
                    "patient_id": patient_id,
                    "direction": "incoming" if rng.random() < INCOMING_SHARE else "outgoing",
                    "provider_id": clinic.providers[rng.randrange(len(clinic.providers))],
                    "service_kind": kind,
                    "reason": "Benchmark referral",
                    "urgency": "urgent" if rng.random() < 0.1 else "routine",
                    "diagnoses": [],
                    "status": status,
                    "status_reason": "Patient moved" if status == "cancelled" else None,
                    "sent_at": sent,
                    "accepted_at": accepted,
                    "scheduled_for": scheduled,
                    "seen_on": seen_on,
                    "report_received_on": report_on,
                    "closed_at": closed,
                    **_tracked(sent),
                }
            )

    def _tasks(self, rows: Rows, patient_id: uuid.UUID) -> None:
        rng, pick, clinic = self.rng, self.pick, self.clinic
        task_ids: list[uuid.UUID] = []
        for _ in range(rng.randint(*TASKS)):
            due = self._at(self._day(), rng.uniform(9, 17))
            created = due - dt.timedelta(days=rng.randint(1, 7), hours=rng.uniform(0, 8))
            status = pick["task"]()
            priority = pick["priority"]()
            is_open = status in ("in-progress", "requested")
            done = None
            if status == "completed":
                early = rng.random() < ON_TIME_SHARE
                done = (
                    due - dt.timedelta(hours=rng.uniform(1, 60))
                    if early
                    else due + dt.timedelta(hours=rng.uniform(1, 96))
                )
                done = max(done, created + dt.timedelta(minutes=5))
            kind = TASK_KINDS[rng.randrange(len(TASK_KINDS))]
            task_id = self._id()
            task_ids.append(task_id)
            rows["tasks"].append(
                {
                    "id": task_id,
                    "patient_id": patient_id,
                    "title": f"Benchmark {kind} task",
                    "kind": kind,
                    "status": status,
                    "is_open": is_open,
                    "priority": priority,
                    "urgency": URGENCY[priority],
                    "risk": rng.randint(0, 100),
                    "owner_id": clinic.coordinators[rng.randrange(len(clinic.coordinators))],
                    "due_at": due,
                    "escalation_level": 0,
                    "completed_at": done,
                    "created_at": created,
                    "updated_at": done or created,
                    "version": 1,
                }
            )
        for _ in range(rng.randint(*OUTREACH)):
            at = self._at(self._day(), rng.uniform(9, 18))
            rows["outreach_attempts"].append(
                {
                    "id": self._id(),
                    "patient_id": patient_id,
                    "task_id": task_ids[0] if task_ids and rng.random() < 0.5 else None,
                    "channel": pick["channel"](),
                    "direction": "inbound" if rng.random() < INBOUND_SHARE else "outbound",
                    "outcome": pick["outcome"](),
                    "occurred_at": at,
                    **_tracked(at),
                }
            )

    def _care_plan(self, rows: Rows, patient_id: uuid.UUID) -> None:
        rng, pick = self.rng, self.pick
        plan_id = self._id()
        start = self.first - dt.timedelta(days=rng.randint(30, 400))
        rows["care_plans"].append(
            {
                "id": plan_id,
                "patient_id": patient_id,
                "title": "Benchmark care plan",
                "status": pick["plan"](),
                "start_on": start,
                "review_every_days": 90,
                **_tracked(self._at(start, 12.0)),
            }
        )
        for position in range(rng.randint(*GOALS)):
            goal_id = self._id()
            due = self._day()
            lifecycle = pick["lifecycle"]()
            rows["goals"].append(
                {
                    "id": goal_id,
                    "care_plan_id": plan_id,
                    "description": "HbA1c below 7 %",
                    "measure": "HbA1c",
                    "unit": "%",
                    "comparator": "<",
                    "target_low": 7,
                    "due_on": due,
                    "lifecycle_status": lifecycle,
                    "achievement_status": pick["achievement"](),
                    "position": position,
                    **_tracked(self._at(start, 12.0)),
                }
            )
            measured = due - dt.timedelta(days=rng.randint(0, 60))
            rows["goal_measurements"].append(
                {
                    "id": self._id(),
                    "goal_id": goal_id,
                    "value": round(rng.uniform(5.5, 10.5), 1),
                    "measured_on": measured,
                    "status": "final",
                    **_tracked(self._at(measured, 12.0)),
                }
            )

    def _authorization(self, rows: Rows, patient_id: uuid.UUID, coverage_id: uuid.UUID) -> None:
        rng, clinic = self.rng, self.clinic
        status = self.pick["auth"]()
        sent = self._at(self._day(), rng.uniform(8, 17))
        decided = None
        if status in ("approved", "partially-approved", "denied"):
            decided = sent + dt.timedelta(hours=rng.expovariate(1 / AUTH_DECISION_HOURS))
        elif status == "cancelled" and rng.random() < 0.5:
            decided = sent + dt.timedelta(days=rng.randint(1, 10))
        start = self._local_day(sent) + dt.timedelta(days=7)
        auth_id = self._id()
        number = self._next("authorization")
        rows["prior_authorizations"].append(
            {
                "id": auth_id,
                "number": f"PA{number:09d}",
                "patient_id": patient_id,
                "coverage_id": coverage_id,
                "ordering_practitioner_id": clinic.practitioners[
                    rng.randrange(len(clinic.practitioners))
                ],
                "diagnoses": [],
                "status": status,
                "requested_start": start,
                "requested_end": start + dt.timedelta(days=90),
                "approved_start": start if status in ("approved", "partially-approved") else None,
                "approved_end": start + dt.timedelta(days=90)
                if status in ("approved", "partially-approved")
                else None,
                "auth_number": f"A{number:08d}" if decided and status != "cancelled" else None,
                "decision_reason": "Not medically necessary" if status == "denied" else None,
                "decided_at": decided,
                "decision_source": "payer" if decided and status != "cancelled" else None,
                "attempts": 1,
                **_tracked(sent),
            }
        )
        rows["prior_authorization_services"].append(
            {
                "id": self._id(),
                "authorization_id": auth_id,
                "line": 1,
                "code": "72148",
                "modifiers": [],
                "units_requested": 1,
                "units_approved": 1 if status == "approved" else None,
                "decision": status if decided and status != "cancelled" else None,
            }
        )
        rows["prior_authorization_submissions"].append(
            {
                "id": self._id(),
                "authorization_id": auth_id,
                "channel": "x12-278",
                "trace_number": f"BENCH{number:012d}",
                "request_payload": "ST*278*0001*005010X217~",
                "status": "answered" if decided else "pending",
                "outcome": status if decided else None,
                "attempts": 1,
                "answered_at": decided,
                **_tracked(sent),
            }
        )

    def _screening(self, rows: Rows, patient_id: uuid.UUID) -> None:
        rng, pick = self.rng, self.pick
        day = (
            self._day()
            if rng.random() < 0.9
            else self.first - dt.timedelta(days=rng.randint(1, 200))
        )
        at = self._at(day, rng.uniform(8, 17))
        positive = rng.random() < SCREENING_POSITIVE
        domains = rng.sample(SOCIAL_DOMAINS, rng.randint(1, 2)) if positive else []
        screening_id = self._id()
        in_error = rng.random() < 0.01
        rows["social_screenings"].append(
            {
                "id": screening_id,
                "patient_id": patient_id,
                "instrument": "ahc-hrsn",
                "instrument_version": "2021",
                "status": "entered-in-error" if in_error else "completed",
                "respondent": "patient",
                "language": "en",
                "mode": "in-person",
                "answers": {},
                "results": [
                    {"domain": d, "positive": d in domains, "total": None} for d in SOCIAL_DOMAINS
                ],
                "positive": positive,
                "screened_at": at,
                "screened_on": day,
                "rescreen_due_on": day + dt.timedelta(days=182 if positive else 365),
                "status_reason": "Wrong patient" if in_error else None,
                **_tracked(at),
            }
        )
        for domain in domains:
            status = "entered-in-error" if in_error else pick["need"]()
            closed = day + dt.timedelta(days=rng.randint(3, 90)) if status != "open" else None
            rows["social_needs"].append(
                {
                    "id": self._id(),
                    "patient_id": patient_id,
                    "screening_id": screening_id,
                    "domain": domain,
                    "status": status,
                    "identified_on": day,
                    "closed_on": closed,
                    **_tracked(at),
                }
            )

    def _survey(
        self, rows: Rows, patient_id: uuid.UUID, appointment_id: uuid.UUID, ends: dt.datetime
    ) -> None:
        rng = self.rng
        invited = ends + dt.timedelta(hours=rng.uniform(2, 6))
        answered = (
            invited + dt.timedelta(hours=rng.uniform(1, 120))
            if rng.random() < SURVEY_ANSWERED_SHARE
            else None
        )
        invitation_id = self._id()
        token = f"{self.seed}:{self._next('survey')}"
        language = "es" if rng.random() < 0.12 else "en"
        rows["survey_invitations"].append(
            {
                "id": invitation_id,
                "patient_id": patient_id,
                "appointment_id": appointment_id,
                "token_hash": hashlib.sha256(token.encode()).hexdigest(),
                "channel": "email" if rng.random() < 0.6 else "sms",
                "language": language,
                "expires_at": invited + dt.timedelta(days=30),
                "answered_at": answered,
                **_tracked(invited),
            }
        )
        if answered is None:
            return
        overall = rng.choices(range(11), weights=OVERALL_WEIGHTS)[0]
        answers: dict[str, str] = {}
        for key, kind, codes in self.survey_items:
            if kind == "scale":
                answers[key] = str(overall)
            elif kind == "choice" and codes:
                answers[key] = codes[0] if rng.random() < 0.7 else rng.choice(codes)
        rows["survey_responses"].append(
            {
                "id": self._id(),
                "invitation_id": invitation_id,
                "patient_id": patient_id,
                "appointment_id": appointment_id,
                "answered_at": answered,
                "language": language,
                "overall": overall,
                "answers": answers,
                "comment": None,
            }
        )


def _survey_items() -> list[tuple[str, str, tuple[str, ...]]]:
    """(key, kind, option codes) of the survey's items, when the surveys package says them."""
    try:
        from carebridge.surveys import items
    except ImportError:
        return [("overall", "scale", ())]
    return [(i.key, i.kind, i.codes()) for i in getattr(items, "ITEMS", ())]


# --- seeding -------------------------------------------------------------------------------------


@dataclass
class Site:
    """One database holding ``patients`` patients and their year."""

    backend: str
    patients: int
    engine: Engine
    factory: sessionmaker[Session]
    rows: dict[str, int]
    seconds: float
    surveys: bool


def has_survey_tables(engine: Engine) -> bool:
    """Whether the surveys migration made its tables here and the models know them (the
    package is young: the benchmark runs without it)."""
    known = all(name in Base.metadata.tables for name in SURVEY_TABLES)
    return known and all(inspect(engine).has_table(name) for name in SURVEY_TABLES)


def vacuum_analyze(engine: Engine) -> None:
    """What autovacuum does after a bulk load on PostgreSQL 13+ (VACUUM, which also sets the
    visibility map, then ANALYZE). SQLite keeps no statistics unless told to, and Carebridge
    never tells it."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))


def booked_twice(engine: Engine) -> int:
    """Practitioners and patients holding two appointments at once. Every generated visit
    fills one half-hour slot of the grid, so two overlap exactly when they start together."""
    found = 0
    with engine.connect() as conn:
        for column in (Appointment.practitioner_id, Appointment.patient_id):
            clashes = (
                select(column, Appointment.starts_at)
                .where(Appointment.status.in_(HOLDING))
                .group_by(column, Appointment.starts_at)
                .having(func.count() > 1)
                .subquery()
            )
            found += conn.execute(select(func.count()).select_from(clashes)).scalar_one()
    return found


def build_site(
    stack: ExitStack,
    backend: str,
    patients: int,
    year: int,
    seed: int,
    settings: Settings,
    now: dt.datetime,
    progress: Progress,
) -> Site:
    url = stack.enter_context(fresh_database(backend))
    engine = make_engine(url)
    stack.callback(engine.dispose)
    surveys = has_survey_tables(engine)
    # The load gets its own engine: on SQLite a large page cache (the indexes are keyed by
    # random UUIDs, so every insert touches pages all over them), not left to the engine whose
    # connections the measures run on.
    loader = make_engine(url)
    if backend == "sqlite":
        event.listen(loader, "connect", _large_cache)
    try:
        loading = make_sessionmaker(loader)
        counts, seconds = load(
            loading, backend, patients, year, seed, settings, surveys, now, progress
        )
    finally:
        loader.dispose()
    started = perf_counter()
    vacuum_analyze(engine)
    seconds += perf_counter() - started
    clashes = booked_twice(engine)
    if clashes:
        raise BenchmarkError(f"{clashes} double bookings at {patients:,} patients on {backend}")
    return Site(backend, patients, engine, make_sessionmaker(engine), counts, seconds, surveys)


def _large_cache(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute(f"PRAGMA cache_size=-{LOAD_CACHE_KIB}")
    cursor.close()


def load(
    factory: sessionmaker[Session],
    backend: str,
    patients: int,
    year: int,
    seed: int,
    settings: Settings,
    surveys: bool,
    now: dt.datetime,
    progress: Progress,
) -> tuple[dict[str, int], float]:
    """The clinic and the year's records of ``patients`` patients; the rows per table and the
    seconds taken."""
    counts = dict.fromkeys(TABLES, 0)
    task = progress.add_task(f"{backend}: seed {patients:,}", total=patients)
    started = perf_counter()
    with unit_of_work(factory) as db:
        clinic = insert_clinic(db.connection(), patients, settings.timezone, now)
    generator = Generator(clinic, ZoneInfo(settings.timezone), year, seed, surveys)
    # One transaction per chunk (a chunk holds all of its patients' records), so SQLite's
    # write-ahead log is checkpointed as the load goes instead of growing to the whole load.
    for first in range(0, patients, CHUNK):
        size = min(CHUNK, patients - first)
        rows = generator.chunk(first, size, now)
        with unit_of_work(factory) as db:
            conn = db.connection()
            for name, table_rows in rows.items():
                if table_rows:
                    conn.execute(insert(bulk.table(TABLE_OF.get(name, name))), table_rows)
                    counts[name] += len(table_rows)
        progress.advance(task, size)
    with unit_of_work(factory) as db:
        record(
            db,
            SEEDER,
            Action.CREATE,
            entity_type="AnalyticsBenchmark",
            reason=f"seeded {patients} patients and a year of activity ({year})",
        )
    progress.remove_task(task)
    counts["encounters"] += counts.pop("readmissions")
    return counts, perf_counter() - started


# --- measuring -----------------------------------------------------------------------------------


@dataclass
class Timings:
    """Per measure: milliseconds per timed round, the warm-up result, peak Python memory."""

    ms: dict[str, list[float]] = field(default_factory=dict)
    results: dict[str, MeasureResult] = field(default_factory=dict)
    peak: dict[str, int] = field(default_factory=dict)

    def median(self, key: str) -> float:
        return statistics.median(self.ms[key])


def compute(
    site: Site, measure: Measure, settings: Settings, period: tuple[dt.date, dt.date]
) -> MeasureResult:
    with unit_of_work(site.factory, write=False) as db:
        return measure.compute(db, settings, *period)


def timed(
    site: Site, measure: Measure, settings: Settings, period: tuple[dt.date, dt.date]
) -> tuple[float, MeasureResult]:
    start = perf_counter()
    result = compute(site, measure, settings, period)
    return (perf_counter() - start) * 1000, result


def peak_memory(
    site: Site, measure: Measure, settings: Settings, period: tuple[dt.date, dt.date]
) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        compute(site, measure, settings, period)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def check(site: Site, key: str, result: MeasureResult) -> None:
    """A measure that counted nothing measured nothing: the data must reach every measure."""
    if result.denominator <= 0:
        raise BenchmarkError(
            f"{key} counted no case at {site.patients:,} patients on {site.backend}: the "
            "generated year does not reach it"
        )


def measure_backend(
    sites: Sequence[Site],
    measures: dict[str, Measure],
    settings: Settings,
    period: tuple[dt.date, dt.date],
    rounds: int,
    progress: Progress,
) -> list[Timings]:
    """Round 0 warms up and checks, untimed; then ``rounds`` timed rounds, each measure on
    every size in turn (alternating which first); then one traced run each for memory."""
    results = [Timings() for _ in sites]
    total = (rounds + 2) * len(measures) * len(sites)
    task = progress.add_task(f"{sites[0].backend}: measure", total=total)
    gc.collect()
    for round_no in range(rounds + 1):
        for number, (key, measure) in enumerate(measures.items()):
            order = list(zip(sites, results, strict=True))
            if (round_no + number) % 2:
                order.reverse()
            for site, timings in order:
                ms, result = timed(site, measure, settings, period)
                if round_no == 0:
                    check(site, key, result)
                    timings.results[key] = result
                else:
                    timings.ms.setdefault(key, []).append(ms)
                progress.advance(task)
    for key, measure in measures.items():
        for site, timings in zip(sites, results, strict=True):
            timings.peak[key] = peak_memory(site, measure, settings, period)
            progress.advance(task)
    progress.remove_task(task)
    return results


# --- report --------------------------------------------------------------------------------------


@dataclass
class BackendResult:
    backend: str
    version: str
    sites: list[Site]
    timings: list[Timings]


def _console() -> Console:
    console = Console(file=sys.stdout, highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console.width = 200
    return console


def _size(n: int) -> str:
    return f"{n // 1000:,}k" if n % 1000 == 0 and n >= 1000 else f"{n:,}"


def _rate(result: MeasureResult) -> str:
    return "-" if result.rate is None else f"{result.rate:.1%}"


def report(
    results: Sequence[BackendResult],
    measures: dict[str, Measure],
    args: argparse.Namespace,
    period: tuple[dt.date, dt.date],
    notes: list[str],
) -> bool:
    console = _console()
    sizes = args.sizes
    small, large = sizes[0], sizes[-1]
    bound = large / small * TOLERANCE
    console.print(
        f"analytics: {len(measures)} quality measures over {period[0]}..{period[1]} at "
        f"{', '.join(f'{s:,}' for s in sizes)} patients (seed {args.seed}); median of "
        f"{args.rounds} rounds"
    )
    table = Table(box=box.MARKDOWN, show_edge=False)
    columns: list[tuple[str, str]] = [("database", "left"), ("measure", "left")]
    for s in sizes:
        columns += [(f"cases @{_size(s)}", "right"), (f"ms @{_size(s)}", "right")]
    columns += [
        (f"rate @{_size(large)}", "right"),
        (f"peak MiB @{_size(large)}", "right"),
        (f"growth {_size(large)}/{_size(small)}", "right"),
        (f"<= {bound:.1f}", "left"),
    ]
    for heading, justify in columns:
        table.add_column(heading, justify=justify)  # type: ignore[arg-type]
    passed = True
    verdicts: list[str] = []
    for r in results:
        failing: list[str] = []
        worst_key, worst = "", 0.0
        total = [0.0 for _ in sizes]
        for key in measures:
            cells = [r.backend, key]
            for n, timings in enumerate(r.timings):
                result = timings.results[key]
                total[n] += timings.median(key)
                cells += [
                    f"{result.denominator + result.excluded:,}",
                    f"{timings.median(key):,.1f}",
                ]
            growth = r.timings[-1].median(key) / r.timings[0].median(key)
            if growth > worst:
                worst_key, worst = key, growth
            ok = growth <= bound
            if not ok:
                failing.append(key)
            cells += [
                _rate(r.timings[-1].results[key]),
                f"{r.timings[-1].peak[key] / 2**20:,.1f}",
                f"{growth:.2f}",
                "PASS" if ok else "FAIL",
            ]
            table.add_row(*cells)
        all_growth = total[-1] / total[0]
        table.add_row(
            r.backend,
            "all measures",
            *(c for n in range(len(sizes)) for c in ("", f"{total[n]:,.1f}")),
            "",
            "",
            f"{all_growth:.2f}",
            "PASS" if all_growth <= bound else "FAIL",
        )
        passed = passed and not failing and all_growth <= bound
        verdict = (
            "PASS"
            if not failing and all_growth <= bound
            else f"FAIL ({', '.join(failing) or 'all'})"
        )
        verdicts.append(
            f"{r.backend}: time({large:,}) / time({small:,}) per measure at most "
            f"{worst:.2f} ({worst_key}), all {len(measures)} measures together "
            f"{total[-1]:,.0f} / {total[0]:,.0f} ms = {all_growth:.2f} (linear bound "
            f"{large / small:.1f} x tolerance {TOLERANCE} = {bound:.1f}): {verdict}"
        )
    console.print(table)
    for line in verdicts:
        console.print(line)
    for note in notes:
        console.print(note)
    return passed


# --- entry ---------------------------------------------------------------------------------------


def _sizes(value: str) -> tuple[int, ...]:
    return tuple(sorted({int(x.replace("_", "")) for x in value.split(",") if x.strip()}))


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks analytics",
        description="Every quality measure over a year of activity; growth with the panel.",
    )
    parser.add_argument(
        "--database",
        "--db",
        help="sqlite, postgresql, both or a comma list (default: both when PostgreSQL "
        "answers, else sqlite)",
    )
    parser.add_argument(
        "--sizes",
        type=_sizes,
        help="patients per database, comma-separated (10000,100000)",
    )
    parser.add_argument("--rounds", type=int, help=f"timed rounds ({DEFAULTS['rounds']})")
    parser.add_argument("--seed", type=int, default=1, help="synthetic data seed (1)")
    args = parser.parse_args(argv)
    if args.sizes is None:
        args.sizes = DEFAULTS["sizes"]
    if args.rounds is None:
        args.rounds = DEFAULTS["rounds"]
    if len(args.sizes) < 2 or min(args.sizes) < 100 or args.rounds < 1:
        parser.error("need at least two sizes of 100 patients or more, and --rounds >= 1")
    return args


def _backends(choice: str | None, notes: list[str]) -> list[str] | None:
    wanted = {"both": ["sqlite", "postgresql"]}.get(choice or "")
    if wanted is None and choice:
        wanted = [c.strip() for c in choice.split(",") if c.strip()]
        unknown = [c for c in wanted if c not in ("sqlite", "postgresql")]
        if unknown:
            print(f"unknown database {', '.join(unknown)}: sqlite or postgresql", file=sys.stderr)
            return None
    if wanted == ["sqlite"]:
        return wanted
    server = make_url(pg_server()).render_as_string(hide_password=True)
    if pg_answers(pg_server()):
        return wanted or ["sqlite", "postgresql"]
    if wanted:
        print(f"PostgreSQL at {server} does not answer", file=sys.stderr)
        return None
    notes.append(f"PostgreSQL at {server} did not answer: SQLite only")
    return ["sqlite"]


def _server_version(engine: Engine) -> str:
    sql = "SELECT sqlite_version()" if engine.dialect.name == "sqlite" else "SHOW server_version"
    with engine.connect() as conn:
        return str(conn.execute(text(sql)).scalar_one())


def _sites(sites: Sequence[Site]) -> Iterator[str]:
    for site in sites:
        rows = sum(site.rows.values())
        yield (
            f"{site.backend} @{site.patients:,}: {rows:,} rows in {site.seconds:.0f} s "
            f"({rows / site.seconds:,.0f} rows/s; appointments {site.rows['appointments']:,}, "
            f"tasks {site.rows['tasks']:,}, outreach {site.rows['outreach_attempts']:,}, "
            f"discharges {site.rows['transitions']:,}, referrals {site.rows['referrals']:,}, "
            f"authorizations {site.rows['prior_authorizations']:,}, screenings "
            f"{site.rows['social_screenings']:,}, goals {site.rows['goals']:,}, survey "
            f"responses {site.rows['survey_responses']:,})"
        )


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    notes: list[str] = []
    backends = _backends(args.database, notes)
    if backends is None:
        return 2
    measures = dict(registry.REGISTRY)
    now = utcnow()
    settings = Settings(database_url="sqlite://", secret_key=SECRET_KEY, log_level="WARNING")
    year = now.astimezone(ZoneInfo(settings.timezone)).year - 1
    period = (dt.date(year, 1, 1), dt.date(year, 12, 31))
    progress = Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    results: list[BackendResult] = []
    load_before = os.getloadavg()[0]
    with progress:
        for backend in backends:
            with ExitStack() as stack:
                sites = [
                    build_site(stack, backend, size, year, args.seed, settings, now, progress)
                    for size in args.sizes
                ]
                version = _server_version(sites[0].engine)
                timings = measure_backend(sites, measures, settings, period, args.rounds, progress)
                results.append(BackendResult(backend, version, sites, timings))
    surveys = all(site.surveys for r in results for site in r.sites)
    load_after = os.getloadavg()[0]
    notes += [
        "cases = the measure's denominator plus its exclusions; ms = median wall time of "
        "Measure.compute in one read-only unit of work; rate = numerator / denominator at the "
        "largest size; peak MiB = tracemalloc peak of Python allocations during one compute",
        f"tolerance {TOLERANCE}: linear is the bound; the 15 % allows the n log n sorts of the "
        "patient lists and medians (log ratio 1.25 on that share), one more B-tree level, and "
        "the spread of a median of a few rounds",
        "data per patient over the year: 3-4 visits, 10 % discharged (14 % of them readmitted), "
        "30 % referred, 1-5 tasks, 0-3 outreach attempts, 25 % with a care plan, 12 % with a "
        "prior authorization, 55 % screened; "
        + (
            "survey responses for 45 % of a third of the fulfilled visits"
            if surveys
            else "no survey tables: no survey responses"
        ),
        "checked after each load: no practitioner or patient is booked twice at once",
        f"machine: {os.cpu_count()} cores, load average (1 min) {load_before:.1f} before the "
        f"run and {load_after:.1f} after it (other work on the machine shows in the times)",
        "setup (untimed): " + "; ".join(line for r in results for line in _sites(r.sites)),
        "PostgreSQL: VACUUM ANALYZE after each load (as autovacuum would); SQLite: no ANALYZE "
        "(the app never runs it); settings: clinic time zone " + settings.timezone,
        f"goals: every measure time({args.sizes[-1]:,}) / time({args.sizes[0]:,}) <= "
        f"{args.sizes[-1] / args.sizes[0]:.1f} x {TOLERANCE}; now {now:%Y-%m-%d %H:%M} UTC; "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
        + "".join(f", {r.backend} server {r.version}" for r in results if r.backend != "sqlite"),
    ]
    passed = report(results, measures, args, period, notes)
    return 0 if passed else 1
