"""The server-drawn line chart: points placed in time and value, the target drawn as a band
(or a line), round ticks, and a description that says every value in words."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from carebridge.web.charts import line_chart

D = Decimal
JAN = dt.date(2026, 1, 5)


def test_points_run_left_to_right_in_time_and_up_with_value() -> None:
    chart = line_chart(
        chart_id="a1c",
        title="HbA1c over time",
        unit="%",
        readings=[
            (JAN, D("8.1"), False),
            (JAN + dt.timedelta(days=30), D("7.4"), False),
            (JAN + dt.timedelta(days=90), D("6.8"), True),
        ],
        comparator="<",
        low=D("7"),
        target_words="below 7 %",
    )
    first, middle, last = chart.points
    assert first.x == chart.left
    assert last.x == chart.left + chart.plot_width
    assert first.x < middle.x < last.x
    assert middle.x - first.x < last.x - middle.x  # 30 days, then 60
    assert first.y < middle.y < last.y  # lower values sit lower on the page
    assert [p.text for p in chart.points] == ["8.1 %", "7.4 %", "6.8 %"]
    assert chart.latest is last
    ys = [y for y, _ in chart.y_ticks]
    assert ys == sorted(ys, reverse=True)
    assert all(chart.top <= y <= chart.bottom for y in ys)


def test_a_below_target_is_a_band_down_to_the_axis_with_room_under_the_line() -> None:
    chart = line_chart(
        chart_id="sbp",
        title="Systolic",
        unit="mmHg",
        readings=[(JAN, D("150"), False), (JAN + dt.timedelta(days=7), D("140"), False)],
        comparator="<",
        low=D("130"),
        target_words="below 130 mmHg",
    )
    band = chart.band
    assert band is not None
    assert band.bottom == chart.bottom
    assert band.top < band.bottom  # the band has a height even though no value is in it
    assert band.lines == (band.top,)
    assert band.label == "Target: below 130 mmHg"


def test_between_and_exact_targets() -> None:
    between = line_chart(
        chart_id="g",
        title="Glucose",
        unit="mg/dL",
        readings=[(JAN, D("200"), False)],
        comparator="between",
        low=D("80"),
        high=D("130"),
    )
    assert between.band is not None
    assert len(between.band.lines) == 2
    exact = line_chart(
        chart_id="ed",
        title="ED visits",
        unit="visits",
        readings=[(JAN, D("0"), True)],
        comparator="=",
        low=D("0"),
    )
    assert exact.band is not None
    assert exact.band.is_line
    assert exact.points[0].x == exact.left + exact.plot_width / 2  # one reading: centred


def test_the_description_says_every_value_and_the_verdict() -> None:
    chart = line_chart(
        chart_id="w",
        title="Walking over time",
        unit="min/week",
        readings=[(JAN, D("60"), False), (JAN + dt.timedelta(days=14), D("150.000"), True)],
        comparator=">=",
        low=D("150"),
        target_words="at least 150 min/week",
    )
    assert chart.description == (
        "Walking over time, 2 measurements. 05 Jan 2026: 60 min/week; 19 Jan 2026: "
        "150 min/week. Target at least 150 min/week; the latest, 150 min/week, meets it."
    )
    empty = line_chart(chart_id="e", title="Nothing", unit=None, readings=[])
    assert empty.description == "Nothing: nothing measured yet."
    assert empty.band is None
