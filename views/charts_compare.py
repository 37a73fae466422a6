"""Grouped bars: one key, several series side by side (ADR 0040).

The institution's local report sets its own exact share of each key beside
its peer group's and the sector's published shares (and, for segments, its
catchment's population): a question of "more or less than the others", which
one bar chart per series would make the reader answer by eye across charts.

The rules of ``views.charts`` hold here too: deterministic SVG text, no
``style=`` (presentation attributes only), ``role="img"`` with a title, the
95% interval as an error bar that never goes below 0, and a value without a
number drawn as a gap (hatched: too few institutions; an empty dashed
outline: too uncertain) with its reason as text, never as a bar. A series
whose values are exact (the institution's own counts, a population from the
segment model) has ``low == high == estimate`` and so no error bar.

The series are told apart by colour *and* by the legend's order, which is
the bars' order in every group, so a reader who cannot tell the colours
apart still can; each bar also carries a hover title with its series name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from views.charts import (
    EMPTY,
    FONT,
    HATCHED,
    INK,
    LABEL_WIDTH,
    MUTED,
    Format,
    Value,
    gap_shape,
    markup,
    nice_maximum,
    px,
    value_axis,
)

__all__ = ["EMPTY", "HATCHED", "SERIES_COLOURS", "Group", "grouped_bars"]

# Distinguishable with the common colour-vision deficiencies (Okabe–Ito hues,
# darkened so that each stands out against white).
SERIES_COLOURS = ("#2f6690", "#c75b00", "#2a7d5f", "#7a7a7a")
PLOT_WIDTH = 380
BAR_H = 12
GROUP_GAP = 10
LEGEND_ROW = 20


@dataclass(frozen=True)
class Group:
    """One key (a row of the chart): its label and one value per series, in
    the series' order."""

    label: str
    values: tuple[Value, ...]


def grouped_bars(
    chart_id: str,
    title: str,
    series: Sequence[str],
    groups: Sequence[Group],
    fmt: Format,
) -> Markup:
    """Horizontal grouped bars: per group one bar per series (``series``
    names them, in order, in the legend above the plot), each with its 95%
    interval as an error bar where it has one.

    The axis starts at 0 and ends at a round number at or above the highest
    value or interval end; ticks are written with ``fmt`` (a share as
    ``12,5%``, a count as ``1.234``)."""
    if any(len(g.values) != len(series) for g in groups):
        raise ValueError("every group needs one value per series")
    highest = max(
        (max(v.high, v.estimate) for g in groups for v in g.values if v.estimate is not None),
        default=0.0,
    )
    top = nice_maximum(highest)
    legend_h = LEGEND_ROW * len(series) + 6
    group_h = BAR_H * len(series) + GROUP_GAP
    axis_y = legend_h + group_h * len(groups) + 4
    width, height = LABEL_WIDTH + PLOT_WIDTH + 50, axis_y + 30

    def x(value: float) -> float:
        return LABEL_WIDTH + PLOT_WIDTH * max(0.0, min(value, top)) / top

    out = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
            f'aria-labelledby="{chart_id}-title" viewBox="0 0 {px(width)} {px(height)}" '
            f'width="{px(width)}" height="{px(height)}" font-family="system-ui, sans-serif" '
            f'font-size="{FONT}" fill="{INK}">'
        ),
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        (
            f'<defs><pattern id="{chart_id}-hatch" width="6" height="6" '
            'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
            f'<line x1="0" y1="0" x2="0" y2="6" stroke="{MUTED}" stroke-width="1.5"/>'
            "</pattern></defs>"
        ),
    ]
    for i, name in enumerate(series):
        y = 4 + LEGEND_ROW * i
        out.append(
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="14" height="{BAR_H}" '
            f'fill="{SERIES_COLOURS[i % len(SERIES_COLOURS)]}"/>'
            f'<text x="{LABEL_WIDTH + 20}" y="{y + 10}">{escape(name)}</text>'
        )
    for gi, group in enumerate(groups):
        top_y = legend_h + group_h * gi
        out.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{px(top_y + BAR_H * len(series) / 2 + 4)}" '
            f'text-anchor="end">{escape(group.label)}</text>'
        )
        for si, v in enumerate(group.values):
            y = top_y + BAR_H * si
            out.append("<g>")
            if v.note:
                out.append(f"<title>{escape(v.note)}</title>")
            if v.estimate is None:
                out.append(
                    gap_shape(chart_id, (LABEL_WIDTH, y + 1, PLOT_WIDTH, BAR_H - 2), v.style)
                )
                out.append(
                    f'<text x="{LABEL_WIDTH + 4}" y="{px(y + BAR_H - 2)}" font-size="{FONT - 2}" '
                    f'font-style="italic">{escape(v.gap)}</text>'
                )
            else:
                colour = SERIES_COLOURS[si % len(SERIES_COLOURS)]
                out.append(
                    f'<rect x="{LABEL_WIDTH}" y="{px(y + 1)}" '
                    f'width="{px(x(v.estimate) - LABEL_WIDTH)}" height="{BAR_H - 2}" '
                    f'fill="{colour}"/>'
                )
                if v.high > v.low:
                    low, high, mid = x(max(v.low, 0.0)), x(v.high), y + BAR_H / 2
                    out.append(
                        f'<path d="M{px(low)} {px(mid)}H{px(high)}M{px(low)} {px(y + 2)}'
                        f'V{px(y + BAR_H - 2)}M{px(high)} {px(y + 2)}V{px(y + BAR_H - 2)}" '
                        f'stroke="{INK}" stroke-width="1.2" fill="none"/>'
                    )
            out.append("</g>")
    out.append(value_axis(axis_y, top, x, fmt, width=PLOT_WIDTH))
    out.append("</svg>")
    return markup(out)
