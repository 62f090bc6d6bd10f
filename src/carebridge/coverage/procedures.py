"""Procedure codes billed and authorized: CPT (AMA) and HCPCS Level II (CMS).

The code sets themselves are licensed (CPT) or large (HCPCS), so a code is checked for its
form, which catches the typing mistakes that get a claim or authorization rejected:
CPT Category I is five digits, Category II four digits and F, Category III four digits and T,
HCPCS Level II a letter A-V and four digits. ``DESCRIPTIONS`` names, in our own plain words,
the services this clinic bills most, for screens and letters.
"""

from __future__ import annotations

import re

from carebridge.lib.errors import ValidationFailed

_FORMS = (
    (re.compile(r"\d{5}"), "CPT"),
    (re.compile(r"\d{4}[FT]"), "CPT"),
    (re.compile(r"[A-V]\d{4}"), "HCPCS"),
)
ACCEPTED_FORMS = (
    "a CPT code (5 digits, or 4 digits and F or T) or a HCPCS code (a letter A-V and 4 digits)"
)

# Plain descriptions of common services; written for patients and coordinators, not the
# official descriptors.
DESCRIPTIONS: dict[str, str] = {
    "99202": "New patient office visit, short",
    "99203": "New patient office visit, moderate",
    "99204": "New patient office visit, long",
    "99212": "Follow-up office visit, short",
    "99213": "Follow-up office visit, moderate",
    "99214": "Follow-up office visit, detailed",
    "99215": "Follow-up office visit, complex",
    "99495": "Care after a hospital stay, contact within 2 business days, moderate",
    "99496": "Care after a hospital stay, contact within 2 business days, complex",
    "99490": "Chronic care management, 20 minutes a month",
    "97110": "Physical therapy: therapeutic exercise, each 15 minutes",
    "97112": "Physical therapy: balance and coordination training, each 15 minutes",
    "97116": "Physical therapy: walking (gait) training, each 15 minutes",
    "97140": "Physical therapy: hands-on (manual) therapy, each 15 minutes",
    "97161": "Physical therapy evaluation, low complexity",
    "97162": "Physical therapy evaluation, moderate complexity",
    "90834": "Psychotherapy, 45 minutes",
    "90837": "Psychotherapy, 60 minutes",
    "93306": "Heart ultrasound (echocardiogram) with Doppler",
    "70553": "MRI of the brain with and without contrast",
    "72148": "MRI of the lower back without contrast",
    "73721": "MRI of a leg joint (knee) without contrast",
    "95811": "Sleep study with CPAP titration",
    "36415": "Blood draw from a vein",
    "83036": "Hemoglobin A1c blood test",
    "G0108": "Diabetes self-management training, individual, each 30 minutes",
    "G0439": "Annual wellness visit, subsequent",
    "G0180": "Home health certification by a physician",
    "E0601": "CPAP machine",
    "E0260": "Hospital bed with mattress for home use",
    "K0001": "Standard wheelchair",
}


def normalize_procedure(code: str) -> str:
    """The code in canonical form (trimmed, upper case), or ValidationFailed naming it."""
    text = code.strip().upper()
    if not any(pattern.fullmatch(text) for pattern, _ in _FORMS):
        shown = code if len(code) <= 20 else code[:19] + "…"
        raise ValidationFailed(
            f"{shown!r} is not a procedure code: give {ACCEPTED_FORMS}.",
            fields={"code": f"not {ACCEPTED_FORMS}"},
        )
    return text


def code_system(code: str) -> str:
    """``CPT`` or ``HCPCS`` for a normalized code (X12 qualifier HC covers both)."""
    return next(system for pattern, system in _FORMS if pattern.fullmatch(code))


def describe(code: str) -> str:
    return DESCRIPTIONS.get(code, "")
