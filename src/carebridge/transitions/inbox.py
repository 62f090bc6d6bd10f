"""The HL7 inbox: every message is stored raw first, then applied inside a savepoint and
answered.

``receive`` = ``store`` + ``process``; the caller (MLLP listener, HTTP endpoint, file import)
commits and only then sends ``outcome.ack``, so an acknowledged message is never lost. A
message whose control id (MSH-10) was already applied for the same sender (MSH-3/MSH-4) is
acknowledged AA and not applied again (``duplicate``). One we cannot take is answered AE or AR,
kept as ``rejected`` with what is wrong and where: the dead-letter list, from which a person
replays it (corrected or not) or dismisses it with a reason.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carebridge.lib.errors import Conflict, NotFound, ValidationFailed
from carebridge.lib.time import utcnow
from carebridge.security.audit import Action, Actor, record
from carebridge.settings import Settings
from carebridge.transitions import ack, adt
from carebridge.transitions.hl7 import (
    INTERNAL_ERROR,
    SEGMENT_SEQUENCE,
    Header,
    Hl7Error,
    Message,
    check_header,
    header,
)
from carebridge.transitions.models import AppliedControlId, Hl7Message

log = logging.getLogger(__name__)
STATUSES = ("received", "applied", "duplicate", "rejected", "resolved")


@dataclass(frozen=True)
class Outcome:
    """How a message was answered: ``code`` AA, AE or AR; ``ack`` the full ACK message
    (segments joined by carriage returns); ``status`` the stored message's status."""

    message_id: uuid.UUID
    code: str
    ack: str
    status: str
    error: str | None


class Hl7MessageRead(BaseModel):
    """A stored message as the interface screens and the API show it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    received_at: dt.datetime
    source: str
    peer: str | None
    control_id: str | None
    sending_application: str | None
    sending_facility: str | None
    message_type: str | None
    event: str | None
    version: str | None
    status: str
    ack_code: str | None
    error: str | None
    error_location: str | None
    processed_at: dt.datetime | None
    patient_id: uuid.UUID | None
    encounter_id: uuid.UUID | None
    replay_of_id: uuid.UUID | None
    resolved_at: dt.datetime | None
    resolution: str | None
    raw: str


# --- receiving --------------------------------------------------------------------------------


def store(
    db: Session,
    raw: str,
    *,
    source: str,
    peer: str | None,
    now: dt.datetime,
    head: Header | None = None,
) -> Hl7Message:
    """Keep the message exactly as received, before anything else (flushed, not committed);
    with its header already read, described too, in the same INSERT."""
    message = Hl7Message(
        received_at=now, source=source[:8], peer=(peer or None) and peer[:200], raw=raw
    )
    if head is not None:
        _describe(message, head)
    db.add(message)
    db.flush()
    return message


def _describe(message: Hl7Message, head: Header) -> None:
    message.control_id = head.control_id[:199] or None
    message.sending_application = head.sending_application[:227] or None
    message.sending_facility = head.sending_facility[:227] or None
    kind = "^".join(p for p in (head.message_type, head.event) if p)
    message.message_type = kind[:20] or None
    message.event = head.event[:3] or None
    message.version = head.version[:12] or None


def _finish(
    db: Session,
    message: Hl7Message,
    settings: Settings,
    now: dt.datetime,
    head: Header | None,
    *,
    status: str,
    code: str,
    error: Hl7Error | None = None,
    applied: adt.Applied | None = None,
) -> Outcome:
    message.status = status
    message.ack_code = code
    message.processed_at = now
    message.error = error.message if error else None
    message.error_location = (
        (error.location or None) and (error.location or "")[:40] if error else None
    )
    if applied is not None:
        message.patient_id = applied.patient_id
        message.encounter_id = applied.encounter_id
        message.resolution = applied.note
    if status == "applied" and message.replay_of_id is not None:
        original = db.get(Hl7Message, message.replay_of_id)
        if original is not None and original.status == "rejected":
            original.status = "resolved"
            original.resolved_at = now
            original.resolution = f"replayed as message {message.id}"
    record(
        db,
        adt.SYSTEM,
        Action.CREATE,
        entity_type="Hl7Message",
        entity_id=message.id,
        patient_id=message.patient_id,
        reason=f"{message.message_type or 'HL7'} {message.control_id or ''}: {status}"[:500],
    )
    text = ack.build(
        code,
        application=settings.hl7_application,
        facility=settings.hl7_facility,
        head=head,
        error=error.message if error else None,
        location=error.location if error else None,
        error_code=error.code if error else None,
        now=now,
    )
    return Outcome(
        message_id=message.id,
        code=code,
        ack=text,
        status=status,
        error=error.message if error else None,
    )


# Core statements for the control-id check: a row per message, never read as an object.
_EARLIER = select(AppliedControlId.message_id).where(
    AppliedControlId.sender == bindparam("sender"),
    AppliedControlId.control_id == bindparam("control_id"),
)
_APPLIED = insert(AppliedControlId).values(
    sender=bindparam("sender"),
    control_id=bindparam("control_id"),
    message_id=bindparam("message_id"),
)


def _read(raw: str, zone: str) -> tuple[Message, Header] | Hl7Error:
    """The message parsed and its header read, or why it cannot be."""
    try:
        parsed = Message(raw)
        return parsed, header(parsed, zone)
    except Hl7Error as exc:
        return exc


def process(db: Session, message: Hl7Message, settings: Settings, now: dt.datetime) -> Outcome:
    """Apply a stored message and answer it. Never raises for bad input: whatever is wrong
    ends in a rejected message and an AE/AR answer, with nothing half-applied."""
    return _process(db, message, settings, now, _read(message.raw, settings.timezone))


def _process(
    db: Session,
    message: Hl7Message,
    settings: Settings,
    now: dt.datetime,
    read: tuple[Message, Header] | Hl7Error,
) -> Outcome:
    if isinstance(read, Hl7Error):
        return _finish(db, message, settings, now, None, status="rejected", code="AR", error=read)
    parsed, head = read
    _describe(message, head)  # no UPDATE when ``store`` described it already
    try:
        check_header(head)
    except Hl7Error as exc:
        return _finish(
            db, message, settings, now, head, status="rejected", code=exc.ack_code, error=exc
        )
    sender = head.sender[:460]
    control_id = head.control_id[:199]
    key = {"sender": sender, "control_id": control_id}
    savepoint = db.begin_nested()
    try:  # the primary key recognises a control id applied before, in this very transaction
        db.connection().execute(_APPLIED, {**key, "message_id": message.id})
    except IntegrityError:
        savepoint.rollback()
        earlier = db.connection().execute(_EARLIER, key).first()
        return _duplicate(db, message, settings, now, head, earlier.message_id if earlier else None)
    try:
        applied = adt.apply(db, parsed, head, settings, now)
        db.flush()
        savepoint.commit()
    except Hl7Error as exc:
        savepoint.rollback()
        return _finish(
            db, message, settings, now, head, status="rejected", code=exc.ack_code, error=exc
        )
    except Exception as exc:  # a defect must not lose the message: answer AE, keep it
        savepoint.rollback()
        log.exception("HL7 message %s could not be applied", message.id)
        error = Hl7Error(
            f"Internal error while applying the message ({type(exc).__name__}); it is kept "
            "and can be replayed",
            None,
            INTERNAL_ERROR,
        )
        return _finish(db, message, settings, now, head, status="rejected", code="AE", error=error)
    return _finish(db, message, settings, now, head, status="applied", code="AA", applied=applied)


def _duplicate(
    db: Session,
    message: Hl7Message,
    settings: Settings,
    now: dt.datetime,
    head: Header,
    first_id: uuid.UUID | None,
) -> Outcome:
    first = db.get(Hl7Message, first_id) if first_id else None
    note = adt.Applied(
        patient_id=first.patient_id if first else None,
        encounter_id=first.encounter_id if first else None,
        note=f"control id {head.control_id} was applied before"
        + (f" (message {first.id})" if first else ""),
    )
    return _finish(db, message, settings, now, head, status="duplicate", code="AA", applied=note)


def receive(
    db: Session,
    raw: str,
    *,
    source: str,
    peer: str | None,
    settings: Settings,
    now: dt.datetime | None = None,
) -> Outcome:
    """Store and process one message. The caller commits, then sends ``outcome.ack``."""
    now = now or utcnow()
    read = _read(raw, settings.timezone)
    head = None if isinstance(read, Hl7Error) else read[1]
    message = store(db, raw, source=source, peer=peer, now=now, head=head)
    return _process(db, message, settings, now, read)


def ack_for_garbage(raw: bytes | str, settings: Settings, error: str) -> str:
    """An AR for bytes that are not an HL7 message at all (no usable MSH)."""
    head = None
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    try:
        head = header(Message(text), settings.timezone)
    except Hl7Error:
        head = None
    return ack.build(
        "AR",
        application=settings.hl7_application,
        facility=settings.hl7_facility,
        head=head,
        error=error,
        location="MSH",
        error_code=SEGMENT_SEQUENCE,
    )


# --- the dead-letter list ---------------------------------------------------------------------


def _message(db: Session, message_id: uuid.UUID) -> Hl7Message:
    message = db.get(Hl7Message, message_id)
    if message is None:
        raise NotFound(f"No HL7 message with id {message_id}")
    return message


def _rejected(message: Hl7Message) -> None:
    if message.status != "rejected":
        raise Conflict(
            f"Message {message.control_id or message.id} is {message.status}, not rejected: "
            "only a rejected message can be replayed or dismissed"
        )


def replay(
    db: Session,
    actor: Actor,
    message_id: uuid.UUID,
    corrected_raw: str | None,
    settings: Settings,
) -> Outcome:
    """Process a rejected message again, as sent or corrected, as a new message
    (source ``replay``); the original becomes ``resolved`` when the replay is applied."""
    original = _message(db, message_id)
    _rejected(original)
    raw = corrected_raw if corrected_raw and corrected_raw.strip() else original.raw
    now = utcnow()
    copy = store(db, raw, source="replay", peer=actor.username, now=now)
    copy.replay_of_id = original.id
    outcome = process(db, copy, settings, now)
    if outcome.status == "applied":
        original.resolved_by = actor.user_id
    record(
        db,
        actor,
        Action.UPDATE,
        entity_type="Hl7Message",
        entity_id=original.id,
        patient_id=copy.patient_id or original.patient_id,
        reason=f"replayed{' corrected' if raw != original.raw else ''} as {copy.id}: "
        f"{outcome.code}",
    )
    return outcome


def dismiss(db: Session, actor: Actor, message_id: uuid.UUID, reason: str) -> None:
    """Take a rejected message off the dead-letter list without applying it, saying why."""
    if not reason or not reason.strip():
        raise ValidationFailed(
            "Say why this message is dismissed",
            fields={"reason": "A reason is required to dismiss a message."},
        )
    message = _message(db, message_id)
    _rejected(message)
    message.status = "resolved"
    message.resolved_at = utcnow()
    message.resolved_by = actor.user_id
    message.resolution = f"dismissed: {reason.strip()}"[:2000]
    db.flush()
    record(
        db,
        actor,
        Action.UPDATE,
        entity_type="Hl7Message",
        entity_id=message.id,
        patient_id=message.patient_id,
        reason=message.resolution[:500],
    )


# --- reading ----------------------------------------------------------------------------------


def list_messages(
    db: Session, actor: Actor, *, status: str | None = None, limit: int = 100
) -> Sequence[Hl7MessageRead]:
    """Newest first; ``status=rejected`` is the dead-letter list."""
    if status is not None and status not in STATUSES:
        raise ValidationFailed(
            f"Unknown status {status!r}; use one of {', '.join(STATUSES)}",
            fields={"status": "Unknown status."},
        )
    query = select(Hl7Message).order_by(Hl7Message.received_at.desc()).limit(limit)
    if status is not None:
        query = query.where(Hl7Message.status == status)
    found = [Hl7MessageRead.model_validate(m) for m in db.scalars(query)]
    for patient_id in {m.patient_id for m in found if m.patient_id is not None}:
        record(
            db, actor, Action.READ, entity_type="Hl7Message", patient_id=patient_id,
            reason="interface message list",
        )  # fmt: skip
    return found


def read_message(db: Session, actor: Actor, message_id: uuid.UUID) -> Hl7MessageRead:
    message = _message(db, message_id)
    record(
        db,
        actor,
        Action.READ,
        entity_type="Hl7Message",
        entity_id=message.id,
        patient_id=message.patient_id,
    )
    return Hl7MessageRead.model_validate(message)


# --- files ------------------------------------------------------------------------------------

_BATCH_SEGMENTS = ("FHS", "BHS", "BTS", "FTS")


def split_batch(text: str) -> list[str]:
    """The messages in a file: one or many, with or without FHS/BHS batch wrappers; each
    message starts at an MSH segment."""
    messages: list[list[str]] = []
    for line in text.lstrip("\ufeff").replace("\r\n", "\r").replace("\n", "\r").split("\r"):
        if not line.strip() or line[:3] in _BATCH_SEGMENTS:
            continue
        if line.startswith("MSH") or not messages:
            messages.append([])
        messages[-1].append(line)
    return ["\r".join(segments) for segments in messages]
