"""Demo data for care teams, barriers and team queues: the "coordinators" and "scheduling"
queues with supervisors and members, care teams for about one patient in six (their
coordinator, a primary care provider from the clinic's practitioners, outside specialists
with valid NPIs, pharmacists and home-health nurses, family caregivers from the patient's
own contacts), and barriers to care on a realistic share of them.

Idempotent: queues and members are added where missing; teams and barriers only to a
database that has none yet. Everything is made-up; the organizations and people do not exist.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carebridge.careplans.models import Barrier, CareTeamMember
from carebridge.lib.checksums import luhn_digit
from carebridge.lib.time import utcnow
from carebridge.patients.models import Patient, RelatedPerson
from carebridge.scheduling.models import AvailabilityRule, Location, Practitioner
from carebridge.security.audit import Action, Actor, record
from carebridge.security.models import User
from carebridge.tasks import queues
from carebridge.tasks.models import QueueMember
from carebridge.tasks.queue_schemas import QueueCreate

EVERY = 6  # one patient in six gets a care team
# (code, name, what it is for, supervisor's username, members' usernames)
QUEUES = (
    (
        "coordinators",
        "Care coordinators",
        "Care coordination work nobody has taken yet: new discharges, failed reminders, "
        "care-plan reviews for patients without a coordinator, and escalated tasks.",
        "coordinator",
        ("coordinator", "jchen"),
    ),
    (
        "scheduling",
        "Scheduling",
        "Booking calls: waitlist offers, visits to move, follow-ups to book.",
        "jchen",
        ("jchen", "coordinator"),
    ),
)
PRIMARY_CARE = ("family-medicine", "internal-medicine")
# Outside specialists the demo patients see: (role, specialty words, organization, phone).
SPECIALISTS = (
    ("specialist", "Cardiology", "Lakeshore Heart Specialists", "+13125550140"),
    ("specialist", "Endocrinology", "Prairie Endocrine Group", "+13125550152"),
    ("specialist", "Pulmonology", "Midwest Lung & Sleep Care", "+17735550167"),
    ("specialist", "Nephrology", "North Branch Kidney Center", "+17735550178"),
    ("behavioral-health", "Psychology", "Riverside Counseling Collective", "+13125550189"),
    ("pharmacist", "Pharmacy", "Elm Street Community Pharmacy", "+17735550113"),
    ("home-health", "Home health", "Harbor Home Health Services", "+13125550126"),
    ("social-worker", "Social work", "Westside Community Services", "+17735550134"),
)
GIVEN = ("Amara", "Daniel", "Grace", "Hiroshi", "Ifeoma", "Jonah", "Leila", "Marcus", "Nadia",
         "Oscar", "Priya", "Rafael", "Sofia", "Tomasz", "Yusuf", "Zoe")  # fmt: skip
FAMILY = ("Abernathy", "Bianchi", "Castillo", "Dubois", "Eriksen", "Farouk", "Gallagher",
          "Hoang", "Iwu", "Jablonski", "Kowalczyk", "Lindqvist", "Mensah", "Novak", "Okafor",
          "Petrov")  # fmt: skip
# Barrier kinds by how often coordinators meet them, and what they write down.
BARRIERS = {
    "transport": (
        30,
        (
            "No car; the bus takes over an hour with a transfer.",
            "Daughter drives but works weekdays.",
            "Uses a wheelchair; needs a ride with a lift.",
        ),
    ),
    "cost": (
        24,
        (
            "Skips doses of insulin to make it last the month.",
            "High deductible; avoids specialist visits until it is met.",
            "Cannot afford the copay for the inhaler.",
        ),
    ),
    "health-literacy": (
        12,
        (
            "Unsure how to read the glucose meter; teach-back needed.",
            "Mixes up the morning and evening pills.",
        ),
    ),
    "technology": (
        12,
        (
            "No smartphone; video visits not possible.",
            "Has no internet at home; prefers phone calls.",
        ),
    ),
    "caregiver": (
        10,
        (
            "Lives alone; son visits on weekends only.",
            "Wife is the caregiver and is recovering from surgery.",
        ),
    ),
    "housing": (
        8,
        (
            "Staying with a friend after an eviction.",
            "Apartment has no elevator; third floor.",
        ),
    ),
}
BARRIER_SHARE = 0.35  # of the patients with a team (about 6 % of the panel)


@dataclass(frozen=True)
class TeamsSeeded:
    queues: int
    members: int
    patients: int
    barriers: int


def _npi(rng: random.Random) -> str:
    body = "2" + f"{rng.randrange(100_000_000):08d}"  # "2": not the clinic's own (all "1")
    return body + luhn_digit("80840" + body)


def _users(db: Session) -> dict[str, User]:
    return {u.username: u for u in db.scalars(select(User).where(User.is_active.is_(True)))}


def seed_queues(db: Session, actor: Actor) -> int:
    """The two demo queues with their supervisors and members, where missing."""
    people = _users(db)
    made = 0
    for code, name, purpose, boss, members in QUEUES:
        queue = queues.by_code(db, code)
        if queue is None:
            supervisor = people.get(boss)
            created = queues.create_queue(
                db,
                actor,
                QueueCreate(
                    code=code,
                    name=name,
                    description=purpose,
                    supervisor_id=supervisor.id if supervisor else None,
                ),
            )
            made += 1
            queue_id = created.id
        else:
            queue_id = queue.id
        have = set(db.scalars(select(QueueMember.user_id).where(QueueMember.queue_id == queue_id)))
        for username in members:
            user = people.get(username)
            if user is not None and user.id not in have:
                queues.add_member(db, actor, queue_id, user.id)
    return made


def seed(db: Session, *, seed: int = 1, today: dt.date | None = None) -> TeamsSeeded | None:
    """Queues always (where missing); teams and barriers once, when the database has
    patients and no care-team member yet. None when there was nothing to add."""
    actor = Actor.system("demo")
    made_queues = seed_queues(db, actor)
    if db.scalar(select(func.count()).select_from(CareTeamMember)):
        return None
    patients = list(
        db.execute(
            select(Patient.id, Patient.primary_coordinator_id, Patient.language)
            .where(Patient.status == "active")
            .order_by(Patient.mrn)
        )
    )
    chosen = patients[::EVERY]
    if not chosen:
        return TeamsSeeded(made_queues, 0, 0, 0) if made_queues else None
    rng = random.Random(f"carebridge-care-teams:{seed}")  # noqa: S311 - demo data
    today = today or utcnow().date()
    people = _users(db)
    names = {u.id: u.display_name for u in people.values()}
    primary = _primary_care(db)
    family = _caregivers(db, [p.id for p in chosen])
    specialists = [
        (role, words, org, phone, f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}", _npi(rng))
        for role, words, org, phone in SPECIALISTS
        for _ in range(3)
    ]
    members: list[CareTeamMember] = []
    found: list[Barrier] = []
    for patient_id, coordinator_id, language in chosen:
        since = today - dt.timedelta(days=rng.randrange(30, 700))
        if coordinator_id is not None and coordinator_id in names:
            members.append(
                CareTeamMember(
                    patient_id=patient_id,
                    member_kind="staff",
                    user_id=coordinator_id,
                    name=names[coordinator_id],
                    role="coordinator",
                    start_on=since,
                )
            )
        if primary:
            members.append(_pcp(rng, patient_id, primary, since))
        for _ in range(rng.choice((0, 1, 1, 2))):
            role, words, org, phone, name, npi = rng.choice(specialists)
            start = since + dt.timedelta(days=rng.randrange(0, 200))
            ended = rng.random() < 0.12  # a past member: referred back, care finished
            members.append(
                CareTeamMember(
                    patient_id=patient_id,
                    member_kind="provider",
                    name=f"{name}{', PharmD' if role == 'pharmacist' else ''}",
                    role=role,
                    organization=org,
                    npi=npi,
                    phone=phone,
                    start_on=min(start, today),
                    end_on=min(start + dt.timedelta(days=90), today) if ended else None,
                    note=None if role != "specialist" else words,
                )
            )
        for person in family.get(patient_id, [])[:1]:
            members.append(
                CareTeamMember(
                    patient_id=patient_id,
                    member_kind="caregiver",
                    related_person_id=person.id,
                    name=person.name,
                    role="caregiver",
                    phone=person.phone,
                    email=person.email,
                    start_on=since,
                )
            )
        found += _barriers(rng, patient_id, language, today)
    db.add_all(members)
    db.add_all(found)
    db.flush()
    record(
        db,
        actor,
        Action.CREATE,
        entity_type="CareTeamSeed",
        reason=f"seeded {len(members)} care-team members for {len(chosen)} patients and "
        f"{len(found)} barriers",
    )
    return TeamsSeeded(made_queues, len(members), len(chosen), len(found))


@dataclass(frozen=True)
class _Pcp:
    name: str
    npi: str | None
    phone: str | None
    user_id: uuid.UUID | None
    place: str | None


def _primary_care(db: Session) -> list[_Pcp]:
    """The clinic's family and internal medicine practitioners, each with the location they
    work at (the first by name)."""
    rows = db.execute(
        select(Practitioner, Location.name)
        .outerjoin(AvailabilityRule, AvailabilityRule.practitioner_id == Practitioner.id)
        .outerjoin(Location, Location.id == AvailabilityRule.location_id)
        .where(Practitioner.active.is_(True))
        .order_by(Practitioner.name, Location.name)
    )
    seen: dict[uuid.UUID, _Pcp] = {}
    for person, place in rows:
        if person.id in seen or not set(person.specialties) & set(PRIMARY_CARE):
            continue
        seen[person.id] = _Pcp(person.name, person.npi, person.phone, person.user_id, place)
    return list(seen.values())


def _pcp(
    rng: random.Random, patient_id: uuid.UUID, pool: list[_Pcp], since: dt.date
) -> CareTeamMember:
    doctor = rng.choice(pool)
    if doctor.user_id is not None:  # our clinician with an account: staff
        return CareTeamMember(
            patient_id=patient_id,
            member_kind="staff",
            user_id=doctor.user_id,
            name=doctor.name,
            role="pcp",
            start_on=since,
        )
    return CareTeamMember(
        patient_id=patient_id,
        member_kind="provider",
        name=doctor.name,
        role="pcp",
        npi=doctor.npi,
        phone=doctor.phone,
        organization=doctor.place,
        start_on=since,
    )


def _caregivers(db: Session, patient_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[RelatedPerson]]:
    found: dict[uuid.UUID, list[RelatedPerson]] = defaultdict(list)
    for start in range(0, len(patient_ids), 500):
        rows = db.scalars(
            select(RelatedPerson)
            .where(
                RelatedPerson.patient_id.in_(patient_ids[start : start + 500]),
                RelatedPerson.caregiver.is_(True),
                RelatedPerson.status == "active",
            )
            .order_by(RelatedPerson.name)
        )
        for person in rows:
            found[person.patient_id].append(person)
    return found


def _barriers(
    rng: random.Random, patient_id: uuid.UUID, language: str, today: dt.date
) -> list[Barrier]:
    made: list[Barrier] = []
    if language != "en" and rng.random() < 0.5:
        made.append(
            Barrier(
                patient_id=patient_id,
                kind="language",
                note="Prefers calls with an interpreter; written material in their language.",
                identified_on=today - dt.timedelta(days=rng.randrange(10, 400)),
            )
        )
    if rng.random() >= BARRIER_SHARE:
        return made
    kinds = list(BARRIERS)
    kind = rng.choices(kinds, weights=[BARRIERS[k][0] for k in kinds], k=1)[0]
    identified = today - dt.timedelta(days=rng.randrange(5, 300))
    resolved = rng.random() < 0.2
    made.append(
        Barrier(
            patient_id=patient_id,
            kind=kind,
            note=rng.choice(BARRIERS[kind][1]),
            identified_on=identified,
            status="resolved" if resolved else "active",
            resolved_on=min(identified + dt.timedelta(days=rng.randrange(7, 60)), today)
            if resolved
            else None,
        )
    )
    return made
