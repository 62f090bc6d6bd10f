"""Pydantic models for hospital stays, transitions of care and the interface queue (Read kept
apart from the coordinator's Update).

A transition changes only through :class:`TransitionUpdate`: the coordinator records the
contact, the medication reconciliation, the state of each post-discharge service, the
follow-up visit, the discharge summary, or closes it. It carries the record's ``version``;
a stale one is a 409.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

RiskBand = Literal["high", "moderate", "low"]
ChecklistState = Literal["to-check", "needed", "arranged", "not-needed"]


class EncounterRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    patient_id: uuid.UUID
    facility: str | None
    visit_number: str | None
    class_code: str
    status: str
    admit_at: dt.datetime | None
    discharge_at: dt.datetime | None
    location: str | None
    prior_location: str | None
    admission_type: str | None
    admit_source: str | None
    hospital_service: str | None
    discharge_disposition: str | None
    attending: str | None
    diagnoses: list[dict[str, Any]]
    last_event: str | None
    readmission_of_id: uuid.UUID | None
    version: int


class TransitionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    patient_id: uuid.UUID
    encounter_id: uuid.UUID
    status: str
    discharged_on: dt.date
    contact_due_on: dt.date
    contacted_at: dt.datetime | None
    contact_note: str | None
    complexity: str
    follow_up_due_on: dt.date
    follow_up_appointment_id: uuid.UUID | None
    medications_reconciled_at: dt.datetime | None
    checklist: dict[str, Any]
    discharge_summary_id: uuid.UUID | None
    lace_score: int | None
    risk: dict[str, Any]
    readmission: bool
    version: int
    # Worked out when read:
    risk_band: RiskBand | None = None
    contact_overdue: bool = False
    follow_up_overdue: bool = False
    encounter: EncounterRead | None = None


class TransitionUpdate(BaseModel):
    """Only what is sent changes. ``contacted`` records an interactive contact now (with an
    optional ``contact_note``); ``medications_reconciled`` records the reconciliation now;
    ``checklist`` sets the state of the named services; ``status: done`` closes the
    transition (it needs the contact recorded first)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    version: int
    contacted: bool | None = None
    contact_note: Annotated[str | None, Field(max_length=2000)] = None
    medications_reconciled: bool | None = None
    checklist: dict[Annotated[str, Field(min_length=1, max_length=40)], ChecklistState] | None = (
        None
    )
    follow_up_appointment_id: uuid.UUID | None = None
    discharge_summary_id: uuid.UUID | None = None
    status: Literal["done"] | None = None

    @model_validator(mode="after")
    def _something(self) -> TransitionUpdate:
        if not (self.model_fields_set - {"version"}):
            raise ValueError(
                "send at least one change: contacted, contact_note, medications_reconciled, "
                "checklist, follow_up_appointment_id, discharge_summary_id or status"
            )
        return self


class TransitionChange(BaseModel):
    """One saved version of a transition: what changed, who, when."""

    version: int
    changed_at: dt.datetime
    changed_by: str | None
    changes: list[str]


class CensusRow(BaseModel):
    patient_id: uuid.UUID
    patient_name: str
    mrn: str
    coordinator: str | None
    encounter: EncounterRead
    transition: TransitionRead | None = None


class Census(BaseModel):
    """Who from our panel is in hospital now, who was discharged and still needs contact,
    what is overdue, and what was finished lately."""

    in_hospital: list[CensusRow]
    awaiting_contact: list[CensusRow]
    overdue: list[CensusRow]
    in_follow_up: list[CensusRow]
    done: list[CensusRow]
