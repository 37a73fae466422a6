"""Grouped bars (views/charts_compare.py): one bar per series and key, error
bars for estimates only, gaps drawn as text and never as a bar, the same
bytes for the same input, and the accessibility and policy rules of every
chart (role="img" with a title, no style attribute)."""

from __future__ import annotations

import re

import pytest

from views.charts import EMPTY, HATCHED, Value
from views.charts_compare import SERIES_COLOURS, Group, grouped_bars


def chart(groups: list[Group]) -> str:
    return str(grouped_bars("c1", "Aandeel <per> segment", ["eigen", "groep"], groups, str))


def bars(svg: str, colour: str) -> list[str]:
    return re.findall(rf'<rect [^>]*fill="{colour}"/>', svg)


def test_each_series_has_its_bar_and_only_estimates_carry_an_error_bar() -> None:
    svg = chart([Group("a", (Value(30.0, 30.0, 30.0), Value(20.0, 15.0, 25.0))),
                 Group("b", (Value(10.0, 10.0, 10.0), Value(5.0, 1.0, 9.0)))])  # fmt: skip
    # Two legend swatches (one per series) and one bar per group and series.
    assert len(bars(svg, SERIES_COLOURS[0])) == 3 and len(bars(svg, SERIES_COLOURS[1])) == 3
    assert svg.count('stroke-width="1.2"') == 2  # the group's two intervals, not the exact bars


def test_a_gap_is_drawn_as_its_reason_never_as_a_bar() -> None:
    too_few = Value(gap="te weinig instellingen", style=HATCHED)
    uncertain = Value(gap="te onzeker", style=EMPTY)
    svg = chart([Group("a", (Value(30.0, 30.0, 30.0), too_few)),
                 Group("b", (Value(10.0, 10.0, 10.0), uncertain))])  # fmt: skip
    assert len(bars(svg, SERIES_COLOURS[1])) == 1  # the legend's swatch only
    assert "te weinig instellingen</text>" in svg and "te onzeker</text>" in svg
    assert 'fill="url(#c1-hatch)"' in svg and 'stroke-dasharray="3 2"' in svg


def test_an_error_bar_never_goes_below_zero() -> None:
    svg = chart([Group("a", (Value(1.0, 1.0, 1.0), Value(2.0, -3.0, 7.0)))])
    starts = [float(x) for x in re.findall(r'<path d="M([\d.]+) [\d.]+H', svg)]
    assert min(starts) >= 190  # the plot's left edge, x of 0


def test_the_chart_is_an_image_with_a_title_and_no_style_attribute() -> None:
    svg = chart([Group("a", (Value(1.0, 1.0, 1.0), Value(2.0, 1.0, 3.0)))])
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img"')
    assert '<title id="c1-title">Aandeel &lt;per&gt; segment</title>' in svg
    assert "style=" not in svg and "<script" not in svg


def test_the_same_input_gives_the_same_bytes() -> None:
    groups = [Group("a", (Value(1.0, 1.0, 1.0), Value(2.0, 1.0, 3.0)))]
    assert chart(groups) == chart(groups)


def test_every_group_needs_a_value_per_series() -> None:
    with pytest.raises(ValueError, match="one value per series"):
        chart([Group("a", (Value(1.0, 1.0, 1.0),))])
