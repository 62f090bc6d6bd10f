"""Small server-drawn charts (UI.md rule 10): a line chart of measurements over time with
the target drawn as a band or a line.

``line_chart`` works out the geometry in SVG user units; the ``line_chart`` macro in
``web/charts.html`` draws it as an ``<svg role="img">`` named by its ``<title>`` and
described by a ``<desc>`` that says every value in words, with the values as a table beside
it. Colours are presentation attributes (the Content Security Policy allows no inline
style), and meeting the target is shown by shape as well as colour: a filled dot meets it,
a hollow one does not.
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
) -> LineChart:
    """The chart of ``readings`` (day, value, whether it meets the target; oldest first)
    with the target ``comparator`` ``low`` (``high`` for "between") drawn behind them;
    ``target_words`` says the target in the description."""
    numbers = [float(v) for _, v, _ in readings]
    bounds = [float(b) for b in (low, high) if b is not None]
    shown = numbers + bounds or [0.0]
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
    x_ticks = [(x_of(day), f"{day:%d %b}") for day in x_days]
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
    said = "; ".join(f"{_day(p.day)}: {p.text}" for p in points)
    count = "1 measurement" if len(points) == 1 else f"{len(points)} measurements"
    text = f"{title}, {count}. {said}."
    if target_words:
        latest = points[-1]
        verdict = "meets" if latest.meets else "does not meet"
        text += f" Target {target_words}; the latest, {latest.text}, {verdict} it."
    return text
