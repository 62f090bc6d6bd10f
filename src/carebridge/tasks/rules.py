"""The rules ``carebridge worker`` applies: escalations of overdue tasks and timers that raise
tasks when a date comes due. The code is the configuration: each rule is a frozen dataclass in
:data:`ESCALATIONS` or :data:`TIMERS`, and the rules page lists them in the words below.

Everything here is pure (no database); ``tasks.escalation`` finds the records each rule
matches with the same conditions written as SQL, and applies the rule once per task.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from carebridge.tasks.codes import KINDS, OPEN_STATUSES, PRIORITY_WORDS, URGENCY

# Work nobody has started: the owner has not yet set it in progress (or put it on hold).
NOT_STARTED = ("draft", "requested", "received", "accepted", "ready")
# Goals that are met need no chasing when their date passes.
MET = ("achieved", "sustaining")
COORDINATORS = "coordinators"

Ownership = Literal["any", "owned", "unowned"]


def span(delta: dt.timedelta) -> str:
    """'1 hour', '4 hours', '1 day', '3 days'."""
    hours = int(delta.total_seconds() // 3600)
    if hours % 24 == 0 and hours >= 24:
        days = hours // 24
        return f"{days} day{'s' if days != 1 else ''}"
    if hours >= 1:
        return f"{hours} hour{'s' if hours != 1 else ''}"
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _listed(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


@dataclass(frozen=True)
class TaskFacts:
    """What a rule looks at in one task (and its owner, and its last priority bump)."""

    priority: str
    kind: str
    status: str
    due_at: dt.datetime
    owned: bool
    queue: str | None = None
    owner_active: bool = True
    last_bump_at: dt.datetime | None = None


@dataclass(frozen=True)
class EscalationRule:
    """When an open task is overdue by ``overdue_by`` (and matches the filters), do what the
    action fields say, once per task.

    The overdue clock starts at the due time, or (``from_bump``) at the task's latest
    priority bump if that came later: a task bumped to urgent is not bumped again until it
    has been overdue *as an urgent task* for as long as the urgent rule allows, and one run
    never fires a chain of rules at a task (nor two notifications for the same lateness)."""

    key: str
    name: str
    overdue_by: dt.timedelta
    priorities: tuple[str, ...] = ()  # empty: any priority
    kinds: tuple[str, ...] = ()  # empty: any kind
    ownership: Ownership = "any"  # "unowned" means waiting, unclaimed, in a queue
    stalled_only: bool = False  # owner disabled, or the work not started
    bump_to: str | None = None
    notify_supervisor: bool = False
    reassign_to: str | None = None
    # Count lateness from the latest priority bump (if later than the due time)? Rules that
    # bump or notify do, so one run fires no chain of them; a rule that takes work from a
    # person who cannot do it should not wait for the bumps to settle.
    from_bump: bool = True

    def __post_init__(self) -> None:
        unknown = [p for p in (*self.priorities, self.bump_to) if p and p not in URGENCY]
        if unknown or any(k not in KINDS for k in self.kinds):
            raise ValueError(f"rule {self.key}: unknown priority or kind")
        if self.bump_to and any(URGENCY[p] <= URGENCY[self.bump_to] for p in self.priorities):
            raise ValueError(f"rule {self.key}: a bump must make every matched task more urgent")
        if not (self.bump_to or self.notify_supervisor or self.reassign_to):
            raise ValueError(f"rule {self.key}: does nothing")
        if self.stalled_only and self.ownership != "owned":
            raise ValueError(f"rule {self.key}: only an owned task can stall with its owner")

    def clock_start(self, facts: TaskFacts) -> dt.datetime:
        if not self.from_bump:
            return facts.due_at
        if facts.last_bump_at is not None and facts.last_bump_at > facts.due_at:
            return facts.last_bump_at
        return facts.due_at

    def matches(self, facts: TaskFacts, now: dt.datetime) -> bool:
        """Whether the rule applies to the task now (not counting whether it already did)."""
        if facts.status not in OPEN_STATUSES:
            return False
        if self.priorities and facts.priority not in self.priorities:
            return False
        if self.kinds and facts.kind not in self.kinds:
            return False
        if self.ownership == "owned" and not facts.owned:
            return False
        if self.ownership == "unowned" and (facts.owned or facts.queue is None):
            return False
        if self.stalled_only and facts.owner_active and facts.status not in NOT_STARTED:
            return False
        return now - self.clock_start(facts) >= self.overdue_by

    def when(self) -> str:
        """The condition in plain words."""
        what = "An open"
        if self.priorities:
            what += " " + _listed([PRIORITY_WORDS[p].lower() for p in self.priorities])
            what = what.replace("asap", "ASAP")
        what += " task"
        if self.kinds:
            what += " of type " + _listed([KINDS[k].lower() for k in self.kinds])
        if self.ownership == "owned":
            what += " owned by a person"
        elif self.ownership == "unowned":
            what += " waiting in a team queue with nobody assigned"
        text = f"{what} is {span(self.overdue_by)} overdue"
        if self.stalled_only:
            text += ", and its owner's account is disabled or the work has not been started"
        if self.from_bump:
            text += " (counted from the due time, or from its latest priority raise if later)"
        return text + "."

    def actions(self) -> list[str]:
        """What happens, in plain words, in the order it is done."""
        done = []
        if self.bump_to:
            done.append(f"Its priority is raised to {PRIORITY_WORDS[self.bump_to]}.")
        if self.reassign_to:
            done.append(
                f"It is taken from its owner and put in the “{self.reassign_to}” queue "
                "for anyone there to claim."
            )
        if self.notify_supervisor:
            done.append(
                "The supervisor is notified: the supervisor of the task's queue, or for a task "
                "someone owns, the supervisor of a queue that person works in."
            )
        return done


TimerWatch = Literal[
    "care-plan-review", "goal-past-due", "referral-not-scheduled", "referral-no-report"
]
# The record each timer watches, as tasks name it in their focus.
FOCUS_OF: dict[str, str] = {
    "care-plan-review": "CarePlan",
    "goal-past-due": "Goal",
    "referral-not-scheduled": "Referral",
    "referral-no-report": "Referral",
}


@dataclass(frozen=True)
class TimerRule:
    """When a date on a care plan or a referral comes due, raise a task (once for that record
    and date), owned by the patient's primary coordinator (care plans) or the person who made
    the referral, or waiting in ``fallback_queue`` when there is nobody active.

    Referral timers: an outgoing referral sent or accepted but not scheduled ``days_after``
    days after it was sent (per ``urgency``), and one seen ``days_after`` days ago with no
    report back."""

    key: str
    name: str
    watches: TimerWatch
    days_after: int  # the task is raised this many days after the date (0: on the day)
    title: str  # "{title}" is the care plan's title, "{goal}" the goal's description
    task_kind: str = "care-plan"
    priority: str = "routine"
    fallback_queue: str = COORDINATORS
    urgency: str | None = None  # referral timers: only referrals of this urgency

    @property
    def focus(self) -> str:
        return FOCUS_OF[self.watches]

    def is_due(self, date: dt.date, today: dt.date) -> bool:
        return today >= date + dt.timedelta(days=self.days_after)

    def latest_date(self, today: dt.date) -> dt.date:
        """The latest record date that is due today (the SQL bound)."""
        return today - dt.timedelta(days=self.days_after)

    def dedupe_key(self, record_id: object, date: dt.date) -> str:
        return f"{self.key}:{record_id}:{date.isoformat()}"

    def when(self) -> str:
        if self.watches == "care-plan-review":
            return "An active care plan's next review date is today or has passed."
        if self.watches == "referral-not-scheduled":
            return (
                f"An outgoing {self.urgency or ''} referral was sent {span_days(self.days_after)} "
                "ago or more, and is still waiting (sent or accepted) with no appointment."
            ).replace("  ", " ")
        if self.watches == "referral-no-report":
            return (
                f"An outgoing referral's visit was {span_days(self.days_after)} ago or more, "
                "and no report has come back."
            )
        return (
            "An active goal's due date has passed and the goal is not achieved or being sustained."
        )

    def actions(self) -> list[str]:
        record = {
            "care-plan-review": "review date",
            "goal-past-due": "goal and due date",
            "referral-not-scheduled": "referral and date sent",
            "referral-no-report": "referral and visit date",
        }[self.watches]
        owner = (
            "the person who made the referral"
            if self.focus == "Referral"
            else "the patient's primary coordinator"
        )
        level = PRIORITY_WORDS[self.priority]
        article = "An" if level[0] in "AEIOU" else "A"
        return [
            f"{article} {level if level.isupper() else level.lower()} "
            f"“{KINDS[self.task_kind].lower()}” task is raised, once for each {record}.",
            f"It goes to {owner}, or to the “{self.fallback_queue}” queue when there is "
            "nobody active.",
        ]


def span_days(days: int) -> str:
    return f"{days} day{'s' if days != 1 else ''}"


def goal_is_chased(lifecycle: str, achievement: str) -> bool:
    """Goals whose passed date raises a task: still being worked and not met."""
    return lifecycle == "active" and achievement not in MET


ESCALATIONS: tuple[EscalationRule, ...] = (
    EscalationRule(
        key="routine-overdue-1d",
        name="Routine task a day overdue",
        priorities=("routine",),
        overdue_by=dt.timedelta(days=1),
        bump_to="urgent",
        notify_supervisor=True,
    ),
    EscalationRule(
        key="urgent-overdue-4h",
        name="Urgent task four hours overdue",
        priorities=("urgent",),
        overdue_by=dt.timedelta(hours=4),
        bump_to="asap",
        notify_supervisor=True,
    ),
    EscalationRule(
        key="asap-stat-overdue-1h",
        name="ASAP or stat task an hour overdue",
        priorities=("stat", "asap"),
        overdue_by=dt.timedelta(hours=1),
        notify_supervisor=True,
    ),
    EscalationRule(
        key="unclaimed-overdue-1d",
        name="Unclaimed queue task a day overdue",
        ownership="unowned",
        overdue_by=dt.timedelta(days=1),
        notify_supervisor=True,
    ),
    EscalationRule(
        key="stalled-owner-3d",
        name="Owned task three days overdue and not started",
        ownership="owned",
        stalled_only=True,
        overdue_by=dt.timedelta(days=3),
        reassign_to=COORDINATORS,
        from_bump=False,
    ),
)

TIMERS: tuple[TimerRule, ...] = (
    TimerRule(
        key="care-plan-review",
        name="Care plan review due",
        watches="care-plan-review",
        days_after=0,
        title="Review care plan: {title}",
    ),
    TimerRule(
        key="goal-past-due",
        name="Goal past its date",
        watches="goal-past-due",
        days_after=1,
        title="Goal past its date: {goal}",
    ),
    # Outgoing referrals: the sooner it is needed, the sooner an unbooked one is chased.
    TimerRule(
        key="referral-not-scheduled-stat",
        name="Stat referral not scheduled",
        watches="referral-not-scheduled",
        urgency="stat",
        days_after=1,
        title="Referral not scheduled: {title}",
        task_kind="referral",
        priority="stat",
    ),
    TimerRule(
        key="referral-not-scheduled-urgent",
        name="Urgent referral not scheduled",
        watches="referral-not-scheduled",
        urgency="urgent",
        days_after=3,
        title="Referral not scheduled: {title}",
        task_kind="referral",
        priority="urgent",
    ),
    TimerRule(
        key="referral-not-scheduled-routine",
        name="Routine referral not scheduled",
        watches="referral-not-scheduled",
        urgency="routine",
        days_after=14,
        title="Referral not scheduled: {title}",
        task_kind="referral",
    ),
    TimerRule(
        key="referral-no-report",
        name="No report after a referral visit",
        watches="referral-no-report",
        days_after=7,
        title="No report from {title}",
        task_kind="referral",
    ),
)


def escalation(key: str) -> EscalationRule | None:
    return next((r for r in ESCALATIONS if r.key == key), None)


def timer(key: str) -> TimerRule | None:
    return next((r for r in TIMERS if r.key == key), None)


def referral_wait_days(watches: TimerWatch, urgency: str | None = None) -> int | None:
    """Days a referral may wait in a step before its timer raises a task (None: no timer)."""
    for rule in TIMERS:
        if rule.watches == watches and rule.urgency in (None, urgency):
            return rule.days_after
    return None
