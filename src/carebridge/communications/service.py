"""Communications use cases: keep message templates (placeholders checked), send a message
to a patient or a related person (email and SMS through the outbox, letters to print), and
read the patient's communication log with every delivery result and the outreach log.

Every read and change is audited with the patient. Services flush and never commit; a
refused message raises before anything is written, so it leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carebridge.communications import codes
from carebridge.communications.models import MessageTemplate, PatientCommunication
from carebridge.communications.schemas import (
    AttemptRead,
    LogEntry,
    MessageCreate,
    MessageRead,
    Sent,
    TemplateCreate,
    TemplateRead,
    TemplateUpdate,
)
from carebridge.lib.errors import Conflict, NotFound, ValidationFailed, check_version
from carebridge.lib.ids import new_id
from carebridge.lib.time import utcnow
from carebridge.messaging import service as outbox
from carebridge.messaging.models import DeliveryAttempt, OutboxMessage
from carebridge.patients.models import Patient, RelatedPerson
from carebridge.patients.schemas import e164
from carebridge.patients.service import may_contact
from carebridge.scheduling.models import Appointment, Location
from carebridge.scheduling.reminders import channel_configured, mobile_number
from carebridge.security.audit import Action, Actor, record
from carebridge.security.models import User
from carebridge.settings import Settings
from carebridge.tasks import codes as task_codes
from carebridge.tasks.models import OutreachAttempt

SMS_LIMIT = 1_600  # ten text segments; longer belongs in an email or a letter
LOG_LIMIT = 300
UPCOMING = ("proposed", "pending", "booked")
FOCUS = "PatientCommunication"


# --- templates -----------------------------------------------------------------------------


def _check_text(channel: str, subject: str | None, body: str) -> None:
    """Placeholders known and closed; a subject where the channel has one."""
    fields = {}
    for name, text in (("subject", subject or ""), ("body", body)):
        found = codes.problems(text)
        if found:
            fields[name] = "; ".join(found).capitalize()
    if channel == "email" and not (subject or "").strip():
        fields.setdefault("subject", "An email needs a subject.")
    if channel == "sms" and subject:
        fields.setdefault("subject", "A text message has no subject; leave it blank.")
    if channel == "sms" and len(body) > SMS_LIMIT:
        fields.setdefault(
            "body", f"A text message can be at most {SMS_LIMIT} characters; this is {len(body)}."
        )
    if fields:
        first = next(iter(fields.values()))
        raise ValidationFailed(f"Not saved: {first}", fields=fields)


def _template(db: Session, template_id: uuid.UUID) -> MessageTemplate:
    template = db.get(MessageTemplate, template_id)
    if template is None:
        raise NotFound(f"No message template with id {template_id}")
    return template


def list_templates(
    db: Session,
    *,
    channel: str | None = None,
    language: str | None = None,
    include_inactive: bool = False,
) -> list[TemplateRead]:
    query = select(MessageTemplate).order_by(
        MessageTemplate.name, MessageTemplate.channel, MessageTemplate.language
    )
    if channel:
        query = query.where(MessageTemplate.channel == channel)
    if language:
        query = query.where(MessageTemplate.language == language)
    if not include_inactive:
        query = query.where(MessageTemplate.active.is_(True))
    return [TemplateRead.model_validate(t) for t in db.scalars(query)]


def get_template(db: Session, template_id: uuid.UUID) -> TemplateRead:
    return TemplateRead.model_validate(_template(db, template_id))


def create_template(db: Session, actor: Actor, data: TemplateCreate) -> TemplateRead:
    """A new template; refused, naming it, when it uses an unknown placeholder, and with a
    409 when the code already has a template for that channel and language."""
    _check_text(data.channel, data.subject, data.body)
    taken = db.scalar(
        select(MessageTemplate.id).where(
            MessageTemplate.code == data.code,
            MessageTemplate.channel == data.channel,
            MessageTemplate.language == data.language,
        )
    )
    if taken is not None:
        raise Conflict(
            f"There is already a {codes.LANGUAGES[data.language]} {codes.CHANNELS[data.channel]} "
            f"template with code “{data.code}”; change that one instead. Nothing was saved.",
            fields={"code": "This code, channel and language already has a template."},
        )
    template = MessageTemplate(
        code=data.code,
        name=data.name,
        channel=data.channel,
        language=data.language,
        subject=data.subject or None,
        body=data.body,
        active=True,
        created_by=actor.user_id,
        updated_by=actor.user_id,
    )
    try:
        with db.begin_nested():
            db.add(template)
            db.flush()
    except IntegrityError:
        raise Conflict(
            f"A template with code “{data.code}” was just added for this channel and language; "
            "reload the list. Nothing was saved."
        ) from None
    record(db, actor, Action.CREATE, entity_type="MessageTemplate", entity_id=template.id)
    return TemplateRead.model_validate(template)


def update_template(
    db: Session, actor: Actor, template_id: uuid.UUID, data: TemplateUpdate
) -> TemplateRead:
    template = _template(db, template_id)
    check_version("This template", template.version, data.version)
    subject = template.subject if "subject" not in data.model_fields_set else data.subject
    body = data.body if data.body is not None else template.body
    _check_text(template.channel, subject, body)
    if data.name is not None:
        template.name = data.name
    template.subject = subject or None
    template.body = body
    if data.active is not None:
        template.active = data.active
    template.updated_by = actor.user_id
    db.flush()
    record(db, actor, Action.UPDATE, entity_type="MessageTemplate", entity_id=template.id)
    return TemplateRead.model_validate(template)


def choose_template(
    db: Session, code: str, channel: str, preferred: str
) -> tuple[MessageTemplate, str]:
    """The template of ``code`` for ``channel`` in the patient's language when there is one,
    else English; with a sentence saying which language was chosen and why."""
    found = {
        t.language: t
        for t in db.scalars(
            select(MessageTemplate).where(
                MessageTemplate.code == code,
                MessageTemplate.channel == channel,
                MessageTemplate.active.is_(True),
            )
        )
    }
    wanted = codes.LANGUAGES.get(preferred, preferred)
    if preferred in found:
        return found[preferred], f"Written in {wanted}, the patient's preferred language."
    if codes.DEFAULT_LANGUAGE in found:
        english = found[codes.DEFAULT_LANGUAGE]
        if preferred == codes.DEFAULT_LANGUAGE:
            return english, "Written in English, the patient's preferred language."
        return english, (
            f"Written in English: the patient prefers {wanted}, and this template has no "
            f"{wanted} version."
        )
    if found:
        other = next(iter(found.values()))
        name = codes.LANGUAGES[other.language]
        return other, f"Written in {name}: this template has no {wanted} or English version."
    raise ValidationFailed(
        f"There is no active {codes.CHANNELS[channel].lower()} template with code “{code}”; "
        "choose another template or channel. Nothing was sent.",
        fields={"template_code": f"No {codes.CHANNELS[channel].lower()} template “{code}”."},
    )


# --- sending -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    name: str
    related_person_id: uuid.UUID | None
    address: str | None  # None: nothing on file for the channel
    missing: str  # what is missing, in words, when address is None


def _live_patient(db: Session, patient_id: uuid.UUID) -> Patient:
    patient = db.get(Patient, patient_id)
    if patient is None:
        raise NotFound(f"No patient with id {patient_id}")
    if patient.status == "merged":
        raise Conflict(
            f"Chart {patient.mrn} was merged into another chart; open the surviving chart "
            "and send the message from there. Nothing was sent."
        )
    if patient.status == "deceased":
        raise ValidationFailed(
            f"{patient.given_names} {patient.family_name} is recorded as deceased; "
            "messages are not sent. Nothing was sent.",
            fields={"channel": "The patient is recorded as deceased."},
        )
    return patient


def first_name(patient: Patient) -> str:
    return patient.preferred_name or patient.given_names.split()[0]


def _postal(patient: Patient) -> str | None:
    if not patient.address_line1 or not patient.city:
        return None
    lines = [patient.address_line1, patient.address_line2 or ""]
    lines.append(f"{patient.city}, {patient.state or ''} {patient.postal_code or ''}".strip())
    return "\n".join(line for line in lines if line)


def _recipient(
    db: Session, patient: Patient, channel: str, related_person_id: uuid.UUID | None
) -> Recipient:
    if related_person_id is None:
        name = f"{patient.given_names} {patient.family_name}"
        address = {
            "email": patient.email,
            "sms": mobile_number(patient),
            "letter": _postal(patient),
        }[channel]
        missing = {
            "email": "the patient has no email address on file",
            "sms": "the patient has no active mobile phone on file",
            "letter": "the patient has no postal address on file",
        }[channel]
        return Recipient(name, None, address, missing)
    person = db.get(RelatedPerson, related_person_id)
    if person is None or person.patient_id != patient.id:
        raise ValidationFailed(
            f"There is no family member or caregiver with id {related_person_id} on this "
            "chart. Nothing was sent.",
            fields={"related_person_id": "Choose someone listed on this patient's chart."},
        )
    if person.status != "active":
        raise ValidationFailed(
            f"{person.name} is no longer an active contact of this patient. Nothing was sent.",
            fields={"related_person_id": f"{person.name} is marked {person.status}."},
        )
    phone: str | None = None
    if channel == "sms" and person.phone:
        try:
            phone = e164(person.phone)
        except ValueError:
            phone = None
    address = {"email": person.email, "sms": phone, "letter": person.address}[channel]
    missing = {
        "email": f"{person.name} has no email address on file",
        "sms": f"{person.name} has no valid phone number on file",
        "letter": f"{person.name} has no postal address on file",
    }[channel]
    return Recipient(person.name, person.id, address, missing)


def _display_name(db: Session, user_id: uuid.UUID | None) -> str | None:
    if user_id is None:
        return None
    user = db.get(User, user_id)
    return user.display_name if user is not None else None


def format_date(day: dt.date, language: str) -> str:
    weekday = codes.WEEKDAYS.get(language, codes.WEEKDAYS["en"])[day.weekday()]
    month = codes.MONTHS.get(language, codes.MONTHS["en"])[day.month - 1]
    if language == "es":
        return f"{weekday} {day.day} de {month} de {day.year}"
    return f"{weekday} {day.day} {month} {day.year}"


def format_time(moment: dt.datetime, language: str) -> str:
    if language == "es":
        return moment.strftime("%H:%M")
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


def next_appointment(
    db: Session, patient_id: uuid.UUID, now: dt.datetime
) -> tuple[Appointment, Location] | None:
    row = db.execute(
        select(Appointment, Location)
        .join(Location, Location.id == Appointment.location_id)
        .where(
            Appointment.patient_id == patient_id,
            Appointment.status.in_(UPCOMING),
            Appointment.starts_at >= now,
        )
        .order_by(Appointment.starts_at)
        .limit(1)
    ).first()
    return None if row is None else (row[0], row[1])


def placeholder_values(
    db: Session,
    settings: Settings,
    actor: Actor,
    patient: Patient,
    recipient_name: str,
    language: str,
    needed: Sequence[str],
    now: dt.datetime,
) -> dict[str, str]:
    """The value of every placeholder ``needed``; refused when a message needs the next
    appointment and the patient has none booked."""
    values = {
        "patient.first_name": first_name(patient),
        "patient.last_name": patient.family_name,
        "recipient.name": recipient_name,
        "clinic.name": settings.clinic_name,
        "clinic.phone": phone_words(settings.clinic_phone),
        "coordinator.name": _display_name(db, patient.primary_coordinator_id)
        or _display_name(db, actor.user_id)
        or "your care team",
    }
    if codes.APPOINTMENT_NAMES & set(needed):
        found = next_appointment(db, patient.id, now)
        if found is None:
            raise ValidationFailed(
                "This message names the next appointment, and the patient has none booked; "
                "book the visit first or choose another message. Nothing was sent.",
                fields={"template_code": "The patient has no upcoming appointment."},
            )
        appointment, location = found
        local = appointment.starts_at.astimezone(ZoneInfo(location.timezone))
        values["appointment.date"] = format_date(local.date(), language)
        values["appointment.time"] = format_time(local, language)
        values["appointment.place"] = location.name + (
            f", {location.address}" if location.address else ""
        )
    return values


def phone_words(value: str) -> str:
    """A ten-digit number as (512) 555-0100; anything else as given."""
    digits = "".join(c for c in value if c.isdigit())
    if len(digits) == 10:
        return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    return value


def send(
    db: Session,
    actor: Actor,
    settings: Settings,
    patient_id: uuid.UUID,
    data: MessageCreate,
    now: dt.datetime | None = None,
) -> Sent:
    """Send a message: checked first (recipient, address or number, consent for the channel,
    the channel configured, the template and its placeholders), then written with its outbox
    message in the caller's transaction (a letter waits to be printed). Refused with the
    reason, and nothing written, when any check fails."""
    now = now or utcnow()
    zone = ZoneInfo(settings.timezone)
    today = now.astimezone(zone).date()
    patient = _live_patient(db, patient_id)
    channel = data.channel
    who = _recipient(db, patient, channel, data.related_person_id)
    if who.address is None:
        reason = (
            f"Not sent: {who.missing}. Add it under Contacts & consent, or choose another channel."
        )
        raise ValidationFailed(reason, fields={"channel": reason})
    consent_channel = codes.CONSENT_CHANNEL[channel]
    if not may_contact(db, patient.id, consent_channel, today):
        what = {"email": "email", "sms": "text messages", "mail": "letters by mail"}
        reason = (
            f"Not sent: the patient has not consented to {what[consent_channel]} "
            f"(no permission for {consent_channel} in force on {today.isoformat()} under "
            "Contacts & consent). Record their consent first, or choose another channel."
        )
        raise ValidationFailed(reason, fields={"channel": reason})
    if channel in outbox.CHANNELS and not channel_configured(settings, channel):
        setting = "CAREBRIDGE_SMTP_HOST" if channel == "email" else "CAREBRIDGE_SMS_GATEWAY"
        raise ValidationFailed(
            f"Not sent: {codes.CHANNELS[channel].lower()} delivery is not set up on this "
            f"server ({setting}). Ask IT, or choose another channel.",
            fields={"channel": f"{codes.CHANNELS[channel]} is not set up on this server."},
        )

    notes: list[str] = []
    template: MessageTemplate | None = None
    if data.template_code and data.body:
        raise ValidationFailed(
            "Choose a template or write your own message, not both. Nothing was sent.",
            fields={"body": "Leave this blank when you choose a template."},
        )
    if data.template_code:
        template, note = choose_template(db, data.template_code, channel, patient.language)
        notes.append(note)
        language = template.language
        subject_text, body_text = template.subject, template.body
    elif data.body:
        language = data.language or codes.DEFAULT_LANGUAGE
        subject_text, body_text = data.subject or None, data.body
        _check_text(channel, subject_text, body_text)
    else:
        raise ValidationFailed(
            "Choose a template or write a message. Nothing was sent.",
            fields={"body": "Write the message, or choose a template above."},
        )
    needed = codes.placeholders_in(f"{subject_text or ''}\n{body_text}")
    values = placeholder_values(db, settings, actor, patient, who.name, language, needed, now)
    subject = codes.fill(subject_text, values) if subject_text else None
    body = codes.fill(body_text, values)
    if channel == "sms" and len(body) > SMS_LIMIT:
        raise ValidationFailed(
            f"The text message would be {len(body)} characters; at most {SMS_LIMIT} fit. "
            "Shorten it or send an email or a letter. Nothing was sent.",
            fields={"body": f"At most {SMS_LIMIT} characters."},
        )

    row = PatientCommunication(
        id=new_id(),
        patient_id=patient.id,
        related_person_id=who.related_person_id,
        recipient_name=who.name[:150],
        channel=channel,
        address=who.address[:400],
        template_id=template.id if template else None,
        template_code=template.code if template else None,
        language=language,
        subject=subject[:200] if subject else None,
        body=body,
        status="ready" if channel == "letter" else "queued",
        created_by=actor.user_id,
        updated_by=actor.user_id,
    )
    db.add(row)
    db.flush()
    message: OutboxMessage | None = None
    if channel in outbox.CHANNELS:
        message = outbox.enqueue(
            db,
            channel=channel,
            recipient=who.address,
            subject=subject,
            body=body,
            patient_id=patient.id,
            focus_type=FOCUS,
            focus_id=row.id,
            not_before=now,  # due from the moment it was sent, whoever says when that is
        )
        row.outbox_id = message.id
        db.flush()
        resume = outbox.quiet_until(settings, now)
        if resume is not None:
            local = resume.astimezone(zone)
            notes.append(
                f"It is quiet hours ({settings.quiet_hours_start:02d}:00 to "
                f"{settings.quiet_hours_end:02d}:00, {settings.timezone}): the message waits in "
                f"the outbox and goes out at {local:%H:%M} on {local:%a %d %b}."
            )
        else:
            notes.append("Queued in the outbox; the delivery result shows in the log.")
    else:
        notes.append("Print the letter, then mark it mailed.")
    record(
        db,
        actor,
        Action.CREATE,
        entity_type=FOCUS,
        entity_id=row.id,
        patient_id=patient.id,
        reason=f"{channel} to {'related person' if who.related_person_id else 'patient'}",
    )
    return Sent(message=_read(row, message, []), notes=notes)


# --- reading -------------------------------------------------------------------------------


def _attempts(db: Session, outbox_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[AttemptRead]]:
    found: dict[uuid.UUID, list[AttemptRead]] = defaultdict(list)
    if not outbox_ids:
        return found
    for attempt in db.scalars(
        select(DeliveryAttempt)
        .where(DeliveryAttempt.message_id.in_(list(outbox_ids)))
        .order_by(DeliveryAttempt.id)
    ):
        found[attempt.message_id].append(
            AttemptRead(
                attempted_at=attempt.attempted_at, outcome=attempt.outcome, detail=attempt.detail
            )
        )
    return found


def _read(
    row: PatientCommunication, message: OutboxMessage | None, attempts: list[AttemptRead]
) -> MessageRead:
    status = row.status
    if message is not None:
        status = message.status
    return MessageRead(
        id=row.id,
        patient_id=row.patient_id,
        related_person_id=row.related_person_id,
        recipient_name=row.recipient_name,
        channel=row.channel,
        address=row.address,
        template_code=row.template_code,
        language=row.language,
        subject=row.subject,
        body=row.body,
        status=status,
        outbox_id=row.outbox_id,
        not_before=message.next_attempt_at
        if message is not None and message.status == "pending"
        else None,
        last_error=message.last_error if message is not None else None,
        mailed_at=row.mailed_at,
        created_at=row.created_at,
        created_by=row.created_by,
        attempts=attempts,
    )


def _communication(
    db: Session, patient_id: uuid.UUID, communication_id: uuid.UUID
) -> PatientCommunication:
    row = db.get(PatientCommunication, communication_id)
    if row is None or row.patient_id != patient_id:
        raise NotFound(f"This patient has no message with id {communication_id}")
    return row


def get(
    db: Session, actor: Actor, patient_id: uuid.UUID, communication_id: uuid.UUID
) -> MessageRead:
    row = _communication(db, patient_id, communication_id)
    message = db.get(OutboxMessage, row.outbox_id) if row.outbox_id else None
    attempts = _attempts(db, [row.outbox_id] if row.outbox_id else [])
    record(db, actor, Action.READ, entity_type=FOCUS, entity_id=row.id, patient_id=row.patient_id)
    return _read(row, message, attempts.get(row.outbox_id, []) if row.outbox_id else [])


def mark_mailed(
    db: Session,
    actor: Actor,
    patient_id: uuid.UUID,
    communication_id: uuid.UUID,
    now: dt.datetime | None = None,
) -> MessageRead:
    """Record a printed letter as sent by mail (once; marking it again changes nothing)."""
    row = _communication(db, patient_id, communication_id)
    if row.channel != "letter":
        raise ValidationFailed(
            "Only a letter is mailed; emails and text messages go through the outbox.",
            fields={"form": "This message is not a letter."},
        )
    if row.status != "mailed":
        row.status = "mailed"
        row.mailed_at = now or utcnow()
        row.updated_by = actor.user_id
        db.flush()
        record(
            db,
            actor,
            Action.UPDATE,
            entity_type=FOCUS,
            entity_id=row.id,
            patient_id=row.patient_id,
            reason="letter mailed",
        )
    return _read(row, None, [])


def communication_log(
    db: Session, actor: Actor, patient_id: uuid.UUID, channel: str | None = None
) -> list[LogEntry]:
    """Every message to the patient or their family with its delivery result (our messages,
    and others the outbox sent them such as appointment reminders), with the outreach log
    (calls, visits, letters logged by hand); newest first, at most ``LOG_LIMIT``."""
    if db.get(Patient, patient_id) is None:
        raise NotFound(f"No patient with id {patient_id}")
    entries: list[LogEntry] = []

    ours = select(PatientCommunication, OutboxMessage).outerjoin(
        OutboxMessage, OutboxMessage.id == PatientCommunication.outbox_id
    )
    ours = ours.where(PatientCommunication.patient_id == patient_id)
    if channel:
        ours = ours.where(PatientCommunication.channel == channel)
    pairs = db.execute(ours.order_by(PatientCommunication.created_at.desc()).limit(LOG_LIMIT)).all()

    others: list[OutboxMessage] = []
    if channel in (None, "email", "sms"):
        query = select(OutboxMessage).where(
            OutboxMessage.patient_id == patient_id,
            (OutboxMessage.focus_type.is_(None)) | (OutboxMessage.focus_type != FOCUS),
        )
        if channel:
            query = query.where(OutboxMessage.channel == channel)
        others = list(db.scalars(query.order_by(OutboxMessage.created_at.desc()).limit(LOG_LIMIT)))

    ids = [m.id for _, m in pairs if m is not None] + [m.id for m in others]
    attempts = _attempts(db, ids)
    for row, message in pairs:
        read = _read(row, message, attempts.get(message.id, []) if message else [])
        entries.append(
            LogEntry(
                kind="message",
                id=row.id,
                when=row.created_at,
                channel=row.channel,
                direction="outbound",
                recipient=f"{row.recipient_name} ({row.address.splitlines()[0]})",
                summary=row.subject or row.body[:160],
                status=read.status,
                detail=read.last_error or _template_note(row),
                attempts=read.attempts,
            )
        )
    for message in others:
        what = "Appointment reminder" if message.focus_type == "Appointment" else "Message"
        entries.append(
            LogEntry(
                kind="outbox",
                id=message.id,
                when=message.created_at,
                channel=message.channel,
                direction="outbound",
                recipient=message.recipient,
                summary=f"{what}: {message.subject or message.body[:140]}",
                status=message.status,
                detail=message.last_error,
                attempts=attempts.get(message.id, []),
            )
        )
    if channel is None or channel in task_codes.OUTREACH_CHANNELS:
        logged = select(OutreachAttempt).where(OutreachAttempt.patient_id == patient_id)
        if channel:
            logged = logged.where(OutreachAttempt.channel == channel)
        for attempt in db.scalars(
            logged.order_by(OutreachAttempt.occurred_at.desc()).limit(LOG_LIMIT)
        ):
            outcome = task_codes.OUTREACH_OUTCOMES.get(attempt.outcome, attempt.outcome)
            entries.append(
                LogEntry(
                    kind="outreach",
                    id=attempt.id,
                    when=attempt.occurred_at,
                    channel=attempt.channel,
                    direction=attempt.direction,
                    recipient=attempt.contact_name,
                    summary=attempt.note or outcome,
                    status=attempt.outcome,
                    detail=f"Outreach: {outcome}",
                )
            )
    entries.sort(key=lambda e: e.when, reverse=True)
    record(db, actor, Action.READ, entity_type=FOCUS, patient_id=patient_id, reason="log")
    return entries[:LOG_LIMIT]


def _template_note(row: PatientCommunication) -> str | None:
    if not row.template_code:
        return None
    return f"Template {row.template_code}, {codes.LANGUAGES.get(row.language, row.language)}"


@dataclass(frozen=True)
class Letter:
    letter: PatientCommunication
    patient: Patient


def letter_context(
    db: Session, actor: Actor, patient_id: uuid.UUID, communication_id: uuid.UUID
) -> Letter:
    """What the printable letter and its PDF show (the read is audited)."""
    row = _communication(db, patient_id, communication_id)
    if row.channel != "letter":
        raise NotFound(f"Message {communication_id} is not a letter")
    patient = db.get(Patient, patient_id)
    assert patient is not None  # the letter's foreign key
    record(
        db,
        actor,
        Action.READ,
        entity_type=FOCUS,
        entity_id=row.id,
        patient_id=patient_id,
        reason="letter",
    )
    return Letter(letter=row, patient=patient)
