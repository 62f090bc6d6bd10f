"""Demo referrals: a directory of about 30 outside providers around Chicago (with NPIs that
pass the check digit) and about 60 referrals across every step of the lifecycle, made by the
demo coordinator weeks ago, some closed, some waiting, and a few overdue (not scheduled in
time, or seen with no report back) so the tracker and the worklist have something to chase.

Everything goes through ``referrals.service`` with the dates the steps would have had, so
each referral's status history and audit trail look like real use.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carebridge.db.history import ACTOR_KEY
from carebridge.lib.checksums import luhn_digit
from carebridge.lib.time import utcnow
from carebridge.patients.models import Condition, Patient
from carebridge.patients.terminology import ICD10CM
from carebridge.referrals import directory, service
from carebridge.referrals.models import OutsideProvider
from carebridge.referrals.schemas import (
    ProviderCreate,
    ReferralCreate,
    ReferralRead,
    ReferralTransition,
)
from carebridge.security.audit import Actor
from carebridge.security.models import User
from carebridge.tasks import escalation
from carebridge.tasks.rules import TIMERS

REFERRALS = 60
COORDINATOR = "coordinator"

# (name, organization, kind, specialty, service kind, usual diagnoses, reason)
PROVIDERS: tuple[tuple[str, str, str, str, str, tuple[str, ...], str], ...] = (
    (
        "Dr. Olivia Brennan",
        "Lakeshore Heart Associates",
        "specialist",
        "Cardiology",
        "specialist",
        ("I50.9", "I48.91", "I10"),
        "Evaluate heart failure and adjust therapy.",
    ),
    (
        "Dr. Marcus Webb",
        "Lakeshore Heart Associates",
        "specialist",
        "Cardiology",
        "specialist",
        ("I25.10", "R07.9"),
        "Exertional chest pain; stress testing requested.",
    ),
    (
        "Dr. Priya Raman",
        "Midwest Kidney Care",
        "specialist",
        "Nephrology",
        "specialist",
        ("N18.30", "E11.22"),
        "Declining eGFR; co-management of CKD.",
    ),
    (
        "Dr. Samuel Ortiz",
        "North Side Endocrinology",
        "specialist",
        "Endocrinology",
        "specialist",
        ("E11.65", "E11.9"),
        "Uncontrolled type 2 diabetes despite two agents.",
    ),
    (
        "Dr. Hannah Kowalski",
        "Great Lakes Pulmonary",
        "specialist",
        "Pulmonology",
        "specialist",
        ("J44.9", "J44.1"),
        "COPD with frequent exacerbations; PFTs and plan.",
    ),
    (
        "Dr. Daniel Cho",
        "Chicago Digestive Health",
        "specialist",
        "Gastroenterology",
        "specialist",
        ("K21.9", "R19.5"),
        "Screening colonoscopy overdue; positive FIT.",
    ),
    (
        "Dr. Amara Nwosu",
        "Westside Eye Institute",
        "specialist",
        "Ophthalmology",
        "specialist",
        ("E11.9", "H40.9"),
        "Annual diabetic eye examination.",
    ),
    (
        "Dr. Leonard Fisch",
        "Riverside Foot & Ankle",
        "specialist",
        "Podiatry",
        "specialist",
        ("E11.40", "L84"),
        "Diabetic foot care; neuropathy with calluses.",
    ),
    (
        "Dr. Grace Liu",
        "Loop Neurology Group",
        "specialist",
        "Neurology",
        "specialist",
        ("G43.909", "R51.9"),
        "New headaches with visual aura.",
    ),
    (
        "Dr. Rafael Mendes",
        "Loop Neurology Group",
        "specialist",
        "Neurology",
        "specialist",
        ("G20.A1",),
        "Resting tremor; evaluate for Parkinson disease.",
    ),
    (
        "Dr. Yusuf Haddad",
        "Northwestern Orthopedics",
        "specialist",
        "Orthopedic surgery",
        "specialist",
        ("M17.11", "M25.561"),
        "Right knee osteoarthritis failing conservative care.",
    ),
    (
        "Dr. Claire Dubois",
        "Lincoln Park Dermatology",
        "specialist",
        "Dermatology",
        "specialist",
        ("L57.0", "D48.5"),
        "Changing pigmented lesion on the back.",
    ),
    (
        "Dr. Ethan Park",
        "South Loop Urology",
        "specialist",
        "Urology",
        "specialist",
        ("N40.1",),
        "Lower urinary tract symptoms; elevated PSA.",
    ),
    (
        "Dr. Fatima Siddiqui",
        "Chicago Rheumatology Partners",
        "specialist",
        "Rheumatology",
        "specialist",
        ("M06.9", "M25.50"),
        "Inflammatory joint pain and morning stiffness.",
    ),
    (
        "Dr. Victor Alvarado",
        "Cancer Care of Chicago",
        "specialist",
        "Oncology",
        "specialist",
        ("R91.1",),
        "Pulmonary nodule on CT; further evaluation.",
    ),
    (
        "Dr. Naomi Fischer",
        "Bridgeport Behavioral Health",
        "behavioral-health",
        "Psychiatry",
        "behavioral-health",
        ("F33.1", "F41.1"),
        "Depression not improving on first-line treatment.",
    ),
    (
        "Jordan Ellis, LCSW",
        "Bridgeport Behavioral Health",
        "behavioral-health",
        "Counseling",
        "behavioral-health",
        ("F43.23",),
        "Adjustment disorder after recent loss; counseling.",
    ),
    (
        "Renewal Recovery Center",
        "Renewal Recovery Center",
        "behavioral-health",
        "Substance use treatment",
        "behavioral-health",
        ("F10.20",),
        "Alcohol use disorder; outpatient program.",
    ),
    (
        "Motion Physical Therapy",
        "Motion Physical Therapy",
        "therapy",
        "Physical therapy",
        "therapy",
        ("M54.50", "Z96.651"),
        "Strength and gait training after knee replacement.",
    ),
    (
        "Lakeview Rehab",
        "Lakeview Rehab",
        "therapy",
        "Cardiac rehabilitation",
        "therapy",
        ("I50.9", "I25.10"),
        "Phase II cardiac rehabilitation.",
    ),
    (
        "Able Hands Occupational Therapy",
        "Able Hands OT",
        "therapy",
        "Occupational therapy",
        "therapy",
        ("I69.351",),
        "Daily-living skills after stroke.",
    ),
    (
        "Clear Voice Speech Therapy",
        "Clear Voice",
        "therapy",
        "Speech-language pathology",
        "therapy",
        ("R13.10",),
        "Swallowing evaluation for dysphagia.",
    ),
    (
        "Northside Home Health",
        "Northside Home Health",
        "home-health",
        "Skilled nursing",
        "home-health",
        ("I50.9", "Z79.01"),
        "Home nursing visits after discharge; medication checks.",
    ),
    (
        "CareAtHome Partners",
        "CareAtHome Partners",
        "home-health",
        "Home health aide",
        "home-health",
        ("R26.81", "Z74.09"),
        "Help with bathing and safety at home.",
    ),
    (
        "Greater Chicago Food Depository",
        "Greater Chicago Food Depository",
        "community-service",
        "Food assistance",
        "community-service",
        ("Z59.41",),
        "Food insecurity; enroll in a pantry program.",
    ),
    (
        "Meals on Wheels Chicago",
        "Meals on Wheels Chicago",
        "community-service",
        "Home-delivered meals",
        "community-service",
        ("Z59.41", "Z74.09"),
        "Home-delivered meals while recovering.",
    ),
    (
        "RideWell Medical Transport",
        "RideWell",
        "community-service",
        "Transportation",
        "community-service",
        ("Z59.82",),
        "Transport to dialysis three times a week.",
    ),
    (
        "Senior Connections Chicago",
        "Senior Connections",
        "community-service",
        "Social services",
        "community-service",
        ("Z60.2",),
        "Lives alone; social support and check-in calls.",
    ),
    (
        "Mercy Lakeside Hospital",
        "Mercy Lakeside Hospital",
        "hospital",
        "Sleep medicine",
        "specialist",
        ("G47.33",),
        "Sleep study for suspected obstructive sleep apnea.",
    ),
    (
        "Heartland Diabetes Education",
        "Heartland Health Centers",
        "other",
        "Diabetes education",
        "other",
        ("E11.9",),
        "Diabetes self-management education classes.",
    ),
)
STREETS = (
    "N Michigan Ave",
    "W Belmont Ave",
    "S Halsted St",
    "N Clark St",
    "W Addison St",
    "S Ashland Ave",
)
# How far along each referral is (status, share) and how far back it was made.
MIX: tuple[tuple[str, int], ...] = (
    ("draft", 4),
    ("sent", 9),
    ("accepted", 5),
    ("declined", 3),
    ("scheduled", 10),
    ("seen", 7),
    ("report-received", 5),
    ("closed", 13),
    ("cancelled", 4),
)
DECLINED = (
    "Not accepting new patients until next quarter.",
    "Out of network for the patient's plan.",
)
CANCELLED = (
    "Patient chose a provider closer to home.",
    "Seen in the emergency department instead.",
)


@dataclass(frozen=True)
class ReferralsSeeded:
    providers: int
    referrals: int
    overdue: int
    tasks: int


def npi(rng: random.Random) -> str:
    """A made-up NPI with a correct check digit (first digit 1, as for individuals)."""
    body = "1" + "".join(str(rng.randint(0, 9)) for _ in range(8))
    return body + luhn_digit("80840" + body)


def _providers(db: Session, actor: Actor, rng: random.Random) -> list[uuid.UUID]:
    made = []
    for i, (name, org, kind, specialty, *_rest) in enumerate(PROVIDERS):
        slug = name.lower().replace("dr. ", "").replace(",", "").replace(" ", ".")
        entry = directory.create(
            db,
            actor,
            ProviderCreate(
                name=name,
                organization=org,
                kind=kind,
                specialty=specialty,
                npi=npi(rng),
                address_line=f"{rng.randint(100, 4800)} {STREETS[i % len(STREETS)]}",
                city="Chicago",
                state="IL",
                postal_code=f"606{rng.randint(1, 60):02d}",
                phone=f"+1312555{100 + i:04d}",
                fax=f"+1312555{200 + i:04d}",
                direct_address=f"{slug[:30]}@direct.example.org",
            ),
        )
        made.append(entry.id)
    return made


def _patient_codes(db: Session, patient_id: uuid.UUID) -> list[str]:
    return list(
        db.scalars(
            select(Condition.code)
            .where(
                Condition.patient_id == patient_id,
                Condition.code_system == ICD10CM,
                Condition.clinical_status == "active",
            )
            .limit(2)
        )
    )


def _statuses(rng: random.Random, count: int) -> list[str]:
    pool = [status for status, share in MIX for _ in range(share)]
    chosen = [pool[i % len(pool)] for i in range(count)]
    rng.shuffle(chosen)
    return chosen


def seed(
    db: Session, *, seed: int = 1, zone: str = "America/Chicago", now: dt.datetime | None = None
) -> ReferralsSeeded | None:
    """The directory and the referrals, once (None when the directory has entries already,
    or there are no patients). The same seed gives the same data."""
    if db.scalar(select(func.count()).select_from(OutsideProvider)):
        return None
    patients = list(
        db.scalars(select(Patient.id).where(Patient.status == "active").order_by(Patient.mrn))
    )
    if not patients:
        return None
    rng = random.Random(f"carebridge-referrals:{seed}")  # noqa: S311 - demo data
    now = now or utcnow()
    user = db.scalar(select(User).where(User.username == COORDINATOR))
    actor = (
        Actor(user_id=user.id, username=user.username, role=user.role)
        if user is not None
        else Actor.system("demo")
    )
    earlier = db.info.get(ACTOR_KEY)
    db.info[ACTOR_KEY] = actor.user_id  # the coordinator made these: timers go to her
    try:
        providers = _providers(db, actor, rng)
        overdue = 0
        for i, status in enumerate(_statuses(rng, REFERRALS)):
            which = rng.randrange(len(PROVIDERS))
            patient_id = patients[(i * 7 + rng.randrange(5)) % len(patients)]
            made = _referral(db, actor, rng, providers[which], which, patient_id, status, now, zone)
            overdue += int(made.overdue)
        db.flush()
    finally:
        db.info[ACTOR_KEY] = earlier
    # What the worker would raise on its next pass, so the worklist shows the chasing now.
    timers = [t for t in TIMERS if t.focus == "Referral"]
    raised = escalation.run(db, now, zone=zone, escalations=(), timers=timers)
    return ReferralsSeeded(len(providers), REFERRALS, overdue, raised.referrals)


def _referral(
    db: Session,
    actor: Actor,
    rng: random.Random,
    provider_id: uuid.UUID,
    which: int,
    patient_id: uuid.UUID,
    status: str,
    now: dt.datetime,
    zone: str,
) -> ReferralRead:
    """One referral walked to ``status`` with plausible dates for each step."""
    _, _, _, _, kind, usual, reason = PROVIDERS[which]
    codes = list(dict.fromkeys([*usual[:1], *_patient_codes(db, patient_id)[:1]]))
    urgency = rng.choices(("routine", "urgent", "stat"), weights=(8, 3, 1))[0]
    incoming = kind == "specialist" and rng.random() < 0.15
    made = service.create(
        db,
        actor,
        patient_id,
        ReferralCreate(
            direction="incoming" if incoming else "outgoing",
            provider_id=provider_id,
            service_kind=kind,
            reason=reason,
            urgency=urgency,
            diagnoses=codes,
        ),
        zone,
    )
    if status == "draft":
        return made
    local = ZoneInfo(zone)
    # Waiting ones were mostly sent recently; some long enough ago to be overdue.
    waiting = status in ("sent", "accepted")
    age = rng.choice((1, 2, 2, 4, 6, 8, 10, 12, 20)) if waiting else rng.randint(20, 75)
    sent_at = now - dt.timedelta(days=age, hours=rng.randint(0, 6))
    current = made

    def step(action: str, when: dt.datetime, **extra: object) -> ReferralRead:
        data = ReferralTransition.model_validate(
            {"action": action, "version": current.version, **extra}
        )
        return service.transition(db, actor, made.id, data, zone, now=min(when, now))

    current = step("send", sent_at)
    if status == "cancelled":
        return step("cancel", sent_at + dt.timedelta(days=3), reason=rng.choice(CANCELLED))
    if status in ("accepted", "scheduled", "seen", "report-received", "closed"):
        current = step("accept", sent_at + dt.timedelta(days=1))
    if status == "declined":
        return step("decline", sent_at + dt.timedelta(days=2), reason=rng.choice(DECLINED))
    if status in ("sent", "accepted"):
        return current
    visit_day = (sent_at + dt.timedelta(days=rng.randint(5, 12))).astimezone(local).date()
    if status == "scheduled":
        # Booked for the coming weeks.
        visit_day = (now + dt.timedelta(days=rng.randint(2, 20))).astimezone(local).date()
    current = step("schedule", sent_at + dt.timedelta(days=3), scheduled_for=visit_day.isoformat())
    if status == "scheduled":
        return current
    today = now.astimezone(local).date()
    # Those still waiting for a report were mostly seen in the last few days.
    recent = today - dt.timedelta(days=rng.choice((1, 2, 3, 5, 9, 12)))
    seen_on = recent if status == "seen" else min(visit_day, today - dt.timedelta(days=2))
    at_visit = dt.datetime.combine(seen_on, dt.time(17), local)
    current = step("seen", at_visit, seen_on=seen_on.isoformat())
    if status == "seen":
        return current
    report_on = min(seen_on + dt.timedelta(days=rng.randint(1, 6)), today)
    at_report = dt.datetime.combine(report_on, dt.time(12), local)
    current = step("report", at_report, report_received_on=report_on.isoformat())
    if status == "report-received":
        return current
    return step("close", at_report + dt.timedelta(days=1))
