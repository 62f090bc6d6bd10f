"""iCalendar (RFC 5545) for appointments: the .ics a patient gets with a reminder or from the
link in it, and each practitioner's subscription feed.

Times are written in UTC (``DTSTART:20261124T203000Z``), so no VTIMEZONE is needed and every
calendar program shows them in its own zone. The UID is stable per appointment and SEQUENCE
is its version, so a moved or cancelled visit updates the copy already in a calendar. The
feed carries no patient data (minimum necessary): "Booked: <visit type>" and the place."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import phonenumbers
from icalendar import Calendar, Event
from sqlalchemy import select
from sqlalchemy.orm import Session

from carebridge.lib.time import utcnow
from carebridge.scheduling.models import (
    HOLDING,
    Appointment,
    AppointmentType,
    Location,
    Practitioner,
)
from carebridge.settings import Settings

PRODID = "-//Carebridge//Scheduling//EN"
FEED_PAST = dt.timedelta(days=30)
FEED_AHEAD = dt.timedelta(days=180)
CANCELLED = ("cancelled", "entered-in-error")
TENTATIVE = ("proposed", "pending")


@dataclass(frozen=True)
class Visit:
    """An appointment as a patient is told about it (reminders, the link pages, the .ics)."""

    appointment: Appointment
    practitioner_name: str
    kind_name: str
    location_name: str
    address: str | None
    timezone: str
    join_url: str | None
    phone: str | None  # where we call the patient (phone visits), as people read it
    when: str  # 'Tue 24 Nov 2026, 14:30 (America/Chicago)'
    place: str  # where, or how the visit happens
    confirm_url: str
    cancel_url: str
    ics_url: str


def local_when(moment: dt.datetime, zone: str) -> str:
    return f"{moment.astimezone(ZoneInfo(zone)):%a %d %b %Y, %H:%M} ({zone})"


def readable_phone(value: str | None) -> str | None:
    if not value:
        return None
    try:
        number = phonenumbers.parse(value, "US")
    except phonenumbers.NumberParseException:
        return value
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if number.country_code == 1
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, style)


def visit(db: Session, settings: Settings, appointment: Appointment) -> Visit:
    person = db.get(Practitioner, appointment.practitioner_id)
    place = db.get(Location, appointment.location_id)
    kind = db.get(AppointmentType, appointment.appointment_type_id)
    assert person is not None  # foreign keys
    assert place is not None
    assert kind is not None
    join = (
        settings.telehealth_url_template.replace("{token}", appointment.telehealth_token)
        if appointment.modality == "video" and appointment.telehealth_token
        else None
    )
    phone = readable_phone(appointment.phone_number) if appointment.modality == "phone" else None
    if join is not None:
        where = f"Video visit: join at {join}"
    elif appointment.modality == "phone":
        where = f"Phone visit: we will call you at {phone}" if phone else "Phone visit"
    else:
        where = f"{place.name}, {place.address}" if place.address else place.name
    base = settings.public_url.rstrip("/")
    token = appointment.patient_token
    return Visit(
        appointment=appointment,
        practitioner_name=person.name,
        kind_name=kind.name,
        location_name=place.name,
        address=place.address,
        timezone=place.timezone,
        join_url=join,
        phone=phone,
        when=local_when(appointment.starts_at, place.timezone),
        place=where,
        confirm_url=f"{base}/appointments/confirm/{token}",
        cancel_url=f"{base}/appointments/cancel/{token}",
        ics_url=f"{base}/appointments/{token}.ics",
    )


def _status(appointment: Appointment) -> str:
    if appointment.status in CANCELLED:
        return "CANCELLED"
    if appointment.status in TENTATIVE:
        return "TENTATIVE"
    return "CONFIRMED"


def event(
    appointment: Appointment,
    *,
    summary: str,
    location: str,
    description: str | None = None,
    url: str | None = None,
    stamp: dt.datetime | None = None,
) -> Event:
    """A VEVENT for an appointment, in UTC, identified for updates by UID and SEQUENCE."""
    item = Event()
    item.add("uid", f"{appointment.id}@carebridge")
    item.add("dtstamp", (stamp or utcnow()).astimezone(dt.UTC))
    item.add("dtstart", appointment.starts_at.astimezone(dt.UTC))
    item.add("dtend", appointment.ends_at.astimezone(dt.UTC))
    item.add("sequence", appointment.version)
    item.add("status", _status(appointment))
    item.add("summary", summary)
    item.add("location", location)
    if description:
        item.add("description", description)
    if url:
        item.add("url", url)
    item.add("created", appointment.created_at.astimezone(dt.UTC))
    item.add("last-modified", appointment.updated_at.astimezone(dt.UTC))
    return item


def _calendar(name: str | None = None) -> Calendar:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    if name:
        cal.add("x-wr-calname", name)
    return cal


def appointment_calendar(settings: Settings, details: Visit) -> bytes:
    """The patient's .ics for one appointment (attached to reminder emails, downloadable
    from the link in them)."""
    appointment = details.appointment
    lines = [settings.clinic_name, details.place]
    if appointment.status not in CANCELLED:
        lines += [f"Confirm: {details.confirm_url}", f"Cancel: {details.cancel_url}"]
    cal = _calendar()
    cal.add_component(
        event(
            appointment,
            summary=f"{details.kind_name} with {details.practitioner_name}",
            location=details.join_url or details.place,
            description="\n".join(lines),
            url=details.join_url,
        )
    )
    return bytes(cal.to_ical())


def feed_rows(
    db: Session, practitioner: Practitioner, now: dt.datetime
) -> list[tuple[Appointment, str, Location]]:
    rows = db.execute(
        select(Appointment, AppointmentType.name, Location)
        .join(AppointmentType, AppointmentType.id == Appointment.appointment_type_id)
        .join(Location, Location.id == Appointment.location_id)
        .where(
            Appointment.practitioner_id == practitioner.id,
            Appointment.status.in_(HOLDING),
            Appointment.starts_at >= now - FEED_PAST,
            Appointment.starts_at < now + FEED_AHEAD,
        )
        .order_by(Appointment.starts_at)
    ).all()
    return [(a, name, place) for a, name, place in rows]


def provider_feed(
    db: Session, settings: Settings, practitioner: Practitioner, now: dt.datetime | None = None
) -> bytes:
    """A practitioner's calendar subscription: every appointment holding their time from 30
    days ago to 180 days ahead, with no patient names or contact details."""
    now = now or utcnow()
    cal = _calendar(f"{practitioner.name} · {settings.clinic_name}")
    cal.add("x-published-ttl", "PT15M")
    for appointment, kind_name, place in feed_rows(db, practitioner, now):
        if appointment.modality == "video" and appointment.telehealth_token:
            where = settings.telehealth_url_template.replace(
                "{token}", appointment.telehealth_token
            )
        elif appointment.modality == "phone":
            where = "Phone visit"
        else:
            where = f"{place.name}, {place.address}" if place.address else place.name
        cal.add_component(
            event(appointment, summary=f"Booked: {kind_name}", location=where, stamp=now)
        )
    return bytes(cal.to_ical())
