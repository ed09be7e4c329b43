"""Bar charts drawn on the server as SVG: no JavaScript, nothing fetched, readable without colour.

This computes the geometry; a template draws it (`<rect>` and `<text>` per bar). Each bar is a
row: its label on the left and its value on the right of one line, the bar on the line below,
so long labels and narrow screens (the chart scales to 390 px) need no rotated text. A value
below zero grows left of the zero line and its text carries the minus sign, so the colour is
never the only cue. The SVG is an image with a title; the table beside it is the text version.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 400
ROW_HEIGHT = 38
LABEL_BASELINE = 14  # from the top of a row
BAR_TOP = 19
BAR_HEIGHT = 14
PADDING = 4
LABEL_CHARS = 34  # what fits beside a value at 12 px; the full label is in the table and the bar's title


@dataclass(frozen=True)
class ChartBar:
    label: str  # shortened to fit
    full_label: str
    value_text: str
    negative: bool
    text_y: int
    bar_x: float
    bar_y: int
    bar_width: float


@dataclass(frozen=True)
class BarChart:
    title: str
    dom_id: str
    bars: list[ChartBar]
    width: int
    height: int
    bar_height: int
    zero_x: float
    zero_top: int
    zero_bottom: int


def bar_chart(*, title: str, dom_id: str, bars: Sequence[tuple[str, int, str]]) -> BarChart:
    """`bars` are (label, value, value as text), top to bottom; values in any unit, signed."""
    values = [value for _label, value, _text in bars]
    low, high = min([0, *values]), max([0, *values])
    span = (high - low) or 1
    plot_width = WIDTH - 2 * PADDING
    zero_x = PADDING + plot_width * -low / span
    drawn = []
    for index, (label, value, text) in enumerate(bars):
        top = PADDING + index * ROW_HEIGHT
        width = plot_width * abs(value) / span
        drawn.append(
            ChartBar(
                label=label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…",
                full_label=label,
                value_text=text,
                negative=value < 0,
                text_y=top + LABEL_BASELINE,
                bar_x=round(zero_x - width if value < 0 else zero_x, 2),
                bar_y=top + BAR_TOP,
                # A zero still shows as a hairline, so a month with nothing reads as "nothing".
                bar_width=round(max(width, 1), 2),
            )
        )
    height = 2 * PADDING + len(bars) * ROW_HEIGHT
    return BarChart(
        title=title,
        dom_id=dom_id,
        bars=drawn,
        width=WIDTH,
        height=height,
        bar_height=BAR_HEIGHT,
        zero_x=round(zero_x, 2),
        zero_top=PADDING + BAR_TOP - 2,
        zero_bottom=height - PADDING,
    )
