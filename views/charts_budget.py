"""A chart of privacy budget spent: one bar per institution against the
period's budget, drawn as a dashed line (the privacy officer's page).

The same kind of output as ``views.charts`` (inline SVG, presentation
attributes only, same bytes for the same input), and like every chart there
it is a picture of numbers that stand beside it in a table. A bar that went
past the budget (which the intake refuses, so it would mean something is
wrong) is drawn in another colour and says so in its hover title.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from views.charts import BAR, INK, Format, markup, nice_maximum, open_svg, px, value_axis

OVER = "#a4262c"
BUDGET_LINE = "#1b1b1b"
LABEL_WIDTH = 170
PLOT_WIDTH = 420
ROW = 14


def budget_chart(
    chart_id: str,
    title: str,
    bars: Sequence[tuple[str, float, str]],
    *,
    budget: float,
    budget_label: str,
    fmt: Format,
) -> Markup:
    """Horizontal bars of ρ spent, ``(label, spent, hover note)`` each, and a
    dashed vertical line at ``budget`` labelled ``budget_label``; the axis runs
    from 0 to a round number at or above the larger of the budget and the
    highest bar, with ticks in the page's number format (``fmt``)."""
    top = nice_maximum(max([budget, *(spent for _, spent, _ in bars)]))
    head = 20
    axis_y = head + ROW * len(bars) + 4
    width, height = LABEL_WIDTH + PLOT_WIDTH + 60, axis_y + 30

    def x(value: float) -> float:
        return LABEL_WIDTH + PLOT_WIDTH * max(0.0, min(value, top)) / top

    out = open_svg(chart_id, width, height, title)
    for i, (label, spent, note) in enumerate(bars):
        y = head + ROW * i
        fill = OVER if spent > budget * (1 + 1e-9) else BAR
        out.append(f"<g><title>{escape(note)}</title>")
        out.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{px(y + ROW - 3)}" text-anchor="end" '
            f'font-size="10">{escape(label)}</text>'
        )
        out.append(
            f'<rect x="{LABEL_WIDTH}" y="{px(y + 2)}" width="{px(x(spent) - LABEL_WIDTH)}" '
            f'height="{ROW - 4}" fill="{fill}"/></g>'
        )
    line = x(budget)
    out.append(
        f'<path d="M{px(line)} {head - 4}V{px(axis_y)}" stroke="{BUDGET_LINE}" '
        'stroke-width="1.5" stroke-dasharray="4 3"/>'
        f'<text x="{px(line)}" y="{head - 8}" text-anchor="middle" fill="{INK}">'
        f"{escape(budget_label)}</text>"
    )
    out.append(value_axis(axis_y, top, x, fmt, left=LABEL_WIDTH, width=PLOT_WIDTH))
    out.append("</svg>")
    return markup(out)
