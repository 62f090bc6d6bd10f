"""Who looks after a patient, what stands in the way, and the plan they work to.

Every class keeps its history of changes (``__versioned__``): a care plan's every edit is
kept with who made it and when.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Numeric, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from carebridge.db.base import Base, Tracked, UuidPk


class CareTeamMember(UuidPk, Tracked, Base):
    """One member of a patient's care team: our own staff (a user), an outside provider,
    or a family caregiver (a related person). The primary coordinator stays on the patient
    record (``Patient.primary_coordinator_id``)."""

    __tablename__ = "care_team_members"
    __versioned__ = True
    __table_args__ = (Index("ix_care_team_members_patient", "patient_id", "end_on"),)

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    member_kind: Mapped[str] = mapped_column(String(16))  # staff | provider | caregiver
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), index=True)
    related_person_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("related_persons.id"))
    name: Mapped[str] = mapped_column(String(150))
    role: Mapped[str] = mapped_column(String(32))  # codes.TEAM_ROLES
    organization: Mapped[str | None] = mapped_column(String(200))
    npi: Mapped[str | None] = mapped_column(String(10))
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    start_on: Mapped[dt.date] = mapped_column(Date)
    end_on: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)


class Barrier(UuidPk, Tracked, Base):
    """Something that keeps the patient from their care (transport, cost, language...)."""

    __tablename__ = "barriers"
    __versioned__ = True
    __table_args__ = (Index("ix_barriers_patient_status", "patient_id", "status"),)

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    kind: Mapped[str] = mapped_column(String(24))  # codes.BARRIERS
    status: Mapped[str] = mapped_column(String(12), default="active")  # active | resolved
    note: Mapped[str | None] = mapped_column(Text)
    identified_on: Mapped[dt.date] = mapped_column(Date)
    resolved_on: Mapped[dt.date | None] = mapped_column(Date)


class CarePlan(UuidPk, Tracked, Base):
    """FHIR CarePlan: intent "plan", one patient, problems (addresses), goals, activities."""

    __tablename__ = "care_plans"
    __versioned__ = True
    __table_args__ = (
        Index("ix_care_plans_patient", "patient_id", "status"),
        # The worker finds plans whose review has come due.
        Index("ix_care_plans_review", "status", "next_review_on"),
    )

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    title: Mapped[str] = mapped_column(String(200))
    # FHIR RequestStatus: draft active on-hold revoked completed entered-in-error
    status: Mapped[str] = mapped_column(String(16), default="active")
    template_key: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(Text)
    start_on: Mapped[dt.date] = mapped_column(Date)
    end_on: Mapped[dt.date | None] = mapped_column(Date)
    review_every_days: Mapped[int | None]
    next_review_on: Mapped[dt.date | None] = mapped_column(Date)
    last_reviewed_on: Mapped[dt.date | None] = mapped_column(Date)


class CarePlanProblem(UuidPk, Tracked, Base):
    """A health concern the plan addresses (CarePlan.addresses), in clinical and plain words."""

    __tablename__ = "care_plan_problems"
    __versioned__ = True

    care_plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("care_plans.id"), index=True)
    description: Mapped[str] = mapped_column(String(300))
    code: Mapped[str | None] = mapped_column(String(16))  # ICD-10-CM
    plain_words: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | resolved
    position: Mapped[int] = mapped_column(SmallInteger, default=0)


class Goal(UuidPk, Tracked, Base):
    """FHIR Goal with one measurable target ("HbA1c < 7 %"): the measure, a comparator and
    one or two numbers; recorded measurements show whether it is being met."""

    __tablename__ = "goals"
    __versioned__ = True
    __table_args__ = (Index("ix_goals_due", "lifecycle_status", "due_on"),)

    care_plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("care_plans.id"), index=True)
    problem_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("care_plan_problems.id"))
    description: Mapped[str] = mapped_column(String(300))
    plain_words: Mapped[str | None] = mapped_column(Text)
    measure: Mapped[str | None] = mapped_column(String(80))  # e.g. "HbA1c"
    unit: Mapped[str | None] = mapped_column(String(24))  # e.g. "%"
    # "<" "<=" ">" ">=" "=" or "between" (low and high both set); None: not measured.
    comparator: Mapped[str | None] = mapped_column(String(8))
    target_low: Mapped[Decimal | None] = mapped_column(Numeric(12, 3))
    target_high: Mapped[Decimal | None] = mapped_column(Numeric(12, 3))
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    # FHIR GoalLifecycleStatus and goal-achievement codes.
    lifecycle_status: Mapped[str] = mapped_column(String(16), default="active")
    achievement_status: Mapped[str] = mapped_column(String(16), default="in-progress")
    # The clinic day a person set achievement_status by hand (None: worked out from the
    # measurements). A measurement taken on or before that day leaves the person's choice.
    achievement_set_on: Mapped[dt.date | None] = mapped_column(Date)
    position: Mapped[int] = mapped_column(SmallInteger, default=0)


class GoalMeasurement(UuidPk, Tracked, Base):
    __tablename__ = "goal_measurements"
    __versioned__ = True
    __table_args__ = (Index("ix_goal_measurements_goal", "goal_id", "measured_on"),)

    goal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("goals.id"))
    value: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    measured_on: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    # FHIR ObservationStatus, narrowed: "final", or "entered-in-error" for a reading that was
    # wrong (kept for the history, left out of the chart and the achievement status).
    status: Mapped[str] = mapped_column(String(16), default="final")


class CarePlanActivity(UuidPk, Tracked, Base):
    """Something to do under the plan; may point at the record that carries it out
    (an appointment, a referral, an education assignment, a task)."""

    __tablename__ = "care_plan_activities"
    __versioned__ = True
    __table_args__ = (Index("ix_care_plan_activities_link", "link_type", "link_id"),)

    care_plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("care_plans.id"), index=True)
    goal_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("goals.id"))
    kind: Mapped[str] = mapped_column(String(16))  # appointment referral education task other
    description: Mapped[str] = mapped_column(String(300))
    plain_words: Mapped[str | None] = mapped_column(Text)
    # FHIR CarePlanActivityStatus
    status: Mapped[str] = mapped_column(String(16), default="not-started")
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    link_type: Mapped[str | None] = mapped_column(String(32))
    link_id: Mapped[uuid.UUID | None]
    position: Mapped[int] = mapped_column(SmallInteger, default=0)
