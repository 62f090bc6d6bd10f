"""Demo insurance: a dozen payers as a Midwest clinic sees them (fictional names, with EDI
payer ids), their plans, and coverage for most demo patients: Medicare for the over-65s
(some with a Medicaid or supplemental secondary), employer plans for working-age patients
(some as a spouse's or parent's dependent), Medicaid for others, a previous coverage that
has ended for some, a few records cancelled or entered in error, and about one patient in
ten uninsured.

Everything goes through ``coverage.service``, as a coordinator's work would, so each
coverage passes the same checks and leaves the same history and audit trail."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carebridge.coverage import service
from carebridge.coverage.models import Coverage, Payer
from carebridge.coverage.schemas import CoverageCreate, CoverageUpdate, PayerCreate, PlanCreate
from carebridge.lib.time import utcnow
from carebridge.patients.models import Patient
from carebridge.security.audit import Actor
from carebridge.settings import Settings

# (name, EDI payer id, phone, website, kind, ((plan name, plan type), ...))
PAYERS: tuple[tuple[str, str, str, str, str, tuple[tuple[str, str], ...]], ...] = (
    ("Medicare Part B (Great Lakes)", "MCRGL1", "+18005550101", "https://medicare-gl.example",
     "medicare", (("Original Medicare Part B", "medicare"),)),
    ("Prairie Mutual Health", "PMH01", "+18005550142", "https://prairie-mutual.example",
     "commercial", (("Choice Plus PPO", "ppo"), ("Core HMO", "hmo"), ("Select EPO", "epo"))),
    ("Lakeshore Blue Plan", "LSB77", "+18005550177", "https://lakeshore-blue.example",
     "commercial", (("Blue Advantage PPO", "ppo"), ("Blue Access POS", "pos"))),
    ("Great Lakes Medicaid", "GLMCD", "+18005550190", "https://glmedicaid.example",
     "medicaid", (("Medicaid fee-for-service", "medicaid"),)),
    ("Northstar Community Health Plan", "NSCHP", "+18005550133", "https://northstar-chp.example",
     "medicaid", (("Northstar Family Care", "medicaid-managed-care"),)),
    ("Harborview Senior Advantage", "HVSA2", "+18005550165", "https://harborview-senior.example",
     "advantage", (("Harborview Gold HMO", "medicare-advantage"),
                   ("Harborview Flex PPO", "medicare-advantage"))),
    ("Cedar Valley Health Insurance", "CVHI3", "+18005550118", "https://cedar-valley.example",
     "commercial", (("Cedar Value HMO", "hmo"),)),
    ("Keystone Employers Trust", "KET44", "+18005550124", "https://keystone-trust.example",
     "commercial", (("Keystone Open Access", "ppo"),)),
    ("Sentinel Medigap Mutual", "SMM09", "+18005550156", "https://sentinel-medigap.example",
     "supplement", (("Medigap Plan G", "commercial"),)),
    ("TriService Military Health", "TSMH5", "+18005550188", "https://triservice.example",
     "commercial", (("TRICARE Select", "tricare"),)),
    ("Riverbend Workers' Comp", "RBWC7", "+18005550111", "https://riverbend-comp.example",
     "other", (("Workers' compensation", "workers-comp"),)),
)  # fmt: skip
EMPLOYERS = (
    "Lakeshore Public Schools", "Midwest Freight Lines", "St. Brendan Medical Center",
    "City of Riverton", "Northfield Manufacturing", "Great Lakes Credit Union",
    "Harbor Grocery Co-op", "Prairie State University",
)  # fmt: skip
GIVEN = ("Maria", "James", "Linda", "Robert", "Patricia", "Michael", "Jennifer", "David")


@dataclass(frozen=True)
class CoverageSeeded:
    payers: int
    plans: int
    coverages: int
    uninsured: int


def seed_payers(db: Session, actor: Actor) -> dict[str, list[tuple[uuid.UUID, uuid.UUID]]]:
    """The demo payers and plans where missing: (payer, plan) ids by kind of payer."""
    by_kind: dict[str, list[tuple[uuid.UUID, uuid.UUID]]] = {}
    for name, code, phone, website, kind, products in PAYERS:
        payer = db.scalar(select(Payer).where(Payer.payer_id == code))
        payer_ref = (
            payer.id
            if payer is not None
            else service.add_payer(
                db, actor, PayerCreate(name=name, payer_id=code, phone=phone, website=website)
            ).id
        )
        known = {p.name: p.id for p in service.plans(db, payer_ref=payer_ref)}
        for plan_name, plan_type in products:
            plan_id = (
                known.get(plan_name)
                or service.add_plan(
                    db, actor, PlanCreate(payer_ref=payer_ref, name=plan_name, plan_type=plan_type)
                ).id
            )
            by_kind.setdefault(kind, []).append((payer_ref, plan_id))
    return by_kind


def _member_id(rng: random.Random, prefix: str) -> str:
    return prefix + "".join(rng.choices("0123456789", k=9))


def _dependent(rng: random.Random, patient: Patient, relationship: str) -> dict[str, str | dt.date]:
    """A spouse or parent who holds the policy."""
    years = rng.randint(-4, 4) if relationship == "spouse" else rng.randint(24, 38)
    born = patient.birth_date - dt.timedelta(days=365 * years + rng.randint(0, 300))
    return {
        "subscriber_family_name": patient.family_name,
        "subscriber_given_names": rng.choice(GIVEN),
        "subscriber_birth_date": born,
        "subscriber_sex": rng.choice(("female", "male")),
    }


def _add(
    db: Session,
    actor: Actor,
    patient: Patient,
    choice: tuple[uuid.UUID, uuid.UUID],
    today: dt.date,
    **values: object,
) -> uuid.UUID:
    payer_ref, plan_id = choice
    data = CoverageCreate.model_validate({"payer_ref": payer_ref, "plan_id": plan_id, **values})
    return service.add(db, actor, patient.id, data, today).id


def _cover(
    db: Session,
    actor: Actor,
    rng: random.Random,
    patient: Patient,
    plans: dict[str, list[tuple[uuid.UUID, uuid.UUID]]],
    today: dt.date,
) -> int:
    """One patient's coverages, as a clinic would have them on file; how many were added."""
    age = (today - patient.birth_date).days // 365
    since = today - dt.timedelta(days=rng.randint(60, 2500))
    made = 0
    if rng.random() < 0.15:  # an employer plan that ended before the current one began
        ended = since - dt.timedelta(days=1)
        _add(db, actor, patient, rng.choice(plans["commercial"]), today,
             member_id=_member_id(rng, "OLD"), start_on=ended - dt.timedelta(days=700),
             end_on=ended, group_number=f"G{rng.randint(1000, 9999)}")  # fmt: skip
        made += 1
    if age >= 65:
        advantage = rng.random() < 0.35
        primary = rng.choice(plans["advantage" if advantage else "medicare"])
        eligible = patient.birth_date + dt.timedelta(days=round(65 * 365.25))
        _add(db, actor, patient, primary, today, member_id=_member_id(rng, "1EG4"),
             start_on=max(since, eligible))  # fmt: skip
        made += 1
        if not advantage and rng.random() < 0.5:
            kind = "medicaid" if rng.random() < 0.4 else "supplement"
            _add(db, actor, patient, rng.choice(plans[kind]), today, rank=2,
                 member_id=_member_id(rng, "S"), start_on=since)  # fmt: skip
            made += 1
        return made
    if rng.random() < 0.3:
        _add(db, actor, patient, rng.choice(plans["medicaid"]), today,
             member_id=_member_id(rng, "MCD"), start_on=since)  # fmt: skip
        return made + 1
    relationship = "self"
    if rng.random() < 0.35:
        relationship = "child" if age < 26 else "spouse"
    extra = _dependent(rng, patient, relationship) if relationship != "self" else {}
    primary = rng.choice(plans["commercial"])
    coverage_id = _add(
        db, actor, patient, primary, today,
        member_id=_member_id(rng, "W"), start_on=since, relationship=relationship,
        group_number=f"{rng.randint(100000, 999999)}", group_name=rng.choice(EMPLOYERS), **extra,
    )  # fmt: skip
    made += 1
    if rng.random() < 0.03:  # keyed on the wrong chart, caught at check-in
        service.update(db, actor, coverage_id,
                       CoverageUpdate(version=1, status="entered-in-error"), today)  # fmt: skip
    elif relationship == "self" and age >= 26 and rng.random() < 0.12:
        # The spouse's employer plan pays second, with another payer.
        other = rng.choice([c for c in plans["commercial"] if c[0] != primary[0]])
        _add(db, actor, patient, other, today, rank=2, member_id=_member_id(rng, "SP"),
             start_on=since, relationship="spouse", group_name=rng.choice(EMPLOYERS),
             **_dependent(rng, patient, "spouse"))  # fmt: skip
        made += 1
    return made


def seed(db: Session, *, seed: int = 1, zone: str = "UTC") -> CoverageSeeded | None:
    """Payers and plans always (where missing); patients' coverage once, when the database
    has patients and no coverage yet. None when there was nothing to add."""
    actor = Actor.system("demo")
    before = db.scalar(select(func.count()).select_from(Payer)) or 0
    plans = seed_payers(db, actor)
    if db.scalar(select(func.count()).select_from(Coverage)):
        return None
    today = utcnow().astimezone(ZoneInfo(zone)).date()
    rng = random.Random(f"carebridge-coverage:{seed}")  # noqa: S311 - demo data
    patients = db.scalars(
        select(Patient).where(Patient.status == "active").order_by(Patient.mrn)
    ).all()
    coverages = uninsured = 0
    for patient in patients:
        if rng.random() < 0.1:
            uninsured += 1
            continue
        coverages += _cover(db, actor, rng, patient, plans, today)
    payers = (db.scalar(select(func.count()).select_from(Payer)) or 0) - before
    return CoverageSeeded(payers, sum(len(v) for v in plans.values()), coverages, uninsured)


def seed_checks(db: Session, settings: Settings, *, limit: int = 60) -> int:
    """Eligibility checks answered by the payer simulator, once (when there are none): the
    primary coverage of the first ``limit`` insured patients by MRN, and every coverage
    whose member id the simulator rejects, so the tab shows active, inactive and rejected
    answers. How many checks were made."""
    from carebridge.coverage import eligibility
    from carebridge.coverage.clearinghouse import SimulatorConnector
    from carebridge.coverage.models import EligibilityCheck

    if db.scalar(select(func.count()).select_from(EligibilityCheck)):
        return 0
    actor = Actor.system("demo")
    today = utcnow().astimezone(ZoneInfo(settings.timezone)).date()
    primaries = db.scalars(
        select(Coverage.id)
        .join(Patient, Patient.id == Coverage.patient_id)
        .where(Coverage.status == "active", Coverage.rank == 1, Coverage.end_on.is_(None))
        .order_by(Patient.mrn)
        .limit(limit)
    ).all()
    rejected = db.scalars(
        select(Coverage.id).where(Coverage.status == "active", Coverage.member_id.like("%99"))
    ).all()
    connector = SimulatorConnector()
    made = 0
    for coverage_id in dict.fromkeys([*primaries, *rejected]):
        check = eligibility.start(db, actor, settings, coverage_id, today, "manual")
        reply = eligibility.exchange(connector, check.request_x12)
        eligibility.record(db, actor, settings, check.id, reply)
        made += 1
    return made
