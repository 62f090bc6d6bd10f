"""The escalation and timer rules as pure logic: which tasks each rule matches, how the
overdue clock restarts at a priority raise, what a rule must do to be a rule, and the words
the rules page shows."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from carebridge.tasks.rules import (
    ESCALATIONS,
    TIMERS,
    EscalationRule,
    TaskFacts,
    escalation,
    goal_is_chased,
    span,
    timer,
)

NOW = dt.datetime(2031, 3, 12, 15, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


def facts(overdue: dt.timedelta, **changes: object) -> TaskFacts:
    base = TaskFacts(
        priority="routine",
        kind="call",
        status="requested",
        due_at=NOW - overdue,
        owned=False,
        queue="coordinators",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def rule(key: str) -> EscalationRule:
    found = escalation(key)
    assert found is not None
    return found


def matching(task: TaskFacts) -> list[str]:
    return [r.key for r in ESCALATIONS if r.matches(task, NOW)]


def test_routine_rule_waits_a_full_day() -> None:
    routine = rule("routine-overdue-1d")
    assert not routine.matches(facts(DAY - dt.timedelta(seconds=1)), NOW)
    assert routine.matches(facts(DAY), NOW)
    assert not routine.matches(facts(2 * DAY, priority="urgent"), NOW)


@pytest.mark.parametrize(
    ("priority", "overdue", "expected"),
    [
        ("routine", 23 * HOUR, []),
        ("routine", 25 * HOUR, ["routine-overdue-1d", "unclaimed-overdue-1d"]),
        ("urgent", 3 * HOUR, []),
        ("urgent", 4 * HOUR, ["urgent-overdue-4h"]),
        ("asap", 59 * dt.timedelta(minutes=1), []),
        ("asap", HOUR, ["asap-stat-overdue-1h"]),
        ("stat", 2 * HOUR, ["asap-stat-overdue-1h"]),
    ],
)
def test_priority_rules(priority: str, overdue: dt.timedelta, expected: list[str]) -> None:
    assert matching(facts(overdue, priority=priority)) == expected


def test_closed_tasks_never_escalate() -> None:
    for status in ("completed", "cancelled", "failed", "entered-in-error"):
        assert matching(facts(10 * DAY, status=status)) == []


def test_unclaimed_means_in_a_queue_with_nobody_assigned() -> None:
    unclaimed = rule("unclaimed-overdue-1d")
    assert unclaimed.matches(facts(DAY, priority="stat"), NOW)
    assert not unclaimed.matches(facts(DAY, priority="stat", owned=True, queue=None), NOW)
    assert not unclaimed.matches(facts(DAY, priority="stat", queue=None), NOW)


def test_stalled_owner_rule_takes_work_nobody_can_or_did_start() -> None:
    stalled = rule("stalled-owner-3d")
    owned = {"owned": True, "queue": None, "priority": "urgent"}
    assert stalled.matches(facts(3 * DAY, **owned), NOW)  # requested: not started
    assert stalled.matches(facts(3 * DAY, status="ready", **owned), NOW)
    assert not stalled.matches(facts(3 * DAY, status="in-progress", **owned), NOW)
    assert not stalled.matches(facts(3 * DAY, status="on-hold", **owned), NOW)
    # ...unless the owner's account is disabled: then even started work moves.
    gone = facts(3 * DAY, status="in-progress", owner_active=False, **owned)
    assert stalled.matches(gone, NOW)
    assert not stalled.matches(facts(3 * DAY - HOUR, owner_active=False, **owned), NOW)
    assert not stalled.matches(facts(5 * DAY), NOW)  # not owned: the queue rule's business


def test_the_clock_restarts_at_a_priority_raise() -> None:
    urgent = rule("urgent-overdue-4h")
    bumped_an_hour_ago = facts(30 * HOUR, priority="urgent", last_bump_at=NOW - HOUR)
    assert not urgent.matches(bumped_an_hour_ago, NOW)
    assert urgent.matches(bumped_an_hour_ago, NOW + 3 * HOUR)
    # A raise before the due time changes nothing: lateness counts from the due time.
    early = facts(5 * HOUR, priority="urgent", last_bump_at=NOW - 10 * HOUR)
    assert urgent.matches(early, NOW)


def test_reassignment_does_not_wait_for_raises() -> None:
    stalled = rule("stalled-owner-3d")
    task = facts(4 * DAY, owned=True, queue=None, priority="asap", last_bump_at=NOW - HOUR)
    assert stalled.matches(task, NOW)


def test_kind_filter() -> None:
    only_calls = EscalationRule(
        key="calls", name="Calls", overdue_by=HOUR, kinds=("call",), notify_supervisor=True
    )
    assert only_calls.matches(facts(HOUR), NOW)
    assert not only_calls.matches(facts(HOUR, kind="referral"), NOW)
    assert "of type call the patient" in only_calls.when()


@pytest.mark.parametrize(
    "fields",
    [
        {"bump_to": "urgent", "priorities": ("urgent",)},  # no more urgent
        {"bump_to": "urgent", "priorities": ("asap",)},  # would lower it
        {"bump_to": "soon"},
        {"priorities": ("whenever",), "notify_supervisor": True},
        {"kinds": ("gardening",), "notify_supervisor": True},
        {},  # does nothing
        {"stalled_only": True, "reassign_to": "coordinators"},  # stalled needs an owner
    ],
)
def test_a_rule_that_makes_no_sense_is_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="rule bad"):
        EscalationRule(key="bad", name="Bad", overdue_by=HOUR, **fields)  # type: ignore[arg-type]


def test_rules_have_unique_keys_and_say_what_they_do() -> None:
    keys = [r.key for r in ESCALATIONS] + [t.key for t in TIMERS]
    assert len(keys) == len(set(keys))
    for r in ESCALATIONS:
        assert r.when().startswith("An open")
        assert r.when().endswith(".")
        assert r.actions()
        assert all(a.endswith(".") for a in r.actions())
    assert rule("routine-overdue-1d").when() == (
        "An open routine task is 1 day overdue (counted from the due time, or from its "
        "latest priority raise if later)."
    )
    assert rule("asap-stat-overdue-1h").when().startswith("An open stat or ASAP task is 1 hour")
    assert rule("stalled-owner-3d").actions() == [
        "It is taken from its owner and put in the “coordinators” queue for anyone there to claim."
    ]


def test_timers_are_due_on_their_day_and_dedupe_per_date() -> None:
    review = timer("care-plan-review")
    goal = timer("goal-past-due")
    assert review is not None
    assert goal is not None
    today = dt.date(2031, 3, 12)
    assert review.is_due(today, today)
    assert not review.is_due(today + dt.timedelta(1), today)
    assert not goal.is_due(today, today)  # the due day itself is still on time
    assert goal.is_due(today - dt.timedelta(1), today)
    assert goal.latest_date(today) == today - dt.timedelta(1)
    assert review.dedupe_key("abc", today) == "care-plan-review:abc:2031-03-12"
    assert goal.title.format(goal="Walk 30 min", title="x") == "Goal past its date: Walk 30 min"


def test_only_goals_still_worked_and_unmet_are_chased() -> None:
    assert goal_is_chased("active", "in-progress")
    assert goal_is_chased("active", "worsening")
    assert not goal_is_chased("active", "achieved")
    assert not goal_is_chased("active", "sustaining")
    assert not goal_is_chased("completed", "not-achieved")
    assert not goal_is_chased("on-hold", "in-progress")


@pytest.mark.parametrize(
    ("delta", "words"),
    [(HOUR, "1 hour"), (4 * HOUR, "4 hours"), (DAY, "1 day"), (3 * DAY, "3 days"),
     (dt.timedelta(minutes=30), "30 minutes"), (30 * HOUR, "30 hours")],
)  # fmt: skip
def test_span_in_words(delta: dt.timedelta, words: str) -> None:
    assert span(delta) == words
