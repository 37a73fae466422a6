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

from views.charts import BAR, INK, MUTED, Format, Value, gap_shape, nice_maximum, open_svg, px

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
    """Panels for ``series`` (label, one value per period of ``periods``). The
    labels' column is as wide as the longest label needs (at about 7 px a
    character of the 12 px font), at least :data:`LABEL_WIDTH`: a figure's name
    such as "bereikte huishoudens (ondergrens)" is not cut off at the left."""
    left = max(LABEL_WIDTH, 7 * max((len(label) for label, _ in series), default=0) + 16)
    width = left + STEP * max(len(periods), 1) + 60
    height = HEAD + PANEL_H * len(series) + 24
    out = open_svg(chart_id, width, height, title)
    for j, period in enumerate(periods):
        cx = left + STEP * j + STEP / 2
        out.append(
            f'<text x="{px(cx)}" y="14" text-anchor="middle" fill="{MUTED}">{escape(period)}</text>'
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
            f'<text x="{left - 8}" y="{px(top_y + PANEL_H / 2 + 4)}" '
            f'text-anchor="end">{escape(label)}</text>'
            f'<path d="M{left} {px(base)}H{px(left + STEP * len(periods))}" '
            f'stroke="{MUTED}"/>'
        )
        if any(v.estimate is not None for v in values):  # no scale for a panel of gaps only
            out.append(
                f'<text x="{px(left + STEP * len(periods) + 4)}" y="{px(top_y + PAD + 4)}" '
                f'fill="{MUTED}">{escape(fmt(top))}</text>'
            )
        previous: tuple[float, float] | None = None
        for j, v in enumerate(values):
            cx = left + STEP * j + STEP / 2
            out.append("<g>")
            if v.note:
                out.append(f"<title>{escape(v.note)}</title>")
            if v.estimate is None:
                out.append(gap_shape(chart_id, (cx - 14, base - 12, 28, 10), v.style))
                previous = None
            else:
                point = (cx, y(v.estimate))
                if previous is not None:
                    out.append(
                        f'<path d="M{px(previous[0])} {px(previous[1])}L{px(point[0])} '
                        f'{px(point[1])}" stroke="{BAR}" stroke-width="1.5" fill="none"/>'
                    )
                low, high = y(v.low), y(v.high)
                out.append(
                    f'<path d="M{px(cx)} {px(low)}V{px(high)}M{px(cx - 4)} {px(low)}H{px(cx + 4)}'
                    f'M{px(cx - 4)} {px(high)}H{px(cx + 4)}" stroke="{INK}" stroke-width="1.2" '
                    'fill="none"/>'
                    f'<circle cx="{px(cx)}" cy="{px(point[1])}" r="3.5" fill="{BAR}"/>'
                )
                previous = point
            out.append("</g>")
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every text escaped above
