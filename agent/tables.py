"""Exact, bounded count tables from canonical visits, over public key sets.

One submission releases the tables in :data:`TABLES` (DESIGN "Tables"):
households and visits by segment × discipline, province, discipline × month,
frequency band, new vs returning, distance band and age band. The key set of
every table comes from public inputs only (the segment model, the sector's
discipline list, the provinces, the months of the period and fixed bands),
never from the data, so which cells exist reveals nothing; empty cells are
released, noised, like the rest. ``tests/dp`` checks that two different
datasets give identical key sets.

A "visit" is one ticket (the ``tickets`` column of the canonical visits), the
unit box offices count in.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from agent.regions import PROVINCES, province_of
from agent.segments import SegmentModel
from agent.visits import DISCIPLINES
from dp.bounding import (
    CELL,
    HH,
    HID,
    HOUSEHOLD,
    WEIGHT,
    bounded_counts,
    clip_weights,
    dense_households,
    household_totals,
    one_cell_counts,
)
from dp.measurements import GAUSSIAN, TableRequest, rho_for_epsilon
from protocol.messages import check_period

UNKNOWN = "unknown"
FREQUENCY_BANDS: tuple[str, ...] = ("1", "2", "3-4", "5-9", "10+")
FREQUENCY_EDGES: tuple[int, ...] = (1, 2, 3, 5, 10)  # lower edge of each band (visit days)
RETURNING: tuple[str, ...] = ("new", "returning")
DISTANCE_BANDS: tuple[str, ...] = ("same_pc4", "same_area", "same_province", "elsewhere", UNKNOWN)
AGE_BANDS: tuple[str, ...] = (
    "0-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75+", UNKNOWN,
)  # fmt: skip
AGE_EDGES: tuple[int, ...] = (0, 18, 25, 35, 45, 55, 65, 75)
MAX_AGE = 120
# Dimensions that take one value per household: tables over these alone
# need no cell bound beyond 1 (and lose nothing to it).
HOUSEHOLD_DIMENSIONS = frozenset(
    {"segment", "province", "frequency_band", "returning", "distance_band"}
)


@dataclass(frozen=True)
class ReleaseConfig:
    """How one submission is bounded and noised (documented defaults).

    * ``rho``: zCDP cost of one submission, split **equally** over the
      tables of :data:`TABLES` (13 tables → ρ/13 each); OpenDP composes them
      and reports the total. ``period_budget``: what the agent's ledger lets
      one period spend in total (two submissions at the defaults).
    * ``max_visits``: tickets per household per period (applied once, to the
      visit rows). ``max_cells``: cells per household in the segment ×
      discipline and age-band tables; ``max_months``: cells per household
      in the discipline × month table. Tables over household-level
      dimensions (province, frequency, returning, distance) use 1.
    * ``home_pc4``: the institution's own PC4 for distance bands. Without it
      the agent's enrolled province is used (``home_province``) and only
      ``same_province`` / ``elsewhere`` / ``unknown`` can be non-zero.
    """

    rho: float = 0.25
    period_budget: float = 0.5
    max_cells: int = 2
    max_months: int = 3
    max_visits: int = 20
    mechanism: str = GAUSSIAN
    delta: float = 1e-7
    home_pc4: str | None = None
    home_province: str | None = None

    @classmethod
    def for_epsilon(cls, epsilon: float, delta: float = 1e-7, **kwargs: Any) -> ReleaseConfig:
        """One submission spending a whole period budget of ``epsilon`` at ``delta``
        (ρ found by OpenDP's zCDP → (ε, δ) conversion)."""
        rho = rho_for_epsilon(epsilon, delta)
        return cls(rho=rho, period_budget=rho, delta=delta, **kwargs)

    def bounds(self) -> dict[str, int]:
        return {
            "max_cells_per_household": self.max_cells,
            "max_months_per_household": self.max_months,
            "max_visits_per_household": self.max_visits,
        }

    def cells_bound(self, spec: TableSpec) -> int:
        if set(spec.dimensions) <= HOUSEHOLD_DIMENSIONS:
            return 1
        return self.max_months if "month" in spec.dimensions else self.max_cells


@dataclass(frozen=True)
class TableSpec:
    """One released pair of tables: its dimensions and what is counted."""

    dimensions: tuple[str, ...]
    measures: tuple[str, ...] = ("households", "visits")

    def name(self, measure: str) -> str:
        return f"{measure}_by_{'_'.join(self.dimensions)}"


TABLES: tuple[TableSpec, ...] = (
    TableSpec(("segment", "discipline")),
    TableSpec(("province",)),
    TableSpec(("discipline", "month")),
    TableSpec(("frequency_band",), ("households",)),
    TableSpec(("returning",)),
    TableSpec(("distance_band",)),
    TableSpec(("age_band",)),
)


def table_names() -> list[str]:
    return [spec.name(m) for spec in TABLES for m in spec.measures]


def months_of(period: str) -> tuple[str, ...]:
    """``2026-Q3`` → (2026-07, 2026-08, 2026-09); ``2026-M07`` → (2026-07,)."""
    check_period(period)
    year, part = period.split("-")
    if part.startswith("Q"):
        first = 3 * (int(part[1]) - 1) + 1
        return tuple(f"{year}-{m:02d}" for m in range(first, first + 3))
    return (f"{year}-{part[1:]}",)


def key_labels(dimension: str, model: SegmentModel, period: str) -> tuple[str, ...]:
    """The public labels of one dimension: from config and constants only."""
    labels: dict[str, Callable[[], tuple[str, ...]]] = {
        "segment": lambda: model.labels,
        "discipline": lambda: DISCIPLINES,
        "province": lambda: (*PROVINCES, UNKNOWN),
        "month": lambda: months_of(period),
        "frequency_band": lambda: FREQUENCY_BANDS,
        "returning": lambda: RETURNING,
        "distance_band": lambda: DISTANCE_BANDS,
        "age_band": lambda: AGE_BANDS,
    }
    return labels[dimension]()


def key_set(spec: TableSpec, model: SegmentModel, period: str) -> tuple[tuple[str, ...], ...]:
    return tuple(itertools.product(*(key_labels(d, model, period) for d in spec.dimensions)))


def _band_code(value: pl.Expr, edges: Sequence[int]) -> pl.Expr:
    """Index of the band whose lower edge is the largest one ≤ value (null below all)."""
    above = pl.sum_horizontal(*((value >= edge).cast(pl.Int64) for edge in edges))
    return pl.when(above > 0).then(above - 1).otherwise(None)


def _code(column: pl.Expr, labels: Sequence[str]) -> pl.Expr:
    """Index of a label in the public key order; null outside the key set."""
    return column.cast(pl.Enum(list(labels)), strict=False).to_physical().cast(pl.Int64)


def _pc4_lookup(labels: Sequence[str], default: int) -> pl.Series:
    """Province code for every PC4 0..9999 (index), ``default`` where none."""
    frame = pl.DataFrame({"pc4": [f"{n:04d}" for n in range(10000)]})
    provinces = frame.select(_code(province_of(pl.col("pc4")), labels).fill_null(default))
    return provinces.to_series()


def _province_code_of(pc4: str, model: SegmentModel, period: str) -> int | None:
    labels = key_labels("province", model, period)
    if not (pc4.isdigit() and len(pc4) == 4):
        return None
    code = int(_pc4_lookup(labels, len(labels) - 1)[int(pc4)])
    return None if labels[code] == UNKNOWN else code


def _distance(
    config: ReleaseConfig, province: pl.Expr, unknown: int, model: SegmentModel, period: str
) -> pl.Expr:
    """Distance band code of a household PC4 from the institution (see ReleaseConfig)."""
    home = config.home_pc4
    labels = key_labels("province", model, period)
    if home:
        home_province = _province_code_of(home, model, period)
    elif config.home_province in labels:
        home_province = labels.index(config.home_province)
    else:
        home_province = None
    code = {band: pl.lit(i) for i, band in enumerate(DISTANCE_BANDS)}
    rest: pl.Expr = code[UNKNOWN]
    if home_province is not None:
        rest = (
            pl.when(province == home_province)
            .then(code["same_province"])
            .otherwise(code["elsewhere"])
        )
    if home and home.isdigit():
        rest = (
            pl.when(pl.col("_pc4") == int(home))
            .then(code["same_pc4"])
            .when(pl.col("_pc4") // 100 == int(home) // 100)
            .then(code["same_area"])
            .otherwise(rest)
        )
    return pl.when(province == unknown).then(code[UNKNOWN]).otherwise(rest)


def _rows(visits: pl.DataFrame, period: str) -> pl.DataFrame:
    """Visit rows sorted by household, with row-level codes and weights."""
    months = months_of(period)
    first_month = int(months[0][:4]) * 12 + int(months[0][5:]) - 1
    month = pl.col("visit_date").dt.year() * 12 + pl.col("visit_date").dt.month() - 1 - first_month
    age = pl.lit(int(period[:4])) - pl.col("birth_year")
    age_band = (
        pl.when(age.is_between(0, MAX_AGE))
        .then(_band_code(age, AGE_EDGES))
        .otherwise(pl.lit(AGE_BANDS.index(UNKNOWN)))
        .fill_null(AGE_BANDS.index(UNKNOWN))
    )
    start = pl.lit(_first_day(period))
    base = visits.select(
        HOUSEHOLD,
        pl.col("pc4").cast(pl.String),
        pl.col("pc4").cast(pl.Int64, strict=False).alias("_pc4"),
        _code(pl.col("discipline"), DISCIPLINES)
        .fill_null(DISCIPLINES.index("other"))
        .alias("discipline"),
        pl.when(month.is_between(0, len(months) - 1)).then(month).alias("month"),
        age_band.alias("age_band"),
        (pl.col("visit_date") - start)
        .dt.total_days()
        .clip(0, 65534)
        .fill_null(65535)
        .alias("_day"),
        pl.col("tickets").fill_null(1).cast(pl.Int64).clip(lower_bound=0).alias(WEIGHT),
        pl.struct("order_id", "visit_date").hash(seed=7).alias("_row"),
    )
    return dense_households(base)


def _households(
    rows: pl.DataFrame,
    model: SegmentModel,
    config: ReleaseConfig,
    period: str,
    earlier: pl.Series,
) -> pl.DataFrame:
    """One row per household in ``hh`` order (its lowest PC4), with household-level codes."""
    first = (pl.col(HH) != pl.col(HH).shift(1)).fill_null(True)
    households = rows.filter(first).select(HH, HOUSEHOLD, "pc4", "_pc4")
    # A household with several PC4s (keyed by e-mail) takes its lowest one,
    # whatever the row order; such households are few, so only they are grouped.
    mixed = rows.filter(~first & pl.col("_pc4").ne_missing(pl.col("_pc4").shift(1)))
    mixed = mixed.select(HH).unique()
    if mixed.height:
        lowest = (
            rows.join(mixed, on=HH, how="semi")
            .group_by(HH)
            .agg(pl.col("_pc4").min().alias("_low"))
            .with_columns(pl.format("{}", pl.col("_low")).str.zfill(4).alias("_low_pc4"))
        )
        households = (
            households.join(lowest, on=HH, how="left")
            .with_columns(
                pl.coalesce("_low", "_pc4").alias("_pc4"),
                pl.coalesce("_low_pc4", "pc4").alias("pc4"),
            )
            .drop("_low", "_low_pc4")
            .sort(HH)
        )
    days = (
        rows.select(
            (pl.col(HH).cast(pl.UInt64) * 65536 + pl.col("_day").cast(pl.UInt64)).alias("_p")
        )
        .sort("_p")
        .filter((pl.col("_p") != pl.col("_p").shift(1)).fill_null(True))
        .select((pl.col("_p") // 65536).rle().struct.field("len").alias("_days"))
    )
    labels = key_labels("province", model, period)
    unknown = len(labels) - 1
    lookup = _pc4_lookup(labels, unknown)
    province = (
        pl.when(pl.col("_pc4").is_between(0, 9999))
        .then(pl.lit(lookup).gather(pl.col("_pc4").clip(0, 9999)))
        .otherwise(pl.lit(unknown))
        .cast(pl.Int64)
    )
    returning = pl.col(HOUSEHOLD).is_in(earlier.implode()) if earlier.len() else pl.lit(False)
    return households.with_columns(
        days["_days"], model.segment_of(households).alias("segment")
    ).select(
        HH,
        _code(pl.col("segment"), model.labels).alias("segment"),
        province.alias("province"),
        _band_code(pl.col("_days"), FREQUENCY_EDGES).alias("frequency_band"),
        returning.cast(pl.Int64).alias("returning"),  # RETURNING = (new, returning)
        _distance(config, province, unknown, model, period).cast(pl.Int64).alias("distance_band"),
    )


def _cell(spec: TableSpec, model: SegmentModel, period: str) -> pl.Expr:
    """Integer cell in the table's key order (row-major); null outside the key set."""
    index: pl.Expr = pl.lit(0, pl.Int64)
    for dim in spec.dimensions:
        index = index * len(key_labels(dim, model, period)) + pl.col(dim)
    return index.alias(CELL)


def build_tables(
    visits: pl.DataFrame,
    model: SegmentModel,
    config: ReleaseConfig,
    *,
    period: str,
    earlier_households: pl.Series | None = None,
) -> list[TableRequest]:
    """Every table of :data:`TABLES`, contributions bounded, ready for noise.

    ``earlier_households``: the link keys seen in earlier periods of the local
    store (for new vs returning; household keys where ``visits`` has no
    ``link_key`` column)."""
    earlier = (
        earlier_households if earlier_households is not None else pl.Series([], dtype=pl.Binary)
    )
    if "link_key" in visits.columns:  # the household keys of this period's returning households
        earlier = visits.filter(pl.col("link_key").is_in(earlier.implode()))["household_key"]
    rows = _rows(visits, period)
    households = _households(rows, model, config, period, earlier)
    rows = rows.with_columns(
        clip_weights(rows, config.max_visits, pl.struct(HID, "_row").hash(seed=11)).alias(WEIGHT)
    )
    # Household-level tables: one cell per household, so the bound is exact
    # and counting needs no per-household sort.
    per_household = households.with_columns(
        household_totals(rows).alias(WEIGHT), pl.lit(0, pl.UInt64).alias(HID)
    )
    n_tables = sum(len(spec.measures) for spec in TABLES)
    share = config.rho / n_tables
    requests = []
    for spec in TABLES:
        keys = key_set(spec, model, period)
        max_cells = config.cells_bound(spec)
        if set(spec.dimensions) <= HOUSEHOLD_DIMENSIONS:
            source = per_household
        else:
            source = rows.with_columns(
                *(
                    households[d].gather(rows[HH]).alias(d)
                    for d in spec.dimensions
                    if d in HOUSEHOLD_DIMENSIONS
                )
            )
        pairs = source.select(HH, HID, _cell(spec, model, period), WEIGHT).drop_nulls(CELL)
        counted = (
            one_cell_counts(pairs, len(keys))
            if source is per_household
            else bounded_counts(pairs, len(keys), max_cells)
        )
        counts = dict(zip(("households", "visits"), counted, strict=True))
        for measure in spec.measures:
            if measure == "households":
                # one unit in each of at most max_cells cells: L2 √C, L1 C
                power = 0.5 if config.mechanism == GAUSSIAN else 1.0
                sensitivity = float(max_cells) ** power
            else:
                # at most max_visits tickets spread over the kept cells: L1 and L2 ≤ V
                sensitivity = float(config.max_visits)
            requests.append(
                TableRequest(
                    name=spec.name(measure),
                    measure=measure,
                    dimensions=spec.dimensions,
                    keys=keys,
                    values=counts[measure],
                    sensitivity=sensitivity,
                    rho=share,
                )
            )
    return requests


def _first_day(period: str) -> date:
    month = months_of(period)[0]
    return date(int(month[:4]), int(month[5:]), 1)


def is_earlier(period: str, than: str) -> bool:
    """Whether ``period`` starts before ``than`` (quarters and months mixed)."""
    return months_of(period)[0] < months_of(than)[0]
