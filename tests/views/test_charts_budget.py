"""The budget chart (``views.charts_budget``): a bar per institution against a
dashed budget line, the same bytes on every render, and labels escaped."""

from views.charts_budget import BAR, OVER, budget_chart


def chart(bars: list[tuple[str, float, str]]) -> str:
    return str(budget_chart("b", "Budget", bars, budget=0.5, budget_label="budget 0,5", fmt=str))


def test_one_bar_per_institution_and_a_dashed_budget_line() -> None:
    svg = chart([("a", 0.1, "a: 0,1"), ("b", 0.5, "b: 0,5")])
    assert svg.count(f'fill="{BAR}"') == 2
    assert 'stroke-dasharray="4 3"' in svg and ">budget 0,5</text>" in svg
    assert svg == chart([("a", 0.1, "a: 0,1"), ("b", 0.5, "b: 0,5")])


def test_a_bar_past_the_budget_is_drawn_in_another_colour() -> None:
    svg = chart([("a", 0.6, "a: 0,6")])
    assert f'fill="{OVER}"' in svg and f'fill="{BAR}"' not in svg


def test_labels_and_notes_are_escaped() -> None:
    svg = chart([("<x>", 0.1, "<b>&")])
    assert "<x>" not in svg and "&lt;x&gt;" in svg and "&lt;b&gt;&amp;" in svg
