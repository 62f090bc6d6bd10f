"""Screening instruments as data, and how each one is scored.

An instrument is its items (each with its answer options, coded in LOINC where LOINC codes
them) and its domains (which items each domain reads, and the rule that makes it positive).
Another instrument (PRAPARE, say) is another ``Instrument`` entry in ``INSTRUMENTS``; the
service, screens, API and FHIR rendering read only this table.

The CMS Accountable Health Communities (AHC) Health-Related Social Needs (HRSN) Screening Tool,
core questions, is scored as its guide specifies:

- Sources: CMS, "The Accountable Health Communities Health-Related Social Needs Screening
  Tool" (2017, rev. 2021) and "A Guide to Using the Accountable Health Communities
  Health-Related Social Needs Screening Tool: Promising Practices and Key Insights" (June
  2021), section 2.4 "HRSN domain selection and scoring procedures"; the PhenX Toolkit
  protocol 281401 quotes the living-situation scoring notes word for word
  (https://www.phenxtoolkit.org/protocols/view/281401).
- Living situation (items 1-2): item 1 positive on "I have a place to live today, but I am
  worried about losing it in the future" or "I do not have a steady place to live"; item 2
  positive on any problem other than "None of the above". Either positive: a housing need.
- Food (items 3-4): "Often true" or "Sometimes true" on either item.
- Transportation (item 5): "Yes".
- Utilities (item 6): "Yes" or "Already shut off".
- Interpersonal safety (items 7-10): each answer scored Never 1, Rarely 2, Sometimes 3,
  Fairly often 4, Frequently 5; "a value greater than 10 when the numerical values for
  answers to questions 7-10 are summed indicates a positive screen" (positive at 11-20).

LOINC: panel 96777-8 (AHC HRSN screening tool); items 71802-3, 96778-6, 88122-7, 88123-5,
93030-5, 96779-4, 95618-5, 95617-7, 95616-9, 95615-1; the safety total 95614-4. Answer codes
(LA...) are LOINC's answer lists for those items (LL5876-9 and the lists the panel uses).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

LOINC = "http://loinc.org"
DECLINED = "asked-declined"  # an answer code meaning "asked, and the person declined"

DOMAINS: dict[str, str] = {
    "housing": "Housing (living situation)",
    "food": "Food",
    "transportation": "Transportation",
    "utilities": "Utilities",
    "safety": "Interpersonal safety",
}


@dataclass(frozen=True)
class Option:
    code: str  # a LOINC answer code (LA...)
    display: str
    positive: bool = False  # choosing it makes its domain positive (rule "any")
    score: int | None = None  # what it adds to its domain's total (rule "total")


@dataclass(frozen=True)
class Item:
    link_id: str  # the item's LOINC code; also its linkId in a QuestionnaireResponse
    text: str
    domain: str
    options: tuple[Option, ...]
    multiple: bool = False  # choose all that apply
    exclusive: str | None = None  # the option that excludes the others ("None of the above")

    def option(self, code: str) -> Option | None:
        return next((o for o in self.options if o.code == code), None)


@dataclass(frozen=True)
class DomainRule:
    domain: str
    rule: Literal["any", "total"]
    threshold: int = 0  # rule "total": positive at a total of at least this
    total_code: str | None = None  # LOINC code of the total, where LOINC has one
    total_text: str | None = None


@dataclass(frozen=True)
class Instrument:
    code: str
    title: str
    version: str
    loinc: str | None
    canonical: str  # Questionnaire canonical URL a QuestionnaireResponse points at
    items: tuple[Item, ...]
    rules: tuple[DomainRule, ...]
    allows_declines: bool = False
    source: str = ""

    def item(self, link_id: str) -> Item | None:
        return next((i for i in self.items if i.link_id == link_id), None)

    def items_of(self, domain: str) -> list[Item]:
        return [i for i in self.items if i.domain == domain]


@dataclass(frozen=True)
class DomainResult:
    domain: str
    positive: bool
    total: int | None = None


# --- the AHC HRSN core questions -------------------------------------------------------------

_OFTEN_SOMETIMES_NEVER = (
    Option("LA28397-0", "Often true", positive=True),
    Option("LA6729-3", "Sometimes true", positive=True),
    Option("LA28398-8", "Never true"),
)
_HOW_OFTEN = (
    Option("LA6270-8", "Never", score=1),
    Option("LA10066-1", "Rarely", score=2),
    Option("LA10082-8", "Sometimes", score=3),
    Option("LA16644-9", "Fairly often", score=4),
    Option("LA6482-9", "Frequently", score=5),
)


def _safety(link_id: str, what: str) -> Item:
    return Item(
        link_id,
        f"How often does anyone, including family and friends, {what}?",
        "safety",
        _HOW_OFTEN,
    )


AHC_HRSN = Instrument(
    code="ahc-hrsn",
    title="AHC Health-Related Social Needs Screening Tool (core questions)",
    version="2021",
    loinc="96777-8",
    canonical="http://loinc.org/q/96777-8",
    source="CMS Accountable Health Communities HRSN Screening Tool and guide (2021)",
    items=(
        Item(
            "71802-3",
            "What is your living situation today?",
            "housing",
            (
                Option("LA31993-1", "I have a steady place to live"),
                Option(
                    "LA31994-9",
                    "I have a place to live today, but I am worried about losing it in the future",
                    positive=True,
                ),
                Option(
                    "LA31995-6",
                    "I do not have a steady place to live (I am temporarily staying with "
                    "others, in a hotel, in a shelter, living outside on the street, on a "
                    "beach, in a car, abandoned building, bus or train station, or in a park)",
                    positive=True,
                ),
            ),
        ),
        Item(
            "96778-6",
            "Think about the place you live. Do you have problems with any of the following?",
            "housing",
            (
                Option("LA31996-4", "Pests such as bugs, ants, or mice", positive=True),
                Option("LA28580-1", "Mold", positive=True),
                Option("LA31997-2", "Lead paint or pipes", positive=True),
                Option("LA31998-0", "Lack of heat", positive=True),
                Option("LA31999-8", "Oven or stove not working", positive=True),
                Option("LA32000-4", "Smoke detectors missing or not working", positive=True),
                Option("LA32001-2", "Water leaks", positive=True),
                Option("LA9-3", "None of the above"),
            ),
            multiple=True,
            exclusive="LA9-3",
        ),
        Item(
            "88122-7",
            "Within the past 12 months, you worried that your food would run out before you "
            "got money to buy more.",
            "food",
            _OFTEN_SOMETIMES_NEVER,
        ),
        Item(
            "88123-5",
            "Within the past 12 months, the food you bought just didn't last and you didn't "
            "have money to get more.",
            "food",
            _OFTEN_SOMETIMES_NEVER,
        ),
        Item(
            "93030-5",
            "In the past 12 months, has lack of reliable transportation kept you from medical "
            "appointments, meetings, work or from getting things needed for daily living?",
            "transportation",
            (Option("LA33-6", "Yes", positive=True), Option("LA32-8", "No")),
        ),
        Item(
            "96779-4",
            "In the past 12 months has the electric, gas, oil, or water company threatened to "
            "shut off services in your home?",
            "utilities",
            (
                Option("LA33-6", "Yes", positive=True),
                Option("LA32-8", "No"),
                Option("LA32002-0", "Already shut off", positive=True),
            ),
        ),
        _safety("95618-5", "physically hurt you"),
        _safety("95617-7", "insult or talk down to you"),
        _safety("95616-9", "threaten you with harm"),
        _safety("95615-1", "scream or curse at you"),
    ),
    rules=(
        DomainRule("housing", "any"),
        DomainRule("food", "any"),
        DomainRule("transportation", "any"),
        DomainRule("utilities", "any"),
        DomainRule(
            "safety",
            "total",
            threshold=11,
            total_code="95614-4",
            total_text="Total safety score",
        ),
    ),
)

INSTRUMENTS: dict[str, Instrument] = {AHC_HRSN.code: AHC_HRSN}


def get(code: str) -> Instrument | None:
    return INSTRUMENTS.get(code)


# --- checking and scoring answers ------------------------------------------------------------

Answers = Mapping[str, Sequence[str]]


def problems(instrument: Instrument, answers: Answers) -> tuple[list[str], dict[str, str]]:
    """(the items left unanswered, {link_id: what is wrong} for answers that are not valid):
    an unknown item or option, several answers to a one-answer item, "None of the above"
    beside a problem, a decline where the instrument takes none."""
    missing: list[str] = []
    wrong: dict[str, str] = {}
    for link_id in answers:
        if instrument.item(link_id) is None:
            wrong[link_id] = f"{instrument.title} has no question {link_id}."
    for item in instrument.items:
        chosen = list(dict.fromkeys(answers.get(item.link_id, ())))
        if not chosen:
            missing.append(item.link_id)
            continue
        if chosen == [DECLINED]:
            if not instrument.allows_declines:
                wrong[item.link_id] = "This instrument takes an answer to every question."
            continue
        unknown = [code for code in chosen if item.option(code) is None]
        if unknown:
            wrong[item.link_id] = f"“{unknown[0]}” is not one of this question's answers."
        elif len(chosen) > 1 and not item.multiple:
            wrong[item.link_id] = "Choose one answer."
        elif item.exclusive in chosen and len(chosen) > 1:
            exclusive = item.option(item.exclusive)
            said = exclusive.display if exclusive else item.exclusive
            wrong[item.link_id] = f"“{said}” cannot be chosen with a problem."
    return missing, wrong


def score(instrument: Instrument, answers: Answers) -> list[DomainResult]:
    """Each domain's result from complete, valid answers (a declined item adds nothing)."""
    results = []
    for rule in instrument.rules:
        chosen = [
            option
            for item in instrument.items_of(rule.domain)
            for code in answers.get(item.link_id, ())
            if (option := item.option(code)) is not None
        ]
        if rule.rule == "any":
            results.append(DomainResult(rule.domain, any(o.positive for o in chosen)))
        else:
            total = sum(o.score or 0 for o in chosen)
            results.append(DomainResult(rule.domain, total >= rule.threshold, total))
    return results
