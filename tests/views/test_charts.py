"""The SVG charts: the same bytes for the same input, escaped text, and a cell
without a number drawn without one."""

from __future__ import annotations

import re

from views.charts import EMPTY, HATCHED, Value, bar_chart, heat_map, nice_maximum


def fmt(x: float) -> str:
    return f"{x:,.0f}"


BARS = [
    ("a", Value(120.0, 80.0, 160.0, note="a: 120")),
    ("b", Value(gap="too few institutions", style=HATCHED)),
    ("c", Value(gap="too uncertain", style=EMPTY)),
]


def test_a_chart_is_the_same_bytes_on_every_render() -> None:
    assert bar_chart("x", "t", BARS, fmt) == bar_chart("x", "t", BARS, fmt)
    grid = [[Value(float(i * j)) for j in range(12)] for i in range(12)]
    rows = [f"r{i}" for i in range(12)]
    first = heat_map("h", "t", rows=rows, columns=rows, values=grid, fmt=fmt)
    assert first == heat_map("h", "t", rows=rows, columns=rows, values=grid, fmt=fmt)


def test_a_gap_is_hatched_or_empty_and_says_why() -> None:
    svg = str(bar_chart("x", "t", BARS, fmt))
    assert 'fill="url(#x-hatch)"' in svg and "too few institutions" in svg
    assert 'fill="none"' in svg and "too uncertain" in svg
    assert svg.count("<rect") == 3  # one bar, two gaps


def test_labels_are_escaped() -> None:
    svg = str(bar_chart("x", "<b>&", [("<script>", Value(1.0, 0.0, 2.0))], fmt))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&lt;b&gt;&amp;" in svg


def test_an_error_bar_never_goes_below_the_axis() -> None:
    svg = str(bar_chart("x", "t", [("a", Value(5.0, -20.0, 30.0))], fmt))
    starts = [float(x) for x in re.findall(r'd="M([\d.]+) ', svg)]
    assert min(starts) >= 190  # the plot's left edge, where 0 is


def test_the_axis_ends_at_a_round_number() -> None:
    assert [nice_maximum(v) for v in (0, 7, 12, 2400, 2600, 9999)] == [1, 10, 20, 2500, 5000, 10000]


def test_a_heat_map_shows_no_number_for_a_gap() -> None:
    values = [[Value(10.0), Value(gap="too few institutions", style=HATCHED)]]
    svg = str(heat_map("h", "t", rows=["r"], columns=["a", "b"], values=values, fmt=fmt))
    assert svg.count('fill="url(#h-hatch)"') == 1
