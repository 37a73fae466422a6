"""``agent overlaps`` as lines for the terminal.

Only what the aggregator's answer holds is printed: institution ids, counts
of institutions per side, and household figures that are already aggregated
over at least k other institutions, never a household. A figure is
"estimate (95%: low–high)" or "too uncertain" (the benchmarks' rule, ADR
0037); no number printed here is ever negative, even if an answer held one
(the aggregator clamps the lower end at 0, and so does this side).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from protocol.errors import MalformedMessage

TOO_UNCERTAIN = "too uncertain"


def _count(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("a figure is not a number")
    return f"{max(value, 0):,.0f}"


def figure(doc: dict[str, Any]) -> str:
    """One figure of the answer: its estimate and 95% interval, or too uncertain."""
    if doc["too_uncertain"]:
        return TOO_UNCERTAIN
    low, high = _count(doc["ci95_low"]), _count(doc["ci95_high"])
    return f"{_count(doc['estimate'])} (95%: {low}–{high})"


def _checked(format_answer: Callable[[dict[str, Any]], str], answer: dict[str, Any]) -> str:
    """An answer without the fields the API names is the aggregator's fault,
    reported as one line rather than an unexpected KeyError."""
    try:
        return format_answer(answer)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise MalformedMessage(
            "the aggregator's overlaps answer lacks a field or has one of the wrong type",
            hint="check the aggregator URL in agent.toml; if it is right, tell the taskforce",
        ) from None


def _own(answer: dict[str, Any]) -> str:
    consent = "opted in" if answer["named_overlaps"] else "did not opt in"
    heading = (
        f"household overlaps of {answer['institution_id']} in {answer['period']} "
        f"(k = {answer['k']}; {consent} to named overlaps)"
    )
    lines = [heading]
    sides = answer["sides"]
    rows = [
        (
            "sector" if s["kind"] == "sector" else f"{s['kind']} {s['name']}",
            f"{int(s['institutions'])} other institution{'s' if s['institutions'] != 1 else ''}",
            figure(s["shared_households"]),
        )
        for s in sides
    ]
    if not rows:
        lines.append("  no side with at least k other institutions")
    wide = [max((len(r[i]) for r in rows), default=0) for i in (0, 1)]
    lines += [f"  {a:<{wide[0]}}  {b:>{wide[1]}}  {c}" for a, b, c in rows]
    lines.append(f"note: {answer['note']}")
    return "\n".join(lines)


def _named(answer: dict[str, Any]) -> str:
    pair = f"households {answer['institution_id']} shares with {answer['other_id']}"
    shared = figure(answer["shared_households"])
    return f"{pair} in {answer['period']}: {shared}\nnote: {answer['note']}"


def format_own(answer: dict[str, Any]) -> str:
    """The own view: a line per side (sector, disciplines, provinces) and the note."""
    return _checked(_own, answer)


def format_named(answer: dict[str, Any]) -> str:
    """A named pair: its figure and the note."""
    return _checked(_named, answer)
