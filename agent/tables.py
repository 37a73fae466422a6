"""Exact, bounded count tables from canonical visits, over public key sets.

One submission releases exactly the tables of the release design
(:data:`dp.release_design.TABLE_DESIGN`, ``publiek-tables/3``): households by
segment × discipline, segment × province, segment × catchment band, segment,
discipline, province, frequency band, recency, discipline count and new vs
returning; the earlier households by whether they came back (returning) or
not (lapsed); visits by month, discipline, segment and discipline × month.
Every table is a partition: each household falls in one cell of each
households table (its segment, its *main* discipline, its province, ...),
each earlier household in one cell of the earlier-households table, each
counted ticket in one cell of each visits table (its own month and
discipline, its household's segment). This module only counts; each table's
sensitivity and share of ρ come from ``dp``
(:func:`dp.measurements.table_request`), which derives the sensitivity from
the table's name and the bounds alone, as the aggregator does.

The key set of every table comes from public inputs only (the segment model,
the sector's discipline list, the provinces, the catchment bands, the months
of the period and fixed bands), never from the data, so which cells exist
reveals nothing; empty cells are released, noised, like the rest, and a
period without visits releases noisy zeros. ``tests/dp`` checks that two
different datasets give identical key sets.

A "visit" is one ticket (the ``tickets`` column of the canonical visits), the
unit box offices count in; a household counts at most ``max_visits`` of them
per period. Visits dated outside the period's months are not counted in any
table (ingest files every visit under the period of its date).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import polars as pl

from agent.periods import first_day, first_month
from agent.regions import province_of
from agent.segments import PLACED, SegmentModel, with_ingest_placement
from dp.bounding import (
    CELL,
    HH,
    HID,
    HOUSEHOLD_KEY,
    WEIGHT,
    clip_weights,
    dense_ids,
    household_totals,
    one_cell_counts,
    runs,
    weighted_counts,
)
from dp.catchments import pc4_bands
from dp.measurements import GAUSSIAN, TableRequest, default_rho, table_request
from dp.release_design import (
    CATCHMENT_BANDS,
    DEFAULT_MAX_VISITS,
    DISCIPLINES,
    EARLIER_HOUSEHOLDS,
    HOUSEHOLDS,
    LOYALTY,
    TABLE_DESIGN,
    UNKNOWN,
    TableDesign,
    bounds_of,
    labels,
    months_of,
    table_names,
)
from protocol.messages import PeriodSketch

FREQUENCY_EDGES: tuple[int, ...] = (1, 2, 3, 5, 10)  # lower edge of each band (visit days)
RECENCY_EDGES: tuple[int, ...] = (0, 14, 30, 60)  # lower edge of each band (days before the end)
DISCIPLINE_COUNT_EDGES: tuple[int, ...] = (1, 2, 3)  # lower edge of each band (disciplines)
LINK_KEY = "link_key"  # the agent's local link key, when the visits carry it
_MAIN_SEED = 0x3A1D  # seed of the hash that breaks ties between main disciplines
_DISCIPLINE_BITS = 4  # len(DISCIPLINES) <= 16
_TICKET_BITS = 27  # tickets per household and discipline, clipped, in the main-discipline score
if len(DISCIPLINES) > 1 << _DISCIPLINE_BITS:  # pragma: no cover - a guard for the packing
    raise AssertionError("the main-discipline score packs a discipline into 4 bits")

__all__ = ["ReleaseConfig", "build_release", "build_tables", "key_set", "table_names"]


@dataclass(frozen=True)
class ReleaseConfig:
    """How one submission is bounded and noised (documented defaults).

    * ``rho``: zCDP cost of one submission, split over the tables of the
      release design by its documented weights
      (:func:`dp.release_design.rho_share`); OpenDP composes them and reports
      the total. ``period_budget``: what the agent's ledger lets one period
      spend in total. Both default to the taskforce's default budget (ε = 1 a
      quarter at δ = 1e-7, one submission); a real release takes them from
      the period's signed config (:mod:`agent.release_config`).
    * ``max_visits``: tickets per household per period, applied once, to the
      visit rows (:func:`dp.bounding.clip_weights`); the one bound a
      submission declares, from which ``dp`` derives every table's
      sensitivity (:mod:`dp.release_design`).
    * ``home_pc4``: the institution's own PC4, the origin of its catchment
      bands (:func:`dp.catchments.pc4_bands` on the segment model's
      centroids). Without it, or with a model without centroids, every
      household's catchment is ``unknown``.
    * ``home_province``: the enrolled province. No table reads it (the
      catchment bands of ``publiek-tables/3`` need a centroid, which a
      province has not); it is kept because the config keys the ledger's
      releases (:func:`agent.release.effective_config`).
    * ``sketch``: the household sketch the period config fixes (None: none);
      it takes its weight of ``rho``, the tables the rest (ADR 0036).
      ``share_named_overlaps``: the institution's consent, from
      ``release.toml``, that consenting institutions see their named
      pairwise overlap with it (the payload's ``named_overlaps``).
    """

    rho: float = field(default_factory=default_rho)
    period_budget: float = field(default_factory=default_rho)
    max_visits: int = DEFAULT_MAX_VISITS
    mechanism: str = GAUSSIAN
    delta: float = 1e-7
    home_pc4: str | None = None
    home_province: str | None = None
    sketch: PeriodSketch | None = None
    share_named_overlaps: bool = False

    def bounds(self) -> dict[str, int]:
        """The bounds a submission declares (:func:`dp.release_design.bounds_of`)."""
        return bounds_of(self.max_visits)


def key_labels(dimension: str, model: SegmentModel, period: str) -> tuple[str, ...]:
    """The public labels of one dimension: from config and constants only, the
    release design's key sets (:func:`dp.release_design.labels`), which the
    aggregator checks every submitted label against."""
    return labels(dimension, segment_model=model.version, period=period)


def key_set(table: TableDesign, model: SegmentModel, period: str) -> tuple[tuple[str, ...], ...]:
    """Every cell of ``table``: the product of its dimensions' public labels."""
    return tuple(itertools.product(*(key_labels(d, model, period) for d in table.dimensions)))


def _band_code(value: pl.Expr, edges: Sequence[int]) -> pl.Expr:
    """Index of the band whose lower edge is the largest one ≤ value (null below all)."""
    above = pl.sum_horizontal(*((value >= edge).cast(pl.Int64) for edge in edges))
    return pl.when(above > 0).then(above - 1).otherwise(None)


def _code(column: pl.Expr, labels: Sequence[str]) -> pl.Expr:
    """Index of a label in the public key order; null outside the key set."""
    return column.cast(pl.Enum(list(labels)), strict=False).to_physical().cast(pl.Int64)


def _pc4_lookup(labels: Sequence[str], default: int, model: SegmentModel) -> pl.Series:
    """Province code for every PC4 0..9999 (index), ``default`` where none: the
    segment model's own province of each of its PC4 areas where it gives one
    (the aggregator counts each province's population from the same table, so
    visitors and population cover the same areas), else the PC4 ranges of
    :func:`agent.regions.province_of`."""
    frame = pl.DataFrame({"pc4": [f"{n:04d}" for n in range(10000)]})
    provinces = frame.select(_code(province_of(pl.col("pc4")), labels).fill_null(default))
    lookup = provinces.to_series()
    centroids = model.centroids
    if centroids is None or "province" not in centroids.columns:
        return lookup
    own = centroids.filter(pl.col("pc4").is_between(0, 9999)).select(
        "pc4", _code(pl.col("province"), labels).alias("code")
    )
    own = own.filter(pl.col("code").is_not_null())
    return lookup.scatter(own["pc4"], own["code"])


def _catchment_lookup(model: SegmentModel, config: ReleaseConfig) -> pl.Series:
    """Catchment band code for every PC4 0..9999 (index): the band of its
    centroid from the institution's own PC4 (``dp.catchments``), ``unknown``
    for a PC4 the model has no centroid of, or for every PC4 when the model
    has no centroids or the institution's PC4 is not known."""
    unknown = CATCHMENT_BANDS.index(UNKNOWN)
    lookup = pl.Series("band", [unknown] * 10000, dtype=pl.Int64)
    home = config.home_pc4
    if model.centroids is None or not (home and home.isdigit() and len(home) == 4):
        return lookup
    bands = pc4_bands(model.centroids, int(home)).filter(pl.col("pc4").is_between(0, 9999))
    return lookup.scatter(bands["pc4"], bands["band"])


def _gather(lookup: pl.Series, default: int) -> pl.Expr:
    """A household's code from a per-PC4 lookup, ``default`` outside 0..9999."""
    return (
        pl.when(pl.col("_pc4").is_between(0, 9999))
        .then(pl.lit(lookup).gather(pl.col("_pc4").clip(0, 9999)))
        .otherwise(pl.lit(default))
        .cast(pl.Int64)
    )


def _period_days(period: str) -> int:
    """How many days the period has (a quarter: 90 to 92)."""
    after = first_month(period) + len(months_of(period))
    return (date(after // 12, after % 12 + 1, 1) - first_day(period)).days


def _rows(visits: pl.DataFrame, period: str) -> pl.DataFrame:
    """The period's visit rows sorted by household, with row-level codes and weights.

    ``_link`` is what new vs returning matches against earlier periods: the
    local link key where the visits carry one, else the household key."""
    months = months_of(period)
    start_month = first_month(period)
    month = pl.col("visit_date").dt.year() * 12 + pl.col("visit_date").dt.month() - 1 - start_month
    link = LINK_KEY if LINK_KEY in visits.columns else HOUSEHOLD_KEY
    start = pl.lit(first_day(period))
    base = visits.filter(month.is_between(0, len(months) - 1)).select(
        HOUSEHOLD_KEY,
        pl.col(link).alias("_link"),
        pl.col("pc4").cast(pl.String),
        pl.col("pc4").cast(pl.Int64, strict=False).alias("_pc4"),
        _code(pl.col("discipline").cast(pl.String), DISCIPLINES)
        .fill_null(DISCIPLINES.index("other"))
        .alias("discipline"),
        month.cast(pl.Int64).alias("month"),
        (pl.col("visit_date") - start).dt.total_days().clip(0, 65534).alias("_day"),
        pl.col("tickets").fill_null(1).cast(pl.Int64).clip(lower_bound=0).alias(WEIGHT),
        pl.struct("order_id", "visit_date").hash(seed=7).alias("_row"),
        pl.col(PLACED) if PLACED in visits.columns else pl.lit(None, pl.Categorical).alias(PLACED),
    )
    return dense_ids(base)


def _main_discipline(rows: pl.DataFrame) -> pl.Series:
    """Each household's main discipline (code), indexed by ``hh``: the one with
    the most tickets, ties broken by a hash of ``hid`` and the discipline.

    The choice is a function of the household's own rows only, whatever their
    order. Most households have one discipline: it is their first row's.
    Only households with several are summed per discipline, with one sort of
    a packed integer; their best score (tickets, then hash, then code, packed
    into one integer) is found with two single-column sorts."""
    first = (pl.col(HH) != pl.col(HH).shift(1)).fill_null(True)
    main = rows.filter(first)["discipline"]
    changes = ~first & (pl.col("discipline") != pl.col("discipline").shift(1))
    mixed = rows.filter(changes).select(HH).unique()
    if mixed.height == 0:
        return main
    packed = (
        pl.col(HH).cast(pl.UInt64) * (1 << _DISCIPLINE_BITS) + pl.col("discipline").cast(pl.UInt64)
    ).alias("_p")
    pairs = rows.join(mixed, on=HH, how="semi").select(packed, HID, WEIGHT).sort("_p")
    pair_first, pair_last = runs(pl.col("_p"))
    running = pl.col(WEIGHT).cum_sum()
    before = pl.when(pair_first).then(running - pl.col(WEIGHT)).forward_fill()
    discipline = (pl.col("_p") % (1 << _DISCIPLINE_BITS)).cast(pl.Int64)
    tie = pl.struct(HID, discipline).hash(seed=_MAIN_SEED) & pl.lit(0xFFFFFFFF, pl.UInt64)
    tickets = (running - before).clip(0, (1 << _TICKET_BITS) - 1).cast(pl.UInt64)
    score = (
        tickets * (1 << (32 + _DISCIPLINE_BITS))
        + tie * (1 << _DISCIPLINE_BITS)
        + discipline.cast(pl.UInt64)
    )
    best = (
        pairs.with_columns(score.alias("_score"))
        .filter(pair_last)
        .select((pl.col("_p") // (1 << _DISCIPLINE_BITS)).cast(pl.UInt32).alias(HH), "_score")
        .sort("_score", descending=True)
        .sort(HH, maintain_order=True)
    )
    top, _ = runs(pl.col(HH))
    chosen = best.filter(top).select(
        HH, (pl.col("_score") % (1 << _DISCIPLINE_BITS)).cast(main.dtype).alias("discipline")
    )
    return main.scatter(chosen[HH], chosen["discipline"])


def _returning(rows: pl.DataFrame, earlier: pl.Series) -> pl.Series:
    """Whether each household (by ``hh``) was seen in an earlier period: any of
    its rows' link keys is among ``earlier``."""
    if earlier.len() == 0:
        return pl.Series(HH, [False] * _household_count(rows), dtype=pl.Boolean)
    seen = pl.col("_link").is_in(earlier.implode()).fill_null(False).cast(pl.Int64)
    return household_totals(rows.select(HH, seen.alias(WEIGHT))) > 0


def _household_count(rows: pl.DataFrame) -> int:
    return 0 if rows.height == 0 else int(rows[HH][-1]) + 1


def _per_household(
    rows: pl.DataFrame,
    model: SegmentModel,
    config: ReleaseConfig,
    period: str,
    earlier: pl.Series,
) -> pl.DataFrame:
    """One row per household in ``hh`` order (its lowest PC4), with household-level codes."""
    first = (pl.col(HH) != pl.col(HH).shift(1)).fill_null(True)
    per_household = rows.filter(first).select(HH, HOUSEHOLD_KEY, "pc4", "_pc4", PLACED)
    # A household with several PC4s (keyed by e-mail) takes its lowest one,
    # whatever the row order; such households are few, so only they are grouped.
    # So does one whose rows were placed apart at ingest (other addresses, other
    # models): it is placed by that PC4 here, its stored segments set aside.
    mixed = rows.filter(
        ~first
        & (
            pl.col("_pc4").ne_missing(pl.col("_pc4").shift(1))
            | pl.col(PLACED).ne_missing(pl.col(PLACED).shift(1))
        )
    )
    mixed = mixed.select(HH).unique()
    if mixed.height:
        lowest = (
            rows.join(mixed, on=HH, how="semi")
            .group_by(HH)
            .agg(pl.col("_pc4").min().alias("_low"))
            .with_columns(pl.format("{}", pl.col("_low")).str.zfill(4).alias("_low_pc4"))
        )
        per_household = (
            per_household.join(lowest, on=HH, how="left")
            .with_columns(
                pl.coalesce("_low", "_pc4").alias("_pc4"),
                pl.coalesce("_low_pc4", "pc4").alias("pc4"),
                pl.when(pl.col("_low").is_null()).then(PLACED).alias(PLACED),
            )
            .drop("_low", "_low_pc4")
            .sort(HH)
        )
    days = _distinct(rows, "_day", 16)
    disciplines = _distinct(rows, "discipline", _DISCIPLINE_BITS)
    labels = key_labels("province", model, period)
    unknown = len(labels) - 1
    recency = _period_days(period) - 1 - pl.col("_last_day")
    return per_household.with_columns(
        days["_n"].alias("_days"),
        days["_max"].alias("_last_day"),
        disciplines["_n"].alias("_disciplines"),
        # The segment the ingest placed the household in with this model (by its
        # PC6), else by its PC4 now (agent.segments.with_ingest_placement).
        pl.coalesce(
            pl.col(PLACED).cast(pl.String), model.segment_of(per_household).cast(pl.String)
        ).alias("segment"),
        _main_discipline(rows).alias("discipline"),
        _returning(rows, earlier).alias("returning"),
    ).select(
        HH,
        HOUSEHOLD_KEY,  # for the household sketch only (agent.sketch_release); never released
        _code(pl.col("segment"), model.labels).alias("segment"),
        pl.col("discipline").cast(pl.Int64),
        _gather(_pc4_lookup(labels, unknown, model), unknown).alias("province"),
        _gather(_catchment_lookup(model, config), CATCHMENT_BANDS.index(UNKNOWN)).alias(
            "catchment"
        ),
        _band_code(pl.col("_days"), FREQUENCY_EDGES).alias("frequency_band"),
        _band_code(recency, RECENCY_EDGES).alias("recency"),
        _band_code(pl.col("_disciplines"), DISCIPLINE_COUNT_EDGES).alias("discipline_count"),
        pl.col("returning").cast(pl.Int64),  # RETURNING = (new, returning)
    )


def _distinct(rows: pl.DataFrame, column: str, bits: int) -> pl.DataFrame:
    """Per household (in ``hh`` order): how many distinct values of the
    non-negative integer ``column`` (below 2**bits) its rows carry (``_n``), and
    the largest (``_max``). One sort of a packed integer, no group-by."""
    packed = pl.col(HH).cast(pl.UInt64) * (1 << bits) + pl.col(column).cast(pl.UInt64)
    distinct = (
        rows.select(packed.alias("_p"))
        .sort("_p")
        .filter((pl.col("_p") != pl.col("_p").shift(1)).fill_null(True))
        .with_row_index("_i")
        .with_columns(pl.col("_i").cast(pl.Int64))
    )
    _, last = runs(pl.col("_p") // (1 << bits))
    ends = distinct.filter(last)
    return ends.select(
        (pl.col("_i") - pl.col("_i").shift(1, fill_value=-1)).alias("_n"),
        (pl.col("_p") % (1 << bits)).cast(pl.Int64).alias("_max"),
    )


def _loyalty(rows: pl.DataFrame, earlier: pl.Series) -> tuple[int, ...]:
    """The earlier households (each distinct link key of the periods looked
    back on, once) that came back this period and those that did not, in
    :data:`~dp.release_design.LOYALTY` order."""
    units = earlier.drop_nulls().unique()
    back = int(units.is_in(rows["_link"].drop_nulls().unique().implode()).sum())
    counts = {"returning": back, "lapsed": units.len() - back}
    return tuple(counts[label] for label in LOYALTY)


def _cell(table: TableDesign, model: SegmentModel, period: str) -> pl.Expr:
    """Integer cell in the table's key order (row-major)."""
    index: pl.Expr = pl.lit(0, pl.Int64)
    for dim in table.dimensions:
        index = index * len(key_labels(dim, model, period)) + pl.col(dim)
    return index.alias(CELL)


def build_tables(
    visits: pl.DataFrame,
    model: SegmentModel,
    config: ReleaseConfig,
    *,
    period: str,
    earlier_link_keys: pl.Series | None = None,
) -> list[TableRequest]:
    """Every table of the release design, in its order, contributions bounded,
    ready for noise. An empty ``visits`` frame gives every table, all zeros.

    ``earlier_link_keys``: the link keys (or, for visits without a
    ``link_key`` column, the household keys) seen in the institution's
    earlier periods, for new vs returning and returning vs lapsed."""
    requests, _ = build_release(
        visits, model, config, period=period, earlier_link_keys=earlier_link_keys
    )
    return requests


def build_release(
    visits: pl.DataFrame,
    model: SegmentModel,
    config: ReleaseConfig,
    *,
    period: str,
    earlier_link_keys: pl.Series | None = None,
) -> tuple[list[TableRequest], pl.DataFrame]:
    """The tables (:func:`build_tables`) and, for the household sketch, each
    counted household's key with its main discipline (``household_key``,
    ``discipline`` as an index into the discipline key set): the households
    and main disciplines the tables count, computed once for both."""
    earlier = earlier_link_keys if earlier_link_keys is not None else pl.Series([], dtype=pl.Binary)
    rows = _rows(with_ingest_placement(visits, model), period)
    per_household = _per_household(rows, model, config, period, earlier)
    rows = rows.with_columns(
        clip_weights(rows, config.max_visits, pl.struct(HID, "_row").hash(seed=11)).alias(WEIGHT)
    )
    # Visits tables take the row's own month and discipline and the household's segment.
    visit_rows = rows.select(
        HH,
        WEIGHT,
        "month",
        "discipline",
        per_household["segment"].gather(rows[HH]).alias("segment"),
    )
    bounds = config.bounds()
    requests = []
    for table in TABLE_DESIGN:
        keys = key_set(table, model, period)
        cell = _cell(table, model, period)
        if table.measure == HOUSEHOLDS:
            # One cell per household: the bound of one holds by construction.
            counts = one_cell_counts(per_household.select(HH, cell), len(keys))
        elif table.measure == EARLIER_HOUSEHOLDS:
            # One cell per earlier household, each counted once: likewise.
            counts = _loyalty(rows, earlier)
        else:
            counts = weighted_counts(visit_rows.select(cell, WEIGHT), len(keys))
        requests.append(
            table_request(
                table, keys, counts, bounds=bounds, mechanism=config.mechanism, rho=config.rho
            )
        )
    return requests, per_household.select(HOUSEHOLD_KEY, "discipline")
