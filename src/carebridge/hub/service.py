"""Team messaging use cases: start a thread (to colleagues, optionally about a patient), post
to it, mention colleagues with ``@username`` (which adds them and notifies them), keep each
person's read state, attach small files, list an inbox and a patient's threads.

Access: only participants read a thread. A thread about a patient carries clinical content,
so its participants must be allowed to read that patient's health history
(``PATIENT_READ`` and ``HISTORY_READ``): billing staff hold ``PATIENT_READ`` (to see who a
patient is) but not the history, so they use threads that are not about a patient only.
Nobody who may not read a thread can be written to or mentioned in it: the message is
refused, naming them, and nothing is stored.

Every post is audited (with the patient when there is one), and so is every read of a
patient thread and of its attachments. Services flush and never commit.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from carebridge.hub.models import TeamAttachment, TeamMessage, TeamThread, ThreadParticipant
from carebridge.hub.schemas import (
    AttachmentRead,
    MessageRead,
    ParticipantRead,
    PatientRef,
    Person,
    ReadState,
    ThreadRead,
    ThreadSummary,
)
from carebridge.lib.errors import Conflict, Forbidden, NotFound, ValidationFailed
from carebridge.lib.time import utcnow
from carebridge.patients.models import Patient
from carebridge.security.audit import Action, Actor, record
from carebridge.security.models import User
from carebridge.security.roles import Permission, allows
from carebridge.tasks import notifications

MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
MAX_ATTACHMENTS = 5
INBOX_LIMIT = 200
# "@jchen" or "@m.alvarez", not the middle of an email address ("ana@clinic.org").
MENTION = re.compile(r"(?<![\w.@])@([A-Za-z0-9][A-Za-z0-9_.-]{0,63})")
CONTENT_TYPE = re.compile(r"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+$")


@dataclass(frozen=True)
class NewFile:
    """A file as received from a form or the API, not yet checked."""

    filename: str
    content_type: str
    content: bytes


# --- who may take part ----------------------------------------------------------------------


def may_use(role: str) -> bool:
    return allows(role, Permission.TEAM_MESSAGES)


def may_read_patient(role: str) -> bool:
    """Whether a role may take part in threads about a patient (see the module note)."""
    return allows(role, Permission.PATIENT_READ) and allows(role, Permission.HISTORY_READ)


def _why_not(user: User, about_patient: bool) -> str | None:
    if not user.is_active:
        return f"{user.display_name} (@{user.username}) no longer has an active account"
    if not may_use(user.role):
        return f"{user.display_name} (@{user.username}) does not use team messages"
    if about_patient and not may_read_patient(user.role):
        return (
            f"{user.display_name} (@{user.username}) may not read patient records, so cannot "
            "join a thread about a patient"
        )
    return None


def mentioned(text: str) -> list[str]:
    """The usernames mentioned in ``text`` (each once, lower-case, in order)."""
    found = [m.rstrip(".-").lower() for m in MENTION.findall(text)]
    return list(dict.fromkeys(name for name in found if name))


def _users(db: Session, usernames: Iterable[str]) -> dict[str, User]:
    wanted = {name.lower() for name in usernames}
    if not wanted:
        return {}
    rows = db.scalars(select(User).where(func.lower(User.username).in_(wanted)))
    return {user.username.lower(): user for user in rows}


def _people(
    db: Session, usernames: Sequence[str], field: str, patient_id: uuid.UUID | None
) -> list[User]:
    """The users named, each allowed in the thread; else an error naming who and why."""
    found = _users(db, usernames)
    people: list[User] = []
    for name in dict.fromkeys(n.lower().lstrip("@") for n in usernames):
        user = found.get(name)
        if user is None:
            raise ValidationFailed(
                f"No colleague has the username @{name}; check the spelling. Nothing was sent.",
                fields={field: f"No colleague has the username @{name}."},
            )
        reason = _why_not(user, patient_id is not None)
        if reason is not None:
            raise ValidationFailed(f"{reason}. Nothing was sent.", fields={field: f"{reason}."})
        people.append(user)
    return people


# --- files ----------------------------------------------------------------------------------


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def check_files(files: Sequence[NewFile], limit: int = MAX_ATTACHMENT_BYTES) -> None:
    """Refuse empty, too large or too many files before anything is stored."""
    if len(files) > MAX_ATTACHMENTS:
        raise ValidationFailed(
            f"A message may carry at most {MAX_ATTACHMENTS} files; you sent {len(files)}. "
            "Nothing was sent.",
            fields={"attachment": f"Attach at most {MAX_ATTACHMENTS} files."},
        )
    for file in files:
        if not file.content:
            raise ValidationFailed(
                f"The file “{file.filename}” is empty. Nothing was sent.",
                fields={"attachment": f"“{file.filename}” is empty; choose another file."},
            )
        if len(file.content) > limit:
            words = f"attachments may be at most {_megabytes(limit)} ({limit} bytes)"
            raise ValidationFailed(
                f"The file “{file.filename}” is {_megabytes(len(file.content))}; {words}. "
                "Nothing was sent.",
                fields={"attachment": f"“{file.filename}” is too large: {words}."},
            )


def _content_type(value: str) -> str:
    value = value.split(";")[0].strip().lower()
    return value if CONTENT_TYPE.match(value) and len(value) <= 100 else "application/octet-stream"


def _filename(value: str) -> str:
    name = value.replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"<>|:*?')
    return name[:255] or "attachment"


# --- reading --------------------------------------------------------------------------------


def _thread(db: Session, thread_id: uuid.UUID) -> TeamThread:
    thread = db.get(TeamThread, thread_id)
    if thread is None:
        raise NotFound(f"No message thread with id {thread_id}")
    return thread


def _membership(db: Session, thread_id: uuid.UUID, user_id: uuid.UUID | None) -> ThreadParticipant:
    if user_id is None:
        raise Forbidden("Only people in a thread may read it")
    found = db.get(ThreadParticipant, (thread_id, user_id))
    if found is None:
        raise Forbidden(
            "You are not in this thread; ask someone in it to mention you with @your-username",
            extra={"entity_id": str(thread_id)},
        )
    return found


def _allowed(db: Session, actor: Actor, thread: TeamThread) -> ThreadParticipant:
    """The actor's place in the thread, if they may read it (else Forbidden)."""
    if thread.patient_id is not None and not may_read_patient(actor.role):
        raise Forbidden(
            f"Your role ({actor.role}) may not read threads about a patient",
            extra={"entity_id": str(thread.id), "patient_id": str(thread.patient_id)},
        )
    return _membership(db, thread.id, actor.user_id)


def _person(user: User) -> Person:
    return Person(id=user.id, username=user.username, display_name=user.display_name)


def _patient_ref(patient: Patient | None) -> PatientRef | None:
    if patient is None:
        return None
    return PatientRef(
        id=patient.id, mrn=patient.mrn, name=f"{patient.family_name}, {patient.given_names}"
    )


def _messages(db: Session, thread_id: uuid.UUID) -> list[MessageRead]:
    rows = db.execute(
        select(TeamMessage, User)
        .join(User, User.id == TeamMessage.author_id)
        .where(TeamMessage.thread_id == thread_id)
        .order_by(TeamMessage.seq)
    ).all()
    files: dict[uuid.UUID, list[AttachmentRead]] = {}
    ids = [m.id for m, _ in rows]
    if ids:
        for a in db.execute(
            select(
                TeamAttachment.id,
                TeamAttachment.message_id,
                TeamAttachment.filename,
                TeamAttachment.content_type,
                TeamAttachment.size,
            )
            .where(TeamAttachment.message_id.in_(ids))
            .order_by(TeamAttachment.created_at, TeamAttachment.filename)
        ):
            files.setdefault(a.message_id, []).append(
                AttachmentRead(
                    id=a.id, filename=a.filename, content_type=a.content_type, size=a.size
                )
            )
    return [
        MessageRead(
            id=m.id,
            seq=m.seq,
            author=_person(author),
            text=m.body,
            created_at=m.created_at,
            mentions=mentioned(m.body),
            attachments=files.get(m.id, []),
        )
        for m, author in rows
    ]


def _read(db: Session, thread: TeamThread, me: ThreadParticipant) -> ThreadRead:
    people = db.execute(
        select(ThreadParticipant, User)
        .join(User, User.id == ThreadParticipant.user_id)
        .where(ThreadParticipant.thread_id == thread.id)
        .order_by(ThreadParticipant.added_at, User.display_name)
    ).all()
    return ThreadRead(
        id=thread.id,
        subject=thread.subject,
        patient=_patient_ref(db.get(Patient, thread.patient_id) if thread.patient_id else None),
        created_at=thread.created_at,
        created_by=thread.created_by,
        message_count=thread.message_count,
        unread=max(thread.message_count - me.read_seq, 0),
        participants=[
            ParticipantRead(person=_person(user), joined_as=p.joined_as, read_seq=p.read_seq)
            for p, user in people
        ],
        messages=_messages(db, thread.id),
    )


def get(db: Session, actor: Actor, thread_id: uuid.UUID, *, mark_read: bool = False) -> ThreadRead:
    """A thread with every message; opening it (``mark_read``) marks it read."""
    thread = _thread(db, thread_id)
    me = _allowed(db, actor, thread)
    if mark_read:
        _mark(me, thread)
    if thread.patient_id is not None:
        record(
            db,
            actor,
            Action.READ,
            entity_type="TeamThread",
            entity_id=thread.id,
            patient_id=thread.patient_id,
        )
    return _read(db, thread, me)


def _mark(me: ThreadParticipant, thread: TeamThread) -> None:
    if me.read_seq < thread.message_count:
        me.read_seq = thread.message_count
        me.read_at = utcnow()


def mark_read(db: Session, actor: Actor, thread_id: uuid.UUID) -> ReadState:
    thread = _thread(db, thread_id)
    me = _allowed(db, actor, thread)
    _mark(me, thread)
    db.flush()
    assert actor.user_id is not None  # _allowed refused the system
    return ReadState(
        thread_id=thread.id,
        read_seq=me.read_seq,
        unread=0,
        unread_total=unread_count(db, actor.user_id),
    )


def unread_count(db: Session, user_id: uuid.UUID) -> int:
    """Unread messages across every thread ``user_id`` is in (for the main menu badge).
    Threads about a patient count only for roles that may read them."""
    user = db.get(User, user_id)
    if user is None or not may_use(user.role):
        return 0
    query = (
        select(func.coalesce(func.sum(TeamThread.message_count - ThreadParticipant.read_seq), 0))
        .select_from(ThreadParticipant)
        .join(TeamThread, TeamThread.id == ThreadParticipant.thread_id)
        .where(
            ThreadParticipant.user_id == user_id,
            TeamThread.message_count > ThreadParticipant.read_seq,
        )
    )
    if not may_read_patient(user.role):
        query = query.where(TeamThread.patient_id.is_(None))
    return int(db.scalar(query) or 0)


def inbox(
    db: Session,
    actor: Actor,
    *,
    unread_only: bool = False,
    about_patient: bool | None = None,
    patient_id: uuid.UUID | None = None,
) -> list[ThreadSummary]:
    """The actor's threads, unread ones first, then the latest activity first.
    ``about_patient`` keeps only threads about a patient (True) or about none (False);
    ``patient_id`` only those about that patient. Each patient listed is audited once."""
    if actor.user_id is None:
        return []
    query = (
        select(TeamThread, ThreadParticipant.read_seq, Patient)
        .join(ThreadParticipant, ThreadParticipant.thread_id == TeamThread.id)
        .outerjoin(Patient, Patient.id == TeamThread.patient_id)
        .where(ThreadParticipant.user_id == actor.user_id)
    )
    if patient_id is not None and db.get(Patient, patient_id) is None:
        raise NotFound(f"No patient with id {patient_id}")
    if not may_read_patient(actor.role):
        if patient_id is not None:
            raise Forbidden(
                f"Your role ({actor.role}) may not read threads about a patient",
                extra={"patient_id": str(patient_id)},
            )
        query = query.where(TeamThread.patient_id.is_(None))
    if unread_only:
        query = query.where(TeamThread.message_count > ThreadParticipant.read_seq)
    if about_patient is True:
        query = query.where(TeamThread.patient_id.is_not(None))
    elif about_patient is False:
        query = query.where(TeamThread.patient_id.is_(None))
    if patient_id is not None:
        query = query.where(TeamThread.patient_id == patient_id)
    unread_first = (TeamThread.message_count > ThreadParticipant.read_seq).desc()
    rows = db.execute(
        query.order_by(unread_first, TeamThread.last_message_at.desc(), TeamThread.id).limit(
            INBOX_LIMIT
        )
    ).all()
    thread_ids = [t.id for t, _, _ in rows]
    names: dict[uuid.UUID, list[str]] = {}
    last: dict[uuid.UUID, str] = {}
    if thread_ids:
        for tid, display in db.execute(
            select(ThreadParticipant.thread_id, User.display_name)
            .join(User, User.id == ThreadParticipant.user_id)
            .where(ThreadParticipant.thread_id.in_(thread_ids))
            .order_by(ThreadParticipant.added_at, User.display_name)
        ):
            names.setdefault(tid, []).append(display)
        for tid, display in db.execute(
            select(TeamMessage.thread_id, User.display_name)
            .join(User, User.id == TeamMessage.author_id)
            .join(TeamThread, TeamThread.id == TeamMessage.thread_id)
            .where(
                TeamMessage.thread_id.in_(thread_ids), TeamMessage.seq == TeamThread.message_count
            )
        ):
            last[tid] = display
    for pid in dict.fromkeys(p.id for _, _, p in rows if p is not None):
        record(db, actor, Action.READ, entity_type="TeamThread", patient_id=pid, reason="inbox")
    return [
        ThreadSummary(
            id=thread.id,
            subject=thread.subject,
            patient=_patient_ref(patient),
            message_count=thread.message_count,
            unread=max(thread.message_count - read_seq, 0),
            last_message_at=thread.last_message_at,
            last_author=last.get(thread.id),
            participants=names.get(thread.id, []),
        )
        for thread, read_seq, patient in rows
    ]


def attachment(
    db: Session, actor: Actor, thread_id: uuid.UUID, attachment_id: uuid.UUID
) -> TeamAttachment:
    """A file of a thread the actor may read (the read is audited with the patient)."""
    found = db.get(TeamAttachment, attachment_id)
    message = db.get(TeamMessage, found.message_id) if found is not None else None
    if found is None or message is None or message.thread_id != thread_id:
        raise NotFound(f"No attachment with id {attachment_id} in thread {thread_id}")
    thread = _thread(db, thread_id)
    _allowed(db, actor, thread)
    record(
        db,
        actor,
        Action.READ,
        entity_type="TeamAttachment",
        entity_id=found.id,
        patient_id=thread.patient_id,
    )
    return found


# --- writing --------------------------------------------------------------------------------


def _author(db: Session, actor: Actor) -> User:
    user = db.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None:
        raise Forbidden("Team messages are written by people, not by the system")
    return user


def _join(db: Session, thread: TeamThread, user: User, joined_as: str, added_by: uuid.UUID) -> bool:
    if db.get(ThreadParticipant, (thread.id, user.id)) is not None:
        return False
    db.add(
        ThreadParticipant(
            thread_id=thread.id, user_id=user.id, joined_as=joined_as, added_by=added_by
        )
    )
    return True


def _live_patient(db: Session, patient_id: uuid.UUID) -> Patient:
    patient = db.get(Patient, patient_id)
    if patient is None:
        raise ValidationFailed(
            f"There is no patient with id {patient_id}.",
            fields={"patient_id": "Choose the patient from the search results."},
        )
    if patient.status == "merged":
        raise Conflict(
            f"Chart {patient.mrn} was merged into another chart; write about the surviving "
            "chart. Nothing was sent."
        )
    return patient


def _append(
    db: Session,
    actor: Actor,
    author: User,
    thread: TeamThread,
    text: str,
    files: Sequence[NewFile],
    limit: int,
) -> TeamMessage:
    """Check everything first (mentions, files), then store the message, its files and the
    mentioned people, bump the thread's counters atomically and notify who was mentioned."""
    if not text.strip():
        raise ValidationFailed(
            "Write a message; an empty one is not sent.",
            fields={"text": "Write the message."},
        )
    names = [n for n in mentioned(text) if n != author.username.lower()]
    people = _people(db, names, "text", thread.patient_id)
    check_files(files, limit)
    now = utcnow()
    seq = db.execute(
        update(TeamThread)
        .where(TeamThread.id == thread.id)
        .values(message_count=TeamThread.message_count + 1, last_message_at=now)
        .returning(TeamThread.message_count)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    db.refresh(thread)
    message = TeamMessage(
        thread_id=thread.id, seq=seq, author_id=author.id, body=text, created_at=now
    )
    db.add(message)
    db.flush()
    for file in files:
        db.add(
            TeamAttachment(
                message_id=message.id,
                filename=_filename(file.filename),
                content_type=_content_type(file.content_type),
                size=len(file.content),
                sha256=hashlib.sha256(file.content).hexdigest(),
                content=file.content,
            )
        )
    for user in people:
        _join(db, thread, user, "mention", author.id)
    me = db.get(ThreadParticipant, (thread.id, author.id))
    if me is not None:  # the author has read everything up to what they wrote
        me.read_seq = max(me.read_seq, seq)
        me.read_at = now
    db.flush()
    for user in people:
        notifications.notify(
            db,
            user.id,
            f"{author.display_name} mentioned you in “{thread.subject}”",
            link=f"/messages/{thread.id}",
            patient_id=thread.patient_id,
            dedupe_key=f"hub-mention:{message.id}:{user.id}",
        )
    record(
        db,
        actor,
        Action.CREATE,
        entity_type="TeamMessage",
        entity_id=message.id,
        patient_id=thread.patient_id,
        reason=f"mentions {', '.join('@' + u.username for u in people)}" if people else None,
    )
    return message


def start(
    db: Session,
    actor: Actor,
    *,
    subject: str,
    to: Sequence[str],
    patient_id: uuid.UUID | None,
    text: str,
    files: Sequence[NewFile] = (),
    limit: int = MAX_ATTACHMENT_BYTES,
) -> ThreadRead:
    """A new thread with its first message, written to ``to`` (usernames)."""
    author = _author(db, actor)
    if patient_id is not None:
        if not may_read_patient(actor.role):
            raise Forbidden(
                f"Your role ({actor.role}) may not write threads about a patient",
                extra={"patient_id": str(patient_id)},
            )
        _live_patient(db, patient_id)
    subject = subject.strip()
    if not subject:
        raise ValidationFailed("Give the thread a subject.", fields={"subject": "Enter a subject."})
    wanted = [n for n in to if n.strip().lstrip("@").lower() != author.username.lower()]
    if not wanted and not [n for n in mentioned(text) if n != author.username.lower()]:
        raise ValidationFailed(
            "Choose at least one colleague to write to (or mention one with @username).",
            fields={"to": "Choose at least one colleague."},
        )
    recipients = _people(db, wanted, "to", patient_id)
    thread = TeamThread(
        subject=subject[:200],
        patient_id=patient_id,
        created_by=author.id,
        message_count=0,
        last_message_at=utcnow(),
    )
    db.add(thread)
    db.flush()
    _join(db, thread, author, "author", author.id)
    for user in recipients:
        _join(db, thread, user, "recipient", author.id)
    db.flush()
    record(
        db,
        actor,
        Action.CREATE,
        entity_type="TeamThread",
        entity_id=thread.id,
        patient_id=patient_id,
    )
    _append(db, actor, author, thread, text, files, limit)
    me = db.get(ThreadParticipant, (thread.id, author.id))
    assert me is not None
    return _read(db, thread, me)


def post(
    db: Session,
    actor: Actor,
    thread_id: uuid.UUID,
    text: str,
    files: Sequence[NewFile] = (),
    limit: int = MAX_ATTACHMENT_BYTES,
) -> MessageRead:
    """A reply in a thread the actor is in."""
    thread = _thread(db, thread_id)
    _allowed(db, actor, thread)
    author = _author(db, actor)
    message = _append(db, actor, author, thread, text, files, limit)
    return next(m for m in _messages(db, thread.id) if m.id == message.id)


def colleagues(db: Session, actor: Actor, *, about_patient: bool) -> list[Person]:
    """Who the actor may write to: active users who use team messages (and may read
    patients, for a thread about one), by name."""
    users = db.scalars(
        select(User).where(User.is_active.is_(True)).order_by(User.display_name, User.username)
    )
    return [
        _person(user)
        for user in users
        if user.id != actor.user_id and _why_not(user, about_patient) is None
    ]
