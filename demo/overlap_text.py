"""Overlaps as plain text: what the demo prints after a period is published.

Reads the overlaps API's own JSON (``GET /v1/periods/{p}/overlaps`` and
``/reach``), so the demo shows exactly what the API publishes under its rules:
a cell with fewer than k institutions on a side and a too uncertain cell
show no number, and every number comes with its 95% interval.
"""

from __future__ import annotations

from typing import Any

TOO_UNCERTAIN = "te onzeker"
TOO_FEW = "te weinig"
_WIDTH = 24


def _figure(figure: dict[str, Any], *, digits: int = 0) -> str:
    """'estimate (95%: low–high)' or "te onzeker" when the API shows no number."""
    if figure["too_uncertain"] or figure["estimate"] is None:
        return TOO_UNCERTAIN
    f = f"{{:,.{digits}f}}"
    return (
        f"{f.format(figure['estimate'])} "
        f"({f.format(figure['ci95_low'])}–{f.format(figure['ci95_high'])})"
    )


def format_crossover(crossover: dict[str, Any]) -> str:
    """The crossover matrix (one row per group, the upper triangle filled)."""
    groups = [g["group"] for g in crossover["groups"]]
    sizes = {g["group"]: g["institutions"] for g in crossover["groups"]}
    cells = {(c["left"], c["right"]): c for c in crossover["cells"]}
    lines = [
        (
            f"Household crossover by {crossover['by'].replace('_', ' ')}, {crossover['period']} "
            f"(shared households per pair of institutions, estimate and 95% interval; "
            f"k={crossover['k']}):"
        ),
        " " * 16 + "".join(f"{g} ({sizes[g]})".rjust(_WIDTH) for g in groups),
    ]
    for i, left in enumerate(groups):
        row = f"{left} ({sizes[left]})".ljust(16)
        for j, right in enumerate(groups):
            cell = cells.get((left, right)) or cells.get((right, left))
            if j < i or cell is None:
                text = ""
            elif not cell["listed"]:
                text = TOO_FEW
            else:
                text = _figure(cell["shared_households"])
            row += text.rjust(_WIDTH)
        lines.append(row)
    lines.append(
        f"{TOO_FEW}: fewer than k institutions on a side; {TOO_UNCERTAIN}: the 95% interval is "
        "wider than half the estimate (no number shown)."
    )
    lines.append(crossover["note"])
    return "\n".join(lines)


def format_reach(reach: dict[str, Any]) -> str:
    """The sector's reach (a lower bound) and institutions per household."""
    return "\n".join(
        [
            f"Sector reach {reach['period']} from {reach['institutions']} institutions' sketches:",
            f"  distinct households (lower bound): {_figure(reach['reach'])}",
            (
                "  institutions per household (upper bound): "
                f"{_figure(reach['mean_institutions'], digits=2)}"
            ),
            f"  {reach['note']}",
        ]
    )
