"""The HL7 inbox: every message is applied inside a savepoint, kept as received with its
outcome, and answered.

``receive`` applies one message; the caller (MLLP listener, HTTP endpoint, file import)
commits and only then sends ``outcome.ack``, so an acknowledged message is never lost. Inside
``batch`` (the listener's group commit) the messages' rows and audit rows are written together
when the batch ends. A message whose control id (MSH-10) was already applied for the same
sender (MSH-3/MSH-4) is acknowledged AA and not applied again (``duplicate``). One we cannot
take is answered AE or AR, kept as ``rejected`` with what is wrong and where: the dead-letter
list, from which a person replays it (corrected or not) or dismisses it with a reason."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from carebridge.lib.errors import Conflict, NotFound, ValidationFailed
from carebridge.lib.ids import new_id
from carebridge.lib.time import utcnow
from carebridge.security import audit
from carebridge.security.audit import Action, Actor, record
from carebridge.settings import Settings
from carebridge.transitions import ack, adt, pending
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


@contextmanager
def batch(db: Session) -> Iterator[None]:
    """Messages received inside are written in one INSERT, and their audit rows in another,
    when the block ends: a listener applying hundreds of messages per transaction pays for the
    rows once. Each message is still complete on its own (stored with its outcome) and
    nothing is written when the block fails, so the caller rolls back; the caller commits
    after the block and only then sends the ACKs."""
    if pending.of(db) is not None:  # nested: the outer block writes
        yield
        return
    held = pending.Pending()
    db.info[pending.KEY] = held
    try:
        with audit.deferred(db):
            yield
            held.write(db)
    finally:
        db.info.pop(pending.KEY, None)


def store(
    db: Session,
    raw: str,
    *,
    source: str,
    peer: str | None,
    now: dt.datetime,
) -> Hl7Message:
    """Keep the message exactly as received, before anything else (flushed, not committed):
    the path of replays, one at a time."""
    message = Hl7Message(
        received_at=now, source=source[:8], peer=(peer or None) and peer[:200], raw=raw
    )
    db.add(message)
    db.flush()
    return message


def _described(head: Header) -> dict[str, Any]:
    kind = "^".join(p for p in (head.message_type, head.event) if p)
    return {
        "control_id": head.control_id[:199] or None,
        "sending_application": head.sending_application[:227] or None,
        "sending_facility": head.sending_facility[:227] or None,
        "message_type": kind[:20] or None,
        "event": head.event[:3] or None,
        "version": head.version[:12] or None,
    }


_UNDESCRIBED = dict.fromkeys(
    ("control_id", "sending_application", "sending_facility", "message_type", "event", "version")
)


def _finish(
    db: Session,
    message_id: uuid.UUID,
    settings: Settings,
    now: dt.datetime,
    head: Header | None,
    *,
    status: str,
    code: str,
    error: Hl7Error | None = None,
    applied: adt.Applied | None = None,
) -> tuple[dict[str, Any], Outcome]:
    """The message's columns after processing (header, outcome) and its answer; audited."""
    fields: dict[str, Any] = _described(head) if head is not None else dict(_UNDESCRIBED)
    fields |= {
        "status": status,
        "ack_code": code,
        "processed_at": now,
        "error": error.message if error else None,
        "error_location": (error.location or "")[:40] or None if error else None,
        "patient_id": applied.patient_id if applied else None,
        "encounter_id": applied.encounter_id if applied else None,
        "resolution": applied.note if applied else None,
    }
    record(
        db,
        adt.SYSTEM,
        Action.CREATE,
        entity_type="Hl7Message",
        entity_id=message_id,
        patient_id=fields["patient_id"],
        reason=f"{fields['message_type'] or 'HL7'} {fields['control_id'] or ''}: {status}"[:500],
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
    outcome = Outcome(
        message_id=message_id,
        code=code,
        ack=text,
        status=status,
        error=error.message if error else None,
    )
    return fields, outcome


# The control id is claimed with an insert that skips a claim already made (by an earlier
# transaction, or earlier in this one): no error, no rollback, for a repeated message. On
# PostgreSQL a claim still uncommitted in another transaction makes this one wait for it.
def _claim_statement(insert_for: Any) -> Any:
    return (
        insert_for(AppliedControlId)
        .values(
            sender=bindparam("sender"),
            control_id=bindparam("control_id"),
            message_id=bindparam("message_id"),
        )
        .on_conflict_do_nothing()
        .returning(AppliedControlId.message_id)
    )


_CLAIM = {"postgresql": _claim_statement(pg_insert), "sqlite": _claim_statement(sqlite_insert)}
_EARLIER = select(AppliedControlId.message_id).where(
    AppliedControlId.sender == bindparam("sender"),
    AppliedControlId.control_id == bindparam("control_id"),
)
_FIRST = select(Hl7Message.patient_id, Hl7Message.encounter_id).where(
    Hl7Message.id == bindparam("message_id")
)


@contextmanager
def _savepoint(db: Session) -> Iterator[None]:
    """What one message changes, undone alone when it fails. Lighter than
    ``Session.begin_nested`` (no snapshot of the session, no statement compiled each time),
    which a listener pays for every message. On failure the session drops the objects the
    message added and forgets the changes it made in memory; when it had already written
    some (a flush), every object is expired, since some may describe rows just rolled back."""
    db.flush()
    conn = db.connection()
    conn.exec_driver_sql("SAVEPOINT hl7_message")
    held = audit.held(db)
    mark = held.mark() if held else 0
    in_flight = pending.of(db)
    flushes = in_flight.flushes if in_flight else -1
    try:
        yield
        db.flush()
    except BaseException:
        conn.exec_driver_sql("ROLLBACK TO SAVEPOINT hl7_message")
        conn.exec_driver_sql("RELEASE SAVEPOINT hl7_message")
        for obj in list(db.new):
            db.expunge(obj)
        if in_flight is None or in_flight.flushes != flushes:
            db.expire_all()
            if in_flight is not None:
                in_flight.kept.clear()
        else:
            for obj in list(db.dirty):
                db.expire(obj)
        if held:
            held.undo(mark)
        raise
    conn.exec_driver_sql("RELEASE SAVEPOINT hl7_message")


class _Duplicate(Exception):
    """The message's control id was claimed before: nothing to apply."""

    def __init__(self, first_id: uuid.UUID | None) -> None:
        self.first_id = first_id


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
    with batch(db):
        in_flight = pending.of(db)
        assert in_flight is not None
        in_flight.current = message.raw
        read = _read(message.raw, settings.timezone)
        fields, outcome = _process(db, message.id, settings, now, read)
    for name, value in fields.items():
        setattr(message, name, value)
    if outcome.status == "applied" and message.replay_of_id is not None:
        original = db.get(Hl7Message, message.replay_of_id)
        if original is not None and original.status == "rejected":
            original.status = "resolved"
            original.resolved_at = now
            original.resolution = f"replayed as message {message.id}"
    return outcome


def _process(
    db: Session,
    message_id: uuid.UUID,
    settings: Settings,
    now: dt.datetime,
    read: tuple[Message, Header] | Hl7Error,
) -> tuple[dict[str, Any], Outcome]:
    if isinstance(read, Hl7Error):
        return _finish(
            db, message_id, settings, now, None, status="rejected", code="AR", error=read
        )
    parsed, head = read
    try:
        check_header(head)
    except Hl7Error as exc:
        return _finish(
            db, message_id, settings, now, head, status="rejected", code=exc.ack_code, error=exc
        )
    key = {"sender": head.sender[:460], "control_id": head.control_id[:199]}
    conn = db.connection()
    in_flight = pending.of(db)
    if in_flight is not None and head.event in adt.REFILING_EVENTS:
        in_flight.write(db)  # before the savepoint: a failed refiling must not undo them
    try:
        with _savepoint(db):
            claim = conn.execute(_CLAIM[conn.dialect.name], {**key, "message_id": message_id})
            if claim.first() is None:  # nothing inserted: claimed before
                raise _Duplicate(conn.execute(_EARLIER, key).scalar())
            applied = adt.apply(db, parsed, head, settings, now)
    except _Duplicate as duplicate:
        return _duplicate(db, message_id, settings, now, head, duplicate.first_id)
    except Hl7Error as exc:
        return _finish(
            db, message_id, settings, now, head, status="rejected", code=exc.ack_code, error=exc
        )
    except Exception as exc:  # a defect must not lose the message: answer AE, keep it
        log.exception("HL7 message %s could not be applied", message_id)
        error = Hl7Error(
            f"Internal error while applying the message ({type(exc).__name__}); it is kept "
            "and can be replayed",
            None,
            INTERNAL_ERROR,
        )
        return _finish(
            db, message_id, settings, now, head, status="rejected", code="AE", error=error
        )
    return _finish(
        db, message_id, settings, now, head, status="applied", code="AA", applied=applied
    )


def _duplicate(
    db: Session,
    message_id: uuid.UUID,
    settings: Settings,
    now: dt.datetime,
    head: Header,
    first_id: uuid.UUID | None,
) -> tuple[dict[str, Any], Outcome]:
    in_flight = pending.of(db)
    first: Any = None
    if first_id is not None and in_flight is not None:  # applied earlier in this batch
        row = in_flight.by_id.get(first_id)
        first = row and (row["patient_id"], row["encounter_id"])
    if first is None and first_id is not None:
        first = db.connection().execute(_FIRST, {"message_id": first_id}).first()
    note = adt.Applied(
        patient_id=first[0] if first else None,
        encounter_id=first[1] if first else None,
        note=f"control id {head.control_id} was applied before"
        + (f" (message {first_id})" if first_id else ""),
    )
    return _finish(db, message_id, settings, now, head, status="duplicate", code="AA", applied=note)


def receive(
    db: Session,
    raw: str,
    *,
    source: str,
    peer: str | None,
    settings: Settings,
    now: dt.datetime | None = None,
) -> Outcome:
    """Store and process one message. The caller commits, then sends ``outcome.ack``. Inside
    ``batch`` the message's row is written when the batch ends; outside, before returning."""
    in_flight = pending.of(db)
    if in_flight is None:
        with batch(db):
            return receive(db, raw, source=source, peer=peer, settings=settings, now=now)
    now = now or utcnow()
    message_id = new_id()
    in_flight.current = raw
    try:
        fields, outcome = _process(db, message_id, settings, now, _read(raw, settings.timezone))
    finally:
        in_flight.current = None
    row = {
        "id": message_id,
        "received_at": now,
        "source": source[:8],
        "peer": (peer or None) and peer[:200],
        "raw": raw,
        "replay_of_id": None,
        "resolved_at": None,
        "resolved_by": None,
        **fields,
    }
    in_flight.add(row)
    return outcome


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
