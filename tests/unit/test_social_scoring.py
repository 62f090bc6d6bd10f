"""AHC HRSN scoring, worked out by hand from the tool's guide: housing positive on item 1's
"worried about losing it" or on any housing problem; safety positive at a total of 11
(Never 1 ... Frequently 5 over four items) and negative at 10; all negative; and answers
refused for what they lack or get wrong."""

from __future__ import annotations

from dataclasses import replace

from carebridge.social.instruments import AHC_HRSN, problems, score

NEGATIVE: dict[str, list[str]] = {
    "71802-3": ["LA31993-1"],  # I have a steady place to live
    "96778-6": ["LA9-3"],  # None of the above
    "88122-7": ["LA28398-8"],  # Never true
    "88123-5": ["LA28398-8"],
    "93030-5": ["LA32-8"],  # No
    "96779-4": ["LA32-8"],  # No
    "95618-5": ["LA6270-8"],  # Never (1)
    "95617-7": ["LA6270-8"],
    "95616-9": ["LA6270-8"],
    "95615-1": ["LA6270-8"],
}


def _positive(answers: dict[str, list[str]]) -> dict[str, int | None]:
    return {r.domain: r.total for r in score(AHC_HRSN, answers) if r.positive}


def test_all_negative() -> None:
    results = score(AHC_HRSN, NEGATIVE)
    assert [r.domain for r in results] == [
        "housing",
        "food",
        "transportation",
        "utilities",
        "safety",
    ]
    assert not any(r.positive for r in results)
    assert next(r for r in results if r.domain == "safety").total == 4


def test_housing_positive_by_worry_or_by_a_problem() -> None:
    worried = {**NEGATIVE, "71802-3": ["LA31994-9"]}
    assert _positive(worried) == {"housing": None}
    mold_and_leaks = {**NEGATIVE, "96778-6": ["LA28580-1", "LA32001-2"]}
    assert _positive(mold_and_leaks) == {"housing": None}


def test_food_transport_utilities() -> None:
    answers = {
        **NEGATIVE,
        "88123-5": ["LA6729-3"],  # Sometimes true, on the second food item only
        "93030-5": ["LA33-6"],  # Yes
        "96779-4": ["LA32002-0"],  # Already shut off
    }
    assert _positive(answers) == {"food": None, "transportation": None, "utilities": None}


def test_safety_eleven_is_positive_ten_is_not() -> None:
    # 3 + 3 + 2 + 2 = 10: negative.
    ten = {
        **NEGATIVE,
        "95618-5": ["LA10082-8"],  # Sometimes (3)
        "95617-7": ["LA10082-8"],  # Sometimes (3)
        "95616-9": ["LA10066-1"],  # Rarely (2)
        "95615-1": ["LA10066-1"],  # Rarely (2)
    }
    assert _positive(ten) == {}
    assert next(r for r in score(AHC_HRSN, ten) if r.domain == "safety").total == 10
    eleven = {**ten, "95615-1": ["LA10082-8"]}  # 3 + 3 + 2 + 3
    assert _positive(eleven) == {"safety": 11}
    most = {k: ["LA6482-9"] for k in ("95618-5", "95617-7", "95616-9", "95615-1")}
    assert _positive({**NEGATIVE, **most}) == {"safety": 20}


def test_missing_and_wrong_answers_are_named() -> None:
    partial = {k: v for k, v in NEGATIVE.items() if k not in ("88122-7", "95615-1")}
    missing, wrong = problems(AHC_HRSN, partial)
    assert missing == ["88122-7", "95615-1"]
    assert wrong == {}
    bad = {
        **NEGATIVE,
        "71802-3": ["LA31993-1", "LA31994-9"],  # two answers to a one-answer item
        "96778-6": ["LA9-3", "LA28580-1"],  # None of the above beside Mold
        "93030-5": ["LA6270-8"],  # not one of its answers
        "12345-6": ["LA33-6"],  # no such item
    }
    missing, wrong = problems(AHC_HRSN, bad)
    assert missing == []
    assert set(wrong) == {"71802-3", "96778-6", "93030-5", "12345-6"}
    assert "None of the above" in wrong["96778-6"]
    assert problems(AHC_HRSN, {**NEGATIVE, "88122-7": ["asked-declined"]})[1] == {
        "88122-7": "This instrument takes an answer to every question."
    }


def test_an_instrument_that_takes_declines() -> None:
    """Room for other instruments: one that takes declines accepts "asked-declined" for an
    item, and a declined item adds nothing to its domain."""
    lenient = replace(AHC_HRSN, code="test-declines", allows_declines=True)
    answers = {**NEGATIVE, "95618-5": ["asked-declined"], "95617-7": ["LA6482-9"]}
    assert problems(lenient, answers) == ([], {})
    safety = next(r for r in score(lenient, answers) if r.domain == "safety")
    assert (safety.total, safety.positive) == (5 + 1 + 1, False)
    mixed = {**answers, "96778-6": ["asked-declined", "LA28580-1"]}
    assert "96778-6" in problems(lenient, mixed)[1]
