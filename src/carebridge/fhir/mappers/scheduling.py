"""Practitioner, PractitionerRole, Location, Schedule and Appointment from the scheduling
records (FHIR R4, US Core 3.1.1 to 6.1 where US Core profiles the type).

Rendering only: these types are read-only. References to other records carry no display, so
a practitioner renamed does not leave stale names in every appointment. Left out, and why:
a practitioner's ``specialties`` on Practitioner (R4 puts specialty on PractitionerRole, where
they are), ``user_id`` and ``calendar_token`` (sign-in and a secret feed link); a location's
``timezone`` (R4 Location has no element for it; instants carry their offset) and its rooms
(not served); an appointment's room, series, ``rescheduled_from_id`` (R4 Appointment has no
element for a replaced booking), its telehealth and patient tokens (secrets: the join link is
built from one), ``phone_number`` and the check-in times (no R4 Appointment element).

US Core 6.1 profiles neither Appointment nor Schedule, so they claim no profile;
PractitionerRole claims US Core's only where the practitioner has a phone (see
``practitioner_role_to_fhir``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, cast

from carebridge.fhir.errors import FhirError
from carebridge.fhir.mappers.elements import (
    coding_of,
    prune,
)
from carebridge.patients.codes import LANGUAGES
from carebridge.scheduling.codes import CANCEL_REASONS, SPECIALTIES
from carebridge.scheduling.models import (
    Appointment,
    AppointmentType,
    AvailabilityRule,
    Location,
    Practitioner,
)

US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
PRACTITIONER_PROFILE = US_CORE + "us-core-practitioner"
PRACTITIONER_ROLE_PROFILE = US_CORE + "us-core-practitionerrole"
LOCATION_PROFILE = US_CORE + "us-core-location"

NPI = "http://hl7.org/fhir/sid/us-npi"
# US Core needs an identifier on every Practitioner: one without an NPI gets its record id.
PRACTITIONER_ID_SYSTEM = "urn:carebridge:practitioner"
APPOINTMENT_TYPE_SYSTEM = "urn:carebridge:appointment-type"
# Our specialties are a readable grouping of NUCC's, not NUCC taxonomy codes.
SPECIALTY_SYSTEM = "urn:carebridge:specialty"
CPT = "http://www.ama-assn.org/go/cpt"
SNOMED = "http://snomed.info/sct"
BCP47 = "urn:ietf:bcp:47"
CANCEL_REASON_SYSTEM = "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason"
APPOINTMENT_KIND = "http://terminology.hl7.org/CodeSystem/v2-0276"
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"

# R4 has no element saying a visit is virtual (R5's virtualService); like the US Core
# telehealth Appointment example, the serviceType says it with SNOMED CT.
MODALITY_SERVICES: dict[str, tuple[str, str]] = {
    "video": ("448337001", "Telemedicine consultation with patient"),
    "phone": ("185317003", "Telephone encounter"),
}
_TITLES = frozenset({"dr", "prof", "mr", "mrs", "ms", "mx"})

# R4 PractitionerRole cannot say how a practitioner can be seen; R5's ``characteristic`` can,
# with the service-mode codes, and reaches R4 as its cross-version extension.
CHARACTERISTIC = (
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-PractitionerRole.characteristic"
)
SERVICE_MODE = "http://hl7.org/fhir/service-mode"
SERVICE_MODES: dict[str, tuple[str, str]] = {
    "in-person": ("in-person", "In Person"),
    "video": ("videoconference", "Video Conference"),
    "phone": ("telephone", "Telephone"),
}
_WEEKDAYS = {
    "MO": "mon",
    "TU": "tue",
    "WE": "wed",
    "TH": "thu",
    "FR": "fri",
    "SA": "sat",
    "SU": "sun",
}


def _instant(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _human_name(text: str) -> dict[str, Any]:
    """A name kept as one string ("Dr Ada Moss, MD") as a HumanName: the text as written,
    the last word as family (US Core 3.1.1 requires one), leading titles as prefix and what
    follows a comma as suffix."""
    main, _, after = text.partition(",")
    words = main.split()
    prefix = []
    while len(words) > 1 and words[0].lower().rstrip(".") in _TITLES:
        prefix.append(words.pop(0))
    return {
        "use": "official",
        "text": text,
        "family": words[-1] if words else None,
        "given": words[:-1],
        "prefix": prefix,
        "suffix": [part.strip() for part in after.split(",")],
    }


def practitioner_to_fhir(person: Practitioner) -> dict[str, Any]:
    """A Practitioner row as a US Core Practitioner, its NPI as identifier."""
    identifier = (
        {"use": "official", "system": NPI, "value": person.npi}
        if person.npi
        else {"use": "secondary", "system": PRACTITIONER_ID_SYSTEM, "value": str(person.id)}
    )
    resource = {
        "resourceType": "Practitioner",
        "id": str(person.id),
        "meta": {"profile": [PRACTITIONER_PROFILE]},
        "identifier": [identifier],
        "active": person.active,
        "name": [_human_name(person.name)],
        "telecom": [{"system": "phone", "value": person.phone, "use": "work"}]
        if person.phone
        else None,
        "communication": [
            {"coding": [coding_of(BCP47, code, LANGUAGES.get(code))], "text": LANGUAGES.get(code)}
            for code in person.languages
        ],
    }
    return cast(dict[str, Any], prune(resource))


def _weekly_days(rrule: str) -> list[str] | None:
    """The days of a rule that repeats every week (or every day) with no end of its own, as
    FHIR ``daysOfWeek``; None for any other recurrence (every other week, monthly, a count)."""
    parts = dict(chunk.partition("=")[::2] for chunk in rrule.split(";"))
    parts.pop("WKST", None)
    if parts.pop("INTERVAL", "1") != "1":
        return None
    freq = parts.pop("FREQ", None)
    if freq == "DAILY" and not parts:
        return list(_WEEKDAYS.values())
    days = parts.pop("BYDAY", "").split(",")
    if freq != "WEEKLY" or parts or not set(days) <= set(_WEEKDAYS):
        return None
    return [name for code, name in _WEEKDAYS.items() if code in days]


def _available_times(rules: Sequence[AvailabilityRule]) -> list[dict[str, Any]]:
    """Each weekly rule's days and hours (local times at its location), once each."""
    found: dict[tuple[tuple[str, ...], str, str], dict[str, Any]] = {}
    for rule in rules:
        days = _weekly_days(rule.rrule)
        if days is None:
            continue
        start, end = rule.start_time.isoformat(), rule.end_time.isoformat()
        found.setdefault(
            (tuple(days), start, end),
            {"daysOfWeek": days, "availableStartTime": start, "availableEndTime": end},
        )
    return list(found.values())


def _service_modes(
    rules: Sequence[AvailabilityRule], offered: Sequence[AppointmentType]
) -> list[str]:
    """How the practitioner can be booked: the modalities of the visit types offered that one
    of the working hours takes (a rule without modalities takes every kind of visit)."""
    wanted = {kind.modality for kind in offered}
    taken = {m for m in wanted if any(not r.modalities or m in r.modalities for r in rules)}
    return [m for m in SERVICE_MODES if m in taken]


def practitioner_role_to_fhir(
    person: Practitioner, rules: Sequence[AvailabilityRule], offered: Sequence[AppointmentType]
) -> dict[str, Any]:
    """What a practitioner does at the clinic, as one PractitionerRole (its id is the
    practitioner's): the specialties, the locations of the working hours (``rules``, the
    active ones), those hours when they repeat weekly, the phone, and how the visit types
    offered can be had (in person, video, phone) as R5's ``characteristic``.

    No ``organization`` (the clinic is not an Organization here; US Core 3.1.1 requires one,
    5.0.1 to 6.1 do not) and no ``code`` (no record says whether someone is a physician, a
    nurse or a therapist). The US Core profile is claimed when its constraints hold: pd-1
    wants contact details, so a practitioner without a phone claims none."""
    phone = [{"system": "phone", "value": person.phone, "use": "work"}] if person.phone else None
    places = sorted({rule.location_id for rule in rules}, key=str)
    modes = _service_modes(rules, offered)
    resource = {
        "resourceType": "PractitionerRole",
        "id": str(person.id),
        "meta": {"profile": [PRACTITIONER_ROLE_PROFILE]} if phone else None,
        "extension": [
            {
                "url": CHARACTERISTIC,
                "valueCodeableConcept": {
                    "coding": [coding_of(SERVICE_MODE, *SERVICE_MODES[mode])],
                    "text": SERVICE_MODES[mode][1],
                },
            }
            for mode in modes
        ],
        "active": person.active,
        "practitioner": {"reference": f"Practitioner/{person.id}"},
        "specialty": [
            {
                "coding": [coding_of(SPECIALTY_SYSTEM, code, SPECIALTIES.get(code))],
                "text": SPECIALTIES.get(code),
            }
            for code in person.specialties
        ],
        "location": [{"reference": f"Location/{place}"} for place in places],
        "telecom": phone,
        "availableTime": _available_times(rules),
        # Dates, exceptions, time off and the hours that do not repeat weekly are the
        # Schedules' (one per rule) and the Slots'.
        "availabilityExceptions": "Dates, holidays and time off: see the Schedules and Slots "
        f"of Practitioner/{person.id}"
        if rules
        else None,
    }
    return cast(dict[str, Any], prune(resource))


def location_to_fhir(place: Location) -> dict[str, Any]:
    """A Location row as a US Core Location. Its address is kept as one line of text."""
    resource = {
        "resourceType": "Location",
        "id": str(place.id),
        "meta": {"profile": [LOCATION_PROFILE]},
        "status": "active" if place.active else "inactive",
        "name": place.name,
        "mode": "instance",
        "telecom": [{"system": "phone", "value": place.phone, "use": "work"}]
        if place.phone
        else None,
        "address": {"use": "work", "text": place.address} if place.address else None,
    }
    return cast(dict[str, Any], prune(resource))


def _modality_service(modality: str) -> dict[str, Any] | None:
    found = MODALITY_SERVICES.get(modality)
    if found is None:
        return None
    return {"coding": [coding_of(SNOMED, *found)], "text": found[1]}


def schedule_to_fhir(rule: AvailabilityRule) -> dict[str, Any]:
    """An availability rule as a Schedule: the practitioner's bookable hours at one location
    over the rule's validity. Slots are computed from these rules, so a Slot would belong to
    this Schedule. The recurrence (an RRULE over the location's local times) is in the comment:
    R4 Schedule has no element for it."""
    hours = f"{rule.start_time:%H:%M}-{rule.end_time:%H:%M} local time, {rule.rrule}"
    if rule.exdates:
        hours += "; except " + ", ".join(rule.exdates)
    resource = {
        "resourceType": "Schedule",
        "id": str(rule.id),
        "active": rule.active,
        # empty modalities: bookable for every kind of visit, in person included
        "serviceType": [_modality_service(m) for m in rule.modalities],
        "actor": [
            {"reference": f"Practitioner/{rule.practitioner_id}"},
            {"reference": f"Location/{rule.location_id}"},
        ],
        "planningHorizon": {
            "start": rule.valid_from.isoformat(),
            "end": rule.valid_until.isoformat() if rule.valid_until else None,
        },
        "comment": hours,
    }
    return cast(dict[str, Any], prune(resource))


def _service_type(kind: AppointmentType) -> dict[str, Any]:
    """The visit type: our code, and the CPT/HCPCS code it is billed with when it has one."""
    return {
        "coding": [
            coding_of(APPOINTMENT_TYPE_SYSTEM, kind.code, kind.name),
            coding_of(CPT, kind.service_code) if kind.service_code else None,
        ],
        "text": kind.name,
    }


def _participant(reference: str, status: str, performer: bool = False) -> dict[str, Any]:
    return {
        "type": [{"coding": [coding_of(PARTICIPATION_TYPE, "PPRF", "primary performer")]}]
        if performer
        else None,
        "actor": {"reference": reference},
        "required": "required",
        "status": status,
    }


def appointment_to_fhir(row: Appointment, kind: AppointmentType) -> dict[str, Any]:
    """An Appointment row (with its visit type) as an R4 Appointment: the patient,
    practitioner and location as participants, the visit type (and a video or phone visit)
    as serviceType, a cancellation's reason and note as ``cancelationReason``."""
    answered = "needs-action" if row.status in ("proposed", "pending") else "accepted"
    cancelled = row.status == "cancelled" and row.cancel_reason
    reason = CANCEL_REASONS.get(row.cancel_reason or "")
    minutes = int((row.ends_at - row.starts_at).total_seconds() // 60)
    resource = {
        "resourceType": "Appointment",
        "id": str(row.id),
        "status": row.status,  # our statuses are R4 AppointmentStatus codes
        "cancelationReason": {
            "coding": [coding_of(CANCEL_REASON_SYSTEM, row.cancel_reason or "", reason)],
            "text": row.cancel_note or reason,
        }
        if cancelled
        else None,
        "serviceType": [_service_type(kind), _modality_service(row.modality)],
        "specialty": [
            {
                "coding": [coding_of(SPECIALTY_SYSTEM, code, SPECIALTIES.get(code))],
                "text": SPECIALTIES.get(code),
            }
            for code in kind.specialties
        ],
        "appointmentType": {
            "coding": [
                coding_of(
                    APPOINTMENT_KIND, "FOLLOWUP", "A follow up visit from a previous appointment"
                )
            ],
        }
        if kind.visit_kind == "follow-up"
        else None,
        "description": kind.name,
        "start": _instant(row.starts_at),
        "end": _instant(row.ends_at),
        "minutesDuration": minutes if minutes > 0 else None,
        "created": _instant(row.created_at),
        "comment": row.note,
        "participant": [
            _participant(f"Patient/{row.patient_id}", answered),
            _participant(f"Practitioner/{row.practitioner_id}", answered, performer=True),
            _participant(f"Location/{row.location_id}", answered),
        ],
    }
    return cast(dict[str, Any], prune(resource))


# --- reading an Appointment sent to us -----------------------------------------------------


def _bad(path: str, message: str) -> FhirError:
    return FhirError(422, "invalid", f"{path}: {message}", expression=[path])


def _actors(resource: Mapping[str, Any]) -> dict[str, uuid.UUID]:
    """The participants' records by type (Patient, Practitioner, Location)."""
    found: dict[str, uuid.UUID] = {}
    participants = resource.get("participant")
    for n, item in enumerate(participants if isinstance(participants, list) else []):
        actor = item.get("actor") if isinstance(item, dict) else None
        text = actor.get("reference") if isinstance(actor, dict) else None
        if not isinstance(text, str):
            continue
        kind, _, rid = text.partition("/")
        if kind in ("Patient", "Practitioner", "Location"):
            try:
                found[kind] = uuid.UUID(rid)
            except ValueError as exc:
                raise _bad(f"Appointment.participant[{n}].actor", f"{text} is not here") from exc
    return found


def _coded_in(resource: Mapping[str, Any], key: str, system: str) -> str | None:
    for concept in resource.get(key) or []:
        for coding in concept.get("coding", []) if isinstance(concept, dict) else []:
            if isinstance(coding, dict) and coding.get("system") == system:
                return str(coding.get("code"))
    return None


def _moment(resource: Mapping[str, Any], key: str) -> dt.datetime | None:
    text = resource.get(key)
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError as exc:
        raise _bad(f"Appointment.{key}", f"{text!r} is not an instant") from exc
    if moment.tzinfo is None:
        raise _bad(f"Appointment.{key}", "give the time zone (Z or +hh:mm)")
    return moment


def appointment_values_from_fhir(resource: Mapping[str, Any]) -> dict[str, Any]:
    """What an Appointment sent to us asks for: patient, practitioner, location, visit type
    code, start, modality, note, status and a cancellation's reason and note."""
    actors = _actors(resource)
    modality = "in-person"
    for name, (code, _display) in MODALITY_SERVICES.items():
        if _coded_in(resource, "serviceType", SNOMED) == code:
            modality = name
    reason = resource.get("cancelationReason")
    reason_code = None
    reason_text = None
    if isinstance(reason, dict):
        for coding in reason.get("coding", []):
            if isinstance(coding, dict) and coding.get("system") == CANCEL_REASON_SYSTEM:
                reason_code = coding.get("code")
        reason_text = reason.get("text") if isinstance(reason.get("text"), str) else None
    return {
        "patient_id": actors.get("Patient"),
        "practitioner_id": actors.get("Practitioner"),
        "location_id": actors.get("Location"),
        "type_code": _coded_in(resource, "serviceType", APPOINTMENT_TYPE_SYSTEM),
        "starts_at": _moment(resource, "start"),
        "modality": modality,
        "note": resource.get("comment") if isinstance(resource.get("comment"), str) else None,
        "status": resource.get("status"),
        "cancel_reason": reason_code,
        "cancel_note": reason_text
        if reason_text != CANCEL_REASONS.get(reason_code or "")
        else None,
    }
