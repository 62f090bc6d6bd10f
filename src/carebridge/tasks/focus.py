"""What a task is about (FHIR Task.focus): checking that the record named exists and is the
same patient's, and where on screen that record is shown.

The link is worked out from the task alone (its patient and focus), without reading the
record, so a worklist page of any length links every row without another query."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from carebridge.authorizations.models import PriorAuthorization
from carebridge.billing.models import PaymentPlan
from carebridge.careplans.models import CarePlan, CarePlanActivity, Goal
from carebridge.coverage.models import EligibilityCheck
from carebridge.lib.errors import ValidationFailed
from carebridge.messaging.models import OutboxMessage
from carebridge.patients.models import Patient
from carebridge.referrals.models import Referral
from carebridge.scheduling.models import Appointment, WaitlistEntry
from carebridge.tasks.models import Task
from carebridge.transitions.models import Transition

# Records a task may concern, by the name other domains give them.
MODELS: dict[str, type[Any]] = {
    "Patient": Patient,
    "Appointment": Appointment,
    "WaitlistEntry": WaitlistEntry,
    "CarePlan": CarePlan,
    "CarePlanActivity": CarePlanActivity,
    "Goal": Goal,
    "OutboxMessage": OutboxMessage,
    "Task": Task,
    "Referral": Referral,
    "PriorAuthorization": PriorAuthorization,
    "PaymentPlan": PaymentPlan,
    "EligibilityCheck": EligibilityCheck,
    "Transition": Transition,
}
NOUNS = {
    "Patient": "patient",
    "Appointment": "appointment",
    "WaitlistEntry": "waitlist entry",
    "CarePlan": "care plan",
    "CarePlanActivity": "care plan activity",
    "Goal": "goal",
    "OutboxMessage": "message to the patient",
    "Task": "task",
    "Referral": "referral",
    "PriorAuthorization": "prior authorization",
    "PaymentPlan": "payment plan",
    "EligibilityCheck": "eligibility check",
    "Transition": "transition of care",
}
# Where each is shown; {patient} and {focus} are filled from the task. Goals and activities
# live on their care plan, which the task does not name: the patient's care plans open.
LINKS = {
    "Patient": "/patients/{focus}",
    "Appointment": "/patients/{patient}/appointments",
    "WaitlistEntry": "/patients/{patient}/appointments#waitlist",
    "CarePlan": "/patients/{patient}/care-plans/{focus}",
    "CarePlanActivity": "/patients/{patient}/care-plans",
    "Goal": "/patients/{patient}/care-plans",
    # A message that failed: the patient's numbers and addresses are fixed there.
    "OutboxMessage": "/patients/{patient}/contacts",
    "Task": "/tasks/{focus}",
    "Referral": "/patients/{patient}/referrals/{focus}",
    "PriorAuthorization": "/patients/{patient}/authorizations/{focus}",
    "PaymentPlan": "/patients/{patient}/payment-plans/{focus}",
    "EligibilityCheck": "/patients/{patient}/eligibility-checks/{focus}",
    "Transition": "/patients/{patient}/transitions/{focus}",
}
NEEDS_PATIENT = frozenset(k for k, v in LINKS.items() if "{patient}" in v)


def noun(focus_type: str | None) -> str:
    if focus_type is None:
        return ""
    return NOUNS.get(focus_type, focus_type)


def url(
    focus_type: str | None, focus_id: uuid.UUID | None, patient_id: uuid.UUID | None
) -> str | None:
    """The page showing the record a task concerns; None when we have none for it."""
    if focus_type is None or focus_id is None or focus_type not in LINKS:
        return None
    if focus_type in NEEDS_PATIENT and patient_id is None:
        return None
    return LINKS[focus_type].format(patient=patient_id, focus=focus_id)


def _patient_of(db: Session, record: Any) -> uuid.UUID | None:
    if isinstance(record, Patient):
        return record.id
    if isinstance(record, Goal | CarePlanActivity):
        plan = db.get(CarePlan, record.care_plan_id)
        return plan.patient_id if plan is not None else None
    value = getattr(record, "patient_id", None)
    return value if isinstance(value, uuid.UUID) else None


def check(
    db: Session, focus_type: str, focus_id: uuid.UUID, patient_id: uuid.UUID | None
) -> uuid.UUID | None:
    """Refuse a focus that names an unknown kind of record, a record that does not exist or
    another patient's record; give back the focus record's patient (if it has one)."""
    model = MODELS.get(focus_type)
    if model is None:
        raise ValidationFailed(
            f"A task cannot concern a {focus_type!r}; use one of: {', '.join(MODELS)}.",
            fields={"focus_type": f"Unknown kind of record {focus_type!r}."},
        )
    record = db.get(model, focus_id)
    if record is None:
        raise ValidationFailed(
            f"There is no {noun(focus_type)} with id {focus_id}; check the id.",
            fields={"focus_id": f"No {noun(focus_type)} has this id."},
        )
    owner = _patient_of(db, record)
    if patient_id is not None and owner is not None and owner != patient_id:
        raise ValidationFailed(
            f"That {noun(focus_type)} belongs to another patient; a task concerns one "
            "patient's records only.",
            fields={"focus_id": f"This {noun(focus_type)} is another patient's."},
        )
    return owner
