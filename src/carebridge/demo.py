"""Demo data: what a newcomer sees after `carebridge demo`. Each capability adds its own
realistic data here so its screens open populated."""

from __future__ import annotations

import random
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carebridge.patients import bulk, synthetic
from carebridge.patients.models import Patient
from carebridge.security import service as security
from carebridge.security.audit import Actor
from carebridge.security.models import User
from carebridge.security.roles import Role
from carebridge.security.schemas import UserCreate

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
    return list(DEMO_USERS)


def has_patients(db: Session) -> bool:
    return db.scalar(select(func.count()).select_from(Patient)) != 0


def seed_patients(
    db: Session, *, count: int, seed: int = 1, progress: bulk.Progress | None = None
) -> bulk.BulkResult:
    """Add ``count`` synthetic patients (the same ones for the same seed), spread over the
    demo coordinators. Call it on a demo database that has none yet."""
    coordinators = list(
        db.scalars(
            select(User.id).where(User.role == Role.COORDINATOR.value).order_by(User.username)
        )
    )
    return bulk.insert_patients(
        db,
        Actor.system("demo"),
        synthetic.generate(count, seed),
        progress=progress,
        coordinators=coordinators,
    )
