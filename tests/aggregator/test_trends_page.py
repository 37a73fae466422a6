"""The trends page model (``aggregator.trends``): every figure of the chosen
group per period, a key a period does not list read as a gap, and the group
of each period named on the page."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from starlette.requests import Request

from aggregator.sector_view import PUBLIC, Filters, PeriodChoice, Resolved
from aggregator.trends import (
    PeriodFigures,
    PeriodGroup,
    TrendInputs,
    render_trends,
    trend_tables,
)
from aggregator.web_chrome import chrome


def cell(key: str, estimate: int | None) -> dict[str, Any]:
    shown = estimate is not None
    return {"table": "households_by_returning", "measure": "households",
            "dimensions": ["returning"], "returning": key, "institutions": 6,
            "published": shown, "too_uncertain": not shown, "estimate": estimate,
            "ci95_low": None if estimate is None else estimate - 50.0,
            "ci95_high": None if estimate is None else estimate + 50.0}  # fmt: skip


def column(label: str, group_id: str, cells: list[dict[str, Any]]) -> PeriodGroup:
    group = {"group_id": group_id, "level": "sector", "institutions": 6, "merged_groups": 0,
             "cells": cells}  # fmt: skip
    return PeriodGroup(PeriodChoice(label, "published"), 5, group, Resolved(group_id, []), None)


COLUMNS = [
    column("2026-Q2", "sector", [cell("new", 700), cell("returning", 300)]),
    column("2026-Q3", "sector", [cell("new", None)]),
]


def test_each_key_has_a_cell_per_period_and_a_missing_one_is_too_few() -> None:
    (table,) = trend_tables(COLUMNS, "en")
    new, returning = table.rows
    assert [c.estimate for c in new.cells] == [700, None]
    assert new.cells[1].gap == "too uncertain"
    assert returning.cells[1].gap == "too few institutions"
    assert table.chart is not None and ">2026-Q3</text>" in table.chart


def test_the_page_names_each_periods_group_and_marks_cells_by_period() -> None:
    request = Request({"type": "http", "method": "GET", "path": "/trends", "query_string": b"",
                       "headers": [], "scheme": "http", "server": ("127.0.0.1", 80)})  # fmt: skip
    inputs = TrendInputs(PUBLIC, COLUMNS, Filters())
    html = render_trends(inputs, lang="nl", chrome=chrome(request, None, "nl"))
    assert '<tr data-period="2026-Q2" data-state="published">' in html
    assert 'data-key="new" data-period="2026-Q2"><data class="estimate" value="700">700<' in html
    assert 'data-key="returning" data-period="2026-Q3" data-gap="too_few">te weinig' in html
    assert '<form method="get" action="/trends"' in html and "<script" not in html


def figure(estimate: float) -> dict[str, Any]:
    return {"estimate": estimate, "ci95_low": estimate - 2, "ci95_high": estimate + 2,
            "too_uncertain": False}  # fmt: skip


def penetration(listed: bool) -> dict[str, Any]:
    segments = [{"segment": s, "population": 1000, "visitors": figure(100), "penetration":
                 figure(10.5), "profile_index": figure(index), "represented": ""}
                for s, index in (("s1", 120), ("s2", 80))]  # fmt: skip
    return {"listed": listed, "segments": segments if listed else [], "catchment": "all"}


def with_figures(label: str, figures: PeriodFigures) -> PeriodGroup:
    return replace(column(label, "sector", [cell("new", 700)]), figures=figures)


def test_the_other_figures_follow_the_periods_and_say_why_one_is_missing() -> None:
    """A period whose group is too small to list penetration reads 'too few';
    one without an answer at all (no population) 'not available', drawn as
    nothing in the chart rather than as a too-uncertain box."""
    columns = [
        with_figures("2026-Q1", PeriodFigures(penetration=penetration(True))),
        with_figures("2026-Q2", PeriodFigures(penetration=penetration(False))),
        with_figures("2026-Q3", PeriodFigures()),
    ]
    tables = {t.name: t for t in trend_tables(columns, "en")}
    assert "reach" not in tables and "crossover" not in tables  # no period has them
    s1, s2 = tables["profile_index"].rows
    assert [c.estimate for c in s1.cells] == [120, None, None]
    assert [c.state for c in s2.cells] == ["number", "too_few", "unavailable"]
    assert [c.gap for c in s2.cells[1:]] == ["too few institutions", "not available"]
    assert [c.estimate for c in tables["penetration"].rows[0].cells] == [10.5, None, None]
    chart = str(tables["profile_index"].chart)
    assert chart.count("stroke-dasharray") == 0  # neither gap is drawn as 'too uncertain'
    assert chart.count("-hatch)") == 2  # the two 'too few' boxes
