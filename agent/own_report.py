"""``agent report``: the institution's own report, one HTML file written on its side.

Its own numbers are exact: counted here from the stored visits with the
release's own definitions (:mod:`agent.own_report_data`), labelled as its own
exact counts, and never sent anywhere. Beside them stand its peer group's and
the sector's published figures, each with its 95% interval, or the reason it
has none ("te weinig instellingen", "te onzeker"), never a number.

Absolute counts of one institution and of a group of dozens are not
comparable, so the report compares *shares*: each key's part of the own
households (or visits) beside its part of the group's. A group's total is
the sum of a table of the same measure whose every key is listed (each table
of one measure adds up to the same total, ADR 0012; :func:`group_totals`
says which); a share's interval is its count's interval over that total.
Without such a table the group's shares read "te onzeker", and the page
says why.

The file is self-contained: the stylesheet inline, charts as inline SVG, no
script, no font, no link or image outside the file, so that it opens from
disk with the network off and can be mailed inside the institution. It is
written owner-only (``protocol.state_files``): it holds exact counts.

When the aggregator cannot be reached, the report is still written with the
own numbers alone, and both the page and the command say so (exit code 3):
the own numbers are worth having, and a later run adds the benchmark.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import Markup

from agent.client import AggregatorClient
from agent.own_report_data import (
    Counting,
    OwnTable,
    Published,
    counting_for,
    fetch_published,
    installed_model,
    own_tables,
    stored_periods,
)
from agent.release_config import release_config
from agent.segments import SegmentModel
from agent.workspace import Workspace
from dp.release_design import HOUSEHOLDS, VISITS
from protocol.errors import (
    InvalidPayload,
    NotFound,
    PubliekError,
    ServiceUnavailable,
    UnknownPeriod,
    UsageError,
)
from protocol.messages import check_period
from protocol.state_files import private_dir, write_private
from views import charts
from views.charts_compare import Group, grouped_bars
from views.labels import (
    LANGUAGES,
    Text,
    dimension_name,
    key_label,
    level_name,
    measure_name,
    table_title,
)
from views.labels import (
    bilingual as _t,
)
from views.pages import number, render

NUMBER = "number"
TOO_FEW = "too_few"
TOO_UNCERTAIN = "too_uncertain"
NOT_APPLICABLE = "none"
# The one-dimensional tables the report compares, in the order:
# segment profile, provinces, months, frequency, new / returning, then the rest.
COMPARED = (
    "households_by_segment",
    "households_by_province",
    "visits_by_month",
    "households_by_frequency_band",
    "households_by_returning",
    "households_by_recency",
    "households_by_discipline_count",
    "households_by_discipline",
    "earlier_households_by_loyalty",
)


PHRASES: Mapping[str, Text] = {
    "title": _t("Eigen rapport", "Own report"),
    "lede": _t(
        "{institution} in {period}, naast haar vergelijkingsgroep ({group}) en de hele sector.",
        "{institution} in {period}, beside its peer group ({group}) and the whole sector.",
    ),
    "own_only_lede": _t("{institution} in {period}.", "{institution} in {period}."),
    "exact_title": _t("Eigen exacte aantallen", "Own exact counts"),
    "exact": _t(
        "De eigen aantallen in dit rapport zijn exact: berekend op deze computer uit de eigen "
        "bezoeken van de instelling. Ze verlaten het gebouw nooit; alleen de differentieel "
        "private tellingen zijn verstuurd.",
        "The own counts in this report are exact: computed on this computer from the "
        "institution's own visits. They never leave the building; only the differentially "
        "private counts were sent.",
    ),
    "shares": _t(
        "Een instelling en een groep van tientallen instellingen hebben geen vergelijkbare "
        "aantallen; daarom staan hier aandelen naast elkaar: het deel van de eigen huishoudens "
        "(of bezoeken) in elke rij, naast het deel van die van de groep. Het aandeel van een "
        "groep is zijn geschatte aantal gedeeld door zijn totaal (de som van een tabel waarvan "
        "elke rij er is; een te onzekere rij telt daarin als 0); het 95%-interval telt de "
        "onzekerheid van het aantal én van het totaal.",
        "An institution and a group of dozens of institutions have no comparable counts, so "
        "this report sets shares side by side: each row's part of the own households (or "
        "visits) beside its part of the group's. A group's share is its estimated count over "
        "its total (the sum of a table with every row listed; a too uncertain row counts as 0 "
        "there); the 95% interval counts the uncertainty of both the count and the total.",
    ),
    "gaps": _t(
        "Een vak zonder getal zegt waarom: ‘te weinig instellingen’ als minder dan {k} "
        "instellingen het aanleverden, ‘te onzeker’ als het interval breder is dan de helft van "
        "de schatting (of als de groep geen totaal heeft om een aandeel van te nemen). Een "
        "ondergrens onder 0 "
        "staat als 0, gemarkeerd met *.",
        "A cell without a number says why: ‘too few institutions’ when fewer than {k} "
        "institutions sent it, ‘too uncertain’ when its interval is wider than half the "
        "estimate (or when the group has no total to take a share of). A lower bound below 0 is "
        "shown "
        "as 0, marked *.",
    ),
    "offline": _t(
        "De benchmark kon niet worden opgehaald ({reason}). Dit rapport toont alleen de eigen "
        "exacte aantallen; maak het opnieuw wanneer de aggregator bereikbaar is.",
        "The benchmark could not be fetched ({reason}). This report shows the own exact counts "
        "only; write it again when the aggregator can be reached.",
    ),
    "unpublished": _t(
        "De benchmark van {period} is er voor deze instelling (nog) niet ({reason}). Dit "
        "rapport toont alleen de eigen exacte aantallen; maak het opnieuw zodra de taskforce "
        "de periode heeft gepubliceerd met een inzending van deze instelling erin meegeteld.",
        "There is no benchmark of {period} for this institution (yet) ({reason}). This report "
        "shows the own exact counts only; write it again once the taskforce has published the "
        "period with a submission of this institution counted in it.",
    ),
    "not_submitted": _t(
        "Voor deze periode is hier geen release getrokken: de eigen aantallen zijn geteld met "
        "de instellingen van nu.",
        "No release was drawn here for this period: the own counts use today's settings.",
    ),
    "synthetic": _t(
        "Segmentmodel {model} is SYNTHETISCH: de segmenten beschrijven geen echte bevolking.",
        "Segment model {model} is SYNTHETIC: its segments describe no real population.",
    ),
    "summary": _t("Samenvatting", "Summary"),
    "households_total": _t("huishoudens (eigen, exact)", "households (own, exact)"),
    "visits_total": _t("bezoeken (eigen, exact)", "visits (own, exact)"),
    "contents": _t("Inhoud", "Contents"),
    "own": _t("eigen (exact)", "own (exact)"),
    "own_count": _t("eigen aantal (exact)", "own count (exact)"),
    "own_share": _t("eigen aandeel (exact)", "own share (exact)"),
    "peer": _t("vergelijkingsgroep (95%-interval)", "peer group (95% interval)"),
    "peer_series": _t("vergelijkingsgroep", "peer group"),
    "sector": _t("sector (95%-interval)", "sector (95% interval)"),
    "sector_series": _t("sector", "sector"),
    "population": _t(
        "bevolking in het eigen verzorgingsgebied ({catchment})",
        "population of the own catchment ({catchment})",
    ),
    "population_series": _t("bevolking", "population"),
    "population_missing": _t(
        "De bevolking van het eigen verzorgingsgebied is niet beschikbaar ({reason}).",
        "The population of the own catchment is not available ({reason}).",
    ),
    "caption": _t(
        "{title}: eigen aantal en aandeel (exact) naast de aandelen van de vergelijkingsgroep "
        "en de sector (schatting met 95%-interval).",
        "{title}: own count and share (exact) beside the peer group's and the sector's shares "
        "(estimate with 95% interval).",
    ),
    "caption_own": _t(
        "{title}: eigen aantal en aandeel (exact).", "{title}: own count and share (exact)."
    ),
    "chart_title": _t("{title}: aandeel in procenten", "{title}: share in percent"),
    "overlaps": _t(
        "Overlap met disciplines en de sector", "Overlap with disciplines and the sector"
    ),
    "overlaps_text": _t(
        "Huishoudens die de instelling deelt met de andere instellingen van elke discipline, "
        "provincie en de hele sector (schatting met 95%-interval uit de huishoudschetsen), en "
        "als deel van de eigen huishoudens.",
        "Households the institution shares with the other institutions of each discipline, "
        "province and the whole sector (estimate with 95% interval from the household "
        "sketches), and as a part of the own households.",
    ),
    "overlaps_missing": _t(
        "Geen overlap beschikbaar ({reason}).", "No overlaps available ({reason})."
    ),
    "side": _t("met", "with"),
    "others": _t("andere instellingen", "other institutions"),
    "shared": _t("gedeelde huishoudens (95%-interval)", "shared households (95% interval)"),
    "shared_share": _t("deel van de eigen huishoudens", "part of the own households"),
    "overlaps_chart": _t("Gedeelde huishoudens", "Shared households"),
    "trends": _t("Eigen trend over de perioden", "Own trend over the periods"),
    "trends_text": _t(
        "De eigen exacte aantallen van elke periode met bezoeken in deze werkmap.",
        "The own exact counts of each period with visits in this workspace.",
    ),
    "period": _t("periode", "period"),
    "new": _t("nieuw", "new"),
    "returning": _t("terugkerend", "returning"),
    TOO_FEW: _t("te weinig instellingen", "too few institutions"),
    TOO_UNCERTAIN: _t("te onzeker", "too uncertain"),
    NOT_APPLICABLE: _t("–", "–"),
    "clamped_note": _t(
        "* De ondergrens van het interval lag onder 0 en staat hier als 0.",
        "* The interval's lower bound was below 0 and is shown as 0.",
    ),
    "group_text": _t("{id}: {level}, {n} instellingen", "{id}: {level}, {n} institutions"),
}


def _phrase(name: str, lang: str, **values: Any) -> str:
    return PHRASES[name][lang].format(**values)


def percent(value: float, lang: str) -> str:
    """A share as the reader writes it: ``12,5%`` in Dutch, ``12.5%`` in English."""
    text = f"{value:.1f}%"
    return text.replace(".", ",") if lang == "nl" else text


@dataclass(frozen=True)
class Shown:
    """One figure as the page shows it: a number (exact, or an estimate with its
    interval), or the reason it has none (``state``)."""

    state: str
    text: str = ""
    value: float | None = None
    low: float = 0.0
    high: float = 0.0
    low_text: str = ""
    high_text: str = ""
    interval: bool = False
    clamped: bool = False
    count: float | None = None  # the published estimate behind a group's share, as sent


@dataclass
class Row:
    key: str
    label: str
    cells: list[Shown] = field(default_factory=list)


@dataclass
class Section:
    name: str
    anchor: str
    title: str
    caption: str
    dimension: str
    columns: list[str]
    rows: list[Row]
    chart: Markup
    clamped: bool


def _gap(state: str, lang: str) -> Shown:
    return Shown(state, _phrase(state, lang))


def _exact(value: float, text: str) -> Shown:
    return Shown(NUMBER, text, value, value, value, text, text)


def _estimate(
    cell: Mapping[str, Any] | None, total: Total | float | None, lang: str, *,
    as_share: bool = True,
) -> Shown:  # fmt: skip
    """A published cell as a share of ``total`` (or as a count), or its gap.

    A share's interval counts the total's noise as well as the cell's (the
    delta method for ``cell / total``, where the cell is part of the total):
    its variance is ``(σc²·(1 − 2s) + s²·σT²) / T²`` for the share ``s``."""
    if cell is None:
        return _gap(TOO_FEW, lang)
    if not _has_number(cell):
        return _gap(TOO_UNCERTAIN, lang)
    whole = total if isinstance(total, Total) else Total(total or 0.0, 0.0)
    if as_share and not whole.value:
        return _gap(TOO_UNCERTAIN, lang)
    # The aggregator sends no negative estimate; were one to come, it shows as 0.
    raw_low, count = float(cell["ci95_low"]), max(0, cell["estimate"])
    if as_share:
        share = count / whole.value
        sd = _sd(cell)
        variance = max(0.0, sd * sd * (1 - 2 * share) + share * share * whole.sd * whole.sd)
        half = Z95 * math.sqrt(variance) / whole.value
        clamped = share - half < 0
        estimate, low, high = 100 * share, max(0.0, 100 * (share - half)), 100 * (share + half)
    else:
        clamped = raw_low < 0
        estimate, low, high = (float(count), max(0.0, raw_low),
                               max(0.0, float(cell["ci95_high"])))  # fmt: skip

    def fmt(x: float) -> str:
        return percent(x, lang) if as_share else number(x, lang)

    return Shown(
        NUMBER, fmt(estimate), round(estimate, 4), round(low, 4), round(high, 4),
        fmt(low), fmt(high), interval=True, clamped=clamped, count=count,
    )  # fmt: skip


def _key_of(cell: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(str(cell[d]) for d in cell["dimensions"])


@dataclass(frozen=True)
class Total:
    """A group's total of one measure and its standard deviation (from the
    summed cells' own, as if independent: the cells of one table are)."""

    value: float
    sd: float


Z95 = 1.959963984540054


def _sd(cell: Mapping[str, Any]) -> float:
    """A published cell's standard deviation, from its 95% interval."""
    return (float(cell["ci95_high"]) - float(cell["ci95_low"])) / (2 * Z95)


def group_totals(cells: Sequence[Mapping[str, Any]], sizes: Mapping[str, int]) -> dict[str, Total]:
    """Each measure's total in a group's published cells: the sum of the
    numbers of a table of that measure whose ``sizes[table]`` keys are all
    listed (none below k, whose count could be anything), the one with the
    fewest too uncertain cells, then the fewest cells.

    A too uncertain cell adds nothing to that sum: its estimate is smaller
    than its noise (and a first period's "returning" is near 0), so leaving
    it out moves the total by less than the intervals already say, and the
    page says so. A measure without such a table has no total here."""
    by_table: dict[str, list[Mapping[str, Any]]] = {}
    for cell in cells:
        by_table.setdefault(str(cell["table"]), []).append(cell)
    totals: dict[str, tuple[tuple[int, int], Total]] = {}
    for name, listed in by_table.items():
        size = sizes.get(name)
        if size is None or len(listed) != size:
            continue
        counted = [c for c in listed if _has_number(c)]
        rank = (size - len(counted), size)
        measure = str(listed[0]["measure"])
        if counted and (measure not in totals or rank < totals[measure][0]):
            total = Total(
                float(sum(c["estimate"] for c in counted)),
                math.sqrt(sum(_sd(c) ** 2 for c in counted)),
            )
            totals[measure] = (rank, total)
    return {measure: total for measure, (_, total) in totals.items()}


def _has_number(cell: Mapping[str, Any]) -> bool:
    published = cell.get("published", True)
    return bool(published) and not cell.get("too_uncertain") and cell.get("estimate") is not None


@dataclass(frozen=True)
class _Group:
    cells: dict[tuple[str, tuple[str, ...]], Mapping[str, Any]]
    totals: dict[str, Total]


def _group(cells: Sequence[Mapping[str, Any]], sizes: Mapping[str, int]) -> _Group:
    return _Group({(str(c["table"]), _key_of(c)): c for c in cells}, group_totals(cells, sizes))


def _chart_value(label: str, series: str, shown: Shown) -> charts.Value:
    if shown.value is None:
        style = charts.HATCHED if shown.state == TOO_FEW else charts.EMPTY
        return charts.Value(gap=shown.text, style=style, note=f"{label}, {series}: {shown.text}")
    span = f" ({shown.low_text} – {shown.high_text})" if shown.interval else ""
    return charts.Value(shown.value, shown.low, shown.high,
                       note=f"{label}, {series}: {shown.text}{span}")  # fmt: skip


def _anchor(name: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "-", name.lower())


def _comparison(
    index: int,
    table: OwnTable,
    *,
    groups: Sequence[tuple[str, _Group]],
    population: Mapping[str, int] | None,
    population_name: str,
    lang: str,
) -> Section:
    title = table_title(table.name, lang)
    dimension = table.dimensions[0]
    total = table.total
    series = [_phrase("own", lang)] + [_phrase(f"{name}_series", lang) for name, _ in groups]
    columns = [_phrase("own_count", lang), _phrase("own_share", lang)]
    columns += [_phrase(name, lang) for name, _ in groups]
    population_total = sum(population.values()) if population else 0
    if population is not None:
        series.append(_phrase("population_series", lang))
        columns.append(population_name)
    rows: list[Row] = []
    for key, count in table.counts.items():
        label = key_label(dimension, key[0], lang)
        share = 100 * count / total if total else 0.0
        cells = [_exact(count, number(count, lang)), _exact(round(share, 4), percent(share, lang))]
        for _, group in groups:
            cell = group.cells.get((table.name, key))
            cells.append(_estimate(cell, group.totals.get(table.measure), lang))
        if population is not None:
            people = population.get(key[0])
            if people is None or not population_total:
                cells.append(_gap(NOT_APPLICABLE, lang))
            else:
                part = 100 * people / population_total
                cells.append(_exact(round(part, 4), percent(part, lang)))
        rows.append(Row("|".join(key), label, cells))
    chart = grouped_bars(
        f"chart-{index}",
        _phrase("chart_title", lang, title=title),
        series,
        [Group(row.label, tuple(_chart_value(row.label, s, c) for s, c in
                                zip(series, row.cells[1:], strict=True))) for row in rows],
        lambda x: percent(x, lang),
    )  # fmt: skip
    caption = _phrase("caption" if groups else "caption_own", lang, title=title)
    return Section(
        name=table.name, anchor=f"t{index}-{_anchor(table.name)}", title=title, caption=caption,
        dimension=dimension_name(dimension, lang), columns=columns, rows=rows, chart=chart,
        clamped=any(c.clamped for row in rows for c in row.cells),
    )  # fmt: skip


def _side_label(side: Mapping[str, Any], lang: str) -> str:
    if side["kind"] == "sector":
        return level_name("sector", lang)
    return f"{dimension_name(side['kind'], lang)} {key_label(side['kind'], side['name'], lang)}"


def _overlaps(sides: Sequence[Mapping[str, Any]], households: int, lang: str) -> Section:
    rows = []
    for side in sides:
        figure = side["shared_households"]
        shared = _estimate({**figure, "published": True}, None, lang, as_share=False)
        part = _estimate({**figure, "published": True}, households or None, lang)
        rows.append(Row(f"{side['kind']}|{side['name']}", _side_label(side, lang),
                        [_exact(side["institutions"], number(side["institutions"], lang)),
                         shared, part]))  # fmt: skip
    title = _phrase("overlaps", lang)
    chart = charts.bar_chart(
        "chart-overlaps", _phrase("overlaps_chart", lang),
        [(row.label, _chart_value(row.label, _phrase("shared", lang), row.cells[1]))
         for row in rows],
        lambda x: number(x, lang),
    )  # fmt: skip
    return Section(
        name="overlaps", anchor="overlaps", title=title, caption=_phrase("overlaps_text", lang),
        dimension=_phrase("side", lang),
        columns=[_phrase("others", lang), _phrase("shared", lang), _phrase("shared_share", lang)],
        rows=rows, chart=chart, clamped=any(c.clamped for row in rows for c in row.cells),
    )  # fmt: skip


@dataclass(frozen=True)
class PeriodTotals:
    """One period's own exact totals, for the trend."""

    period: str
    households: int
    visits: int
    new: int
    returning: int

    def __repr__(self) -> str:  # exact counts never print
        return f"PeriodTotals(period={self.period!r})"


def period_totals(period: str, tables: Mapping[str, OwnTable]) -> PeriodTotals:
    returning = tables["households_by_returning"].counts
    return PeriodTotals(
        period=period,
        households=tables["households_by_returning"].total,
        visits=tables["visits_by_month"].total,
        new=returning.get(("new",), 0),
        returning=returning.get(("returning",), 0),
    )


def _trend(trend: Sequence[PeriodTotals], lang: str) -> Section:
    names = [measure_name(HOUSEHOLDS, lang), measure_name(VISITS, lang),
             _phrase("new", lang), _phrase("returning", lang)]  # fmt: skip
    rows = [
        Row(t.period, t.period,
            [_exact(v, number(v, lang)) for v in (t.households, t.visits, t.new, t.returning)])
        for t in trend
    ]  # fmt: skip
    title = _phrase("trends", lang)
    chart = grouped_bars(
        "chart-trend", title, names[:2],
        [Group(row.label, tuple(_chart_value(row.label, s, c)
                                for s, c in zip(names[:2], row.cells[:2], strict=True)))
         for row in rows],
        lambda x: number(x, lang),
    )  # fmt: skip
    return Section(
        name="trend", anchor="trend", title=title, caption=_phrase("trends_text", lang),
        dimension=_phrase("period", lang), columns=names, rows=rows, chart=chart, clamped=False,
    )  # fmt: skip


@dataclass(frozen=True)
class ReportInput:
    """Everything one report shows: the own exact tables and trend, and what
    was published (None: the aggregator could not be reached, ``offline`` says
    why, or has nothing of this period for it yet, ``unpublished`` says why)."""

    institution_id: str
    period: str
    tables: Mapping[str, OwnTable]
    trend: Sequence[PeriodTotals]
    published: Published | None
    submitted: bool = True
    offline: str = ""
    unpublished: str = ""


def _missing(data: ReportInput, lang: str) -> str:
    """Why the benchmark is not in the report, or nothing when it is."""
    if data.offline:
        return _phrase("offline", lang, reason=data.offline)
    if data.unpublished:
        return _phrase("unpublished", lang, period=data.period, reason=data.unpublished)
    return ""


def render_report(data: ReportInput, lang: str = "nl") -> str:
    """The report as one self-contained HTML page."""
    if lang not in LANGUAGES:
        raise UsageError(f"no report language {lang!r}", hint="use --lang nl or --lang en")
    published = data.published
    sizes = {name: len(t.counts) for name, t in data.tables.items()}
    groups: list[tuple[str, _Group]] = []
    population: Mapping[str, int] | None = None
    population_name = ""
    notes: list[str] = []
    group_text = ""
    if published is not None:
        groups = [("peer", _group(published.peer_cells, sizes)),
                  ("sector", _group(published.sector_cells, sizes))]  # fmt: skip
        peer = published.peer_group
        group_text = _phrase("group_text", lang, id=peer["group_id"],
                             level=level_name(str(peer["level"]), lang),
                             n=number(peer["institutions"], lang))  # fmt: skip
        if published.population:
            population = published.population
            catchment = published.catchment.replace("_km", " km")
            population_name = _phrase("population", lang, catchment=catchment)
        else:
            notes.append(_phrase("population_missing", lang, reason=published.population_missing))
        if published.synthetic:
            notes.append(_phrase("synthetic", lang, model=published.segment_model))
    sections = []
    for i, name in enumerate((n for n in COMPARED if n in data.tables), start=1):
        pop = population if name == "households_by_segment" else None
        sections.append(_comparison(i, data.tables[name], groups=groups, population=pop,
                                    population_name=population_name, lang=lang))  # fmt: skip
    households = data.tables["households_by_returning"].total
    overlaps_note = ""
    if published is not None:
        if published.overlaps:
            sections.append(_overlaps(published.overlaps, households, lang))
        else:
            overlaps_note = _phrase("overlaps_missing", lang, reason=published.overlaps_missing)
    sections.append(_trend(data.trend, lang))
    lede = (
        _phrase("lede", lang, institution=data.institution_id, period=data.period, group=group_text)
        if published is not None
        else _phrase("own_only_lede", lang, institution=data.institution_id, period=data.period)
    )
    k = published.k if published is not None else 0  # fmt: skip
    return render(
        "report.html",
        lang=lang, period=data.period, institution=data.institution_id, lede=lede,
        t={name: _phrase(name, lang, k=k) if name == "gaps" else PHRASES[name][lang]
           for name in PHRASES if "{" not in PHRASES[name][lang] or name == "gaps"},
        offline=_missing(data, lang),
        not_submitted="" if data.submitted else _phrase("not_submitted", lang),
        notes=notes, overlaps_note=overlaps_note, compared=published is not None,
        households=number(households, lang), households_value=households,
        visits=number(data.tables["visits_by_month"].total, lang),
        visits_value=data.tables["visits_by_month"].total,
        legend=charts.legend("legend", [(charts.HATCHED, _phrase(TOO_FEW, lang)),
                                        (charts.EMPTY, _phrase(TOO_UNCERTAIN, lang))]),
        sections=sections,
    )  # fmt: skip


def default_path(workspace: Workspace, period: str, lang: str) -> Path:
    """Where the report goes without ``--out``: inside the workspace, owner-only."""
    return workspace.root / "reports" / f"report-{period}-{lang}.html"


def _trend_of(
    workspace: Workspace, period: str, model: SegmentModel, own: PeriodTotals
) -> list[PeriodTotals]:
    """The own totals of every stored period up to ``period``, each counted
    with its own submission's settings where it has one (today's otherwise)."""
    trend = []
    for p in stored_periods(workspace):
        if p == period:
            trend.append(own)
        elif p < period:
            try:
                counting = counting_for(workspace, p, model)
            except UsageError:  # submitted with another model: the totals do not depend on it
                counting = Counting(model, release_config(workspace, p), submitted=False)
            trend.append(period_totals(p, own_tables(workspace, p, counting)))
    return trend


def build_input(
    workspace: Workspace, period: str, *, client: AggregatorClient | None = None
) -> ReportInput:
    """Count the own tables, fetch the published side, and put them together.

    Refused (raised) when the period is not a period or holds no visits here.
    An aggregator out of reach, and a period it has not published (or that has
    no counted submission of this institution), give a report of the own
    numbers alone: the staff can read their exact counts on the day they
    ingest, and write the report again for the benchmark later."""
    try:
        check_period(period)
    except InvalidPayload as error:
        raise UsageError(error.detail, hint="give a quarter, e.g. --period 2026-Q3") from None
    agent = workspace.load_config()
    if period not in stored_periods(workspace):
        raise UsageError(
            f"this workspace holds no visits of {period}",
            hint="ingest the period's exports first, or give a period `publiek agent status` lists",
        )
    model = installed_model(workspace)
    counting = counting_for(workspace, period, model)
    tables = own_tables(workspace, period, counting)
    trend = _trend_of(workspace, period, model, period_totals(period, tables))
    http = client if client is not None else AggregatorClient(agent.aggregator_url)
    published, offline, unpublished = None, "", ""
    try:
        published = fetch_published(workspace, period, http)
    except ServiceUnavailable as error:
        offline = error.detail
    except (NotFound, UnknownPeriod) as error:  # not published, or not even opened yet
        unpublished = error.detail
    except PubliekError as error:
        if type(error).__init__ is not PubliekError.__init__:
            raise
        raise type(error)(f"{error.title}: {error.detail}", hint=error.hint) from error
    finally:
        if client is None:
            http.close()
    return ReportInput(
        institution_id=agent.institution_id, period=period, tables=tables, trend=trend,
        published=published, submitted=counting.submitted, offline=offline,
        unpublished=unpublished,
    )  # fmt: skip


@dataclass(frozen=True)
class Written:
    path: Path
    offline: str  # why the benchmark could not be fetched; empty when it was
    unpublished: str = ""  # why the aggregator has no benchmark of the period for it yet


def write_report_file(
    workspace: Workspace,
    period: str,
    *,
    lang: str = "nl",
    out: Path | None = None,
    client: AggregatorClient | None = None,
) -> Written:
    """Write the report (owner-only) and say where, and whether it lacks the benchmark."""
    if lang not in LANGUAGES:
        raise UsageError(f"no report language {lang!r}", hint="use --lang nl or --lang en")
    data = build_input(workspace, period, client=client)
    html = render_report(data, lang)
    path = out if out is not None else default_path(workspace, period, lang)
    if out is None:
        private_dir(path.parent)
    write_private(path, html.encode("utf-8"))
    return Written(path, data.offline, data.unpublished)


def write_report(
    workspace: Workspace,
    period: str,
    *,
    lang: str = "nl",
    out: Path | None = None,
    client: AggregatorClient | None = None,
) -> Path:
    """The report's path, once written (what the demo calls)."""
    return write_report_file(workspace, period, lang=lang, out=out, client=client).path


__all__ = [
    "PHRASES",
    "ReportInput",
    "Written",
    "build_input",
    "default_path",
    "render_report",
    "write_report",
    "write_report_file",
]
