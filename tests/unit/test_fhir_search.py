"""FHIR R4 search parsing: values, modifiers, escapes, dates, result parameters, unknown
parameters under strict and lenient handling, and the canonical query for links."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from carebridge.fhir.errors import FhirError
from carebridge.fhir.search import (
    ChainValue,
    Clause,
    DateValue,
    Include,
    MissingValue,
    NumberValue,
    ParamDef,
    QuantityValue,
    ReferenceValue,
    Search,
    StringValue,
    TokenValue,
    UriValue,
    canonical_query,
    parse,
)

PATIENT = {
    "family": ParamDef("family", "string"),
    "name": ParamDef("name", "string"),
    "identifier": ParamDef("identifier", "token"),
    "gender": ParamDef("gender", "token"),
    "birthdate": ParamDef("birthdate", "date"),
    "general-practitioner": ParamDef(
        "general-practitioner", "reference", ("Practitioner", "Organization")
    ),
    "organization": ParamDef("organization", "reference", ("Organization",)),
}
OBSERVATION = {
    "patient": ParamDef("patient", "reference", ("Patient",)),
    "subject": ParamDef("subject", "reference", ("Patient", "Group")),
    "code": ParamDef("code", "token"),
    "date": ParamDef("date", "date"),
    "value-quantity": ParamDef("value-quantity", "quantity"),
    "probability": ParamDef("probability", "number"),
    "instantiates": ParamDef("instantiates", "uri"),
}


def patient(*pairs: tuple[str, str], strict: bool = True, **kw: int) -> Search:
    return parse("Patient", list(pairs), PATIENT, strict=strict, **kw)


def obs(*pairs: tuple[str, str], strict: bool = True) -> Search:
    return parse("Observation", list(pairs), OBSERVATION, strict=strict)


def only(search: Search) -> Clause:
    assert len(search.clauses) == 1
    return search.clauses[0]


def error(fn: object, *args: object, **kw: object) -> FhirError:
    assert callable(fn)
    with pytest.raises(FhirError) as caught:
        fn(*args, **kw)
    assert caught.value.status == 400
    return caught.value


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


# --- strings, OR and AND ----------------------------------------------------------------------


def test_string_values_or_within_a_clause_and_across_clauses() -> None:
    search = patient(("family", "smith,jones"), ("family", "doe"))
    assert search.clauses == (
        Clause("family", None, (StringValue("smith"), StringValue("jones"))),
        Clause("family", None, (StringValue("doe"),)),
    )


@pytest.mark.parametrize("modifier", ["exact", "contains"])
def test_string_modifiers(modifier: str) -> None:
    clause = only(patient((f"name:{modifier}", "Ann")))
    assert clause.modifier == modifier
    assert clause.values == (StringValue("Ann"),)


@pytest.mark.parametrize(
    ("raw", "values"),
    [
        (r"a\,b", ("a,b",)),
        (r"a\,b,c", ("a,b", "c")),
        (r"x\$y", ("x$y",)),
        (r"p\|q", ("p|q",)),
        (r"back\\", ("back\\",)),
        (r"back\\,slash", ("back\\", "slash")),
        (r"odd\q", ("odd\\q",)),
        ("trailing\\", ("trailing\\",)),
    ],
)
def test_escapes_in_string_values(raw: str, values: tuple[str, ...]) -> None:
    assert only(patient(("family", raw))).values == tuple(StringValue(v) for v in values)


def test_empty_values_are_ignored_and_empty_or_parts_dropped() -> None:
    search = patient(("family", ""), ("gender", "male,,"), ("name", ","))
    assert search.clauses == (Clause("gender", None, (TokenValue(None, "male"),)),)
    assert search.ignored == ()


# --- tokens ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("http://loinc.org|1234-5", TokenValue("http://loinc.org", "1234-5")),
        ("|1234-5", TokenValue("", "1234-5")),
        ("1234-5", TokenValue(None, "1234-5")),
        ("http://loinc.org|", TokenValue("http://loinc.org", None)),
        (r"urn:x|a\|b", TokenValue("urn:x", "a|b")),
        (r"urn:x\|y|c\,d", TokenValue("urn:x|y", "c,d")),
    ],
)
def test_token_forms(raw: str, value: TokenValue) -> None:
    assert only(patient(("identifier", raw))).values == (value,)


def test_token_with_two_bars_or_a_lone_bar_is_invalid() -> None:
    assert error(patient, ("identifier", "a|b|c")).code == "invalid"
    assert error(patient, ("identifier", "|")).code == "invalid"


def test_token_not_and_text() -> None:
    assert only(patient(("gender:not", "male"))).values == (TokenValue(None, "male"),)
    clause = only(patient(("identifier:text", "MRN|x")))
    assert clause.modifier == "text"
    assert clause.values == (StringValue("MRN|x"),)


@pytest.mark.parametrize("modifier", ["of-type", "in", "not-in", "below", "above"])
def test_unimplemented_token_modifiers_are_not_supported(modifier: str) -> None:
    exc = error(patient, (f"identifier:{modifier}", "x"))
    assert exc.code == "not-supported"
    assert f":{modifier}" in exc.diagnostics


@pytest.mark.parametrize(
    ("name", "modifier"),
    [("family", "not"), ("birthdate", "exact"), ("gender", "contains"), ("family", "bogus")],
)
def test_unknown_modifier_is_invalid_and_named(name: str, modifier: str) -> None:
    exc = error(patient, (f"{name}:{modifier}", "x"))
    assert exc.code == "invalid"
    assert f":{modifier}" in exc.diagnostics
    assert name in exc.diagnostics


@pytest.mark.parametrize(("flag", "missing"), [("true", True), ("false", False)])
def test_missing_takes_true_or_false(flag: str, missing: bool) -> None:
    for name in ("family", "gender", "birthdate", "organization"):
        clause = only(patient((f"{name}:missing", flag)))
        assert clause.modifier == "missing"
        assert clause.values == (MissingValue(missing),)


def test_missing_with_another_value_is_invalid() -> None:
    exc = error(patient, ("family:missing", "yes"))
    assert exc.code == "invalid"
    assert "family:missing" in exc.diagnostics


# --- common parameters -------------------------------------------------------------------------


def test_id_and_last_updated_are_on_every_type() -> None:
    search = obs(
        ("_id", "3f1c2a9e-0000-4000-8000-000000000001,abc.1"),
        ("_lastUpdated", "ge2024-01-01"),
    )
    assert search.clauses[0].values == (
        TokenValue(None, "3f1c2a9e-0000-4000-8000-000000000001"),
        TokenValue(None, "abc.1"),
    )
    value = search.clauses[1].values[0]
    assert isinstance(value, DateValue)
    assert value.prefix == "ge"
    assert value.start == utc(2024, 1, 1)


def test_id_is_checked_and_takes_no_system() -> None:
    assert error(patient, ("_id", "a|b")).code == "invalid"
    assert error(patient, ("_id", "has space")).code == "invalid"
    assert error(patient, ("_id", "x" * 65)).code == "invalid"
    assert error(patient, ("_id:text", "x")).code == "invalid"


def test_caller_may_override_a_common_parameter() -> None:
    search = parse("Patient", [("_id", "a|b")], {"_id": ParamDef("_id", "string")}, strict=True)
    assert only(search).values == (StringValue("a|b"),)


# --- dates -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("literal", "start", "end"),
    [
        ("2024", utc(2024, 1, 1), utc(2025, 1, 1)),
        ("2024-12", utc(2024, 12, 1), utc(2025, 1, 1)),
        ("2024-02", utc(2024, 2, 1), utc(2024, 3, 1)),
        ("2024-02-29", utc(2024, 2, 29), utc(2024, 3, 1)),
        ("2023-12-31", utc(2023, 12, 31), utc(2024, 1, 1)),
        ("2024-03-01T10:15", utc(2024, 3, 1, 10, 15), utc(2024, 3, 1, 10, 16)),
        ("2024-03-01T23:59:59Z", utc(2024, 3, 1, 23, 59, 59), utc(2024, 3, 2)),
        ("2024-03-01T10:00:00", utc(2024, 3, 1, 10), utc(2024, 3, 1, 10, 0, 1)),
        ("2024-12-31T20:00:00-05:00", utc(2025, 1, 1, 1), utc(2025, 1, 1, 1, 0, 1)),
        ("2024-01-01T00:30:00+01:00", utc(2023, 12, 31, 23, 30), utc(2023, 12, 31, 23, 30, 1)),
        (
            "2024-03-01T10:00:00.5Z",
            utc(2024, 3, 1, 10, 0, 0, 500000),
            utc(2024, 3, 1, 10, 0, 0, 600000),
        ),
        (
            "2024-03-01T10:00:00.123456789Z",
            utc(2024, 3, 1, 10, 0, 0, 123456),
            utc(2024, 3, 1, 10, 0, 0, 123457),
        ),
        ("9999", utc(9999, 1, 1), datetime.max.replace(tzinfo=UTC)),
    ],
)
def test_date_ranges_follow_precision(literal: str, start: datetime, end: datetime) -> None:
    value = only(patient(("birthdate", literal))).values[0]
    assert value == DateValue("eq", start, end, literal)
    assert value.start.tzinfo is not None


@pytest.mark.parametrize("prefix", ["eq", "ne", "gt", "lt", "ge", "le", "sa", "eb"])
def test_every_date_prefix(prefix: str) -> None:
    value = only(patient(("birthdate", f"{prefix}2024-03"))).values[0]
    assert value == DateValue(prefix, utc(2024, 3, 1), utc(2024, 4, 1), "2024-03")  # type: ignore[arg-type]


def test_ap_widens_the_range_by_a_day_each_side() -> None:
    value = only(patient(("birthdate", "ap2024-03-01"))).values[0]
    assert value == DateValue("ap", utc(2024, 2, 29), utc(2024, 3, 3), "2024-03-01")
    edge = only(patient(("birthdate", "ap0001-01-01"))).values[0]
    assert isinstance(edge, DateValue)
    assert edge.start == datetime.min.replace(tzinfo=UTC)


def test_date_range_and_several_dates_ored() -> None:
    search = obs(("date", "ge2024-01-01"), ("date", "lt2024-02-01"), ("date", "2020,2021"))
    assert [len(c.values) for c in search.clauses] == [1, 1, 2]


def test_plus_in_a_time_zone_decoded_as_a_space_is_read_as_plus() -> None:
    value = only(obs(("date", "ge2024-03-01T10:00:00 02:00"))).values[0]
    assert isinstance(value, DateValue)
    assert value.start == datetime(2024, 3, 1, 10, tzinfo=timezone(timedelta(hours=2)))
    assert value.literal == "2024-03-01T10:00:00+02:00"


@pytest.mark.parametrize(
    "literal",
    [
        "2024-13",
        "2023-02-29",
        "2024-04-31",
        "2024-03-01T25:00",
        "2024-03-01T10:60",
        "2024-03-01T10:00:00+15:00",
        "24-03-01",
        "2024/03/01",
        "2024-3-1",
        "today",
        "2024-03-01T10",
        "xx2024",
        "0001-01-01T00:00:00+01:00",
    ],
)
def test_invalid_dates_name_parameter_and_value(literal: str) -> None:
    exc = error(patient, ("birthdate", literal))
    assert exc.code == "invalid"
    assert "'birthdate'" in exc.diagnostics
    assert literal in exc.diagnostics or literal[2:] in exc.diagnostics


# --- numbers and quantities --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("100", NumberValue("eq", Decimal(100), Decimal("99.5"), Decimal("100.5"))),
        ("gt0.8", NumberValue("gt", Decimal("0.8"), Decimal("0.75"), Decimal("0.85"))),
        ("le-3", NumberValue("le", Decimal(-3), Decimal("-3.5"), Decimal("-2.5"))),
        ("1e2", NumberValue("eq", Decimal("1e2"), Decimal(50), Decimal(150))),
        ("ap100", NumberValue("ap", Decimal(100), Decimal(90), Decimal(110))),
    ],
)
def test_numbers(raw: str, value: NumberValue) -> None:
    assert only(obs(("probability", raw))).values == (value,)


@pytest.mark.parametrize("raw", ["abc", "1.2.3", "NaN", "Infinity", "gt", "1,5x"])
def test_invalid_numbers(raw: str) -> None:
    exc = error(obs, ("probability", raw))
    assert exc.code == "invalid"
    assert "'probability'" in exc.diagnostics


def test_quantities() -> None:
    values = only(obs(("value-quantity", "gt5.4|http://unitsofmeasure.org|mg,5.4||mg,7"))).values
    assert values == (
        QuantityValue(
            "gt",
            Decimal("5.4"),
            Decimal("5.35"),
            Decimal("5.45"),
            "http://unitsofmeasure.org",
            "mg",
        ),
        QuantityValue("eq", Decimal("5.4"), Decimal("5.35"), Decimal("5.45"), None, "mg"),
        QuantityValue("eq", Decimal(7), Decimal("6.5"), Decimal("7.5"), None, None),
    )
    assert error(obs, ("value-quantity", "5|mg")).code == "invalid"


def test_uri() -> None:
    clause = only(obs(("instantiates", r"http://x/y\,z")))
    assert clause.values == (UriValue("http://x/y,z"),)
    assert error(obs, ("instantiates:below", "http://x")).code == "not-supported"


# --- references and chains ---------------------------------------------------------------------


def test_reference_forms() -> None:
    values = only(
        obs(
            (
                "subject",
                "Patient/123,Group/g1,Patient/123/_history/2,"
                "https://x.example/fhir/R4/Patient/abc,urn:uuid:1b7f",
            )
        )
    ).values
    assert values == (
        ReferenceValue("Patient", "123"),
        ReferenceValue("Group", "g1"),
        ReferenceValue("Patient", "123", "2"),
        ReferenceValue("Patient", "abc", None, "https://x.example/fhir/R4/Patient/abc"),
        ReferenceValue(None, None, None, "urn:uuid:1b7f"),
    )


def test_bare_id_needs_exactly_one_target_type() -> None:
    assert only(obs(("patient", "123"))).values == (ReferenceValue("Patient", "123"),)
    exc = error(obs, ("subject", "123"))
    assert exc.code == "invalid"
    assert "subject:Type" in exc.diagnostics
    clause = only(obs(("subject:Patient", "123")))
    assert clause.modifier == "Patient"
    assert clause.values == (ReferenceValue("Patient", "123"),)


def test_reference_type_must_be_a_target() -> None:
    assert error(obs, ("patient", "Group/1")).code == "invalid"
    assert error(obs, ("subject:Practitioner", "1")).code == "invalid"
    assert error(obs, ("subject:Patient", "Group/1")).code == "invalid"
    assert error(obs, ("subject", "patient/1")).code == "invalid"
    assert error(obs, ("subject", "Patient/1/2")).code == "invalid"
    assert error(obs, ("subject:identifier", "x|1")).code == "not-supported"


def test_chains_keep_the_raw_value() -> None:
    clause = only(obs(("subject:Patient.name", r"peter,paul\,jr")))
    assert clause == Clause("subject", "Patient", (ChainValue(r"peter,paul\,jr"),), "name")
    nested = only(obs(("patient.organization.name:exact", "Acme")))
    assert nested.chain == "organization.name:exact"
    # The caller parses the chained part against the target type.
    target = parse("Patient", [("name", r"peter,paul\,jr")], PATIENT, strict=True)
    assert only(target).values == (StringValue("peter"), StringValue("paul,jr"))


def test_chain_only_on_a_reference() -> None:
    assert error(obs, ("code.system", "x")).code == "invalid"
    assert error(obs, ("patient:missing.name", "x")).code == "invalid"
    assert error(obs, ("patient.", "x")).code == "invalid"
    assert error(obs, ("patient.na me", "x")).code == "invalid"


# --- unknown parameters ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["nickname", "_has:Observation:patient:code", "_text", "_content", "_filter", "_list"]
)
def test_unknown_parameter_strict_is_not_supported(name: str) -> None:
    exc = error(patient, (name, "x"))
    assert exc.code == "not-supported"
    base = name.split(":")[0]
    assert exc.diagnostics == f"Unknown search parameter '{base}' for Patient"


def test_unknown_parameters_lenient_are_dropped_and_listed_once() -> None:
    search = patient(
        ("nickname", "x"),
        ("family", "smith"),
        ("_query", "q"),
        ("nickname", "y"),
        ("_has:Observation:patient:code", "1"),
        strict=False,
    )
    assert search.clauses == (Clause("family", None, (StringValue("smith"),)),)
    assert search.ignored == ("nickname", "_query", "_has")
    assert all(name != "nickname" for name, _ in canonical_query(search))


def test_format_pretty_and_total_method_are_accepted_silently() -> None:
    search = patient(("_format", "json"), ("_pretty", "true"), ("_totalMethod", "count"))
    assert search.clauses == ()
    assert search.ignored == ()


# --- result parameters -------------------------------------------------------------------------


def test_defaults() -> None:
    search = patient()
    assert search == Search((), 50, (), (), (), None, (), None, (), None)
    assert patient(default_count=20).count == 20


@pytest.mark.parametrize(("raw", "count"), [("0", 0), ("10", 10), ("1000", 1000), ("5000", 1000)])
def test_count_is_clamped(raw: str, count: int) -> None:
    assert patient(("_count", raw)).count == count


@pytest.mark.parametrize("raw", ["-1", "ten", "1.5", "+3"])
def test_count_must_be_a_whole_number(raw: str) -> None:
    exc = error(patient, ("_count", raw))
    assert exc.code == "invalid"
    assert "_count" in exc.diagnostics


def test_sort() -> None:
    search = patient(("_sort", "-birthdate,family,-_lastUpdated"))
    assert search.sort == (("birthdate", True), ("family", False), ("_lastUpdated", True))
    exc = error(patient, ("_sort", "-shoe-size"))
    assert exc.code == "not-supported"
    assert "shoe-size" in exc.diagnostics
    assert error(patient, ("_sort", "family,,name")).code == "invalid"
    assert error(patient, ("_sort", "family,-family")).code == "invalid"
    # Unknown sort keys are refused under lenient handling too: the order would be a lie.
    assert error(patient, ("_sort", "nope"), strict=False).code == "not-supported"


def test_result_parameters_may_appear_once_and_take_no_modifier() -> None:
    assert error(patient, ("_count", "1"), ("_count", "2")).code == "invalid"
    assert error(patient, ("_sort:asc", "family")).code == "invalid"
    assert error(patient, ("_count.x", "1")).code == "invalid"


def test_summary_total_elements() -> None:
    assert patient(("_summary", "count")).summary == "count"
    assert patient(("_total", "accurate")).total == "accurate"
    assert patient(("_elements", "name,Patient.birthDate,name")).elements == ("name", "birthDate")
    assert error(patient, ("_summary", "yes")).code == "invalid"
    assert error(patient, ("_total", "all")).code == "invalid"
    assert error(patient, ("_elements", "name,bad-name")).code == "invalid"
    exc = error(patient, ("_summary", "true"), ("_elements", "name"))
    assert "_elements" in exc.diagnostics


def test_includes() -> None:
    search = obs(
        ("_include", "Observation:patient"),
        ("_include", "Observation:subject:Patient,Observation:performer"),
        ("_include:iterate", "Patient:general-practitioner"),
        ("_include:recurse", "*"),
        ("_revinclude", "Provenance:target"),
        ("_revinclude", "*:patient"),
    )
    assert search.includes == (
        Include("Observation", "patient"),
        Include("Observation", "subject", "Patient"),
        Include("Observation", "performer"),
        Include("Patient", "general-practitioner", None, iterate=True),
        Include("*", "*", None, iterate=True),
    )
    assert search.revincludes == (Include("Provenance", "target"), Include("*", "patient"))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("_include", "patient"),
        ("_include", "Observation:"),
        ("_include", "observation:patient"),
        ("_include", "Observation:patient:patient"),
        ("_include", "Observation:patient:Patient:x"),
        ("_include:deep", "Observation:patient"),
    ],
)
def test_bad_includes(name: str, value: str) -> None:
    assert error(obs, (name, value)).code == "invalid"


def test_cursor_is_kept_opaque() -> None:
    assert patient(("_cursor", "eyJrIjoxfQ.sig")).cursor == "eyJrIjoxfQ.sig"
    assert error(patient, ("_cursor", "x" * 3000)).code == "invalid"


def test_costly_searches_are_refused() -> None:
    assert error(patient, ("family", ",".join(["a"] * 101))).code == "too-costly"
    assert error(patient, *[("family", "a")] * 65).code == "too-costly"
    includes = [("_include", "Patient:organization")] * 17
    assert error(patient, *includes).code == "too-costly"


# --- canonical query ---------------------------------------------------------------------------


def test_canonical_query_is_stable_and_drops_ignored() -> None:
    one = patient(
        ("gender", "female"),
        ("family", "b"),
        ("family", "a"),
        ("bogus", "1"),
        ("_count", "20"),
        strict=False,
    )
    two = patient(
        ("_count", "20"), ("family", "a"), ("gender", "female"), ("family", "b"), strict=False
    )
    assert canonical_query(one) == canonical_query(two)
    assert canonical_query(one) == [
        ("family", "a"),
        ("family", "b"),
        ("gender", "female"),
        ("_count", "20"),
    ]


def test_canonical_query_round_trip() -> None:
    pairs = [
        ("subject:Patient.name", r"peter,paul\,jr"),
        ("subject", "123,https://x.example/fhir/R4/Patient/abc"),
        ("code", r"http://loinc.org|1234-5,|x\|y,plain,urn:s|"),
        ("code:text", r"blood\, pressure"),
        ("date", "ge2024-03-01T10:00:00+02:00"),
        ("date", "ap2024,eq2023-12"),
        ("value-quantity", "lt5.40|http://unitsofmeasure.org|mg,1e2"),
        ("probability", "ne0.5"),
        ("instantiates", r"http://x/a\$b"),
        ("patient:missing", "false"),
        ("_id:not", "a1"),
        ("_sort", "-date,_id"),
        ("_include", "Observation:patient"),
        ("_include:iterate", "Patient:organization:Organization"),
        ("_revinclude", "*"),
        ("_elements", "code,subject"),
        ("_total", "accurate"),
        ("_count", "7"),
        ("_cursor", "abc"),
    ]
    obs_params = {**OBSERVATION, "subject": ParamDef("subject", "reference", ("Patient",))}
    first = parse("Observation", pairs, obs_params, strict=True)
    query = canonical_query(first)
    second = parse("Observation", query, obs_params, strict=True)
    assert canonical_query(second) == query
    assert set(second.clauses) == set(first.clauses)
    assert replace(second, clauses=first.clauses) == first
    rendered = dict(query)
    assert rendered["code:text"] == r"blood\, pressure"
    assert rendered["subject"] == "Patient/123,https://x.example/fhir/R4/Patient/abc"
    assert ("date", "ap2024,2023-12") in query


def test_next_link_replaces_the_cursor() -> None:
    search = patient(("family", "a"), ("_summary", "count"))
    query = canonical_query(replace(search, cursor="next-page"))
    assert query[-3:] == [("_summary", "count"), ("_count", "50"), ("_cursor", "next-page")]
