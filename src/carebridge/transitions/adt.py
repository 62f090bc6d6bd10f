"""ADT events applied to our records: the patient found (identifiers first, then
demographics) or registered, and the hospital stay (``Encounter``) opened, moved, closed or
cancelled as the event says.

Runs inside the applying savepoint of ``inbox.process``; anything it cannot apply raises
:class:`Hl7Error` and the savepoint is rolled back, so nothing is half-applied. Changes to
charts go through ``patients.service`` (which audits them); encounter changes are audited here,
as the system actor ``hl7``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, lazyload

from carebridge.lib.errors import AppError
from carebridge.lib.ids import new_id
from carebridge.patients import service as patients
from carebridge.patients.models import Identifier, Patient
from carebridge.patients.schemas import IdentifierIn, PatientCreate, PatientUpdate, PhoneIn, e164
from carebridge.security.audit import Action, Actor, record
from carebridge.settings import Settings
from carebridge.tasks import service as tasks
from carebridge.transitions import adt_moves, pending, workflow
from carebridge.transitions.hl7 import (
    DUPLICATE_KEY,
    INTERNAL_ERROR,
    REQUIRED_MISSING,
    UNSUPPORTED_EVENT,
    Header,
    Hl7Error,
    Ident,
    Message,
    Person,
    Visit,
    diagnoses,
    event_time,
    merges,
    person,
    reject,
    visit,
)
from carebridge.transitions.models import Encounter

SYSTEM = Actor.system("hl7")
VERY_LIKELY = 85  # a demographic match at or above this is taken as the same person

VISIT_EVENTS = frozenset(
    {"A01", "A02", "A03", "A04", "A05", "A06", "A07", "A08", "A11", "A12", "A13", "A14", "A27"}
)
PERSON_EVENTS = frozenset({"A28", "A31"})
MERGE_EVENTS = frozenset({"A40"})
MOVE_EVENTS = frozenset({"A45", "A47"})  # adt_moves: a visit or an identifier refiled
# Events that refile records from one chart to another: the messages of the batch not yet
# written are written first, so the refiling finds them (see ``inbox``).
REFILING_EVENTS = MERGE_EVENTS | MOVE_EVENTS
# Events we understand and acknowledge, with nothing to change on our side: tracking moves
# (A09, A10), pending events (A15, A16) and their cancellations (A25, A26), bed and swap
# notices, deleting person information (we keep charts), account- and visit-level merges and
# moves (A41, A42, A44, A50, A51), identifier-list changes (A49) and allergy updates (A60).
ACCEPTED_EVENTS = frozenset(
    {
        "A09", "A10", "A15", "A16", "A17", "A20", "A21", "A22", "A23", "A24", "A25", "A26",
        "A29", "A32", "A33", "A37", "A38", "A41", "A42", "A44", "A49", "A50", "A51", "A60",
    }
)  # fmt: skip
SUPPORTED_EVENTS = VISIT_EVENTS | PERSON_EVENTS | REFILING_EVENTS | ACCEPTED_EVENTS

# HL7 table 0004 (patient class) -> FHIR v3 ActCode encounter class.
CLASS_OF = {
    "I": "IMP",
    "E": "EMER",
    "O": "AMB",
    "P": "PRENC",
    "R": "AMB",
    "B": "IMP",
    "C": "AMB",
    "N": "AMB",
}
DEFAULT_CLASS = {"A04": "AMB", "A05": "PRENC", "A14": "PRENC", "A07": "AMB"}

# Table 0203 identifier types kept on a chart, as our identifier types.
ID_TYPES = {"MR": "MR", "MRN": "MR", "PI": "MR", "PT": "MR", "SS": "SS", "SB": "SS"}
ID_TYPES |= {"DL": "DL", "PPN": "PPN", "MB": "MB", "MC": "MB", "MA": "MB", "MI": "MB"}
NOT_PERSON_IDS = frozenset({"AN", "VN", "AM", "AMA", "VS"})


@dataclass
class Applied:
    """What an applied message touched, and a note when there was nothing to do."""

    patient_id: uuid.UUID | None = None
    encounter_id: uuid.UUID | None = None
    note: str | None = None


def apply(
    db: Session, message: Message, head: Header, settings: Settings, now: dt.datetime
) -> Applied:
    """Apply one ADT message (its header already checked)."""
    event = head.event
    if event not in SUPPORTED_EVENTS:
        raise reject(f"ADT event {event} is not supported", "MSH-9", UNSUPPORTED_EVENT)
    if event in ACCEPTED_EVENTS:
        return Applied(note=f"accepted: {event} needs nothing changed here")
    zone = settings.timezone
    if event in MERGE_EVENTS:
        return _merge(db, message, head, settings, now)
    if event in MOVE_EVENTS:
        move = adt_moves.move_visit if event == "A45" else adt_moves.change_identifiers
        return move(db, message, head, settings, now)
    who = person(message, zone)
    update = event in PERSON_EVENTS or event == "A08"
    patient = find_or_register(
        db, who, head, update=update, now=now, facility=settings.hl7_facility
    )
    if event in PERSON_EVENTS:
        return Applied(patient_id=patient.id)
    return _visit_event(db, message, head, event, patient, settings, now)


# --- the patient ------------------------------------------------------------------------------


def _system(ident: Ident, head: Header) -> str:
    return (ident.authority or head.sending_facility or head.sending_application)[:200]


def _ours(ident: Ident, settings_facility: str) -> bool:
    return ident.authority in (patients.MRN_SYSTEM, settings_facility)


_CHART_ONLY = (lazyload(Patient.identifiers), lazyload(Patient.telecoms))


def _live(db: Session, patient_id: uuid.UUID) -> Patient:
    """The chart, following merges to the surviving one. Its identifiers and telecoms are
    loaded when first read (most messages read neither)."""
    patient = db.get(Patient, patient_id, options=_CHART_ONLY)
    seen = set()
    while patient is not None and patient.merged_into_id is not None:
        if patient.id in seen:
            break
        seen.add(patient.id)
        patient = db.get(Patient, patient.merged_into_id, options=_CHART_ONLY)
    if patient is None:  # a foreign key guarantees it; kept for the type checker
        raise Hl7Error("A chart referenced by an identifier is missing", "PID-3", INTERNAL_ERROR)
    pending.keep(db, patient)
    return patient


# Core lookups: ids only; the charts themselves come from the session's identity map, where
# a batch of messages about the same people finds them already loaded.
_BY_MRN = select(Patient.mrn, Patient.id).where(Patient.mrn.in_(bindparam("mrns", expanding=True)))
_BY_IDENTIFIER = select(Identifier.system, Identifier.value, Identifier.patient_id).where(
    Identifier.system.in_(bindparam("systems", expanding=True)),
    Identifier.value.in_(bindparam("values", expanding=True)),
    Identifier.status == "active",
)


def _holders(
    db: Session, idents: list[Ident], head: Header, facility: str
) -> dict[Ident, uuid.UUID]:
    """The chart each identifier is on, if any: one of ours (our MRN system or facility) by
    MRN first, then any by an active identifier (system and value are unique). At most two
    queries, however many identifiers there are."""
    found: dict[Ident, uuid.UUID] = {}
    db.flush()  # identifiers added or moved earlier in this message count (nothing to do: free)
    conn = db.connection()
    mrns = {ident.value for ident in idents if _ours(ident, facility)}
    if mrns:
        by_mrn = dict(conn.execute(_BY_MRN, {"mrns": sorted(mrns)}).all())
        for ident in idents:
            if _ours(ident, facility) and ident.value in by_mrn:
                found[ident] = by_mrn[ident.value]
    keys = {(_system(i, head), i.value[:80]) for i in idents if i not in found}
    if keys:
        rows = conn.execute(
            _BY_IDENTIFIER,
            {"systems": sorted({k[0] for k in keys}), "values": sorted({k[1] for k in keys})},
        )
        held = {(system, value): chart for system, value, chart in rows}
        for ident in idents:
            key = (_system(ident, head), ident.value[:80])
            if ident not in found and key in held:
                found[ident] = held[key]
    return found


def by_identifiers(db: Session, idents: list[Ident], head: Header, facility: str) -> Patient | None:
    return _by_identifiers(db, idents, head, facility)[0]


def _by_identifiers(
    db: Session, idents: list[Ident], head: Header, facility: str
) -> tuple[Patient | None, dict[Ident, uuid.UUID]]:
    """The chart the identifiers name, and the chart each identifier is on."""
    charts: dict[uuid.UUID, Patient] = {}
    holders = _holders(db, [i for i in idents if i.type not in NOT_PERSON_IDS], head, facility)
    for ident in idents:
        if ident.type in NOT_PERSON_IDS:
            continue
        holder = holders.get(ident)
        if holder is not None:
            chart = _live(db, holder)
            charts[chart.id] = chart
    if len(charts) > 1:
        mrns = ", ".join(sorted(c.mrn for c in charts.values()))
        raise Hl7Error(
            f"PID-3 identifiers belong to different charts (MRN {mrns}); merge the charts or "
            "correct the message",
            "PID-3",
            DUPLICATE_KEY,
        )
    return next(iter(charts.values()), None), holders


def _phones(who: Person) -> list[PhoneIn]:
    found: list[PhoneIn] = []
    for text in who.phones:
        try:
            number = e164(text)
        except ValueError:
            continue
        if all(p.number != number for p in found):
            found.append(PhoneIn(number=number, use="home"))
    return found[:5]


def _field_error(exc: ValidationError) -> Hl7Error:
    first = exc.errors()[0]
    where = {"family_name": "PID-5", "given_names": "PID-5", "birth_date": "PID-7"}
    name = str(first["loc"][0]) if first["loc"] else "PID"
    return Hl7Error(
        f"{where.get(name, 'PID')}: {first['msg']}", where.get(name, "PID"), REQUIRED_MISSING
    )


def _create_data(who: Person, head: Header) -> PatientCreate:
    if not who.family:
        raise Hl7Error("PID-5 (patient name) has no family name", "PID-5.1", REQUIRED_MISSING)
    if who.birth_date is None:
        raise Hl7Error(
            "PID-7 (date of birth) is empty: a new chart needs it", "PID-7", REQUIRED_MISSING
        )
    postal = who.postal_code if who.postal_code and _us_postal(who.postal_code) else None
    try:
        return PatientCreate(
            family_name=who.family[:100],
            given_names=(who.given or "-")[:100],
            birth_date=who.birth_date,
            sex=who.sex or "unknown",
            phones=_phones(who),
            address_line1=(who.address_line1 or None) and who.address_line1[:150],
            address_line2=(who.address_line2 or None) and who.address_line2[:150],
            city=(who.city or None) and who.city[:80],
            state=(who.state or None) and who.state[:40],
            postal_code=postal,
        )
    except ValidationError as exc:
        raise _field_error(exc) from None


def _us_postal(code: str) -> bool:
    digits = code.replace("-", "")
    return digits.isdigit() and (len(code) == 5 or (len(code) == 10 and code[5] == "-"))


def _add_identifiers(
    db: Session,
    patient: Patient,
    who: Person,
    head: Header,
    facility: str,
    holders: dict[Ident, uuid.UUID] | None = None,
) -> bool:
    """Add the message's identifiers the chart lacks; whether any was added. ``holders``
    (from the lookup that found the chart) spares reading the chart's identifiers when each
    one is already active on it."""
    holders = holders or {}
    candidates = [
        ident
        for ident in who.identifiers
        if ident.type not in NOT_PERSON_IDS
        and not _ours(ident, facility)
        and holders.get(ident) != patient.id
    ]
    if not candidates:
        return False
    held = {(i.system, i.value) for i in patient.identifiers}
    missing = [i for i in candidates if (_system(i, head), i.value[:80]) not in held]
    if not missing:
        return False
    holders = _holders(db, missing, head, facility)
    added = False
    for ident in missing:
        key = (_system(ident, head), ident.value[:80])
        if key in held:
            continue
        if ident in holders:
            continue  # on another chart: by_identifiers refused a real conflict already
        patients.add_identifier(
            db,
            SYSTEM,
            patient.id,
            IdentifierIn(
                type=ID_TYPES.get(ident.type, "MR"),
                system=key[0],
                value=key[1],
                assigner=(ident.authority or head.sending_facility or None),
            ),
        )
        held.add(key)
        added = True
    return added


def find_or_register(
    db: Session, who: Person, head: Header, *, update: bool, now: dt.datetime, facility: str = ""
) -> Patient:
    """The chart this PID is about: by identifier, else a very likely demographic match, else
    a new chart with a review task. With ``update`` (A08, A28, A31) the chart takes the
    message's non-empty demographics; nothing is blanked."""
    patient, holders = _by_identifiers(db, who.identifiers, head, facility)
    matched_by = "identifier"
    if patient is None:
        data = _create_data(who, head)
        candidates = patients.find_duplicates(db, data)
        best = candidates[0] if candidates else None
        if best is not None and best.score >= VERY_LIKELY:
            patient = _live(db, best.patient.id)
            matched_by = f"demographics ({best.score}: {'; '.join(best.reasons)})"
        else:
            return _register(db, who, head, data, candidates, now, facility)
    changed = _update_demographics(db, patient, who) if update else False
    if _add_identifiers(db, patient, who, head, facility, holders) or changed:
        db.refresh(patient)
    record(
        db,
        SYSTEM,
        Action.READ,
        entity_type="Patient",
        entity_id=patient.id,
        patient_id=patient.id,
        reason=f"matched from HL7 {head.event} {head.control_id} by {matched_by}"[:500],
    )
    return patient


def _register(
    db: Session,
    who: Person,
    head: Header,
    data: PatientCreate,
    candidates: list[Any],
    now: dt.datetime,
    facility: str,
) -> Patient:
    likely = [c for c in candidates if c.score >= patients.LIKELY]
    if likely:
        mrns = ", ".join(c.patient.mrn for c in likely)
        data = data.model_copy(
            update={
                "duplicate_override_reason": f"registered from the hospital feed; may be the same"
                f" person as {mrns}: review"
            }
        )
    try:
        created = patients.register(db, SYSTEM, data)
    except AppError as exc:
        raise Hl7Error(f"PID: {exc.detail}", "PID", INTERNAL_ERROR) from None
    patient = db.get(Patient, created.id)
    assert patient is not None
    _add_identifiers(db, patient, who, head, facility)
    sender = head.sending_facility or head.sending_application or "the hospital"
    tasks.create(
        db,
        SYSTEM,
        title=f"Review chart {patient.mrn} registered from the {sender} ADT feed",
        description=(
            f"HL7 {head.message_type}^{head.event} (control id {head.control_id}) named a patient "
            "we had no chart for, so one was registered. Check the demographics, and merge it "
            "if this person already has a chart."
            + (
                f" Possible duplicates: {', '.join(c.patient.mrn for c in likely)}."
                if likely
                else ""
            )
        ),
        patient_id=patient.id,
        priority="routine",
        queue=None,
        dedupe_key=f"hl7-new-chart:{patient.id}",
        kind="general",
        due_at=now + dt.timedelta(days=1),
    )
    db.refresh(patient)
    return patient


def _update_demographics(db: Session, patient: Patient, who: Person) -> bool:
    """Whether the chart was changed."""
    changes: dict[str, Any] = {}
    if who.family and who.family[:100] != patient.family_name:
        changes["family_name"] = who.family[:100]
    if who.given and who.given[:100] != patient.given_names:
        changes["given_names"] = who.given[:100]
    if who.birth_date and who.birth_date != patient.birth_date:
        changes["birth_date"] = who.birth_date
    if who.sex and who.sex != "unknown" and who.sex != patient.sex:
        changes["sex"] = who.sex
    for name in ("address_line1", "address_line2", "city", "state"):
        value = getattr(who, name)
        if value and value != getattr(patient, name):
            changes[name] = value[:150]
    if who.postal_code and _us_postal(who.postal_code) and who.postal_code != patient.postal_code:
        changes["postal_code"] = who.postal_code
    current = [t.value for t in patient.telecoms if t.system == "phone" and t.status == "active"]
    new = [p for p in _phones(who) if p.number not in current]
    if new:
        kept = [PhoneIn(number=n, use="home") for n in current]
        changes["phones"] = (kept + new)[:5]
    if not changes:
        return False
    try:
        data = PatientUpdate(version=patient.version, **changes)
    except ValidationError as exc:
        raise _field_error(exc) from None
    try:
        patients.update_patient(db, SYSTEM, patient.id, data)
    except AppError as exc:
        raise Hl7Error(f"PID: {exc.detail}", "PID", INTERNAL_ERROR) from None
    return True


# --- merge ------------------------------------------------------------------------------------


def _merge(
    db: Session, message: Message, head: Header, settings: Settings, now: dt.datetime
) -> Applied:
    zone, facility = settings.timezone, settings.hl7_facility
    pids = message.segments("PID")
    found = merges(message)
    if not found:
        raise Hl7Error("A40 needs an MRG segment naming the prior patient", "MRG", REQUIRED_MISSING)
    survivor: Patient | None = None
    notes = []
    for index, merge in enumerate(found):
        pid = pids[min(index, len(pids) - 1)] if pids else None
        who = person(message, zone, segment=pid)
        survivor = find_or_register(db, who, head, update=False, now=now, facility=facility)
        if not merge.prior_identifiers:
            raise Hl7Error("MRG-1 (prior patient identifiers) is empty", "MRG-1", REQUIRED_MISSING)
        prior = by_identifiers(db, merge.prior_identifiers, head, facility)
        if prior is None or prior.id == survivor.id:
            notes.append(
                f"no other chart holds {merge.prior_identifiers[0].value}: nothing to merge"
            )
            continue
        patients.merge(
            db,
            SYSTEM,
            survivor.id,
            prior.id,
            reason=f"HL7 A40 from {head.sending_facility or head.sending_application} "
            f"(control id {head.control_id})",
        )
        notes.append(f"merged {prior.mrn} into {survivor.mrn}")
    return Applied(patient_id=survivor.id if survivor else None, note="; ".join(notes) or None)


# --- the visit --------------------------------------------------------------------------------


# Ids by Core, the encounter itself from the identity map when the batch has seen it.
_BY_VISIT = select(Encounter.id).where(
    Encounter.facility == bindparam("facility"), Encounter.visit_number == bindparam("number")
)
_OPEN_UNNUMBERED = (
    select(Encounter.id)
    .where(
        Encounter.patient_id == bindparam("patient"),
        Encounter.facility == bindparam("facility"),
        Encounter.visit_number.is_(None),
        Encounter.status.in_(("planned", "in-progress")),
    )
    .order_by(Encounter.created_at.desc())
    .limit(1)
)


def _find_encounter(
    db: Session, facility: str, number: str | None, patient: Patient
) -> Encounter | None:
    if number:
        found = db.connection().execute(_BY_VISIT, {"facility": facility, "number": number})
    else:
        found = db.connection().execute(
            _OPEN_UNNUMBERED, {"facility": facility, "patient": patient.id}
        )
    encounter_id = found.scalar()
    encounter = None if encounter_id is None else db.get(Encounter, encounter_id)
    if encounter is not None:
        pending.keep(db, encounter)
    return encounter


def _fill(encounter: Encounter, v: Visit) -> None:
    """The visit's details that were sent; empty ones leave ours alone."""
    for name in ("admission_type", "admit_source", "hospital_service", "attending"):
        value = getattr(v, name)
        if value:
            setattr(encounter, name, value)
    if v.location:
        encounter.location = v.location[:250]


def _visit_event(
    db: Session,
    message: Message,
    head: Header,
    event: str,
    patient: Patient,
    settings: Settings,
    now: dt.datetime,
) -> Applied:
    zone = settings.timezone
    v = visit(message, zone)
    happened = event_time(message, zone) or head.sent_at or now
    facility = (head.sending_facility or v.facility or head.sending_application)[:227]
    pid = message.segment("PID")
    number = v.visit_number or (message.value(pid, 18) if pid is not None else "") or None
    number = number[:80] if number else None
    encounter = _find_encounter(db, facility, number, patient)
    if encounter is not None and encounter.patient_id != patient.id:
        raise Hl7Error(
            f"Visit {number} at {facility} belongs to another chart; send A40/A45 to move it",
            "PV1-19",
            DUPLICATE_KEY,
        )
    if encounter is None and event in ("A11", "A12", "A13", "A27"):
        return Applied(
            patient_id=patient.id,
            note=f"no visit {number or '(no number)'} on file: nothing to cancel",
        )
    created = encounter is None
    if encounter is None:
        encounter = Encounter(
            id=new_id(),
            patient_id=patient.id,
            facility=facility,
            visit_number=number,
            class_code=CLASS_OF.get(v.patient_class[:1], DEFAULT_CLASS.get(event, "IMP")),
            status="in-progress",
            diagnoses=[],
        )
        db.add(encounter)
        pending.keep(db, encounter)
    before, previous_location = encounter.status, encounter.location
    _fill(encounter, v)
    klass = CLASS_OF.get(v.patient_class[:1])
    if event == "A06":
        encounter.class_code = klass if klass and klass != "AMB" else "IMP"
    elif event == "A07":
        encounter.class_code = klass if klass and klass != "IMP" else "AMB"
    elif klass and event not in ("A11", "A12", "A13", "A27"):
        encounter.class_code = klass
    hooks: list[str] = []
    if event in ("A01", "A04", "A06", "A07"):
        if encounter.status in ("planned", "in-progress") or created:
            encounter.status = "in-progress"
        encounter.admit_at = encounter.admit_at or v.admit_at or happened
        if event == "A01" and encounter.status == "in-progress":
            hooks.append("admit")
    elif event in ("A05", "A14"):
        if created:
            encounter.status = "planned"
        encounter.admit_at = v.admit_at or encounter.admit_at
    elif event == "A02":
        moved = v.location and v.location != previous_location and not created
        encounter.prior_location = (
            previous_location if moved else (v.prior_location or encounter.prior_location)
        )
        encounter.admit_at = encounter.admit_at or v.admit_at
    elif event == "A03":
        encounter.status = "finished"
        encounter.admit_at = encounter.admit_at or v.admit_at
        encounter.discharge_at = v.discharge_at or happened
        if v.discharge_disposition:
            encounter.discharge_disposition = v.discharge_disposition
        hooks.append("discharge")
    elif event == "A08":
        encounter.admit_at = v.admit_at or encounter.admit_at
        if v.discharge_at:
            encounter.discharge_at = v.discharge_at
            if created:
                encounter.status = "finished"
    elif event in ("A11", "A27"):
        encounter.status = "cancelled" if encounter.status == "planned" else "entered-in-error"
    elif event == "A12":
        back = v.location or encounter.prior_location
        if back:
            encounter.location = back[:250]
        encounter.prior_location = None
    elif event == "A13" and encounter.status == "finished":
        encounter.status = "in-progress"
        encounter.discharge_at = None
        encounter.discharge_disposition = None
        hooks.append("discharge-cancelled")
    found = diagnoses(message)
    if found:
        encounter.diagnoses = [d.as_dict() for d in found]
    encounter.last_event = event
    record(
        db,
        SYSTEM,
        Action.CREATE if created else Action.UPDATE,
        entity_type="Encounter",
        entity_id=encounter.id,
        patient_id=patient.id,
        reason=f"HL7 {event} {head.control_id}: {before if not created else 'new'} -> "
        f"{encounter.status}"[:500],
    )
    db.flush()  # the visit and its audit rows in one go
    for hook in hooks:
        if hook == "admit":
            workflow.on_admit(db, encounter, settings, now)
        elif hook == "discharge":
            workflow.on_discharge(db, encounter, settings, now)
        else:
            workflow.on_discharge_cancelled(db, encounter, settings, now)
    return Applied(patient_id=patient.id, encounter_id=encounter.id)
