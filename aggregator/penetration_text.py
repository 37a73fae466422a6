"""Penetration as plain text: what the demo prints after a period is published
(the sector's penetration per segment with its intervals, and one peer
group's largest not-yet-visitor segments). The same figures and rules as the
API (``aggregator.api.penetration``): too uncertain figures show no number."""

from __future__ import annotations

from aggregator import periods
from aggregator.peergroups import SECTOR
from aggregator.penetration import (
    DEFAULT_RADIUS,
    DOUBLE_COUNTED,
    PENETRATION_DIGITS,
    Audience,
    ranked_not_yet_visitors,
    shown,
)
from aggregator.penetration_inputs import load
from aggregator.storage import Database

TOO_UNCERTAIN = "too uncertain"


def _rate(audience: Audience, segment: str) -> str:
    row = next(r for r in audience.segments if r.segment == segment)
    figure = shown(row.penetration, digits=PENETRATION_DIGITS)
    if figure.too_uncertain:
        return TOO_UNCERTAIN
    return f"{figure.estimate:.2f}% (95%: {figure.ci95_low:.2f}–{figure.ci95_high:.2f})"


SYNTHETIC = "segment model {model} is SYNTHETIC: these figures describe no real population"


def format_penetration(
    sector: Audience,
    group_id: str | None,
    group: Audience | None,
    *,
    top: int = 3,
    model: str | None = None,
    synthetic: bool = False,
) -> str:
    """The sector's penetration per segment and ``group``'s ``top`` largest
    not-yet-visitor segments, as lines of text, under the segment model's name
    (and a warning when it is synthetic)."""
    lines = [f"Penetration of the sector by segment ({sector.institutions} institutions):"]
    if model is not None:
        lines.insert(0, SYNTHETIC.format(model=model) if synthetic else f"segment model {model}")
    if not sector.listed:
        lines.append("  not listed: fewer than k institutions sent the table")
    else:
        width = max(len(r.segment) for r in sector.segments)
        lines += [f"  {r.segment:<{width}}  {_rate(sector, r.segment)}" for r in sector.segments]
    if group_id is not None and group is not None:
        radius = group.catchment.replace("_", " ")
        lines.append(
            f"Largest not-yet-visitor segments of {group_id} (within {radius} of each member):"
        )
        ranked = ranked_not_yet_visitors(group.segments) if group.listed else []
        if not ranked:
            lines.append("  none to show: fewer than k members with a catchment, or too uncertain")
        for segment in ranked[:top]:
            row = next(r for r in group.segments if r.segment == segment)
            figure = shown(row.not_yet_visitors, digits=0)
            lines.append(
                f"  {segment}: {figure.estimate:,.0f} households "
                f"(95%: {figure.ci95_low:,.0f}–{figure.ci95_high:,.0f})"
            )
    lines.append(f"The sector: {DOUBLE_COUNTED}")
    if group_id is not None and group is not None:
        lines.append(f"The peer group: {group.note}")
    return "\n".join(lines)


def period_penetration(
    db: Database, period: str, *, k: int, group: str | None = None, radius: str = DEFAULT_RADIUS
) -> str:
    """The text for a period: the sector, and ``group`` (default: the first
    peer group other than the sector whose figures are listed). ``NotFound``
    (``aggregator.penetration_inputs.load``) when nothing counts in the period
    yet or its segment model is not published at the aggregator."""
    row = periods.get_period(db, period)
    with db.session() as s:
        inputs = load(s, row, k=k)
    found = inputs.group(SECTOR)
    sector = inputs.audience(found, radius) if found is not None else None
    if sector is None:
        return f"period {period} has no sector group"
    candidates = [g for g in inputs.groups if g.group_id != SECTOR]
    if group is not None:
        candidates = [g for g in candidates if g.group_id == group]
    chosen = [(g.group_id, inputs.audience(g, radius)) for g in candidates]
    listed = next(((g, a) for g, a in chosen if a.listed), chosen[0] if chosen else (None, None))
    return format_penetration(
        sector,
        listed[0],
        listed[1],
        model=inputs.segment_model,
        synthetic=inputs.population.synthetic,
    )
