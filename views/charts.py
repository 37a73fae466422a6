"""Charts as SVG, drawn on the server (ADR 0039): a bar chart with 95% error
bars for a table of one dimension, a heat map for a table of two.

Plain string output, no JavaScript, no fonts or images to fetch, and the same
bytes for the same input: a page is the same on every render, and a chart can
be compared in a test. A chart is a picture of the numbers, never the only
place they are: each page shows the same cells in a table beside it.

A cell without a number is drawn so that it cannot be read as one: no bar and
no colour, but a hatched band (``HATCHED``: too few institutions) or an empty
outline (``EMPTY``: too uncertain) carrying the reason as text. A bar's error
bar starts at 0 at the lowest: a count is never negative, and the caller says
on the page where an interval was cut there.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

HATCHED = "hatched"
EMPTY = "empty"
MISSING = "missing"  # no figure at all for that point (its table says why): nothing drawn
INK = "#1b1b1b"
MUTED = "#595959"
BAR = "#2f6690"
# The heat map's scale: from a pale to a deep blue, by estimate.
PALE = (234, 241, 251)
DEEP = (8, 48, 107)
FONT = 12
LABEL_WIDTH = 190
PLOT_WIDTH = 400
ROW = 22
CELL_W = 40
CELL_H = 24
HEAD = 96  # room for the heat map's slanted column labels


@dataclass(frozen=True)
class Value:
    """One cell as a chart draws it: a number with its 95% interval, or a gap.

    ``gap`` is the text shown instead of a number (empty when there is one),
    ``style`` how the gap is drawn (``HATCHED`` or ``EMPTY``)."""

    estimate: float | None = None
    low: float = 0.0
    high: float = 0.0
    gap: str = ""
    style: str = EMPTY
    note: str = ""  # what a reader sees on hovering: the label with the number or gap


Format = Callable[[float], str]


def markup(parts: list[str]) -> Markup:
    """The chart as markup the templates insert as it is: every text in it
    (labels, titles, notes) went through ``escape`` when its part was written."""
    return Markup("".join(parts))  # noqa: S704 - escaped part by part, above


def px(x: float) -> str:
    """A coordinate, written the same way on every render."""
    return f"{x:.1f}".rstrip("0").rstrip(".")


def value_axis(
    axis_y: float, top: float, x: Callable[[float], float], fmt: Format, *,
    left: float = LABEL_WIDTH, width: float = PLOT_WIDTH,
) -> str:  # fmt: skip
    """The value axis under a horizontal bar chart: its line from ``left``,
    ``width`` long, and six ticks, 0 to ``top`` in five round steps (``top``
    is a :func:`nice_maximum`), at ``x(value)``."""
    parts = [f'<path d="M{px(left)} {px(axis_y)}H{px(left + width)}" stroke="{MUTED}"/>']
    for step in range(6):
        value = top * step / 5
        tx = x(value)
        parts.append(
            f'<path d="M{px(tx)} {px(axis_y)}V{px(axis_y + 4)}" stroke="{MUTED}"/>'
            f'<text x="{px(tx)}" y="{px(axis_y + 17)}" text-anchor="middle" fill="{MUTED}">'
            f"{escape(fmt(value))}</text>"
        )
    return "".join(parts)


def nice_maximum(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10ⁿ at or above ``value``: round axis ticks."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if value <= step * power * (1 + 1e-12):
            return step * power
    return 10 * power  # pragma: no cover - the loop ends at 10 × power


def _pattern(chart_id: str) -> str:
    return (
        f'<defs><pattern id="{chart_id}-hatch" width="6" height="6" '
        'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        f'<line x1="0" y1="0" x2="0" y2="6" stroke="{MUTED}" stroke-width="1.5"/></pattern></defs>'
    )


def gap_shape(chart_id: str, box: tuple[float, float, float, float], style: str) -> str:
    if style == MISSING:
        return ""
    x, y, w, h = box
    fill = f"url(#{chart_id}-hatch)" if style == HATCHED else "none"
    dash = "" if style == HATCHED else ' stroke-dasharray="3 2"'
    return (
        f'<rect x="{px(x)}" y="{px(y)}" width="{px(w)}" height="{px(h)}" fill="{fill}" '
        f'fill-opacity="0.5" stroke="{MUTED}"{dash}/>'
    )


def open_svg(chart_id: str, width: float, height: float, title: str) -> list[str]:
    return [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
            f'aria-labelledby="{chart_id}-title" viewBox="0 0 {px(width)} {px(height)}" '
            f'width="{px(width)}" height="{px(height)}" font-family="system-ui, sans-serif" '
            f'font-size="{FONT}" fill="{INK}">'
        ),
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        _pattern(chart_id),
    ]


def bar_chart(chart_id: str, title: str, bars: Sequence[tuple[str, Value]], fmt: Format) -> Markup:
    """Horizontal bars, one per key, with the 95% interval as an error bar.

    Horizontal because the labels (Dutch segment and province names) are
    long; the axis starts at 0 and ends at a round number above the highest
    interval, with ticks in the page's number format (``fmt``)."""
    highest = max((max(v.high, v.estimate) for _, v in bars if v.estimate is not None), default=0)
    top = nice_maximum(highest)
    axis_y = 8 + ROW * len(bars)
    width, height = LABEL_WIDTH + PLOT_WIDTH + 40, axis_y + 30

    def x(value: float) -> float:
        return LABEL_WIDTH + PLOT_WIDTH * max(0.0, min(value, top)) / top

    out = open_svg(chart_id, width, height, title)
    for i, (label, v) in enumerate(bars):
        y = 8 + ROW * i
        mid = y + ROW / 2
        out.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{px(mid + 4)}" text-anchor="end">'
            f"{escape(label)}</text>"
        )
        out.append("<g>")
        if v.note:
            out.append(f"<title>{escape(v.note)}</title>")
        if v.estimate is None:
            out.append(gap_shape(chart_id, (LABEL_WIDTH, y + 3, PLOT_WIDTH, ROW - 6), v.style))
            out.append(
                f'<text x="{LABEL_WIDTH + 6}" y="{px(mid + 4)}" fill="{INK}" '
                f'font-style="italic">{escape(v.gap)}</text>'
            )
        else:
            out.append(
                f'<rect x="{LABEL_WIDTH}" y="{px(y + 4)}" '
                f'width="{px(x(v.estimate) - LABEL_WIDTH)}" height="{ROW - 8}" fill="{BAR}"/>'
            )
            low, high = x(v.low), x(v.high)
            out.append(
                f'<path d="M{px(low)} {px(mid)}H{px(high)}M{px(low)} {px(y + 5)}V{px(y + ROW - 5)}'
                f'M{px(high)} {px(y + 5)}V{px(y + ROW - 5)}" stroke="{INK}" stroke-width="1.5" '
                'fill="none"/>'
            )
        out.append("</g>")
    out.append(value_axis(axis_y, top, x, fmt))
    out.append("</svg>")
    return markup(out)


def shade(share: float) -> str:
    share = max(0.0, min(share, 1.0))
    rgb = (round(a + (b - a) * share) for a, b in zip(PALE, DEEP, strict=True))
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def heat_map(
    chart_id: str,
    title: str,
    *,
    rows: Sequence[str],
    columns: Sequence[str],
    values: Sequence[Sequence[Value]],
    fmt: Format,
) -> Markup:
    """A matrix of cells (``values[row][column]``) coloured by estimate, from
    pale (0) to deep blue (the scale's top, a round number at or above the
    largest estimate), with the scale drawn below it.

    A cell holds no number, only its colour (the table beside the chart has
    the numbers and intervals); hovering names it. A gap is hatched or empty,
    marked with a dash, and the legend below names the reasons."""
    highest = max((v.estimate for row in values for v in row if v.estimate is not None), default=0)
    top = nice_maximum(highest)
    grid_w, grid_h = CELL_W * len(columns), CELL_H * len(rows)
    width = max(LABEL_WIDTH + grid_w + 20, LABEL_WIDTH + 260)
    height = HEAD + grid_h + 56
    out = open_svg(chart_id, width, height, title)
    for j, column in enumerate(columns):
        cx = LABEL_WIDTH + CELL_W * j + CELL_W / 2
        out.append(
            f'<text transform="translate({px(cx + 4)} {HEAD - 6}) rotate(-45)">'
            f"{escape(column)}</text>"
        )
    for i, (row, cells) in enumerate(zip(rows, values, strict=True)):
        y = HEAD + CELL_H * i
        out.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{px(y + CELL_H / 2 + 4)}" text-anchor="end">'
            f"{escape(row)}</text>"
        )
        for j, v in enumerate(cells):
            x = LABEL_WIDTH + CELL_W * j
            out.append("<g>")
            if v.note:
                out.append(f"<title>{escape(v.note)}</title>")
            if v.estimate is None:
                out.append(gap_shape(chart_id, (x + 1, y + 1, CELL_W - 2, CELL_H - 2), v.style))
                out.append(
                    f'<text x="{px(x + CELL_W / 2)}" y="{px(y + CELL_H / 2 + 4)}" '
                    'text-anchor="middle">–</text>'
                )
            else:
                out.append(
                    f'<rect x="{x + 1}" y="{y + 1}" width="{CELL_W - 2}" height="{CELL_H - 2}" '
                    f'fill="{shade(v.estimate / top)}"/>'
                )
            out.append("</g>")
    scale_y = HEAD + grid_h + 12
    out.append(
        f'<defs><linearGradient id="{chart_id}-scale"><stop offset="0" stop-color="{shade(0)}"/>'
        f'<stop offset="1" stop-color="{shade(1)}"/></linearGradient></defs>'
        f'<rect x="{LABEL_WIDTH}" y="{scale_y}" width="160" height="10" '
        f'fill="url(#{chart_id}-scale)" stroke="{MUTED}"/>'
        f'<text x="{LABEL_WIDTH}" y="{scale_y + 24}" fill="{MUTED}">{escape(fmt(0))}</text>'
        f'<text x="{LABEL_WIDTH + 160}" y="{scale_y + 24}" text-anchor="end" fill="{MUTED}">'
        f"{escape(fmt(top))}</text>"
    )
    out.append("</svg>")
    return markup(out)


def legend(chart_id: str, items: Sequence[tuple[str, str]]) -> Markup:
    """Swatches for the gap styles used on a page (``(style, text)`` pairs),
    so a reader can tell a hatched cell from an empty one."""
    names = "; ".join(text for _, text in items)
    out = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" class="legend" role="img" '
            f'aria-labelledby="{chart_id}-title" width="460" height="{22 * len(items) + 4}" '
            f'font-family="system-ui, sans-serif" font-size="{FONT}" fill="{INK}">'
        ),
        f'<title id="{chart_id}-title">{escape(names)}</title>',
        _pattern(chart_id),
    ]
    for i, (style, text) in enumerate(items):
        y = 2 + 22 * i
        out.append(gap_shape(chart_id, (1, y + 2, 36, 16), style))
        out.append(f'<text x="46" y="{y + 14}">{escape(text)}</text>')
    out.append("</svg>")
    return markup(out)
