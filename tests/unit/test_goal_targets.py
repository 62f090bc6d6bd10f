"""Goal targets as people type them: what is understood, what is refused (and how the refusal
reads), whether a measurement meets a target, and the achievement status measurements give.
Also: every shipped care-plan template is well formed (targets parse, ICD-10-CM codes exist)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carebridge.careplans import codes, library
from carebridge.careplans.targets import Target, achievement, parse
from carebridge.lib.errors import ValidationFailed
from carebridge.patients import terminology

D = Decimal


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("< 7", Target("<", D("7"))),
        ("<7 %", Target("<", D("7"), None, "%")),
        ("<= 130 mmHg", Target("<=", D("130"), None, "mmHg")),
        ("\u2264130", Target("<=", D("130"))),
        ("> 150", Target(">", D("150"))),
        (">= 150 min/week", Target(">=", D("150"), None, "min/week")),
        ("\u2265 88 %", Target(">=", D("88"), None, "%")),
        ("= 0", Target("=", D("0"))),
        ("0 visits", Target("=", D("0"), None, "visits")),
        ("between 70 and 180", Target("between", D("70"), D("180"))),
        ("70-180", Target("between", D("70"), D("180"))),
        ("70 \u2013 180 mg/dL", Target("between", D("70"), D("180"), "mg/dL")),
        ("from 88 to 92 %", Target("between", D("88"), D("92"), "%")),
        ("Between 5 and 5", Target("=", D("5"))),
        ("less than 2 lb", Target("<", D("2"), None, "lb")),
        ("at least 5000 steps/day", Target(">=", D("5000"), None, "steps/day")),
        ("at most 3", Target("<=", D("3"))),
        ("under 38 \u00b0C", Target("<", D("38"), None, "\u00b0C")),
        ("< -2.5", Target("<", D("-2.5"))),
        ("  <   6.5   % ", Target("<", D("6.5"), None, "%")),
    ],
)
def test_understood_targets(typed: str, expected: Target) -> None:
    assert parse(typed) == expected


@pytest.mark.parametrize(
    "typed",
    ["abc", "< seven", "<", "between 7", "7 or 8 >", "~7", "<< 7", "HbA1c < 7", ">= 1e5"],
)
def test_a_target_that_does_not_parse_names_itself_and_the_accepted_forms(typed: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse(typed)
    assert f"'{typed.strip()}'" in refused.value.detail
    assert "between 70 and 180" in refused.value.detail
    assert "'< 7'" in refused.value.fields["target"]
    assert refused.value.status == 422


def test_empty_target_is_refused() -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse("   ")
    assert "empty" in refused.value.detail


def test_range_backwards_is_refused_with_the_fix() -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse("180-70")
    assert "lower number first" in refused.value.fields["target"]


def test_more_than_three_decimals_is_refused() -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse("< 7.1234")
    assert "three digits" in refused.value.fields["target"]


def test_a_range_in_two_units_is_refused() -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse("70 mg/dL - 180 mmol/L")
    assert "same unit" in refused.value.fields["target"]


def test_a_unit_too_long_to_store_is_refused() -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse("< 7 minutes of brisk walking every day")
    assert "at most 24 characters" in refused.value.fields["target"]


def test_a_number_too_large_to_store_is_refused() -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse("< 12345678901")
    assert "too large" in refused.value.detail


@pytest.mark.parametrize(
    ("typed", "met", "missed"),
    [
        ("< 7", ["6.9", "0", "-1"], ["7", "7.001", "12"]),
        ("<= 130", ["130", "129.5"], ["130.001", "180"]),
        ("> 88", ["88.001", "99"], ["88", "80"]),
        (">= 150", ["150", "300"], ["149.999", "0"]),
        ("= 0", ["0", "0.000"], ["1", "-1"]),
        ("between 70 and 180", ["70", "125", "180"], ["69.999", "180.001"]),
    ],
)
def test_meets(typed: str, met: list[str], missed: list[str]) -> None:
    target = parse(typed)
    assert all(target.meets(D(v)) for v in met)
    assert not any(target.meets(D(v)) for v in missed)


def test_text_and_words() -> None:
    assert parse("<7%").text == "< 7 %"
    assert parse("<7%").words == "below 7 %"
    assert parse("70-180 mg/dL").text == "between 70 and 180 mg/dL"
    assert parse(">= 150.50 min/week").text == ">= 150.5 min/week"
    assert parse(">= 150 min/week").words == "at least 150 min/week"
    assert parse("= 0 visits").words == "exactly 0 visits"


@pytest.mark.parametrize(
    ("typed", "values", "status"),
    [
        ("< 7", ["8.1"], "in-progress"),
        ("< 7", ["6.8"], "achieved"),
        ("< 7", ["8.1", "7.4"], "improving"),
        ("< 7", ["7.4", "8.1"], "worsening"),
        ("< 7", ["7.4", "7.4"], "no-change"),
        ("< 7", ["8.1", "6.5"], "achieved"),
        ("< 7", ["6.5", "7"], "worsening"),  # on the line of a strict target: not met
        (">= 150", ["60", "90"], "improving"),
        (">= 150", ["90", "60"], "worsening"),
        ("between 70 and 180", ["250", "40"], "improving"),  # 70 out, then 30 out
        ("between 70 and 180", ["40", "250"], "worsening"),
        ("= 0", ["2", "1"], "improving"),
    ],
)
def test_achievement_from_measurements(typed: str, values: list[str], status: str) -> None:
    assert achievement(parse(typed), [D(v) for v in values]) == status


def test_no_target_or_no_measurement_says_nothing() -> None:
    assert achievement(None, [D("7")]) is None
    assert achievement(parse("< 7"), []) is None


comparators = st.sampled_from(["<", "<=", ">", ">=", "="])
numbers = st.decimals(
    min_value=D("-99999"), max_value=D("99999"), places=3, allow_nan=False, allow_infinity=False
)
units = st.sampled_from([None, "%", "mg/dL", "min/week", "lb"])


@given(comparators, numbers, units)
def test_written_targets_read_back_the_same(comparator: str, low: Decimal, unit: str) -> None:
    target = Target(comparator, low, None, unit)
    again = parse(target.text)
    assert again.comparator == comparator
    assert again.low == low
    assert again.unit == unit


@given(numbers, numbers, numbers)
def test_distance_is_zero_exactly_when_met(a: Decimal, b: Decimal, value: Decimal) -> None:
    low, high = min(a, b), max(a, b)
    if low == high:
        return
    target = parse(f"between {low} and {high}")
    assert (target.distance(value) == 0) == (low <= value <= high)
    assert target.distance(value) >= 0


# --- the template library ---------------------------------------------------------------


def test_at_least_the_five_templates_the_issue_asks_for() -> None:
    assert {
        "heart-failure-post-discharge",
        "type-2-diabetes",
        "copd",
        "hypertension",
        "post-surgical-recovery",
    } <= set(library.TEMPLATES)


@pytest.mark.parametrize("template", list(library.TEMPLATES.values()), ids=lambda t: t.key)
def test_templates_are_well_formed(template: library.PlanTemplate) -> None:
    assert template.source.strip()
    assert template.review_every_days > 0
    assert template.problems
    assert template.goals
    assert template.activities
    problems = {p.key for p in template.problems}
    goals = {g.key for g in template.goals}
    for problem in template.problems:
        coding = terminology.icd10(problem.code)  # a billable ICD-10-CM code, or it raises
        assert coding.code == problem.code
        assert problem.plain_words
    for goal in template.goals:
        assert goal.problem in problems
        assert parse(goal.target).unit is not None, f"{goal.key} target has no unit"
        assert goal.due_in_days > 0
        assert goal.plain_words
    for activity in template.activities:
        assert activity.kind in codes.ACTIVITY_KINDS
        assert activity.goal is None or activity.goal in goals
        assert activity.plain_words


def test_diabetes_template_carries_the_ada_targets() -> None:
    diabetes = library.TEMPLATES["type-2-diabetes"]
    found = {g.measure: parse(g.target) for g in diabetes.goals}
    assert found["HbA1c"] == Target("<", D("7"), None, "%")
    assert found["Systolic blood pressure"] == Target("<", D("130"), None, "mmHg")
    assert found["Diastolic blood pressure"] == Target("<", D("80"), None, "mmHg")
    assert "Standards of Care in Diabetes 2024" in diabetes.source
