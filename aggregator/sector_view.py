"""The sector overview: one period and one peer group, as the public and the
taskforce read it (issue 18, ADR 0040).

One page model for both readers. The public sees published periods only:
publishing a period is the taskforce's choice of what is public. The
taskforce also sees closed periods ("niet gepubliceerd") and open ones
("voorlopig", computed live), under the same rules of what a cell shows.

The reader picks a period and, with a GET form (no script), a discipline,
a province and a size class. Peer groups are (discipline, province, size
class) merged upward under ``k`` (``aggregator.peergroups``), so a selection
resolves to the narrowest *visible* group consistent with it, walking the
same chain the merging walks; the page says which group it shows and why
each narrower one is not shown. Without a discipline the only group
consistent with the selection is the whole sector.

Every number comes from the function the API answers with (the caller,
``aggregator.api.sector_pages``, passes those answers in): the benchmark
cells of ``aggregator.periods.visible_groups``, the penetration of
``GET /v1/periods/{p}/penetration``, the crossover matrix and reach of
``GET /v1/periods/{p}/overlaps`` and ``/reach``. This module only lays them
out and formats them; a figure without a number says why, never 0.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup

from aggregator.page_sections import (
    NUMBER,
    PHRASES,
    TOO_FEW,
    TOO_UNCERTAIN,
    Row,
    Section,
    ShownCell,
    chart_value,
    ordered_tables,
    section,
)
from aggregator.peergroups import ALL_SIZES, NATIONAL, PART_OF_COUNTRY, SECTOR, SIZE_CLASSES
from views import charts, charts_map
from views.labels import KEYS, Text, key_label, language, level_name
from views.labels import bilingual as _t
from views.pages import number, render

GROUP_ID = re.compile(r"[a-z-]{1,32}/[a-z-]{1,32}/[a-z]{1,16}")
PUBLIC = "public"
TASKFORCE = "taskforce"
# The sections the issue names, by the release-design table each draws.
DISCIPLINE_MONTH = "visits_by_discipline_month"
PROVINCES = "households_by_province"
FREQUENCY = "households_by_frequency_band"
DISTANCE = "households_by_segment_catchment"
HEADLINE_TABLES = ("households_by_returning", "earlier_households_by_loyalty")
NAMED_TABLES = (DISCIPLINE_MONTH, PROVINCES, FREQUENCY, DISTANCE, *HEADLINE_TABLES)


WORDS: Mapping[str, Text] = {
    "title": _t("Sectoroverzicht", "Sector overview"),
    "public_title": _t("Sectorbenchmark", "Sector benchmark"),
    "filters": _t("Selectie", "Selection"),
    "period": _t("Periode", "Period"),
    "discipline": _t("Discipline", "Discipline"),
    "province": _t("Provincie", "Province"),
    "size": _t("Grootteklasse", "Size class"),
    "any": _t("alle", "all"),
    "show": _t("Toon", "Show"),
    "small": _t("klein", "small"),
    "medium": _t("middelgroot", "medium"),
    "large": _t("groot", "large"),
    "published": _t("gepubliceerd", "published"),
    "closed": _t("niet gepubliceerd", "not published"),
    "open": _t("voorlopig", "provisional"),
    "state_note": _t(
        "Deze periode is {state}: alleen de taskforce ziet deze cijfers.",
        "This period is {state}: only the taskforce sees these figures.",
    ),
    "shown_group": _t("Getoonde groep: {group} ({text}).", "Group shown: {group} ({text})."),
    "not_group": _t(
        "{group} is geen peergroep in deze periode (minder dan {k} instellingen, of opgegaan "
        "in een bredere groep).",
        "{group} is not a peer group in this period (fewer than {k} institutions, or merged "
        "into a wider one).",
    ),
    "no_discipline": _t(
        "Peergroepen zijn per discipline; zonder discipline is de hele sector de groep.",
        "Peer groups are by discipline; without a discipline the group is the whole sector.",
    ),
    "no_size": _t(
        "Er zijn geen groepen per provincie over alle groottes; zonder grootteklasse is de "
        "groep de discipline in heel Nederland.",
        "There are no groups by province across all sizes; without a size class the group is "
        "the discipline in the whole country.",
    ),
    "asked_group": _t(
        "Gevraagd via de link: groep {group}.", "Asked for by the link: group {group}."
    ),
    "headline": _t("Kerncijfers", "Headline figures"),
    "headline_caption": _t(
        "Kerncijfers van deze groep: schatting met 95%-interval.",
        "This group's headline figures: estimate with its 95% interval.",
    ),
    "figure": _t("cijfer", "figure"),
    "institutions_in_group": _t("Instellingen in deze groep", "Institutions in this group"),
    "profile": _t(
        "Publieksprofiel tegenover de bevolking, en bereik",
        "Audience profile against the population, and penetration",
    ),
    "profile_caption": _t(
        "Per segment: huishoudens in de bevolking, bezoekende huishoudens, bereik (bezoekende "
        "huishoudens per 100) en profielindex (100 = zoals de bevolking), elk met 95%-interval.",
        "Per segment: households in the population, visiting households, penetration (visiting "
        "households per 100) and profile index (100 = as the population), each with its 95% "
        "interval.",
    ),
    "profile_chart": _t("Profielindex per segment", "Profile index by segment"),
    "segment": _t("segment", "segment"),
    "population": _t("bevolking (huishoudens)", "population (households)"),
    "visitors": _t("bezoekende huishoudens", "visiting households"),
    "penetration": _t("bereik per 100 huishoudens", "penetration per 100 households"),
    "profile_index": _t("profielindex", "profile index"),
    "represented": _t("vertegenwoordigd", "represented"),
    "over": _t("over", "over"),
    "under": _t("onder", "under"),
    "in_line": _t("zoals de bevolking", "in line"),
    "catchment_country": _t(
        "Verzorgingsgebied: heel Nederland (de hele sector), per segment.",
        "Catchment: the whole country (the whole sector), by segment.",
    ),
    "catchment_radius": _t(
        "Verzorgingsgebied: tot {km} km rond elke instelling van de groep, opgeteld.",
        "Catchment: up to {km} km around each institution of the group, summed.",
    ),
    "json": _t("{what} (JSON, {period})", "{what} (JSON, {period})"),
    "not_available": _t("Niet beschikbaar: {reason}.", "Not available: {reason}."),
    "no_sketches": _t(
        "de inzendingen van deze periode hebben geen huishoudschets",
        "this period's submissions carry no household sketch",
    ),
    "below_k": _t(
        "minder dan {k} instellingen stuurden wat hiervoor nodig is",
        "fewer than {k} institutions sent what this needs",
    ),
    "no_population": _t(
        "het segmentmodel van deze periode heeft geen bevolking om mee te vergelijken",
        "this period's segment model has no population to compare with",
    ),
    "not_this_period": _t("niet voor deze periode", "not for this period"),
    "provinces_map": _t("Huishoudens per provincie, als kaart", "Households by province, as a map"),
    "crossover": _t("Overlap tussen disciplines", "Crossover between disciplines"),
    "crossover_caption": _t(
        "Gedeelde huishoudens per paar instellingen, één in elke discipline (95%-interval); "
        "disciplines met minder dan {k} instellingen staan samen als ‘samengevoegd’.",
        "Households shared per pair of institutions, one in each discipline (95% interval); "
        "disciplines with fewer than {k} institutions are together as ‘pooled’.",
    ),
    "pairs_of": _t("paar disciplines", "pair of disciplines"),
    "pooled": _t("samengevoegd", "pooled"),
    "reach": _t("Bereik van de sector (ondergrens)", "Sector reach (lower bound)"),
    "reach_caption": _t(
        "Verschillende huishoudens die de sector bereikt: een ondergrens, exact als geen "
        "huishouden meer dan twee instellingen bezoekt.",
        "Distinct households the sector reaches: a lower bound, exact when no household "
        "visits more than two institutions.",
    ),
    "reach_households": _t("bereikte huishoudens (ondergrens)", "households reached (lower bound)"),
    "mean_institutions": _t(
        "instellingen per huishouden (bovengrens)", "institutions per household (upper bound)"
    ),
    "pairs": _t("huishouden-instelling-paren", "household–institution pairs"),
    "other_tables": _t("Alle tabellen", "All tables"),
    "trends": _t("Trends over de perioden", "Trends across the periods"),
    "downloads_shown": _t(
        "Precies de cijfers van deze groep in deze periode, zoals op deze pagina, met hun "
        "standaardafwijking.",
        "Exactly this group's figures for this period, as on this page, with their standard "
        "deviations.",
    ),
}


def word(name: str, lang: str, **values: Any) -> str:
    text = WORDS[name][lang]
    return text.format(**values) if values and "{" in text else text


def decimal(value: float, digits: int, lang: str) -> str:
    """A number with ``digits`` decimals in the reader's notation (12,5 / 12.5)."""
    text = f"{value:,.{digits}f}"
    if digits == 0:
        return number(value, lang)
    if lang == "nl":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


# --- periods, filters and the group shown ----------------------------------------


@dataclass(frozen=True)
class PeriodChoice:
    label: str
    state: str  # open | closed | published


def readable(periods: Sequence[PeriodChoice], audience: str) -> list[PeriodChoice]:
    """The periods a reader may open: published ones for the public (what the
    taskforce published), every one for the taskforce."""
    if audience == PUBLIC:
        return [p for p in periods if p.state == "published"]
    return list(periods)


def default_period(periods: Sequence[PeriodChoice]) -> PeriodChoice | None:
    """The newest published period, else the newest closed, else the newest:
    a reader first sees figures that no longer change."""
    for states in (("published",), ("closed",), ("open", "closed", "published")):
        found = [p for p in periods if p.state in states]
        if found:
            return found[-1]
    return None


@dataclass(frozen=True)
class Filters:
    """What the reader selected (empty: any)."""

    discipline: str = ""
    province: str = ""
    size: str = ""

    @classmethod
    def of(cls, discipline: str | None, province: str | None, size: str | None) -> Filters:
        """Unknown values are dropped, not echoed: the form only offers known ones."""
        return cls(
            discipline if discipline and discipline in KEYS["discipline"] else "",
            province if province and province in PART_OF_COUNTRY else "",
            size if size and size in SIZE_CLASSES else "",
        )

    def chain(self) -> list[str]:
        """Candidate groups from the narrowest consistent with the selection to
        the sector, as ``aggregator.peergroups.Member.chain`` walks them."""
        d, p, s = self.discipline, self.province, self.size
        if not d:
            return [SECTOR]
        out = []
        if s:
            if p:
                out += [f"{d}/{p}/{s}", f"{d}/{PART_OF_COUNTRY[p]}/{s}"]
            out.append(f"{d}/{NATIONAL}/{s}")
        out += [f"{d}/{NATIONAL}/{ALL_SIZES}", SECTOR]
        return out


@dataclass(frozen=True)
class Resolved:
    group_id: str
    reasons: list[str]


def resolve(
    filters: Filters, visible: Sequence[str], *, k: int, lang: str, asked: str | None = None
) -> Resolved:
    """The narrowest visible group consistent with ``filters`` (or ``asked``,
    a group named by an old link, when it is visible), with the reasons the
    narrower ones were passed over, in the reader's language."""
    if asked and asked in visible:
        return Resolved(asked, [word("asked_group", lang, group=asked)])
    # A group named by a link is echoed only when it has a group's form (it is the reader's input).
    named = asked is not None and GROUP_ID.fullmatch(asked) is not None
    reasons = [word("not_group", lang, group=asked, k=k)] if named else []
    if not filters.discipline and (filters.province or filters.size):
        reasons.append(word("no_discipline", lang))
    elif filters.discipline and filters.province and not filters.size:
        reasons.append(word("no_size", lang))
    for candidate in filters.chain():
        if candidate in visible:
            return Resolved(candidate, reasons)
        reasons.append(word("not_group", lang, group=candidate, k=k))
    return Resolved(SECTOR, reasons)  # pragma: no cover - the sector is always a group


# --- figures of the other APIs as cells -----------------------------------------


def figure_cell(
    key: str, figure: Mapping[str, Any] | None, lang: str, *, digits: int = 0
) -> ShownCell:
    """A published figure (``estimates.Shown.to_dict``) as the page's cell;
    ``None``: not listed (fewer than k institutions)."""
    if figure is None:
        return ShownCell(key, TOO_FEW, PHRASES[TOO_FEW][lang])
    if figure["too_uncertain"] or figure["estimate"] is None:
        return ShownCell(key, TOO_UNCERTAIN, PHRASES[TOO_UNCERTAIN][lang])
    estimate, low, high = figure["estimate"], figure["ci95_low"], figure["ci95_high"]
    return ShownCell(
        key, NUMBER, estimate=estimate, low=low, high=high,
        estimate_text=decimal(estimate, digits, lang), low_text=decimal(low, digits, lang),
        high_text=decimal(high, digits, lang),
    )  # fmt: skip


@dataclass
class FigureTable:
    """A section drawn from another API's answer: a chart (or none) and a table
    whose first column names the row and whose other columns are figures."""

    anchor: str
    title: str
    caption: str
    header: list[str]
    rows: list[Row]
    chart: Markup | None = None
    notes: list[str] = field(default_factory=list)
    texts: list[list[str]] = field(default_factory=list)  # extra plain columns per row
    text_header: list[str] = field(default_factory=list)
    unavailable: str = ""


def profile_section(
    penetration: Mapping[str, Any] | None, reason: str, lang: str, *, k: int = 0
) -> FigureTable:
    """The segment profile against the population and the penetration, from
    ``GET /v1/periods/{p}/penetration`` of the group."""
    header = [word(name, lang) for name in
              ("segment", "population", "visitors", "penetration", "profile_index")]  # fmt: skip
    section = FigureTable(
        "profile", word("profile", lang), word("profile_caption", lang), header, []
    )
    if penetration is None:
        section.unavailable = word("not_available", lang, reason=word(reason, lang, k=k))
        return section
    listed = penetration["listed"]
    bars = []
    for seg in penetration["segments"] if listed else []:
        label = key_label("segment", seg["segment"], lang)
        key = seg["segment"]
        index = figure_cell(f"{key}|profile_index", seg["profile_index"], lang)
        section.rows.append(Row(label, [
            ShownCell(f"{key}|population", NUMBER, estimate=seg["population"],
                      low=seg["population"], high=seg["population"],
                      estimate_text=number(seg["population"], lang)),
            figure_cell(f"{key}|visitors", seg["visitors"], lang),
            figure_cell(f"{key}|penetration", seg["penetration"], lang, digits=2),
            index,
        ]))  # fmt: skip
        section.texts.append([word(seg["represented"], lang) if seg["represented"] else "–"])
        bars.append((label, chart_value(label, index)))
    section.text_header = [word("represented", lang)]
    if not listed:
        section.unavailable = PHRASES[TOO_FEW][lang]
    else:
        section.chart = charts.bar_chart(
            "chart-profile", word("profile_chart", lang), bars, lambda x: number(x, lang)
        )
    catchment = str(penetration["catchment"])
    if catchment.endswith("_km"):
        section.notes.append(word("catchment_radius", lang, km=catchment.removesuffix("_km")))
    else:
        section.notes.append(word("catchment_country", lang))
    return section


def _group_label(group: str, lang: str) -> str:
    return word("pooled", lang) if group == "pooled" else key_label("discipline", group, lang)


def crossover_section(
    crossover: Mapping[str, Any] | None, reason: str, lang: str, *, k: int
) -> FigureTable:
    """The crossover matrix by discipline, from ``GET /v1/periods/{p}/overlaps``:
    a heat map (each unordered pair drawn in both halves) and the table of
    its cells (each pair once)."""
    section = FigureTable(
        "crossover", word("crossover", lang), word("crossover_caption", lang, k=k),
        [word("pairs_of", lang), PHRASES["estimate"][lang]], [],
    )  # fmt: skip
    if crossover is None:
        section.unavailable = word("not_available", lang, reason=word(reason, lang, k=k))
        return section
    groups = [g["group"] for g in crossover["groups"]]
    cells: dict[tuple[str, str], ShownCell] = {}
    for c in crossover["cells"]:
        shown = figure_cell(
            f"{c['left']}|{c['right']}", c["shared_households"] if c["listed"] else None, lang
        )
        cells[c["left"], c["right"]] = cells[c["right"], c["left"]] = shown
        section.rows.append(Row(f"{_group_label(c['left'], lang)} × "
                                f"{_group_label(c['right'], lang)}", [shown]))  # fmt: skip
    labels = [_group_label(g, lang) for g in groups]
    missing = ShownCell("", TOO_FEW, PHRASES[TOO_FEW][lang])
    values = [
        [chart_value(f"{labels[i]} × {labels[j]}", cells.get((a, b), missing))
         for j, b in enumerate(groups)]
        for i, a in enumerate(groups)
    ]  # fmt: skip
    if groups:
        section.chart = charts.heat_map(
            "chart-crossover", word("crossover", lang), rows=labels, columns=labels,
            values=values, fmt=lambda x: number(x, lang),
        )  # fmt: skip
    return section


def reach_rows(reach: Mapping[str, Any] | None, lang: str) -> list[Row]:
    """The sector's reach (a lower bound) and what goes with it, from
    ``GET /v1/periods/{p}/reach``."""
    if reach is None:
        return []
    return [
        Row(word("reach_households", lang), [figure_cell("reach", reach["reach"], lang)],
            table="reach"),
        Row(word("mean_institutions", lang),
            [figure_cell("mean_institutions", reach["mean_institutions"], lang, digits=2)],
            table="reach"),
        Row(word("pairs", lang),
            [figure_cell("pairs", reach["household_institution_pairs"], lang)], table="reach"),
    ]  # fmt: skip


def provinces_map(section: Section, lang: str) -> Markup:
    """The households-by-province table as a tile map (the table stays beside it)."""
    values = {row.cells[0].key: chart_value(row.label, row.cells[0]) for row in section.rows}
    return charts_map.tile_map("chart-map", word("provinces_map", lang), values,
                               lambda x: number(x, lang))  # fmt: skip


# --- the page -------------------------------------------------------------------


@dataclass(frozen=True)
class OverviewInputs:
    """Everything the page shows, as the APIs answer it."""

    audience: str
    periods: list[PeriodChoice]
    period: PeriodChoice
    k: int
    groups: list[dict[str, Any]]  # visible_groups' summaries; the shown one has ``cells``
    resolved: Resolved
    filters: Filters
    segment_model: str | None
    penetration: Mapping[str, Any] | None
    penetration_reason: str  # a key of WORDS: why there is no penetration answer
    crossover: Mapping[str, Any] | None
    crossover_reason: str  # a key of WORDS
    reach: Mapping[str, Any] | None


def base_path(audience: str) -> str:
    return "/" if audience == PUBLIC else "/taskforce"


def link(path: str, **query: str) -> str:
    given = urlencode({k: v for k, v in query.items() if v})
    return f"{path}?{given}" if given else path


def downloads(  # noqa: PLR0917 - what the page shows, passed on
    audience: str, period: PeriodChoice, group_id: str, lang: str = "nl",
    profile: bool = False, overlaps: bool = False,
) -> list[dict[str, str]]:  # fmt: skip
    """CSV and Parquet of every section the page shows: the group's cells (the
    public export for a published period, the taskforce's own route, by its
    session cookie, otherwise), and where the page shows them the audience
    profile and the overlaps (``aggregator.api.section_downloads``); for a
    published period also those answers as the API gives them (JSON)."""
    published = period.state == "published"
    if audience == PUBLIC and not published:  # pragma: no cover - not readable
        return []
    cells = "/v1" if published else "/taskforce"
    pages = "" if audience == PUBLIC else "/taskforce"
    api = f"/v1/periods/{period.label}"
    found = [
        {"name": f"{fmt} ({group_id}, {period.label})",
         "href": link(f"{cells}/periods/{period.label}/benchmarks.{fmt.lower()}", group=group_id)}
        for fmt in ("CSV", "Parquet")
    ]  # fmt: skip
    sections = [("profile", profile, {"group": group_id}), ("crossover", overlaps, {})]
    for what, shown, query in sections:
        if not shown:
            continue
        name = word(what, lang)
        path = f"{pages}/periods/{period.label}/{'profile' if what == 'profile' else 'overlaps'}"
        found += [
            {"name": f"{name}: {fmt} ({period.label})",
             "href": link(f"{path}.{fmt.lower()}", **query)}
            for fmt in ("CSV", "Parquet")
        ]  # fmt: skip
        if published:
            endpoint = "penetration" if what == "profile" else "overlaps"
            extra = query if what == "profile" else {"by": "discipline"}
            found.append(
                {"name": word("json", lang, what=name, period=period.label),
                 "href": link(f"{api}/{endpoint}", **extra)}
            )  # fmt: skip
    return found


def filter_fields(filters: Filters, lang: str) -> list[dict[str, Any]]:
    """The selection form's fields (discipline, province, size class), the same
    on the overview and the trends: the keys a group id can hold."""
    choices = {
        "discipline": [(k, key_label("discipline", k, lang)) for k in KEYS["discipline"]],
        "province": [(k, key_label("province", k, lang)) for k in PART_OF_COUNTRY],
        "size": [(k, word(k, lang)) for k in SIZE_CLASSES],
    }
    chosen = {"discipline": filters.discipline, "province": filters.province, "size": filters.size}
    return [
        {"name": name, "label": word(name, lang),
         "options": [{"value": v, "text": t, "selected": v == chosen[name]} for v, t in options]}
        for name, options in choices.items()
    ]  # fmt: skip


def render_overview(inputs: OverviewInputs, *, lang: str | None, chrome: Mapping[str, Any]) -> str:
    """The overview page (``chrome``: the common context of ``base.html``)."""
    lang = language(lang)
    group = next(g for g in inputs.groups if g["group_id"] == inputs.resolved.group_id)
    period = inputs.period.label
    tables = {
        cells[0]["table"]: section(i, cells, period=period, segment_model=inputs.segment_model,
                                    lang=lang)
        for i, cells in enumerate(ordered_tables(group["cells"]), start=1)
    }  # fmt: skip
    size = group["institutions"]
    headline = [Row(word("institutions_in_group", lang), [ShownCell(
        "institutions", NUMBER, estimate=size, low=size, high=size,
        estimate_text=number(size, lang))])]  # fmt: skip
    for name in HEADLINE_TABLES:
        if name in tables:
            headline += [Row(f"{tables[name].title}: {row.label}", row.cells, table=name)
                         for row in tables[name].rows]  # fmt: skip
    headline += reach_rows(inputs.reach if group["group_id"] == SECTOR else None, lang)
    named = {name: tables.get(name) for name in (DISCIPLINE_MONTH, PROVINCES, FREQUENCY, DISTANCE)}
    others = [s for name, s in tables.items() if name not in NAMED_TABLES]
    state_words = {s: word(s, lang) for s in ("published", "closed", "open")}
    base = base_path(inputs.audience)
    summary = next(g for g in inputs.groups if g["group_id"] == group["group_id"])
    group_text = PHRASES["group_text"][lang].format(
        level=level_name(summary["level"], lang), n=number(summary["institutions"], lang)
    )
    if summary["merged_groups"]:
        group_text += "; " + PHRASES["merged"][lang].format(n=summary["merged_groups"])
    query = {"period": period, "discipline": inputs.filters.discipline,
             "province": inputs.filters.province, "size": inputs.filters.size}  # fmt: skip
    return render(
        "sector_overview.html",
        **{**chrome, "lang": lang},
        w={name: WORDS[name][lang] for name in WORDS if "{" not in WORDS[name][lang]},
        t={
            name: PHRASES[name][lang].format(k=inputs.k) if name == "gaps" else PHRASES[name][lang]
            for name in PHRASES
            if name not in ("lede", "group_text", "merged")
        },
        page_title=word("title" if inputs.audience == TASKFORCE else "public_title", lang),
        action=base,
        period=period,
        period_state=inputs.period.state,
        state_note=(
            word("state_note", lang, state=state_words[inputs.period.state])
            if inputs.period.state != "published"
            else ""
        ),
        periods=[
            {
                "label": p.label,
                "text": f"{p.label} ({state_words[p.state]})",
                "selected": p.label == period,
            }
            for p in reversed(inputs.periods)
        ],
        filters=filter_fields(inputs.filters, lang),
        group_id=group["group_id"],
        shown_group=word("shown_group", lang, group=group["group_id"], text=group_text),
        reasons=inputs.resolved.reasons,
        legend=charts.legend(
            "legend",
            [
                (charts.HATCHED, PHRASES[TOO_FEW][lang]),
                (charts.EMPTY, PHRASES[TOO_UNCERTAIN][lang]),
            ],
        ),
        headline=headline,
        profile=profile_section(inputs.penetration, inputs.penetration_reason, lang, k=inputs.k),
        named=named,
        provinces_map=provinces_map(shown_map, lang) if (shown_map := named[PROVINCES]) else None,
        crossover=crossover_section(inputs.crossover, inputs.crossover_reason, lang, k=inputs.k),
        others=others,
        downloads=downloads(
            inputs.audience,
            inputs.period,
            group["group_id"],
            lang,
            profile=bool(inputs.penetration and inputs.penetration.get("listed")),
            overlaps=inputs.crossover is not None,
        ),
        trends_href=link(
            base.rstrip("/") + "/trends",
            lang=lang,
            discipline=query["discipline"],
            province=query["province"],
            size=query["size"],
        ),
    )


EMPTY: Mapping[str, Mapping[str, Text]] = {
    PUBLIC: {
        "heading": _t("Nog geen gepubliceerde cijfers", "No published figures yet"),
        "body": _t(
            "De taskforce publiceert de cijfers van de sector per kwartaal, nadat het kwartaal is "
            "gesloten en alle inzendingen zijn verwerkt. Zodra dat is gebeurd, staan ze hier.",
            "The taskforce publishes the sector's figures per quarter, once the quarter is closed "
            "and every submission is counted. When it has, they appear here.",
        ),
    },
    TASKFORCE: {
        "heading": _t("Nog geen periode", "No period yet"),
        "body": _t(
            "Er is nog geen kwartaal geopend. De beheerder opent er een met "
            "“publiek aggregator period open {quarter}”; daarna staan hier de voorlopige cijfers "
            "van de inzendingen die binnenkomen.",
            "No quarter has been opened yet. The operator opens one with "
            "“publiek aggregator period open {quarter}”; then the provisional figures of the "
            "submissions that arrive appear here.",
        ),
    },
}


def render_empty(
    audience: str, quarter: str, *, lang: str | None, chrome: Mapping[str, Any]
) -> str:
    """The overview before there is anything to show: what will appear and when,
    instead of an error (the first thing a new aggregator's readers see)."""
    lang = language(lang)
    phrases = EMPTY[audience]
    title = WORDS["public_title" if audience == PUBLIC else "title"][lang]
    return render(
        "sector_empty.html",
        **chrome,
        title=title,
        heading=phrases["heading"][lang],
        body=phrases["body"][lang].format(quarter=quarter),
    )
