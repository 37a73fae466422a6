"""A figure across periods, drawn on the server (ADR 0039): one small panel
per key (a segment, a discipline, a month band), periods left to right, each
period's estimate a dot with its 95% interval as a whisker.

A line joins the dots of consecutive periods only where both have a number:
a period without one (too few institutions, too uncertain, or no group of
that name in that period) is a gap in the line, marked at the bottom of the
panel in the gap's style (hatched or dashed), never a point at 0 that could
be read as a count. Each panel has its own scale from 0 to a round number
above its highest interval, written at its top, because the keys of one
table differ by orders of magnitude; panels are compared by their shape and
by the table of numbers beside the chart, not by height.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from views.charts import BAR, INK, MUTED, Format, Value, _gap_shape, _n, _open, nice_maximum

LABEL_WIDTH = 190
STEP = 70  # horizontal room per period
PANEL_H = 64
PAD = 10
HEAD = 22


def trend_chart(
    chart_id: str,
    title: str,
    periods: Sequence[str],
    series: Sequence[tuple[str, Sequence[Value]]],
    fmt: Format,
) -> Markup:
    """Panels for ``series`` (label, one value per period of ``periods``)."""
    width = LABEL_WIDTH + STEP * max(len(periods), 1) + 60
    height = HEAD + PANEL_H * len(series) + 24
    out = _open(chart_id, width, height, title)
    for j, period in enumerate(periods):
        cx = LABEL_WIDTH + STEP * j + STEP / 2
        out.append(
            f'<text x="{_n(cx)}" y="14" text-anchor="middle" fill="{MUTED}">{escape(period)}</text>'
        )
    for i, (label, values) in enumerate(series):
        top_y = HEAD + PANEL_H * i
        base = top_y + PANEL_H - PAD
        highest = max(
            (max(v.high, v.estimate) for v in values if v.estimate is not None), default=0
        )
        top = nice_maximum(highest)

        def y(value: float, base: float = base, top: float = top, top_y: float = top_y) -> float:
            return base - (base - top_y - PAD) * max(0.0, min(value, top)) / top

        out.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{_n(top_y + PANEL_H / 2 + 4)}" '
            f'text-anchor="end">{escape(label)}</text>'
            f'<path d="M{LABEL_WIDTH} {_n(base)}H{_n(LABEL_WIDTH + STEP * len(periods))}" '
            f'stroke="{MUTED}"/>'
            f'<text x="{_n(LABEL_WIDTH + STEP * len(periods) + 4)}" y="{_n(top_y + PAD + 4)}" '
            f'fill="{MUTED}">{escape(fmt(top))}</text>'
        )
        previous: tuple[float, float] | None = None
        for j, v in enumerate(values):
            cx = LABEL_WIDTH + STEP * j + STEP / 2
            out.append("<g>")
            if v.note:
                out.append(f"<title>{escape(v.note)}</title>")
            if v.estimate is None:
                out.append(_gap_shape(chart_id, (cx - 14, base - 12, 28, 10), v.style))
                previous = None
            else:
                point = (cx, y(v.estimate))
                if previous is not None:
                    out.append(
                        f'<path d="M{_n(previous[0])} {_n(previous[1])}L{_n(point[0])} '
                        f'{_n(point[1])}" stroke="{BAR}" stroke-width="1.5" fill="none"/>'
                    )
                low, high = y(v.low), y(v.high)
                out.append(
                    f'<path d="M{_n(cx)} {_n(low)}V{_n(high)}M{_n(cx - 4)} {_n(low)}H{_n(cx + 4)}'
                    f'M{_n(cx - 4)} {_n(high)}H{_n(cx + 4)}" stroke="{INK}" stroke-width="1.2" '
                    'fill="none"/>'
                    f'<circle cx="{_n(cx)}" cy="{_n(point[1])}" r="3.5" fill="{BAR}"/>'
                )
                previous = point
            out.append("</g>")
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every text escaped above
