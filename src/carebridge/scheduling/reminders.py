"""Appointment reminders, planned when a visit is booked or moved and sent by the worker
through the outbox.

For each offset of ``settings.reminder_offsets_hours`` still ahead, and each channel the
patient can be reached on and consents to (email with an address, SMS with a mobile number),
one :class:`Reminder` row and one outbox message due at that moment. A channel the patient
cannot be reached on leaves the row "skipped" with the reason, so a coordinator can see why
no text went out. Moving a visit cancels the messages of the old time and plans new ones;
cancelling it cancels every message not yet sent. The worker checks consent and quiet hours
again at sending time.

When the visit has a confirmed ride (``transport``), the reminder says when and where the
driver picks the patient up, the mobility level, the ride company and the confirmation
number; confirming, changing or cancelling the ride plans the reminders again (the latest
ride's version is part of the message key, so the old text is replaced).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebridge.lib.time import utcnow
from carebridge.messaging import service as outbox
from carebridge.messaging.models import OutboxMessage
from carebridge.patients.models import Patient
from carebridge.patients.service import may_contact
from carebridge.scheduling import ical
from carebridge.scheduling.models import Appointment, Reminder
from carebridge.settings import Settings
from carebridge.transport import codes as transport_codes
from carebridge.transport.models import Ride

FOCUS = "Appointment"
UPCOMING = ("proposed", "pending", "booked")
CHANNELS = ("email", "sms")
OPEN = ("planned", "queued")


def mobile_number(patient: Patient) -> str | None:
    """The patient's first active mobile phone (E.164), the number texts go to."""
    for telecom in patient.telecoms:
        if telecom.system == "phone" and telecom.use == "mobile" and telecom.status == "active":
            return telecom.value
    return None


def dedupe_key(appointment: Appointment, hours: int, channel: str, ride: Ride | None = None) -> str:
    """One message per appointment version, offset and channel; with a ride, per version of
    the ride too (a confirmed, changed or cancelled ride replaces the text)."""
    key = f"reminder:{appointment.id}:{hours}:{channel}:{appointment.version}"
    return f"{key}:ride:{ride.id}:{ride.version}" if ride is not None else key


def latest_ride(db: Session, appointment: Appointment) -> Ride | None:
    """The visit's most recently changed ride (any status)."""
    return db.scalar(
        select(Ride)
        .where(Ride.appointment_id == appointment.id)
        .order_by(Ride.updated_at.desc(), Ride.id)
        .limit(1)
    )


def channel_configured(settings: Settings, channel: str) -> bool:
    """A channel with nowhere to send is skipped at planning: queuing messages that can only
    fail would bury the coordinators in delivery-failure tasks."""
    if channel == "email":
        return bool(settings.smtp_host)
    return settings.sms_gateway != "none"


def plan(
    db: Session, settings: Settings, appointment: Appointment, *, now: dt.datetime | None = None
) -> list[Reminder]:
    """(Re)plan the reminders of an appointment in the caller's transaction. Idempotent for
    one version of the appointment; a new version (it was moved) replaces the old plan."""
    now = now or utcnow()
    db.flush()  # the version counter is current once the change is flushed
    if appointment.status not in UPCOMING:
        cancel_pending(db, appointment)
        return []
    patient = db.get(Patient, appointment.patient_id)
    assert patient is not None  # foreign key
    details = ical.visit(db, settings, appointment)
    ride = latest_ride(db, appointment)
    zone = ZoneInfo(details.timezone)
    addresses = {"email": patient.email, "sms": mobile_number(patient)}
    wanted: list[tuple[int, str, dt.datetime, str | None]] = []  # hours, channel, due, skip
    for hours in sorted(set(settings.reminder_offsets_hours), reverse=True):
        due = appointment.starts_at - dt.timedelta(hours=hours)
        if due <= now:
            continue
        for channel in CHANNELS:
            day = due.astimezone(zone).date()
            skip = None
            if not channel_configured(settings, channel):
                skip = f"no {channel} delivery is configured (CAREBRIDGE_SMTP_HOST / SMS_GATEWAY)"
            elif not addresses[channel]:
                skip = "no email address on file" if channel == "email" else "no mobile phone"
            elif not may_contact(db, patient.id, channel, day):
                skip = f"the patient has not allowed {channel} contact on {day}"
            wanted.append((hours, channel, due, skip))
    keep = {dedupe_key(appointment, h, c, ride) for h, c, _, skip in wanted if skip is None}
    _cancel(db, appointment, keep, "replaced: the appointment changed")
    rows = {
        (r.offset_minutes, r.channel): r
        for r in db.scalars(select(Reminder).where(Reminder.appointment_id == appointment.id))
    }
    planned = []
    for hours, channel, due, skip in wanted:
        row = rows.get((hours * 60, channel))
        if row is None:
            row = Reminder(
                appointment_id=appointment.id, offset_minutes=hours * 60, channel=channel
            )
            db.add(row)
        row.due_at = due
        if skip is not None:
            row.status, row.skip_reason, row.outbox_id = "skipped", skip, None
        else:
            message = _enqueue(db, settings, details, patient, channel, hours, due, ride)
            row.status, row.skip_reason, row.outbox_id = "queued", None, message.id
        planned.append(row)
    db.flush()
    return planned


def cancel_pending(db: Session, appointment: Appointment) -> None:
    """Cancel the reminders of an appointment whose messages have not gone out yet."""
    _cancel(db, appointment, (), f"not sent: the appointment is {appointment.status}")


def _cancel(db: Session, appointment: Appointment, keep: Collection[str], reason: str) -> None:
    rows = db.execute(
        select(Reminder, OutboxMessage.dedupe_key)
        .outerjoin(OutboxMessage, OutboxMessage.id == Reminder.outbox_id)
        .where(Reminder.appointment_id == appointment.id, Reminder.status.in_(OPEN))
    ).all()
    stale = [reminder for reminder, key in rows if key is None or key not in keep]
    cancelled = set(outbox.cancel(db, [r.outbox_id for r in stale if r.outbox_id], reason))
    for reminder in stale:
        # A reminder whose message already went out stays as it was: it was sent.
        if reminder.outbox_id is None or reminder.outbox_id in cancelled:
            reminder.status = "cancelled"
    db.flush()


def _enqueue(
    db: Session,
    settings: Settings,
    details: ical.Visit,
    patient: Patient,
    channel: str,
    hours: int,
    due: dt.datetime,
    ride: Ride | None = None,
) -> OutboxMessage:
    appointment = details.appointment
    shown = ride if ride is not None and ride.status == "confirmed" else None
    if channel == "email":
        recipient = patient.email
        subject: str | None = f"Appointment reminder: {details.when}"
        body = email_text(settings, details, shown)
        calendar = ical.appointment_calendar(settings, details).decode()
        attachments = [
            {"filename": "appointment.ics", "content_type": "text/calendar", "content": calendar}
        ]
    else:
        recipient = mobile_number(patient)
        subject, body, attachments = None, sms_text(settings, details, shown), []
    assert recipient  # plan() only asks for channels the patient has an address on
    return outbox.enqueue(
        db,
        channel=channel,
        recipient=recipient,
        subject=subject,
        body=body,
        attachments=attachments,
        patient_id=patient.id,
        focus_type=FOCUS,
        focus_id=appointment.id,
        not_before=due,
        dedupe_key=dedupe_key(appointment, hours, channel, ride),
    )


def _where_line(details: ical.Visit) -> str:
    if details.join_url:
        return f"Where: video visit. Join at {details.join_url}"
    if details.appointment.modality == "phone":
        how = f"we will call you at {details.phone}" if details.phone else "we will call you"
        return f"How:   by phone: {how}"
    return f"Where: {details.place}"


def _pickup(ride: Ride, details: ical.Visit) -> str:
    local = ride.pickup_at.astimezone(ZoneInfo(details.timezone))
    return f"{local:%a %d %b %Y, %H:%M} ({details.timezone})"


def ride_lines(ride: Ride | None, details: ical.Visit) -> list[str]:
    """The ride paragraph of the email (none without a confirmed ride)."""
    if ride is None:
        return []
    mobility = transport_codes.MOBILITY_SHORT.get(ride.mobility, ride.mobility)
    lines = [
        "",
        "Your ride is confirmed:",
        f"Pickup:        {_pickup(ride, details)}",
        f"From:          {ride.pickup_address}",
        f"Vehicle:       {mobility}",
        f"Ride company:  {ride.provider or 'not given'}",
        f"Confirmation:  {ride.confirmation_number or 'not given'}",
    ]
    if ride.return_ride:
        lines.append("A ride home after the visit is booked too.")
    return lines


def email_text(settings: Settings, details: ical.Visit, ride: Ride | None = None) -> str:
    return "\n".join(
        [
            "Hello,",
            "",
            f"This is a reminder from {settings.clinic_name} of your appointment:",
            "",
            f"When:  {details.when}",
            f"With:  {details.practitioner_name}",
            _where_line(details),
            *ride_lines(ride, details),
            "",
            "Please confirm that you will come:",
            details.confirm_url,
            "",
            "If you cannot come, please cancel so that someone else can have the time:",
            details.cancel_url,
            "",
            "The attached file (appointment.ics) adds the visit to your calendar.",
            "",
            settings.clinic_name,
        ]
    )


def sms_text(settings: Settings, details: ical.Visit, ride: Ride | None = None) -> str:
    if details.join_url:
        where = f"video visit, join at {details.join_url}"
    elif details.appointment.modality == "phone":
        where = f"by phone, we will call you at {details.phone}" if details.phone else "by phone"
    else:
        where = f"at {details.location_name}"
    text = (
        f"{settings.clinic_name}: reminder of your appointment {details.when} with "
        f"{details.practitioner_name}, {where}."
    )
    if ride is not None:
        mobility = transport_codes.MOBILITY_SHORT.get(ride.mobility, ride.mobility).lower()
        text += (
            f" Ride confirmed: pickup {_pickup(ride, details)} at {ride.pickup_address}, "
            f"{mobility}, {ride.provider or 'ride company'} confirmation "
            f"{ride.confirmation_number}."
        )
    return f"{text} Confirm: {details.confirm_url} Cancel: {details.cancel_url}"
