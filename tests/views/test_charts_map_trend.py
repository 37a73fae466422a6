"""The tile map of the provinces and the trend chart: every province has its
tile, a gap is drawn as a gap (never a coloured tile or a point at 0), text is
escaped, and the same input gives the same bytes."""

from __future__ import annotations

import re

from views.charts import EMPTY, HATCHED, Value
from views.charts_map import SHORT, TILES, tile_map
from views.charts_trend import trend_chart


def fmt(x: float) -> str:
    return f"{x:,.0f}"


def test_the_map_has_one_tile_per_province_and_no_two_share_a_place() -> None:
    assert set(TILES) == set(SHORT) and len(TILES) == 12
    assert len(set(TILES.values())) == 12
    svg = tile_map("m", "Provinces", {"utrecht": Value(10.0, 5.0, 15.0)}, fmt)
    for short in SHORT.values():
        assert f">{short}</text>" in svg


def test_a_province_without_a_number_is_hatched_or_outlined_not_coloured() -> None:
    values = {
        "utrecht": Value(100.0, 80.0, 120.0, note="Utrecht: 100"),
        "zeeland": Value(gap="too uncertain", style=EMPTY, note="Zeeland: too uncertain"),
        "limburg": Value(gap="too few", style=HATCHED, note="Limburg: too few"),
    }
    svg = str(tile_map("m", "Provinces", values, fmt))
    hatched = svg.count('fill="url(#m-hatch)"')
    # Limburg and the nine provinces not listed are hatched; Zeeland is a dashed outline.
    assert hatched == 10
    assert svg.count('stroke-dasharray="3 2"') == 1
    assert "<title>Zeeland: too uncertain</title>" in svg


def test_the_map_escapes_its_texts_and_is_the_same_bytes_each_time() -> None:
    values = {"utrecht": Value(1.0, 0.0, 2.0, note="<script>")}
    first = tile_map("m", "a <b>", values, fmt)
    assert first == tile_map("m", "a <b>", values, fmt)
    assert "<script>" not in first and "&lt;script&gt;" in first


PERIODS = ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]


def test_a_trend_breaks_its_line_at_a_period_without_a_number() -> None:
    values = [
        Value(100.0, 90.0, 110.0),
        Value(120.0, 100.0, 140.0),
        Value(gap="too uncertain", style=EMPTY),
        Value(130.0, 120.0, 140.0),
    ]
    svg = str(trend_chart("t", "Trend", PERIODS, [("museum", values)], fmt))
    assert svg.count("<circle") == 3  # a dot per number, none for the gap
    lines = re.findall(r'<path d="M[\d.]+ [\d.]+L', svg)
    assert len(lines) == 1  # Q1–Q2 joined; Q2–Q4 not joined across the gap
    assert 'stroke-dasharray="3 2"' in svg
    for period in PERIODS:
        assert f">{period}</text>" in svg


def test_a_trend_whisker_spans_the_interval_and_never_goes_below_the_axis() -> None:
    values = [Value(10.0, 0.0, 20.0)]
    svg = str(trend_chart("t", "Trend", PERIODS[:1], [("x", values)], fmt))
    whisker = re.search(r'<path d="M([\d.]+) ([\d.]+)V([\d.]+)', svg)
    assert whisker
    low_y, high_y = float(whisker.group(2)), float(whisker.group(3))
    axis = re.search(r'<path d="M190 ([\d.]+)H', svg)
    assert axis and low_y == float(axis.group(1)) and high_y < low_y


def test_a_trend_chart_is_the_same_bytes_and_escapes_its_labels() -> None:
    series = [("<b>", [Value(1.0, 0.5, 1.5)])]
    first = trend_chart("t", "x", PERIODS[:1], series, fmt)
    assert first == trend_chart("t", "x", PERIODS[:1], series, fmt)
    assert "&lt;b&gt;" in first and "<b>" not in first
