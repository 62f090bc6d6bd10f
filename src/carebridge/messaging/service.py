"""The outbox: enqueue a message in the caller's transaction; claim due messages; screen,
transmit and record each delivery attempt with what the far side really answered.

A worker job (``messaging.worker``) runs the steps in three short units of work around the
network call, so no database lock is held while a mail server or an SMS gateway answers:

1. ``claim`` takes due rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite serialises
   writers) and leases them ("sending" until ``next_attempt_at``, so the rows of a worker that
   died come back when the lease runs out);
2. ``screen`` checks, just before sending, that the lease is still ours, that the patient
   still consents to the channel and that it is not quiet hours at the clinic;
3. ``transmit`` hands the message to the channel's sender (no database);
4. ``record_attempt`` writes the attempt and the message's new state: sent (with the far
   side's id), or retried with exponential backoff, or failed after
   ``settings.delivery_max_attempts`` with a task for the coordinators.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carebridge.lib.time import utcnow
from carebridge.messaging.models import DeliveryAttempt, OutboxMessage
from carebridge.patients import service as patients
from carebridge.security.audit import Actor
from carebridge.settings import Settings
from carebridge.tasks import service as tasks

CHANNELS = ("email", "sms")
LEASE = dt.timedelta(minutes=5)
FIRST_RETRY = dt.timedelta(minutes=1)
MAX_RETRY = dt.timedelta(hours=1)
WORKER = Actor.system("worker")
log = logging.getLogger("carebridge.messaging")


class DeliveryError(Exception):
    """The far side refused the message or could not be reached; ``str()`` says what it
    answered (kept as the attempt's detail and the message's ``last_error``)."""


@dataclass(frozen=True)
class Accepted:
    """The far side took the message: its id for it (SMTP queue id, gateway id) and reply."""

    provider_id: str
    detail: str


Sender = Callable[[OutboxMessage], Accepted]


# --- enqueue ---------------------------------------------------------------------------


def enqueue(
    db: Session,
    *,
    channel: str,
    recipient: str,
    subject: str | None,
    body: str,
    attachments: Sequence[Mapping[str, Any]] = (),
    patient_id: uuid.UUID | None = None,
    focus_type: str | None = None,
    focus_id: uuid.UUID | None = None,
    not_before: dt.datetime | None = None,
    dedupe_key: str | None = None,
) -> OutboxMessage:
    """Write a message into the outbox in the caller's transaction; it goes out after the
    commit, not before ``not_before``. With a ``dedupe_key`` a message is enqueued once:
    enqueueing it again returns the existing row.

    ``attachments`` are ``{"filename", "content_type", "content"}`` with text content."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}; use one of {', '.join(CHANNELS)}")
    if dedupe_key is not None:
        existing = _by_key(db, dedupe_key)
        if existing is not None:
            return existing
    when = not_before or utcnow()
    message = OutboxMessage(
        channel=channel,
        recipient=recipient,
        subject=subject,
        body=body,
        attachments=[dict(a) for a in attachments],
        patient_id=patient_id,
        focus_type=focus_type,
        focus_id=focus_id,
        status="pending",
        not_before=when,
        next_attempt_at=when,
        attempts=0,
        dedupe_key=dedupe_key,
    )
    try:
        with db.begin_nested():  # a concurrent enqueue of the same key wins; take its row
            db.add(message)
            db.flush()
    except IntegrityError:
        existing = _by_key(db, dedupe_key) if dedupe_key is not None else None
        if existing is None:
            raise
        return existing
    return message


def _by_key(db: Session, key: str) -> OutboxMessage | None:
    return db.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == key))


def cancel(db: Session, message_ids: Collection[uuid.UUID], reason: str) -> list[uuid.UUID]:
    """Cancel those of these messages not yet delivered (pending, or held by a worker that
    has not sent it yet: ``screen`` sees the change). Returns the ids cancelled."""
    if not message_ids:
        return []
    cancelled = list(
        db.scalars(
            select(OutboxMessage.id).where(
                OutboxMessage.id.in_(list(message_ids)),
                OutboxMessage.status.in_(("pending", "sending")),
            )
        )
    )
    if cancelled:
        db.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id.in_(cancelled),
                OutboxMessage.status.in_(("pending", "sending")),
            )
            .values(status="cancelled", last_error=reason[:500])
            .execution_options(synchronize_session="fetch")
        )
    return cancelled


# --- claim -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """A message a worker holds until ``lease`` (also the token that proves it still does)."""

    message_id: uuid.UUID
    lease: dt.datetime


def claim(
    db: Session,
    worker_id: str,
    now: dt.datetime,
    limit: int,
    *,
    only: Collection[uuid.UUID] | None = None,
) -> list[Claim]:
    """Lease up to ``limit`` due messages: pending ones whose time has come and "sending"
    ones whose lease ran out (their worker died). On PostgreSQL the rows are locked with
    ``FOR UPDATE SKIP LOCKED``, so concurrent workers take disjoint sets; on SQLite the
    caller's write transaction holds the database's single write lock. The caller commits
    at once (``messaging.worker`` does) so other workers see the lease.

    ``only`` restricts the claim to some messages ("send these now"; tests)."""
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.status.in_(("pending", "sending")),
            OutboxMessage.next_attempt_at <= now,
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    if only is not None:
        query = query.where(OutboxMessage.id.in_(list(only)))
    if db.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(db.scalars(query))
    lease = now + LEASE
    claims = []
    for row in rows:
        row.status = "sending"
        row.next_attempt_at = lease
        claims.append(Claim(row.id, lease))
    db.flush()
    if claims:  # who holds a lease is in the log; the table has no column for it
        log.debug("worker %s leased %d message(s) until %s", worker_id, len(claims), lease)
    return claims


# --- screen ----------------------------------------------------------------------------


def quiet_until(settings: Settings, now: dt.datetime) -> dt.datetime | None:
    """When the clinic's quiet hours end if ``now`` is inside them, else None. Quiet hours
    run from ``quiet_hours_start`` to ``quiet_hours_end`` o'clock in ``settings.timezone``
    (across midnight when start > end; none when start == end)."""
    start, end = settings.quiet_hours_start, settings.quiet_hours_end
    if start == end:
        return None
    zone = ZoneInfo(settings.timezone)
    local = now.astimezone(zone)
    hour = local.hour
    inside = (hour >= start or hour < end) if start > end else (start <= hour < end)
    if not inside:
        return None
    day = local.date() if hour < end else local.date() + dt.timedelta(days=1)
    resume = dt.datetime.combine(day, dt.time(end), zone)
    return resume.astimezone(dt.UTC)


def screen(
    db: Session, settings: Settings, claimed: Claim, now: dt.datetime
) -> OutboxMessage | None:
    """Just before sending: the message if it may go now (with its lease renewed), else None
    when it was cancelled or taken over meanwhile, when the patient no longer consents to
    the channel (cancelled, not sent) or when it is quiet hours (deferred to their end).
    A message held back leaves a "skipped" attempt saying why."""
    message = db.get(OutboxMessage, claimed.message_id, populate_existing=True)
    if message is None or message.status != "sending" or message.next_attempt_at != claimed.lease:
        return None
    if message.patient_id is not None:
        today = now.astimezone(ZoneInfo(settings.timezone)).date()
        if not patients.may_contact(db, message.patient_id, message.channel, today):
            reason = f"not sent: the patient does not consent to {message.channel} on {today}"
            message.status = "cancelled"
            message.last_error = reason
            _attempt(db, message, now, "skipped", reason)
            return None
        resume = quiet_until(settings, now)
        if resume is not None:
            message.status = "pending"
            message.next_attempt_at = resume
            _attempt(
                db,
                message,
                now,
                "skipped",
                f"deferred: quiet hours {settings.quiet_hours_start:02d}:00-"
                f"{settings.quiet_hours_end:02d}:00 ({settings.timezone}) until "
                f"{resume.isoformat()}",
            )
            return None
    message.next_attempt_at = now + LEASE
    db.flush()
    return message


# --- transmit and record ---------------------------------------------------------------


def transmit(message: OutboxMessage, senders: Mapping[str, Sender]) -> Accepted:
    """Hand the message to its channel's sender. Anything that goes wrong is a
    :class:`DeliveryError` carrying what happened (so it is recorded, never lost)."""
    sender = senders.get(message.channel)
    if sender is None:
        raise DeliveryError(f"no sender for channel {message.channel!r}")
    try:
        return sender(message)
    except DeliveryError:
        raise
    except Exception as exc:  # a bug or an unforeseen library error: record it all the same
        raise DeliveryError(f"unexpected error: {type(exc).__name__}: {exc}") from exc


def backoff(attempts: int) -> dt.timedelta:
    """Wait before retry number ``attempts`` + 1: 1, 2, 4, 8 ... minutes, at most an hour."""
    wait: dt.timedelta = FIRST_RETRY * (2 ** min(max(attempts - 1, 0), 16))
    return min(wait, MAX_RETRY)


def record_attempt(
    db: Session,
    settings: Settings,
    message_id: uuid.UUID,
    result: Accepted | DeliveryError,
    now: dt.datetime,
) -> OutboxMessage:
    """Record one delivery attempt and what follows from it. Accepted: sent, with the far
    side's id. Refused or unreachable: retried after :func:`backoff`, and after
    ``settings.delivery_max_attempts`` failed, with a task for the coordinators."""
    message = db.get(OutboxMessage, message_id, populate_existing=True)
    if message is None:
        raise LookupError(f"no outbox message {message_id}")
    message.attempts += 1
    if isinstance(result, Accepted):
        message.status = "sent"
        message.sent_at = now
        message.provider_id = result.provider_id[:200]
        message.last_error = None
        _attempt(db, message, now, "accepted", result.detail)
        return message
    error = str(result) or type(result).__name__
    message.last_error = error
    _attempt(db, message, now, "failed", error)
    if message.attempts >= settings.delivery_max_attempts:
        message.status = "failed"
        db.flush()
        _raise_task(db, message)
    else:
        message.status = "pending"
        message.next_attempt_at = now + backoff(message.attempts)
        db.flush()
    return message


def _attempt(
    db: Session, message: OutboxMessage, now: dt.datetime, outcome: str, detail: str
) -> None:
    db.add(DeliveryAttempt(message_id=message.id, attempted_at=now, outcome=outcome, detail=detail))
    db.flush()


def _raise_task(db: Session, message: OutboxMessage) -> None:
    what = "Email" if message.channel == "email" else "Text message"
    tasks.create(
        db,
        WORKER,
        title=f"{what} to {message.recipient} could not be delivered"[:200],
        description=(
            f"Gave up after {message.attempts} attempts. Last error: {message.last_error}\n"
            f"Subject: {message.subject or '(none)'}. Check the address or number, or reach "
            "the patient another way."
        ),
        patient_id=message.patient_id,
        queue="coordinators",
        kind="delivery",
        focus_type="OutboxMessage",
        focus_id=message.id,
        dedupe_key=f"delivery-failed:{message.id}",
    )


def attempts(db: Session, message_id: uuid.UUID) -> list[DeliveryAttempt]:
    return list(
        db.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.message_id == message_id)
            .order_by(DeliveryAttempt.id)
        )
    )
