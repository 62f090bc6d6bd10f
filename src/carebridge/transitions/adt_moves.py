"""ADT events that correct where records sit: A45 moves a visit from the wrong chart to the
right one, A47 replaces a wrong identifier on a chart with the right one.

Like the rest of ``adt``, these run inside the applying savepoint of ``inbox.process``;
anything they cannot apply raises :class:`Hl7Error` and the savepoint is rolled back, so a
message is applied whole or not at all. Identifier changes go through ``patients.service``
where it has a use case for them; what it lacks (retiring an identifier) is done here and
audited as the system actor ``hl7``.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from carebridge.lib.errors import AppError
from carebridge.patients import service as patients
from carebridge.patients.models import Identifier, Patient
from carebridge.patients.schemas import IdentifierIn
from carebridge.security.audit import Action, record
from carebridge.settings import Settings
from carebridge.transitions import adt
from carebridge.transitions.hl7 import (
    DUPLICATE_KEY,
    INTERNAL_ERROR,
    REQUIRED_MISSING,
    UNKNOWN_KEY,
    Header,
    Hl7Error,
    Ident,
    Merge,
    Message,
    Segment,
    merges,
    person,
    visit,
)
from carebridge.transitions.models import Encounter, Hl7Message, Transition

# --- A45 move visit information ---------------------------------------------------------------


def _pair(items: list[Segment], index: int) -> Segment | None:
    """The segment of the same MRG group (A45 repeats MRG+PV1, A47 PID+MRG); a message that
    sends fewer of them than MRGs shares the last one."""
    return items[min(index, len(items) - 1)] if items else None


def _checked(message: Message, event: str) -> list[Merge]:
    """The MRG segments, each with what the event needs, before anything is changed."""
    found = merges(message)
    if not found:
        raise Hl7Error(
            f"{event} needs an MRG segment naming the prior patient", "MRG", REQUIRED_MISSING
        )
    for merge in found:
        if not merge.prior_identifiers:
            raise Hl7Error("MRG-1 (prior patient identifiers) is empty", "MRG-1", REQUIRED_MISSING)
        if event == "A45" and not merge.prior_visit:
            raise Hl7Error(
                "MRG-5 (prior visit number) is empty: A45 needs the visit to move",
                "MRG-5",
                REQUIRED_MISSING,
            )
    return found


def _prior(db: Session, merge: Merge, head: Header, facility: str) -> Patient | None:
    """The chart MRG-1 names; identifiers of two charts are an error at MRG-1, not PID-3."""
    try:
        return adt.by_identifiers(db, merge.prior_identifiers, head, facility)
    except Hl7Error as exc:
        raise Hl7Error(exc.message.replace("PID-3", "MRG-1"), "MRG-1", exc.code) from None


def move_visit(
    db: Session, message: Message, head: Header, settings: Settings, now: dt.datetime
) -> adt.Applied:
    """A45: each MRG names a visit (MRG-5) filed on the wrong chart (MRG-1); the visit, its
    transition of care and the HL7 messages about it move to the PID chart. The visit keeps
    its number (renumbering is A50's job)."""
    zone, our_facility = settings.timezone, settings.hl7_facility
    found = _checked(message, "A45")
    pv1s = message.segments("PV1")
    survivor: Patient | None = None
    last: Encounter | None = None
    notes: list[str] = []
    for index, merge in enumerate(found):
        assert merge.prior_visit is not None  # _checked made sure
        number = merge.prior_visit[:80]
        pv1 = _pair(pv1s, index)
        pv1_facility = visit(message, zone, segment=pv1).facility if pv1 is not None else None
        facility = (head.sending_facility or pv1_facility or head.sending_application)[:227]
        stays = list(
            db.scalars(
                select(Encounter)
                .where(Encounter.facility == facility, Encounter.visit_number == number)
                .order_by(Encounter.created_at)
            )
        )
        if not stays:
            notes.append(f"no visit {number} at {facility} on file: nothing to move")
            continue
        prior = _prior(db, merge, head, our_facility)
        # Registered only now: a message about a visit we never had registers nobody.
        if survivor is None:
            who = person(message, zone)
            survivor = adt.find_or_register(
                db, who, head, update=False, now=now, facility=our_facility
            )
        moving = [e for e in stays if e.patient_id != survivor.id]
        if not moving:
            notes.append(f"visit {number} is already on chart {survivor.mrn}: nothing to move")
            last = stays[-1]
            continue
        for stay in moving:
            # Only from the chart MRG-1 names: a visit on some third chart means the sender
            # and we disagree about whose it is, and a person has to look.
            if prior is None or stay.patient_id != prior.id:
                holder = db.get(Patient, stay.patient_id)
                said = _shown(merge.prior_identifiers[0])
                raise Hl7Error(
                    f"Visit {number} at {facility} is on chart {holder.mrn if holder else '?'},"
                    f" not on the chart MRG-1 {said} names"
                    + ("" if prior is not None else " (no chart holds it)"),
                    "MRG-1",
                    UNKNOWN_KEY,
                )
            _move(db, stay, prior, survivor, head)
            last = stay
        notes.append(f"moved visit {number} from {prior.mrn if prior else '?'} to {survivor.mrn}")
    db.flush()
    return adt.Applied(
        patient_id=survivor.id if survivor else None,
        encounter_id=last.id if last else None,
        note="; ".join(notes) or None,
    )


def _move(db: Session, stay: Encounter, prior: Patient, survivor: Patient, head: Header) -> None:
    """One visit, with what hangs off it, from ``prior`` to ``survivor``, audited on both
    charts so each chart's history says where the visit went."""
    why = (
        f"HL7 A45 {head.control_id}: visit {stay.visit_number} moved from chart {prior.mrn} "
        f"to {survivor.mrn}"
    )[:500]
    stay.patient_id = survivor.id
    moved: list[uuid.UUID] = []
    for transition in db.scalars(select(Transition).where(Transition.encounter_id == stay.id)):
        if transition.patient_id == prior.id:
            transition.patient_id = survivor.id
            moved.append(transition.id)
    # The messages about this visit follow it, as an A40 merge takes them along; the
    # messages stay as received, only the chart they are filed under changes.
    db.execute(
        update(Hl7Message)
        .where(Hl7Message.encounter_id == stay.id, Hl7Message.patient_id == prior.id)
        .values(patient_id=survivor.id)
    )
    for chart in (prior, survivor):
        record(
            db,
            adt.SYSTEM,
            Action.UPDATE,
            entity_type="Encounter",
            entity_id=stay.id,
            patient_id=chart.id,
            reason=why,
        )
        for transition_id in moved:
            record(
                db,
                adt.SYSTEM,
                Action.UPDATE,
                entity_type="Transition",
                entity_id=transition_id,
                patient_id=chart.id,
                reason=why,
            )


# --- A47 change patient identifier list -------------------------------------------------------


def change_identifiers(
    db: Session, message: Message, head: Header, settings: Settings, now: dt.datetime
) -> adt.Applied:
    """A47: each PID/MRG pair says the chart holding the MRG-1 identifier should hold the
    PID-3 identifier instead. The wrong one is kept, inactive (identifiers are never
    deleted); the right one is added. Our own MRN is the chart's number and never changes."""
    zone, our_facility = settings.timezone, settings.hl7_facility
    found = _checked(message, "A47")
    pids = message.segments("PID")
    chart: Patient | None = None
    notes: list[str] = []
    for index, merge in enumerate(found):
        who = person(message, zone, segment=_pair(pids, index))
        holder = _prior(db, merge, head, our_facility)
        if holder is None:
            # A repeat (or a replay) finds the wrong identifier retired already.
            right = _person_ids(who.identifiers)
            done = adt.by_identifiers(db, right, head, our_facility)
            notes.append(
                f"no chart holds {_shown(merge.prior_identifiers[0])}: no identifier to change"
                + (f" (chart {done.mrn} holds {_shown(right[0])})" if done else "")
            )
            continue
        chart = holder
        notes.extend(_replace(db, chart, merge.prior_identifiers, who.identifiers, head, settings))
    db.flush()
    return adt.Applied(patient_id=chart.id if chart else None, note="; ".join(notes) or None)


def _shown(ident: Ident) -> str:
    """An identifier as the stored note shows it: a social security number by its last
    four digits only."""
    if ident.type in ("SS", "SB"):
        return f"SSN ending {ident.value[-4:]}"
    return ident.value


def _person_ids(idents: list[Ident]) -> list[Ident]:
    return [i for i in idents if i.type not in adt.NOT_PERSON_IDS]


def _key(ident: Ident, head: Header) -> tuple[str, str]:
    """How an identifier from the feed is stored (system, value), as ``adt`` stores it."""
    return adt._system(ident, head), ident.value[:80]


def _replace(
    db: Session,
    chart: Patient,
    wrong: list[Ident],
    right: list[Ident],
    head: Header,
    settings: Settings,
) -> list[str]:
    facility = settings.hl7_facility
    notes: list[str] = []
    right = _person_ids(right)
    if not right:
        raise Hl7Error(
            "PID-3 has no patient identifier to replace MRG-1 with", "PID-3", REQUIRED_MISSING
        )
    right_keys = {_key(i, head) for i in right if not adt._ours(i, facility)}
    shown = {_key(i, head): _shown(i) for i in (*wrong, *right)}
    # Checked before anything changes: the right identifier on another chart means two
    # charts are one person, which is a merge, not an identifier change.
    other = adt.by_identifiers(db, right, head, facility)
    if other is not None and other.id != chart.id:
        raise Hl7Error(
            f"PID-3 {_shown(right[0])} is already on chart {other.mrn}; the identifier cannot move"
            f" to chart {chart.mrn}. If they are the same person, send A40 to merge the charts",
            "PID-3",
            DUPLICATE_KEY,
        )
    # Any status: identifiers stay unique when inactive, so a retired one blocks it too.
    found: list[Identifier] = []
    if right_keys:
        found = list(
            db.scalars(
                select(Identifier).where(
                    Identifier.system.in_(sorted({k[0] for k in right_keys})),
                    Identifier.value.in_(sorted({k[1] for k in right_keys})),
                )
            )
        )
    rows = {(row.system, row.value): row for row in found}
    for key in sorted(right_keys):
        row = rows.get(key)
        if row is not None and row.patient_id != chart.id:
            owner = db.get(Patient, row.patient_id)
            raise Hl7Error(
                f"PID-3 {shown[key]} was used on chart {owner.mrn if owner else '?'}; "
                f"it cannot be given to chart {chart.mrn}. If they are the same person, send "
                "A40 to merge the charts",
                "PID-3",
                DUPLICATE_KEY,
            )
    retired_types: dict[str, str] = {}
    for ident in _person_ids(wrong):
        if adt._ours(ident, facility):
            notes.append(f"MRN {chart.mrn} is ours and was left alone")
            continue
        key = _key(ident, head)
        if key in right_keys:
            continue  # named as both wrong and right: nothing to change
        row = next(
            (r for r in chart.identifiers if (r.system, r.value) == key and r.status == "active"),
            None,
        )
        if row is None:
            continue  # the chart was found by another MRG-1 identifier
        row.status = "inactive"
        retired_types[row.system] = row.type
        _audit(db, chart, f"identifier {row.type} made inactive", head)
        notes.append(f"{shown[key]} made inactive on chart {chart.mrn}")
    added: set[tuple[str, str]] = set()
    for ident in right:
        if adt._ours(ident, facility):
            if ident.value != chart.mrn:
                notes.append(f"MRN {chart.mrn} is ours and was left alone")
            continue
        key = _key(ident, head)
        row = rows.get(key)
        if key in added:
            continue  # PID-3 repeated it
        if row is not None:  # on this chart already (checked above)
            if row.status != "active":
                row.status = "active"
                _audit(db, chart, f"identifier {row.type} made active again", head)
                notes.append(f"{shown[key]} made active again on chart {chart.mrn}")
            continue
        kind = adt.ID_TYPES.get(ident.type) or retired_types.get(key[0]) or "MR"
        try:
            patients.add_identifier(
                db,
                adt.SYSTEM,
                chart.id,
                IdentifierIn(
                    type=kind,
                    system=key[0],
                    value=key[1],
                    assigner=(ident.authority or head.sending_facility or None),
                ),
            )
        except AppError as exc:
            raise Hl7Error(f"PID-3: {exc.detail}", "PID-3", INTERNAL_ERROR) from None
        added.add(key)
        notes.append(f"{shown[key]} added to chart {chart.mrn}")
    db.flush()
    return list(dict.fromkeys(notes))


def _audit(db: Session, chart: Patient, what: str, head: Header) -> None:
    # The reason names the type, not the value: an identifier may be a social security number.
    record(
        db,
        adt.SYSTEM,
        Action.UPDATE,
        entity_type="Patient",
        entity_id=chart.id,
        patient_id=chart.id,
        reason=f"{what}: HL7 A47 {head.control_id}"[:500],
    )
