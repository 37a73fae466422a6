"""A table of the release design as the sector pages show it: each cell as
shown (``shown_cell``), the table's chart and its accessible table beside it
(``section``), the tables in the design's order (``ordered_tables``) — what the
overview (``aggregator.sector_view``) and the trends (``aggregator.trends``)
both lay out, ADR 0039.

What a section shows, and why:

* Every key of a table's key set (``dp.release_design.labels``) has a place,
  so a reader sees what is missing as well as what is there. A key that no
  cell lists was sent by fewer than ``k`` institutions: it reads "te weinig
  instellingen" / "too few institutions". A listed cell that is too
  uncertain (95% half-width over half its estimate) reads "te onzeker" /
  "too uncertain". Neither ever shows a number, in the chart or the table.
* An estimate is never negative, but the lower end of its interval can be;
  the page shows it as 0 with a mark and says so: a count below zero tells a
  reader nothing but that the noise is wide.
* Labels are human and Dutch by default (``lang=en`` for English); the
  numbers are the API's (``/v1/periods/{period}/benchmarks``), rounded to
  whole numbers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from dp.release_design import TABLE_DESIGN, design_of, labels
from views import charts
from views.labels import (
    Text,
    dimension_name,
    key_label,
    measure_name,
    table_title,
)
from views.labels import (
    bilingual as _t,
)
from views.pages import STYLE, number

__all__ = [
    "PHRASES",
    "STYLE",
    "TOO_FEW",
    "TOO_UNCERTAIN",
    "ordered_tables",
    "section",
    "shown_cell",
]

NUMBER = "number"
TOO_FEW = "too_few"
TOO_UNCERTAIN = "too_uncertain"
# A figure another API did not give for a period (no population, no sketches).
UNAVAILABLE = "unavailable"
NO_NUMBER = "no_number"  # a cell stored by an earlier algorithm, shown without its number


PHRASES: Mapping[str, Text] = {
    "title": _t("Sectorbenchmark", "Sector benchmark"),
    "language": _t("Taal", "Language"),
    "lede": _t(
        "{n} instellingen in deze groep. De cijfers combineren de differentieel private "
        "tellingen van de instellingen: nooit negatief, en de tabellen van één maat tellen "
        "op tot hetzelfde totaal.",
        "{n} institutions in this group. The figures combine the institutions' differentially "
        "private counts: never negative, and the tables of one measure add up to the same total.",
    ),
    "howto_title": _t("Zo lees je de foutbalken", "How to read the error bars"),
    "howto": _t(
        "Elk getal is een schatting, en de zwarte lijn om het eind van een staaf (in de tabel: "
        "de twee getallen eronder) is het 95%-interval, waarbinnen het echte aantal met 95% "
        "zekerheid ligt. Hoe langer de lijn, hoe onzekerder het getal; overlappen de lijnen van "
        "twee staven, dan is niet zeker welke van de twee groter is.",
        "Every number is an estimate, and the black line around the end of a bar (in the table: "
        "the two numbers below it) is the 95% interval, within which the true count lies with "
        "95% certainty. The longer the line, the less certain the number; where the lines of "
        "two bars overlap, it is not certain which of the two is larger.",
    ),
    "gaps": _t(
        "Een vak zonder getal zegt waarom: ‘te weinig instellingen’ als minder dan {k} "
        "instellingen het aanleverden, ‘te onzeker’ als het interval breder is dan de helft "
        "van de schatting. Een aantal is nooit negatief: een ondergrens onder 0 staat als 0, "
        "gemarkeerd met *.",
        "A cell without a number says why: ‘too few institutions’ when fewer than {k} "
        "institutions sent it, ‘too uncertain’ when its interval is wider than half the "
        "estimate. A count is never negative: a lower bound below 0 is shown as 0, marked *.",
    ),
    "contents": _t("Inhoud", "Contents"),
    "groups": _t("Groepen", "Peer groups"),
    "downloads": _t("Downloads", "Downloads"),
    "downloads_text": _t(
        "De cijfers van deze groep in deze periode, zoals hierboven, met hun standaardafwijking.",
        "This group's figures for this period, as above, with their standard deviations.",
    ),
    "empty": _t("Geen inzendingen voor deze periode.", "No submissions for this period."),
    "estimate": _t("schatting (95%-interval)", "estimate (95% interval)"),
    "institutions": _t("instellingen", "institutions"),
    "caption_1d": _t(
        "Aantal {measure}: schatting met 95%-interval, en het aantal instellingen per rij.",
        "Number of {measure}: estimate with its 95% interval, and the institutions per row.",
    ),
    "caption_2d": _t(
        "Aantal {measure}: schatting met 95%-interval; rijen: {rows}, kolommen: {columns}.",
        "Number of {measure}: estimate with its 95% interval; rows: {rows}, columns: {columns}.",
    ),
    "clamped_note": _t(
        "* De ondergrens van het interval lag onder 0 en staat hier als 0.",
        "* The interval's lower bound was below 0 and is shown as 0.",
    ),
    TOO_FEW: _t("te weinig instellingen", "too few institutions"),
    TOO_UNCERTAIN: _t("te onzeker", "too uncertain"),
    NO_NUMBER: _t("geen getal (eerdere berekening)", "no number (earlier computation)"),
    "group_text": _t("{level}, {n} instellingen", "{level}, {n} institutions"),
    "merged": _t(
        "met {n} kleinere groep(en) erin opgenomen", "includes {n} smaller group(s) merged upward"
    ),
    "other_language": _t("English", "Nederlands"),
}


@dataclass(frozen=True)
class ShownCell:
    """One cell as the page shows it: a number with its interval, or the reason
    it has none (``state``)."""

    key: str
    state: str
    gap: str = ""
    estimate: int | None = None
    low: int = 0
    high: int = 0
    clamped: bool = False
    estimate_text: str = ""
    low_text: str = ""
    high_text: str = ""
    institutions_text: str = ""


@dataclass
class Row:
    label: str
    cells: list[ShownCell] = field(default_factory=list)
    table: str = ""  # the table a row of a mixed section (the headline figures) comes from


@dataclass
class Section:
    name: str
    anchor: str
    title: str
    caption: str
    row_dimension: str
    column_dimension: str
    columns: list[str]
    rows: list[Row]
    chart: Markup
    clamped: bool


def _phrase(name: str, lang: str, **values: Any) -> str:
    return PHRASES[name][lang].format(**values)


def shown_cell(key: Sequence[str], cell: Mapping[str, Any] | None, lang: str) -> ShownCell:
    """The page's form of a listed cell (``None``: not listed, too few institutions)."""
    joined = "|".join(key)
    if cell is None:
        return ShownCell(joined, TOO_FEW, _phrase(TOO_FEW, lang), institutions_text="–")
    institutions = number(cell["institutions"], lang)
    if cell.get("too_uncertain"):
        state = TOO_UNCERTAIN
    elif cell.get("published") and cell.get("estimate") is not None:
        state = NUMBER
    else:
        state = NO_NUMBER
    if state != NUMBER:
        return ShownCell(joined, state, _phrase(state, lang), institutions_text=institutions)
    estimate = int(cell["estimate"])
    low_raw, high_raw = float(cell["ci95_low"]), float(cell["ci95_high"])
    low, high = max(0, round(low_raw)), max(0, round(high_raw))
    return ShownCell(
        joined, NUMBER, estimate=estimate, low=low, high=high, clamped=low_raw < 0,
        estimate_text=number(estimate, lang), low_text=number(low, lang),
        high_text=number(high, lang), institutions_text=institutions,
    )  # fmt: skip


def chart_value(label: str, shown: ShownCell) -> charts.Value:
    if shown.estimate is None:
        style = {TOO_FEW: charts.HATCHED, UNAVAILABLE: charts.MISSING}.get(
            shown.state, charts.EMPTY
        )
        return charts.Value(gap=shown.gap, style=style, note=f"{label}: {shown.gap}")
    note = f"{label}: {shown.estimate_text} ({shown.low_text} – {shown.high_text})"
    return charts.Value(float(shown.estimate), float(shown.low), float(shown.high), note=note)


def axis(
    name: str, position: int, listed: Sequence[tuple[str, ...]], segment_model: str | None,
    period: str,
) -> list[str]:  # fmt: skip
    """The keys of one dimension of a table, in the design's order: the whole
    key set for a table of the release design, then any listed key outside it
    (a table of an older design has only its listed keys)."""
    seen = list(dict.fromkeys(key[position] for key in listed))
    try:
        design = design_of(name)
        dimension = design.dimensions[position]
        full = list(labels(dimension, segment_model=segment_model or "", period=period))
    except (ValueError, IndexError):
        return seen
    return full + [k for k in seen if k not in full]


def _anchor(index: int, name: str) -> str:
    return f"t{index}-" + re.sub(r"[^a-z0-9_-]+", "-", name.lower())


def section(
    index: int, cells: list[dict[str, Any]], *, period: str, segment_model: str | None, lang: str
) -> Section:
    name, dims = cells[0]["table"], list(cells[0]["dimensions"])
    listed = {tuple(str(c[d]) for d in dims): c for c in cells}
    title = table_title(name, lang)
    anchor = _anchor(index, name)
    measure = measure_name(cells[0]["measure"], lang)
    if len(dims) == 2:
        row_keys = axis(name, 0, list(listed), segment_model, period)
        column_keys = axis(name, 1, list(listed), segment_model, period)
        columns = [key_label(dims[1], c, lang) for c in column_keys]
        rows = [
            Row(key_label(dims[0], r, lang), [shown_cell((r, c), listed.get((r, c)), lang)
                                              for c in column_keys])
            for r in row_keys
        ]  # fmt: skip
        chart = charts.heat_map(
            f"chart-{index}", title,
            rows=[row.label for row in rows], columns=columns,
            values=[[chart_value(f"{row.label}, {columns[j]}", cell)
                     for j, cell in enumerate(row.cells)] for row in rows],
            fmt=lambda x: number(x, lang),
        )  # fmt: skip
        caption = _phrase("caption_2d", lang, measure=measure,
                          rows=dimension_name(dims[0], lang),
                          columns=dimension_name(dims[1], lang))  # fmt: skip
        row_dimension, column_dimension = (
            dimension_name(dims[0], lang),
            dimension_name(dims[1], lang),
        )
    else:
        keys: list[tuple[str, ...]]
        if len(dims) == 1:
            keys = [(k,) for k in axis(name, 0, list(listed), segment_model, period)]
        else:  # a table of an older design over three dimensions: its listed keys
            keys = list(listed)
        rows = [
            Row(" · ".join(key_label(d, k, lang) for d, k in zip(dims, key, strict=True)),
                [shown_cell(key, listed.get(key), lang)])
            for key in keys
        ]  # fmt: skip
        chart = charts.bar_chart(
            f"chart-{index}", title,
            [(row.label, chart_value(row.label, row.cells[0])) for row in rows],
            lambda x: number(x, lang),
        )  # fmt: skip
        columns = []
        row_dimension = " · ".join(dimension_name(d, lang) for d in dims)
        column_dimension = ""
        caption = _phrase("caption_1d", lang, measure=measure)
    return Section(
        name=name, anchor=anchor, title=title, caption=f"{title}. {caption}",
        row_dimension=row_dimension, column_dimension=column_dimension, columns=columns,
        rows=rows, chart=chart,
        clamped=any(cell.clamped for row in rows for cell in row.cells),
    )  # fmt: skip


def ordered_tables(cells: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The group's tables in the release design's order, then any others by name."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for cell in cells:
        tables.setdefault(cell["table"], []).append(cell)
    order = [t.name for t in TABLE_DESIGN if t.name in tables]
    order += sorted(set(tables) - set(order))
    return [tables[name] for name in order]
