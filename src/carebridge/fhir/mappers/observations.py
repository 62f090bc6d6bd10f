"""Observations made from Carebridge's own records: the chart's social history and the
measurements recorded against care-plan goals.

**Social history** is one record per chart holding several facts; each fact it states is an
Observation of its own (category social-history), whose id is derived from the record's id and
the fact's name (``social_observation_id``), so it keeps its id while the record changes:

========================  =========================================  ==========================
fact                      code                                       value
========================  =========================================  ==========================
tobacco                   LOINC 72166-2 (US Core Smoking Status)     SNOMED CT smoking status
alcohol                   LOINC 11331-6 History of Alcohol use       SNOMED CT drinker finding
substance use             LOINC 11343-1 History of other nonmedical  the words, as a string
                          drug use
activity minutes a week   LOINC 82290-8 (as the Physical Activity    minutes per week (UCUM
                          IG's exercise vital sign)                  ``min/wk``)
occupation                LOINC 11341-5 History of Occupation        the words, as text
living situation          ours (``urn:carebridge:social-history``)   ours, with its words
caregiver at home         ours                                       true or false
========================  =========================================  ==========================

"Unknown" is said as R4 says it: tobacco has a SNOMED CT answer for it, the others carry
``dataAbsentReason`` unknown instead of a value. A fact's ``effectiveDateTime`` (and
``issued``) is when the chart last recorded that fact, not when the record last changed, so a
change to one fact is not a new version of the others. A fact once stated and then cleared is
withdrawn (``entered-in-error``, see ``types/observations.py``). The record's note is not
served: it belongs to none of the facts alone.

**Goal measurements** (a reading toward a goal: HbA1c 7.9 %) are Observations under their own
id, based on the goal's care plan. The goal names its measure in words only, so the code is
that text; the value keeps the goal's unit, with its UCUM code where the unit is one of
``UCUM_UNITS``. The category is ours (``goal-measurement``): nothing says whether a measure
is a lab result, a vital sign or an activity.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any, cast

from carebridge.careplans.models import Goal, GoalMeasurement
from carebridge.fhir.mappers.elements import (
    coding_of,
    prune,
)
from carebridge.fhir.mappers.patients import (
    SNOMED,
)
from carebridge.fhir.mappers.tasks import instant
from carebridge.patients.models import SocialHistory
from carebridge.patients.terminology import LOINC

US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
SMOKING_STATUS_PROFILE = US_CORE + "us-core-smokingstatus"
SIMPLE_OBSERVATION_PROFILE = US_CORE + "us-core-simple-observation"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
DATA_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
UCUM = "http://unitsofmeasure.org"
# Our own code systems, for what no published one names.
SOCIAL_HISTORY_SYSTEM = "urn:carebridge:social-history"
LIVING_SITUATION_SYSTEM = "urn:carebridge:living-situation"
CAREBRIDGE_CATEGORY = "urn:carebridge:observation-category"
GOAL_MEASUREMENT = "goal-measurement"

# US Core Smoking Status answers (SNOMED CT) for patients.codes.Tobacco.
TOBACCO = {
    "never": ("266919005", "Never smoked tobacco"),
    "former": ("8517006", "Ex-smoker"),
    "current-every-day": ("449868002", "Smokes tobacco daily"),
    "current-some-day": ("428041000124106", "Occasional tobacco smoker"),
    "unknown": ("266927001", "Tobacco smoking consumption unknown"),
}
# SNOMED CT drinker findings for patients.codes.Alcohol ("unknown" is a data-absent reason).
ALCOHOL = {
    "none": ("105542008", "Current non-drinker of alcohol"),
    "occasional": ("228276006", "Occasional drinker"),
    "moderate": ("43783005", "Moderate drinker"),
    "heavy": ("86933000", "Heavy drinker"),
    "former": ("82581004", "Ex-drinker"),
}
LIVING = {
    "alone": "Lives alone",
    "with-family": "Lives with family",
    "with-others": "Lives with others",
    "assisted-living": "Lives in assisted living",
    "nursing-home": "Lives in a nursing home",
    "homeless": "Homeless",
}
# Goal units as people type them, with their UCUM code.
UCUM_UNITS = {
    "%": "%",
    "mmhg": "mm[Hg]",
    "mm hg": "mm[Hg]",
    "mg/dl": "mg/dL",
    "mmol/l": "mmol/L",
    "kg": "kg",
    "lb": "[lb_av]",
    "lbs": "[lb_av]",
    "m": "m",
    "cm": "cm",
    "min": "min",
    "min/week": "min/wk",
    "min/wk": "min/wk",
    "/min": "/min",
    "bpm": "/min",
    "steps/day": "{steps}/d",
}


def social_observation_id(record_id: uuid.UUID, fact: str) -> uuid.UUID:
    """The id of the Observation one fact of a social-history record is served as."""
    return uuid.uuid5(record_id, fact)


def _concept(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [coding_of(system, code, display)], "text": display}


def _category(code: str, display: str) -> dict[str, Any]:
    return {"coding": [coding_of(OBSERVATION_CATEGORY, code, display)]}


SOCIAL_HISTORY = _category("social-history", "Social History")
UNKNOWN = {"coding": [coding_of(DATA_ABSENT, "unknown", "Unknown")]}


def _number(value: Decimal | int) -> int | float:
    """A JSON number: 7 stays 7, 6.5 is 6.5 (the store's JSON has no Decimal)."""
    if isinstance(value, int):
        return value
    return int(value) if value == value.to_integral_value() else float(value)


# --- social history --------------------------------------------------------------------------


Fact = dict[str, Any]


def _tobacco(value: Any) -> Fact:
    return {
        "profile": SMOKING_STATUS_PROFILE,
        "code": _concept(LOINC, "72166-2", "Tobacco smoking status"),
        "valueCodeableConcept": _concept(SNOMED, *TOBACCO[value]),
    }


def _alcohol(value: Any) -> Fact:
    known = ALCOHOL.get(value)
    return {
        "code": _concept(LOINC, "11331-6", "History of Alcohol use"),
        "valueCodeableConcept": _concept(SNOMED, *known) if known else None,
        "dataAbsentReason": None if known else UNKNOWN,
    }


def _substance_use(value: Any) -> Fact:
    return {
        "code": _concept(LOINC, "11343-1", "History of Other nonmedical drug use"),
        "valueString": value,
    }


def _activity(value: Any) -> Fact:
    return {
        "category": _category("activity", "Activity"),
        "code": _concept(
            LOINC, "82290-8", "Frequency of moderate to vigorous aerobic physical activity"
        ),
        "valueQuantity": {"value": value, "unit": "min/wk", "system": UCUM, "code": "min/wk"},
    }


def _occupation(value: Any) -> Fact:
    return {
        "code": _concept(LOINC, "11341-5", "History of Occupation"),
        "valueCodeableConcept": {"text": value},
    }


def _living(value: Any) -> Fact:
    words = LIVING.get(value)
    return {
        "code": _concept(SOCIAL_HISTORY_SYSTEM, "living-situation", "Living situation"),
        "valueCodeableConcept": _concept(LIVING_SITUATION_SYSTEM, value, words) if words else None,
        "dataAbsentReason": None if words else UNKNOWN,
    }


def _caregiver(value: Any) -> Fact:
    return {
        "code": _concept(SOCIAL_HISTORY_SYSTEM, "caregiver-at-home", "Caregiver at home"),
        "valueBoolean": value,
    }


# Each fact of a social-history record (its column) and how it is said; in the record's order.
SOCIAL_FACTS: dict[str, Callable[[Any], Fact]] = {
    "tobacco": _tobacco,
    "alcohol": _alcohol,
    "substance_use": _substance_use,
    "activity_minutes_per_week": _activity,
    "occupation": _occupation,
    "living_situation": _living,
    "caregiver_at_home": _caregiver,
}


def social_history_to_fhir(
    record: SocialHistory, fact: str, recorded: dt.datetime
) -> dict[str, Any] | None:
    """One fact of a social-history record as an Observation; None when the record does not
    state it. ``recorded``: when the chart last recorded this fact."""
    value = getattr(record, fact)
    if value is None or value == "":
        return None
    said = SOCIAL_FACTS[fact](value)
    when = instant(recorded)
    patient = {"reference": f"Patient/{record.patient_id}"}
    resource = {
        "resourceType": "Observation",
        "id": str(social_observation_id(record.id, fact)),
        "meta": {"profile": [said.pop("profile", SIMPLE_OBSERVATION_PROFILE)]},
        "status": "final",
        "category": [SOCIAL_HISTORY, said.pop("category", None)],
        "code": said.pop("code"),
        "subject": patient,
        "effectiveDateTime": when,
        "issued": when,
        # The patient told us: they are the source of what is observed.
        "performer": [patient] if record.source == "reported" else None,
        **said,
    }
    return cast(dict[str, Any], prune(resource))


# --- goal measurements -----------------------------------------------------------------------


def _quantity(value: Decimal, unit: str | None) -> dict[str, Any]:
    code = UCUM_UNITS.get(" ".join(unit.lower().split())) if unit else None
    return {
        "value": _number(value),
        "unit": unit,
        "system": UCUM if code else None,
        "code": code,
    }


def measurement_to_fhir(
    reading: GoalMeasurement, goal: Goal, patient_id: uuid.UUID
) -> dict[str, Any]:
    """A reading toward a goal (of a plan of ``patient_id``'s) as an Observation."""
    resource = {
        "resourceType": "Observation",
        "id": str(reading.id),
        "status": reading.status,
        "basedOn": [{"reference": f"CarePlan/{goal.care_plan_id}"}],
        "category": [_concept(CAREBRIDGE_CATEGORY, GOAL_MEASUREMENT, "Goal measurement")],
        "code": {"text": goal.measure or goal.description},
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": reading.measured_on.isoformat(),
        "issued": instant(reading.created_at) if reading.created_at else None,
        "valueQuantity": _quantity(reading.value, goal.unit),
        "note": [{"text": reading.note}] if reading.note else None,
    }
    return cast(dict[str, Any], prune(resource))
