"""Demo data for communications: the starter templates, and a few messages to patients and
their families with real delivery results (emails and texts accepted by the far side, one
email that bounced for good, with its task), letters (one mailed, one waiting to print).

Messages go through the real path (``service.send`` and the outbox's ``record_attempt``);
the demo server need not have SMTP or an SMS gateway, so the delivery answers are written as
a mail server and a gateway would have given them. The same seed gives the same data.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carebridge.communications import service, starters
from carebridge.communications.models import PatientCommunication
from carebridge.communications.schemas import MessageCreate
from carebridge.lib.errors import AppError
from carebridge.lib.time import utcnow
from carebridge.messaging import service as outbox
from carebridge.messaging.models import OutboxMessage
from carebridge.messaging.service import Accepted, DeliveryError
from carebridge.patients import service as patients
from carebridge.patients.models import Patient
from carebridge.patients.schemas import ContactConsentCreate
from carebridge.security.audit import Actor
from carebridge.security.models import User
from carebridge.settings import Settings

COORDINATOR = "coordinator"
# (channel, template, what the far side does): accepted, bounced, or a letter mailed/ready.
PLAN: tuple[tuple[str, str, str], ...] = (
    ("sms", "please-call-us", "accepted"),
    ("email", "welcome", "accepted"),
    ("sms", "missed-appointment", "accepted"),
    ("email", "please-call-us", "bounced"),
    ("letter", "welcome", "mailed"),
    ("letter", "missed-appointment", "ready"),
    ("email", "missed-appointment", "accepted"),
)


@dataclass(frozen=True)
class CommunicationsSeeded:
    templates: int
    messages: int


def seed(
    db: Session, settings: Settings, *, seed: int = 1, now: dt.datetime | None = None
) -> CommunicationsSeeded | None:
    """The starter templates and the demo messages, once (None when messages exist already
    or there are no patients)."""
    if db.scalar(select(func.count()).select_from(PatientCommunication)):
        return None
    rng = random.Random(f"carebridge-communications:{seed}")  # noqa: S311 - demo data
    now = now or utcnow()
    user = db.scalar(select(User).where(User.username == COORDINATOR))
    actor = (
        Actor(user_id=user.id, username=user.username, role=user.role)
        if user is not None
        else Actor.system("demo")
    )
    templates = starters.install(db, actor)
    people = list(
        db.scalars(
            select(Patient)
            .where(Patient.status == "active", Patient.email.is_not(None))
            .order_by(Patient.mrn)
            .limit(40)
        )
    )
    if not people:
        return CommunicationsSeeded(templates, 0)
    # The demo server may have no SMTP or gateway: send as if both were set up.
    sending = settings.model_copy(update={"smtp_host": "smtp.demo.invalid", "sms_gateway": "file"})
    sent = 0
    for channel, code, outcome in PLAN:
        patient = people[rng.randrange(len(people))]
        for consent in ("sms", "email", "mail"):
            patients.record_contact_consent(
                db,
                actor,
                patient.id,
                ContactConsentCreate(
                    channel=consent,
                    decision="permit",
                    effective_from=(now - dt.timedelta(days=400)).date(),
                    source="Demo: signed at intake",
                ),
            )
        when = now - dt.timedelta(days=rng.randint(1, 20), minutes=rng.randint(0, 600))
        try:
            with db.begin_nested():
                result = service.send(
                    db,
                    actor,
                    sending,
                    patient.id,
                    MessageCreate.model_validate({"channel": channel, "template_code": code}),
                    now=when,
                )
        except AppError:
            continue  # e.g. no mobile phone or postal address on file for this patient
        message = result.message
        row = db.get(PatientCommunication, message.id)
        assert row is not None
        row.created_at = when
        if message.outbox_id is not None:
            _deliver(db, sending, message.outbox_id, outcome, when, rng)
        elif outcome == "mailed":
            service.mark_mailed(db, actor, patient.id, message.id, now=when)
        sent += 1
    db.flush()
    return CommunicationsSeeded(templates, sent)


def _deliver(
    db: Session,
    settings: Settings,
    outbox_id: uuid.UUID,
    outcome: str,
    when: dt.datetime,
    rng: random.Random,
) -> None:
    message = db.get(OutboxMessage, outbox_id)
    assert message is not None
    message.created_at = when
    at = when + dt.timedelta(seconds=rng.randint(5, 50))
    if outcome == "accepted":
        queue_id = f"{rng.randrange(16**10):010X}"
        detail = (
            f"250 2.0.0 Ok: queued as {queue_id}"
            if message.channel == "email"
            else f"gateway accepted as {queue_id}"
        )
        outbox.record_attempt(db, settings, message.id, Accepted(queue_id, detail), at)
        return
    for attempt in range(settings.delivery_max_attempts):
        outbox.record_attempt(
            db,
            settings,
            message.id,
            DeliveryError("550 5.1.1 <" + message.recipient + ">: Recipient address rejected"),
            at + outbox.backoff(attempt) * attempt,
        )
