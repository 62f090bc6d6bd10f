"""Small server-drawn charts (UI.md rule 10): a line chart of measurements over time with
the target drawn as a band or a line, and a horizontal bar chart comparing groups.

``line_chart`` works out the geometry in SVG user units; the ``line_chart`` macro in
``web/charts.html`` draws it as an ``<svg role="img">`` named by its ``<title>`` and
described by a ``<desc>`` that says every value in words, with the values as a table beside
it. Colours are presentation attributes (the Content Security Policy allows no inline
style), and meeting the target is shown by shape as well as colour: a filled dot meets it,
a hollow one does not. The quality screens draw a ``LineChart`` as a month trend
(``trend_chart``) and a ``BarChart`` (``bar_chart``) with the macros in
``analytics/_parts.html``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

WIDTH, HEIGHT = 560, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 24, 16, 44
NICE = (1, 2, 2.5, 5, 10)
TICKS = 5


@dataclass(frozen=True)
class Point:
    day: dt.date
    value: Decimal
    x: float
    y: float
    text: str  # "7.4 %"
    meets: bool | None  # None: there is no target
    label: str = ""  # the day as the chart says it ("24 Nov 2026", or "Nov 2026" by month)


@dataclass(frozen=True)
class Band:
    """The target drawn: a shaded band (``top`` above ``bottom``) edged by dashed ``lines``
    at the target's numbers, or one line when equal."""

    top: float
    bottom: float
    label: str
    lines: tuple[float, ...] = ()

    @property
    def is_line(self) -> bool:
        return self.top == self.bottom


@dataclass(frozen=True)
class LineChart:
    id: str
    title: str
    description: str
    width: int
    height: int
    left: int
    top: int
    plot_width: int
    plot_height: int
    points: list[Point]
    y_ticks: list[tuple[float, str]]
    x_ticks: list[tuple[float, str]]
    band: Band | None
    y_label: str
    target_words: str | None
    x_label: str = "Date measured"

    @property
    def path(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)

    @property
    def bottom(self) -> int:
        return self.top + self.plot_height

    @property
    def latest(self) -> Point | None:
        return self.points[-1] if self.points else None


def number(value: Decimal | float) -> str:
    """A value without trailing zeros: 7.000 -> "7", 7.250 -> "7.25"."""
    text = f"{Decimal(str(value)):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _with_unit(value: Decimal | float, unit: str | None) -> str:
    return f"{number(value)} {unit}" if unit else number(value)


def _step(span: float) -> float:
    """A round tick step that puts about ``TICKS`` ticks over ``span``."""
    raw = span / TICKS
    power = 10.0 ** math.floor(math.log10(raw))
    return next(float(n * power) for n in NICE if n * power >= raw)


def _scale(values: Sequence[float]) -> tuple[float, float, float]:
    low, high = min(values), max(values)
    if low == high:
        pad = abs(low) * 0.1 or 1.0
        low, high = low - pad, high + pad
    step = _step(high - low)
    return math.floor(low / step) * step, math.ceil(high / step) * step, step


def _day(day: dt.date) -> str:
    return f"{day:%d %b %Y}"


def line_chart(
    *,
    chart_id: str,
    title: str,
    unit: str | None,
    readings: Sequence[tuple[dt.date, Decimal, bool | None]],
    comparator: str | None = None,
    low: Decimal | None = None,
    high: Decimal | None = None,
    target_words: str | None = None,
    x_label: str = "Date measured",
    day_format: str = "%d %b %Y",
    tick_format: str = "%d %b",
    y_range: tuple[float, float] | None = None,
) -> LineChart:
    """The chart of ``readings`` (day, value, whether it meets the target; oldest first)
    with the target ``comparator`` ``low`` (``high`` for "between") drawn behind them;
    ``target_words`` says the target in the description. ``x_label`` names the axis of
    days, ``day_format`` and ``tick_format`` write them (monthly figures: "%b %Y", "%b");
    ``y_range`` keeps the whole of a fixed scale in view (0 to 100 for a rate in %)."""
    numbers = [float(v) for _, v, _ in readings]
    bounds = [float(b) for b in (low, high) if b is not None]
    shown = numbers + bounds + list(y_range or ()) or [0.0]
    if low is not None and comparator in ("<", "<=", ">", ">="):
        # Show some of the side that meets a one-sided target, so its band has a height.
        reach = (max(shown) - min(shown)) * 0.25 or abs(float(low)) * 0.1 or 1.0
        shown.append(float(low) + (-reach if comparator in ("<", "<=") else reach))
    bottom_value, top_value, step = _scale(shown)
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def y_of(value: float) -> float:
        return TOP + (top_value - value) / (top_value - bottom_value) * plot_height

    first = readings[0][0] if readings else None
    span = (readings[-1][0] - first).days if first else 0

    def x_of(day: dt.date) -> float:
        if first is None or span == 0:
            return LEFT + plot_width / 2
        return LEFT + (day - first).days / span * plot_width

    points = [
        Point(
            day=day,
            value=value,
            x=x_of(day),
            y=y_of(float(value)),
            text=_with_unit(value, unit),
            meets=meets,
            label=f"{day:{day_format}}",
        )
        for day, value, meets in readings
    ]
    count = round((top_value - bottom_value) / step)
    y_ticks = [
        (y_of(bottom_value + n * step), number(round(bottom_value + n * step, 6)))
        for n in range(count + 1)
    ]
    x_days = sorted({day for day, _, _ in readings})
    if len(x_days) > 2:
        x_days = [x_days[0], x_days[len(x_days) // 2], x_days[-1]]
    x_ticks = [(x_of(day), f"{day:{tick_format}}") for day in x_days]
    return LineChart(
        id=chart_id,
        title=title,
        description=_describe(title, unit, points, target_words),
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        top=TOP,
        plot_width=plot_width,
        plot_height=plot_height,
        points=points,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        band=_band(comparator, low, high, y_of, TOP, TOP + plot_height, target_words),
        y_label=unit or "value",
        target_words=target_words,
        x_label=x_label,
    )


def _band(
    comparator: str | None,
    low: Decimal | None,
    high: Decimal | None,
    y_of: Callable[[float], float],
    plot_top: float,
    plot_bottom: float,
    words: str | None,
) -> Band | None:
    if comparator is None or low is None:
        return None
    label = f"Target: {words}" if words else "Target"
    at_low = y_of(float(low))
    if comparator in ("<", "<="):
        return Band(top=at_low, bottom=plot_bottom, label=label, lines=(at_low,))
    if comparator in (">", ">="):
        return Band(top=plot_top, bottom=at_low, label=label, lines=(at_low,))
    if comparator == "between" and high is not None:
        at_high = y_of(float(high))
        return Band(top=at_high, bottom=at_low, label=label, lines=(at_high, at_low))
    return Band(top=at_low, bottom=at_low, label=label, lines=(at_low,))


def _describe(
    title: str, unit: str | None, points: Sequence[Point], target_words: str | None
) -> str:
    """Everything the picture shows, in words, for a screen reader."""
    if not points:
        return f"{title}: nothing measured yet."
    said = "; ".join(f"{p.label or _day(p.day)}: {p.text}" for p in points)
    count = "1 measurement" if len(points) == 1 else f"{len(points)} measurements"
    text = f"{title}, {count}. {said}."
    if target_words:
        latest = points[-1]
        verdict = "meets" if latest.meets else "does not meet"
        text += f" Target {target_words}; the latest, {latest.text}, {verdict} it."
    return text


# --- bar chart --------------------------------------------------------------------------------

BAR_WIDTH = 640
BAR_LEFT, BAR_RIGHT, BAR_TOP, BAR_BOTTOM = 200, 64, 12, 44
BAR, BAR_GAP = 18, 10


@dataclass(frozen=True)
class Bar:
    label: str  # "Dr Lee"
    value: float | None  # None: nothing to draw (no cases)
    text: str  # "75 % (3 of 4)"
    y: float
    width: float


@dataclass(frozen=True)
class BarChart:
    """Horizontal bars, one per group, from a common zero; the ``bar_chart`` macro in
    ``analytics/_parts.html`` draws it with its ``<title>`` and ``<desc>``, and the page puts
    the same figures in a table beside it."""

    id: str
    title: str
    description: str
    width: int
    height: int
    left: int
    top: int
    plot_width: int
    plot_height: int
    bar: int
    bars: list[Bar]
    ticks: list[tuple[float, str]]
    x_label: str
    y_label: str

    @property
    def bottom(self) -> int:
        return self.top + self.plot_height


def bar_chart(
    *,
    chart_id: str,
    title: str,
    bars: Sequence[tuple[str, float | None, str]],
    x_label: str,
    y_label: str,
    maximum: float | None = None,
) -> BarChart:
    """Bars for ``bars`` (label, value, the value in words) on a scale from 0 to
    ``maximum`` (100 for percentages) or to a round number above the largest value."""
    values = [v for _, v, _ in bars if v is not None]
    top_value = maximum if maximum is not None else max([*values, 0.0])
    step = _step(top_value) if top_value > 0 else 1.0
    top_value = math.ceil(top_value / step) * step if top_value > 0 else step
    plot_width = BAR_WIDTH - BAR_LEFT - BAR_RIGHT
    plot_height = max(len(bars), 1) * (BAR + BAR_GAP) + BAR_GAP
    drawn = [
        Bar(
            label=label,
            value=value,
            text=text,
            y=BAR_TOP + BAR_GAP + n * (BAR + BAR_GAP),
            width=0.0 if value is None else max(value, 0.0) / top_value * plot_width,
        )
        for n, (label, value, text) in enumerate(bars)
    ]
    count = round(top_value / step)
    ticks = [
        (BAR_LEFT + n * step / top_value * plot_width, number(round(n * step, 6)))
        for n in range(count + 1)
    ]
    if bars:
        said = "; ".join(f"{b.label}: {b.text}" for b in drawn)
        description = f"{title}, {len(bars)} {'bar' if len(bars) == 1 else 'bars'}. {said}."
    else:
        description = f"{title}: nothing to show."
    return BarChart(
        id=chart_id,
        title=title,
        description=description,
        width=BAR_WIDTH,
        height=BAR_TOP + plot_height + BAR_BOTTOM,
        left=BAR_LEFT,
        top=BAR_TOP,
        plot_width=plot_width,
        plot_height=plot_height,
        bar=BAR,
        bars=drawn,
        ticks=ticks,
        x_label=x_label,
        y_label=y_label,
    )
