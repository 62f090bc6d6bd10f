from __future__ import annotations

import pytest

from carebridge.lib.errors import ValidationFailed
from carebridge.patients import terminology
from carebridge.patients.terminology import (
    ICD10CM,
    SNOMED,
    Coding,
    coding,
    icd10,
    normalize_icd10,
    search_icd10,
)


@pytest.mark.parametrize(
    ("typed", "normalized"),
    [
        ("e119", "E11.9"),
        ("E11.9", "E11.9"),
        (" E11.9 ", "E11.9"),
        ("E11", "E11"),
        ("e11.", "E11"),
        ("s7290xa", "S72.90XA"),
        ("E08-E13", "E08-E13"),
        ("hello", "HELLO"),
    ],
)
def test_normalize_icd10(typed: str, normalized: str) -> None:
    assert normalize_icd10(typed) == normalized


@pytest.mark.parametrize("typed", ["E11.9", "e119", " e11.9 "])
def test_billable_code_gets_the_official_description(typed: str) -> None:
    assert icd10(typed) == Coding(
        ICD10CM, "E11.9", "Type 2 diabetes mellitus without complications"
    )


def test_codes_with_a_seventh_character_are_billable() -> None:
    assert icd10("s72.90xa").code == "S72.90XA"


def test_category_is_refused_with_a_billable_child_as_hint() -> None:
    with pytest.raises(ValidationFailed) as caught:
        icd10("e11")
    message = caught.value.fields["code"]
    assert message == (
        "'E11' is a category, not a billable code; choose a more specific code such as E11.9"
    )
    assert "E11" in caught.value.detail
    assert icd10("E11.9").code == "E11.9"  # the hint is itself accepted


def test_subcategory_is_refused_with_a_billable_descendant_as_hint() -> None:
    with pytest.raises(ValidationFailed) as caught:
        icd10("S72.90")
    message = caught.value.fields["code"]
    assert message.startswith("'S72.90' is a subcategory, not a billable code")
    hint = message.rsplit(" ", 1)[-1]
    assert hint.startswith("S72.90")
    assert icd10(hint).code == hint


@pytest.mark.parametrize("typed", ["Q99.99", "4", "hello", "E08-E99"])
def test_unknown_code_message_names_it(typed: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        icd10(typed)
    shown = normalize_icd10(typed)
    assert caught.value.fields["code"] == f"'{shown}' is not an ICD-10-CM code"


def test_empty_code_is_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        icd10("  ")
    assert "code" in caught.value.fields


def _codes(results: list[Coding]) -> list[str]:
    return [result.code for result in results]


def test_search_by_code_puts_the_exact_code_first_then_its_children() -> None:
    results = search_icd10("E11.9")
    assert _codes(results)[0] == "E11.9"

    codes = _codes(search_icd10("e11.6"))
    assert codes
    assert all(code.startswith("E11.6") for code in codes)
    assert "E11.65" in codes

    codes = _codes(search_icd10("E11"))
    assert all(code.startswith("E11.") for code in codes)
    assert "E11.9" in codes[:5]  # shorter codes first


def test_search_by_words_in_any_order_and_by_prefix() -> None:
    results = search_icd10("type 2 diabetes")
    assert "E11.9" in _codes(results)
    assert all(result.system == ICD10CM for result in results)
    for result in results:
        words = result.display.lower()
        assert "type" in words
        assert "diabet" in words

    assert "E11.9" in _codes(search_icd10("diab type 2"))
    assert "I50.9" in _codes(search_icd10("heart failure"))
    assert "I50.9" in _codes(search_icd10("FAILURE HEART"))


def test_search_ranks_shorter_descriptions_first() -> None:
    results = search_icd10("heart failure")
    lengths = [len(result.display) for result in results]
    assert lengths == sorted(lengths)


def test_search_returns_billable_codes_only() -> None:
    for query in ("E11", "diabetes", "S72.9"):
        for result in search_icd10(query):
            assert icd10(result.code) == result


def test_search_respects_limit() -> None:
    assert len(search_icd10("diabetes", limit=5)) == 5
    assert len(search_icd10("E11", limit=3)) == 3
    assert len(search_icd10("diabetes")) == 20
    assert search_icd10("diabetes", limit=0) == []


@pytest.mark.parametrize("query", ["", "   ", "...", "zzzzqqq"])
def test_search_with_nothing_to_find_returns_nothing(query: str) -> None:
    assert search_icd10(query) == []


def test_warm_builds_the_index_once() -> None:
    terminology.warm()
    index = terminology._get_index()
    terminology.warm()
    assert terminology._get_index() is index


def test_snomed_coding_is_accepted_as_given() -> None:
    assert coding(SNOMED, " 44054006 ", "Diabetes mellitus type 2") == Coding(
        SNOMED, "44054006", "Diabetes mellitus type 2"
    )
    assert coding("urn:oid:2.16.840.1.113883.6.96", "44054006", "x").code == "44054006"


def test_icd10_coding_is_validated_and_gets_the_official_description() -> None:
    assert coding(ICD10CM, "e119", "whatever the sender said") == icd10("E11.9")
    with pytest.raises(ValidationFailed) as caught:
        coding(ICD10CM, "E11", "Diabetes")
    assert "category" in caught.value.fields["code"]


@pytest.mark.parametrize(
    ("system", "code", "field"),
    [
        (SNOMED, "  ", "code"),
        ("snomed", "44054006", "system"),
        ("", "44054006", "system"),
        ("http://", "44054006", "system"),
        ("http://snomed.info/ sct", "44054006", "system"),
    ],
)
def test_coding_basic_checks(system: str, code: str, field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        coding(system, code, "display")
    assert field in caught.value.fields
