"""Demo history: a year of the clinic's past activity, so the quality dashboard opens on
populated measures and monthly trends.

The rest of the demo is centred on today (the last two weeks of visits, this week's
discharges...). This adds, for the demo's own patients, practitioners, locations,
coordinators and coverages (read from the database), the 12 full months before the current
month and the current month up to yesterday:

- clinic visits in the practitioners' working hours (their weekly pattern, holidays
  skipped): fulfilled, no-shows and cancellations, each booked some days before, never two at
  once for a practitioner, a room or a patient (the visits already in the database included);
- hospital discharges (an Encounter and its Transition as ``transitions.workflow`` makes
  them: contact due on the 2nd business day, follow-up window by complexity, LACE from the
  diagnoses), contact recorded on time, late or not at all, a follow-up visit after most,
  some readmitted within 30 days (linked by ``readmission_of_id``);
- outgoing referrals sent and closed with the consultant's report, declined, or still open;
- tasks due in the past, done on time, late or still open, and outreach attempts;
- prior authorizations decided (approved, partly approved, denied) after a submission;
- past goals on the existing care plans, achieved or not;
- social needs screenings at visits, their needs addressed, open or declined;
- post-visit survey invitations and answers.

Rates move over the year (follow-up and contact improve, no-shows fall...) and differ by
practitioner, coordinator and payer, so trend lines and breakdown bars have something to
show. Rows are written with Core inserts, one statement per table and batch, each with its
'create' snapshot in ``record_versions`` and its FHIR rendering where the type is served.
Deterministic for a seed; once only: the audit row it leaves (entity type ``MARK``) is
what a second run finds.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import random
import uuid
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrulestr
from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.orm import Session

from carebridge.analytics.measures import HOSPICE_DISPOSITIONS
from carebridge.careplans.models import CarePlan, Goal
from carebridge.coverage.models import Coverage
from carebridge.db.base import Base
from carebridge.db.history import RecordVersion
from carebridge.fhir import projection
from carebridge.lib.ids import new_secret
from carebridge.lib.time import as_utc, utcnow
from carebridge.patients.models import Patient, Telecom
from carebridge.referrals.models import OutsideProvider
from carebridge.scheduling.models import (
    HOLDING,
    Appointment,
    AppointmentType,
    AvailabilityRule,
    Holiday,
    Offering,
    Practitioner,
    Room,
)
from carebridge.scheduling.synthetic import CANCEL_NOTES, PATIENT_CANCEL_REASONS
from carebridge.security.audit import Action, Actor, record
from carebridge.security.models import AuditEvent, User
from carebridge.security.roles import Role
from carebridge.settings import Settings
from carebridge.social import instruments
from carebridge.social.models import Screening, SocialNeed
from carebridge.social.service import rescreen_due
from carebridge.social.synthetic import NEGATIVE, PROFILES
from carebridge.surveys import items as survey_items
from carebridge.surveys import service as surveys
from carebridge.surveys.models import SurveyInvitation
from carebridge.tasks.codes import URGENCY
from carebridge.transitions import codes as transition_codes
from carebridge.transitions.business_days import add_business_days, end_of_day, federal_holidays
from carebridge.transitions.charlson import charlson
from carebridge.transitions.lace import lace
from carebridge.transitions.models import Encounter

MARK = "DemoActivityHistory"  # the audit row's entity type: the seed has run
ACTOR = Actor.system("demo")
MONTHS = 12
STEP = dt.timedelta(minutes=15)  # the scheduler's slot grid
BATCH = 2_000
# Columns drawn from the system's random source, not the seed: links sent to patients.
SECRETS = frozenset(("patient_token", "telehealth_token", "token_hash"))

# Clinic visits: the share of bookable times taken (the patients permitting), and outcomes.
FILL = 0.15
MONTHLY_VISITS = 2  # at most, per patient, of the visits filled at random
CANCELLED = 0.06
NO_SHOW = (0.12, 0.075)  # at the start and at the end of the year (reminders took hold)
PROMPT = (0.58, 0.8)  # booked within 14 days of the visit
SCREEN_AT_VISIT = (0.04, 0.22)  # a visit where an unscreened patient is screened
SURVEY_INVITED = 0.3
SURVEY_ANSWERED = 0.45

# Per month, per 1,000 patients, and the least per month (a small demo still has a trend).
PER_THOUSAND = {
    "discharges": 9.0,
    "referrals": 25.0,
    "tasks": 70.0,
    "outreach": 60.0,
    "authorizations": 6.0,
}
AT_LEAST = {"discharges": 5, "referrals": 6, "tasks": 14, "outreach": 10, "authorizations": 4}

CONTACT_ON_TIME = (0.6, 0.86)
FOLLOW_UP_VISIT = (0.68, 0.88)
FOLLOW_UP_PROMPT = (0.5, 0.82)  # of those, within 7 days
READMITTED = (0.17, 0.1)
REFERRAL_CLOSED = (0.62, 0.82)
TASK_ON_TIME = (0.7, 0.88)
OUTREACH_REACHED = (0.4, 0.55)
AUTH_DENIED = 0.13
AUTH_HOURS = (96.0, 48.0)  # mean hours to a decision
GOAL_ACHIEVED = (0.4, 0.65)
NEED_ADDRESSED = (0.5, 0.72)
NEED_DECLINED = 0.12
SCREEN_POSITIVE = 0.3
TOP_BOX = (0.7, 0.8)  # ratings of 9-10, before the practitioner's own lean

HOSPITALS = (("MERCY", "Mercy Hospital"), ("STLUKE", "St. Luke's Medical Center"))
ENCOUNTER_CLASSES = (("IMP", 70), ("OBSENC", 20), ("EMER", 10))
DISPOSITIONS = (("01", 84), ("06", 10), ("50", 2), ("07", 2), ("03", 2))
UNITS = ("4W^412^A", "5E^520^B", "3N^308^A", "ICU^2^1", "6S^611^B")
STAYS: tuple[tuple[tuple[str, str], ...], ...] = (
    (("J18.9", "Pneumonia, unspecified organism"),),
    (("N39.0", "Urinary tract infection, site not specified"), ("E11.9", "Type 2 diabetes")),
    (
        ("I50.9", "Heart failure, unspecified"),
        ("J44.1", "COPD with acute exacerbation"),
        ("E11.22", "Type 2 diabetes with diabetic CKD"),
    ),
    (("J44.1", "COPD with acute exacerbation"),),
    (("I21.4", "NSTEMI"), ("I50.22", "Chronic systolic heart failure")),
    (("K57.32", "Diverticulitis of large intestine"),),
    (("A41.9", "Sepsis, unspecified organism"), ("N18.4", "Chronic kidney disease, stage 4")),
    (("R55", "Syncope and collapse"),),
)
REFERRALS: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    ("specialist", "Chest pain on exertion; stress test and cardiology opinion.",
     (("I20.9", "Angina pectoris, unspecified"),)),
    ("specialist", "Diabetic retinopathy screening.",
     (("E11.9", "Type 2 diabetes mellitus without complications"),)),
    ("specialist", "Worsening kidney function; nephrology review.",
     (("N18.3", "Chronic kidney disease, stage 3"),)),
    ("specialist", "Knee pain despite physical therapy; orthopedic opinion.",
     (("M17.11", "Unilateral primary osteoarthritis, right knee"),)),
    ("behavioral-health", "Low mood and poor sleep for three months.",
     (("F32.1", "Major depressive disorder, single episode, moderate"),)),
    ("therapy", "Balance training after a fall.",
     (("R26.81", "Unsteadiness on feet"),)),
    ("home-health", "Wound care and medication teaching at home.",
     (("L97.909", "Non-pressure chronic ulcer of unspecified part of lower leg"),)),
)  # fmt: skip
TASKS: tuple[tuple[str, str], ...] = (
    ("call", "Check-in call: blood pressure log"),
    ("call", "Call about new medication side effects"),
    ("follow-up", "Follow up on lab results"),
    ("scheduling", "Book the annual wellness visit"),
    ("referral", "Chase the consultant's report"),
    ("authorization", "Send clinical notes for prior authorization"),
    ("care-plan", "Review care plan goals with the patient"),
    ("social", "Confirm the food pantry enrollment"),
)
OUTREACH_CHANNELS = (("phone", 70), ("sms", 18), ("email", 8), ("letter", 4))
NOT_REACHED = (("no-answer", 45), ("voicemail", 40), ("wrong-number", 15))
AUTH_SERVICES: tuple[tuple[str, tuple[str, ...], int, tuple[str, str]], ...] = (
    ("97110", ("GP",), 8, ("M17.11", "Unilateral primary osteoarthritis, right knee")),
    ("72148", (), 1, ("M54.50", "Low back pain, unspecified")),
    ("95811", (), 1, ("G47.33", "Obstructive sleep apnea (adult) (pediatric)")),
    ("70553", (), 1, ("R51.9", "Headache, unspecified")),
)
DENIAL_REASONS = (
    "Not medically necessary: conservative treatment not documented.",
    "Documentation incomplete.",
)
SCREENING_PROFILES = tuple(name for name in PROFILES if name != "negative")


@dataclass(frozen=True)
class HistorySeeded:
    """How many rows of each kind the history added."""

    rows: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.rows.values())


# --- what the demo already has --------------------------------------------------------------


@dataclass(frozen=True)
class Hours:
    """One working-hours rule of a practitioner, on one day."""

    practitioner: uuid.UUID
    location: uuid.UUID
    starts: dt.datetime
    ends: dt.datetime
    modalities: tuple[str, ...]


@dataclass(frozen=True)
class Kind:
    id: uuid.UUID
    code: str
    minutes: int
    held: dt.timedelta
    modality: str
    room_kind: str | None


@dataclass
class Clinic:
    """The demo's records the history is made for."""

    patients: list[uuid.UUID]
    coordinator_of: dict[uuid.UUID, uuid.UUID | None]
    language_of: dict[uuid.UUID, str | None]
    coverage_of: dict[uuid.UUID, tuple[uuid.UUID, uuid.UUID]]  # coverage, payer
    in_hospital: set[uuid.UUID]  # have stays already: the history leaves them out
    practitioners: list[uuid.UUID]
    offers: dict[uuid.UUID, list[Kind]]
    hours: dict[dt.date, list[Hours]]
    rooms: dict[tuple[uuid.UUID, str], list[uuid.UUID]]
    coordinators: list[uuid.UUID]
    providers: dict[str, list[uuid.UUID]]
    phones: dict[uuid.UUID, str]
    plans: list[tuple[uuid.UUID, uuid.UUID, dt.date, dict[str, Any], int]]
    screened: dict[uuid.UUID, list[dt.date]]
    open_needs: dict[uuid.UUID, set[str]]
    invited: dict[uuid.UUID, list[dt.datetime]]


class Timeline:
    """Times taken per resource (practitioner, patient, room) and local day."""

    def __init__(self) -> None:
        self._taken: dict[tuple[uuid.UUID, dt.date], list[tuple[dt.datetime, dt.datetime]]] = (
            defaultdict(list)
        )

    def free(self, key: uuid.UUID, day: dt.date, start: dt.datetime, end: dt.datetime) -> bool:
        return all(end <= a or start >= b for a, b in self._taken.get((key, day), ()))

    def take(self, key: uuid.UUID, day: dt.date, start: dt.datetime, end: dt.datetime) -> None:
        self._taken[key, day].append((start, end))

    def any_on(self, key: uuid.UUID, day: dt.date) -> bool:
        return bool(self._taken.get((key, day)))


def _weekly_hours(
    rules: Sequence[AvailabilityRule], first: dt.date, last: dt.date, zone: ZoneInfo
) -> dict[dt.date, list[Hours]]:
    """Each rule's occurrences over ``first..last``: the practitioner's pattern, taken as
    theirs all year (the demo clinic's hours start recently)."""
    found: dict[dt.date, list[Hours]] = defaultdict(list)
    for rule in rules:
        # Keep the rule's phase (every other week, 1st and 3rd Saturday) from a start four
        # weeks at a time before the period.
        weeks = max(0, math.ceil((rule.valid_from - first).days / 28))
        anchor = rule.valid_from - dt.timedelta(days=28 * weeks)
        start = dt.datetime.combine(anchor, dt.time())
        skipped = set(rule.exdates or [])
        occurrences = rrulestr(rule.rrule, dtstart=start).between(
            dt.datetime.combine(first, dt.time()),
            dt.datetime.combine(last, dt.time(23, 59)),
            inc=True,
        )
        for moment in occurrences:
            day = moment.date()
            if day.isoformat() in skipped or (rule.valid_until and day > rule.valid_until):
                continue
            found[day].append(
                Hours(
                    practitioner=rule.practitioner_id,
                    location=rule.location_id,
                    starts=_at(day, rule.start_time, zone),
                    ends=_at(day, rule.end_time, zone),
                    modalities=tuple(rule.modalities or ()),
                )
            )
    for day_hours in found.values():
        day_hours.sort(key=lambda h: (str(h.practitioner), h.starts))
    return found


def _at(day: dt.date, clock: dt.time, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, clock, zone).astimezone(dt.UTC)


def _read(db: Session, first: dt.date, last: dt.date, zone: ZoneInfo) -> Clinic:
    patients = db.execute(
        select(Patient.id, Patient.primary_coordinator_id, Patient.language)
        .where(Patient.status == "active", Patient.merged_into_id.is_(None))
        .order_by(Patient.mrn)
    ).all()
    coverage: dict[uuid.UUID, tuple[uuid.UUID, uuid.UUID]] = {}
    for patient_id, coverage_id, payer in db.execute(
        select(Coverage.patient_id, Coverage.id, Coverage.payer_ref)
        .where(Coverage.rank == 1, Coverage.status == "active")
        .order_by(Coverage.patient_id, Coverage.start_on)
    ):
        coverage[patient_id] = (coverage_id, payer)
    kinds = {
        row.id: Kind(
            row.id,
            row.code,
            row.duration_minutes,
            dt.timedelta(minutes=row.duration_minutes + row.buffer_minutes),
            row.modality,
            row.room_kind,
        )
        for row in db.scalars(select(AppointmentType).where(AppointmentType.active))
    }
    practitioners = list(
        db.scalars(select(Practitioner.id).where(Practitioner.active).order_by(Practitioner.npi))
    )
    offers: dict[uuid.UUID, list[Kind]] = defaultdict(list)
    for practitioner_id, kind_id in db.execute(
        select(Offering.practitioner_id, Offering.appointment_type_id)
    ):
        if kind_id in kinds:
            offers[practitioner_id].append(kinds[kind_id])
    for offered in offers.values():
        offered.sort(key=lambda k: k.code)
    rules = list(
        db.scalars(
            select(AvailabilityRule)
            .where(AvailabilityRule.active)
            .order_by(AvailabilityRule.practitioner_id, AvailabilityRule.start_time)
        )
    )
    rooms: dict[tuple[uuid.UUID, str], list[uuid.UUID]] = defaultdict(list)
    for room_id, location_id, kind in db.execute(
        select(Room.id, Room.location_id, Room.kind).where(Room.active).order_by(Room.name)
    ):
        rooms[location_id, kind].append(room_id)
    phones: dict[uuid.UUID, str] = {}
    for patient_id, value in db.execute(
        select(Telecom.patient_id, Telecom.value)
        .where(Telecom.system == "phone", Telecom.status == "active")
        .order_by(Telecom.patient_id, Telecom.rank.desc())
    ):
        phones[patient_id] = value
    providers: dict[str, list[uuid.UUID]] = defaultdict(list)
    for provider_id, kind in db.execute(
        select(OutsideProvider.id, OutsideProvider.kind)
        .where(OutsideProvider.active)
        .order_by(OutsideProvider.name)
    ):
        providers[kind].append(provider_id)
    plans = []
    for plan_id, patient_id, start_on in db.execute(
        select(CarePlan.id, CarePlan.patient_id, CarePlan.start_on)
        .where(CarePlan.status.in_(("active", "completed")))
        .order_by(CarePlan.start_on, CarePlan.id)
    ):
        goal = db.scalar(
            select(Goal).where(Goal.care_plan_id == plan_id).order_by(Goal.position).limit(1)
        )
        if goal is None:
            continue
        top = db.scalar(select(func.max(Goal.position)).where(Goal.care_plan_id == plan_id))
        template = {
            "problem_id": goal.problem_id,
            "description": goal.description,
            "plain_words": goal.plain_words,
            "measure": goal.measure,
            "unit": goal.unit,
            "comparator": goal.comparator,
            "target_low": goal.target_low,
            "target_high": goal.target_high,
        }
        plans.append((plan_id, patient_id, start_on, template, int(top or 0)))
    screened: dict[uuid.UUID, list[dt.date]] = defaultdict(list)
    for patient_id, day in db.execute(
        select(Screening.patient_id, Screening.screened_on).where(
            Screening.status != "entered-in-error"
        )
    ):
        screened[patient_id].append(day)
    open_needs: dict[uuid.UUID, set[str]] = defaultdict(set)
    for patient_id, domain in db.execute(
        select(SocialNeed.patient_id, SocialNeed.domain).where(SocialNeed.status == "open")
    ):
        open_needs[patient_id].add(domain)
    invited: dict[uuid.UUID, list[dt.datetime]] = defaultdict(list)
    for patient_id, created_at in db.execute(
        select(SurveyInvitation.patient_id, SurveyInvitation.created_at)
    ):
        invited[patient_id].append(as_utc(created_at))
    return Clinic(
        patients=[p.id for p in patients],
        coordinator_of={p.id: p.primary_coordinator_id for p in patients},
        language_of={p.id: p.language for p in patients},
        coverage_of=coverage,
        in_hospital=set(db.scalars(select(Encounter.patient_id).distinct())),
        practitioners=practitioners,
        offers=offers,
        hours=_weekly_hours(rules, first, last, zone),
        rooms=rooms,
        coordinators=list(
            db.scalars(
                select(User.id)
                .where(User.role == Role.COORDINATOR.value, User.is_active)
                .order_by(User.username)
            )
        ),
        providers=providers,
        phones=phones,
        plans=plans,
        screened=screened,
        open_needs=open_needs,
        invited=invited,
    )


def _existing_visits(
    db: Session, timeline: Timeline, start: dt.datetime, zone: ZoneInfo
) -> set[tuple[uuid.UUID, dt.date]]:
    """Put the visits already booked from ``start`` on the timeline; the (practitioner, day)
    pairs the demo's own schedule fills."""
    filled: set[tuple[uuid.UUID, dt.date]] = set()
    for practitioner_id, patient_id, room_id, starts, held in db.execute(
        select(
            Appointment.practitioner_id,
            Appointment.patient_id,
            Appointment.room_id,
            Appointment.starts_at,
            Appointment.held_until,
        ).where(Appointment.starts_at >= start, Appointment.status.in_(HOLDING))
    ):
        begins, ends = as_utc(starts), as_utc(held)
        day = begins.astimezone(zone).date()
        for key in (practitioner_id, patient_id, room_id):
            if key is not None:
                timeline.take(key, day, begins, ends)
        filled.add((practitioner_id, day))
    return filled


# --- the year -------------------------------------------------------------------------------


@dataclass
class Visit:
    id: uuid.UUID
    patient: uuid.UUID
    practitioner: uuid.UUID
    location: uuid.UUID
    kind: Kind
    starts: dt.datetime
    status: str


@dataclass
class History:
    """The rows of the year, built in memory and written at the end."""

    db: Session
    settings: Settings
    clinic: Clinic
    seed: int
    now: dt.datetime
    first: dt.date
    last: dt.date
    rng: random.Random = field(init=False)
    zone: ZoneInfo = field(init=False)
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    timeline: Timeline = field(default_factory=Timeline)
    busy_days: set[tuple[uuid.UUID, dt.date]] = field(default_factory=set)
    visits: list[Visit] = field(default_factory=list)
    closed: set[dt.date] = field(default_factory=set)
    lean: dict[uuid.UUID, float] = field(default_factory=dict)
    monthly: dict[tuple[uuid.UUID, int], int] = field(default_factory=lambda: defaultdict(int))

    def __post_init__(self) -> None:
        self.rng = random.Random(f"carebridge-demo-history:{self.seed}")  # noqa: S311
        self.zone = ZoneInfo(self.settings.timezone)
        self.closed = federal_holidays(self.first, self.last) | set(
            self.db.scalars(
                select(Holiday.day).where(
                    Holiday.location_id.is_(None),
                    Holiday.day >= self.first,
                    Holiday.day <= self.last,
                )
            )
        )
        # How much better or worse than the clinic each practitioner, coordinator and payer
        # does (-1..1), so the breakdowns differ.
        everyone = sorted(
            {
                *self.clinic.practitioners,
                *self.clinic.coordinators,
                *(payer for _, payer in self.clinic.coverage_of.values()),
            },
            key=str,
        )
        self.lean = {key: self.rng.uniform(-1.0, 1.0) for key in everyone}

    # helpers

    def new_id(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def progress(self, day: dt.date) -> float:
        return (day - self.first).days / max(1, (self.last - self.first).days)

    def rate(self, pair: tuple[float, float], day: dt.date, *leaning: object) -> float:
        """The rate on ``day`` along the year's path, moved by who is involved."""
        start, end = pair
        value = start + (end - start) * self.progress(day)
        # a little month-to-month noise, the same for every case of a month
        month = random.Random(f"{self.seed}:{day:%Y-%m}:{pair}")  # noqa: S311
        value += month.uniform(-0.035, 0.035)
        for who in leaning:
            if isinstance(who, uuid.UUID):
                value += 0.06 * self.lean.get(who, 0.0)
        return min(0.98, max(0.02, value))

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    def weighted(self, pairs: Sequence[tuple[str, int]]) -> str:
        return self.rng.choices([p for p, _ in pairs], [w for _, w in pairs])[0]

    def local(self, moment: dt.datetime) -> dt.date:
        return moment.astimezone(self.zone).date()

    def at(self, day: dt.date, hour: float) -> dt.datetime:
        local = dt.datetime.combine(day, dt.time(), self.zone) + dt.timedelta(hours=hour)
        return local.astimezone(dt.UTC)

    def day_in(self, first: dt.date, last: dt.date) -> dt.date:
        return first + dt.timedelta(days=self.rng.randint(0, max(0, (last - first).days)))

    def business_day_in(self, first: dt.date, last: dt.date) -> dt.date:
        for _ in range(10):
            day = self.day_in(first, last)
            if day.weekday() < 5 and day not in self.closed:
                return day
        return self.day_in(first, last)

    def months(self) -> list[tuple[dt.date, dt.date]]:
        found = []
        start = self.first
        while start <= self.last:
            end = min(self.last, start + relativedelta(months=1) - dt.timedelta(days=1))
            found.append((start, end))
            start += relativedelta(months=1)
        return found

    def per_month(self, name: str, start: dt.date, end: dt.date) -> int:
        full = (start + relativedelta(months=1) - start).days
        wanted = PER_THOUSAND[name] * len(self.clinic.patients) / 1000
        return max(1, round(max(AT_LEAST[name], wanted) * ((end - start).days + 1) / full))

    def tracked(self, created: dt.datetime, updated: dt.datetime | None = None) -> dict[str, Any]:
        return {"created_at": created, "updated_at": updated or created, "version": 1}

    def patient(self) -> uuid.UUID:
        return self.clinic.patients[self.rng.randrange(len(self.clinic.patients))]

    # appointments

    def _book(
        self,
        hours: Hours,
        kind: Kind,
        starts: dt.datetime,
        patient: uuid.UUID,
        status: str,
        lead: dt.timedelta,
    ) -> Visit | None:
        """Write one visit if the practitioner, the patient and a room are free."""
        day = self.local(starts)
        held = starts + kind.held
        if not self.timeline.free(hours.practitioner, day, starts, held):
            return None
        if (patient, day) in self.busy_days or not self.timeline.free(patient, day, starts, held):
            return None
        room = None
        if kind.room_kind:
            room = next(
                (
                    r
                    for r in self.clinic.rooms.get((hours.location, kind.room_kind), [])
                    if self.timeline.free(r, day, starts, held)
                ),
                None,
            )
            if room is None:
                return None
            self.timeline.take(room, day, starts, held)
        self.timeline.take(hours.practitioner, day, starts, held)
        self.timeline.take(patient, day, starts, held)
        self.busy_days.add((patient, day))
        ends = starts + dt.timedelta(minutes=kind.minutes)
        booked = min(starts - lead, self.now - dt.timedelta(hours=1))
        row: dict[str, Any] = {
            "id": self.new_id(),
            "patient_id": patient,
            "practitioner_id": hours.practitioner,
            "location_id": hours.location,
            "room_id": room,
            "appointment_type_id": kind.id,
            "series_id": None,
            "starts_at": starts,
            "ends_at": ends,
            "held_until": held,
            "status": status,
            "modality": kind.modality,
            "cancel_reason": None,
            "cancel_note": None,
            "telehealth_token": new_secret(24) if kind.modality == "video" else None,
            "phone_number": self.clinic.phones.get(patient) if kind.modality == "phone" else None,
            "patient_token": new_secret(24),
            "confirmed_at": None,
            "checked_in_at": None,
            "arrived_at": None,
            "note": None,
            "rescheduled_from_id": None,
            **self.tracked(booked),
        }
        if status == "cancelled":
            reason = self.rng.choice(PATIENT_CANCEL_REASONS)
            changed = max(booked, starts - dt.timedelta(hours=self.rng.randint(3, 60)))
            row.update(cancel_reason=reason, cancel_note=CANCEL_NOTES[reason], updated_at=changed)
        elif status == "noshow":
            row["updated_at"] = starts + 2 * STEP
        else:
            arrived = starts - dt.timedelta(minutes=self.rng.randint(3, 20))
            row.update(
                arrived_at=arrived,
                checked_in_at=arrived + dt.timedelta(minutes=2),
                updated_at=ends + dt.timedelta(minutes=self.rng.randint(2, 30)),
            )
            if starts - booked > dt.timedelta(days=2) and self.chance(0.5):
                row["confirmed_at"] = starts - dt.timedelta(days=2, hours=self.rng.randint(0, 8))
        self.rows["appointments"].append(row)
        visit = Visit(row["id"], patient, hours.practitioner, hours.location, kind, starts, status)
        self.visits.append(visit)
        return visit

    def _lead(self, day: dt.date) -> dt.timedelta:
        prompt = self.chance(self.rate(PROMPT, day))
        days = self.rng.randint(1, 13) if prompt else self.rng.randint(15, 60)
        return dt.timedelta(days=days, hours=self.rng.randint(0, 9))

    def _outcome(self, day: dt.date, practitioner: uuid.UUID) -> str:
        if self.chance(CANCELLED):
            return "cancelled"
        if self.chance(self.rate(NO_SHOW, day, practitioner)):
            return "noshow"
        return "fulfilled"

    def follow_up_visit(
        self, patient: uuid.UUID, first: dt.date, last: dt.date, lead_from: dt.datetime
    ) -> Visit | None:
        """The first free time from ``first`` to ``last`` with a practitioner who offers
        follow-up visits in person: booked the day after discharge, fulfilled."""
        day = first
        while day <= last:
            if (patient, day) not in self.busy_days and day not in self.closed:
                for hours in self.clinic.hours.get(day, []):
                    kinds = [
                        k
                        for k in self.clinic.offers.get(hours.practitioner, [])
                        if k.code == "follow-up"
                        and k.modality in (hours.modalities or ("in-person",))
                    ]
                    if not kinds:
                        continue
                    starts = hours.starts + STEP * self.rng.randint(0, 8)
                    while starts + kinds[0].held <= hours.ends:
                        lead = starts - lead_from
                        visit = self._book(hours, kinds[0], starts, patient, "fulfilled", lead)
                        if visit is not None:
                            return visit
                        starts += STEP
            day += dt.timedelta(days=1)
        return None

    def fill_schedule(self, filled: set[tuple[uuid.UUID, dt.date]]) -> None:
        """Take a share of every working day's times, as the demo's own schedule does for
        the last two weeks (days it filled are left as they are)."""
        patients = self.clinic.patients
        day = self.first
        while day <= self.last:
            if day not in self.closed:
                for hours in self.clinic.hours.get(day, []):
                    if (hours.practitioner, day) in filled:
                        continue
                    self._fill(hours, day, patients)
            day += dt.timedelta(days=1)

    def _fill(self, hours: Hours, day: dt.date, patients: Sequence[uuid.UUID]) -> None:
        allowed = hours.modalities or ("in-person", "video", "phone")
        kinds = [k for k in self.clinic.offers.get(hours.practitioner, []) if k.modality in allowed]
        if not kinds:
            return
        starts = hours.starts
        while starts < hours.ends:
            kind = kinds[self.rng.randrange(len(kinds))]
            step = STEP * math.ceil(kind.held / STEP)
            if starts + kind.held > hours.ends:
                break
            if self.chance(FILL):
                for _ in range(6):
                    patient = patients[self.rng.randrange(len(patients))]
                    if self.monthly[patient, day.year * 12 + day.month] >= MONTHLY_VISITS:
                        continue
                    status = self._outcome(day, hours.practitioner)
                    if self._book(hours, kind, starts, patient, status, self._lead(day)):
                        self.monthly[patient, day.year * 12 + day.month] += 1
                        break
            starts += step

    # hospital stays

    def hospital(self) -> None:
        candidates = [p for p in self.clinic.patients if p not in self.clinic.in_hospital]
        if not candidates:
            return
        number = 0
        for start, end in self.months():
            for _ in range(self.per_month("discharges", start, end)):
                number += 1
                patient = candidates[self.rng.randrange(len(candidates))]
                self._stay(patient, start, end, number)

    def _encounter(
        self,
        patient: uuid.UUID,
        admit: dt.datetime,
        out: dt.datetime,
        class_code: str,
        disposition: str,
        diagnoses: tuple[tuple[str, str], ...],
        number: int,
        readmission_of: uuid.UUID | None,
    ) -> uuid.UUID:
        code, _name = HOSPITALS[number % len(HOSPITALS)]
        encounter_id = self.new_id()
        unit = UNITS[number % len(UNITS)]
        self.rows["encounters"].append(
            {
                "id": encounter_id,
                "patient_id": patient,
                "facility": code,
                "visit_number": f"H{self.local(admit):%Y%m%d}{number:04d}",
                "class_code": class_code,
                "status": "finished",
                "admit_at": admit,
                "discharge_at": out,
                "location": unit.replace("^", " "),
                "prior_location": None,
                "admission_type": "E" if class_code != "IMP" or self.chance(0.8) else "EL",
                "admit_source": "7",
                "hospital_service": "MED",
                "discharge_disposition": disposition,
                "attending": "Dr Thomas Nguyen",
                "diagnoses": [
                    {"code": c, "text": words, "system": "ICD-10", "type": "A" if i == 0 else "F"}
                    for i, (c, words) in enumerate(diagnoses)
                ],
                "last_event": "A03",
                "readmission_of_id": readmission_of,
                **self.tracked(out, out),
            }
        )
        return encounter_id

    def _stay(self, patient: uuid.UUID, start: dt.date, end: dt.date, number: int) -> None:
        rng = self.rng
        out_day = self.day_in(start, end)
        los = rng.choice((0, 1, 2, 2, 3, 3, 4, 5, 6, 8))
        admit_day = out_day - dt.timedelta(days=los)
        days = [admit_day + dt.timedelta(days=n) for n in range(los + 1)]
        if any((patient, d) in self.busy_days for d in days):
            return
        admit = self.at(admit_day, rng.uniform(1, 22))
        out = max(admit + dt.timedelta(hours=5), self.at(out_day, rng.uniform(10, 17)))
        if out >= self.now - dt.timedelta(hours=2):
            return
        self.busy_days.update((patient, d) for d in days)
        class_code = self.weighted(ENCOUNTER_CLASSES)
        disposition = self.weighted(DISPOSITIONS)
        diagnoses = STAYS[rng.randrange(len(STAYS))]
        index = self._encounter(
            patient, admit, out, class_code, disposition, diagnoses, number * 2, None
        )
        out_day = self.local(out)
        # a readmission within 30 days, before any follow-up visit
        back: dt.date | None = None
        if class_code in transition_codes.ADMISSION_CLASSES and self.chance(
            self.rate(READMITTED, out_day)
        ):
            again_admit = self.at(
                out_day + dt.timedelta(days=rng.randint(3, 27)), rng.uniform(1, 22)
            )
            again_out = again_admit + dt.timedelta(days=rng.randint(1, 5), hours=rng.uniform(2, 8))
            again_days = [
                self.local(again_admit) + dt.timedelta(days=n)
                for n in range((self.local(again_out) - self.local(again_admit)).days + 1)
            ]
            if again_out < self.now - dt.timedelta(hours=2) and not any(
                (patient, d) in self.busy_days for d in again_days
            ):
                self.busy_days.update((patient, d) for d in again_days)
                stay = self._encounter(
                    patient, again_admit, again_out, "IMP", "01", diagnoses, number * 2 + 1, index
                )
                back = self.local(again_admit)
                self._transition(
                    patient, stay, again_admit, again_out, diagnoses, "01", None, readmission=True
                )
        self._transition(
            patient, index, admit, out, diagnoses, disposition, back, readmission=False
        )

    def _transition(
        self,
        patient: uuid.UUID,
        encounter: uuid.UUID,
        admit: dt.datetime,
        out: dt.datetime,
        diagnoses: tuple[tuple[str, str], ...],
        disposition: str,
        readmitted_on: dt.date | None,
        *,
        readmission: bool,
    ) -> None:
        rng = self.rng
        if disposition in transition_codes.NO_FOLLOW_UP_DISPOSITIONS:
            return
        out_day = self.local(out)
        comorbidity = charlson([c for c, _ in diagnoses])
        days = (out_day - self.local(admit)).days
        index = lace(days, True, comorbidity.score, rng.choice((0, 0, 0, 1, 2, 4)))
        high = readmission or index.score >= transition_codes.LACE_HIGH
        complexity = "high" if high else "moderate"
        due = add_business_days(
            out_day, transition_codes.CONTACT_BUSINESS_DAYS, self.settings, self.db
        )
        follow_due = out_day + dt.timedelta(days=transition_codes.FOLLOW_UP_DAYS[complexity])
        coordinator = self.clinic.coordinator_of.get(patient)
        contacted = None
        if self.chance(self.rate(CONTACT_ON_TIME, out_day, coordinator)):
            contacted = self.at(
                self.business_day_in(out_day + dt.timedelta(days=1), due), rng.uniform(9, 16)
            )
        elif self.chance(0.6):
            contacted = self.at(due + dt.timedelta(days=rng.randint(1, 5)), rng.uniform(9, 16))
        if contacted is not None and contacted >= self.now:
            contacted = None
        if (
            readmitted_on is not None
            and contacted is not None
            and self.local(contacted) >= readmitted_on
        ):
            contacted = None
        visit = None
        if disposition not in HOSPICE_DISPOSITIONS and self.chance(
            self.rate(FOLLOW_UP_VISIT, out_day, coordinator)
        ):
            prompt = self.chance(self.rate(FOLLOW_UP_PROMPT, out_day))
            first = out_day + dt.timedelta(days=rng.randint(2, 5) if prompt else rng.randint(8, 18))
            last = min(self.last, first + dt.timedelta(days=6))
            if readmitted_on is not None:
                last = min(last, readmitted_on - dt.timedelta(days=1))
            visit = self.follow_up_visit(patient, first, last, out + dt.timedelta(hours=20))
        transition_id = self.new_id()
        recent = (self.last - out_day).days < 14
        finished = contacted is not None and (visit is not None or not recent)
        self.rows["transitions"].append(
            {
                "id": transition_id,
                "patient_id": patient,
                "encounter_id": encounter,
                "status": "done" if finished or not recent else "open",
                "discharged_on": out_day,
                "contact_due_on": due,
                "contacted_at": contacted,
                "contact_note": "Reached by phone; reviewed discharge instructions."
                if contacted
                else None,
                "complexity": complexity,
                "follow_up_due_on": follow_due,
                "follow_up_appointment_id": visit.id if visit else None,
                "medications_reconciled_at": contacted,
                "checklist": transition_codes.empty_checklist(),
                "discharge_summary_id": None,
                "lace_score": index.score,
                "risk": {
                    "charlson": comorbidity.as_dict(),
                    "readmission": readmission,
                    "lace": {**index.as_dict(), "computed": True},
                    "hospital": {
                        "score": None,
                        "computed": False,
                        "reason": "not computed: no laboratory results in the feed",
                    },
                },
                "readmission": readmission,
                **self.tracked(out + dt.timedelta(minutes=1), contacted or out),
            }
        )
        # The contact step's task, as the workflow raises it, and the calls made for it.
        contact_due = end_of_day(due, self.settings)
        status = "completed" if contacted else ("failed" if not recent else "ready")
        task = self._task(
            patient,
            "call",
            f"Call after discharge: contact by {due:%a %d %b}",
            contact_due,
            out + dt.timedelta(minutes=1),
            status,
            contacted,
            priority="urgent" if high else "routine",
            focus=("Transition", transition_id),
            dedupe=f"transition:{transition_id}:contact:1",
        )
        tries = [] if contacted is None else [contacted]
        if contacted is None or self.chance(0.4):
            tries.insert(0, self.at(out_day + dt.timedelta(days=1), rng.uniform(9, 12)))
        for n, when in enumerate(tries):
            if when < self.now:
                reached = contacted is not None and n == len(tries) - 1
                self._outreach(patient, when, reached, task)

    # referrals, tasks, outreach

    def referrals(self) -> None:
        rng = self.rng
        counter = self._reserve(
            "referral", sum(self.per_month("referrals", s, e) for s, e in self.months())
        )
        for start, end in self.months():
            for _ in range(self.per_month("referrals", start, end)):
                kind, reason, diagnoses = REFERRALS[rng.randrange(len(REFERRALS))]
                providers = self.clinic.providers.get(kind) or self.clinic.providers.get(
                    "specialist"
                )
                if not providers:
                    continue
                patient = self.patient()
                sent_day = self.business_day_in(start, end)
                sent = self.at(sent_day, rng.uniform(8.5, 17))
                if sent >= self.now:
                    continue
                number = next(counter)
                age = (self.last - sent_day).days
                days = rng.randint(8, 45)
                status = "sent"
                accepted = scheduled = seen = report = closed = None
                if self.chance(0.05):
                    status = "declined"
                    closed = sent + dt.timedelta(days=rng.randint(2, 9))
                elif (
                    self.chance(
                        self.rate(
                            REFERRAL_CLOSED, sent_day, self.clinic.coordinator_of.get(patient)
                        )
                    )
                    and age > days
                ):
                    status = "closed"
                    accepted = sent + dt.timedelta(days=rng.randint(1, 3))
                    scheduled = self.local(sent) + dt.timedelta(days=max(4, days - 7))
                    seen = scheduled
                    report = self.local(sent) + dt.timedelta(days=days - rng.randint(0, 2))
                    closed = self.at(report, rng.uniform(9, 16))
                elif age > 10 and self.chance(0.7):
                    status = "scheduled" if self.chance(0.5) else "accepted"
                    accepted = sent + dt.timedelta(days=rng.randint(1, 4))
                    if status == "scheduled":
                        scheduled = self.local(accepted) + dt.timedelta(days=rng.randint(5, 40))
                if status == "declined" and closed is not None and closed >= self.now:
                    status, closed = "sent", None
                self.rows["referrals"].append(
                    {
                        "id": self.new_id(),
                        "number": f"R{number:07d}",
                        "patient_id": patient,
                        "direction": "outgoing",
                        "provider_id": providers[rng.randrange(len(providers))],
                        "service_kind": kind,
                        "reason": reason,
                        "urgency": "urgent" if self.chance(0.12) else "routine",
                        "diagnoses": [{"code": c, "display": d} for c, d in diagnoses],
                        "status": status,
                        "status_reason": "No openings for new patients"
                        if status == "declined"
                        else None,
                        "note": None,
                        "sent_at": sent,
                        "accepted_at": accepted,
                        "appointment_id": None,
                        "scheduled_for": scheduled,
                        "seen_on": seen,
                        "report_received_on": report,
                        "closed_at": closed,
                        **self.tracked(sent - dt.timedelta(hours=1), closed or accepted or sent),
                    }
                )

    def _task(
        self,
        patient: uuid.UUID,
        kind: str,
        title: str,
        due: dt.datetime,
        created: dt.datetime,
        status: str,
        done: dt.datetime | None,
        *,
        priority: str = "routine",
        focus: tuple[str, uuid.UUID] | None = None,
        dedupe: str | None = None,
    ) -> uuid.UUID:
        task_id = self.new_id()
        is_open = status in ("requested", "ready", "in-progress")
        self.rows["tasks"].append(
            {
                "id": task_id,
                "patient_id": patient,
                "title": title[:200],
                "description": None,
                "kind": kind,
                "status": status,
                "is_open": is_open,
                "business_status": None,
                "priority": priority,
                "urgency": URGENCY[priority],
                "risk": self.rng.randint(0, 60),
                "owner_id": self.clinic.coordinator_of.get(patient),
                "queue": None,
                "due_at": due,
                "focus_type": focus[0] if focus else None,
                "focus_id": focus[1] if focus else None,
                "template_key": None,
                "dedupe_key": dedupe,
                "escalation_level": 0,
                "completed_at": done,
                **self.tracked(created, done or created),
            }
        )
        return task_id

    def tasks(self) -> None:
        rng = self.rng
        for start, end in self.months():
            for _ in range(self.per_month("tasks", start, end)):
                patient = self.patient()
                kind, title = TASKS[rng.randrange(len(TASKS))]
                day = self.business_day_in(start, end)
                due = self.at(day, rng.uniform(10, 17.5))
                created = due - dt.timedelta(days=rng.randint(1, 10), hours=rng.uniform(0, 6))
                coordinator = self.clinic.coordinator_of.get(patient)
                done: dt.datetime | None
                if self.chance(0.04):
                    status, done = "cancelled", None
                elif self.chance(self.rate(TASK_ON_TIME, day, coordinator)):
                    status = "completed"
                    done = max(
                        created + dt.timedelta(hours=1),
                        due - dt.timedelta(hours=rng.uniform(1, 72)),
                    )
                elif (self.last - day).days < 21 and self.chance(0.6):
                    status, done = rng.choice(("ready", "in-progress")), None
                else:
                    status = "completed"
                    done = due + dt.timedelta(hours=rng.uniform(2, 120))
                if done is not None and done >= self.now:
                    status, done = "in-progress", None
                priority = "urgent" if self.chance(0.2) else "routine"
                self._task(patient, kind, title, due, created, status, done, priority=priority)

    def _outreach(
        self, patient: uuid.UUID, when: dt.datetime, reached: bool, task: uuid.UUID | None
    ) -> None:
        channel = "phone" if task is not None else self.weighted(OUTREACH_CHANNELS)
        if channel == "letter":
            outcome = "sent"
        elif reached:
            outcome = "declined" if self.chance(0.06) else "reached"
        else:
            outcome = self.weighted(NOT_REACHED) if channel == "phone" else "sent"
        self.rows["outreach_attempts"].append(
            {
                "id": self.new_id(),
                "patient_id": patient,
                "task_id": task,
                "channel": channel,
                "direction": "outbound",
                "outcome": outcome,
                "contact_name": None,
                "note": None,
                "next_attempt_on": None,
                "occurred_at": when,
                **self.tracked(when),
            }
        )

    def outreach(self) -> None:
        rng = self.rng
        for start, end in self.months():
            for _ in range(self.per_month("outreach", start, end)):
                patient = self.patient()
                day = self.business_day_in(start, end)
                when = self.at(day, rng.uniform(9, 18))
                if when >= self.now:
                    continue
                coordinator = self.clinic.coordinator_of.get(patient)
                if self.chance(0.06):  # the patient called us back
                    row_count = len(self.rows["outreach_attempts"])
                    self._outreach(patient, when, True, None)
                    self.rows["outreach_attempts"][row_count].update(
                        direction="inbound", channel="phone", outcome="reached"
                    )
                    continue
                self._outreach(
                    patient, when, self.chance(self.rate(OUTREACH_REACHED, day, coordinator)), None
                )

    # prior authorizations

    def authorizations(self) -> None:
        rng = self.rng
        covered = sorted(self.clinic.coverage_of, key=str)
        ordering = [p for p in self.clinic.practitioners if self.clinic.offers.get(p)]
        if not covered or not ordering:
            return
        total = sum(self.per_month("authorizations", s, e) for s, e in self.months())
        counter = self._reserve("prior-auth", total)
        for start, end in self.months():
            for _ in range(self.per_month("authorizations", start, end)):
                patient = covered[rng.randrange(len(covered))]
                coverage_id, payer = self.clinic.coverage_of[patient]
                code, modifiers, units, diagnosis = AUTH_SERVICES[rng.randrange(len(AUTH_SERVICES))]
                sent_day = self.business_day_in(start, end)
                sent = self.at(sent_day, rng.uniform(8.5, 16.5))
                start_mean, end_mean = AUTH_HOURS
                mean = start_mean + (end_mean - start_mean) * self.progress(sent_day)
                hours = rng.expovariate(1 / (mean * (1 + 0.35 * self.lean.get(payer, 0.0))))
                decided = sent + dt.timedelta(hours=max(2.0, hours))
                if decided >= self.now - dt.timedelta(hours=1):
                    continue
                number = next(counter)
                denied = self.chance(AUTH_DENIED + 0.08 * self.lean.get(payer, 0.0))
                status = (
                    "denied"
                    if denied
                    else ("partially-approved" if self.chance(0.1) else "approved")
                )
                begin = self.local(sent) + dt.timedelta(days=7)
                finish = begin + dt.timedelta(days=90)
                approved = status != "denied"
                if approved and finish < self.last:
                    status_now = "expired" if status == "approved" else status
                else:
                    status_now = status
                auth_id = self.new_id()
                granted = units if status == "approved" else max(1, units // 2)
                self.rows["prior_authorizations"].append(
                    {
                        "id": auth_id,
                        "number": f"PA{number:07d}",
                        "patient_id": patient,
                        "coverage_id": coverage_id,
                        "referral_id": None,
                        "ordering_practitioner_id": ordering[rng.randrange(len(ordering))],
                        "rendering_practitioner_id": None,
                        "rendering_provider_id": None,
                        "diagnoses": [{"code": diagnosis[0], "display": diagnosis[1]}],
                        "status": status_now,
                        "requested_start": begin,
                        "requested_end": finish,
                        "approved_start": begin if approved else None,
                        "approved_end": finish if approved else None,
                        "auth_number": f"A{number:08d}" if approved else None,
                        "decision_reason": rng.choice(DENIAL_REASONS) if denied else None,
                        "decided_at": decided,
                        "decision_source": "payer",
                        "note": None,
                        "next_attempt_at": None,
                        "attempts": 1,
                        "last_error": None,
                        "cancel_reason": None,
                        **self.tracked(sent - dt.timedelta(hours=2), decided),
                    }
                )
                self.rows["prior_authorization_services"].append(
                    {
                        "id": self.new_id(),
                        "authorization_id": auth_id,
                        "line": 1,
                        "code": code,
                        "modifiers": list(modifiers),
                        "units_requested": units,
                        "units_approved": granted if approved else None,
                        "decision": status,
                    }
                )
                self.rows["prior_authorization_submissions"].append(
                    {
                        "id": self.new_id(),
                        "authorization_id": auth_id,
                        "channel": "x12-278",
                        "control_number": None,
                        "trace_number": f"PA{number:07d}S1",
                        "request_payload": "(request sent before the demo's records begin)",
                        "response_payload": None,
                        "status": "answered",
                        "outcome": status,
                        "error": None,
                        "attempts": 1,
                        "answered_at": decided,
                        **self.tracked(sent, decided),
                    }
                )

    def _reserve(self, counter: str, count: int) -> Iterator[int]:
        """``count`` numbers of a counter (referral, prior-auth), taken in one statement."""
        top = self.db.execute(
            text("UPDATE counters SET value = value + :n WHERE name = :name RETURNING value"),
            {"n": count, "name": counter},
        ).scalar_one_or_none()
        if top is None:  # a database where none was ever numbered
            self.db.execute(
                text("INSERT INTO counters (name, value) VALUES (:name, :n)"),
                {"name": counter, "n": count},
            )
            top = count
        return iter(range(int(top) - count + 1, int(top) + 1))

    # care-plan goals

    def goals(self) -> None:
        rng = self.rng
        for plan_id, patient, start_on, template, top in self.clinic.plans:
            due = max(self.first, start_on + dt.timedelta(days=rng.randint(20, 50)))
            position = top
            while due <= self.last:
                position += 1
                achieved = self.chance(
                    self.rate(GOAL_ACHIEVED, due, self.clinic.coordinator_of.get(patient))
                )
                made = (
                    self.at(start_on, 11.0)
                    if start_on >= self.first
                    else self.at(due - dt.timedelta(days=90), 11.0)
                )
                closed = self.at(due, rng.uniform(9, 17))
                self.rows["goals"].append(
                    {
                        "id": self.new_id(),
                        "care_plan_id": plan_id,
                        **template,
                        "due_on": due,
                        "lifecycle_status": "completed",
                        "achievement_status": "achieved" if achieved else "not-achieved",
                        "achievement_set_on": due,
                        "position": position,
                        **self.tracked(min(made, closed), closed),
                    }
                )
                due += dt.timedelta(days=rng.randint(35, 75))

    # social needs and surveys, at the visits

    def at_visits(self) -> None:
        rng = self.rng
        screened = self.clinic.screened
        invited = self.clinic.invited
        spacing = dt.timedelta(days=surveys.ONE_PER_DAYS)
        for visit in sorted(self.visits, key=lambda v: (v.starts, str(v.id))):
            if visit.status != "fulfilled":
                continue
            day = self.local(visit.starts)
            since = day - relativedelta(months=12)
            if not any(since < d <= day for d in screened.get(visit.patient, [])) and self.chance(
                self.rate(SCREEN_AT_VISIT, day)
            ):
                self._screening(visit, day)
                screened.setdefault(visit.patient, []).append(day)
            ends = visit.starts + dt.timedelta(minutes=visit.kind.minutes)
            sent = ends + surveys.INVITE_AFTER
            if sent >= self.now or not self.chance(SURVEY_INVITED):
                continue
            if any(abs(sent - other) < spacing for other in invited.get(visit.patient, [])):
                continue
            invited.setdefault(visit.patient, []).append(sent)
            self._survey(visit, sent, rng)

    def _screening(self, visit: Visit, day: dt.date) -> None:
        rng = self.rng
        profile = (
            SCREENING_PROFILES[rng.randrange(len(SCREENING_PROFILES))]
            if self.chance(SCREEN_POSITIVE)
            else "negative"
        )
        answers = {**NEGATIVE, **PROFILES[profile]}
        results = instruments.score(instruments.AHC_HRSN, answers)
        positive = any(r.positive for r in results)
        at = visit.starts + dt.timedelta(minutes=5)
        screening_id = self.new_id()
        self.rows["social_screenings"].append(
            {
                "id": screening_id,
                "patient_id": visit.patient,
                "instrument": instruments.AHC_HRSN.code,
                "instrument_version": instruments.AHC_HRSN.version,
                "status": "completed",
                "respondent": "patient",
                "language": "es" if self.clinic.language_of.get(visit.patient) == "es" else "en",
                "mode": "in-person",
                "answers": {
                    item.link_id: answers[item.link_id] for item in instruments.AHC_HRSN.items
                },
                "results": [
                    {"domain": r.domain, "positive": r.positive, "total": r.total} for r in results
                ],
                "positive": positive,
                "screened_at": at,
                "screened_on": day,
                "rescreen_due_on": rescreen_due(day, positive),
                "note": None,
                "status_reason": None,
                **self.tracked(at),
            }
        )
        already = self.clinic.open_needs.setdefault(visit.patient, set())
        for result in results:
            if not result.positive or result.domain in already:
                continue
            age = (self.last - day).days
            addressed_in = rng.randint(3, 50)
            coordinator = self.clinic.coordinator_of.get(visit.patient)
            if self.chance(NEED_DECLINED):
                status, closed = "declined", day + dt.timedelta(days=rng.randint(0, 5))
            elif age > addressed_in and self.chance(self.rate(NEED_ADDRESSED, day, coordinator)):
                status, closed = "addressed", day + dt.timedelta(days=addressed_in)
            else:
                status, closed = "open", None
            if closed is not None and closed > self.last:
                status, closed = "open", None
            if status == "open":
                already.add(result.domain)
            self.rows["social_needs"].append(
                {
                    "id": self.new_id(),
                    "patient_id": visit.patient,
                    "screening_id": screening_id,
                    "domain": result.domain,
                    "status": status,
                    "identified_on": day,
                    "closed_on": closed,
                    "note": {
                        "addressed": "Connected with a community resource.",
                        "declined": "Patient declined help for now.",
                    }.get(status),
                    **self.tracked(at, self.at(closed, 12.0) if closed else at),
                }
            )

    def _survey(self, visit: Visit, sent: dt.datetime, rng: random.Random) -> None:
        language = survey_items.language_for(self.clinic.language_of.get(visit.patient))
        invitation_id = self.new_id()
        answered = sent + dt.timedelta(hours=rng.randint(1, 60))
        answers = self.chance(SURVEY_ANSWERED) and answered < self.now
        self.rows["survey_invitations"].append(
            {
                "id": invitation_id,
                "patient_id": visit.patient,
                "appointment_id": visit.id,
                "token_hash": surveys.hash_token(surveys.new_token()),
                "channel": "sms" if self.chance(0.35) else "email",
                "language": language,
                "outbox_id": None,
                "expires_at": sent + surveys.EXPIRES_AFTER,
                "answered_at": answered if answers else None,
                **self.tracked(sent),
            }
        )
        if not answers:
            return
        day = self.local(visit.starts)
        top = self.chance(self.rate(TOP_BOX, day, visit.practitioner))
        overall = rng.choice((9, 10, 10)) if top else rng.choice((3, 5, 6, 7, 7, 8, 8, 8))
        pleased = 0 if overall < 7 else 1 if overall < 9 else 2
        yes = [o.code for o in survey_items.YES_SCALE]
        recommend = [o.code for o in survey_items.RECOMMEND_SCALE]
        self.rows["survey_responses"].append(
            {
                "id": self.new_id(),
                "invitation_id": invitation_id,
                "patient_id": visit.patient,
                "appointment_id": visit.id,
                "answered_at": answered,
                "language": language,
                "overall": overall,
                "answers": {
                    "overall": overall,
                    "recommend": recommend[min(3, 2 - pleased + (rng.random() < 0.2))],
                    "explained": yes[min(2, 2 - pleased + (rng.random() < 0.15))],
                    "listened": yes[min(2, 2 - pleased)],
                    "timely": yes[min(2, 2 - pleased + (rng.random() < 0.3))],
                },
                "comment": None,
            }
        )


# --- writing --------------------------------------------------------------------------------

# Parents before children (PostgreSQL checks foreign keys per statement); the FHIR type each
# table's records are served as, where one is.
ORDER: tuple[tuple[str, str | None], ...] = (
    ("appointments", "Appointment"),
    ("encounters", "Encounter"),
    ("transitions", None),
    ("referrals", "ServiceRequest"),
    ("tasks", "Task"),
    ("outreach_attempts", None),
    ("prior_authorizations", "Claim"),
    ("prior_authorization_services", None),
    ("prior_authorization_submissions", None),
    ("goals", "Goal"),
    ("social_screenings", "QuestionnaireResponse"),
    ("social_needs", None),
    ("survey_invitations", None),
    ("survey_responses", None),
)
RENDERED_AFTER = {"prior_authorization_submissions": ("ClaimResponse", "prior_authorizations")}


def _models() -> Mapping[str, type[Any]]:
    return {
        mapper.class_.__tablename__: mapper.class_
        for mapper in Base.registry.mappers
        if hasattr(mapper.class_, "__tablename__")
    }


def _json(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value) if isinstance(value, decimal.Decimal) else value


def _write(db: Session, rows: Mapping[str, list[dict[str, Any]]]) -> None:
    conn = db.connection()
    models = _models()
    versions: Table = RecordVersion.__table__  # type: ignore[assignment]
    for name, fhir_type in ORDER:
        table_rows = sorted(
            rows.get(name, []), key=_encounters_first if name == "encounters" else _none
        )
        if not table_rows:
            continue
        model = models[name]
        table: Table = model.__table__
        for first in range(0, len(table_rows), BATCH):
            batch = table_rows[first : first + BATCH]
            conn.execute(insert(table), batch)
            if getattr(model, "__versioned__", False):
                conn.execute(
                    insert(versions),
                    [
                        {
                            "entity_type": model.__name__,
                            "entity_id": row["id"],
                            "version": 1,
                            "patient_id": row.get("patient_id"),
                            "action": "create",
                            "changed_at": row.get("updated_at") or row.get("created_at"),
                            "changed_by": None,
                            "data": {key: _json(value) for key, value in row.items()},
                        }
                        for row in batch
                    ],
                )
            if fhir_type is not None:
                projection.render_new(db, fhir_type, [row["id"] for row in batch])
        after = RENDERED_AFTER.get(name)
        if after is not None:
            kind, source = after
            ids = [row["id"] for row in rows.get(source, [])]
            for first in range(0, len(ids), BATCH):
                projection.render_new(db, kind, ids[first : first + BATCH])
        record(
            db,
            ACTOR,
            Action.CREATE,
            entity_type=f"{model.__name__}Import",
            reason=f"demo history: {len(table_rows)} {name.replace('_', ' ')}",
        )


def _none(row: Mapping[str, Any]) -> int:
    return 0


def _encounters_first(row: Mapping[str, Any]) -> int:
    """Index stays before the readmissions that point at them."""
    return 0 if row["readmission_of_id"] is None else 1


# --- the entry point ------------------------------------------------------------------------


def seeded(db: Session) -> bool:
    """Whether the history was added to this database already."""
    return (
        db.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.entity_type == MARK)
        )
        != 0
    )


def plan(
    db: Session, settings: Settings, seed: int = 1, now: dt.datetime | None = None
) -> History | None:
    """The year's rows, built in memory and not written (None when the demo has no patients
    or working hours yet). Reserves referral and authorization numbers in the caller's
    transaction."""
    now = now or utcnow()
    zone = ZoneInfo(settings.timezone)
    today = now.astimezone(zone).date()
    first = today.replace(day=1) - relativedelta(months=MONTHS)
    last = today - dt.timedelta(days=1)
    clinic = _read(db, first, last, zone)
    if not clinic.patients or not clinic.hours:
        return None
    history = History(db, settings, clinic, seed, now, first, last)
    filled = _existing_visits(db, history.timeline, _at(first, dt.time(), zone), zone)
    history.hospital()  # stays and their follow-up visits first: they claim their times
    history.fill_schedule(filled)
    history.at_visits()
    history.referrals()
    history.tasks()
    history.outreach()
    history.authorizations()
    history.goals()
    return history


def seed(
    db: Session, settings: Settings, seed: int = 1, now: dt.datetime | None = None
) -> HistorySeeded | None:
    """Add the year of past activity, once (None when it was added already, or the demo has
    no patients or practitioners yet). Runs after the rest of the demo: it reads the patients,
    the clinic and the visits already booked. The same seed gives the same history."""
    if seeded(db):
        return None
    history = plan(db, settings, seed, now)
    if history is None:
        return None
    _write(db, history.rows)
    counts = {name: len(history.rows.get(name, [])) for name, _ in ORDER}
    record(
        db,
        ACTOR,
        Action.CREATE,
        entity_type=MARK,
        reason=(
            f"demo history {history.first}..{history.last}, seed {seed}: "
            f"{sum(counts.values())} rows"
        ),
    )
    db.flush()
    return HistorySeeded(rows=counts)
