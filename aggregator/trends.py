"""Trends: every benchmark figure of one peer group across the periods, quarter
on quarter, each with its 95% interval (issue 18, ADR 0040).

The public reads the published periods, the taskforce also the closed ones
("niet gepubliceerd"). An open quarter is not a point of a trend: its
figures are provisional, computed live on each view, and the overview shows
them ("voorlopig"). The group is chosen per
period with the overview's filters (``aggregator.sector_view.resolve``):
peer groups are merged anew each period, so the same selection can land on
a wider group in a quarter with fewer institutions, and the page says so per
period rather than hiding the change.

Every cell is the one ``aggregator.periods.visible_groups`` lists for that
period and group (what ``GET /v1/periods/{p}/benchmarks`` answers), shown by
the same rules as the overview: a key nobody listed reads "te weinig
instellingen", an uncertain cell "te onzeker", and either is a gap in the
chart's line, never a point. After the benchmark tables come the overview's
other figures (:class:`PeriodFigures`): the group's profile index and
penetration per segment, the households shared per pair of disciplines and,
for the sector, its reach, each as its API answered for that period; a period
without one (no population, no sketches) reads "niet beschikbaar".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from aggregator.page_sections import (
    PHRASES,
    TOO_FEW,
    TOO_UNCERTAIN,
    UNAVAILABLE,
    Row,
    ShownCell,
    axis,
    chart_value,
    shown_cell,
)
from aggregator.sector_view import (
    WORDS,
    Filters,
    PeriodChoice,
    Resolved,
    base_path,
    crossover_section,
    decimal,
    filter_fields,
    link,
    profile_section,
    reach_rows,
    word,
)
from dp.release_design import TABLE_DESIGN
from views import charts, charts_trend
from views.labels import Text, key_label, language, measure_name, table_title
from views.labels import bilingual as _t
from views.pages import number, render

TREND_WORDS: Mapping[str, Text] = {
    "title": _t("Trends", "Trends"),
    "lede": _t(
        "Elk cijfer van de gekozen groep per periode, kwartaal op kwartaal, met zijn "
        "95%-interval. Een periode zonder getal is een onderbreking in de lijn.",
        "Every figure of the chosen group per period, quarter on quarter, with its 95% "
        "interval. A period without a number is a break in the line.",
    ),
    "groups_caption": _t("De groep per periode", "The group per period"),
    "group": _t("groep", "group"),
    "caption": _t(
        "{title}: aantal {measure} per periode, schatting met 95%-interval.",
        "{title}: number of {measure} per period, estimate with its 95% interval.",
    ),
    "no_periods": _t("Nog geen perioden om te tonen.", "No periods to show yet."),
    "figure_caption": _t(
        "{title} per periode, schatting met 95%-interval.",
        "{title} per period, estimate with its 95% interval.",
    ),
    "penetration_trend": _t(
        "Bereik per 100 huishoudens per segment", "Penetration per 100 households by segment"
    ),
    "unavailable": _t("niet beschikbaar", "not available"),
    "overview": _t("Terug naar het overzicht", "Back to the overview"),
}


@dataclass(frozen=True)
class PeriodFigures:
    """The overview's other answers for one period, as their APIs gave them (None:
    not available for that period): ``GET …/penetration`` of the group,
    ``…/overlaps?by=discipline`` and, for the sector, ``…/reach``."""

    penetration: Mapping[str, Any] | None = None
    crossover: Mapping[str, Any] | None = None
    reach: Mapping[str, Any] | None = None
    penetration_reason: str = ""  # a key of the overview's words: why there is none
    crossover_reason: str = ""


@dataclass(frozen=True)
class PeriodGroup:
    """One period's group: its summary and cells as ``visible_groups`` lists them."""

    period: PeriodChoice
    k: int
    group: dict[str, Any]
    resolved: Resolved
    segment_model: str | None
    figures: PeriodFigures = field(default_factory=PeriodFigures)


@dataclass
class TrendRow:
    label: str
    cells: list[ShownCell] = field(default_factory=list)


@dataclass
class TrendTable:
    name: str
    anchor: str
    title: str
    caption: str
    rows: list[TrendRow]
    chart: Markup | None


def _keys(
    name: str, dims: Sequence[str], per_period: Sequence[Mapping[tuple[str, ...], Any]],
    models: Sequence[str | None], labels: Sequence[str],
) -> list[tuple[str, ...]]:  # fmt: skip
    """Every key of the table over the periods, in the design's order."""
    axes = []
    for position in range(len(dims)):
        seen: list[str] = []
        for listed, model, label in zip(per_period, models, labels, strict=True):
            for key in axis(name, position, list(listed), model, label):
                if key not in seen:
                    seen.append(key)
        axes.append(seen)
    if len(dims) == 1:
        return [(k,) for k in axes[0]]
    if len(dims) == 2:
        return [(a, b) for a in axes[0] for b in axes[1]]
    out: list[tuple[str, ...]] = []  # an older design's table: its listed keys
    for listed in per_period:
        out += [key for key in listed if key not in out]
    return out


def trend_tables(columns: Sequence[PeriodGroup], lang: str) -> list[TrendTable]:
    """Every table any of the periods lists, in the release design's order."""
    names: list[str] = [t.name for t in TABLE_DESIGN]
    found: dict[str, list[dict[str, Any]]] = {}
    for column in columns:
        for cell in column.group.get("cells", []):
            found.setdefault(cell["table"], []).append(cell)
    order = [n for n in names if n in found] + sorted(set(found) - set(names))
    tables = []
    for index, name in enumerate(order, start=1):
        first = found[name][0]
        dims = list(first["dimensions"])
        per_period = [
            {tuple(str(c[d]) for d in dims): c for c in column.group.get("cells", [])
             if c["table"] == name}
            for column in columns
        ]  # fmt: skip
        keys = _keys(name, dims, per_period, [c.segment_model for c in columns],
                     [c.period.label for c in columns])  # fmt: skip
        rows = []
        for key in keys:
            label = " · ".join(key_label(d, k, lang) for d, k in zip(dims, key, strict=True))
            rows.append(TrendRow(label, [shown_cell(key, listed.get(key), lang)
                                         for listed in per_period]))  # fmt: skip
        title = table_title(name, lang)
        chart = None
        if len(dims) == 1:
            chart = charts_trend.trend_chart(
                f"trend-{index}", title, [c.period.label for c in columns],
                [(row.label, [chart_value(f"{row.label}, {c.period.label}", cell)
                              for c, cell in zip(columns, row.cells, strict=True)])
                 for row in rows],
                lambda x: number(x, lang),
            )  # fmt: skip
        caption = TREND_WORDS["caption"][lang].format(
            title=title, measure=measure_name(first["measure"], lang)
        )
        tables.append(TrendTable(name, f"trend-{index}", title, caption, rows, chart))
    return tables + figure_tables(columns, lang, first_index=len(tables) + 1)


def _figure_text(value: float, lang: str) -> str:
    """A chart label of a figure that may be a fraction (penetration per 100
    households, institutions per household): two decimals below 100, else whole."""
    if abs(value) >= 100 or float(value).is_integer():
        return number(value, lang)
    return decimal(value, 2, lang)


def figure_tables(
    columns: Sequence[PeriodGroup], lang: str, *, first_index: int
) -> list[TrendTable]:
    """The overview's other figures across the periods, one table each, in the
    overview's order; a figure no period has is left out. Each period's rows
    are the overview's own (``sector_view``), so page and trend cannot differ."""

    # Each source gives a period's rows, or None when its API gave no answer for
    # that period. An answer without a row that another period has is a group
    # too small to list it (penetration unlisted: fewer than k institutions).
    def profile_rows(column: PeriodGroup, figure: str) -> list[Row] | None:
        if column.figures.penetration is None:
            return None
        rows = profile_section(column.figures.penetration, "", lang).rows
        return [Row(row.label, [c for c in row.cells if c.key.endswith(f"|{figure}")])
                for row in rows]  # fmt: skip

    def crossover_rows(column: PeriodGroup) -> list[Row] | None:
        if column.figures.crossover is None:
            return None
        return crossover_section(column.figures.crossover, "", lang, k=column.k).rows

    def reach_of(column: PeriodGroup) -> list[Row] | None:
        return None if column.figures.reach is None else reach_rows(column.figures.reach, lang)

    sources = (
        ("profile_index", WORDS["profile_chart"][lang],
         lambda c: profile_rows(c, "profile_index")),
        ("penetration", TREND_WORDS["penetration_trend"][lang],
         lambda c: profile_rows(c, "penetration")),
        ("crossover", WORDS["crossover"][lang], crossover_rows),
        ("reach", WORDS["reach"][lang], reach_of),
    )  # fmt: skip
    unavailable = TREND_WORDS["unavailable"][lang]
    too_few = PHRASES[TOO_FEW][lang]
    tables: list[TrendTable] = []
    for name, title, rows_of in sources:
        answers = [rows_of(c) for c in columns]
        per_period = [{row.label: row.cells[0] for row in rows or ()} for rows in answers]
        labels = list(dict.fromkeys(label for rows in per_period for label in rows))
        if not labels:
            continue
        rows = [
            TrendRow(label, [
                listed.get(label) or (ShownCell(label, UNAVAILABLE, unavailable) if answer is None
                                      else ShownCell(label, TOO_FEW, too_few))
                for listed, answer in zip(per_period, answers, strict=True)
            ])
            for label in labels
        ]  # fmt: skip
        anchor = f"trend-{first_index + len(tables)}"
        chart = charts_trend.trend_chart(
            anchor, title, [c.period.label for c in columns],
            [(row.label, [chart_value(f"{row.label}, {c.period.label}", cell)
                          for c, cell in zip(columns, row.cells, strict=True)])
             for row in rows],
            lambda x: _figure_text(x, lang),
        )  # fmt: skip
        caption = TREND_WORDS["figure_caption"][lang].format(title=title)
        tables.append(TrendTable(name, anchor, title, caption, rows, chart))
    return tables


@dataclass(frozen=True)
class TrendInputs:
    audience: str
    columns: list[PeriodGroup]
    filters: Filters


def trend_body(columns: Sequence[PeriodGroup], lang: str) -> Markup:
    """The page's figures: the group of each period, the contents and a section
    per table. Rendered on its own so that the caller can keep it while the
    periods it shows are closed (``aggregator.api.sector_pages``): it depends
    on nothing but the stored benchmarks and sketches, the segment-model
    releases published (the population), the selection and the language."""
    state_words = {s: word(s, lang) for s in ("published", "closed", "open")}
    html = render(
        "trends_body.html",
        lang=lang,
        w={name: WORDS[name][lang] for name in WORDS if "{" not in WORDS[name][lang]},
        tw={name: TREND_WORDS[name][lang] for name in TREND_WORDS},
        t={name: PHRASES[name][lang] for name in ("contents",)},
        gaps=PHRASES["gaps"][lang].format(k=min((c.k for c in columns), default=0)),
        periods=[
            {
                "label": c.period.label,
                "state": c.period.state,
                "text": f"{c.period.label} ({state_words[c.period.state]})",
                "group": c.group["group_id"],
                "institutions": number(c.group["institutions"], lang),
                "reasons": c.resolved.reasons,
            }
            for c in columns
        ],
        tables=trend_tables(columns, lang),
    )
    return Markup(html)  # noqa: S704 - a template of this package, rendered with autoescaping


def render_trends(
    inputs: TrendInputs, *, lang: str | None, chrome: Mapping[str, Any], body: Markup | None = None
) -> str:
    """The trends page (``chrome``: the common context of ``base.html``;
    ``body``: ``trend_body`` of the inputs' columns, when the caller kept it)."""
    lang = language(lang)
    base = base_path(inputs.audience)
    f = inputs.filters
    return render(
        "trends.html",
        **{**chrome, "lang": lang},
        w={name: WORDS[name][lang] for name in WORDS if "{" not in WORDS[name][lang]},
        tw={name: TREND_WORDS[name][lang] for name in TREND_WORDS},
        t={name: PHRASES[name][lang] for name in ("howto_title", "howto")},
        action=base.rstrip("/") + "/trends",
        overview_href=link(
            base, lang=lang, discipline=f.discipline, province=f.province, size=f.size
        ),
        filters=filter_fields(f, lang),
        legend=charts.legend(
            "legend",
            [
                (charts.HATCHED, PHRASES[TOO_FEW][lang]),
                (charts.EMPTY, PHRASES[TOO_UNCERTAIN][lang]),
            ],
        ),
        body=body if body is not None else trend_body(inputs.columns, lang),
    )
