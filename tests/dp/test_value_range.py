"""The range of a released cell at intake: wide enough that honest noise is never
refused, narrow enough that no accepted value can break the benchmarks, and
within the bound stored submissions are screened with (ADR 0021, ADR 0020)."""

from __future__ import annotations

import math

import pytest

from agent.release import RETURNING_MONTHS
from dp.measurements import (
    GAUSSIAN,
    LAPLACE,
    TableRequest,
    calibrate_scale,
    default_rho,
    noise_std,
    release_tables,
)
from dp.release_design import (
    DEFAULT_BOUNDS,
    LOOKBACK_PERIODS,
    MAX_CELL_MAGNITUDE,
    MAX_INSTITUTION_HOUSEHOLDS,
    MAX_NOISE_STD,
    MAX_VISITS,
    MAX_VISITS_CAP,
    NOISE_TAIL_STDS,
    TABLE_DESIGN,
    cell_value_bound,
    check_bounds,
    check_cells,
    labels,
    rho_share,
    sensitivity,
    value_range,
)
from protocol.encoding import MAX_SAFE_INTEGER

MODEL = "synthetic-demo-2026"
PERIOD = "2026-Q3"
# The default budget and budgets a taskforce might pick around it.
BUDGETS = (default_rho() / 100, default_rho(), default_rho() * 100)


def log10_gaussian_tail(margin: int, sigma: float) -> float:
    """log10 of an upper bound on P(|X| > margin) for the discrete Gaussian of
    scale σ: for x > t, x² ≥ t² + 2t(x - t), so the tail sum is at most
    e^(-t²/2σ²) / (e^(t/σ²) - 1), and the normaliser is at least 1 (x = 0)."""
    t = float(margin)
    log_tail = -(t * t) / (2 * sigma * sigma) - math.log(math.expm1(t / (sigma * sigma)))
    return (math.log(2) + log_tail) / math.log(10)


def log10_laplace_tail(margin: int, scale: float) -> float:
    """log10 of P(|X| > margin) for the discrete Laplace of scale b, exactly:
    P(X = x) = (1 - q)/(1 + q) q^|x| with q = e^(-1/b), so the two tails
    beyond t sum to 2 q^(t+1) / (1 + q)."""
    log_q = -1.0 / scale
    return (math.log(2) + (margin + 1) * log_q - math.log1p(math.exp(log_q))) / math.log(10)


@pytest.mark.slow  # sums the noise's tail over millions of points
@pytest.mark.parametrize("rho", BUDGETS, ids=["rho/100", "default", "rho*100"])
@pytest.mark.parametrize("mechanism", [GAUSSIAN, LAPLACE])
def test_honest_noise_leaves_the_range_with_negligible_probability(
    mechanism: str, rho: float
) -> None:
    for table in TABLE_DESIGN:
        scale = calibrate_scale(
            sensitivity(table.name, DEFAULT_BOUNDS, mechanism),
            mechanism,
            rho_share(table.name, rho),
        )
        low, _ = value_range(table.name, DEFAULT_BOUNDS, noise_std(mechanism, scale))
        margin = -low  # the true count lies in [0, high - margin]
        tail = (
            log10_gaussian_tail(margin, scale)
            if mechanism == GAUSSIAN
            else log10_laplace_tail(margin, scale)
        )
        assert tail < -24, (table.name, scale, tail)


def test_the_largest_accepted_value_is_far_below_2_to_the_53() -> None:
    largest = value_range("visits_by_month", {MAX_VISITS: MAX_VISITS_CAP}, MAX_NOISE_STD * 10)
    assert largest[1] == MAX_CELL_MAGNITUDE
    assert -largest[0] <= MAX_CELL_MAGNITUDE
    # A sector of 9 000 submissions still sums exactly in a double.
    assert MAX_CELL_MAGNITUDE * 9_000 < MAX_SAFE_INTEGER


def test_intake_accepts_nothing_the_screening_of_stored_submissions_would_leave_out() -> None:
    for table in TABLE_DESIGN:
        for std in (0.5, 20.0, 225.0, 1e6, MAX_NOISE_STD * 2):
            low, high = value_range(table.name, DEFAULT_BOUNDS, std)
            bound = cell_value_bound(table.measure, DEFAULT_BOUNDS, std)
            assert -bound <= low < 0 < high == bound


def test_a_households_range_is_the_institution_size_plus_the_noise_margin() -> None:
    low, high = value_range("households_by_province", DEFAULT_BOUNDS, 10.0)
    assert (low, high) == (-10 * NOISE_TAIL_STDS, MAX_INSTITUTION_HOUSEHOLDS + 10 * NOISE_TAIL_STDS)


def test_the_earlier_households_range_is_four_quarters_of_households() -> None:
    _, high = value_range("earlier_households_by_loyalty", DEFAULT_BOUNDS, 10.0)
    assert high == LOOKBACK_PERIODS * MAX_INSTITUTION_HOUSEHOLDS + 10 * NOISE_TAIL_STDS
    # the periods the agent looks back on are those quarters
    assert RETURNING_MONTHS == 3 * LOOKBACK_PERIODS


def test_a_visits_range_scales_with_the_tickets_cap() -> None:
    _, high = value_range("visits_by_month", {MAX_VISITS: 12}, 10.0)
    assert high == 12 * MAX_INSTITUTION_HOUSEHOLDS + 10 * NOISE_TAIL_STDS


@pytest.mark.parametrize("std", [0.0, -1.0, math.inf, math.nan])
def test_noise_that_is_not_a_positive_number_is_refused(std: float) -> None:
    with pytest.raises(ValueError, match="noise standard deviation"):
        value_range("households_by_province", DEFAULT_BOUNDS, std)


@pytest.mark.parametrize(
    "bounds",
    [
        {},
        {MAX_VISITS: 12, "max_households": 5},
        {MAX_VISITS: True},
        {MAX_VISITS: 0},
        {MAX_VISITS: MAX_VISITS_CAP + 1},
        {MAX_VISITS: 12.0},
    ],
    ids=["empty", "unknown-name", "boolean", "zero", "above-cap", "float"],
)
def test_bounds_other_than_the_designs_are_refused(bounds: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=MAX_VISITS):
        check_bounds(bounds)  # type: ignore[arg-type]


def test_a_real_release_passes_the_cell_check() -> None:
    """Every label of every key set and OpenDP noise on zero and on the largest count."""
    for table in TABLE_DESIGN:
        keys = [()]
        for d in table.dimensions:
            keys = [
                (*k, label) for k in keys for label in labels(d, segment_model=MODEL, period=PERIOD)
            ]
        top = value_range(table.name, DEFAULT_BOUNDS, 1.0)[1] - NOISE_TAIL_STDS
        exact = tuple(0 if i % 2 else top for i in range(len(keys)))
        (released,), _ = release_tables(
            [
                TableRequest(
                    name=table.name,
                    measure=table.measure,
                    dimensions=table.dimensions,
                    keys=tuple(keys),
                    values=exact,
                    sensitivity=sensitivity(table.name, DEFAULT_BOUNDS, GAUSSIAN),
                    rho=rho_share(table.name, default_rho()),
                )
            ]
        )
        check_cells(
            table.name,
            released.keys,
            released.values,
            noise_std=noise_std(released.mechanism, released.scale),
            bounds=DEFAULT_BOUNDS,
            segment_model=MODEL,
            period=PERIOD,
        )


@pytest.mark.parametrize(
    ("dimension", "label"),
    [
        ("segment", "families"),  # not a segment of the demo model
        ("month", "2026-10"),  # a month of another quarter
        ("province", "bayern"),
        ("discipline", "unknown"),  # the discipline key set has "other", not "unknown"
        ("catchment", "same_pc4"),  # a distance band of publiek-tables/2
        ("recency", "90+"),
        ("discipline_count", "3"),
        ("loyalty", "new"),  # new is this period's households, not the earlier ones
    ],
)
def test_a_label_outside_its_key_set_is_refused(dimension: str, label: str) -> None:
    table = next(
        t for t in TABLE_DESIGN if t.dimensions == (dimension,) or dimension in t.dimensions
    )
    key = tuple(
        label if d == dimension else labels(d, segment_model=MODEL, period=PERIOD)[0]
        for d in table.dimensions
    )
    with pytest.raises(ValueError, match=f"a {dimension} label is not in its key set"):
        check_cells(
            table.name, [key], [1], noise_std=10.0, bounds=DEFAULT_BOUNDS, segment_model=MODEL,
            period=PERIOD,
        )  # fmt: skip


@pytest.mark.parametrize("value", [10**15, -(10**9), MAX_CELL_MAGNITUDE + 1])
def test_a_value_outside_the_range_is_refused_and_not_quoted(value: int) -> None:
    table = next(t for t in TABLE_DESIGN if t.name == "households_by_province")
    with pytest.raises(ValueError, match="a cell value lies outside") as raised:
        check_cells(
            table.name, [("utrecht",)], [value], noise_std=10.0, bounds=DEFAULT_BOUNDS,
            segment_model=MODEL, period=PERIOD,
        )  # fmt: skip
    assert str(value) not in str(raised.value)


def test_an_unknown_segment_model_has_no_labels() -> None:
    with pytest.raises(ValueError, match="segment model"):
        labels("segment", segment_model="licensed-2027", period=PERIOD)
