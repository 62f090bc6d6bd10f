"""Duplicate-patient detection: name folding, nicknames, Jaro-Winkler and the match score."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carebridge.patients.matching import (
    MatchResult,
    PersonFacts,
    birth_date_variants,
    level_for,
    score,
)
from carebridge.patients.names import (
    NICKNAMES,
    _fold_unicode,
    fold,
    jaro_winkler,
    nickname_groups,
    same_given_name,
)

BORN = date(1980, 3, 4)


def person(family: str, given: str, birth_date: date | None = BORN, **more: object) -> PersonFacts:
    return replace(PersonFacts(family=family, given=given, birth_date=birth_date), **more)


def both_ways(a: PersonFacts, b: PersonFacts) -> MatchResult:
    """Score a against b, checking the score does not depend on which record is the candidate."""
    result = score(a, b)
    assert score(b, a).score == result.score
    return result


# --- fold ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("O'Brien", "obrien"),
        ("O\u2019Brien", "obrien"),
        ("García-López", "garcia lopez"),
        ("  JOSÉ   María ", "jose maria"),
        ("Straße", "strasse"),
        ("STRASSE", "strasse"),
        ("Ærø", "aero"),
        ("Łukasz Øster", "lukasz oster"),
        ("Đorđević", "dordevic"),
        ("Müller\u2013Lüdenscheidt", "muller ludenscheidt"),
        ("St. John", "st john"),
        ("J.R.", "jr"),
        ("Smith, John", "smith john"),
        ("Kalani\u02bbōpu\u02bbu", "kalaniopuu"),
        ("\uff2a\uff2f\uff28\uff2e", "john"),
        ("Nguyễn", "nguyen"),
        ("Zoë\tSmith\n", "zoe smith"),
        ("", ""),
        ("'-.", ""),
    ],
)
def test_fold_examples(text: str, key: str) -> None:
    assert fold(text) == key


@given(st.text())
def test_fold_is_idempotent_and_clean(text: str) -> None:
    key = fold(text)
    assert fold(key) == key
    assert key == key.strip()
    assert "  " not in key
    assert key == key.casefold()


@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_fold_ascii_fast_path_agrees_with_the_unicode_path(text: str) -> None:
    assert fold(text) == _fold_unicode(text)


# --- nicknames -------------------------------------------------------------------------------


def test_nickname_table_covers_common_names() -> None:
    assert len(NICKNAMES) >= 80
    for name, forms in NICKNAMES.items():
        assert fold(name) == name
        assert all(fold(form) == form for form in forms.split())


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Bob", "Robert"),
        ("Bobby", "Rob"),
        ("robbie", "ROBERT"),
        ("Bill", "William"),
        ("Will", "Billy"),
        ("Liz", "Elizabeth"),
        ("Beth", "Betty"),
        ("Eliza", "Elizabeth"),
        ("Peggy", "Margaret"),
        ("Maggie", "Peggy"),
        ("Jim", "James"),
        ("Kate", "Catherine"),
        ("Katie", "Katherine"),
        ("Kathy", "Kathryn"),
        ("Chuck", "Charles"),
        ("Dick", "Richard"),
        ("Rick", "Richard"),
        ("Pepe", "José"),
        ("Paco", "Francisco"),
        ("Pancho", "Paco"),
        ("Lupe", "Guadalupe"),
        ("Chuy", "Jesús"),
        ("Nacho", "Ignacio"),
        ("Chris", "Christopher"),
        ("Chris", "Christina"),
        ("Mary-Ann", "Maryann"),
        ("José", "JOSE"),
    ],
)
def test_same_given_name(a: str, b: str) -> None:
    assert same_given_name(a, b)
    assert same_given_name(b, a)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("John", "James"),
        ("Christopher", "Christina"),
        ("Robert", "William"),
        ("Bob", "Bill"),
        ("Emma", "Ella"),
        ("", ""),
        ("Bob", ""),
    ],
)
def test_different_given_names(a: str, b: str) -> None:
    assert not same_given_name(a, b)


def test_nickname_groups() -> None:
    assert nickname_groups("Bobby") == {"robert"}
    assert nickname_groups("Robert") == {"robert"}
    assert nickname_groups("Al") == {"alan", "albert", "alexander", "alfred"}
    assert nickname_groups("Zebulon") == frozenset()


# --- Jaro-Winkler ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("MARTHA", "MARHTA", 0.961),
        ("DWAYNE", "DUANE", 0.840),
        ("DIXON", "DICKSONX", 0.813),
        ("JONATHAN", "JONATHON", 0.950),
        ("ABC", "ABC", 1.0),
        ("ABC", "XYZ", 0.0),
        ("", "ABC", 0.0),
        ("", "", 1.0),
    ],
)
def test_jaro_winkler_known_values(a: str, b: str, expected: float) -> None:
    assert jaro_winkler(a, b) == pytest.approx(expected, abs=0.001)


@given(st.text(max_size=12), st.text(max_size=12))
def test_jaro_winkler_is_a_symmetric_similarity(a: str, b: str) -> None:
    value = jaro_winkler(a, b)
    assert 0.0 <= value <= 1.0
    assert value == pytest.approx(jaro_winkler(b, a))
    assert jaro_winkler(a, a) == 1.0


# --- score: names ----------------------------------------------------------------------------


def test_exact_name_and_birth_date_is_likely_and_a_phone_makes_it_very_likely() -> None:
    plain = both_ways(person("Smith", "John"), person("Smith", "John"))
    assert plain.level == "likely"
    assert plain.reasons == ("same last name", "same first name", "same date of birth")

    phone = ("+13125550101",)
    with_phone = both_ways(
        person("Smith", "John", phones=phone), person("Smith", "John", phones=phone)
    )
    assert with_phone.level == "very likely"
    assert "same phone number +1 312 555 0101" in with_phone.reasons


def test_first_name_typo() -> None:
    result = both_ways(person("Smith", "Jonathon"), person("Smith", "Jonathan"))
    assert result.level == "likely"
    assert "first name spelled similarly (Jonathon / Jonathan)" in result.reasons


def test_last_name_typo() -> None:
    result = both_ways(person("Smyth", "John"), person("Smith", "John"))
    assert result.level == "likely"
    assert "last name spelled similarly (Smyth / Smith)" in result.reasons


def test_nickname() -> None:
    result = both_ways(person("Smith", "Bob"), person("Smith", "Robert"))
    assert result.level == "likely"
    assert "'Bob' is a nickname for 'Robert'" in result.reasons
    assert (
        "'Bob' is a nickname for 'Robert'"
        in score(person("Smith", "Robert"), person("Smith", "Bob")).reasons
    )

    both_short = both_ways(person("Smith", "Bob"), person("Smith", "Rob"))
    assert both_short.level == "likely"
    assert "'Bob' and 'Rob' are both forms of 'Robert'" in both_short.reasons


def test_first_and_last_names_transposed() -> None:
    result = both_ways(person("John", "Smith"), person("Smith", "John"))
    assert result.level == "likely"
    assert "first and last names swapped (Smith John / John Smith)" in result.reasons
    assert not any("different first names" in r for r in result.reasons)


def test_accents_only() -> None:
    result = both_ways(person("García", "José"), person("Garcia", "Jose"))
    assert result.score == both_ways(person("Garcia", "Jose"), person("Garcia", "Jose")).score
    assert "last name differs only in accents (García / Garcia)" in result.reasons
    assert "first name differs only in accents (José / Jose)" in result.reasons


def test_compound_last_name_partial_match() -> None:
    result = both_ways(person("García López", "Ana"), person("Garcia", "Ana"))
    assert result.level == "likely"
    assert "last name shares a part (García López / Garcia)" in result.reasons
    # A shared particle alone is not a shared surname.
    assert not any(
        "last name" in r
        for r in score(person("de la Cruz", "Ana"), person("de León", "Ana")).reasons
    )


def test_known_by_middle_name() -> None:
    result = both_ways(person("Smith", "J Robert"), person("Smith", "Robert"))
    assert "first name matches a middle name (J Robert / Robert)" in result.reasons
    assert result.score >= 50


def test_same_phone_with_differently_formatted_names() -> None:
    a = person("O'Brien", "Mary-Anne", phones=("+13125550101", "+13125550199"))
    b = person("OBRIEN", "mary anne", phones=("+1 312 555 0101",))
    result = both_ways(a, b)
    assert result.level == "very likely"
    assert "same phone number +1 312 555 0101" in result.reasons
    assert not any("different" in r for r in result.reasons)


def test_married_name_change_with_matching_contacts_is_still_found() -> None:
    a = person("Jones", "Mary", phones=("+13125550101",), email="Mary.J@Example.com")
    b = person("Smith", "Mary", phones=("+13125550101",), email="mary.j@example.com ")
    result = both_ways(a, b)
    assert result.level == "likely"
    assert "same email Mary.J@Example.com" in result.reasons


# --- score: birth dates ----------------------------------------------------------------------


def test_day_and_month_swapped() -> None:
    result = both_ways(
        person("Smith", "John", date(1980, 3, 4)), person("Smith", "John", date(1980, 4, 3))
    )
    assert "birth date with day and month swapped (03/04 vs 04/03)" in result.reasons
    assert result.level == "possible"
    phone = ("+13125550101",)
    with_phone = both_ways(
        person("Smith", "John", date(1980, 3, 4), phones=phone),
        person("Smith", "John", date(1980, 4, 3), phones=phone),
    )
    assert with_phone.level == "likely"


@pytest.mark.parametrize(
    "other",
    [date(1980, 3, 5), date(1980, 3, 14), date(1980, 8, 4), date(1981, 3, 4), date(1908, 3, 4)],
)
def test_birth_date_one_digit_off(other: date) -> None:
    result = both_ways(person("Smith", "John", BORN), person("Smith", "John", other))
    assert any(r.startswith("birth date differs by one digit") for r in result.reasons)
    assert result.level == "possible"


def test_same_common_name_with_a_different_birth_date_scores_low() -> None:
    result = both_ways(
        person("Smith", "John", date(1980, 3, 4)), person("Smith", "John", date(1975, 7, 22))
    )
    assert result.level == "unlikely"
    assert result.score < 20
    assert "different date of birth (03/04/1980 vs 07/22/1975)" in result.reasons


def test_missing_birth_date_is_neither_for_nor_against() -> None:
    known = both_ways(person("Smith", "John", None), person("Smith", "John", BORN))
    assert not any("birth" in r for r in known.reasons)
    assert known.score == 35


@pytest.mark.parametrize(
    ("born", "variants"),
    [
        (date(1980, 3, 4), (date(1980, 3, 4), date(1980, 4, 3))),
        (date(1980, 12, 1), (date(1980, 12, 1), date(1980, 1, 12))),
        (date(1980, 3, 13), (date(1980, 3, 13),)),
        (date(1980, 5, 5), (date(1980, 5, 5),)),
    ],
)
def test_birth_date_variants(born: date, variants: tuple[date, ...]) -> None:
    assert birth_date_variants(born) == variants


# --- score: twins, household members, sex ----------------------------------------------------


def test_twins_are_not_likely_even_sharing_every_contact() -> None:
    shared = {
        "phones": ("+13125550101",),
        "email": "smith.family@example.com",
        "postal_code": "60601",
        "address_line": "12 North Main Street Apt 4",
    }
    a = person("Smith", "John", **shared)
    b = replace(person("Smith", "James", **shared), address_line="12 N Main St #4")
    result = both_ways(a, b)
    assert result.level == "possible"
    assert result.score < 60
    assert "different first names (John / James)" in result.reasons
    assert (
        "same last name and birth date but different given names: could be twins" in result.reasons
    )
    assert "same address" in result.reasons

    bare = both_ways(person("Smith", "John"), person("Smith", "James"))
    assert bare.level == "possible"
    assert bare.score < both_ways(person("Smith", "John"), person("Smith", "John")).score


def test_twins_named_alike_with_different_sex_are_not_likely() -> None:
    result = both_ways(
        person("Smith", "Daniel", sex="male"), person("Smith", "Danielle", sex="female")
    )
    assert result.score < 60
    assert "recorded sex differs (male / female)" in result.reasons


def test_twins_with_same_first_and_different_middle_names() -> None:
    result = both_ways(person("Smith", "Mary Ann"), person("Smith", "Mary Beth"))
    assert result.score < 60
    assert "same first name, different middle names (Ann / Beth)" in result.reasons


def test_parent_and_child_sharing_contacts_are_unlikely() -> None:
    phone = ("+13125550101",)
    parent = person("Smith", "Maria", date(1975, 7, 22), phones=phone, email="maria@example.com")
    child = person("Smith", "Sofia", date(2012, 1, 9), phones=phone, email="maria@example.com")
    assert both_ways(parent, child).level == "unlikely"


def test_sex_unknown_is_not_held_against() -> None:
    result = both_ways(person("Smith", "John", sex="male"), person("Smith", "John", sex="unknown"))
    assert result.score == both_ways(person("Smith", "John"), person("Smith", "John")).score
    assert (
        both_ways(person("Smith", "John", sex="M"), person("Smith", "John", sex="male")).score
        == result.score
    )


def test_address_needs_postal_code_and_street() -> None:
    a = person("Smith", "John", postal_code="60601-1234", address_line="12 Main Street")
    same = both_ways(a, person("Smith", "John", postal_code="60601", address_line="12 main st."))
    assert "same address" in same.reasons
    other_street = both_ways(
        a, person("Smith", "John", postal_code="60601", address_line="14 Main St")
    )
    assert "same address" not in other_street.reasons


def test_nothing_in_common_is_unlikely() -> None:
    result = both_ways(person("Smith", "John"), person("Nguyen", "Linh", date(1990, 11, 30)))
    assert result.score == 0
    assert result.level == "unlikely"


@pytest.mark.parametrize(
    ("value", "level"),
    [
        (100, "very likely"),
        (85, "very likely"),
        (84, "likely"),
        (60, "likely"),
        (59, "possible"),
        (40, "possible"),
        (39, "unlikely"),
        (0, "unlikely"),
    ],
)
def test_levels(value: int, level: str) -> None:
    assert level_for(value) == level


# --- score: properties -----------------------------------------------------------------------

_names = st.sampled_from(
    ["Smith", "Smyth", "John", "Jonathan", "Jon", "Bob", "Robert", "García", "Garcia López",
     "O'Brien", "J", "Mary Ann", "Mary", "Ann", "de la Cruz", "Ella", "Emma", ""]
)  # fmt: skip
_dates = st.one_of(st.none(), st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 12, 31)))
_people = st.builds(
    PersonFacts,
    family=_names,
    given=_names,
    birth_date=_dates,
    phones=st.lists(
        st.sampled_from(["+13125550101", "+13125550102", "+442079460000"]), max_size=2
    ).map(tuple),
    email=st.one_of(
        st.none(), st.sampled_from(["a@example.com", "A@Example.com", "b@example.com"])
    ),
    postal_code=st.one_of(st.none(), st.sampled_from(["60601", "60602"])),
    address_line=st.one_of(
        st.none(), st.sampled_from(["12 Main St", "12 Main Street", "9 Elm Rd"])
    ),
    sex=st.one_of(st.none(), st.sampled_from(["male", "female", "unknown"])),
)


@given(_people, _people)
def test_score_is_bounded_symmetric_and_explained(a: PersonFacts, b: PersonFacts) -> None:
    result = score(a, b)
    assert 0 <= result.score <= 100
    assert result.level == level_for(result.score)
    assert score(b, a).score == result.score
    assert all(reason and reason == reason.strip() for reason in result.reasons)


@given(_people)
def test_a_record_matches_itself_at_least_as_well_as_anything(a: PersonFacts) -> None:
    assert score(a, a).score >= score(a, replace(a, birth_date=date(1901, 1, 1))).score
