"""The patient satisfaction measure, from the post-visit survey's answers.

Numerator: responses whose overall rating of the provider is 9 or 10 (top box).
Denominator: every response received in the period (a response always has an overall rating).
Each response is a case dated by the local date it was answered, for the visit's practitioner
and location. Registered in ``analytics.measures.REGISTRY`` as "satisfaction".
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebridge.analytics.results import Measure, MeasureResult, Tally, local_bounds
from carebridge.lib.time import as_utc
from carebridge.scheduling.models import Appointment
from carebridge.settings import Settings
from carebridge.surveys.items import OVERALL
from carebridge.surveys.models import SurveyResponse

TOP_BOX = frozenset(int(code) for code in OVERALL.top_box)


def satisfaction(db: Session, settings: Settings, first: dt.date, last: dt.date) -> MeasureResult:
    zone = ZoneInfo(settings.timezone)
    start, end = local_bounds(settings, first, last)
    tally = Tally()
    rows = db.execute(
        select(
            SurveyResponse.patient_id,
            SurveyResponse.answered_at,
            SurveyResponse.overall,
            Appointment.practitioner_id,
            Appointment.location_id,
        )
        .join(Appointment, Appointment.id == SurveyResponse.appointment_id)
        .where(SurveyResponse.answered_at >= start, SurveyResponse.answered_at < end)
        .order_by(SurveyResponse.answered_at, SurveyResponse.id)
    )
    for patient_id, answered_at, overall, provider_id, location_id in rows:
        tally.count(
            patient_id,
            overall in TOP_BOX,
            on=as_utc(answered_at).astimezone(zone).date(),
            provider_id=provider_id,
            location_id=location_id,
        )
    return tally.result("satisfaction", first, last)


SATISFACTION = Measure(
    key="satisfaction",
    title="Patient satisfaction (overall rating 9-10)",
    numerator="Post-visit survey responses rating the provider 9 or 10 out of 10",
    denominator="Post-visit survey responses received in the period",
    exclusions=(
        "None: every response answers the overall rating (it is required). Invitations "
        "not answered are not counted."
    ),
    period=(
        "Date the survey was answered (a clinic local date) between the first and last day "
        "of the period, both inclusive; the visit itself may be earlier."
    ),
    compute=satisfaction,
    group="Patient experience",
)
