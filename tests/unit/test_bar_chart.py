"""The bar chart geometry (web.charts.bar_chart) and the month options of the line chart."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from carebridge.web import charts


def test_bars_share_a_zero_and_a_percent_scale() -> None:
    c = charts.bar_chart(
        chart_id="t",
        title="Follow-up by provider",
        bars=[("Dr A", 50.0, "50 % (1 of 2)"), ("Dr B", 100.0, "100 %"), ("Nobody", None, "—")],
        x_label="Rate, %",
        y_label="Provider",
        maximum=100.0,
    )
    plot = charts.BAR_WIDTH - charts.BAR_LEFT - charts.BAR_RIGHT
    assert [b.width for b in c.bars] == [plot / 2, plot, 0.0]
    # Bars stacked from the top, one bar and one gap apart.
    assert c.bars[1].y - c.bars[0].y == charts.BAR + charts.BAR_GAP
    assert c.plot_height == 3 * (charts.BAR + charts.BAR_GAP) + charts.BAR_GAP
    # Ticks every 20 from 0 to 100, at the left edge and the right edge of the plot.
    assert [label for _, label in c.ticks] == ["0", "20", "40", "60", "80", "100"]
    assert c.ticks[0][0] == charts.BAR_LEFT
    assert c.ticks[-1][0] == charts.BAR_LEFT + plot
    assert c.description == (
        "Follow-up by provider, 3 bars. Dr A: 50 % (1 of 2); Dr B: 100 %; Nobody: —."
    )


def test_bars_without_a_maximum_round_up_and_an_empty_chart_says_so() -> None:
    c = charts.bar_chart(
        chart_id="t", title="Days", bars=[("A", 7.0, "7")], x_label="d", y_label="who"
    )
    # 7 over about 5 ticks: step 2 (1.4 rounded up to a nice 2), scale 0..8.
    assert [label for _, label in c.ticks] == ["0", "2", "4", "6", "8"]
    assert c.bars[0].width == 7 / 8 * (charts.BAR_WIDTH - charts.BAR_LEFT - charts.BAR_RIGHT)
    empty = charts.bar_chart(chart_id="e", title="Days", bars=[], x_label="d", y_label="who")
    assert empty.description == "Days: nothing to show."
    assert empty.bars == []


def test_line_chart_by_month_labels() -> None:
    c = charts.line_chart(
        chart_id="m",
        title="Rate by month",
        unit="%",
        readings=[
            (dt.date(2010, 1, 1), Decimal("50"), None),
            (dt.date(2010, 2, 1), Decimal("75.5"), None),
        ],
        x_label="Month",
        day_format="%b %Y",
        tick_format="%b",
    )
    assert c.x_label == "Month"
    assert [p.label for p in c.points] == ["Jan 2010", "Feb 2010"]
    assert [label for _, label in c.x_ticks] == ["Jan", "Feb"]
    assert c.description == "Rate by month, 2 measurements. Jan 2010: 50 %; Feb 2010: 75.5 %."
    # Without a fixed range the scale hugs the values; with 0..100 it shows all of it.
    assert c.y_ticks[0][1] != "0"
    whole = charts.line_chart(
        chart_id="w",
        title="t",
        unit="%",
        readings=[(dt.date(2010, 1, 1), Decimal(0), None)],
        y_range=(0.0, 100.0),
    )
    assert [label for _, label in whole.y_ticks] == ["0", "20", "40", "60", "80", "100"]
    # The default stays the day, as the care-plan goal charts use it.
    day = charts.line_chart(
        chart_id="d", title="t", unit=None, readings=[(dt.date(2010, 1, 5), Decimal(1), None)]
    )
    assert day.x_label == "Date measured"
    assert day.points[0].label == "05 Jan 2010"
