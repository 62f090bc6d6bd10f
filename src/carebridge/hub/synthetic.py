"""Demo team messages: a handful of threads among the demo users (coordinator Maria Alvarez,
her colleague James Chen, Dr. Anika Patel, Denise Brooks in billing), three about demo
patients and two about the clinic, written over the last few days. Some end with a message
Maria has not read yet, so the inbox opens with unread threads first; one brings a colleague
in with an @mention (and so notifies him).

Everything goes through ``hub.service`` as the users would; the times are then set back to
when the messages would have been written. Made once: a second run adds nothing.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from carebridge.hub import service
from carebridge.hub.models import TeamMessage, TeamThread, ThreadParticipant
from carebridge.lib.time import utcnow
from carebridge.patients.models import Patient
from carebridge.security.audit import Actor
from carebridge.security.models import User


@dataclass(frozen=True)
class Demo:
    """One thread: the subject, whether it is about a patient, who starts it and to whom,
    and its messages as (author, hours ago, text); the first is the starter's."""

    subject: str
    about_patient: bool
    to: tuple[str, ...]
    messages: tuple[tuple[str, float, str], ...]


THREADS: tuple[Demo, ...] = (
    Demo(
        "Home oxygen before discharge",
        True,
        ("drpatel",),
        (
            (
                "coordinator",
                30,
                "Dr. Patel, the hospital wants a signed home oxygen order before discharge "
                "tomorrow. Sats were 87% on room air at rest this morning.",
            ),
            ("drpatel", 26, "Signed in the portal: 2 L/min by nasal cannula, at rest and sleep."),
            (
                "drpatel",
                3,
                "Also please book a follow-up with me within 7 days of discharge.",
            ),
        ),
    ),
    Demo(
        "Blood pressure still high",
        True,
        ("coordinator",),
        (
            (
                "drpatel",
                50,
                "Home readings average 162/98 despite the lisinopril increase. "
                "@jchen can you book a nurse visit this week to check technique and the cuff?",
            ),
            ("jchen", 46, "Booked for Thursday 10:00 with the nurse. I'll bring a loaner cuff."),
            ("drpatel", 5, "Thanks. Maria, please check that the pharmacy filled the new dose."),
        ),
    ),
    Demo(
        "Diabetes goals for the care plan review",
        True,
        ("drpatel", "jchen"),
        (
            (
                "coordinator",
                72,
                "Care plan review is next week. Proposed goals: A1c under 8, walking 20 "
                "minutes 5 days a week, foot check every visit. Anything to add?",
            ),
            ("drpatel", 70, "Add a retinal exam; the last one was more than a year ago."),
            ("coordinator", 69, "Added. I'll send the eye clinic referral today."),
        ),
    ),
    Demo(
        "Covering Friday afternoon calls",
        False,
        ("coordinator",),
        (
            ("jchen", 28, "I'm out Friday after 1 pm. Could you cover my callback list?"),
            ("coordinator", 27, "Yes. Leave the list in the coordinators queue."),
        ),
    ),
    Demo(
        "Statements go out Monday",
        False,
        ("coordinator", "jchen"),
        (
            (
                "billing",
                8,
                "Patient statements go out Monday. If anyone calls about a balance, send them "
                "to me at extension 214.",
            ),
        ),
    ),
)


def seed(db: Session, *, seed: int = 1, now: dt.datetime | None = None) -> int:
    """The demo threads, once; how many were made (0 when there are threads already or the
    demo users are missing). The same seed picks the same patients."""
    if db.scalar(select(func.count()).select_from(TeamThread)):
        return 0
    users = {u.username: u for u in db.scalars(select(User))}
    wanted = {name for t in THREADS for name in (*t.to, *(m[0] for m in t.messages))}
    if not wanted <= users.keys():
        return 0
    patients = list(
        db.scalars(select(Patient.id).where(Patient.status == "active").order_by(Patient.mrn))
    )
    rng = random.Random(f"carebridge-hub:{seed}")  # noqa: S311 - demo data
    chosen = rng.sample(patients, k=min(3, len(patients)))
    now = now or utcnow()
    made = 0
    for demo in THREADS:
        patient_id: uuid.UUID | None = None
        if demo.about_patient:
            if not chosen:
                continue
            patient_id = chosen.pop(0)
        made += _thread(db, users, demo, patient_id, now)
    return made


def _actor(user: User) -> Actor:
    return Actor(user_id=user.id, username=user.username, role=user.role)


def _thread(
    db: Session, users: dict[str, User], demo: Demo, patient_id: uuid.UUID | None, now: dt.datetime
) -> int:
    first_author, first_hours, first_text = demo.messages[0]
    thread = service.start(
        db,
        _actor(users[first_author]),
        subject=demo.subject,
        to=demo.to,
        patient_id=patient_id,
        text=first_text,
    )
    for author, _, text in demo.messages[1:]:
        service.post(db, _actor(users[author]), thread.id, text)
    db.flush()
    # Set the clock back to when each message would have been written.
    hours = {n + 1: h for n, (_, h, _) in enumerate(demo.messages)}
    for message in db.scalars(select(TeamMessage).where(TeamMessage.thread_id == thread.id)):
        message.created_at = now - dt.timedelta(hours=hours[message.seq])
    started = now - dt.timedelta(hours=first_hours)
    latest = now - dt.timedelta(hours=demo.messages[-1][1])
    db.execute(
        update(TeamThread)
        .where(TeamThread.id == thread.id)
        .values(created_at=started, last_message_at=latest)
        .execution_options(synchronize_session=False)
    )
    db.execute(
        update(ThreadParticipant)
        .where(ThreadParticipant.thread_id == thread.id)
        .values(added_at=started)
        .execution_options(synchronize_session=False)
    )
    db.flush()
    return 1
