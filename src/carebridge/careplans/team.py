"""A patient's care team: our own staff, outside providers and family caregivers, each with
a role and the dates they are on the team. The primary coordinator stays on the patient
record (``Patient.primary_coordinator_id``) and is shown with the team.

Members are never deleted: a membership ends (``end_on``) and stays in the list of past
members. Every read and change is audited; every change is versioned."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from carebridge.careplans.codes import TEAM_ROLES
from carebridge.careplans.models import CareTeamMember
from carebridge.careplans.team_schemas import (
    CareTeamMemberCreate,
    CareTeamMemberRead,
    CareTeamMemberUpdate,
    CareTeamRead,
)
from carebridge.lib.errors import Conflict, NotFound, ValidationFailed, check_version
from carebridge.patients.models import Patient, RelatedPerson
from carebridge.security.audit import Action, Actor, record
from carebridge.security.models import User

# Columns a member always has: an update may change them, never empty them.
REQUIRED = {"role": "role", "name": "name", "start_on": "start date"}


def patient_for_change(db: Session, patient_id: uuid.UUID) -> Patient:
    """The patient a change is for: it must exist and not have been merged away."""
    patient = db.get(Patient, patient_id)
    if patient is None:
        raise NotFound(f"No patient with id {patient_id}")
    if patient.status == "merged":
        raise Conflict(
            f"Chart {patient.mrn} was merged into another chart; make the change on the "
            "surviving chart. Nothing was saved."
        )
    return patient


def patient_or_404(db: Session, patient_id: uuid.UUID) -> Patient:
    patient = db.get(Patient, patient_id)
    if patient is None:
        raise NotFound(f"No patient with id {patient_id}")
    return patient


def is_current(member: CareTeamMemberRead | CareTeamMember, today: dt.date) -> bool:
    return member.end_on is None or member.end_on >= today


def team(db: Session, actor: Actor, patient_id: uuid.UUID, today: dt.date) -> CareTeamRead:
    """The patient's primary coordinator and team: current members (by role, then name),
    then past ones (most recently ended first)."""
    patient = patient_or_404(db, patient_id)
    rows = [
        CareTeamMemberRead.model_validate(m)
        for m in db.scalars(select(CareTeamMember).where(CareTeamMember.patient_id == patient_id))
    ]
    order = list(TEAM_ROLES)
    current = sorted(
        (m for m in rows if is_current(m, today)),
        key=lambda m: (order.index(m.role) if m.role in order else len(order), m.name),
    )
    past = sorted(
        (m for m in rows if not is_current(m, today)),
        key=lambda m: (m.end_on or today, m.name),
        reverse=True,
    )
    coordinator = (
        db.get(User, patient.primary_coordinator_id) if patient.primary_coordinator_id else None
    )
    record(db, actor, Action.READ, entity_type="CareTeamMember", patient_id=patient_id)
    return CareTeamRead(
        patient_id=patient_id,
        primary_coordinator_id=patient.primary_coordinator_id,
        primary_coordinator_name=coordinator.display_name if coordinator else None,
        members=current + past,
    )


def _check_dates(start_on: dt.date, end_on: dt.date | None) -> None:
    if end_on is not None and end_on < start_on:
        raise ValidationFailed(
            f"The end date {end_on:%d %b %Y} is before the start date {start_on:%d %b %Y}. "
            "Nothing was saved.",
            fields={"end_on": "The end date cannot be before the start date."},
        )


def _staff(db: Session, data: CareTeamMemberCreate) -> User:
    if data.user_id is None:
        raise ValidationFailed(
            "Choose which of our staff joins the team.",
            fields={"user_id": "Choose a staff member."},
        )
    user = db.get(User, data.user_id)
    if user is None:
        raise ValidationFailed(
            f"There is no user with id {data.user_id}.",
            fields={"user_id": "Choose a staff member from the list."},
        )
    if not user.is_active:
        raise ValidationFailed(
            f"{user.display_name}'s account is disabled; a disabled user cannot join a care "
            "team. Nothing was saved.",
            fields={"user_id": f"{user.display_name}'s account is disabled; choose someone else."},
        )
    return user


def _caregiver(
    db: Session, patient_id: uuid.UUID, data: CareTeamMemberCreate
) -> RelatedPerson | None:
    if data.related_person_id is None:
        if not data.name:
            raise ValidationFailed(
                "Choose the caregiver from the patient's family and contacts, or type a name.",
                fields={"related_person_id": "Choose a person, or type a name."},
            )
        return None
    person = db.get(RelatedPerson, data.related_person_id)
    if person is None or person.patient_id != patient_id:
        raise ValidationFailed(
            "That person is not one of this patient's family or contacts; choose someone "
            "from this patient's list. Nothing was saved.",
            fields={"related_person_id": "Choose a person from this patient's contacts."},
        )
    if person.status != "active":
        raise ValidationFailed(
            f"{person.name} is marked {person.status.replace('-', ' ')} on the patient's "
            "contacts. Nothing was saved.",
            fields={"related_person_id": f"{person.name} is not an active contact."},
        )
    return person


def _misplaced(data: CareTeamMemberCreate) -> dict[str, str]:
    """Links that do not belong to the kind of member (an API caller's mix-up)."""
    wrong: dict[str, str] = {}
    if data.member_kind != "staff" and data.user_id is not None:
        wrong["user_id"] = "Only our staff are linked to a user."
    if data.member_kind != "caregiver" and data.related_person_id is not None:
        wrong["related_person_id"] = "Only a family caregiver is linked to a related person."
    if data.member_kind == "caregiver" and data.npi is not None:
        wrong["npi"] = "A family caregiver has no NPI."
    return wrong


def add_member(
    db: Session, actor: Actor, patient_id: uuid.UUID, data: CareTeamMemberCreate
) -> CareTeamMemberRead:
    patient = patient_for_change(db, patient_id)
    wrong = _misplaced(data)
    if wrong:
        raise ValidationFailed(
            "Some fields do not belong to this kind of member: " + " ".join(wrong.values()),
            fields=wrong,
        )
    _check_dates(data.start_on, data.end_on)
    values = data.model_dump(exclude={"member_kind"})
    if data.member_kind == "staff":
        user = _staff(db, data)
        values["name"] = user.display_name
    elif data.member_kind == "caregiver":
        person = _caregiver(db, patient.id, data)
        if person is not None:
            values["name"] = person.name
            values["phone"] = data.phone or person.phone
            values["email"] = data.email or person.email
    elif not data.name:
        raise ValidationFailed(
            "Type the outside provider's name.", fields={"name": "Enter the provider's name."}
        )
    _check_not_on_team(db, patient.id, data, values["name"])
    member = CareTeamMember(patient_id=patient.id, member_kind=data.member_kind, **values)
    db.add(member)
    db.flush()
    record(
        db,
        actor,
        Action.CREATE,
        entity_type="CareTeamMember",
        entity_id=member.id,
        patient_id=patient.id,
        reason=f"{data.member_kind} {data.role}",
    )
    return CareTeamMemberRead.model_validate(member)


def _check_not_on_team(
    db: Session, patient_id: uuid.UUID, data: CareTeamMemberCreate, name: str
) -> None:
    """The same person in the same role twice at once is a double entry."""
    query = select(CareTeamMember.id).where(
        CareTeamMember.patient_id == patient_id,
        CareTeamMember.member_kind == data.member_kind,
        CareTeamMember.role == data.role,
        or_(CareTeamMember.end_on.is_(None), CareTeamMember.end_on >= data.start_on),
    )
    if data.user_id is not None:
        query = query.where(CareTeamMember.user_id == data.user_id)
    elif data.related_person_id is not None:
        query = query.where(CareTeamMember.related_person_id == data.related_person_id)
    elif data.npi is not None:
        query = query.where(CareTeamMember.npi == data.npi)
    else:
        query = query.where(CareTeamMember.name == name)
    if db.scalar(query.limit(1)) is not None:
        raise Conflict(
            f"{name} is already on this patient's care team as "
            f"{TEAM_ROLES[data.role].lower()}. Nothing was saved.",
            fields={"role": "Already on the team in this role."},
        )


def update_member(
    db: Session,
    actor: Actor,
    member_id: uuid.UUID,
    data: CareTeamMemberUpdate,
    *,
    patient_id: uuid.UUID | None = None,
) -> CareTeamMemberRead:
    """Change a membership (its role, contact details, dates; ending it is setting
    ``end_on``). ``patient_id``, when given, must be the member's patient."""
    member = db.get(CareTeamMember, member_id)
    if member is None or (patient_id is not None and member.patient_id != patient_id):
        raise NotFound(f"No care-team member with id {member_id}")
    patient_for_change(db, member.patient_id)
    check_version("This care-team member", member.version, data.version)
    sent = data.model_dump(exclude_unset=True, exclude={"version"})
    emptied = {
        k: f"The {w} cannot be empty." for k, w in REQUIRED.items() if k in sent and sent[k] is None
    }
    if emptied:
        raise ValidationFailed(" ".join(emptied.values()), fields=emptied)
    if member.member_kind == "staff" and "name" in sent:
        raise ValidationFailed(
            "A staff member's name comes from their user account; change it there.",
            fields={"name": "Change the name on the user account."},
        )
    if member.member_kind == "caregiver" and sent.get("npi"):
        raise ValidationFailed("A family caregiver has no NPI.", fields={"npi": "Leave empty."})
    _check_dates(sent.get("start_on", member.start_on), sent.get("end_on", member.end_on))
    for name, value in sent.items():
        setattr(member, name, value)
    db.flush()
    record(
        db,
        actor,
        Action.UPDATE,
        entity_type="CareTeamMember",
        entity_id=member.id,
        patient_id=member.patient_id,
        reason=", ".join(sorted(sent)) or None,
    )
    return CareTeamMemberRead.model_validate(member)
