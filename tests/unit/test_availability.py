from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from carebridge.lib.errors import ValidationFailed
from carebridge.scheduling.availability import (
    Interval,
    WeeklyRule,
    check_zone,
    expand,
    holiday_blocks,
    local_parts,
    merge,
    parse_rrule,
    slots,
    subtract,
)

CHICAGO = ZoneInfo("America/Chicago")
LONDON = ZoneInfo("Europe/London")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def rule(
    text: str = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
    *,
    start: time = time(9),
    end: time = time(17),
    valid_from: date = date(2026, 1, 1),
    valid_until: date | None = None,
    exdates: tuple[date, ...] = (),
    zone: str = "America/Chicago",
) -> WeeklyRule:
    return WeeklyRule(
        rrule=text,
        start=start,
        end=end,
        valid_from=valid_from,
        valid_until=valid_until,
        exdates=exdates,
        zone=zone,
        key=("practitioner", "location", "rule-1"),
    )


def local_days(intervals: Iterable[Interval], zone: ZoneInfo) -> list[date]:
    return [start.astimezone(zone).date() for start, _ in intervals]


def local_times(intervals: Iterable[Interval], zone: ZoneInfo) -> set[tuple[time, time]]:
    return {(s.astimezone(zone).time(), e.astimezone(zone).time()) for s, e in intervals}


# --------------------------------------------------------------------------- expansion


def test_weekly_rule_gives_the_selected_weekdays_as_utc_intervals() -> None:
    found = expand(
        rule("FREQ=WEEKLY;BYDAY=MO,WE,FR"), utc(2026, 2, 1), utc(2026, 2, 15)
    )  # winter: Chicago is UTC-6
    assert found == [(utc(2026, 2, day, 15), utc(2026, 2, day, 23)) for day in (2, 4, 6, 9, 11, 13)]
    assert all(s.tzinfo is UTC and e.tzinfo is UTC for s, e in found)


def test_interval_two_keeps_its_fortnight_phase_far_from_valid_from() -> None:
    # valid_from is a Monday; the first occurrence is Tuesday 6 January, then every 14 days.
    fortnightly = rule("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU", valid_from=date(2026, 1, 5))
    early = local_days(expand(fortnightly, utc(2026, 1, 1), utc(2026, 2, 10)), CHICAGO)
    assert early == [date(2026, 1, 6), date(2026, 1, 20), date(2026, 2, 3)]
    late = local_days(expand(fortnightly, utc(2028, 6, 1), utc(2028, 8, 1)), CHICAGO)
    assert len(late) == 4
    assert all((day - date(2026, 1, 6)).days % 14 == 0 for day in late)
    assert all(day.isoweekday() == 2 for day in late)


def test_exdates_are_skipped() -> None:
    closed = (date(2026, 2, 4), date(2026, 2, 6))
    found = expand(
        rule("FREQ=WEEKLY;BYDAY=MO,WE,FR", exdates=closed), utc(2026, 2, 1), utc(2026, 2, 8)
    )
    assert local_days(found, CHICAGO) == [date(2026, 2, 2)]


def test_valid_from_and_valid_until_are_inclusive_bounds() -> None:
    bounded = rule("FREQ=DAILY", valid_from=date(2026, 2, 10), valid_until=date(2026, 2, 12))
    found = expand(bounded, utc(2026, 2, 1), utc(2026, 3, 1))
    assert local_days(found, CHICAGO) == [date(2026, 2, 10), date(2026, 2, 11), date(2026, 2, 12)]
    assert expand(bounded, utc(2026, 2, 13), utc(2026, 4, 1)) == []
    assert expand(bounded, utc(2026, 1, 1), utc(2026, 2, 9)) == []


def test_until_in_the_rule_is_a_local_date() -> None:
    found = expand(rule("FREQ=DAILY;UNTIL=20260204"), utc(2026, 2, 1), utc(2026, 2, 10))
    assert local_days(found, CHICAGO)[-1] == date(2026, 2, 4)


def test_count_counts_from_valid_from() -> None:
    counted = rule("FREQ=WEEKLY;COUNT=3;BYDAY=MO", valid_from=date(2026, 1, 1))
    found = expand(counted, utc(2026, 1, 1), utc(2026, 12, 31))
    assert local_days(found, CHICAGO) == [date(2026, 1, 5), date(2026, 1, 12), date(2026, 1, 19)]
    assert expand(counted, utc(2026, 1, 13), utc(2026, 12, 31))[0][0] == utc(2026, 1, 19, 15)


def test_intervals_are_clipped_to_the_window() -> None:
    found = expand(rule("FREQ=DAILY"), utc(2026, 2, 2, 18), utc(2026, 2, 3, 16, 30))
    assert found == [
        (utc(2026, 2, 2, 18), utc(2026, 2, 2, 23)),
        (utc(2026, 2, 3, 15), utc(2026, 2, 3, 16, 30)),
    ]


def test_empty_or_naive_windows() -> None:
    assert expand(rule(), utc(2026, 2, 3), utc(2026, 2, 3)) == []
    with pytest.raises(ValueError, match="aware"):
        expand(rule(), datetime(2026, 2, 3), utc(2026, 2, 4))  # noqa: DTZ001


def test_chicago_working_hours_across_spring_forward_2026() -> None:
    # Clocks go forward at 02:00 on Sunday 8 March 2026: CST (UTC-6) becomes CDT (UTC-5).
    found = expand(rule(), utc(2026, 3, 5), utc(2026, 3, 11))
    assert found == [
        (utc(2026, 3, 5, 15), utc(2026, 3, 5, 23)),
        (utc(2026, 3, 6, 15), utc(2026, 3, 6, 23)),
        (utc(2026, 3, 9, 14), utc(2026, 3, 9, 22)),
        (utc(2026, 3, 10, 14), utc(2026, 3, 10, 22)),
    ]
    assert local_times(found, CHICAGO) == {(time(9), time(17))}
    sunday = expand(rule("FREQ=DAILY"), utc(2026, 3, 8), utc(2026, 3, 9))
    assert sunday == [(utc(2026, 3, 8, 14), utc(2026, 3, 8, 22))]


def test_chicago_working_hours_across_fall_back_2026() -> None:
    # Clocks go back at 02:00 on Sunday 1 November 2026: CDT (UTC-5) becomes CST (UTC-6).
    found = expand(rule(), utc(2026, 10, 30), utc(2026, 11, 3))
    assert found == [
        (utc(2026, 10, 30, 14), utc(2026, 10, 30, 22)),
        (utc(2026, 11, 2, 15), utc(2026, 11, 2, 23)),
    ]
    assert local_times(found, CHICAGO) == {(time(9), time(17))}


def test_london_working_hours_across_both_2026_changes() -> None:
    london = rule(zone="Europe/London")
    spring = expand(london, utc(2026, 3, 27), utc(2026, 3, 31))  # BST from Sun 29 March
    assert spring == [
        (utc(2026, 3, 27, 9), utc(2026, 3, 27, 17)),
        (utc(2026, 3, 30, 8), utc(2026, 3, 30, 16)),
    ]
    autumn = expand(london, utc(2026, 10, 23), utc(2026, 10, 27))  # GMT from Sun 25 October
    assert autumn == [
        (utc(2026, 10, 23, 8), utc(2026, 10, 23, 16)),
        (utc(2026, 10, 26, 9), utc(2026, 10, 26, 17)),
    ]
    assert local_times(spring + autumn, LONDON) == {(time(9), time(17))}


def test_a_start_in_the_spring_forward_gap_moves_past_the_gap() -> None:
    # 02:30 does not exist in Chicago on 8 March 2026; fold=0 reads it with the CST offset,
    # which is 08:30 UTC = 03:30 CDT. The block keeps its 04:00 end, so it is 30 minutes long.
    early = rule("FREQ=DAILY", start=time(2, 30), end=time(4))
    found = expand(early, utc(2026, 3, 7), utc(2026, 3, 10))
    assert found == [
        (utc(2026, 3, 7, 8, 30), utc(2026, 3, 7, 10)),
        (utc(2026, 3, 8, 8, 30), utc(2026, 3, 8, 9)),
        (utc(2026, 3, 9, 7, 30), utc(2026, 3, 9, 9)),
    ]
    assert found[1][0].astimezone(CHICAGO).time() == time(3, 30)


def test_blocks_inside_or_ending_in_the_gap() -> None:
    inside = rule("FREQ=DAILY", start=time(2), end=time(2, 45))
    moved = expand(inside, utc(2026, 3, 8), utc(2026, 3, 9))
    assert local_times(moved, CHICAGO) == {(time(3), time(3, 45))}
    crossing = rule("FREQ=DAILY", start=time(2, 30), end=time(3, 15))
    days = local_days(expand(crossing, utc(2026, 3, 7), utc(2026, 3, 10)), CHICAGO)
    assert days == [date(2026, 3, 7), date(2026, 3, 9)]


def test_a_repeated_fall_back_time_is_its_first_occurrence() -> None:
    # 01:00-02:00 happens twice on 1 November 2026; 01:00 is read as 01:00 CDT (06:00 UTC),
    # so a 01:00-03:00 block spans three real hours that day.
    night = rule("FREQ=DAILY", start=time(1), end=time(3))
    found = expand(night, utc(2026, 11, 1), utc(2026, 11, 2))
    assert found == [(utc(2026, 11, 1, 6), utc(2026, 11, 1, 9))]


def _expected_by_iterating_from_valid_from(
    rule_: WeeklyRule, window_start: datetime, window_end: datetime
) -> list[Interval]:
    zone = ZoneInfo(rule_.zone)
    dtstart = datetime.combine(rule_.valid_from, time())
    last = window_end.astimezone(zone).date() + timedelta(days=1)
    if rule_.valid_until is not None:
        last = min(last, rule_.valid_until)
    out: list[Interval] = []
    for moment in rrulestr(rule_.rrule, dtstart=dtstart).between(
        dtstart, datetime.combine(last, time()), inc=True
    ):
        day = moment.date()
        if day in rule_.exdates:
            continue
        start = datetime.combine(day, rule_.start, tzinfo=zone).astimezone(UTC)
        end = datetime.combine(day, rule_.end, tzinfo=zone).astimezone(UTC)
        start, end = max(start, window_start), min(end, window_end)
        if start < end:
            out.append((start, end))
    return out


WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


@st.composite
def recurrence_texts(draw: st.DrawFn) -> str:
    freq = draw(st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]))
    parts = [f"FREQ={freq}"]
    interval = draw(st.integers(1, 4))
    if interval > 1:
        parts.append(f"INTERVAL={interval}")
    if draw(st.booleans()):
        days = draw(st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=4, unique=True))
        parts.append("BYDAY=" + ",".join(days))
        if freq in ("WEEKLY", "MONTHLY") and draw(st.booleans()):
            position = draw(st.integers(1, len(days)))
            parts.append(f"BYSETPOS={draw(st.sampled_from([position, -position]))}")
    elif freq in ("MONTHLY", "YEARLY") and draw(st.booleans()):
        parts.append(f"BYMONTHDAY={draw(st.sampled_from([1, 15, 28, -1]))}")
    if freq in ("MONTHLY", "YEARLY", "DAILY") and draw(st.booleans()):
        months = draw(st.lists(st.integers(1, 12), min_size=1, max_size=3, unique=True))
        parts.append("BYMONTH=" + ",".join(map(str, months)))
    if draw(st.booleans()):
        parts.append(f"WKST={draw(st.sampled_from(WEEKDAYS))}")
    return ";".join(parts)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=recurrence_texts(),
    valid_from=st.dates(date(2020, 1, 1), date(2026, 12, 31)),
    offset_days=st.integers(-40, 3000),
    length_hours=st.integers(1, 24 * 70),
    zone=st.sampled_from(["America/Chicago", "Europe/London", "Asia/Kolkata", "UTC"]),
)
def test_expanding_near_the_window_matches_iterating_from_valid_from(
    text: str, valid_from: date, offset_days: int, length_hours: int, zone: str
) -> None:
    try:
        rule_ = rule(text, valid_from=valid_from, zone=zone, start=time(8, 30), end=time(12))
    except ValidationFailed:
        assume(False)
        raise
    window_start = datetime.combine(valid_from, time(), tzinfo=UTC) + timedelta(days=offset_days)
    window_end = window_start + timedelta(hours=length_hours)
    assert expand(rule_, window_start, window_end) == _expected_by_iterating_from_valid_from(
        rule_, window_start, window_end
    )


def test_a_weekly_rule_without_byday_repeats_on_the_valid_from_weekday() -> None:
    thursdays = rule("FREQ=WEEKLY", valid_from=date(2026, 1, 1))  # a Thursday
    days = local_days(expand(thursdays, utc(2027, 3, 1), utc(2027, 3, 31)), CHICAGO)
    assert days
    assert all(day.isoweekday() == 4 for day in days)


def test_monthly_positions_far_from_valid_from() -> None:
    first_mondays = rule("FREQ=MONTHLY;BYDAY=1MO", valid_from=date(2026, 1, 1))
    days = local_days(expand(first_mondays, utc(2030, 1, 1), utc(2030, 4, 1)), CHICAGO)
    assert days == [date(2030, 1, 7), date(2030, 2, 4), date(2030, 3, 4)]


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "text",
    [
        "FREQ=SOMETIMES",
        "FREQ=MINUTELY",
        "FREQ=HOURLY;BYDAY=MO",
        "FREQ=SECONDLY",
        "BYDAY=XX",
        "FREQ=WEEKLY;BYDAY=XX",
        "garbage",
        "@@@;;==",
        "",
        "FREQ=WEEKLY;INTERVAL=0",
        "FREQ=WEEKLY;INTERVAL=-2",
        "FREQ=WEEKLY;COUNT=two",
        "FREQ=DAILY;BYHOUR=9",
        "FREQ=WEEKLY;BYDAY=MO;BYDAY=TU",
        "FREQ=WEEKLY;COLOUR=BLUE",
        "FREQ=WEEKLY;BYDAY=1MO",
        "FREQ=WEEKLY;BYMONTHDAY=3",
        "FREQ=MONTHLY;BYMONTH=13",
        "FREQ=MONTHLY;BYDAY=6MO",
        "FREQ=WEEKLY;UNTIL=20261231T000000Z",
        "FREQ=WEEKLY;UNTIL=20261340",
        "FREQ=WEEKLY;UNTIL=soon",
        "FREQ=WEEKLY;COUNT=3;UNTIL=20261231",
        "DTSTART:20260101T090000\nRRULE:FREQ=WEEKLY",
        "FREQ=WEEKLY;DTSTART=20260101",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
        "FREQ=DAILY;BYSETPOS=2",
        "FREQ=WEEKLY;BYDAY=MO,TU;BYSETPOS=3",
        "FREQ=DAILY;WKST=XX",
    ],
)
def test_invalid_rules_are_refused_naming_the_rule(text: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_rrule(text)
    message = caught.value.fields["rrule"]
    assert f"{' '.join(text.split())!r}" in message
    assert caught.value.status == 422


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("FREQ=WEEKLY;BYDAY=MO,WE,FR", "FREQ=WEEKLY;BYDAY=MO,WE,FR"),
        ("rrule:freq=weekly; byday=mo, we;", "FREQ=WEEKLY;BYDAY=MO,WE"),
        ("BYDAY=TU;INTERVAL=2;FREQ=WEEKLY", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"),
        ("FREQ=MONTHLY;BYDAY=-1FR", "FREQ=MONTHLY;BYDAY=-1FR"),
        ("FREQ=DAILY;UNTIL=20261231", "FREQ=DAILY;UNTIL=20261231"),
    ],
)
def test_valid_rules_are_normalized(text: str, normalized: str) -> None:
    assert parse_rrule(text) == normalized
    assert rule(text).rrule == normalized


def test_a_rule_that_never_occurs_after_valid_from_is_refused() -> None:
    leap_days = "FREQ=YEARLY;INTERVAL=4;BYMONTH=2;BYMONTHDAY=29"
    assert parse_rrule(leap_days, valid_from=date(2024, 1, 1)) == leap_days
    with pytest.raises(ValidationFailed, match="no occurrence on or after 2025-01-01"):
        rule(leap_days, valid_from=date(2025, 1, 1))


def test_rule_fields_are_checked() -> None:
    with pytest.raises(ValidationFailed) as caught:
        rule(start=time(17), end=time(9))
    assert "end_time" in caught.value.fields
    with pytest.raises(ValidationFailed) as caught:
        rule(valid_from=date(2026, 2, 1), valid_until=date(2026, 1, 1))
    assert "valid_until" in caught.value.fields
    with pytest.raises(ValidationFailed) as caught:
        rule(zone="Mars/Olympus_Mons")
    assert "Mars/Olympus_Mons" in caught.value.fields["timezone"]
    with pytest.raises(ValidationFailed) as caught:
        rule(start=time(9, tzinfo=UTC))
    assert "start_time" in caught.value.fields


def test_rules_are_hashable_values() -> None:
    assert rule("freq=daily") == rule("FREQ=DAILY")
    assert len({rule(), rule()}) == 1


@pytest.mark.parametrize("name", ["America/Chicago", "Europe/London", "UTC", "Asia/Kathmandu"])
def test_known_zones_pass(name: str) -> None:
    assert check_zone(name) == name


@pytest.mark.parametrize(
    "name", ["Europe/Nowhere", "", "America", "america/chicago", "../etc/passwd", "localtime"]
)
def test_unknown_zones_are_refused(name: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_zone(name)
    assert repr(name) in caught.value.fields["timezone"]


# --------------------------------------------------------------------------- intervals

BASE = utc(2026, 3, 2)


def minutes(a: int, b: int) -> Interval:
    return BASE + timedelta(minutes=a), BASE + timedelta(minutes=b)


def covered(intervals: Iterable[Interval]) -> set[int]:
    return {
        minute
        for start, end in intervals
        for minute in range(
            int((start - BASE).total_seconds()) // 60, int((end - BASE).total_seconds()) // 60
        )
    }


minute_intervals = st.lists(
    st.tuples(st.integers(0, 400), st.integers(0, 400)).map(lambda ab: minutes(*ab)),
    max_size=12,
)


def assert_sorted_disjoint_utc(intervals: list[Interval]) -> None:
    for start, end in intervals:
        assert start < end
        assert start.tzinfo is UTC
        assert end.tzinfo is UTC
    for (_, end), (next_start, _) in pairwise(intervals):
        assert end < next_start


@given(minute_intervals)
def test_merge_is_the_sorted_disjoint_union(intervals: list[Interval]) -> None:
    merged = merge(intervals)
    assert_sorted_disjoint_utc(merged)
    assert covered(merged) == covered(intervals)


@given(free=minute_intervals, busy=minute_intervals)
def test_subtract_is_free_minus_busy(free: list[Interval], busy: list[Interval]) -> None:
    result = subtract(free, busy)
    assert_sorted_disjoint_utc(result)
    assert covered(result) == covered(free) - covered(busy)
    merged_free = merge(free)
    for start, end in result:
        assert any(fs <= start and end <= fe for fs, fe in merged_free)
        assert not any(bs < end and start < be for bs, be in busy if bs < be)


def test_subtract_and_merge_accept_other_zones_and_answer_in_utc() -> None:
    local_free = (datetime(2026, 3, 2, 9, tzinfo=CHICAGO), datetime(2026, 3, 2, 17, tzinfo=CHICAGO))
    busy = [
        (utc(2026, 3, 2, 16), utc(2026, 3, 2, 17)),
        (utc(2026, 3, 2, 15, 30), utc(2026, 3, 2, 16)),
    ]
    assert subtract([local_free], busy) == [
        (utc(2026, 3, 2, 15), utc(2026, 3, 2, 15, 30)),
        (utc(2026, 3, 2, 17), utc(2026, 3, 2, 23)),
    ]
    assert merge(
        [(utc(2026, 3, 2, 9), utc(2026, 3, 2, 10)), (utc(2026, 3, 2, 10), utc(2026, 3, 2, 11))]
    ) == [(utc(2026, 3, 2, 9), utc(2026, 3, 2, 11))]
    with pytest.raises(ValueError, match="aware"):
        merge([(datetime(2026, 3, 2, 9), datetime(2026, 3, 2, 10))])  # noqa: DTZ001


def test_holiday_blocks_are_whole_local_days() -> None:
    blocks = holiday_blocks(
        [date(2026, 3, 8), date(2026, 11, 1), date(2026, 3, 8)], "America/Chicago"
    )
    assert blocks == [
        (utc(2026, 3, 8, 6), utc(2026, 3, 9, 5)),  # 23 hours
        (utc(2026, 11, 1, 5), utc(2026, 11, 2, 6)),  # 25 hours
    ]
    run = holiday_blocks([date(2026, 12, 25), date(2026, 12, 24)], "Europe/London")
    assert run == [(utc(2026, 12, 24), utc(2026, 12, 26))]
    with pytest.raises(ValidationFailed):
        holiday_blocks([date(2026, 1, 1)], "Nowhere/Special")


def test_holidays_remove_whole_working_days() -> None:
    working = expand(rule(), utc(2026, 5, 24), utc(2026, 5, 31))
    open_ = subtract(working, holiday_blocks([date(2026, 5, 25)], "America/Chicago"))
    assert local_days(open_, CHICAGO) == [
        date(2026, 5, 26),
        date(2026, 5, 27),
        date(2026, 5, 28),
        date(2026, 5, 29),
    ]


# --------------------------------------------------------------------------- slots


def test_slots_fit_duration_and_buffer() -> None:
    free = [(utc(2026, 3, 2, 9), utc(2026, 3, 2, 10))]
    found = list(slots(free, timedelta(minutes=30), timedelta(minutes=10)))
    assert found == [utc(2026, 3, 2, 9), utc(2026, 3, 2, 9, 15)]
    assert list(slots(free, timedelta(minutes=60), timedelta(0))) == [utc(2026, 3, 2, 9)]
    assert list(slots(free, timedelta(minutes=60), timedelta(minutes=1))) == []


def test_slots_round_up_to_the_step_and_respect_not_before() -> None:
    free = [(utc(2026, 3, 2, 9, 7), utc(2026, 3, 2, 10))]
    found = list(slots(free, timedelta(minutes=20), timedelta(0)))
    assert found == [utc(2026, 3, 2, 9, 15), utc(2026, 3, 2, 9, 30)]
    later = list(
        slots(free, timedelta(minutes=20), timedelta(0), not_before=utc(2026, 3, 2, 9, 16))
    )
    assert later == [utc(2026, 3, 2, 9, 30)]
    on_time = list(
        slots(free, timedelta(minutes=20), timedelta(0), not_before=utc(2026, 3, 2, 9, 30))
    )
    assert on_time == [utc(2026, 3, 2, 9, 30)]


def test_slots_span_touching_free_intervals_and_come_in_order() -> None:
    free = [
        (utc(2026, 3, 3, 9, 30), utc(2026, 3, 3, 10)),
        (utc(2026, 3, 2, 9, 30), utc(2026, 3, 2, 10)),
        (utc(2026, 3, 2, 9), utc(2026, 3, 2, 9, 30)),
    ]
    found = list(slots(free, timedelta(minutes=30), timedelta(0), step=timedelta(minutes=30)))
    assert found == [utc(2026, 3, 2, 9), utc(2026, 3, 2, 9, 30), utc(2026, 3, 3, 9, 30)]


def test_slots_refuse_nonsense_arguments() -> None:
    free = [(utc(2026, 3, 2, 9), utc(2026, 3, 2, 10))]
    with pytest.raises(ValueError, match="duration"):
        list(slots(free, timedelta(0), timedelta(0)))
    with pytest.raises(ValueError, match="buffer"):
        list(slots(free, timedelta(minutes=5), timedelta(minutes=-1)))
    with pytest.raises(ValueError, match="step"):
        list(slots(free, timedelta(minutes=5), timedelta(0), step=timedelta(0)))
    with pytest.raises(ValueError, match="aware"):
        list(slots(free, timedelta(minutes=5), timedelta(0), not_before=datetime(2026, 3, 2)))  # noqa: DTZ001


@given(
    free=minute_intervals,
    duration=st.integers(1, 120),
    buffer=st.integers(0, 30),
    step=st.sampled_from([5, 10, 15, 30, 60]),
    not_before=st.none() | st.integers(-10, 410),
)
def test_slots_are_exactly_the_aligned_starts_that_fit(
    free: list[Interval], duration: int, buffer: int, step: int, not_before: int | None
) -> None:
    earliest = None if not_before is None else BASE + timedelta(minutes=not_before)
    found = list(
        slots(
            free,
            timedelta(minutes=duration),
            timedelta(minutes=buffer),
            step=timedelta(minutes=step),
            not_before=earliest,
        )
    )
    merged = merge(free)
    expected = [
        BASE + timedelta(minutes=m)
        for m in range(0, 401, step)
        if (not_before is None or m >= not_before)
        and any(
            fs <= BASE + timedelta(minutes=m)
            and BASE + timedelta(minutes=m + duration + buffer) <= fe
            for fs, fe in merged
        )
    ]
    assert found == expected


# --------------------------------------------------------------------------- local parts


def test_local_parts_give_local_date_time_and_iso_weekday() -> None:
    assert local_parts(utc(2026, 3, 10, 14, 30), "America/Chicago") == (
        date(2026, 3, 10),
        time(9, 30),
        2,
    )
    # 03:00 UTC on Tuesday is still Monday evening in Chicago.
    assert local_parts(utc(2026, 3, 10, 3), "America/Chicago") == (date(2026, 3, 9), time(22), 1)
    assert local_parts(utc(2026, 7, 1, 12), "Asia/Kolkata")[1] == time(17, 30)
    with pytest.raises(ValidationFailed):
        local_parts(utc(2026, 3, 10), "Atlantis/Capital")
    with pytest.raises(ValueError, match="aware"):
        local_parts(datetime(2026, 3, 10), "America/Chicago")  # noqa: DTZ001
