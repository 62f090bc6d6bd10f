"""De-identified analytics extracts following HIPAA Safe Harbor, 45 CFR 164.514(b)(2).

Safe Harbor removes 18 kinds of identifiers of the patient and of relatives, employers and
household members: (A) names; (B) geographic subdivisions smaller than a state (street, city,
county, ZIP code) except the first three ZIP digits when that three-digit area holds more than
20,000 people; (C) all elements of dates (except year) directly related to the individual, and
ages over 89 with any date element (including year) indicative of such age, unless grouped as
"90 or older"; (D) telephone and (E) fax numbers; (F) email addresses; (G) SSNs; (H) medical
record numbers; (I) health plan beneficiary numbers; (J) account numbers; (K) certificate and
license numbers; (L) vehicle identifiers; (M) device identifiers and serial numbers; (N) URLs;
(O) IP addresses; (P) biometric identifiers; (Q) full-face photographs and comparable images;
(R) any other unique identifying number, characteristic or code.

How this module meets it: rows are built from an allow-list, so names, street, city, phone,
fax, email, MRN, other identifiers (SSN, member, licence, device ids), URLs, IPs, documents and
photos, free-text notes and related persons never reach the output. The patient is named by a
study id, an HMAC-SHA256 of the per-run secret and the patient id: stable within a run, not
reversible (nor linkable across runs) without the secret, which is not stored with the extract.
ZIP codes are cut to three digits, and to "000" for the 17 three-digit areas that had 20,000
people or fewer in the 2000 Census (HHS OCR, "Guidance Regarding Methods for De-identification
of PHI", 2012, section 3.3; preamble of the final rule, 67 FR 53182, 53233-53234, 14 Aug 2002).
Ages over 89 are reported as "90+" and their birth date and year are removed.

Dates. Strict Safe Harbor keeps only the year of a date: ``dates="year"`` does that. The issue
asks instead for dates shifted consistently per patient (``dates="shifted"``, the default): each
patient's dates move by one offset in [-180, +180] days derived from the same HMAC, so intervals
between a patient's events are kept exactly. A shifted full date is not Safe Harbor in the
strict sense (the rule names no shifting); such an extract relies on the secret staying with
the covered entity and, for a formal claim, on expert determination (164.514(b)(1)).

Ages. With ``dates="year"`` the age is the patient's real age in whole years on the day of
the extract (or at death), which Safe Harbor allows up to 89. With ``dates="shifted"`` the
exact real age beside the shifted birth date would tell whether the shift moved the birthday
across the day of the extract, and so narrow the patient's offset and with it every shifted
date; the age is therefore computed from the *shifted* birth date, on the day of the extract
(or at the shifted death date): whole years, telling nothing the shifted birth date does not.
Either way a patient is "90+", without birth or death date, when the real or the shown age is
over 89.

Audit. ``extract`` only reads; its caller records the export once (``MODE_WORDS`` says the
date mode in that record: "Safe Harbor (years only)", or "dates shifted per patient (not
strict Safe Harbor)").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebridge.analytics.export import Cell
from carebridge.lib.batches import chunked
from carebridge.lib.time import age_on
from carebridge.patients.models import Condition, Medication, Patient

DateMode = Literal["shifted", "year"]
# How the audit record of an extract names its date mode.
MODE_WORDS: dict[DateMode, str] = {
    "year": "Safe Harbor (years only)",
    "shifted": "dates shifted per patient (not strict Safe Harbor)",
}

# Three-digit ZIP areas with 20,000 people or fewer (2000 Census), per HHS OCR guidance.
RESTRICTED_ZIP3 = frozenset(
    {
        "036",
        "059",
        "063",
        "102",
        "203",
        "556",
        "692",
        "790",
        "821",
        "823",
        "830",
        "831",
        "878",
        "879",
        "884",
        "890",
        "893",
    }
)
MAX_SHIFT_DAYS = 180
OLDEST_AGE = 89  # ages above this are grouped as "90+"


def _digest(secret: bytes, patient_id: uuid.UUID) -> bytes:
    return hmac.new(secret, patient_id.bytes, hashlib.sha256).digest()


def study_id(secret: bytes, patient_id: uuid.UUID) -> str:
    """The patient's pseudonym for this run: the first 20 hex digits of the HMAC."""
    return "S" + _digest(secret, patient_id).hex()[:20]


def shift_days(secret: bytes, patient_id: uuid.UUID) -> int:
    """The patient's date offset, in [-180, +180] days, from bytes of the HMAC not used by
    the study id."""
    n = int.from_bytes(_digest(secret, patient_id)[16:24], "big")
    return n % (2 * MAX_SHIFT_DAYS + 1) - MAX_SHIFT_DAYS


def zip3(postal_code: str | None) -> str | None:
    """First three digits of a US ZIP code, "000" for the restricted areas, None otherwise."""
    if not postal_code:
        return None
    head = postal_code.strip()[:5]
    if len(head) != 5 or not head.isdigit():
        return None
    return "000" if head[:3] in RESTRICTED_ZIP3 else head[:3]


def _date(value: dt.date | None, offset: int, dates: DateMode) -> str | int | None:
    if value is None:
        return None
    if dates == "year":
        return value.year
    return (value + dt.timedelta(days=offset)).isoformat()


def deidentify(
    row: Mapping[str, Any],
    secret: bytes,
    *,
    as_of: dt.date,
    dates: DateMode = "shifted",
    history: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """One de-identified row from a patient's values (``id``, ``birth_date``, ``sex``,
    ``postal_code``, ... as on ``patients.models.Patient``). ``history`` items carry
    ``kind``, ``code_system``, ``code``, ``status`` and ``start``/``end`` dates. Only the
    fields named below are kept; everything else in ``row`` is dropped."""
    pid = row["id"]
    if not isinstance(pid, uuid.UUID):
        pid = uuid.UUID(str(pid))
    offset = shift_days(secret, pid)
    birth: dt.date = row["birth_date"]
    deceased: dt.date | None = row.get("deceased_date")
    age = age_on(birth, deceased or as_of)[0]
    if dates == "shifted":  # the shifted birth date's age (see the module's docstring)
        moved = dt.timedelta(days=offset)
        shown = age_on(birth + moved, deceased + moved if deceased else as_of)[0]
    else:
        shown = age
    very_old = max(age, shown) > OLDEST_AGE
    out: dict[str, Any] = {
        "study_id": study_id(secret, pid),
        "age": "90+" if very_old else str(shown),
        "birth_date": None if very_old else _date(birth, offset, dates),
        "deceased": deceased is not None,
        "deceased_date": None if very_old else _date(deceased, offset, dates),
        "sex": row.get("sex"),
        "gender_identity": row.get("gender_identity"),
        "race": list(row.get("race") or []),
        "ethnicity": row.get("ethnicity"),
        "language": row.get("language"),
        "state": row.get("state"),
        "zip3": zip3(row.get("postal_code")),
        "history": [
            {
                "kind": item["kind"],
                "code_system": item.get("code_system"),
                "code": item.get("code"),
                "status": item.get("status"),
                "start": _date(item.get("start"), offset, dates),
                "end": _date(item.get("end"), offset, dates),
            }
            for item in history
        ],
    }
    return out


def _history(db: Session, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[dict[str, Any]]]:
    items: dict[uuid.UUID, list[dict[str, Any]]] = {}
    conditions = db.scalars(
        select(Condition)
        .where(Condition.patient_id.in_(ids))
        .where(Condition.verification_status != "entered-in-error")
        .where(Condition.clinical_status != "entered-in-error")
        .order_by(Condition.onset_date, Condition.code)
    )
    for c in conditions:
        items.setdefault(c.patient_id, []).append(
            {
                "kind": "condition",
                "code_system": c.code_system,
                "code": c.code,
                "status": c.clinical_status,
                "start": c.onset_date,
                "end": c.abatement_date,
            }
        )
    medications = db.scalars(
        select(Medication)
        .where(Medication.patient_id.in_(ids))
        .where(Medication.status != "entered-in-error")
        .where(Medication.rxnorm.is_not(None))
        .order_by(Medication.start_date, Medication.rxnorm)
    )
    for m in medications:
        items.setdefault(m.patient_id, []).append(
            {
                "kind": "medication",
                "code_system": "rxnorm",
                "code": m.rxnorm,
                "status": m.status,
                "start": m.start_date,
                "end": m.stop_date,
            }
        )
    return items


_DEMOGRAPHICS = (
    "id",
    "birth_date",
    "deceased_date",
    "sex",
    "gender_identity",
    "race",
    "ethnicity",
    "language",
    "state",
    "postal_code",
)


def extract(
    db: Session,
    patient_ids: Iterable[uuid.UUID],
    secret: bytes,
    *,
    as_of: dt.date,
    dates: DateMode = "shifted",
) -> list[dict[str, Any]]:
    """De-identified rows (demographics and coded conditions and medications) for the given
    patients, in study-id order so the row order reveals nothing. It only reads (a read-only
    unit of work will do); the caller records the export, once, naming ``MODE_WORDS[dates]``."""
    if len(secret) < 16:
        raise ValueError("the per-run secret must be at least 16 bytes")
    ids = sorted(set(patient_ids))
    rows: list[dict[str, Any]] = []
    for chunk in chunked(ids):
        history = _history(db, chunk)
        for p in db.scalars(select(Patient).where(Patient.id.in_(chunk))):
            values = {name: getattr(p, name) for name in _DEMOGRAPHICS}
            rows.append(
                deidentify(values, secret, as_of=as_of, dates=dates, history=history.get(p.id, []))
            )
    rows.sort(key=lambda r: str(r["study_id"]))
    return rows


# The extract as a table: one line per coded history item (see ``flatten``).
TABLE_COLUMNS = [
    "study_id",
    "age",
    "birth_date",
    "deceased",
    "deceased_date",
    "sex",
    "gender_identity",
    "race",
    "ethnicity",
    "language",
    "state",
    "zip3",
    "kind",
    "code_system",
    "code",
    "status",
    "start",
    "end",
]


def flatten(rows: Sequence[Mapping[str, Any]]) -> list[list[Cell]]:
    """One line per coded history item, the patient's columns repeated on each (one line
    with empty history cells for a patient without any)."""
    flat: list[list[Cell]] = []
    for row in rows:
        person: list[Cell] = [
            row["study_id"],
            row["age"],
            row["birth_date"],
            "yes" if row["deceased"] else "no",
            row["deceased_date"],
            row["sex"],
            row["gender_identity"],
            "; ".join(str(r) for r in row["race"]),
            row["ethnicity"],
            row["language"],
            row["state"],
            row["zip3"],
        ]
        items = row["history"] or [{}]
        for item in items:
            flat.append(
                [
                    *person,
                    *(item.get(k) for k in ("kind", "code_system", "code", "status")),
                    item.get("start"),
                    item.get("end"),
                ]
            )
    return flat
