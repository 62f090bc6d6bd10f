"""The words of communications: channels, languages, statuses and the fixed set of
placeholders a template may use, with how they are found and filled in.

Placeholders are written ``{{patient.first_name}}`` (spaces inside the braces are allowed).
Only the names in :data:`PLACEHOLDERS` exist; a template naming any other is refused."""

from __future__ import annotations

import re
from collections.abc import Mapping

CHANNELS = {"email": "Email", "sms": "Text message (SMS)", "letter": "Letter"}
# The contact consent a channel needs (patients.models.ContactConsent.channel).
CONSENT_CHANNEL = {"email": "email", "sms": "sms", "letter": "mail"}
LANGUAGES = {"en": "English", "es": "Spanish"}
DEFAULT_LANGUAGE = "en"
# The log's filter: our channels and the outreach log's.
LOG_CHANNELS = {
    "email": "Email",
    "sms": "Text message",
    "letter": "Letter",
    "phone": "Phone call",
    "in-person": "In person",
}
STATUSES = {
    "pending": "Waiting to send",
    "sending": "Sending",
    "sent": "Delivered to the server",
    "failed": "Failed",
    "cancelled": "Not sent",
    "ready": "Ready to print",
    "mailed": "Mailed",
}

PLACEHOLDERS = {
    "patient.first_name": "The patient's first name (preferred name when recorded)",
    "patient.last_name": "The patient's family name",
    "recipient.name": "Who the message is for: the patient or the family member",
    "clinic.name": "The clinic's name",
    "clinic.phone": "The clinic's phone number",
    "appointment.date": "Date of the patient's next appointment",
    "appointment.time": "Time of the patient's next appointment",
    "appointment.place": "Where the next appointment is (name and address)",
    "coordinator.name": "The patient's care coordinator (or whoever sends the message)",
}
APPOINTMENT_NAMES = frozenset(n for n in PLACEHOLDERS if n.startswith("appointment."))
PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


def placeholders_in(text: str) -> list[str]:
    """The placeholder names used in ``text``, in order, once each."""
    return list(dict.fromkeys(PLACEHOLDER.findall(text)))


def problems(text: str) -> list[str]:
    """What is wrong with the placeholders of ``text``, in words; empty when all is well."""
    found = []
    unknown = [name for name in placeholders_in(text) if name not in PLACEHOLDERS]
    if unknown:
        names = ", ".join("{{" + name + "}}" for name in unknown)
        found.append(
            f"unknown placeholder {names}; use only "
            + ", ".join("{{" + name + "}}" for name in PLACEHOLDERS)
        )
    rest = PLACEHOLDER.sub("", text)
    if "{{" in rest or "}}" in rest:
        found.append("a placeholder is not closed: write it as {{name}} with two braces each side")
    return found


def fill(text: str, values: Mapping[str, str]) -> str:
    """``text`` with each placeholder replaced by its value (all must be known)."""
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


# Dates in the patient's language, without depending on the server's locale.
WEEKDAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
}
MONTHS = {
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    "es": (
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ),
}
