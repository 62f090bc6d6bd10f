"""Demo data: what a newcomer sees after `carebridge demo`. Each capability adds its own
realistic data here so its screens open populated."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carebridge.analytics import synthetic as history_demo
from carebridge.authorizations import synthetic as authorizations_demo
from carebridge.billing import synthetic as billing_demo
from carebridge.careplans import synthetic as care_plans
from carebridge.careplans import team_synthetic
from carebridge.communications import synthetic as communications_demo
from carebridge.community import synthetic as community_demo
from carebridge.coverage import synthetic as coverage_demo
from carebridge.education import synthetic as education_demo
from carebridge.fhir import synthetic as fhir_demo
from carebridge.hub import synthetic as hub_demo
from carebridge.lib.errors import AppError
from carebridge.lib.time import utcnow
from carebridge.patients import bulk, synthetic
from carebridge.patients.models import Patient
from carebridge.referrals import synthetic as referrals_demo
from carebridge.registries import synthetic as registries_demo
from carebridge.reports import synthetic as reports_demo
from carebridge.scheduling import service as scheduling
from carebridge.scheduling import synthetic as clinic
from carebridge.scheduling import waitlist
from carebridge.scheduling.models import HOLDING, Appointment, Practitioner
from carebridge.scheduling.schemas import BookIn, CancelIn, SlotQuery
from carebridge.scheduling.waitlist_schemas import WaitlistCreate
from carebridge.security import service as security
from carebridge.security.audit import Actor
from carebridge.security.models import User
from carebridge.security.roles import Role
from carebridge.security.schemas import UserCreate
from carebridge.settings import Settings, load_settings
from carebridge.social import synthetic as social_demo
from carebridge.surveys import synthetic as surveys_demo
from carebridge.tasks import synthetic as worklist_demo
from carebridge.transitions import synthetic as transitions_demo
from carebridge.transport import synthetic as transport_demo

DEMO_PASSWORD = "care-coordination-demo"  # noqa: S105 - printed for the demo sign-in


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    role: Role


DEMO_USERS = (
    DemoUser("coordinator", "Maria Alvarez, RN", Role.COORDINATOR),
    DemoUser("jchen", "James Chen", Role.COORDINATOR),
    DemoUser("admin", "Pat Okafor", Role.ADMIN),
    DemoUser("drpatel", "Dr. Anika Patel", Role.CLINICIAN),
    DemoUser("billing", "Denise Brooks", Role.BILLING),
    DemoUser("auditor", "Sam Whitfield", Role.AUDITOR),
)


def seed(db: Session, *, seed: int = 1) -> list[DemoUser]:
    """Create the demo users (idempotent) and return them. ``seed`` fixes every random
    choice so two demos with the same seed look the same."""
    random.seed(seed)
    system = Actor.system("demo")
    existing = set(db.scalars(select(User.username)))
    for person in DEMO_USERS:
        if person.username not in existing:
            security.create_user(
                db,
                system,
                UserCreate(
                    username=person.username,
                    display_name=person.display_name,
                    role=person.role,
                    password=DEMO_PASSWORD,
                ),
            )
    if has_patients(db):  # a demo database from before the scheduler: give it a clinic
        seed_schedule(db, seed=seed)
    return list(DEMO_USERS)


def has_patients(db: Session) -> bool:
    return db.scalar(select(func.count()).select_from(Patient)) != 0


def seed_patients(
    db: Session,
    *,
    count: int,
    seed: int = 1,
    progress: bulk.Progress | None = None,
    settings: Settings | None = None,
    history: bool = True,
) -> bulk.BulkResult:
    """Add ``count`` synthetic patients (the same ones for the same seed), spread over the
    demo coordinators, then the clinic that sees them (:func:`seed_schedule`), and last a
    year of past activity for the quality screens (``history``; tests of other domains leave
    it out). Call it on a demo database that has none yet."""
    coordinators = list(
        db.scalars(
            select(User.id).where(User.role == Role.COORDINATOR.value).order_by(User.username)
        )
    )
    result = bulk.insert_patients(
        db,
        Actor.system("demo"),
        synthetic.generate(count, seed),
        progress=progress,
        coordinators=coordinators,
    )
    seed_schedule(db, settings, seed=seed)
    team_synthetic.seed(db, seed=seed)  # queues, care teams and barriers
    care_plans.seed(db, seed=seed, zone=(settings or _demo_settings(db)).timezone)
    clinic_day = dt.datetime.now(ZoneInfo((settings or _demo_settings(db)).timezone)).date()
    education_demo.seed(db, seed=seed, today=clinic_day)  # handouts on the care plans
    coverage_demo.seed(db, seed=seed, zone=(settings or _demo_settings(db)).timezone)
    coverage_demo.seed_checks(db, settings or _demo_settings(db))
    referrals_demo.seed(db, seed=seed, zone=(settings or _demo_settings(db)).timezone)
    social_demo.seed(db, seed=seed, zone=(settings or _demo_settings(db)).timezone)
    community_demo.seed(db, zone=(settings or _demo_settings(db)).timezone)  # needs found first
    transport_demo.seed(db, settings or _demo_settings(db), seed=seed)
    surveys_demo.seed(db, settings or _demo_settings(db), seed=seed)  # needs the schedule
    authorizations_demo.seed(db, settings or _demo_settings(db))
    billing_demo.seed(db, settings or _demo_settings(db))
    transitions_demo.seed(db, settings or _demo_settings(db))
    worklist_demo.seed(db, seed=seed, zone=(settings or _demo_settings(db)).timezone)
    hub_demo.seed(db, seed=seed)  # threads among the care team
    communications_demo.seed(db, settings or _demo_settings(db), seed=seed)
    fhir_demo.seed(db, seed=seed)  # records from the county hospital and the state registry
    registries_demo.seed(db, settings or _demo_settings(db), seed=seed)  # HbA1c lab results
    reports_demo.seed(db, settings or _demo_settings(db))  # weekly emails to demo users
    # Last: a year of past activity around what the steps above made, for the quality screens.
    if history:
        history_demo.seed(db, settings or _demo_settings(db), seed=seed)
    return result


# --- the clinic and its schedule -------------------------------------------------------------

DEMO_PRACTITIONERS = 12
DEMO_LOCATIONS = 2
# Dr. Patel (the demo clinician) is practitioner 0, a family physician: her calendar is the
# one /schedule opens on when she signs in.
CLINICIAN_USERNAME = "drpatel"
CLINICIAN_NAME = "Anika Patel, MD"
# Local days relative to today: (first, last + 1, share of bookable times taken).
WINDOWS = ((-14, 0, 0.75), (0, 8, 0.6), (8, 22, 0.3))
STATUS_MIX = clinic.StatusMix(
    noshow=0.08, past_cancelled=0.05, cancelled_yesterday=0.03, confirmed=0.5
)
MAX_VISITS_PER_PATIENT = 4  # per window, so a small panel is not booked every day
BOOKED_THROUGH_SERVICE = 24
WITH_REMINDERS = 5
# (visit type, practitioner index or None, ISO weekdays, day part, priority, note)
WAITLIST: tuple[tuple[str, int | None, tuple[int, ...], str | None, int, str], ...] = (
    ("follow-up", None, (), None, 1, "ED visit for chest pain; needs follow-up this week."),
    ("new-patient", 3, (), None, 2, "Referred for a new heart murmur; first cardiology opening."),
    ("pt-session", None, (2, 4), "morning", 3, "After knee replacement; mornings before work."),
    ("annual-wellness", 0, (), "afternoon", 4, "Wants Dr. Patel; afternoons only."),
    ("diabetes-education", None, (), None, 2, "New A1c 9.8%. Prefers a Spanish speaker."),
    ("video-check-in", 4, (), None, 3, "Would take any earlier video time."),
    ("new-patient", None, (1, 3, 5), None, 3, "New to the area; Mondays, Wednesdays, Fridays."),
    ("follow-up", 1, (), "morning", 3, "Blood pressure recheck with the same doctor."),
    ("lab-draw", None, (), "morning", 5, "Fasting labs: early morning only."),
    ("phone-follow-up", None, (), None, 4, "Medication question; a call is fine."),
)


@dataclass(frozen=True)
class ScheduleSeeded:
    practitioners: int
    locations: int
    appointments: int
    waitlist: int


def _demo_settings(db: Session) -> Settings:
    """The settings the demo command runs with (the same database, demo mode)."""
    url = db.get_bind().engine.url.render_as_string(hide_password=False)
    return load_settings(database_url=url, demo_mode=True)


def seed_schedule(
    db: Session,
    settings: Settings | None = None,
    *,
    seed: int = 1,
    now: dt.datetime | None = None,
) -> ScheduleSeeded | None:
    """A clinic for the demo patients, once (None when there are practitioners already, or
    no patients): 12 practitioners at 2 locations with working hours, the last two weeks
    seen (fulfilled, no-shows, cancellations), this week about 60% booked (some confirmed,
    some video and phone visits, a few cancelled yesterday), the two weeks after about 30%,
    and a waitlist of 10 with one patient already offered a freed time.

    Nearly all visits are bulk-inserted without reminders (the demo has no SMS gateway or
    SMTP server, so thousands of reminders would only fail in the worker); a couple of dozen
    are booked through ``scheduling.book`` like a coordinator would, a handful of those with
    their reminders planned.
    """
    if db.scalar(select(func.count()).select_from(Practitioner)):
        return None
    patient_ids = list(
        db.scalars(select(Patient.id).where(Patient.status == "active").order_by(Patient.mrn))
    )
    if not patient_ids:
        return None
    settings = settings or _demo_settings(db)
    now = now or utcnow()
    zone = ZoneInfo(settings.timezone)
    today = now.astimezone(zone).date()
    actor = Actor.system("demo")
    place = clinic.clinic(DEMO_PRACTITIONERS, seed=seed, start=today, locations=DEMO_LOCATIONS)
    # Dr. Patel works every weekday, so her calendar opens on a full day.
    first = place.practitioners[0]
    since = first.hours[0].valid_from
    weekdays = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"
    first = replace(
        first,
        name=CLINICIAN_NAME,
        hours=(
            clinic.SyntheticHours(first.home, weekdays, dt.time(8), dt.time(12), since),
            clinic.SyntheticHours(first.home, weekdays, dt.time(13), dt.time(17), since),
        ),
    )
    place = replace(place, practitioners=(first, *place.practitioners[1:]))
    clinician = db.scalar(select(User.id).where(User.username == CLINICIAN_USERNAME))
    seeded = clinic.insert_clinic(db, actor, place, users={0: clinician} if clinician else {})
    visits = []
    for number, (begin, end, fill) in enumerate(WINDOWS):
        visits += clinic.plan_visits(
            place,
            patients=len(patient_ids),
            start=_midnight(today + dt.timedelta(days=begin), zone),
            end=_midnight(today + dt.timedelta(days=end), zone),
            now=now,
            fill=fill,
            seed=seed * 10 + number,
            mix=STATUS_MIX,
            max_per_patient=MAX_VISITS_PER_PATIENT,
        )
    ids = clinic.insert_visits(db, actor, seeded, visits, patient_ids)
    booked = _book_some(db, actor, settings, seeded, patient_ids, today, now)
    entries = _waitlist(db, actor, settings, place, seeded, patient_ids, today, now)
    return ScheduleSeeded(
        practitioners=len(place.practitioners),
        locations=len(place.locations),
        appointments=len(ids) + booked,
        waitlist=entries,
    )


def _midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)


def _book_some(
    db: Session,
    actor: Actor,
    settings: Settings,
    seeded: clinic.SeededClinic,
    patient_ids: list[uuid.UUID],
    today: dt.date,
    now: dt.datetime,
) -> int:
    """Book a few dozen visits the way a coordinator does: the first free time that suits,
    through the service; only the first few plan reminders."""
    quiet = settings.model_copy(update={"reminder_offsets_hours": []})
    codes = [kind.code for kind in clinic.VISIT_TYPES]
    booked = 0
    for n in range(BOOKED_THROUGH_SERVICE):
        patient_id = patient_ids[(n * 53 + 7) % len(patient_ids)]
        kind_id = seeded.visit_types[codes[n % len(codes)]]
        query = SlotQuery(
            appointment_type_id=kind_id,
            start=today + dt.timedelta(days=1 + n % 6),
            days=7,
            patient_id=patient_id,
            limit=5,
        )
        slots = scheduling.search_slots(db, query, now=now)
        if not slots:
            continue
        slot = slots[n % len(slots)]
        try:
            scheduling.book(
                db,
                actor,
                settings if n < WITH_REMINDERS else quiet,
                BookIn(
                    patient_id=patient_id,
                    appointment_type_id=kind_id,
                    practitioner_id=slot.practitioner_id,
                    location_id=slot.location_id,
                    starts_at=slot.starts_at,
                    modality=slot.modality,
                    room_id=slot.room_id,
                ),
            )
        except AppError:
            continue  # the time went to an earlier booking of this loop
        booked += 1
    return booked


def _waitlist(
    db: Session,
    actor: Actor,
    settings: Settings,
    place: clinic.Clinic,
    seeded: clinic.SeededClinic,
    patient_ids: list[uuid.UUID],
    today: dt.date,
    now: dt.datetime,
) -> int:
    """Ten waiting patients; then an upcoming follow-up is cancelled through the service, so
    its time is offered to the most urgent of them (a task and messages, as in real life)."""
    follow_up = seeded.visit_types["follow-up"]
    zone = ZoneInfo(settings.timezone)
    freed = db.scalar(
        select(Appointment)
        .where(
            Appointment.appointment_type_id == follow_up,
            Appointment.status == "booked",
            Appointment.starts_at >= _midnight(today + dt.timedelta(days=2), zone),
        )
        .order_by(Appointment.starts_at, Appointment.id)
        .limit(1)
    )
    added = 0
    chosen: set[uuid.UUID] = set()
    for n, (code, index, weekdays, part, priority, note) in enumerate(WAITLIST):
        person = None
        if index is not None and index < len(place.practitioners):
            person = place.practitioners[index]
        if person is not None and code not in person.visit_types:
            person = None
        # Patients from the end of the panel, each once; the first (most urgent) one must be
        # free at the time about to be freed, so it is offered to them.
        patient_id = patient_ids[-1 - (n * 7) % len(patient_ids)]
        for step in range(len(patient_ids)):
            patient_id = patient_ids[-1 - (n * 7 + step) % len(patient_ids)]
            if patient_id in chosen:
                continue
            if n == 0 and freed is not None and not _free_at(db, patient_id, freed):
                continue
            break
        chosen.add(patient_id)
        waitlist.add(
            db,
            actor,
            WaitlistCreate(
                patient_id=patient_id,
                appointment_type_id=seeded.visit_types[code],
                practitioner_id=None if person is None else seeded.practitioners[person.index],
                earliest=today,
                latest=today + dt.timedelta(days=30),
                weekdays=list(weekdays),
                day_part=part,
                priority=priority,
                note=note,
            ),
        )
        added += 1
    if freed is not None and freed.starts_at > now:
        scheduling.cancel(
            db,
            actor,
            settings,
            freed.id,
            CancelIn(version=freed.version, reason="pat", note="Called: cannot get off work."),
        )
    return added


def _free_at(db: Session, patient_id: uuid.UUID, visit: Appointment) -> bool:
    """The patient is not the visit's and has no visit of their own at its time."""
    if patient_id == visit.patient_id:
        return False
    clash = db.scalar(
        select(Appointment.id)
        .where(
            Appointment.patient_id == patient_id,
            Appointment.status.in_(HOLDING),
            Appointment.starts_at < visit.ends_at,
            Appointment.ends_at > visit.starts_at,
        )
        .limit(1)
    )
    return clash is None
