"""Demo survey results: invitations for about half of the past fulfilled visits of the demo
schedule (at most one per patient in 30 days, as the worker would send them, two hours after
the visit), a bit under half of them answered a day or two later, with ratings mostly high,
some middling and a few poor, and short comments in English or Spanish by the patient's
language. So the survey results page, the satisfaction measure and its trend open populated.

The demo invitations queue no message (those visits are past) and their links' tokens are
thrown away; real invitations come from the worker (``surveys.timers``). Needs the demo
schedule (``demo.seed_schedule``) first. The same seed gives the same answers.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from carebridge.lib.time import as_utc, utcnow
from carebridge.patients.models import Patient
from carebridge.scheduling.models import Appointment
from carebridge.security.audit import Action, Actor, record
from carebridge.settings import Settings
from carebridge.surveys import items, service
from carebridge.surveys.models import SurveyInvitation, SurveyResponse

DEMO = Actor.system("demo")
DAYS_BACK = 120
INVITED_SHARE = 0.55
ANSWERED_SHARE = 0.45
# (overall rating, weight): most patients are pleased, a few are not.
RATINGS = ((10, 34), (9, 24), (8, 16), (7, 9), (6, 5), (5, 4), (4, 2), (3, 2), (2, 1), (0, 1))
COMMENTS = {
    "en": (
        "Dr. was very patient and answered all my questions.",
        "The front desk was friendly but I waited 40 minutes past my time.",
        "Parking was hard to find. The visit itself was great.",
        "I wish I could have been seen sooner; I called three times.",
        "The nurse explained my new medicines clearly. Thank you!",
        "Felt rushed. I did not get to ask about my knee.",
        "Very happy with the care coordinator who called me after.",
    ),
    "es": (
        "La doctora me explicó todo muy bien. Gracias.",
        "Tuve que esperar mucho en la sala de espera.",
        "Me ayudó mucho tener un intérprete.",
        "Quisiera una cita más pronto la próxima vez.",
    ),
}
COMMENT_SHARE = 0.35


def _choice(rng: random.Random, high: int) -> dict[str, str]:
    """The other items, consistent with the overall rating (``high`` 2: pleased, 0: not)."""
    weights = {
        2: ((70, 25, 5), (78, 18, 3, 1)),
        1: ((40, 45, 15), (30, 45, 18, 7)),
        0: ((15, 40, 45), (5, 20, 40, 35)),
    }[high]
    yes = [o.code for o in items.YES_SCALE]
    rec = [o.code for o in items.RECOMMEND_SCALE]
    return {
        "recommend": rng.choices(rec, weights[1])[0],
        "explained": rng.choices(yes, weights[0])[0],
        "listened": rng.choices(yes, weights[0])[0],
        "timely": rng.choices(yes, (weights[0][0] - 10, weights[0][1] + 5, weights[0][2] + 5))[0],
    }


def seed(db: Session, settings: Settings, seed: int = 1, now: dt.datetime | None = None) -> int:
    """Add the demo invitations and answers; returns how many invitations were made."""
    del settings  # the clinic's zone is not needed: every time is kept in UTC
    rng = random.Random(f"carebridge-surveys:{seed}")  # noqa: S311 - demo data
    now = now or utcnow()
    visits = db.execute(
        select(Appointment, Patient.language)
        .join(Patient, Patient.id == Appointment.patient_id)
        .where(
            Appointment.status == "fulfilled",
            Appointment.ends_at <= now - service.INVITE_AFTER,
            Appointment.ends_at > now - dt.timedelta(days=DAYS_BACK),
            Patient.status == "active",
            ~exists().where(SurveyInvitation.appointment_id == Appointment.id),
        )
        .order_by(Appointment.ends_at, Appointment.id)
    ).all()
    invited: dict[uuid.UUID, list[dt.datetime]] = {}
    for patient_id, created_at in db.execute(
        select(SurveyInvitation.patient_id, SurveyInvitation.created_at)
    ):
        invited.setdefault(patient_id, []).append(as_utc(created_at))
    spacing = dt.timedelta(days=service.ONE_PER_DAYS)
    made = 0
    for visit, language in visits:
        sent = as_utc(visit.ends_at) + service.INVITE_AFTER
        earlier = invited.get(visit.patient_id, [])
        if any(abs(sent - other) < spacing for other in earlier):
            continue
        if rng.random() > INVITED_SHARE:
            continue
        invited.setdefault(visit.patient_id, []).append(sent)
        language = items.language_for(language)
        invitation = SurveyInvitation(
            patient_id=visit.patient_id,
            appointment_id=visit.id,
            token_hash=service.hash_token(service.new_token()),
            channel=rng.choice(("email", "email", "sms")),
            language=language,
            expires_at=sent + service.EXPIRES_AFTER,
            created_at=sent,
            updated_at=sent,
        )
        db.add(invitation)
        made += 1
        answered = sent + dt.timedelta(hours=rng.randint(1, 60))
        if rng.random() < ANSWERED_SHARE and answered < now:
            overall = rng.choices([r for r, _ in RATINGS], [w for _, w in RATINGS])[0]
            mood = 2 if overall >= 9 else 1 if overall >= 7 else 0
            comment = rng.choice(COMMENTS[language]) if rng.random() < COMMENT_SHARE else None
            invitation.answered_at = answered
            db.flush()
            db.add(
                SurveyResponse(
                    invitation_id=invitation.id,
                    patient_id=visit.patient_id,
                    appointment_id=visit.id,
                    answered_at=answered,
                    language=language,
                    overall=overall,
                    answers={"overall": overall, **_choice(rng, mood)},
                    comment=comment,
                )
            )
    db.flush()
    record(
        db,
        DEMO,
        Action.CREATE,
        entity_type=service.ENTITY,
        reason=f"demo data: {made} post-visit survey invitation(s)",
    )
    return made
