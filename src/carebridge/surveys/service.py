"""Use cases of surveys: invite patients after fulfilled visits (the worker's timer), find an
invitation by its link, take the answers once, and sum up the results for the staff page.

Invitations: once a minute the worker invites, in one set query, the patients of visits
fulfilled (status "fulfilled", ended) at least ``INVITE_AFTER`` ago and at most ``LOOKBACK``
ago, who were not invited for that visit nor for any visit in the last ``ONE_PER_DAYS`` days,
who are active and alive, and who can be reached on a configured channel they consent to (email
with an address, else SMS to an active mobile phone). The consent rule is the one reminders and
messages use (``patients.service.consent_permits``, the SQL of ``may_contact``); the same query
selects each channel's consent as a column and loads the phones, the practitioner and the
location, so choosing the channel and writing the message ask the database nothing more. The
invitation's message goes through the outbox; the worker checks consent and quiet hours again
before sending it. The link's token is random and only its SHA-256 hash is stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, exists, false, func, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from carebridge.analytics.results import local_bounds
from carebridge.communications.service import format_date
from carebridge.lib.time import as_utc, utcnow
from carebridge.messaging import service as outbox
from carebridge.patients.models import Patient, Telecom
from carebridge.patients.service import consent_permits
from carebridge.scheduling.models import Appointment, Location, Practitioner
from carebridge.scheduling.reminders import channel_configured, mobile_number
from carebridge.security.audit import Action, Actor, record
from carebridge.settings import Settings
from carebridge.surveys import items
from carebridge.surveys.models import SurveyInvitation, SurveyResponse

# When and how often (module constants; no setting yet).
INVITE_AFTER = dt.timedelta(hours=2)  # after the visit ends
LOOKBACK = dt.timedelta(days=7)  # visits older than this are not invited (first start-up)
ONE_PER_DAYS = 30  # at most one invitation per patient in this many days
EXPIRES_AFTER = dt.timedelta(days=30)
BATCH = 500
TOKEN_BYTES = 32
ENTITY = "SurveyInvitation"
RESPONSE = "SurveyResponse"
SYSTEM = Actor.system("surveys")
FOCUS = "SurveyInvitation"
LOCK_KEY = 0x5355_5256  # "SURV": one survey timer at a time on PostgreSQL
RECENT_COMMENTS = 20


# --- tokens ------------------------------------------------------------------------------


def new_token() -> str:
    """A random link token (256 bits, URL-safe, 43 characters)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """What is stored of a token: its SHA-256, hex. A token read from the database is useless
    without the link, and a link cannot be rebuilt from the database."""
    return hashlib.sha256(token.encode()).hexdigest()


def survey_url(settings: Settings, token: str) -> str:
    return f"{settings.public_url.rstrip('/')}/survey/{token}"


def find(db: Session, token: str) -> SurveyInvitation | None:
    if not token or len(token) > 64:
        return None
    return db.scalar(
        select(SurveyInvitation).where(SurveyInvitation.token_hash == hash_token(token))
    )


def state(invitation: SurveyInvitation, now: dt.datetime | None = None) -> str:
    """ "answered", "expired" or "open"."""
    if invitation.answered_at is not None:
        return "answered"
    if as_utc(invitation.expires_at) <= (now or utcnow()):
        return "expired"
    return "open"


# --- invitations -------------------------------------------------------------------------


@dataclass
class TimerSummary:
    invited: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)
    skipped: int = 0

    def line(self) -> str:
        channels = ", ".join(f"{n} by {c}" for c, n in sorted(self.by_channel.items()))
        queued = f"{self.invited} survey invitation(s) queued ({channels or 'none'})"
        return f"{queued}, {self.skipped} skipped"


def _has_mobile() -> ColumnElement[bool]:
    return exists().where(
        Telecom.patient_id == Patient.id,
        Telecom.system == "phone",
        Telecom.use == "mobile",
        Telecom.status == "active",
    )


@dataclass(frozen=True)
class VisitFacts:
    provider: str
    day: dt.date
    zone: str
    location_id: uuid.UUID
    practitioner_id: uuid.UUID


def visit_facts(db: Session, visit: Appointment) -> VisitFacts:
    person = db.get(Practitioner, visit.practitioner_id)
    place = db.get(Location, visit.location_id)
    assert person is not None  # foreign key
    assert place is not None
    return _facts(visit, person, place)


def _facts(visit: Appointment, person: Practitioner, place: Location) -> VisitFacts:
    """The practitioner's name and the visit's day where it took place."""
    return VisitFacts(
        provider=person.name,
        day=as_utc(visit.starts_at).astimezone(ZoneInfo(place.timezone)).date(),
        zone=place.timezone,
        location_id=place.id,
        practitioner_id=person.id,
    )


@dataclass(frozen=True)
class Candidate:
    """A visit due an invitation, its patient (phones loaded), the channel to use and what
    the message says of the visit."""

    visit: Appointment
    patient: Patient
    channel: str
    facts: VisitFacts


def _channel(
    settings: Settings, patient: Patient, email_allowed: bool, sms_allowed: bool
) -> str | None:
    """Email when configured, the patient has an address and allows it; else SMS when
    configured, to an active mobile phone, if allowed."""
    if channel_configured(settings, "email") and patient.email and email_allowed:
        return "email"
    if channel_configured(settings, "sms") and sms_allowed and mobile_number(patient):
        return "sms"
    return None


def candidates(
    db: Session, settings: Settings, now: dt.datetime, limit: int = BATCH
) -> list[Candidate]:
    """Fulfilled visits due an invitation, at most one per patient (the latest visit), with
    the channel each is sent on; one query for the visits, one for their phones."""
    email = channel_configured(settings, "email")
    sms = channel_configured(settings, "sms")
    if not (email or sms):
        return []
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    email_allowed = consent_permits(Patient.id, "email", today) if email else false()
    sms_allowed = consent_permits(Patient.id, "sms", today) if sms else false()
    reachable = or_(
        and_(Patient.email.is_not(None), Patient.email != "", email_allowed),
        and_(_has_mobile(), sms_allowed),
    )
    invited_visit = exists().where(SurveyInvitation.appointment_id == Appointment.id)
    invited_lately = exists().where(
        SurveyInvitation.patient_id == Appointment.patient_id,
        SurveyInvitation.created_at > now - dt.timedelta(days=ONE_PER_DAYS),
    )
    rows = db.execute(
        select(Appointment, Patient, Practitioner, Location, email_allowed, sms_allowed)
        .join(Patient, Patient.id == Appointment.patient_id)
        .join(Practitioner, Practitioner.id == Appointment.practitioner_id)
        .join(Location, Location.id == Appointment.location_id)
        .options(selectinload(Patient.telecoms))
        .where(
            Appointment.status == "fulfilled",
            Appointment.ends_at <= now - INVITE_AFTER,
            Appointment.ends_at > now - LOOKBACK,
            Patient.status == "active",
            Patient.deceased_date.is_(None),
            ~invited_visit,
            ~invited_lately,
            reachable,
        )
        .order_by(Appointment.ends_at.desc(), Appointment.id)
        .limit(limit)
    ).all()
    seen: set[uuid.UUID] = set()
    found = []
    for visit, patient, person, place, by_email, by_sms in rows:
        if patient.id in seen:
            continue
        seen.add(patient.id)
        channel = _channel(settings, patient, bool(by_email), bool(by_sms))
        if channel is not None:
            found.append(Candidate(visit, patient, channel, _facts(visit, person, place)))
    return found


def invite(
    db: Session,
    settings: Settings,
    visit: Appointment,
    patient: Patient,
    channel: str,
    now: dt.datetime | None = None,
    facts: VisitFacts | None = None,
) -> tuple[SurveyInvitation, str]:
    """Create the visit's invitation and queue its message on ``channel``; returns the row
    and the link's token (the only time the token is known). ``facts`` are the visit's when
    the caller has them already (the timer), else they are read."""
    now = now or utcnow()
    token = new_token()
    language = items.language_for(patient.language)
    invitation = SurveyInvitation(
        patient_id=patient.id,
        appointment_id=visit.id,
        token_hash=hash_token(token),
        channel=channel,
        language=language,
        expires_at=now + EXPIRES_AFTER,
        created_at=now,
        updated_at=now,
    )
    db.add(invitation)
    db.flush()
    said = items.words(language)
    facts = facts or visit_facts(db, visit)
    values = {
        "clinic": settings.clinic_name,
        "day": format_date(facts.day, language),
        "link": survey_url(settings, token),
    }
    recipient = patient.email if channel == "email" else mobile_number(patient)
    assert recipient  # candidates() only offers a channel with an address
    message = outbox.enqueue(
        db,
        channel=channel,
        recipient=recipient,
        subject=said["email_subject"].format(**values) if channel == "email" else None,
        body=said["email_body" if channel == "email" else "sms"].format(**values),
        patient_id=patient.id,
        focus_type=FOCUS,
        focus_id=invitation.id,
        not_before=now,
        dedupe_key=f"survey:{visit.id}",
    )
    invitation.outbox_id = message.id
    db.flush()
    record(
        db,
        SYSTEM,
        Action.CREATE,
        entity_type=ENTITY,
        entity_id=invitation.id,
        patient_id=patient.id,
        reason=f"post-visit survey sent by {channel} for visit {facts.day.isoformat()}",
    )
    return invitation, token


def _serialised(db: Session) -> bool:
    """Only one survey timer at a time: on PostgreSQL a transaction advisory lock (another
    worker holding it skips this round); SQLite's single writer serialises already."""
    if db.get_bind().dialect.name != "postgresql":
        return True
    return bool(db.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": LOCK_KEY}))


def run_timers(
    db: Session, settings: Settings, now: dt.datetime | None = None, limit: int = BATCH
) -> TimerSummary:
    """Once a minute: invite the patients of visits due a survey (see the module's notes).
    Idempotent: a visit is invited once, a patient once in ``ONE_PER_DAYS`` days."""
    now = now or utcnow()
    summary = TimerSummary()
    if not _serialised(db):
        return summary
    for due in candidates(db, settings, now, limit):
        try:
            with db.begin_nested():  # a concurrent invitation of the same visit wins
                invite(db, settings, due.visit, due.patient, due.channel, now, due.facts)
        except IntegrityError:
            summary.skipped += 1
            continue
        summary.invited += 1
        summary.by_channel[due.channel] = summary.by_channel.get(due.channel, 0) + 1
    return summary


# --- answers -----------------------------------------------------------------------------


def answer(
    db: Session,
    actor: Actor,
    invitation: SurveyInvitation,
    answers: dict[str, str | int],
    now: dt.datetime | None = None,
) -> SurveyResponse | None:
    """Keep the answers (already validated by ``items.validate``). None when the survey was
    answered already or has expired: nothing is changed. When a concurrent submit answered it
    first (its response wins the unique ``invitation_id``), ``invitation`` is read again, so
    the caller sees it answered rather than a stale open one."""
    now = now or utcnow()
    if state(invitation, now) != "open":
        return None
    comment = answers.get("comment")
    response = SurveyResponse(
        invitation_id=invitation.id,
        patient_id=invitation.patient_id,
        appointment_id=invitation.appointment_id,
        answered_at=now,
        language=invitation.language,
        overall=int(answers["overall"]),
        answers={k: v for k, v in answers.items() if k != "comment"},
        comment=str(comment) if comment else None,
    )
    try:
        with db.begin_nested():
            db.add(response)
            db.flush()
    except IntegrityError:
        db.refresh(invitation)
        return None
    invitation.answered_at = now
    db.flush()
    record(
        db,
        actor,
        Action.CREATE,
        entity_type=RESPONSE,
        entity_id=response.id,
        patient_id=invitation.patient_id,
        reason="post-visit survey answered with the link",
    )
    return response


# --- results for the staff page ----------------------------------------------------------


@dataclass(frozen=True)
class ItemShare:
    key: str
    label: str
    top: int
    answered: int

    @property
    def share(self) -> float | None:
        return self.top / self.answered if self.answered else None


@dataclass(frozen=True)
class Comment:
    patient_id: uuid.UUID
    patient_name: str
    mrn: str
    answered_at: dt.datetime
    overall: int
    text: str
    language: str


@dataclass(frozen=True)
class Summary:
    first: dt.date
    last: dt.date
    sent: int
    answered_of_sent: int
    responses: int
    items: list[ItemShare]
    comments: list[Comment]

    @property
    def response_rate(self) -> float | None:
        return self.answered_of_sent / self.sent if self.sent else None


def summary(
    db: Session, actor: Actor, settings: Settings, first: dt.date, last: dt.date
) -> Summary:
    """The period's figures: invitations sent in it and how many of them were answered (the
    response rate), top-box shares per item over the responses received in it, and its most
    recent comments with the patient named. Audited: one read for the page and one per
    patient whose comment is shown."""
    start, end = local_bounds(settings, first, last)
    sent, answered_of_sent = db.execute(
        select(
            func.count(SurveyInvitation.id),
            func.count(SurveyInvitation.answered_at),
        ).where(SurveyInvitation.created_at >= start, SurveyInvitation.created_at < end)
    ).one()
    in_period = and_(SurveyResponse.answered_at >= start, SurveyResponse.answered_at < end)
    answers = list(db.scalars(select(SurveyResponse.answers).where(in_period)))
    shares = []
    for item in items.SCORED:
        given = [a.get(item.key) for a in answers if a.get(item.key) is not None]
        top = sum(1 for value in given if items.is_top_box(item, value))
        shares.append(ItemShare(item.key, item.short, top, len(given)))
    rows = db.execute(
        select(SurveyResponse, Patient.given_names, Patient.family_name, Patient.mrn)
        .join(Patient, Patient.id == SurveyResponse.patient_id)
        .where(in_period, SurveyResponse.comment.is_not(None))
        .order_by(SurveyResponse.answered_at.desc(), SurveyResponse.id)
        .limit(RECENT_COMMENTS)
    ).all()
    comments = [
        Comment(
            response.patient_id,
            f"{family}, {given}",
            mrn,
            response.answered_at,
            response.overall,
            response.comment or "",
            response.language,
        )
        for response, given, family, mrn in rows
    ]
    record(
        db,
        actor,
        Action.READ,
        entity_type=RESPONSE,
        reason=f"survey results {first.isoformat()} to {last.isoformat()}",
    )
    for patient_id in dict.fromkeys(c.patient_id for c in comments):
        record(
            db,
            actor,
            Action.READ,
            entity_type=RESPONSE,
            patient_id=patient_id,
            reason="survey comment shown on the survey results",
        )
    return Summary(first, last, int(sent), int(answered_of_sent), len(answers), shares, comments)
